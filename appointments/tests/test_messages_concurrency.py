"""Real concurrent PostgreSQL connections queueing and sending the same messages: each goes once."""

import threading
from collections import Counter

import pytest

from appointments.messaging import kinds
from appointments.messaging.models import Kind, Message
from appointments.messaging.services import message_queue, messages_queue_many, messages_send
from appointments.tests.factories import AppointmentFactory, MessageFactory
from campaign.lib import sms
from campaign.tests.concurrency import at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PARAMS = dict(kinds.KINDS[Kind.REMINDER].longest)


def reminders(appointments):
    return [
        Message(
            kind=Kind.REMINDER,
            phone="13900004444",
            params=PARAMS,
            campaign=a.resident.campaign,
            resident=a.resident,
            appointment=a,
            day=a.date,
        )
        for a in appointments
    ]


def test_the_nightly_job_run_six_times_at_once_queues_and_sends_each_reminder_once(qingshan):
    appointments = AppointmentFactory.create_batch(30, resident__village=qingshan)
    results, errors = at_once(6, lambda: messages_queue_many(messages=reminders(appointments)))
    assert errors == []
    assert sum(results) == 30 and Message.objects.count() == 30
    # Sent at each job's commit (tasks in-process here): once each, whichever job queued it.
    assert sorted(Counter(m.reference for m in sms.outbox).values()) == [1] * 30


def test_one_confirmation_queued_by_eight_requests_at_once_is_one_message(qingshan):
    appointment = AppointmentFactory(resident__village=qingshan)

    def queue():
        return message_queue(
            kind=Kind.REMINDER,
            phone="13900004444",
            params=PARAMS,
            resident=appointment.resident,
            appointment=appointment,
        )

    results, errors = at_once(8, queue)
    assert errors == []
    assert len([r for r in results if r is not None]) == 1
    assert Message.objects.count() == 1 and len(sms.outbox) == 1


def test_eight_workers_claiming_the_same_batch_send_each_message_once(qingshan):
    ids = [m.pk for m in MessageFactory.create_batch(40)]
    lock = threading.Lock()

    class Recording(sms.BaseBackend):
        name = "recording"

        def send(self, message):
            with lock:
                sms.outbox.append(message)
            return sms.Sent(provider_id=f"r-{message.reference}")

    results, errors = at_once(8, lambda: messages_send(ids=ids, backend=Recording()))
    assert errors == []
    assert sum(r["claimed"] for r in results) == 40 and sum(r["sent"] for r in results) == 40
    assert Counter(m.reference for m in sms.outbox) == Counter(str(pk) for pk in ids)
    assert set(Message.objects.values_list("status", "attempts")) == {("sent", 1)}
