"""The shipped production server: gunicorn with gunicorn.conf.py serves the product (`make serve`)."""

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
PORT = 18191


def _get(path: str):
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}{path}", timeout=5) as response:  # noqa: S310
        return response.status, dict(response.headers), response.read().decode()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_gunicorn_serves_the_login_page_and_logs_no_query_string(tmp_path):
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/"
        f"{db['NAME']}",
        "DEBUG": "0",
        "GUNICORN_BIND": f"127.0.0.1:{PORT}",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_ACCESS_LOG": str(tmp_path / "access.log"),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "campaign.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, headers, body = _get("/accounts/login/?next=/residents/%3Fq%3D13912345678")
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        assert status == 200
        assert "登录" in body
        assert "no-store" in headers["Cache-Control"]
        assert "Content-Security-Policy" in headers
        # Static files come from the same server (whitenoise), with long caching.
        static_status, static_headers, _ = _get("/static/vendor/bootstrap/css/bootstrap.min.css")
        assert static_status == 200
        assert "max-age" in static_headers["Cache-Control"]
    finally:
        server.terminate()
        server.wait(timeout=30)
    log = (tmp_path / "access.log").read_text()
    assert '"GET /accounts/login/"' in log
    assert "13912345678" not in log
