"""The probe's odd-input walk: every URL pattern, every role, odd parameters and bodies, never a 500.

The URL patterns come from the resolver and the parameters a page reads are recorded while it
runs (campaign.tests.probe.RecordingQueryDict), so a page added later is walked with the
parameters it really reads, without anyone listing them here.
"""

import logging
from urllib.parse import urlencode

import pytest
from django.test import Client

from campaign.roles import role_of
from campaign.tests import probe

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings):
    settings.MIDDLEWARE = ["campaign.tests.probe.RecordReadParameters", *settings.MIDDLEWARE]
    # Thousands of refused requests: their log lines would cost more time than the requests.
    quiet = logging.getLogger("django.request"), logging.getLogger("django.security")
    levels = [logger.level for logger in quiet]
    for logger in quiet:
        logger.setLevel(logging.CRITICAL)
    yield probe.load_demo()
    for logger, level in zip(quiet, levels, strict=True):
        logger.setLevel(level)


def _client(demo, persona) -> Client:
    client = Client(raise_request_exception=False)
    if persona:
        client.force_login(demo.users[persona])
    return client


def _shown(data) -> str:
    return urlencode({k: (v[:20] + "…" if len(v) > 20 else v) for k, v in data.items()})


def _failure(persona, method, path, data, response) -> str:
    error = response.exc_info[1] if getattr(response, "exc_info", None) else ""
    return f"{persona or 'anonymous'} {method} {path}?{_shown(data)} -> {response.status_code} {error!r:.200}"


def _stops_at_the_door(response) -> bool:
    """Refused before the view reads anything: login redirect, 403, 404 of the id, or the wrong method."""
    if response.status_code in (403, 404, 405):
        return True
    return response.status_code == 302 and "/login/" in response.get("Location", "")


def test_no_page_answers_odd_get_parameters_with_a_500(demo):
    failures, requests = [], 0
    fuzzed = set()  # (role, route): each parameter alone once per role (the doctor is a site team member)
    for persona in probe.PERSONAS:
        client = _client(demo, persona)
        role = role_of(demo.users[persona]) if persona else None
        for route in probe.routes():
            if route.name == "logout":
                continue  # walked last, by the POST walk
            paths = [probe.fill(route, probe.real_kwargs(route, demo, demo.own))]
            paths += [probe.fill(route, values) for values in probe.odd_kwargs(route, demo)]
            for index, path in enumerate(paths):
                probe.READ.clear()
                plain = client.get(path)
                requests += 1
                if plain.status_code >= 500:
                    failures.append(_failure(persona, "GET", path, {}, plain))
                if _stops_at_the_door(plain):
                    continue
                if index:
                    continue  # an id that names nothing: the plain request is the test
                # The admin is Django's own: fewer values, but its search and filters are ours.
                values = probe.ODD_VALUES[:6] if route.route.startswith("admin/") else probe.ODD_VALUES
                for value in values:
                    data = dict.fromkeys(probe.ODD_NAMES, value)
                    response = client.get(path, data)
                    requests += 1
                    if response.status_code >= 500:
                        failures.append(_failure(persona, "GET", path, data, response))
                if (role, route.name) in fuzzed or route.route.startswith("admin/"):
                    continue
                fuzzed.add((role, route.name))
                # Each parameter the page asked for, alone, so that one refused early hides no other.
                for name in sorted(probe.READ - {"*"}):
                    for value in probe.SHARP_VALUES:
                        response = client.get(path, {name: value})
                        requests += 1
                        if response.status_code >= 500:
                            failures.append(_failure(persona, "GET", path, {name: value}, response))
    print(f"{requests} GET requests")
    assert not failures, f"{len(failures)} of {requests} requests gave a 500:\n" + "\n".join(failures[:60])


ODD_BODY_VALUES = ["", "abc", "-1", "99999999999999999999", "0001-01-01", "²", "\x00", "9" * 3000]


def test_no_post_answers_an_empty_or_odd_body_with_a_500_and_a_refused_one_writes_nothing(demo):
    names = sorted({*probe.ODD_NAMES, *probe.plausible_body(demo, demo.own)})
    failures, requests = [], 0
    # Logging out ends the session: it goes last.
    routes = sorted(probe.routes(), key=lambda route: route.name in ("logout", "admin:logout"))
    # The office goes last: its admin deletes what the others would still walk.
    for persona in sorted(probe.PERSONAS, key=lambda persona: persona == "office"):
        client = _client(demo, persona)
        for route in routes:
            paths = [probe.fill(route, probe.real_kwargs(route, demo, demo.own))]
            paths += [probe.fill(route, values) for values in probe.odd_kwargs(route, demo)]
            for index, path in enumerate(paths):
                # The admin gets the empty body only: with odd fields, Django's own admin 500s (an empty
                # `_to_field` reaches Meta.get_field(""); simple_history's revert form reads ids unchecked).
                plain = index or route.route.startswith("admin/")
                bodies = [{}] if plain else [{}, *(dict.fromkeys(names, value) for value in ODD_BODY_VALUES)]
                for body in bodies:
                    with probe.writes() as written:
                        response = client.post(path, body)
                    requests += 1
                    if response.status_code >= 500:
                        failures.append(_failure(persona, "POST", path, body, response))
                    elif written and probe.refused(response):
                        failures.append(f"{_failure(persona, 'POST', path, body, response)} but wrote {written}")
                    if _stops_at_the_door(response):
                        break
    print(f"{requests} POST requests")
    assert not failures, f"{len(failures)} of {requests} requests:\n" + "\n".join(failures[:60])
