"""A pytest plugin (pytest.ini: `-p campaign.testing`), loaded before pytest-django reads the settings.

With DEBUG=0 the settings refuse the built-in development SECRET_KEY, and a test run is DEBUG=0 on
purpose (production's settings). So a test run brings a key of its own, unless SECRET_KEY is set;
the processes the tests start (a Celery worker) inherit it.

`make test` runs the suite in two processes (pytest-xdist). pytest-django gives each its own test
database; here each gets its own Redis database too (REDIS_URL's number plus 1 + the worker's
number), so that one process's Celery worker never takes the other's tasks and cache keys and
locks never meet.
"""

import os
import re

os.environ.setdefault("SECRET_KEY", "tests-only-key-never-used-to-sign-anything-on-a-server")


def _redis_url_of_worker(url: str, worker: str) -> str:
    """REDIS_URL for xdist worker "gw<n>": the same server, database <base> + 1 + n."""
    number = int(worker.removeprefix("gw"))
    match = re.match(r"^(redis://[^/]*)(?:/(\d+))?(\?.*)?$", url)
    if match is None:
        return url
    base = int(match.group(2) or 0)
    return f"{match.group(1)}/{base + 1 + number}{match.group(3) or ''}"


_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker.startswith("gw") and os.environ.get("REDIS_URL"):
    os.environ["REDIS_URL"] = _redis_url_of_worker(os.environ["REDIS_URL"], _worker)
