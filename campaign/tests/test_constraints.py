"""Every rule the database holds refuses bad rows even when forms and services are bypassed."""

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from appointments.models import Appointment
from appointments.tests.factories import AppointmentFactory
from campaign.models import Campaign, Profile
from campaign.tests.factories import CampaignFactory, SiteFactory, UserFactory, VillageFactory
from residents.models import Resident
from residents.tests.factories import ResidentFactory
from sites.models import AdverseEvent
from sites.tests.factories import VaccinationFactory

pytestmark = pytest.mark.django_db


def refused(create):
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


def test_campaign_end_before_start_is_refused():
    refused(lambda: CampaignFactory(end_date=datetime.date(2020, 1, 1)))


def test_campaign_first_dose_deadline_outside_the_window_is_refused():
    campaign = CampaignFactory()
    refused(
        lambda: Campaign.objects.filter(pk=campaign.pk).update(
            first_dose_deadline=campaign.end_date + datetime.timedelta(days=1)
        )
    )


def test_two_campaigns_may_be_open_at_once():
    CampaignFactory(is_open=True)
    CampaignFactory(is_open=True)
    assert Campaign.objects.open().count() == 2


def test_several_campaigns_may_exist():
    CampaignFactory(is_open=True)
    CampaignFactory(
        is_open=False,
        name="麻疹疫苗强化免疫",
        age_unit="months",
        min_age=8,
        max_age=83,
        doses=1,
        dose_intervals=[],
    )
    assert Campaign.objects.count() == 2


def test_campaign_age_range_upside_down_is_refused():
    refused(lambda: CampaignFactory(min_age=60, max_age=18))


def test_village_quota_above_its_population_is_refused():
    refused(lambda: VillageFactory(population=100, quota=101))


def test_village_names_are_unique_in_a_campaign():
    village = VillageFactory(name="梅山村")
    refused(lambda: VillageFactory(name="梅山村", site=village.site))


def test_site_capacity_of_zero_is_refused():
    refused(lambda: SiteFactory(daily_capacity=0))


def test_profile_bound_to_both_village_and_site_is_refused():
    village = VillageFactory()
    refused(lambda: Profile.objects.create(user=UserFactory(), village=village, site=village.site))


def test_one_registration_per_id_number_per_campaign():
    resident = ResidentFactory()
    refused(lambda: ResidentFactory(village=resident.village, id_number=resident.id_number))


def test_the_same_person_may_register_in_another_campaign():
    resident = ResidentFactory()
    other_village = VillageFactory(site=SiteFactory(campaign=CampaignFactory(is_open=False)))
    ResidentFactory(village=other_village, id_number=resident.id_number)


def test_a_malformed_id_number_is_refused_by_the_database():
    refused(lambda: ResidentFactory(id_number="1234567890123", birth_date=datetime.date(1990, 1, 1), sex="M"))


def test_a_lowercase_x_is_refused_by_the_database():
    refused(lambda: ResidentFactory(id_number="11010519491231002x"))


def test_a_phone_that_is_not_a_mainland_mobile_is_refused():
    refused(lambda: ResidentFactory(phone="0564123456"))


def test_an_unknown_status_is_refused():
    refused(lambda: ResidentFactory(status="maybe"))


@pytest.mark.parametrize(
    "answer", ["pregnant", "severe_allergy", "neuro_history", "fever", "acute_illness", "severe_chronic"]
)
def test_an_eligible_resident_with_a_positive_screening_answer_is_refused(answer):
    refused(lambda: ResidentFactory(status=Resident.Status.ELIGIBLE, **{answer: True}))


def test_a_deferred_resident_may_have_fever():
    assert ResidentFactory(status=Resident.Status.DEFERRED, fever=True).pk


def test_a_second_open_appointment_for_the_same_dose_is_refused():
    first = AppointmentFactory()
    refused(lambda: AppointmentFactory(resident=first.resident, dose_number=1, status=Appointment.Status.ARRIVED))


def test_a_cancelled_appointment_does_not_block_a_new_one():
    first = AppointmentFactory(status=Appointment.Status.CANCELLED)
    assert AppointmentFactory(resident=first.resident, dose_number=1).pk


def test_dose_zero_is_refused():
    refused(lambda: AppointmentFactory(dose_number=0))


def test_slip_tokens_are_unique():
    first = AppointmentFactory()
    refused(lambda: AppointmentFactory(token=first.token))


def test_one_vaccination_per_resident_and_dose():
    first = VaccinationFactory()
    refused(lambda: VaccinationFactory(resident=first.resident, dose_number=1))


def test_a_vaccination_without_consent_is_refused():
    refused(lambda: VaccinationFactory(consent_recorded=False))


def test_a_vaccination_without_a_lot_number_is_refused():
    refused(lambda: VaccinationFactory(lot_number=""))


def test_observation_ending_before_the_shot_is_refused():
    refused(lambda: VaccinationFactory(observation_until=datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)))


def test_an_adverse_event_of_unknown_severity_is_refused():
    vaccination = VaccinationFactory()
    refused(
        lambda: AdverseEvent.objects.create(
            vaccination=vaccination,
            onset=vaccination.vaccinated_at,
            symptoms="发热",
            severity="bad",
            reported_by=vaccination.vaccinator,
        )
    )


def test_history_survives_deleting_a_village_with_residents():
    resident = ResidentFactory()
    with pytest.raises(ProtectedError):
        resident.village.delete()


def test_history_survives_deleting_a_vaccinated_resident():
    vaccination = VaccinationFactory()
    with pytest.raises(ProtectedError):
        vaccination.resident.delete()


def test_history_survives_deleting_the_vaccinator():
    vaccination = VaccinationFactory()
    with pytest.raises(ProtectedError):
        vaccination.vaccinator.delete()
