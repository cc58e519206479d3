"""What `make run` does on a fresh machine, on the embedded default (SQLite, no Redis): migrate, load the
COVID demo and the measles demo beside it, and open their dashboards.

CI runs the suite on PostgreSQL; this test keeps the embedded path honest. A migration written in
PostgreSQL's SQL alone (jsonb functions) once broke `make run` while every other test passed.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import django, os
django.setup()
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from campaign.models import Campaign

assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
call_command("migrate", verbosity=0)
call_command("load_demo", residents=300, verbosity=0)
call_command("load_demo", campaign="measles", children_scale=0.05, verbosity=0)
from django.test.utils import setup_test_environment
setup_test_environment()  # the pages' context, and the test server's host
client = Client()
client.force_login(User.objects.get(username="office"))
for campaign in Campaign.objects.open():
    client.post("/campaign/choose/", {"campaign": campaign.pk})
    for url in ("/reports/", "/reports/weekly/", "/appointments/site/supply/", "/daily/"):
        status = client.get(url).status_code
        assert status == 200, (campaign.name, url, status)
    figures = client.get("/reports/").context["figures"]
    assert figures["dose1"] > 0, campaign.name
print("ok", Campaign.objects.open().count())
"""


def test_a_fresh_embedded_database_migrates_loads_both_demos_and_shows_their_dashboards(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "PYTEST_XDIST_WORKER")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="campaign.settings",
        DEBUG="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        SMS_BACKEND="campaign.lib.sms.locmem.LocmemBackend",
    )
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok 2")
