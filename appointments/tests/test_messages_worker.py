"""A real Celery worker sending messages, killed (SIGKILL) in the middle of a batch: each message goes once."""

import datetime
import os
import signal
import time
from collections import Counter

import pytest
import redis
from django.utils import timezone

from appointments.messaging.models import Message
from appointments.messaging.services import messages_enqueue, messages_sweep
from appointments.tests.factories import MessageFactory
from appointments.tests.slow_sms import SlowBackend
from campaign.tests.worker import real_worker

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as handle:
        return [int(child) for child in handle.read().split()]


def wait_until(condition, worker, seconds=30):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        assert worker.poll() is None, "the worker stopped"
        time.sleep(0.1)


@pytest.fixture
def messages_queue(settings):
    # The messages queue of this test process's own Redis database: emptied before and after.
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete("messages")
    yield
    client.delete("messages")


def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(settings, tmp_path, messages_queue, qingshan):
    log = tmp_path / "provider.log"
    log.touch()
    env = {
        "SMS_BACKEND": "appointments.tests.slow_sms.SlowBackend",
        "SLOW_SMS_LOG": str(log),
        "SLOW_SMS_SECONDS": "0.2",
        "SMS_QUIET_HOURS": "",
        "SMS_IN_FLIGHT_TIMEOUT": "60",
    }
    settings.SMS_IN_FLIGHT_TIMEOUT = 60  # the sweep here sees the worker's timeout
    provider = SlowBackend(str(log))
    ids = [m.pk for m in MessageFactory.create_batch(12)]
    with real_worker("messages", pool="prefork", **env) as worker:
        messages_enqueue(ids=ids)  # one task: the whole batch is claimed at once
        wait_until(lambda: len(provider.taken()) >= 3, worker)
        (child,) = _children(worker.pid)
        os.kill(child, signal.SIGKILL)  # mid-batch: no acknowledgement, rows left in flight
        stuck = Message.objects.filter(status=Message.Status.IN_FLIGHT)
        wait_until(lambda: stuck.exists(), worker)
        assert Message.objects.filter(status=Message.Status.QUEUED).count() == 0
        # The task came back to a new child (rejected on the lost worker) and claimed nothing: the rows
        # stay in flight until the sweep (beat, every minute) finds them older than SMS_IN_FLIGHT_TIMEOUT.
        in_flight = stuck.count()
        later = timezone.now() + datetime.timedelta(seconds=61)
        swept = messages_sweep(now=later, backend=provider)
        # Taken by the provider before the kill but not written down: found; never sent: queued again.
        assert swept["found"] + swept["requeued"] == in_flight and swept["requeued"] > 0
        wait_until(lambda: Message.objects.filter(status=Message.Status.SENT).count() == 12, worker)
    assert Counter(provider.taken()) == Counter(str(pk) for pk in ids)  # each taken by the provider once
    assert set(Message.objects.values_list("status", flat=True)) == {"sent"}
