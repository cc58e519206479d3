"""The probe's scope crawl: a village cadre and a site team, on every URL pattern, with another
village's or site's objects: 404 or 403, and nothing of the other village written."""

import pytest
from django.test import Client

from appointments.models import Appointment
from campaign.tests import probe
from residents.models import Resident
from sites.models import AdverseEvent, PreScreening, Vaccination

pytestmark = pytest.mark.django_db

SCOPED = ["cadre_qingshan", "site_centre", "doctor_centre"]
REFUSED = {403, 404, 405}


@pytest.fixture
def demo():
    return probe.load_demo()


def _other_rows(demo) -> list:
    """Every row of the other village (residents, bookings, doses, screenings, events), as stored."""
    village = demo.other.village
    rows = []
    for model, lookup in [
        (Resident, "village"),
        (Appointment, "resident__village"),
        (Vaccination, "resident__village"),
        (PreScreening, "appointment__resident__village"),
        (AdverseEvent, "vaccination__resident__village"),
    ]:
        rows += [
            (model.__name__, *row) for row in model.objects.filter(**{lookup: village}).order_by("pk").values_list()
        ]
    return rows


def _names_of_other(demo, persona) -> list[str]:
    """What must not appear on a page for this persona: the other village, or the other site."""
    return [demo.other.village.name] if persona.startswith("cadre") else [demo.other.site.name]


def test_another_villages_or_sites_objects_are_404_or_403_and_nothing_is_written(demo):
    failures, requests = [], 0
    other = demo.other
    body = probe.plausible_body(demo, other)
    routes = [route for route in probe.routes() if route.name not in ("logout", "admin:logout")]
    for persona in SCOPED:
        client = Client(raise_request_exception=False)
        client.force_login(demo.users[persona])
        for route in routes:
            if route.params:
                path = probe.fill(route, probe.real_kwargs(route, demo, other))
                query = {}
            else:
                path = route.route and "/" + route.route
                query = {"village": other.village.pk, "site": other.site.pk}
            before_counts, before_rows = probe.row_counts(), _other_rows(demo)
            response = client.get(path, query)
            posted = client.post(path + "?" + "&".join(f"{k}={v}" for k, v in query.items()), body)
            requests += 2
            if probe.is_public(route):
                # Open to anyone by design (a QR link names any village); a phone's family member is
                # refused to other phones (appointments/tests/test_public_pages.py).
                for method, answer in (("GET", response), ("POST", posted)):
                    if answer.status_code >= 500:
                        failures.append(f"{persona} {method} {path}: {answer.status_code}")
            elif route.params and not route.route.startswith("admin/r/"):
                for method, answer in (("GET", response), ("POST", posted)):
                    if answer.status_code not in REFUSED and not (
                        answer.status_code == 302 and "/login/" in answer["Location"]
                    ):
                        failures.append(f"{persona} {method} {path}: {answer.status_code}, expected 403/404")
            else:
                for method, answer in (("GET", response), ("POST", posted)):
                    if answer.status_code >= 500:
                        failures.append(f"{persona} {method} {path}: {answer.status_code}")
                    elif route.name == "sites:scan":
                        continue  # scanning someone booked elsewhere says where, in red: by design, nothing written
                    elif route.name == "sites:supply_transfer":
                        continue  # the sites a team may send vials to are listed by name: by design, nothing written
                    elif answer.status_code == 200 and answer.get("Content-Type", "").startswith("text/html"):
                        shown = [name for name in _names_of_other(demo, persona) if name in answer.content.decode()]
                        if shown:
                            failures.append(f"{persona} {method} {path}?{query}: shows {shown}")
            if _other_rows(demo) != before_rows:
                failures.append(f"{persona} {path}: the other village's rows changed")
            if route.params and probe.row_counts() != before_counts:
                failures.append(f"{persona} {path}: rows were written")
    print(f"{requests} scope requests")
    assert not failures, f"{len(failures)} of {requests} requests:\n" + "\n".join(failures[:60])
