"""Each event of the campaign queues the right message to the right phone, once, and only when switched on."""

import datetime

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from appointments.messaging import kinds
from appointments.messaging.models import Kind, Message
from appointments.messaging.triggers import reminders_queue
from appointments.models import PlanAllocation, WeeklyPlan
from appointments.planning.selectors import plan_version
from appointments.planning.services import plan_publish
from appointments.services import (
    appointment_book_pair,
    appointment_cancel,
    appointment_reschedule,
    appointments_book_bulk,
    mark_no_shows,
)
from appointments.tasks import queue_reminders_task
from campaign.roles import SITE_DOCTOR_GROUP, Role
from campaign.tests.factories import user_with_role
from residents.models import Resident
from residents.tests.factories import ResidentFactory
from sites.capacity import site_days_ensure
from sites.services import adverse_event_report, site_checkin, site_prescreen, site_vaccinate

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def days(qingshan, honghe):
    site_days_ensure(campaign=qingshan.campaign)


def with_phone(user, phone):
    user.profile.phone = phone
    user.profile.save()
    return user


def messages(kind):
    return list(Message.objects.filter(kind=kind).order_by("pk"))


# Booking --------------------------------------------------------------------------------------------


def test_booking_a_person_queues_a_confirmation_of_dose_1_to_their_phone(qingshan, days, today):
    resident = ResidentFactory(village=qingshan, phone="13700001111")
    first, _second = appointment_book_pair(resident=resident, day=today + DAY)
    [message] = messages(Kind.CONFIRMATION)
    assert (message.phone, message.resident, message.appointment, message.day) == (
        "13700001111",
        resident,
        first,
        today + DAY,
    )
    site = qingshan.site
    assert message.params == {
        "date": kinds.day_text(today + DAY),
        "place": site.short_name,
        "dose": "第1剂",
        "address": site.address,
    }
    assert message.text == kinds.render(Kind.CONFIRMATION, message.params) and message.segments == 1
    assert message.campaign == qingshan.campaign and message.status == Message.Status.QUEUED


def test_a_booking_rolled_back_queues_nothing(qingshan, days, today):
    with pytest.raises(RuntimeError), transaction.atomic():
        appointment_book_pair(resident=ResidentFactory(village=qingshan), day=today + DAY)
        assert len(messages(Kind.CONFIRMATION)) == 1
        raise RuntimeError
    assert not Message.objects.exists()


def test_a_person_without_a_phone_gets_no_message(qingshan, days, today):
    appointment_book_pair(resident=ResidentFactory(village=qingshan, phone=""), day=today + DAY)
    assert not Message.objects.exists()


def test_booking_a_village_at_once_confirms_each_person_booked(qingshan, days, today):
    residents = ResidentFactory.create_batch(3, village=qingshan)
    Resident.objects.filter(pk=residents[2].pk).update(status=Resident.Status.REFUSED)
    results = appointments_book_bulk(residents=Resident.objects.filter(pk__in=[r.pk for r in residents]), day=today)
    assert [r["booked"] for r in sorted(results, key=lambda r: r["resident"].pk)] == [True, True, False]
    assert {m.resident_id for m in messages(Kind.CONFIRMATION)} == {residents[0].pk, residents[1].pk}


def test_a_moved_appointment_gets_a_confirmation_of_its_new_day(qingshan, days, today):
    first, _second = appointment_book_pair(resident=ResidentFactory(village=qingshan), day=today + DAY)
    appointment_reschedule(appointment=first, day=today + 3 * DAY, reason="本人要求")
    assert [(m.appointment_id, m.day) for m in messages(Kind.CONFIRMATION)] == [
        (first.pk, today + DAY),
        (first.pk, today + 3 * DAY),
    ]
    assert messages(Kind.CONFIRMATION)[1].params["date"] == kinds.day_text(today + 3 * DAY)


def test_a_walk_in_gets_no_confirmation(site_centre, qingshan, site_team_centre, days):
    site_checkin(site=site_centre, resident=ResidentFactory(village=qingshan), checked_in_by=site_team_centre)
    assert not messages(Kind.CONFIRMATION)


# The day-before reminders ----------------------------------------------------------------------------


