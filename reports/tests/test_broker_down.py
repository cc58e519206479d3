"""With Redis configured but down, an export is built in the web process and its page still ends on the file.

The broker that cannot be reached is either Celery's send raising as it does when Redis refuses
the connection, or a redis-server of the test's own, stopped. PostgreSQL: the build's thread and
the requests work side by side, which the tests' SQLite (one in-memory database shared under table
locks, "database table is locked") does not allow; a broker, up or down, comes with PostgreSQL.
"""

import time
from unittest import mock

import pytest
from django.test import Client
from django.urls import reverse
from kombu.exceptions import OperationalError

from campaign.tests.redis_server import project_on_own_redis
from reports.models import Export
from reports.tasks import build_export
from residents.tests.factories import ResidentFactory

# Ports of this module's own (campaign.tests.redis_server hands out 16400-16409 to other tests).
REDIS_PORT = 18131


def dead_broker(*args, **kwargs):
    raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


def followed_to_the_end(client, export, seconds=30):
    """Poll the export's JSON progress as its page does, until it is finished; returns every state read."""
    seen = []
    deadline = time.monotonic() + seconds
    while not seen or not seen[-1]["finished"]:
        assert time.monotonic() < deadline, f"still not finished: {seen[-1:]}"
        response = client.get(reverse("reports:export_progress", args=[export.pk]))
        assert response.status_code == 200
        seen.append(response.json())
        time.sleep(0.05)
    return seen


def ask_for_a_roster(client, village) -> Export:
    response = client.post(reverse("reports:export_residents"), {"village": village.pk})
    export = Export.objects.get()
    assert response.status_code == 302 and response.url == reverse("reports:export_detail", args=[export.pk])
    return export


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_the_export_is_built_in_this_process_and_its_page_ends_on_the_file(
    client, office, qingshan, caplog
):
    ResidentFactory.create_batch(3, village=qingshan)
    client.force_login(office)
    with mock.patch.object(build_export, "apply_async", side_effect=dead_broker):
        export = ask_for_a_roster(client, qingshan)

    seen = followed_to_the_end(client, export)
    assert (seen[-1]["status"], seen[-1]["done"], seen[-1]["total"]) == ("done", 3, 3)
    assert "could not queue reports.build_export" in caplog.text
    assert f"running reports.build_export({export.pk},) in this process" in caplog.text
    # What the page's script swaps in once finished: the download.
    fragment = client.get(reverse("reports:export_status", args=[export.pk])).content.decode()
    assert reverse("reports:export_download", args=[export.pk]) in fragment
    assert client.get(reverse("reports:export_download", args=[export.pk])).status_code == 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_build_that_fails_in_this_process_ends_failed_on_its_page_with_the_reason_for_the_office(
    client, office, qingshan
):
    ResidentFactory.create_batch(2, village=qingshan)
    client.force_login(office)
    with (
        mock.patch.object(build_export, "apply_async", side_effect=dead_broker),
        mock.patch("reports.services.write_roster", side_effect=OSError(28, "No space left on device")),
    ):
        export = ask_for_a_roster(client, qingshan)
        seen = followed_to_the_end(client, export)
    assert seen[-1]["status"] == "failed"
    fragment = client.get(reverse("reports:export_status", args=[export.pk])).content.decode()
    assert 'data-testid="export-failed"' in fragment and "No space left on device" in fragment


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_with_redis_stopped_an_export_asked_on_the_page_ends_on_its_file(settings, office, qingshan, caplog):
    ResidentFactory.create_batch(3, village=qingshan)
    with project_on_own_redis(settings, port=REDIS_PORT) as redis:
        client = Client()
        client.force_login(office)
        redis.stop()
        export = ask_for_a_roster(client, qingshan)
        seen = followed_to_the_end(client, export)
    assert (seen[-1]["status"], seen[-1]["done"]) == ("done", 3)
    assert "could not queue reports.build_export" in caplog.text
    assert client.get(reverse("reports:export_download", args=[export.pk])).status_code == 200
