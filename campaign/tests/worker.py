"""A real Celery worker in a subprocess, on Redis and the test's PostgreSQL database."""

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def real_worker(queue: str, *, pool: str = "solo", include: str = "", **env):
    """Run `celery worker` on one queue while the block runs; extra environment variables in `env`.

    `pool="prefork"` runs one child process, as production does, for tests that kill a worker.
    `include` names a module the worker imports too (a test's hook, e.g. one that slows a task down).
    """
    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    command = [sys.executable, "-m", "celery", "-A", "campaign", "worker", f"--pool={pool}", "-Q", queue]
    if pool == "prefork":
        command.append("--concurrency=1")
    if include:
        command.append(f"--include={include}")
    command += ["--loglevel=WARNING", "--without-heartbeat", "--without-mingle", "--without-gossip"]
    worker = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url, "REDIS_URL": settings.REDIS_URL, **env},
    )
    try:
        yield worker
    finally:
        worker.terminate()
        worker.wait(timeout=30)
