"""An export is a job that finishes: never queued (Redis down) or its worker dead, built again or failed visibly."""

import datetime
import logging
from unittest import mock

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from reports.models import Export
from reports.services import LEASE, MAX_ATTEMPTS, export_build, export_request, export_sweep
from reports.tests.factories import ExportFactory
from reports.tests.test_build import exported_files
from residents.tests.factories import ResidentFactory

MINUTE = datetime.timedelta(minutes=1)


def running(office, qingshan, *, started_ago, attempts=1):
    now = timezone.now()
    return ExportFactory(
        campaign=qingshan.campaign,
        requested_by=office,
        requested_at=now - started_ago,
        status=Export.Status.RUNNING,
        started_at=now - started_ago,
        attempts=attempts,
    )


@pytest.mark.django_db(transaction=True)
def test_a_robust_on_commit_callback_that_fails_is_logged_by_its_name_not_an_attribute_error(office, qingshan, caplog):
    """Django logs a failing robust callback by __qualname__: a functools.partial has none (AttributeError)."""
    with mock.patch("reports.services.enqueue_or_run_here", side_effect=RuntimeError("unexpected")):
        export = export_request(user=office, kind=Export.Kind.RESIDENTS, params={})
    assert Export.objects.get(pk=export.pk).status == Export.Status.PENDING
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("export_request.<locals>.queue_build in on_commit()" in message for message in errors), errors


@pytest.mark.django_db(transaction=True)
def test_every_robust_on_commit_callback_in_the_project_can_be_named(office, qingshan):
    with mock.patch.object(transaction, "on_commit", wraps=transaction.on_commit) as on_commit:
        export_request(user=office, kind=Export.Kind.RESIDENTS, params={})
    for call in on_commit.call_args_list:
        if call.kwargs.get("robust"):
            assert call.args[0].__qualname__


def test_the_sweep_queues_again_a_pending_export_that_was_never_queued(office, qingshan):
    ResidentFactory(village=qingshan)
    export = ExportFactory(campaign=qingshan.campaign, requested_by=office)  # the broker was down
    assert export_sweep(now=timezone.now() + MINUTE) == {"queued": 0, "failed": 0}  # too early
    assert export_sweep(now=timezone.now() + 3 * MINUTE) == {"queued": 1, "failed": 0}
    export.refresh_from_db()
    assert export.status == Export.Status.DONE and export.row_count == 1  # in-process on the embedded default


def test_the_sweep_builds_again_an_export_whose_worker_died(office, qingshan):
    ResidentFactory.create_batch(2, village=qingshan)
    dead = running(office, qingshan, started_ago=LEASE + MINUTE)
    live = running(office, qingshan, started_ago=2 * MINUTE)
    assert export_sweep() == {"queued": 1, "failed": 0}
    dead.refresh_from_db()
    live.refresh_from_db()
    assert (dead.status, dead.row_count, dead.attempts) == (Export.Status.DONE, 2, 2)
    assert live.status == Export.Status.RUNNING  # a live build is left alone


def test_an_export_that_lost_its_worker_too_often_is_failed_with_a_message_for_the_user(client, office, qingshan):
    worn = running(office, qingshan, started_ago=LEASE + MINUTE, attempts=MAX_ATTEMPTS)
    assert export_sweep() == {"queued": 0, "failed": 1}
    worn.refresh_from_db()
    assert worn.status == Export.Status.FAILED and worn.error == Export.LOST_WORKER
    client.force_login(office)
    page = client.get(reverse("reports:export_status", args=[worn.pk])).content.decode()
    assert "后台处理程序多次中断" in page and "重新导出" in page and "hx-trigger" not in page


def test_an_export_never_started_within_an_hour_is_failed_with_a_message(office, qingshan):
    old = ExportFactory(
        campaign=qingshan.campaign, requested_by=office, requested_at=timezone.now() - datetime.timedelta(hours=2)
    )
    assert export_sweep()["failed"] == 1
    old.refresh_from_db()
    assert old.status == Export.Status.FAILED and old.error == Export.NO_WORKER


def test_a_redelivered_message_builds_the_export_its_dead_worker_left_running(office, qingshan):
    ResidentFactory(village=qingshan)
    export = running(office, qingshan, started_ago=MINUTE)
    assert export_build(export_id=export.pk) is False  # a second delivery while the first may be alive
    assert export_build(export_id=export.pk, redelivered=True) is True
    export.refresh_from_db()
    assert export.status == Export.Status.DONE and export.attempts == 2


def test_a_build_given_up_for_dead_does_not_overwrite_the_later_one(settings, office, qingshan):
    from reports import services

    ResidentFactory(village=qingshan)
    export = ExportFactory(campaign=qingshan.campaign, requested_by=office)
    real = services._build_roster

    def slow_then_overtaken(export_, **kwargs):
        result = real(export_, **kwargs)
        # Meanwhile the sweep took this build for dead and another build claimed the export.
        Export.objects.filter(pk=export_.pk).update(attempts=export_.attempts + 1)
        return result

    with mock.patch("reports.services._build_roster", side_effect=slow_then_overtaken):
        export_build(export_id=export.pk)
    export.refresh_from_db()
    # Left to the later build: neither done with the old file nor failed under its feet; the old file is gone.
    assert (export.status, export.attempts, export.file.name) == (Export.Status.RUNNING, 2, "")
    assert exported_files(settings) == []


def test_a_failed_export_is_asked_for_again_with_the_same_filter(client, office, qingshan):
    failed = ExportFactory(
        campaign=qingshan.campaign,
        requested_by=office,
        parameters={"village": str(qingshan.pk)},
        status=Export.Status.FAILED,
        finished_at=timezone.now(),
        error=Export.LOST_WORKER,
    )
    client.force_login(office)
    response = client.post(reverse("reports:export_again", args=[failed.pk]))
    again = Export.objects.exclude(pk=failed.pk).get()
    assert response.url == reverse("reports:export_detail", args=[again.pk])
    assert again.parameters == failed.parameters and again.requested_by == office
    assert Export.objects.get(pk=failed.pk).status == Export.Status.FAILED  # the record stays


def test_someone_elses_failed_export_cannot_be_asked_again(client, cadre_qingshan, office, qingshan):
    failed = ExportFactory(
        campaign=qingshan.campaign,
        requested_by=office,
        status=Export.Status.FAILED,
        finished_at=timezone.now(),
        error="x",
    )
    client.force_login(cadre_qingshan)
    assert client.post(reverse("reports:export_again", args=[failed.pk])).status_code == 404
    assert Export.objects.count() == 1


def test_beat_sweeps_the_exports_every_two_minutes(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["sweep-exports"]
    assert entry["task"] == "reports.sweep_exports"
    assert entry["schedule"].minute == set(range(0, 60, 2))
