"""A new adverse event shows in the top bar for the office and the site's doctor until one of them opens it."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from campaign.roles import SITE_DOCTOR_GROUP, Role
from campaign.tests.factories import user_with_role
from residents.tests.factories import ResidentFactory
from sites.selectors import adverse_events_to_open
from sites.services import adverse_event_report
from sites.tests.factories import VaccinationFactory

pytestmark = pytest.mark.django_db


def doctor_of(site, username):
    user = user_with_role(Role.SITE_TEAM, site=site, username=username)
    user.groups.add(Group.objects.get(name=SITE_DOCTOR_GROUP))
    return user


@pytest.fixture
def doctor_centre(site_centre):
    return doctor_of(site_centre, "doctor_centre")


@pytest.fixture
def reported(qingshan, site_team_centre):
    """A reaction reported at the centre by its nurse, through the service the site's form calls."""
    vaccination = VaccinationFactory(resident=ResidentFactory(village=qingshan, name="李四"))
    return adverse_event_report(
        vaccination=vaccination,
        onset=None,
        symptoms="头晕、心慌",
        severity="moderate",
        referred=False,
        reported_by=site_team_centre,
    )


def badge(client):
    page = client.get(reverse("home"), follow=True).content.decode()
    return 'data-testid="adverse-badge"' in page


def test_the_office_and_the_sites_doctor_see_a_new_event_in_the_top_bar(client, reported, office, doctor_centre):
    for user in (office, doctor_centre):
        client.force_login(user)
        assert badge(client), user.username
        assert adverse_events_to_open(user, campaign=reported.vaccination.site.campaign).count() == 1


def test_nobody_else_sees_the_badge(
    client, reported, supervisor, leader, cadre_qingshan, site_team_centre, site_jiangdian
):
    other_doctor = doctor_of(site_jiangdian, "doctor_jiangdian")
    for user in (supervisor, leader, cadre_qingshan, site_team_centre, other_doctor):
        client.force_login(user)
        assert not badge(client), user.username
        assert adverse_events_to_open(user, campaign=reported.vaccination.site.campaign).count() == 0


def test_the_doctor_opening_the_event_clears_the_badge_for_everyone_and_records_who_and_when(
    client, reported, office, doctor_centre
):
    client.force_login(doctor_centre)
    page = client.get(reverse("sites:adverse_event_detail", args=[reported.pk]))
    assert page.status_code == 200 and "头晕、心慌" in page.content.decode()

    reported.refresh_from_db()
    assert reported.seen_by == doctor_centre and reported.seen_at is not None
    assert not badge(client)
    client.force_login(office)
    assert not badge(client)

    first = reported.seen_at
    client.get(reverse("sites:adverse_event_detail", args=[reported.pk]))  # the office opens it later
    reported.refresh_from_db()
    assert (reported.seen_by, reported.seen_at) == (doctor_centre, first)


def test_a_supervisor_reading_the_event_does_not_clear_it(client, reported, supervisor, office):
    client.force_login(supervisor)
    assert client.get(reverse("sites:adverse_event_detail", args=[reported.pk])).status_code == 200
    reported.refresh_from_db()
    assert reported.seen_at is None
    client.force_login(office)
    assert badge(client)


def test_another_sites_team_cannot_open_the_event(client, reported, site_team_jiangdian):
    client.force_login(site_team_jiangdian)
    assert client.get(reverse("sites:adverse_event_detail", args=[reported.pk])).status_code == 404


def test_the_badge_leads_to_the_events_waiting_to_be_opened(client, reported, office):
    client.force_login(office)
    page = client.get(reverse("sites:adverse_inbox")).content.decode()
    waiting = page[page.index('data-testid="adverse-waiting"') : page.index('data-testid="adverse-recent-list"')]
    assert "李四" in waiting and reverse("sites:adverse_event_detail", args=[reported.pk]) in waiting


def test_the_badge_costs_one_query_and_htmx_fragments_none(
    client, reported, office, site_team_centre, django_assert_num_queries
):
    from campaign.context_processors import adverse_events

    request = type("Request", (), {"user": office, "campaign": reported.vaccination.site.campaign})()
    counted = adverse_events(request)["adverse_events_to_open"]
    with django_assert_num_queries(1):
        assert counted() == 1
        assert counted() == 1  # a page that reads it twice still counts once
    client.force_login(site_team_centre)
    with django_assert_num_queries(0):
        request = type("Request", (), {"user": office})()
        adverse_events(request)  # not called: no query
