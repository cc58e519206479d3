import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from campaign.tasks import ping

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_a_task_runs_in_process_without_a_broker(qingshan):
    assert ping.delay().get(timeout=5) == {"campaign": qingshan.campaign.name, "villages": 1}


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_task_runs_through_a_real_worker_on_redis(qingshan):
    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    queue = f"test-{uuid.uuid4().hex[:8]}"
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "campaign",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "--loglevel=WARNING",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url, "REDIS_URL": settings.REDIS_URL},
    )
    try:
        result = ping.apply_async(queue=queue)
        assert result.get(timeout=60) == {"campaign": qingshan.campaign.name, "villages": 1}
    finally:
        worker.terminate()
        worker.wait(timeout=30)
