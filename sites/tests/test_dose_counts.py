"""The site's flow for a one-dose and a three-dose campaign: the next dose due after the shot, none after
the last, and the interval and the site each later dose keeps (issue #18, part 3)."""

import datetime

import pytest
from django.utils import timezone

from appointments.services import appointment_book
from campaign.roles import Role
from campaign.tests.factories import CampaignFactory, SiteFactory, VillageFactory, user_with_role
from residents.tests.factories import ResidentFactory
from sites.capacity import site_days_ensure
from sites.models import Vaccination
from sites.tests.factories import VaccinationFactory
from sites.tests.test_pages import scan, screen, shoot

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def _village(campaign, name="接种点"):
    site = SiteFactory(campaign=campaign, name=f"{campaign.name}{name}", daily_capacity=50)
    village = VillageFactory(site=site, name=f"{campaign.name}{name}村")
    site_days_ensure(campaign=campaign, sites=[site])
    return village


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def measles(today):
    return _village(
        CampaignFactory(
            name="麻疹",
            doses=1,
            dose_intervals=[],
            start_date=today - 2 * DAY,
            end_date=today + 8 * DAY,
            first_dose_deadline=today + 8 * DAY,
        )
    )


@pytest.fixture
def three_doses(today):
    return _village(
        CampaignFactory(
            name="三剂", doses=3, dose_intervals=[28, 60], start_date=today - 100 * DAY, end_date=today + 100 * DAY
        )
    )


def team_of(client, village):
    client.force_login(user_with_role(Role.SITE_TEAM, site=village.site, username=f"team{village.site_id}"))
    return client


def test_after_the_only_dose_the_panel_says_the_course_is_complete(client, measles, today):
    [first] = appointment_book(resident=ResidentFactory(village=measles), day=today)
    team = team_of(client, measles)
    arrival = scan(team, first.token).context["appointment"]
    screen(team, arrival)
    response = shoot(team, arrival)
    html = response.content.decode()
    assert response.context["step"] == "done" and response.context["held"] is None
    assert "已完成全程接种" in html and "下一剂" not in html


def test_after_dose_1_of_three_the_panel_shows_dose_2_held(client, three_doses, today):
    first, second, _third = appointment_book(resident=ResidentFactory(village=three_doses), day=today)
    team = team_of(client, three_doses)
    arrival = scan(team, first.token).context["appointment"]
    screen(team, arrival)
    response = shoot(team, arrival)
    assert response.context["held"] == second
    assert (today + 28 * DAY).isoformat() in response.content.decode()


def test_dose_3_before_its_own_interval_after_dose_2_is_refused(client, three_doses, today):
    resident = ResidentFactory(village=three_doses)
    VaccinationFactory(resident=resident, site=three_doses.site, vaccinated_at=timezone.now() - 90 * DAY)
    VaccinationFactory(resident=resident, dose_number=2, site=three_doses.site, vaccinated_at=timezone.now() - 59 * DAY)
    html = scan(team_of(client, three_doses), resident.id_number).content.decode()
    given = timezone.localdate(timezone.now() - 59 * DAY).isoformat()
    assert "第3剂过早" in html and f"第2剂于{given}接种" in html
    assert Vaccination.objects.count() == 2


def test_dose_3_sixty_days_after_dose_2_is_checked_in(client, three_doses, today):
    resident = ResidentFactory(village=three_doses)
    VaccinationFactory(resident=resident, site=three_doses.site, vaccinated_at=timezone.now() - 90 * DAY)
    VaccinationFactory(resident=resident, dose_number=2, site=three_doses.site, vaccinated_at=timezone.now() - 60 * DAY)
    response = scan(team_of(client, three_doses), resident.id_number)
    assert response.context["appointment"].dose_number == 3


def test_dose_3_at_another_site_than_dose_2_is_refused_naming_dose_2s_site(client, three_doses, today):
    other = _village(three_doses.campaign, name="另一接种点")
    resident = ResidentFactory(village=other)
    VaccinationFactory(resident=resident, site=other.site, vaccinated_at=timezone.now() - 100 * DAY)
    VaccinationFactory(resident=resident, dose_number=2, site=other.site, vaccinated_at=timezone.now() - 70 * DAY)
    html = scan(team_of(client, three_doses), resident.id_number).content.decode()
    assert f"第2剂在{other.site.name}接种" in html
