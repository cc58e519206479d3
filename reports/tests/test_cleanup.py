"""Old export files go; the rows stay as the record of who exported what."""

import datetime
import os

from django.conf import settings as project_settings
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone

from reports.models import Export
from reports.services import export_cleanup
from reports.tests.factories import ExportFactory


def done_export(campaign, user, *, days_ago: float):
    when = timezone.now() - datetime.timedelta(days=days_ago)
    export = ExportFactory(
        campaign=campaign,
        requested_by=user,
        requested_at=when,
        status=Export.Status.DONE,
        started_at=when,
        finished_at=when,
        row_count=1,
        filename="青山社区居民花名册.xlsx",
    )
    export.file.save(f"roster-{export.pk}.xlsx", ContentFile(b"xlsx"), save=True)
    return export


def test_cleanup_drops_files_older_than_7_days_and_keeps_their_rows(office, qingshan):
    old = done_export(qingshan.campaign, office, days_ago=8)
    fresh = done_export(qingshan.campaign, office, days_ago=6)
    old_path = old.file.path
    assert export_cleanup() == {"files_deleted": 1}
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert not old.file and old.file_deleted_at is not None
    assert old.requested_by == office and old.status == Export.Status.DONE  # the record stays
    assert not os.path.exists(old_path)
    assert fresh.file and fresh.file.storage.exists(fresh.file.name)


def test_cleanup_run_twice_deletes_nothing_more(office, qingshan):
    done_export(qingshan.campaign, office, days_ago=9)
    export_cleanup()
    assert export_cleanup() == {"files_deleted": 0}


def test_cleanup_survives_a_file_already_gone(office, qingshan):
    old = done_export(qingshan.campaign, office, days_ago=9)
    old.file.storage.delete(old.file.name)
    assert export_cleanup()["files_deleted"] == 1


def test_cleanup_runs_once_a_day_from_beat_in_shanghai_time():
    entry = project_settings.CELERY_BEAT_SCHEDULE["cleanup-exports"]
    assert entry["task"] == "reports.cleanup_exports"
    assert entry["schedule"].hour == {3} and entry["schedule"].minute == {30}
    assert project_settings.CELERY_TIMEZONE == "Asia/Shanghai"


def test_the_task_and_the_command_run_the_same_cleanup(office, qingshan, capsys):
    from reports.tasks import cleanup_exports

    done_export(qingshan.campaign, office, days_ago=10)
    done_export(qingshan.campaign, office, days_ago=3)
    call_command("cleanup_exports", "--days", "5")
    assert "1 export file(s) deleted" in capsys.readouterr().out
    assert cleanup_exports.delay().get() == {"files_deleted": 0}
    assert Export.objects.exclude(file="").count() == 1
