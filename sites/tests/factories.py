import datetime

import factory
from django.utils import timezone

from campaign.tests.factories import CampaignFactory, UserFactory
from residents.tests.factories import ResidentFactory
from sites.models import Delivery, Lot, Vaccination


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


class LotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lot

    campaign = factory.SubFactory(CampaignFactory)
    manufacturer = "北京科兴中维"
    number = factory.Sequence(lambda n: f"2026{n:05d}")
    expiry_date = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=180))
    doses_per_vial = 1


class DeliveryFactory(factory.django.DjangoModelFactory):
    """Vials of a lot at a site, as delivery_record writes them (doses from the lot)."""

    class Meta:
        model = Delivery

    lot = factory.SubFactory(LotFactory, campaign=factory.SelfAttribute("..site.campaign"))
    date = factory.LazyFunction(timezone.localdate)
    vials = 10
    doses = factory.LazyAttribute(lambda d: d.vials * d.lot.doses_per_vial)
    recorded_by = factory.SubFactory(UserFactory)
