import datetime

import factory

from campaign.lib.idnumber import make_id_number
from campaign.lib.pinyin import name_initials
from campaign.tests.factories import VillageFactory
from residents.models import Resident


def id_number_for(n: int, birth_date: datetime.date = datetime.date(1985, 6, 15), area: str = "341524") -> str:
    """A valid, distinct ID number per n (sequence and a day offset vary with n)."""
    return make_id_number(area, birth_date + datetime.timedelta(days=n // 999), n % 999 + 1)


def _encodes(number: str) -> bool:
    return len(number) == 18 and number[:17].isdigit()


class ResidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Resident

    village = factory.SubFactory(VillageFactory)
    campaign = factory.SelfAttribute("village.campaign")
    name = factory.Sequence(lambda n: ["张三丰", "李四", "王五", "赵六", "陈晓梅"][n % 5])
    name_initials = factory.LazyAttribute(lambda r: name_initials(r.name))
    id_number = factory.Sequence(id_number_for)
    id_number_reversed = factory.LazyAttribute(lambda r: r.id_number[::-1])
    # From an 18-digit number (ID card, permit, 2023 foreign card); a fixed day and "F" for other documents.
    birth_date = factory.LazyAttribute(
        lambda r: (
            datetime.date(int(r.id_number[6:10]), int(r.id_number[10:12]), int(r.id_number[12:14]))
            if _encodes(r.id_number)
            else datetime.date(1985, 6, 15)
        )
    )
    sex = factory.LazyAttribute(lambda r: ("M" if int(r.id_number[16]) % 2 else "F") if _encodes(r.id_number) else "F")
    phone = "13812345678"
    status = Resident.Status.ELIGIBLE
