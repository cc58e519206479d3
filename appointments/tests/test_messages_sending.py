"""The send state machine: claimed once, checked again at send time, held in quiet hours, retried, failed, swept."""

import datetime
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from appointments.messaging import kinds, services, throttle
from appointments.messaging.models import Kind, KindSwitch, Message, OptOut
from appointments.messaging.services import (
    message_queue,
    messages_queue_many,
    messages_send,
    messages_sweep,
    opt_out_record,
)
from appointments.tests.factories import AppointmentFactory, MessageFactory
from campaign.lib import sms
from campaign.lib.sms.locmem import LocmemBackend

pytestmark = pytest.mark.django_db

NOON = timezone.make_aware(datetime.datetime(2026, 12, 7, 12, 0))


def at(hour: int, minute: int = 0, day: int = 7) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(2026, 12, day, hour, minute))


@pytest.fixture(autouse=True)
def _qingshan(qingshan):
    """The village (and current campaign) of every message's resident (MessageFactory takes the first village)."""
    return qingshan


def params_of(kind: str) -> dict:
    """Parameters for a kind's template, whatever it asks for: its own longest sample values."""
    return dict(kinds.KINDS[kind].longest)


def sent_references() -> list[str]:
    return [message.reference for message in sms.outbox]


class Failing(sms.BaseBackend):
    """A provider that answers every message with `error`."""

    name = "failing"

    def __init__(self, error):
        self.error = error
        self.tries = 0

    def send(self, message):
        self.tries += 1
        raise self.error


def test_a_queued_message_is_sent_once_its_transaction_commits(django_capture_on_commit_callbacks, qingshan):
    appointment = AppointmentFactory(resident__village=qingshan)
    with django_capture_on_commit_callbacks(execute=True):
        message = message_queue(
            kind=Kind.CONFIRMATION,
            phone="13900001111",
            params=params_of(Kind.CONFIRMATION),
            resident=appointment.resident,
            appointment=appointment,
        )
        assert sms.outbox == []  # nothing leaves before the booking is committed
    message.refresh_from_db()
    assert (message.status, message.provider, message.attempts) == (Message.Status.SENT, "locmem", 1)
    assert message.provider_id.startswith("locmem-") and message.sent_at is not None
    (sent,) = sms.outbox
    assert (sent.phone, sent.template, sent.reference) == ("13900001111", "confirmation", str(message.pk))
    assert sent.text == message.text and sent.text.startswith("【")


def test_the_same_message_queued_twice_is_one_row_and_sent_once(django_capture_on_commit_callbacks, qingshan):
    appointment = AppointmentFactory(resident__village=qingshan)
    params = params_of(Kind.REMINDER)
    with django_capture_on_commit_callbacks(execute=True):
        first = message_queue(
            kind=Kind.REMINDER,
            phone="13900001111",
            params=params,
            resident=appointment.resident,
            appointment=appointment,
        )
        again = message_queue(
            kind=Kind.REMINDER,
            phone="13900001111",
            params=params,
            resident=appointment.resident,
            appointment=appointment,
        )
    assert first is not None and again is None
    assert sent_references() == [str(first.pk)]


def test_a_message_in_flight_or_done_is_left_alone():
    in_flight = MessageFactory(status=Message.Status.IN_FLIGHT, claimed_at=NOON, attempts=1)
    sent = MessageFactory(status=Message.Status.SENT, sent_at=NOON, attempts=1)
    skipped = MessageFactory(status=Message.Status.SKIPPED, skip_reason="已接种")
    counts = messages_send(ids=[in_flight.pk, sent.pk, skipped.pk], now=NOON)
    assert counts["claimed"] == 0 and sms.outbox == []
    assert list(Message.objects.order_by("pk").values_list("status", "attempts")) == [
        ("in_flight", 1),
        ("sent", 1),
        ("skipped", 0),
    ]


def test_the_same_batch_sent_twice_goes_once():
    messages = MessageFactory.create_batch(3)
    ids = [m.pk for m in messages]
    assert messages_send(ids=ids, now=NOON)["sent"] == 3
    assert messages_send(ids=ids, now=NOON)["claimed"] == 0
    assert sorted(sent_references()) == sorted(str(pk) for pk in ids)


def test_a_message_not_yet_due_is_not_claimed():
    later = MessageFactory(send_after=NOON + datetime.timedelta(minutes=5))
    assert messages_send(ids=[later.pk], now=NOON)["claimed"] == 0
    assert messages_send(ids=[later.pk], now=NOON + datetime.timedelta(minutes=5))["sent"] == 1


def test_a_person_vaccinated_after_the_reminder_was_queued_is_skipped_with_the_reason(monkeypatch):
    # A stand-in for the reminder's rule (the kinds module holds the real ones): skip what is no longer booked.
    def no_longer_booked(messages):
        return {m.pk: "已接种" for m in messages if m.appointment.status != "booked"}

    monkeypatch.setattr(kinds, "skip_reasons", no_longer_booked)
    still_booked, vaccinated = MessageFactory.create_batch(2)
    vaccinated.appointment.status = "vaccinated"
    vaccinated.appointment.save()
    counts = messages_send(ids=[still_booked.pk, vaccinated.pk], now=NOON)
    assert (counts["sent"], counts["skipped"]) == (1, 1)
    assert sent_references() == [str(still_booked.pk)]
    vaccinated.refresh_from_db()
    assert (vaccinated.status, vaccinated.skip_reason) == (Message.Status.SKIPPED, "已接种")


