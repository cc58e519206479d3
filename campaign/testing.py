"""A pytest plugin (pytest.ini: `-p campaign.testing`), loaded before pytest-django reads the settings.

With DEBUG=0 the settings refuse the built-in development SECRET_KEY, and a test run is DEBUG=0 on
purpose (production's settings). So a test run brings a key of its own, unless SECRET_KEY is set;
the processes the tests start (a Celery worker) inherit it.
"""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-key-never-used-to-sign-anything-on-a-server")
