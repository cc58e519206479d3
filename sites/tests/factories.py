import datetime

import factory
from django.utils import timezone

from campaign.tests.factories import UserFactory
from residents.tests.factories import ResidentFactory
from sites.models import Vaccination


class VaccinationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vaccination

    resident = factory.SubFactory(ResidentFactory)
    site = factory.LazyAttribute(lambda v: v.resident.village.site)
    dose_number = 1
    vaccinated_at = factory.LazyFunction(timezone.now)
    lot_number = "202110A01"
    vaccinator = factory.SubFactory(UserFactory)
    consent_recorded = True
    observation_until = factory.LazyAttribute(lambda v: v.vaccinated_at + datetime.timedelta(minutes=30))