def test_a_kind_the_office_turned_off_is_skipped():
    message = MessageFactory()
    KindSwitch.objects.create(campaign=message.campaign, kind=Kind.REMINDER, enabled=False)
    other = MessageFactory(kind=Kind.DOSE_DUE)
    counts = messages_send(ids=[message.pk, other.pk], now=NOON)
    assert (counts["sent"], counts["skipped"]) == (1, 1)
    message.refresh_from_db()
    assert message.status == Message.Status.SKIPPED and message.skip_reason
    assert sent_references() == [str(other.pk)]


def test_an_opted_out_phone_gets_no_reminder_but_still_gets_its_code():
    reminder = MessageFactory(phone="13900002222")
    code = Message.objects.create(kind=Kind.CODE, phone="13900002222", params=params_of(Kind.CODE), text="验证码")
    opt_out_record(phone="13900002222", source=OptOut.Source.REPLY)
    counts = messages_send(ids=[reminder.pk, code.pk], now=NOON)
    assert (counts["sent"], counts["skipped"]) == (1, 1)
    assert sent_references() == [str(code.pk)]
    reminder.refresh_from_db()
    assert reminder.status == Message.Status.SKIPPED and reminder.skip_reason


def test_a_reminder_due_at_22_00_waits_for_08_00_the_next_morning_and_a_code_does_not(settings):
    settings.SMS_QUIET_HOURS = (datetime.time(21), datetime.time(8))
    reminder = MessageFactory()
    code = Message.objects.create(kind=Kind.CODE, phone="13900002222", params=params_of(Kind.CODE), text="验证码")
    counts = messages_send(ids=[reminder.pk, code.pk], now=at(22))
    assert (counts["held"], counts["sent"]) == (1, 1)
    reminder.refresh_from_db()
    assert (reminder.status, reminder.send_after, reminder.attempts) == ("queued", at(8, day=8), 0)
    assert messages_send(ids=[reminder.pk], now=at(7, 59, day=8))["claimed"] == 0
    assert messages_send(ids=[reminder.pk], now=at(8, day=8))["sent"] == 1
    assert sent_references() == [str(code.pk), str(reminder.pk)]


@pytest.mark.parametrize(
    ("now", "until"),
    [(at(21), at(8, day=8)), (at(23, 59), at(8, day=8)), (at(0, 30), at(8)), (at(7, 59), at(8)), (at(8), None)],
)
def test_the_quiet_hours_run_from_21_00_to_08_00_shanghai_time(settings, now, until):
    settings.SMS_QUIET_HOURS = (datetime.time(21), datetime.time(8))
    assert services.quiet_until(now) == until
    assert services.quiet_until(at(20, 59)) is None


def test_a_transient_error_is_retried_after_a_growing_back_off_then_failed(settings):
    settings.SMS_MAX_ATTEMPTS = 3
    message = MessageFactory()
    backend = Failing(sms.RateLimited("too fast", code="isv.BUSINESS_LIMIT_CONTROL"))
    now = NOON
    waits = []
    for _ in range(2):
        assert messages_send(ids=[message.pk], now=now, backend=backend)["retried"] == 1
        message.refresh_from_db()
        assert (message.status, message.error_code) == ("queued", "isv.BUSINESS_LIMIT_CONTROL")
        waits.append(message.send_after - now)
        assert messages_send(ids=[message.pk], now=message.send_after - datetime.timedelta(seconds=1))["claimed"] == 0
        now = message.send_after
    assert datetime.timedelta(seconds=15) <= waits[0] <= datetime.timedelta(seconds=30)
    assert datetime.timedelta(seconds=30) <= waits[1] <= datetime.timedelta(seconds=60)
    assert messages_send(ids=[message.pk], now=now, backend=backend)["failed"] == 1
    message.refresh_from_db()
    assert (message.status, message.attempts, backend.tries) == ("failed", 3, 3)
    assert message.error_message == "too fast"


def test_a_permanent_error_fails_the_message_at_once():
    message = MessageFactory()
    backend = Failing(sms.PermanentError("invalid mobile number", code="isv.MOBILE_NUMBER_ILLEGAL"))
    assert messages_send(ids=[message.pk], now=NOON, backend=backend)["failed"] == 1
    message.refresh_from_db()
    assert (message.status, message.error_code, message.attempts) == ("failed", "isv.MOBILE_NUMBER_ILLEGAL", 1)


def test_an_unexpected_backend_error_is_retried_like_a_transient_one():
    message = MessageFactory()
    assert messages_send(ids=[message.pk], now=NOON, backend=Failing(ValueError("bad answer")))["retried"] == 1
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("queued", "ValueError")


