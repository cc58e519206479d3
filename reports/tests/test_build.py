"""The build task: claimed once, safe to run twice, failures recorded."""

import subprocess
import sys
from unittest import mock

from django.conf import settings as django_settings
from django.utils import timezone

from reports.models import Export
from reports.services import export_request
from reports.tasks import build_export
from reports.tests.factories import ExportFactory
from residents.tests.factories import ResidentFactory


def test_the_build_task_is_registered_in_any_process_that_loads_django_not_only_in_a_worker():
    """export_request enqueues the build by its name: a shell or command that never imported
    reports.tasks must still find it (with tasks run in-process, a missing task would build nothing)."""
    check = (
        "import django, sys; django.setup(); from campaign.celery import app; from reports.services import "
        "BUILD_EXPORT_TASK; print(BUILD_EXPORT_TASK in app.tasks)"
    )
    out = subprocess.run(
        [sys.executable, "-c", check], cwd=django_settings.BASE_DIR, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "True"


def test_a_request_enqueues_the_build_once_committed(office, qingshan, django_capture_on_commit_callbacks):
    with mock.patch("reports.services.enqueue_or_run_here") as send:
        with django_capture_on_commit_callbacks() as callbacks:
            export = export_request(user=office, kind=Export.Kind.RESIDENTS, params={})
            send.assert_not_called()  # not before the row is committed: a worker could not find it
        for callback in callbacks:
            callback()
    (task, export_id), _ = send.call_args
    assert (send.call_count, task.name, export_id) == (1, build_export.name, export.pk)


def exported_files(settings):
    folder = settings.MEDIA_ROOT / "exports"
    return sorted(path for path in folder.rglob("*") if path.is_file()) if folder.exists() else []


def test_running_the_task_twice_builds_one_file_and_stays_done(settings, office, qingshan):
    ResidentFactory.create_batch(2, village=qingshan)
    export = export_request(user=office, kind=Export.Kind.RESIDENTS, params={})  # queued, not yet run
    assert build_export.delay(export.pk).get() is True
    export.refresh_from_db()
    first = (export.status, export.file.name, export.finished_at)
    assert build_export.delay(export.pk).get() is False
    export.refresh_from_db()
    assert (export.status, export.file.name, export.finished_at) == first
    assert export.status == Export.Status.DONE and export.row_count == 2
    assert [path.name for path in exported_files(settings)] == [export.file.name.rsplit("/", 1)[-1]]


def test_the_task_takes_the_id_only_and_has_a_name_and_limits():
    assert build_export.name == "reports.build_export"
    assert build_export.acks_late is True
    assert build_export.soft_time_limit < build_export.time_limit


def test_a_task_for_an_export_that_is_gone_does_nothing(db):
    assert build_export.delay(987654).get() is False


def test_a_failed_build_is_recorded_with_its_error_and_leaves_no_file(settings, office, qingshan):
    ResidentFactory(village=qingshan)
    export = export_request(user=office, kind=Export.Kind.RESIDENTS, params={})
    with mock.patch("reports.services.write_roster", side_effect=OSError("disk full")):
        build_export.delay(export.pk).get()
    export.refresh_from_db()
    assert export.status == Export.Status.FAILED
    assert export.error == "OSError: disk full"
    assert export.finished_at is not None and not export.file
    assert exported_files(settings) == []


def test_a_build_that_lost_its_claim_keeps_no_file(settings, office, qingshan):
    """The job was failed as lost while it was still building: its file is not kept."""
    ResidentFactory(village=qingshan)
    export = export_request(user=office, kind=Export.Kind.RESIDENTS, params={})
    from reports import services

    real = services._build_roster

    def build_then_lose_claim(export_, **kwargs):
        result = real(export_, **kwargs)
        Export.objects.filter(pk=export_.pk).update(
            status=Export.Status.FAILED, error="lost", finished_at=timezone.now()
        )
        return result

    with mock.patch("reports.services._build_roster", side_effect=build_then_lose_claim):
        services.export_build(export_id=export.pk)
    export.refresh_from_db()
    assert export.status == Export.Status.FAILED and not export.file
    assert exported_files(settings) == []


def test_a_running_export_is_not_claimed_again(office, qingshan):

    export = ExportFactory(
        campaign=qingshan.campaign, requested_by=office, status=Export.Status.RUNNING, started_at=timezone.now()
    )
    assert build_export.delay(export.pk).get() is False
