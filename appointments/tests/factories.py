import factory
from django.utils import timezone

from appointments.messaging import kinds
from appointments.messaging.models import Kind, Message
from appointments.models import Appointment
from campaign.models import Village
from campaign.tests.factories import VillageFactory
from residents.tests.factories import ResidentFactory


class AppointmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Appointment

    resident = factory.SubFactory(ResidentFactory)
    site = factory.LazyAttribute(lambda a: a.resident.village.site)
    dose_number = 1
    date = factory.LazyFunction(timezone.localdate)


class MessageFactory(factory.django.DjangoModelFactory):
    """A day-before reminder of an appointment, queued (not sent: the tests send it)."""

    class Meta:
        model = Message

    # In the tests' village (and so their current campaign) when there is one.
    appointment = factory.SubFactory(
        AppointmentFactory, resident__village=factory.LazyFunction(lambda: Village.objects.first() or VillageFactory())
    )
    resident = factory.SelfAttribute("appointment.resident")
    campaign = factory.SelfAttribute("resident.campaign")
    day = factory.SelfAttribute("appointment.date")
    kind = Kind.REMINDER
    phone = factory.SelfAttribute("resident.phone")
    # Each parameter at its longest (the kind's own sample): whatever the template asks for.
    params = factory.LazyAttribute(lambda m: dict(kinds.KINDS[m.kind].longest))
    text = factory.LazyAttribute(lambda m: kinds.render(m.kind, m.params))
