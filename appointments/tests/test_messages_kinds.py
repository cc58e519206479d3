"""The kinds of message: each template fits one SMS segment, and the rule checked again at send time."""

import datetime

import pytest
from django.test import override_settings
from django.utils import timezone

from appointments.messaging import kinds
from appointments.messaging.models import Kind, KindSwitch, Message
from appointments.messaging.triggers import reminders_queue
from appointments.models import Appointment, WeeklyPlan
from appointments.services import appointment_book_pair, appointment_cancel, appointment_reschedule, mark_no_shows
from campaign.lib import sms
from campaign.tests.factories import SiteFactory, UserFactory
from residents.models import Resident
from residents.tests.factories import ResidentFactory
from sites.capacity import site_days_ensure
from sites.models import Site
from sites.tests.factories import VaccinationFactory

DAY = datetime.timedelta(days=1)


# The templates -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(Kind))
def test_each_kind_fits_one_segment_with_every_parameter_at_its_longest(kind):
    spec = kinds.KINDS[kind]
    assert set(spec.longest) == set(spec.params), "every parameter has its longest value, and only those"
    text = kinds.render(kind, spec.longest)
    assert sms.segments(text) == 1, f"{len(text)} characters: {text}"


@pytest.mark.parametrize("kind", list(Kind))
def test_each_kind_fits_one_segment_under_the_longest_sign_the_templates_leave_room_for(kind):
    with override_settings(SMS_SIGN_NAME="签" * kinds.SIGN_CHARS):
        text = kinds.render(kind, kinds.KINDS[kind].longest)
    assert len(text) <= sms.SEGMENT_CHARS, f"{len(text)} characters: {text}"
    with override_settings(SMS_SIGN_NAME="签" * (kinds.SIGN_CHARS + 3)):
        assert max(len(kinds.render(k, s.longest)) for k, s in kinds.KINDS.items()) > sms.SEGMENT_CHARS


def test_the_configured_sign_is_within_the_room_the_templates_leave():
    from django.conf import settings

    assert 2 <= len(settings.SMS_SIGN_NAME) <= kinds.SIGN_CHARS


def test_the_longest_values_are_the_longest_the_renderer_gives_for_the_longest_fields_the_models_allow():
    longest_site = Site(
        short_name="卫" * Site._meta.get_field("short_name").max_length,
        name="卫" * Site._meta.get_field("name").max_length,
        address="梅" * Site._meta.get_field("address").max_length,
    )
    assert len(kinds.site_text(longest_site)) == len(kinds.LONGEST_PLACE)
    assert len(kinds.address_text(longest_site)) == len(kinds.LONGEST_ADDRESS)
    cadre = UserFactory.build(first_name="欧" * 150)
    assert len(kinds.person_text(cadre)) == len(kinds.LONGEST_NAME)
    assert len(kinds.day_text(datetime.date(2021, 12, 31))) == len(kinds.LONGEST_DAY)
    for spec in kinds.KINDS.values():
        assert all(len(value) <= kinds.VARIABLE_CHARS for value in spec.longest.values())


def test_a_value_that_fits_is_kept_and_one_that_does_not_is_cut_with_an_ellipsis():
    assert kinds.shorten(" 江店体育馆 ", 10) == "江店体育馆"
    assert kinds.shorten("梅山镇青山社区梅山路社区卫生服务中心", 15) == "梅山镇青山社区梅山路社区卫生…"
    assert kinds.person_text(UserFactory.build(first_name="方志刚（青山社区）")) == "方志刚"
    assert kinds.day_text(datetime.date(2021, 4, 5)) == "4月5日"


def test_no_parameter_has_a_name_alibaba_refuses():
    refused = {"email", "mobile", "id", "nick", "site"}
    for spec in kinds.KINDS.values():
        assert not refused & set(spec.params)


def test_a_code_template_has_its_one_variable_only():
    assert kinds.KINDS[Kind.CODE].params == ("code",)