def test_the_reminders_go_to_everyone_still_booked_that_day_with_a_phone(qingshan, honghe, days, today):
    tomorrow = today + DAY
    booked = [appointment_book_pair(resident=ResidentFactory(village=v), day=tomorrow)[0] for v in (qingshan, honghe)]
    cancelled, _ = appointment_book_pair(resident=ResidentFactory(village=qingshan), day=tomorrow)
    appointment_cancel(appointment=cancelled, reason="外出")
    appointment_book_pair(resident=ResidentFactory(village=qingshan, phone=""), day=tomorrow)
    appointment_book_pair(resident=ResidentFactory(village=qingshan), day=today + 2 * DAY)
    assert reminders_queue(day=tomorrow) == 2
    sent = messages(Kind.REMINDER)
    assert [m.appointment_id for m in sent] == sorted(a.pk for a in booked)
    by_site = {m.params["place"]: m for m in sent}
    assert set(by_site) == {qingshan.site.short_name, honghe.site.short_name}
    assert all(m.day == tomorrow and m.segments == 1 and m.text == kinds.render(Kind.REMINDER, m.params) for m in sent)


def test_running_the_reminders_twice_queues_them_once(qingshan, days, today):
    for resident in ResidentFactory.create_batch(3, village=qingshan):
        appointment_book_pair(resident=resident, day=today + DAY)
    assert reminders_queue(day=today + DAY) == 3
    assert reminders_queue(day=today + DAY) == 0
    assert len(messages(Kind.REMINDER)) == 3


def test_the_nightly_job_queues_tomorrows_reminders_at_the_configured_hour(qingshan, days, today):
    appointment_book_pair(resident=ResidentFactory(village=qingshan), day=today + DAY)
    appointment_book_pair(resident=ResidentFactory(village=qingshan), day=today + 2 * DAY)
    assert queue_reminders_task.delay().get() == 1
    assert [m.day for m in messages(Kind.REMINDER)] == [today + DAY]
    entry = settings.CELERY_BEAT_SCHEDULE["queue-tomorrows-reminders"]
    assert entry["task"] == "appointments.queue_reminders"
    assert entry["schedule"].hour == {settings.SMS_REMINDER_HOUR}


# The shot, the no-shows -------------------------------------------------------------------------


def test_dose_1_given_queues_dose_2s_day_at_the_same_site(qingshan, site_centre, site_team_centre, days, today):
    first, second = appointment_book_pair(resident=ResidentFactory(village=qingshan, phone="13700002222"), day=today)
    arrived = site_checkin(site=site_centre, resident=first.resident, checked_in_by=site_team_centre)
    site_prescreen(appointment=arrived, answers={}, temperature="36.6", consent=True, screened_by=site_team_centre)
    _vaccination, held = site_vaccinate(appointment=arrived, lot_number="L1", vaccinator=site_team_centre)
    [message] = messages(Kind.DOSE_DUE)
    assert (message.phone, message.appointment, message.day) == ("13700002222", held, held.date)
    assert message.params == {"dose": "第2剂", "date": kinds.day_text(held.date), "place": site_centre.short_name}


def test_no_shows_get_a_missed_message_with_their_cadres_phone(qingshan, cadre_qingshan, days, today):
    with_phone(cadre_qingshan, "13900000001")
    charge = with_phone(
        user_with_role(Role.CADRE, village=qingshan, username="cadre_zhang", first_name="张红"), "13900000003"
    )
    mine = ResidentFactory(village=qingshan, responsible_cadre=charge)
    anyone = ResidentFactory(village=qingshan)
    for resident in (mine, anyone):
        appointment_book_pair(resident=resident, day=today)
    assert mark_no_shows(day=today) == 2
    sent = {m.resident_id: m for m in messages(Kind.MISSED)}
    assert sent[mine.pk].params["cadre"] == "张红" and sent[mine.pk].params["cadre_phone"] == "13900000003"
    assert sent[anyone.pk].params["cadre_phone"] == "13900000001"
    assert sent[anyone.pk].params["cadre"] == kinds.person_text(cadre_qingshan)
    assert all(m.day == today and m.params["dose"] == "第1剂" and m.segments == 1 for m in sent.values())
    assert mark_no_shows(day=today) == 0 and len(messages(Kind.MISSED)) == 2


def test_a_no_show_in_a_village_whose_cadres_have_no_phone_gets_no_missed_message(
    qingshan, cadre_qingshan, days, today
):
    appointment_book_pair(resident=ResidentFactory(village=qingshan), day=today)
    mark_no_shows(day=today)
    assert not messages(Kind.MISSED)


