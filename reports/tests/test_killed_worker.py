"""A worker killed (SIGKILL) in the middle of an export: the export is built again and finishes."""

import os
import signal
import time
import uuid

import pytest

from campaign.celery import app
from campaign.tests.worker import real_worker
from reports.models import Export
from reports.services import export_request
from residents.tests.factories import ResidentFactory

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as handle:
        return [int(child) for child in handle.read().split()]


def wait_for(export, statuses, worker=None, seconds=60):
    deadline = time.monotonic() + seconds
    while True:
        export.refresh_from_db()
        if export.status in statuses:
            return export
        assert time.monotonic() < deadline, f"export still {export.status}"
        assert worker is None or worker.poll() is None, "the worker stopped"
        time.sleep(0.2)


@pytest.fixture
def own_queue(monkeypatch):
    queue = f"test-{uuid.uuid4().hex[:8]}"
    # The service enqueues on the default queue: point it at this test's own queue.
    monkeypatch.setitem(app.conf, "task_default_queue", queue)
    return queue


@pytest.fixture
def asked(office, qingshan):
    ResidentFactory.create_batch(3, village=qingshan)

    def ask():
        return export_request(user=office, kind=Export.Kind.RESIDENTS, params={"village": str(qingshan.pk)})

    return ask


def test_an_export_whose_worker_process_is_killed_mid_build_is_built_again_and_finishes(settings, own_queue, asked):
    # Prefork, as in production: the main process takes the message, a child builds the file.
    media = {"MEDIA_DIR": str(settings.MEDIA_ROOT)}
    with real_worker(own_queue, pool="prefork", include="reports.tests.slow_build", **media) as worker:
        export = wait_for(asked(), {Export.Status.RUNNING}, worker)
        (child,) = _children(worker.pid)
        os.kill(child, signal.SIGKILL)  # the build dies: no rollback, no acknowledgement
        # The worker rejects the lost task's message; the broker hands it out again, marked redelivered.
        export = wait_for(export, {Export.Status.DONE, Export.Status.FAILED}, worker)
    assert (export.status, export.row_count, export.attempts) == (Export.Status.DONE, 3, 2), export.error
    assert export.file.storage.exists(export.file.name)


def test_an_export_whose_whole_worker_is_killed_is_finished_by_the_next_worker(settings, own_queue, asked):
    media = {"MEDIA_DIR": str(settings.MEDIA_ROOT)}
    # Redis gives an unacknowledged message to another worker after the visibility timeout: 2 s here.
    fast_redelivery = {"CELERY_VISIBILITY_TIMEOUT": "2", **media}
    with real_worker(own_queue, pool="prefork", include="reports.tests.slow_build", **fast_redelivery) as worker:
        export = wait_for(asked(), {Export.Status.RUNNING}, worker)
        for pid in _children(worker.pid):
            os.kill(pid, signal.SIGKILL)
        worker.kill()  # SIGKILL the whole worker, child first: nothing is acknowledged or rejected
        worker.wait(timeout=10)
    assert Export.objects.get(pk=export.pk).status == Export.Status.RUNNING  # what stayed stuck before
    time.sleep(3)  # past the visibility timeout: the next worker takes the message back on start
    with real_worker(own_queue, include="reports.tests.slow_build", **fast_redelivery) as worker:
        export = wait_for(export, {Export.Status.DONE, Export.Status.FAILED}, worker)
    assert (export.status, export.row_count, export.attempts) == (Export.Status.DONE, 3, 2), export.error