def test_a_confirmation_reads_as_the_resident_gets_it():
    site = Site(short_name="卫生服务中心", name="梅山社区卫生服务中心疫苗接种点", address="梅山镇青山社区梅山路")
    params = {
        "date": "4月5日",
        "place": kinds.site_text(site),
        "dose": kinds.dose_text(1, 2),
        "address": kinds.address_text(site),
    }
    with override_settings(SMS_SIGN_NAME="梅山镇卫生院"):
        text = kinds.render(Kind.CONFIRMATION, params)
    assert (
        text == "【梅山镇卫生院】您已预约4月5日在卫生服务中心接种第1剂，地址：梅山镇青山社区梅山路，请带证件按时前往。"
    )


def test_a_one_dose_campaigns_confirmation_numbers_no_dose_and_a_three_dose_ones_numbers_each():
    site = Site(short_name="卫生服务中心", address="梅山镇青山社区梅山路")
    one = kinds.render(
        Kind.CONFIRMATION,
        {"date": "4月5日", "place": site.short_name, "dose": kinds.dose_text(1, 1), "address": site.address},
    )
    assert "接种疫苗，" in one and "剂" not in one
    assert [kinds.dose_text(n, 3) for n in (1, 2, 3)] == ["第1剂", "第2剂", "第3剂"]
    reminder = kinds.render(
        Kind.REMINDER,
        {"date": "4月5日", "place": site.short_name, "dose": kinds.dose_text(3, 3), "address": site.address},
    )
    assert "接种第3剂，" in reminder


# The rule at send time --------------------------------------------------------------------------


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def days(qingshan):
    site_days_ensure(campaign=qingshan.campaign)


@pytest.fixture
def booked(qingshan, days, today):
    """A resident booked for tomorrow, and tomorrow's reminder queued."""
    first, second = appointment_book_pair(resident=ResidentFactory(village=qingshan), day=today + DAY)
    reminders_queue(day=today + DAY)
    return first


def reminder(appointment) -> Message:
    return Message.objects.get(kind=Kind.REMINDER, appointment=appointment)


def skipped(message) -> str | None:
    return kinds.skip_reasons([message]).get(message.pk)


def test_a_reminder_of_a_booking_still_open_is_sent(booked):
    assert skipped(reminder(booked)) is None
    assert skipped(Message.objects.get(kind=Kind.CONFIRMATION, appointment=booked)) is None


def test_a_person_vaccinated_after_queueing_is_skipped(booked):
    message = reminder(booked)
    VaccinationFactory(resident=booked.resident, dose_number=1, site=booked.site)
    assert skipped(message) == "已接种"


def test_a_cancelled_bookings_reminder_is_skipped(booked):
    message = reminder(booked)
    appointment_cancel(appointment=booked, reason="外出务工")
    assert skipped(message) == "已取消预约"


def test_a_moved_bookings_old_reminder_is_skipped_and_the_new_day_gets_its_own(booked, today):
    old = reminder(booked)
    appointment_reschedule(appointment=booked, day=today + 2 * DAY, reason="本人要求")
    assert skipped(old) == "预约已改到其他日期"
    assert reminders_queue(day=today + 2 * DAY) == 1
    new = Message.objects.get(kind=Kind.REMINDER, appointment=booked, day=today + 2 * DAY)
    assert new.params["date"] == kinds.day_text(today + 2 * DAY)
    assert skipped(new) is None
    # and the confirmation of the new day holds, the old day's does not
    confirmations = {m.day: skipped(m) for m in Message.objects.filter(kind=Kind.CONFIRMATION, appointment=booked)}
    assert confirmations == {today + DAY: "预约已改到其他日期", today + 2 * DAY: None}


def test_a_resident_who_refused_or_is_no_longer_eligible_is_skipped(booked):
    message = reminder(booked)
    Resident.objects.filter(pk=booked.resident_id).update(status=Resident.Status.REFUSED)
    assert skipped(message) == "本人拒绝接种"
    Resident.objects.filter(pk=booked.resident_id).update(status=Resident.Status.EXCLUDED)
    assert skipped(message) == "已不符合接种条件"


def test_a_reminder_whose_day_is_past_is_skipped(booked):
    message = reminder(booked)
    Message.objects.filter(pk=message.pk).update(day=booked.date - 2 * DAY)
    Appointment.objects.filter(pk=booked.pk).update(date=booked.date - 2 * DAY)
    message.refresh_from_db()
    assert skipped(message) == "预约日期已过"


