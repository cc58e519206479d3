"""requirements.txt alone runs the product: a fresh virtualenv with only it starts Django and queues a task on Redis.

The development packages pull in more (pytest brings `packaging`, which kombu's Redis transport
needs), so a test run in the development virtualenv cannot see a runtime dependency that is
missing. This test installs requirements.txt alone from PyPI into a virtualenv under /tmp, kept
and keyed by the file's hash, so only the first run after a change pays for the download.
"""

import fcntl
import hashlib
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings

from campaign.tests.test_settings import A_KEY

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "requirements.txt"

SEND = """
import django, sys
django.setup()
from reports.tasks import cleanup_exports
cleanup_exports.apply_async(queue=sys.argv[1], ignore_result=True)
print("queued")
"""


def runtime_venv() -> Path:
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:16]
    venv = Path("/tmp") / f"vaccination-runtime-{digest}"
    python = venv / "bin" / "python"
    with open(f"{venv}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one install at a time; the others wait for it and reuse it
        if (venv / ".installed").exists():
            return python
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(REQUIREMENTS)],
            check=True,
            timeout=20 * 60,
        )
        (venv / ".installed").touch()
    return python


@pytest.mark.redis
def test_requirements_txt_alone_starts_the_project_and_queues_a_task_through_redis():
    python = runtime_venv()
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "campaign.settings",
        "SECRET_KEY": A_KEY,
        "REDIS_URL": settings.REDIS_URL,
    }
    pip_check = subprocess.run([str(python), "-m", "pip", "check"], capture_output=True, text=True)
    assert pip_check.returncode == 0, pip_check.stdout
    check = subprocess.run([str(python), "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    queue = f"test-runtime-{uuid.uuid4().hex[:8]}"
    broker = redis.Redis.from_url(settings.REDIS_URL)
    try:
        sent = subprocess.run(
            [str(python), "-c", SEND, queue], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
        assert sent.returncode == 0, sent.stderr
        assert broker.llen(queue) == 1  # the broker has the message
    finally:
        broker.delete(queue)
