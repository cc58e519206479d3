"""A real worker builds the export in its own process; the page's endpoint, in this one, reads its progress."""

import time
import uuid

import pytest
from django.urls import reverse

from campaign.celery import app
from campaign.tests.worker import real_worker
from reports.models import Export
from reports.services import export_request
from reports.tests.test_export_progress import residents_of


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_progress_a_worker_writes_is_read_back_by_the_page_in_another_process(
    client, settings, monkeypatch, office, qingshan
):
    residents_of(qingshan, 1000)
    queue = f"test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(app.conf, "task_default_queue", queue)  # this test's own queue
    client.force_login(office)
    seen = []
    with real_worker(queue, include="reports.tests.slow_progress", MEDIA_DIR=str(settings.MEDIA_ROOT)):
        export = export_request(user=office, kind=Export.Kind.RESIDENTS, params={"village": str(qingshan.pk)})
        url = reverse("reports:export_progress", args=[export.pk])
        deadline = time.monotonic() + 90
        while not seen or not seen[-1]["finished"]:
            assert time.monotonic() < deadline, f"not finished: {seen[-1:]}"
            seen.append(client.get(url).json())
            time.sleep(0.05)

    assert seen[-1]["status"] == "done"
    running = [state for state in seen if state["status"] == "running" and state["total"] == 1000]
    between = sorted({state["done"] for state in running if 0 < state["done"] < 1000})
    assert len(between) >= 3, between  # the steps of the build, as they went by
    assert [state["done"] for state in running] == sorted(state["done"] for state in running)
    assert all(state["percent"] == state["done"] * 100 // 1000 for state in running)