@pytest.fixture
def missed(qingshan, cadre_qingshan, days, today):
    """A resident who did not come today, and the message that tells them whom to call."""
    cadre_qingshan.profile.phone = "13900000001"
    cadre_qingshan.profile.save()
    first, _second = appointment_book_pair(resident=ResidentFactory(village=qingshan), day=today)
    mark_no_shows(day=today)
    return Message.objects.get(kind=Kind.MISSED, appointment=first)


def test_a_missed_message_is_sent_while_the_person_is_still_to_book(missed):
    assert skipped(missed) is None


def test_a_missed_message_is_skipped_once_the_person_is_booked_again(missed, today):
    appointment_book_pair(resident=missed.resident, day=today + DAY)
    assert skipped(missed) == "已重新预约"


def test_a_missed_message_is_skipped_once_the_person_is_vaccinated(missed):
    VaccinationFactory(resident=missed.resident, dose_number=1)
    assert skipped(missed) == "已接种"


def test_a_plans_messages_are_skipped_when_the_plan_is_no_longer_published(campaign, cadre_qingshan, office):
    plan = WeeklyPlan.objects.create(
        campaign=campaign,
        week_start=timezone.localdate(),
        created_by=office,
        status="published",
        published_at=timezone.now(),
    )
    message = Message.objects.create(
        kind=Kind.PLAN_PUBLISHED,
        phone="13900000001",
        text="x",
        campaign=campaign,
        recipient=cadre_qingshan,
        key=kinds.plan_key(plan.pk, cadre_qingshan.pk),
    )
    assert skipped(message) is None
    WeeklyPlan.objects.filter(pk=plan.pk).update(status="draft")
    assert skipped(message) == "计划已不再发布"


def test_an_adverse_event_message_is_always_sent(campaign, office):
    message = Message.objects.create(
        kind=Kind.ADVERSE_EVENT,
        phone="13900000002",
        text="x",
        campaign=campaign,
        recipient=office,
        key="adverse_event:1:1",
    )
    assert skipped(message) is None


def test_a_batch_of_a_hundred_is_checked_in_one_query_per_kind(qingshan, days, today, django_assert_max_num_queries):
    for resident in ResidentFactory.create_batch(100, village=qingshan):
        appointment_book_pair(resident=resident, day=today + DAY)
    reminders_queue(day=today + DAY)
    batch = list(Message.objects.filter(kind__in=[Kind.REMINDER, Kind.CONFIRMATION]))
    assert len(batch) == 200
    Appointment.objects.filter(pk__in=[m.appointment_id for m in batch[:10]]).update(status="cancelled")
    with django_assert_max_num_queries(1):
        reasons = kinds.skip_reasons(batch)
    assert 10 <= len(reasons) <= 20 and set(reasons.values()) == {"已取消预约"}


# The office's switches ----------------------------------------------------------------------------


def test_a_kind_is_on_until_the_office_switches_it_off_and_on_again(campaign, office):
    assert kinds.kind_enabled(campaign=campaign, kind=Kind.REMINDER)
    kinds.kind_switch_set(campaign=campaign, kind=Kind.REMINDER, enabled=False, changed_by=office)
    assert not kinds.kind_enabled(campaign=campaign, kind=Kind.REMINDER)
    assert kinds.kind_enabled(campaign=campaign, kind=Kind.CONFIRMATION)
    other = SiteFactory(campaign__is_open=False).campaign
    assert kinds.kind_enabled(campaign=other, kind=Kind.REMINDER)
    kinds.kind_switch_set(campaign=campaign, kind=Kind.REMINDER, enabled=True, changed_by=office)
    assert kinds.kind_enabled(campaign=campaign, kind=Kind.REMINDER)
    assert KindSwitch.objects.get(campaign=campaign, kind=Kind.REMINDER).changed_by == office


def test_there_is_no_switch_for_a_kind_that_does_not_exist(campaign):
    with pytest.raises(ValueError):
        kinds.kind_switch_set(campaign=campaign, kind="newsletter", enabled=False)
