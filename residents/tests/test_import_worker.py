import json
import time
import uuid

import pytest
from django.urls import reverse

from campaign.celery import app
from campaign.tests.worker import real_worker
from residents.importing import services as importing
from residents.models import ImportBatch
from residents.tests.sheets import big_sheet


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_an_upload_is_read_by_a_real_worker_and_its_page_follows_the_share_read(
    client, monkeypatch, cadre_qingshan, qingshan
):
    queue = f"test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(app.conf, "task_default_queue", queue)  # this test's own queue
    data, _bad = big_sheet(4_000, bad=4)
    client.force_login(cadre_qingshan)
    with real_worker(queue):
        # A broker, so the upload is queued and the page answers at once.
        monkeypatch.setitem(app.conf, "task_always_eager", False)
        batch = importing.import_upload(
            data=data, file_name="青山社区.xlsx", campaign=qingshan.site.campaign, village=qingshan, user=cadre_qingshan
        )
        seen = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            status = json.loads(client.get(reverse("residents:import_progress", args=[batch.pk])).content)
            seen.append(status["percent"])
            if status["finished"]:
                break
            time.sleep(0.1)
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PREVIEWED and (batch.new_count, batch.error_count) == (3_996, 4)
    assert seen[-1] == 100 and seen == sorted(seen)  # the share only grows, and ends whole
    page = client.get(reverse("residents:import_preview", args=[batch.pk])).content.decode()
    assert 'data-testid="count-new">3996<' in page
