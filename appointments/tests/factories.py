import factory
from django.utils import timezone

from appointments.models import Appointment
from residents.tests.factories import ResidentFactory


class AppointmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Appointment

    resident = factory.SubFactory(ResidentFactory)
    site = factory.LazyAttribute(lambda a: a.resident.village.site)
    dose_number = 1
    date = factory.LazyFunction(timezone.localdate)