def test_the_sweep_marks_a_lost_message_the_provider_took_as_sent_and_queues_the_other_again(settings):
    settings.SMS_IN_FLIGHT_TIMEOUT = 300
    claimed = timezone.now() - datetime.timedelta(seconds=301)
    took, lost, recent = (
        MessageFactory(status=Message.Status.IN_FLIGHT, claimed_at=claimed, attempts=1) for _ in range(3)
    )
    Message.objects.filter(pk=recent.pk).update(claimed_at=timezone.now())
    # The provider has the first: its worker died between the provider's answer and writing it down.
    sms.outbox.append(sms.Sms(phone=took.phone, template="reminder", params={}, text="", reference=str(took.pk)))

    counts = messages_sweep(backend=LocmemBackend())
    assert (counts["found"], counts["requeued"]) == (1, 1)
    took.refresh_from_db()
    lost.refresh_from_db()
    recent.refresh_from_db()
    assert (took.status, took.provider_id) == ("sent", f"locmem-found-{took.pk}")
    # Queued again and (tasks in-process here) sent: once.
    assert (lost.status, lost.attempts) == ("sent", 2)
    assert sent_references().count(str(lost.pk)) == 1
    assert recent.status == "in_flight"  # its worker may still be sending it


def test_the_sweep_fails_a_lost_message_that_used_up_its_attempts(settings):
    settings.SMS_MAX_ATTEMPTS = 2
    message = MessageFactory(status=Message.Status.IN_FLIGHT, claimed_at=NOON, attempts=2)
    assert messages_sweep(now=NOON + datetime.timedelta(hours=1))["failed"] == 1
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("failed", "worker_lost")


def test_the_sweep_sends_what_waited_for_the_morning_and_what_no_task_took(monkeypatch):
    # No send task waits in the broker (another test's worker may have left some in this Redis database).
    monkeypatch.setattr(services, "_tasks_waiting", lambda: 0)
    morning = timezone.now() - datetime.timedelta(seconds=5)
    waited = MessageFactory(send_after=morning)
    Message.objects.filter(pk=waited.pk).update(updated_at=morning - datetime.timedelta(hours=11))
    forgotten = MessageFactory()
    Message.objects.filter(pk=forgotten.pk).update(updated_at=timezone.now() - datetime.timedelta(minutes=3))
    just_queued = MessageFactory()  # its own task is on its way
    counts = messages_sweep()
    assert counts["enqueued"] == 2
    assert sorted(sent_references()) == sorted([str(waited.pk), str(forgotten.pk)])
    assert Message.objects.get(pk=just_queued.pk).status == "queued"
    assert messages_sweep()["enqueued"] == 0


def test_many_messages_are_queued_once_and_sent_after_commit(django_capture_on_commit_callbacks, qingshan):
    appointments = AppointmentFactory.create_batch(3, resident__village=qingshan)
    MessageFactory(appointment=appointments[0])
    sms.outbox.clear()

    def reminder(appointment):
        return Message(
            kind=Kind.REMINDER,
            phone="13900003333",
            params=params_of(Kind.REMINDER),
            campaign=appointment.resident.campaign,
            resident=appointment.resident,
            appointment=appointment,
        )

    with django_capture_on_commit_callbacks(execute=True):
        assert messages_queue_many(messages=[reminder(a) for a in appointments]) == 2
    assert Message.objects.count() == 3
    new = Message.objects.exclude(appointment=appointments[0])
    assert sorted(sent_references()) == sorted(str(m.pk) for m in new)
    assert all(m.status == "sent" and m.text.startswith("【") and m.day == m.appointment.date for m in new)


def test_the_command_sends_what_is_due_in_process():
    MessageFactory.create_batch(3)
    MessageFactory(send_after=timezone.now() + datetime.timedelta(hours=1))
    out = StringIO()
    call_command("send_messages", "--sweep", stdout=out)
    assert "3 messages taken: 3 sent" in out.getvalue()
    assert len(sms.outbox) == 3


def test_the_rate_limit_lets_so_many_a_second_through(settings):
    # Counted on the shared cache: Redis with REDIS_URL (every worker's count), else this process's memory.
    settings.SMS_RATE_PER_SECOND = 20
    started = time.monotonic()
    for _ in range(41):  # 20 in the first second, 20 in the next, one in the third
        throttle.wait_turn("ratetest")
    assert 1.0 < time.monotonic() - started < 3.0


def test_the_sweep_does_not_queue_a_backlog_again_while_its_tasks_still_wait(monkeypatch):
    behind = MessageFactory()
    Message.objects.filter(pk=behind.pk).update(updated_at=timezone.now() - datetime.timedelta(minutes=3))
    monkeypatch.setattr(services, "_tasks_waiting", lambda: 12)  # the workers are behind, not the tasks lost
    assert messages_sweep()["enqueued"] == 0
    monkeypatch.setattr(services, "_tasks_waiting", lambda: 0)
    assert messages_sweep()["enqueued"] == 1
    assert sent_references() == [str(behind.pk)]
