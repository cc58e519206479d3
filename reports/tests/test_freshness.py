"""The dashboard is never more than a minute behind the records, for everyone, with no button.

Doses are recorded through the site's real services; the pages are read as their users read them.
"A minute passes" moves the rows' computation time back by FRESH_FOR, as the clock would.
"""

import datetime

import pytest
from django.db.models import F
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from appointments.services import appointment_book_pair
from campaign.tests.redis_server import project_on_own_redis
from reports.models import DailyProgress, VillageProgress
from reports.progress import FRESH_FOR, progress_compute, progress_fresh
from residents.tests.factories import ResidentFactory
from sites.capacity import site_days_ensure
from sites.services import site_checkin, site_prescreen, site_vaccinate
from sites.tests.factories import VaccinationFactory

PASSWORD = "pass-for-tests"  # campaign.tests.factories.UserFactory
# A port of this module's own (campaign.tests.redis_server hands out 16400-16409 to other tests).
REDIS_PORT = 16421


def a_minute_passes(campaign, by=FRESH_FOR + datetime.timedelta(seconds=1)):
    """The clock moves on: the rows were computed `by` earlier than they were."""
    VillageProgress.objects.filter(campaign=campaign).update(computed_at=F("computed_at") - by)
    DailyProgress.objects.filter(campaign=campaign).update(computed_at=F("computed_at") - by)


def give_dose_1(resident, nurse, site):
    """Check in, screen and vaccinate at the site, through the services the workstation calls."""
    arrived = site_checkin(site=site, resident=resident, checked_in_by=nurse)
    site_prescreen(appointment=arrived, answers={}, temperature="36.6", consent=True, screened_by=nurse)
    return site_vaccinate(appointment=arrived, lot_number="202612A01", vaccinator=nurse)[0]


@pytest.fixture
def booked(qingshan):
    """A resident of 青山社区 booked today at the centre, and the campaign's figures computed (as beat does)."""
    site_days_ensure(campaign=qingshan.campaign)
    resident = ResidentFactory(village=qingshan, name="张三丰")
    appointment_book_pair(resident=resident, day=timezone.localdate())
    progress_compute(campaign=qingshan.campaign)
    return resident


def dashboard_of(client):
    response = client.get(reverse("reports:dashboard"))
    assert response.status_code == 200
    return response.context["figures"]


@pytest.mark.django_db
def test_a_dose_moves_the_leaders_dashboard_within_a_minute_without_any_recompute(
    client, leader, booked, site_team_centre, site_centre
):
    client.force_login(leader)
    before = dashboard_of(client)
    assert before["dose1"] == 0
    assert {s["site"].pk: s["booked"] for s in before["sites"]}[site_centre.pk] == 1

    give_dose_1(booked, site_team_centre, site_centre)
    a_minute_passes(booked.campaign)

    after = dashboard_of(client)
    assert (after["dose1"], after["doses_given"]) == (1, 1)
    today = {s["site"].pk: s for s in after["sites"]}[site_centre.pk]
    assert (today["arrived"], today["vaccinated"]) == (1, 1)
    village = next(v for v in after["villages"] if v["village"].name == "青山社区")
    assert (village["booked"], village["dose1"]) == (1, 1)
    assert timezone.now() - after["computed_at"] < datetime.timedelta(seconds=5)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["office", "supervisor", "leader"])
def test_every_role_with_the_dashboard_gets_the_fresh_figures(request, client, persona, campaign, qingshan):
    VaccinationFactory(resident=ResidentFactory(village=qingshan))
    progress_compute(campaign=campaign)
    VaccinationFactory(resident=ResidentFactory(village=qingshan))
    a_minute_passes(campaign)
    client.force_login(request.getfixturevalue(persona))
    assert dashboard_of(client)["dose1"] == 2


@pytest.mark.django_db
def test_within_the_minute_the_page_reads_the_rows_and_computes_nothing(campaign, qingshan):
    VaccinationFactory(resident=ResidentFactory(village=qingshan))
    first = progress_fresh(campaign=campaign)  # never computed: computed now
    assert first is not None and progress_fresh(campaign=campaign) == first
    a_minute_passes(campaign, by=FRESH_FOR - datetime.timedelta(seconds=5))
    almost = progress_fresh(campaign=campaign)
    assert progress_fresh(campaign=campaign) == almost  # under a minute old: read as they are
    a_minute_passes(campaign, by=datetime.timedelta(seconds=6))
    assert progress_fresh(campaign=campaign) > first  # over a minute: computed again


@pytest.mark.django_db
def test_a_run_that_waited_for_another_computes_nothing_more(campaign, qingshan):
    asked_at = timezone.now()
    progress_compute(campaign=campaign)  # the run it waited for
    assert progress_compute(campaign=campaign, unless_since=asked_at) is None
    assert progress_compute(campaign=campaign) is not None


@pytest.mark.django_db
def test_after_days_without_any_run_the_days_since_the_last_run_are_computed_again(campaign, qingshan):
    progress_compute(campaign=campaign)
    a_minute_passes(campaign, by=datetime.timedelta(days=3))
    three_days_ago = timezone.now() - datetime.timedelta(days=3) + datetime.timedelta(minutes=5)
    VaccinationFactory(resident=ResidentFactory(village=qingshan), vaccinated_at=three_days_ago)

    assert timezone.now() - progress_fresh(campaign=campaign) < datetime.timedelta(seconds=5)

    day = timezone.localdate(three_days_ago)
    assert sum(DailyProgress.objects.filter(campaign=campaign, date=day).values_list("dose1", flat=True)) == 1


@pytest.mark.django_db
def test_there_is_no_recompute_button_any_more(client, office, campaign):
    client.force_login(office)
    page = client.get(reverse("reports:dashboard")).content.decode()
    assert 'data-testid="refresh"' not in page
    with pytest.raises(NoReverseMatch):
        reverse("reports:progress_refresh")


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_with_redis_down_and_no_beat_a_dose_still_moves_the_dashboard_within_a_minute(
    settings, booked, leader, site_team_centre, site_centre
):
    with project_on_own_redis(settings, REDIS_PORT) as redis:
        client = Client()
        assert client.post(reverse("login"), {"username": "leader", "password": PASSWORD}).status_code == 302
        assert dashboard_of(client)["dose1"] == 0

        redis.stop()
        give_dose_1(booked, site_team_centre, site_centre)
        a_minute_passes(booked.campaign)

        assert dashboard_of(client)["dose1"] == 1
