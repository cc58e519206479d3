"""The weekly report task: in-process on the embedded default, and through a real worker on Redis."""

import datetime
import os
import signal
import time
import uuid

import pytest
from django.db import connection
from django.utils import timezone

from campaign.tests.worker import real_worker
from reports.models import WeeklyReport
from reports.supervision.services import last_week_start
from reports.tasks import weekly_report
from reports.tests.factories import spring_2021_campaign, vaccinated

W15 = datetime.date(2021, 4, 12)


@pytest.fixture
def campaign(db):
    return spring_2021_campaign()


@pytest.fixture
def doses(qingshan, honghe):
    vaccinated(village=qingshan, dose1=datetime.date(2021, 4, 13))
    vaccinated(village=honghe, dose1=datetime.date(2021, 4, 14), dose2=datetime.date(2021, 4, 30))


def test_without_a_broker_the_task_runs_in_process_and_twice_is_one_report(campaign, doses):
    first = weekly_report.delay(week="2021-W15").get(timeout=10)
    second = weekly_report.delay(week="2021-W15").get(timeout=10)
    assert first == second == {str(campaign.pk): {"week": "2021-W15", "report": WeeklyReport.objects.get().pk}}


def test_the_monday_task_makes_last_weeks_report_by_default(campaign, doses):
    weekly_report.delay().get(timeout=10)
    assert WeeklyReport.objects.get().week_start == last_week_start(timezone.localdate())


def test_beat_calls_the_task_on_monday_at_eight(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["weekly-supervision-report"]
    assert entry["task"] == weekly_report.name == "reports.weekly_report"
    assert entry["schedule"].hour == {8} and entry["schedule"].minute == {0} and entry["schedule"].day_of_week == {1}
    assert settings.CELERY_TIMEZONE == "Asia/Shanghai"


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_on_redis_makes_the_report(campaign, doses):
    queue = f"test-{uuid.uuid4().hex[:8]}"
    with real_worker(queue):
        result = weekly_report.apply_async(kwargs={"week": "2021-W15"}, queue=queue)
        assert result.get(timeout=60) == {
            str(campaign.pk): {"week": "2021-W15", "report": WeeklyReport.objects.get().pk}
        }
    data = WeeklyReport.objects.get().data
    assert data["totals"]["week_given"][0] == 2 and len(data["villages"]) == 2


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as handle:
        return [int(child) for child in handle.read().split()]


def _report_written_but_not_committed() -> bool:
    """Another connection has inserted the report and sits idle in its open transaction (the test pause)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM pg_locks l
            JOIN pg_class c ON c.oid = l.relation
            JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE c.relname = 'reports_weeklyreport' AND l.mode = 'RowExclusiveLock'
              AND a.state = 'idle in transaction' AND l.pid <> pg_backend_pid()
            """
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_in_the_middle_of_a_report_loses_nothing(campaign, doses):
    queue = f"test-{uuid.uuid4().hex[:8]}"
    # Redis gives an unacknowledged task to another worker after the visibility timeout: 2 s here.
    fast_redelivery = {"CELERY_VISIBILITY_TIMEOUT": "2"}
    # Prefork, as in production: the main process takes the message, a child runs the task.
    with real_worker(queue, pool="prefork", WEEKLY_REPORT_TEST_PAUSE="300", **fast_redelivery) as worker:
        result = weekly_report.apply_async(kwargs={"week": "2021-W15"}, queue=queue)
        deadline = time.monotonic() + 60
        while not _report_written_but_not_committed():
            assert time.monotonic() < deadline, "the worker never reached the middle of the report"
            assert worker.poll() is None, "the worker stopped"
            time.sleep(0.2)
        # SIGKILL the whole worker, child first: no warm shutdown, no acknowledgement, no rollback by the worker.
        for pid in _children(worker.pid):
            os.kill(pid, signal.SIGKILL)
        worker.kill()
        worker.wait(timeout=10)
    assert not WeeklyReport.objects.exists()  # PostgreSQL rolled the half-made report back
    assert not result.ready()

    time.sleep(3)  # past the visibility timeout: the next worker takes the message back on start
    with real_worker(queue, **fast_redelivery):
        assert result.get(timeout=60) == {
            str(campaign.pk): {"week": "2021-W15", "report": WeeklyReport.objects.get().pk}
        }
    report = WeeklyReport.objects.get()
    assert report.week_start == W15 and len(report.data["villages"]) == 2
    assert report.data["totals"]["week_given"][0] == 2
