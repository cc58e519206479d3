"""Redis is a cache and a queue, not a single point of failure: a site keeps vaccinating with Redis stopped.

A Redis of the test's own (its own port) is the cache, the session cache and the broker; the test
logs in, stops it, and uses the real pages: still logged in, a new login, every page of each role,
the site workstation's scan → 预检 → 接种 → 离开, and an export that cannot be queued (built in the
web process instead).
"""

import datetime
import time

import pytest
import redis
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from appointments.models import Appointment
from appointments.services import appointment_book_pair
from campaign.tests.redis_server import project_on_own_redis
from reports.models import Export
from reports.services import export_sweep
from residents.tests.factories import ResidentFactory
from sites.capacity import site_days_ensure
from sites.models import PreScreening, Vaccination

PASSWORD = "pass-for-tests"  # campaign.tests.factories.UserFactory
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def own_redis(settings):
    """The project's cache and broker on a Redis of this test's own; restored afterwards."""
    with project_on_own_redis(settings) as server:
        yield server


def login(username) -> Client:
    client = Client()
    response = client.post(reverse("login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302, f"{username} could not log in: {response.status_code}"
    return client


def plain_urls() -> list[str]:
    """Every page of the project that takes no argument (its list pages, forms, dashboards)."""
    urls = []

    def walk(patterns, prefix, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}:{pattern.namespace}" if pattern.namespace else namespace
                if pattern.app_name == "admin":
                    continue  # the admin: its own test suite; its index is walked below
                walk(pattern.url_patterns, prefix + str(pattern.pattern), inner.strip(":"))
            elif isinstance(pattern, URLPattern) and pattern.name and not pattern.pattern.converters:
                name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                urls.append(reverse(name))

    walk(get_resolver().url_patterns, "", "")
    return [url for url in urls if not url.endswith("/logout/")] + ["/admin/"]


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def booked(honghe, qingshan, today):
    site_days_ensure(campaign=honghe.campaign)
    resident = ResidentFactory(village=honghe, name="张三丰")
    return appointment_book_pair(resident=resident, day=today)[0]


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_with_redis_stopped_people_stay_logged_in_log_in_use_every_page_and_the_site_vaccinates(
    own_redis, booked, site_team_jiangdian, office, supervisor, leader, cadre_qingshan, caplog
):
    team = login("site_jiangdian")
    assert team.get(reverse("sites:workstation")).status_code == 200
    office_client = login("office")
    # The session is in Redis and in the database; the user and the role are cached in Redis too.
    assert own_redis.process.poll() is None and redis.Redis.from_url(own_redis.url).dbsize() > 0

    own_redis.stop()

    # Already logged in: still logged in.
    assert team.get(reverse("sites:workstation")).status_code == 200
    assert office_client.get(reverse("reports:dashboard")).status_code == 200
    # Logging in works, for every role.
    clients = {"office": office_client, "site_jiangdian": team}
    for username in ("supervisor", "leader", "cadre_qingshan"):
        clients[username] = login(username)
    assert login("site_jiangdian").get(reverse("sites:workstation")).status_code == 200

    # Every page without arguments, for every role: no 500 (403 and 404 are the role's answer).
    answers = {}
    for username, client in clients.items():
        for url in plain_urls():
            status = client.get(url).status_code
            answers[(username, url)] = status
    assert not [key for key, status in answers.items() if status >= 500]
    assert answers[("office", reverse("reports:dashboard"))] == 200
    assert answers[("cadre_qingshan", reverse("residents:village_home"))] == 200
    assert answers[("site_jiangdian", reverse("sites:workstation"))] == 200

    # The site workstation: scan the slip, 预检, 接种, 离开.
    scanned = team.post(reverse("sites:scan"), {"q": booked.token}, **HX)
    assert scanned.status_code == 200
    assert Appointment.objects.get(pk=booked.pk).status == Appointment.Status.ARRIVED
    screened = team.post(reverse("sites:screen", args=[booked.pk]), {"temperature": "36.6", "consent": "on"}, **HX)
    assert screened.status_code == 200
    assert PreScreening.objects.get(appointment=booked).outcome == PreScreening.Outcome.CLEARED
    shot = team.post(
        reverse("sites:vaccinate", args=[booked.pk]), {"lot_number": "202611A01", "injection_site": "left_arm"}, **HX
    )
    assert shot.status_code == 200
    vaccination = Vaccination.objects.get(resident=booked.resident)
    released = team.post(reverse("sites:release", args=[vaccination.pk]), **HX)
    assert released.status_code == 204
    vaccination.refresh_from_db()
    assert vaccination.released_at is not None

    # An export asked for now cannot be queued: it is built in the web process, never a 500, and its
    # page (polling its progress) ends on the file (reports/tests/test_broker_down.py).
    asked = office_client.post(reverse("reports:export_residents"), {})
    assert asked.status_code == 302
    export = Export.objects.get()
    assert "could not queue reports.build_export" in caplog.text
    assert "Error calling" not in caplog.text  # the robust on_commit never even had to catch it
    progress = reverse("reports:export_progress", args=[export.pk])
    deadline = time.monotonic() + 30
    while not office_client.get(progress).json()["finished"]:
        assert time.monotonic() < deadline, "the export built in-process did not finish"
        time.sleep(0.1)
    export.refresh_from_db()
    assert export.status == Export.Status.DONE
    # Fresh progress figures need no button and no worker (reports/tests/test_freshness.py shows a dose
    # moving the dashboard with Redis stopped).

    # Redis is back (empty, as after a crash): the sweep has nothing left to queue.
    own_redis.start()
    later = timezone.now() + datetime.timedelta(minutes=3)
    assert export_sweep(now=later) == {"queued": 0, "failed": 0}
    assert redis.Redis.from_url(own_redis.url).llen("celery") == 0
    # And the pages are fine with Redis back.
    assert team.get(reverse("sites:workstation")).status_code == 200
    assert office_client.get(reverse("reports:export_detail", args=[export.pk])).status_code == 200
