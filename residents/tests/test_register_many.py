import pytest
from django.core.exceptions import ValidationError

from residents.models import Resident
from residents.services import AlreadyRegistered, residents_register_many
from residents.tests.factories import ResidentFactory, id_number_for

pytestmark = pytest.mark.django_db


def people(*numbers, **fields):
    return [{"name": "张伟", "id_number": id_number_for(n), **fields} for n in numbers]


def test_many_residents_are_registered_with_their_eligibility_and_history(qingshan, cadre_qingshan):
    registered = residents_register_many(
        campaign=qingshan.campaign,
        village=qingshan,
        people=[*people(1, 2), *people(3, fever=True, phone="138 1234 5678")],
        registered_by=cadre_qingshan,
    )

    assert len(registered) == 3 and all(resident.pk for resident in registered)
    feverish = Resident.objects.get(id_number=id_number_for(3))
    assert (feverish.status, feverish.status_reasons, feverish.phone) == ("deferred", ["fever"], "13812345678")
    assert feverish.registered_by == cadre_qingshan and feverish.name_initials == "zw"
    assert feverish.history.get().history_user == cadre_qingshan


def test_one_bad_person_registers_nobody(qingshan):
    with pytest.raises(ValidationError):
        residents_register_many(
            campaign=qingshan.campaign, village=qingshan, people=[*people(1), *people(2, phone="123")]
        )
    assert Resident.objects.count() == 0


def test_a_number_registered_already_registers_nobody_and_names_the_village(qingshan, honghe):
    ResidentFactory(village=honghe, id_number=id_number_for(2))
    with pytest.raises(AlreadyRegistered) as taken:
        residents_register_many(campaign=qingshan.campaign, village=qingshan, people=people(1, 2))
    assert taken.value.village == honghe
    assert Resident.objects.filter(village=qingshan).count() == 0
