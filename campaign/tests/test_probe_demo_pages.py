"""Every page of the demo's own data opens for every role that may see it, and never gives a 500.

Records the tests make themselves hide what bulk-loaded data does: every resident the demo loader
inserts has no history row, and the resident page gave a 500 on that for every role.
"""

import pytest
from django.test import Client
from django.urls import reverse

from appointments.models import Appointment
from campaign.roles import Role, role_of
from campaign.tests import probe
from reports.models import WeeklyReport
from residents.models import Resident

pytestmark = pytest.mark.django_db

READERS = {Role.OFFICE, Role.SUPERVISION, Role.LEADERSHIP}


@pytest.fixture
def demo():
    return probe.load_demo()


def _expected(role, readers, village_id, site_id, demo):
    """200 for a role that may see the page (a cadre in their village, a site team at their site), else 403/404."""
    if role is None:
        return {302}
    if role not in readers:
        return {403}
    if role == Role.CADRE and (village_id or site_id):
        mine = village_id in (None, demo.own.village.pk) and site_id in (None, demo.own.site.pk)
        return {200} if mine else {404}
    if role == Role.SITE_TEAM and site_id:
        return {200} if site_id == demo.own.site.pk else {404}
    return {200}


def test_the_resident_page_opens_for_a_resident_with_no_history(demo):
    with_history = Resident.history.values("id")
    resident = Resident.objects.filter(village=demo.own.village).exclude(pk__in=with_history).first()
    assert resident is not None, "the demo loader inserts residents without a history row"
    client = Client()
    client.force_login(demo.users["office"])
    response = client.get(reverse("residents:detail", args=[resident.pk]))
    assert response.status_code == 200
    assert response.context["history"] == []


def test_every_demo_page_opens_for_every_role_never_a_500(demo):
    residents = [
        Resident.objects.filter(campaign=demo.campaign, status=status).order_by("pk").first()
        for status in Resident.Status.values
    ]
    residents = [r for r in residents if r is not None]
    appointments = [
        Appointment.objects.filter(resident__village=demo.own.village, status=status).first()
        for status in Appointment.Status.values
    ]
    appointments = [a for a in appointments if a is not None]
    # (url, roles that may read it, the village and site of the data shown, None when any)
    everyone = READERS | {Role.CADRE, Role.SITE_TEAM}
    slip_readers = {Role.OFFICE, Role.CADRE, Role.SITE_TEAM}
    pages = [
        (reverse("residents:detail", args=[r.pk]), READERS | {Role.CADRE}, r.village_id, r.village.site_id)
        for r in residents
    ]
    pages += [
        (reverse("daily:slip", args=[a.pk]), slip_readers, a.resident.village_id, a.site_id) for a in appointments
    ]
    for site in demo.campaign.sites.all():
        pages += [(f"{reverse('daily:list')}?site={site.pk}", everyone, None, site.pk)]
        pages += [(reverse("sites:watch", args=[site.pk]), READERS, None, site.pk)]
    for report in WeeklyReport.objects.filter(campaign=demo.campaign):
        pages += [(reverse("reports:weekly_detail", args=[str(report)]), READERS, None, None)]
    village = demo.own.village
    pages += [
        (reverse("plan:week") + f"?week={demo.plan.week_start.isoformat()}", READERS, None, None),
        (reverse("reports:dashboard"), READERS, None, None),
        (reverse("residents:village_home"), READERS | {Role.CADRE}, None, None),
        (f"{reverse('daily:village_slips')}?village={village.pk}", slip_readers, village.pk, village.site_id),
        (reverse("plan:village"), {Role.CADRE}, None, None),
        (reverse("sites:workstation"), {Role.SITE_TEAM}, None, None),
    ]
    failures, opened = [], 0
    for persona in probe.PERSONAS:
        client = Client(raise_request_exception=False)
        role = None
        if persona:
            client.force_login(demo.users[persona])
            role = role_of(demo.users[persona])
        for url, readers, village_id, site_id in pages:
            response = client.get(url)
            opened += 1
            expected = _expected(role, readers, village_id, site_id, demo)
            if response.status_code not in expected:
                failures.append(f"{persona} {url}: {response.status_code}, expected {sorted(expected)}")
    assert len(residents) == len(Resident.Status.values)
    assert not failures, f"{len(failures)} of {opened} pages:\n" + "\n".join(failures[:40])
