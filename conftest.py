"""Personas and service guards shared by every test.

Tests marked `postgres` or `redis` need the real service. Without it they skip
on a developer's embedded run, and fail in CI (CI=true or REQUIRE_SERVICES=1):
CI never passes by skipping.
"""

import os

import pytest
from celery._state import _set_task_join_will_block
from django.conf import settings
from django.db import connection

# Playwright's sync API runs an event loop in the test thread; Django's ORM is still used synchronously there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SERVICES_REQUIRED = os.environ.get("CI", "").lower() in ("1", "true") or os.environ.get("REQUIRE_SERVICES") == "1"


def _missing(reason: str):
    if SERVICES_REQUIRED:
        pytest.fail(f"{reason} (CI requires every service)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _service_guard(request):
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        _missing("needs PostgreSQL: set DATABASE_URL")
    if request.node.get_closest_marker("redis"):
        if not settings.REDIS_URL:
            _missing("needs Redis: set REDIS_URL")
        import redis

        try:
            redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
        except redis.RedisError as error:
            pytest.fail(f"REDIS_URL is set but Redis does not answer: {error}", pytrace=False)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, and before it is dropped, a wait for other sessions on it to end.

    A Celery worker that a test stopped (or killed on purpose) closes its connection a moment
    later; dropping the database while it lingers only warned "being accessed by other users".
    """
    yield
    if connection.vendor != "postgresql":
        return
    import time

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        others = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            cursor.execute(others)
            if not cursor.fetchall():
                return
            time.sleep(0.2)
        cursor.execute(f"SELECT pg_terminate_backend(pid) FROM ({others}) AS lingering")  # noqa: S608


@pytest.fixture(autouse=True)
def _fast_and_in_process(settings, request):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Messages collect in campaign.lib.sms.outbox (Django's mail.outbox, for SMS).
    settings.SMS_BACKEND = "campaign.lib.sms.locmem.LocmemBackend"
    # Messages go at any hour of a test run; the quiet-hours tests set them.
    settings.SMS_QUIET_HOURS = None
    from campaign.lib import sms

    sms.outbox.clear()
    from campaign.celery import app

    # Tasks run in-process unless a test is about the real worker.
    eager = request.node.get_closest_marker("redis") is None
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = eager or previous
    yield
    app.conf.task_always_eager = previous
    # Celery keeps "a task is running here, joining would block" in one global that apply_async in eager
    # mode sets and restores around the call: tasks queued from several threads at once (the concurrency
    # tests' bookings queue their confirmations) can leave it set, and the next test's result.get() fails.
    _set_task_join_will_block(False)


# Personas, named for their access.
@pytest.fixture
def campaign(db):
    from campaign.tests.factories import CampaignFactory

    return CampaignFactory()


@pytest.fixture
def site_jiangdian(campaign):
    from campaign.tests.factories import SiteFactory

    return SiteFactory(campaign=campaign, name="江店体育馆接种点", short_name="江店体育馆")


@pytest.fixture
def site_centre(campaign):
    from campaign.tests.factories import SiteFactory

    return SiteFactory(campaign=campaign, name="梅山社区卫生服务中心疫苗接种点", short_name="卫生服务中心")


@pytest.fixture
def qingshan(site_centre):
    from campaign.tests.factories import VillageFactory

    return VillageFactory(site=site_centre, name="青山社区", kind="community", population=12800, quota=5120)


@pytest.fixture
def honghe(site_jiangdian):
    from campaign.tests.factories import VillageFactory

    return VillageFactory(site=site_jiangdian, name="红河社区", kind="community", population=13400, quota=5360)


@pytest.fixture
def cadre_qingshan(qingshan):
    from campaign.roles import Role
    from campaign.tests.factories import user_with_role

    return user_with_role(Role.CADRE, village=qingshan, username="cadre_qingshan")


@pytest.fixture
def cadre_honghe(honghe):
    from campaign.roles import Role
    from campaign.tests.factories import user_with_role

    return user_with_role(Role.CADRE, village=honghe, username="cadre_honghe")


@pytest.fixture
def site_team_jiangdian(site_jiangdian):
    from campaign.roles import Role
    from campaign.tests.factories import user_with_role

    return user_with_role(Role.SITE_TEAM, site=site_jiangdian, username="site_jiangdian")


@pytest.fixture
def site_team_centre(site_centre):
    from campaign.roles import Role
    from campaign.tests.factories import user_with_role

    return user_with_role(Role.SITE_TEAM, site=site_centre, username="nurse_centre")


@pytest.fixture
def office(campaign):
    from campaign.roles import Role
    from campaign.tests.factories import user_with_role

    return user_with_role(Role.OFFICE, username="office", is_staff=True)


@pytest.fixture
def supervisor(campaign):
    from campaign.roles import Role
    from campaign.tests.factories import user_with_role

    return user_with_role(Role.SUPERVISION, username="supervisor")


@pytest.fixture
def leader(campaign):
    from campaign.roles import Role
    from campaign.tests.factories import user_with_role

    return user_with_role(Role.LEADERSHIP, username="leader")
