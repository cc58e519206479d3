"""The progress task on a real Celery worker on Redis, including a worker killed in the middle."""

import time
import uuid

import pytest
from django.db import connection, transaction

from campaign.celery import app
from campaign.models import Campaign
from campaign.tests.worker import real_worker
from reports import tasks
from reports.models import DailyProgress, VillageProgress
from residents.tests.factories import ResidentFactory
from sites.tests.factories import VaccinationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def wait_for(condition, seconds=60, what="the condition"):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def waiting_on_a_lock() -> int:
    """Other sessions of this database waiting for a lock (read afresh: the statistics are cached per transaction)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@pytest.fixture
def own_queue(monkeypatch):
    queue = f"test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(app.conf, "task_default_queue", queue)
    return queue


def test_progress_is_computed_by_a_real_worker(campaign, qingshan, own_queue):
    for _ in range(3):
        VaccinationFactory(resident=ResidentFactory(village=qingshan))
    with real_worker(own_queue):
        result = tasks.compute_progress.delay(full=True)
        assert result.get(timeout=60)[str(campaign.pk)]["villages"] == 1
    assert sum(DailyProgress.objects.values_list("dose1", flat=True)) == 3


def test_a_worker_killed_in_the_middle_loses_nothing(campaign, qingshan, own_queue):
    for _ in range(2):
        VaccinationFactory(resident=ResidentFactory(village=qingshan))
    # Hold the campaign's row lock so the worker stops inside its transaction, then kill it there.
    with transaction.atomic():
        Campaign.objects.select_for_update().get(pk=campaign.pk)
        with real_worker(own_queue, CELERY_VISIBILITY_TIMEOUT="3") as first:
            tasks.compute_progress.delay(full=True)
            wait_for(lambda: waiting_on_a_lock() == 1, what="the worker to wait for the campaign's lock")
            first.kill()
            first.wait(timeout=30)
    assert not DailyProgress.objects.exists()
    # Unacknowledged, the message goes back to the queue once the visibility timeout (3 s here) has
    # passed; a worker starting after that takes it up and computes it, once and in full.
    time.sleep(4)
    with real_worker(own_queue, CELERY_VISIBILITY_TIMEOUT="3"):
        wait_for(lambda: VillageProgress.objects.exists(), what="the redelivered task")
    assert VillageProgress.objects.get().dose1 == 2
    assert sum(DailyProgress.objects.values_list("dose1", flat=True)) == 2
