import datetime

import factory
from django.utils import timezone

from campaign.models import Campaign
from campaign.tests.factories import CampaignFactory, UserFactory, VillageFactory
from reports.models import DailyProgress, Export, SupervisionFinding
from residents.tests.factories import ResidentFactory
from sites.tests.factories import VaccinationFactory


class ExportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Export

    kind = Export.Kind.RESIDENTS
    campaign = factory.SubFactory(CampaignFactory)
    parameters = factory.LazyFunction(dict)
    requested_by = factory.SubFactory(UserFactory)
    status = Export.Status.PENDING


class SupervisionFindingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupervisionFinding

    village = factory.SubFactory(VillageFactory)
    campaign = factory.SelfAttribute("village.campaign")
    week_start = datetime.date(2021, 4, 12)
    level = SupervisionFinding.Level.NOTICE
    points_deducted = 0
    text = "入户摸排台账不全"
    recorded_by = factory.SubFactory(UserFactory)


def spring_2021_campaign(**kwargs) -> Campaign:
    """A campaign on the seed's calendar: 2021-03-29 (a Monday) to 2021-06-20, first doses by 2021-05-09.

    42 days to the deadline, so on Sunday 2021-04-18 (day 21, the end of 2021-W15) 50.0% is expected.
    """
    return CampaignFactory(
        start_date=datetime.date(2021, 3, 29),
        first_dose_deadline=datetime.date(2021, 5, 9),
        end_date=datetime.date(2021, 6, 20),
        **kwargs,
    )


def vaccinated(
    *, village, dose1: datetime.date, dose2: datetime.date | None = None, dose3: datetime.date | None = None
):
    """A resident of `village` given dose 1 (and dose 2, 3) at the village's site on those days, 10:00 local time."""
    resident = ResidentFactory(village=village)
    for number, day in ((1, dose1), (2, dose2), (3, dose3)):
        if day:
            at = timezone.make_aware(datetime.datetime.combine(day, datetime.time(10)))
            VaccinationFactory(resident=resident, dose_number=number, vaccinated_at=at)
    return resident


class DailyProgressFactory(factory.django.DjangoModelFactory):
    """A progress row as progress_compute writes it; for tests of what reads the rows."""

    class Meta:
        model = DailyProgress

    village = factory.SubFactory(VillageFactory)
    campaign = factory.SelfAttribute("village.campaign")
    site = factory.SelfAttribute("village.site")
    date = datetime.date(2021, 4, 14)
    dose1 = 0
    # Doses by number as progress_compute writes them: dose 1 repeats `dose1`.
    doses = factory.LazyAttribute(lambda row: {"1": row.dose1} if row.dose1 else {})
    computed_at = factory.LazyFunction(timezone.now)
