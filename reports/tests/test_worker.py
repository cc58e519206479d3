import time
import uuid

import pytest

from campaign.celery import app
from campaign.tests.worker import real_worker
from reports.models import Export
from reports.services import export_request
from reports.tests.helpers import column, open_roster
from residents.tests.factories import ResidentFactory


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_an_export_is_built_by_a_real_worker_on_redis(settings, monkeypatch, office, qingshan):
    ResidentFactory.create_batch(3, village=qingshan)
    queue = f"test-{uuid.uuid4().hex[:8]}"
    # The service enqueues on the default queue: point it at this test's own queue.
    monkeypatch.setitem(app.conf, "task_default_queue", queue)
    # The worker writes where this test reads.
    with real_worker(queue, MEDIA_DIR=str(settings.MEDIA_ROOT)):
        export = export_request(user=office, kind=Export.Kind.RESIDENTS, params={"village": str(qingshan.pk)})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            export.refresh_from_db()
            if export.is_finished:
                break
            time.sleep(0.2)
        assert export.status == Export.Status.DONE, export.error
        assert export.row_count == 3
        _sheet, _title, _note, headers, rows = open_roster(export)
        assert {cell.value for cell in column(headers, rows, "村（社区）")} == {"青山社区"}
