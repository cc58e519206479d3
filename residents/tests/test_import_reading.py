"""An upload is read as a job: its page shows the share of rows read and ends on the preview (campaign.lib.jobs)."""

import datetime
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from residents.importing import services as importing
from residents.models import ImportBatch, Resident
from residents.tests.sheets import big_sheet, person, xlsx

pytestmark = pytest.mark.django_db


def uploaded(data, village, user, django_capture_on_commit_callbacks, name="名单.xlsx") -> ImportBatch:
    """A batch as a worker finds it: uploaded, its reading queued (on a broker) but not yet run."""
    from campaign.celery import app

    eager, app.conf.task_always_eager = app.conf.task_always_eager, False
    try:
        with django_capture_on_commit_callbacks(execute=False):
            return importing.import_upload(
                data=data, file_name=name, campaign=village.site.campaign, village=village, user=user
            )
    finally:
        app.conf.task_always_eager = eager


def progress(client, batch) -> dict:
    return json.loads(client.get(reverse("residents:import_progress", args=[batch.pk])).content)


def test_a_sheet_being_read_shows_its_progress_and_then_its_preview(
    client, cadre_qingshan, qingshan, django_capture_on_commit_callbacks
):
    data, _bad = big_sheet(2_500, bad=5)
    batch = uploaded(data, qingshan, cadre_qingshan, django_capture_on_commit_callbacks)
    client.force_login(cadre_qingshan)

    page = client.get(reverse("residents:import_preview", args=[batch.pk])).content.decode()
    assert 'data-testid="import-reading"' in page and 'data-testid="progress-bar"' in page
    assert "等待读取" in page
    assert progress(client, batch)["finished"] is False

    assert importing.import_read(batch_id=batch.pk) is True

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PREVIEWED
    assert (batch.progress_done, batch.progress_total) == (2_500, 2_500)  # reported by the judging itself
    status = progress(client, batch)
    assert status["finished"] is True and status["percent"] == 100
    page = client.get(reverse("residents:import_preview", args=[batch.pk])).content.decode()
    assert 'data-testid="count-new">2495<' in page and 'data-testid="count-error">5<' in page


def test_a_sheet_is_read_once_when_its_message_comes_twice(
    cadre_qingshan, qingshan, django_capture_on_commit_callbacks
):
    batch = uploaded(xlsx([person(1), person(2)]), qingshan, cadre_qingshan, django_capture_on_commit_callbacks)

    assert importing.import_read(batch_id=batch.pk) is True
    assert importing.import_read(batch_id=batch.pk) is False  # already read: nothing written again

    batch.refresh_from_db()
    assert batch.new_count == 2 and batch.status == ImportBatch.Status.PREVIEWED


def test_a_file_that_cannot_be_read_says_why_on_its_page_and_is_not_kept(
    client, cadre_qingshan, qingshan, django_capture_on_commit_callbacks
):
    batch = uploaded(b"%PDF-1.4 not a sheet", qingshan, cadre_qingshan, django_capture_on_commit_callbacks, "名单.pdf")

    importing.import_read(batch_id=batch.pk)

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.FAILED and batch.failure
    assert bytes(batch.content) == b""  # nothing to import, and perhaps personal data: dropped
    client.force_login(cadre_qingshan)
    page = client.get(reverse("residents:import_preview", args=[batch.pk])).content.decode()
    assert 'data-testid="import-failed"' in page and batch.failure in page
    confirm = client.post(reverse("residents:import_confirm", args=[batch.pk]))
    assert confirm.status_code == 302 and Resident.objects.count() == 0
    errors = client.get(reverse("residents:import_errors", args=[batch.pk]))
    assert errors.status_code == 302  # no error report of a file that was never read


def test_a_reading_whose_worker_died_is_started_again_by_its_page(
    client, cadre_qingshan, qingshan, django_capture_on_commit_callbacks
):
    batch = uploaded(xlsx([person(1)]), qingshan, cadre_qingshan, django_capture_on_commit_callbacks)
    client.force_login(cadre_qingshan)

    client.get(reverse("residents:import_preview", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.READING  # a fresh upload waits for its worker

    stalled = timezone.now() - importing.READING_STALLED - datetime.timedelta(seconds=1)
    ImportBatch.objects.filter(pk=batch.pk).update(uploaded_at=stalled)
    client.get(reverse("residents:import_preview", args=[batch.pk]))  # the tests' tasks run in-process
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PREVIEWED and batch.new_count == 1


def test_a_sheet_being_read_cannot_be_confirmed(client, cadre_qingshan, qingshan, django_capture_on_commit_callbacks):
    batch = uploaded(xlsx([person(1)]), qingshan, cadre_qingshan, django_capture_on_commit_callbacks)
    client.force_login(cadre_qingshan)

    response = client.post(reverse("residents:import_confirm", args=[batch.pk]))

    assert response.status_code == 302 and Resident.objects.count() == 0
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.READING


def test_another_users_reading_is_not_there(
    client, cadre_qingshan, cadre_honghe, qingshan, django_capture_on_commit_callbacks
):
    batch = uploaded(xlsx([person(1)]), qingshan, cadre_qingshan, django_capture_on_commit_callbacks)
    client.force_login(cadre_honghe)

    assert client.get(reverse("residents:import_progress", args=[batch.pk])).status_code == 404
    assert client.get(reverse("residents:import_preview", args=[batch.pk])).status_code == 404


def test_without_a_broker_an_unreadable_upload_is_refused_on_the_form_and_leaves_no_batch(client, cadre_qingshan):
    client.force_login(cadre_qingshan)

    response = client.post(reverse("residents:import"), {"file": SimpleUploadedFile("名单.xlsx", b"PK\x03\x04 broken")})

    assert response.status_code == 200 and "file" in response.context["form"].errors
    assert not ImportBatch.objects.exists()