# Staff: the plan, a serious adverse event -------------------------------------------------------


def test_publishing_a_plan_messages_each_villages_cadres_their_places(
    campaign, qingshan, honghe, cadre_qingshan, cadre_honghe, office, days, today
):
    with_phone(cadre_qingshan, "13900000001")
    with_phone(cadre_honghe, "13900000002")
    monday = today - datetime.timedelta(days=today.weekday())
    plan = WeeklyPlan.objects.create(campaign=campaign, week_start=monday, created_by=office)
    for offset in (0, 1):
        PlanAllocation.objects.create(
            plan=plan, site=qingshan.site, village=qingshan, date=monday + offset * DAY, places=40
        )
    plan_publish(plan=plan, published_by=office, version=plan_version(plan=plan))
    [message] = messages(Kind.PLAN_PUBLISHED)
    assert (message.phone, message.recipient, message.resident) == ("13900000001", cadre_qingshan, None)
    assert message.params == {"week": kinds.day_text(monday), "village": "青山社区", "places": "80"}
    assert message.key == kinds.plan_key(plan.pk, cadre_qingshan.pk)


@pytest.fixture
def vaccination(qingshan, site_centre, site_team_centre, days, today):
    first, _second = appointment_book_pair(resident=ResidentFactory(village=qingshan), day=today)
    arrived = site_checkin(site=site_centre, resident=first.resident, checked_in_by=site_team_centre)
    site_prescreen(appointment=arrived, answers={}, temperature="36.6", consent=True, screened_by=site_team_centre)
    return site_vaccinate(appointment=arrived, lot_number="L1", vaccinator=site_team_centre)[0]


def report(vaccination, severity, by):
    return adverse_event_report(
        vaccination=vaccination, onset=None, symptoms="呼吸困难", severity=severity, referred=True, reported_by=by
    )


def test_a_serious_adverse_event_messages_the_office_and_the_sites_doctors(
    vaccination, office, site_team_centre, site_jiangdian, site_centre
):
    with_phone(office, "13900000010")
    with_phone(site_team_centre, "13900000011")  # a nurse, not a doctor
    doctor = with_phone(user_with_role(Role.SITE_TEAM, site=site_centre, username="doctor_centre"), "13900000012")
    other = with_phone(user_with_role(Role.SITE_TEAM, site=site_jiangdian, username="doctor_jd"), "13900000013")
    for user in (doctor, other):
        user.groups.add(Group.objects.get(name=SITE_DOCTOR_GROUP))
    report(vaccination, "mild", site_team_centre)
    assert not messages(Kind.ADVERSE_EVENT)
    event = report(vaccination, "severe", site_team_centre)
    sent = messages(Kind.ADVERSE_EVENT)
    assert {(m.recipient, m.phone) for m in sent} == {(office, "13900000010"), (doctor, "13900000012")}
    assert sent[0].params["place"] == site_centre.short_name
    assert sent[0].params["time"] == kinds.time_text(event.reported_at)
    assert {m.key for m in sent} == {f"adverse_event:{event.pk}:{office.pk}", f"adverse_event:{event.pk}:{doctor.pk}"}


# The office's switches ----------------------------------------------------------------------------


def test_a_kind_switched_off_queues_nothing(campaign, qingshan, cadre_qingshan, office, days, today):
    with_phone(cadre_qingshan, "13900000001")
    for kind in (Kind.CONFIRMATION, Kind.REMINDER, Kind.MISSED):
        kinds.kind_switch_set(campaign=campaign, kind=kind, enabled=False, changed_by=office)
    appointment_book_pair(resident=ResidentFactory(village=qingshan), day=today)
    appointment_book_pair(resident=ResidentFactory(village=qingshan), day=today + DAY)
    assert reminders_queue(day=today + DAY) == 0
    mark_no_shows(day=today)
    assert not Message.objects.exists()
    kinds.kind_switch_set(campaign=campaign, kind=Kind.REMINDER, enabled=True, changed_by=office)
    assert reminders_queue(day=today + DAY) == 1


def test_a_serious_adverse_event_switched_off_queues_nothing(vaccination, office, campaign, site_team_centre):
    with_phone(office, "13900000010")
    kinds.kind_switch_set(campaign=campaign, kind=Kind.ADVERSE_EVENT, enabled=False, changed_by=office)
    report(vaccination, "severe", site_team_centre)
    assert not messages(Kind.ADVERSE_EVENT)
