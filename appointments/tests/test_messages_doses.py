"""Messages know no dose count: the next dose's day is sent after dose n only when the campaign has a dose
n+1, named by its number; a one-dose campaign's texts number no dose; a child's go to the guardian's phone."""

import datetime

import pytest
from django.utils import timezone

from appointments.messaging import kinds
from appointments.messaging.models import Kind, Message
from appointments.messaging.triggers import confirmation_queue, dose_due_queue, missed_queue, reminders_queue
from appointments.tests.factories import AppointmentFactory
from campaign.lib import sms
from campaign.models import Profile
from campaign.roles import Role
from campaign.tests.factories import CampaignFactory, SiteFactory, VillageFactory, user_with_role
from residents.models import Resident
from residents.tests.factories import ResidentFactory
from sites.tests.factories import VaccinationFactory

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def village_of(doses: int):
    campaign = CampaignFactory(doses=doses, dose_intervals={1: [], 2: [14], 3: [28, 150]}[doses])
    return VillageFactory(site=SiteFactory(campaign=campaign, short_name="卫生院门诊"), name="青山社区")


def shot_then_held(resident, given: int, held: int):
    """Dose `given` given today, and the appointment of dose `held` booked later at the same site."""
    vaccination = VaccinationFactory(resident=resident, dose_number=given)
    appointment = AppointmentFactory(resident=resident, dose_number=held, date=timezone.localdate() + 28 * DAY)
    return {"vaccination": vaccination, "appointment": appointment}


def test_dose_1_of_3_given_names_dose_2_and_dose_2_given_names_dose_3():
    resident = ResidentFactory(village=village_of(3), phone="13700000003")
    message = dose_due_queue(**shot_then_held(resident, 1, 2))
    assert message.params["dose"] == "第2剂" and "您的第2剂已约在" in message.text
    message = dose_due_queue(**shot_then_held(resident, 2, 3))
    assert message.params["dose"] == "第3剂" and message.segments == 1


def test_no_next_dose_message_after_the_last_dose():
    one = ResidentFactory(village=village_of(1), phone="13700000001")
    assert dose_due_queue(**shot_then_held(one, 1, 2)) is None
    three = ResidentFactory(village=village_of(3), phone="13700000004")
    VaccinationFactory(resident=three, dose_number=1)
    VaccinationFactory(resident=three, dose_number=2)
    assert dose_due_queue(**shot_then_held(three, 3, 4)) is None
    assert not Message.objects.filter(kind=Kind.DOSE_DUE).exists()


def test_only_the_dose_right_after_the_one_given_is_announced():
    resident = ResidentFactory(village=village_of(3), phone="13700000005")
    assert dose_due_queue(**shot_then_held(resident, 1, 3)) is None


def test_a_one_dose_campaigns_confirmation_reminder_and_missed_message_number_no_dose():
    village = village_of(1)
    cadre = user_with_role(Role.CADRE, village=village, first_name="王芳")
    Profile.objects.filter(user=cadre).update(phone="13900000001")
    resident = ResidentFactory(village=village, phone="13700000006")
    tomorrow = AppointmentFactory(resident=resident, date=timezone.localdate() + DAY)
    assert confirmation_queue(appointments=[tomorrow]) == 1
    assert reminders_queue(day=tomorrow.date) == 1
    assert missed_queue(appointments=[tomorrow]) == 1
    for message in Message.objects.all():
        assert message.params["dose"] == "疫苗" and "剂" not in message.text, message.text
        assert message.segments == 1
    assert "接种疫苗，" in Message.objects.get(kind=Kind.CONFIRMATION).text
    assert "的疫苗接种未完成" in Message.objects.get(kind=Kind.MISSED).text


def test_a_three_dose_campaigns_reminder_names_the_dose_booked():
    resident = ResidentFactory(village=village_of(3), phone="13700000007")
    appointment = AppointmentFactory(resident=resident, dose_number=3, date=timezone.localdate() + DAY)
    assert reminders_queue(day=appointment.date) == 1
    assert "接种第3剂" in Message.objects.get().text


def test_a_childs_messages_go_to_the_guardians_phone():
    village = village_of(1)
    child = ResidentFactory(
        village=village,
        name="王小明",
        birth_date=timezone.localdate() - 400 * DAY,
        phone="13600000009",  # the mother's
        guardian_name="李娟",
        guardian_relation=Resident.GuardianRelation.MOTHER,
    )
    appointment = AppointmentFactory(resident=child, date=timezone.localdate() + DAY)
    confirmation_queue(appointments=[appointment])
    message = Message.objects.get()
    assert message.phone == "13600000009" and message.resident == child
    assert "王小明" not in message.text and "李娟" not in message.text  # no names in messages
    assert "请带证件" in message.text and "身份证" not in message.text


def test_the_dose_text_fits_at_its_longest():
    assert len(kinds.dose_text(10, 10)) == len(kinds.LONGEST_DOSE)
    for kind in (Kind.CONFIRMATION, Kind.REMINDER, Kind.DOSE_DUE, Kind.MISSED):
        assert sms.segments(kinds.render(kind, kinds.KINDS[kind].longest)) == 1
