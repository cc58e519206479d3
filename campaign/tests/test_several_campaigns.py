"""Several campaigns at once (issue #18): each staff page works within the campaign chosen in the top
bar (campaign.scope), remembered for the next login; bindings hold across campaigns by name."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, WeeklyPlan
from appointments.services import appointment_book_pair
from campaign.models import Campaign, Profile
from campaign.roles import Role
from campaign.scope import SESSION_KEY, bound_site, bound_village
from campaign.tests.factories import CampaignFactory, SiteFactory, VillageFactory, user_with_role
from residents.models import Resident
from residents.tests.factories import ResidentFactory
from sites.capacity import site_days_ensure

pytestmark = pytest.mark.django_db

PASSWORD = "pass-for-tests"  # campaign.tests.factories.UserFactory's


@pytest.fixture
def booster(campaign, site_centre, site_jiangdian, qingshan, honghe):
    """A second open campaign beside `campaign`, started later (so `campaign`, running longer, stays the
    default), with the same sites and villages by name, and one village of its own."""
    other = CampaignFactory(name="加强免疫活动", start_date=campaign.start_date + datetime.timedelta(days=3))
    centre = SiteFactory(campaign=other, name=site_centre.name, short_name=site_centre.short_name)
    jiangdian = SiteFactory(campaign=other, name=site_jiangdian.name, short_name=site_jiangdian.short_name)
    VillageFactory(site=centre, name=qingshan.name, kind="community")
    VillageFactory(site=jiangdian, name=honghe.name, kind="community")
    VillageFactory(site=jiangdian, name="加强新村")
    return other


def village_of(campaign, name):
    return campaign.villages.get(name=name)


def site_of(campaign, name):
    return campaign.sites.get(name=name)


def log_in(username) -> Client:
    """A new browser signing in on the login page (a new session)."""
    client = Client()
    response = client.post(reverse("login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    return client


def choose(client, campaign, next_url=""):
    return client.post(reverse("campaign:choose"), {"campaign": campaign.pk, "next": next_url})


def test_the_default_is_the_open_campaign_that_has_run_longest(client, office, campaign, booster):
    client.force_login(office)
    assert client.get(reverse("reports:dashboard")).context["campaign"] == campaign


def test_the_choice_is_remembered_across_a_new_login(office, campaign, booster):
    first = log_in("office")
    response = choose(first, booster, reverse("reports:dashboard"))
    assert response.status_code == 302 and response["Location"] == reverse("reports:dashboard")
    assert first.get(reverse("reports:dashboard")).context["campaign"] == booster
    assert Profile.objects.get(user=office).last_campaign == booster
    first.post(reverse("logout"))

    later = log_in("office")
    page = later.get(reverse("reports:dashboard"))
    assert page.context["campaign"] == booster
    assert 'data-testid="campaign-current"' in page.content.decode() and "加强免疫活动" in page.content.decode()


def test_the_top_bar_offers_the_open_campaigns_only_when_there_are_several(client, office, campaign, booster):
    client.force_login(office)
    html = client.get(reverse("reports:dashboard")).content.decode()
    assert 'data-testid="campaign-choice"' in html
    assert html.count('data-testid="campaign-option"') == 2
    booster.is_open = False
    booster.save(update_fields=["is_open"])
    html = client.get(reverse("reports:dashboard")).content.decode()
    assert 'data-testid="campaign-choice"' not in html and 'data-testid="campaign-current"' in html


def test_a_closed_campaign_or_a_foreign_next_is_not_followed(client, office, campaign, booster):
    client.force_login(office)
    booster.is_open = False
    booster.save(update_fields=["is_open"])
    response = choose(client, booster, "https://evil.example/")
    assert response["Location"] == reverse("home")
    assert client.session.get(SESSION_KEY) != booster.pk
    assert client.get(reverse("reports:dashboard")).context["campaign"] == campaign
    assert client.get(reverse("campaign:choose")).status_code == 405


def test_a_page_that_names_a_record_sends_the_choice_back_home(client, office, campaign, booster, qingshan):
    client.force_login(office)
    page = client.get(reverse("posters:village", args=[qingshan.pk]))
    assert page.status_code == 200
    html = client.get(reverse("residents:village_home")).content.decode()
    assert f'name="next" value="{reverse("residents:village_home")}"' in html


def test_the_pages_of_one_campaign_never_show_the_others(client, office, campaign, booster, qingshan, honghe):
    ours = ResidentFactory(village=qingshan, name="本活动人")
    theirs = ResidentFactory(village=village_of(booster, "青山社区"), name="加强活动人")
    site_days_ensure(campaign=campaign)
    site_days_ensure(campaign=booster)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    appointment_book_pair(resident=ours, day=tomorrow)
    appointment_book_pair(resident=theirs, day=tomorrow)
    client.force_login(office)

    choose(client, booster)
    residents = client.get(reverse("residents:village_home")).content.decode()
    assert "加强活动人" in residents and "本活动人" not in residents and "加强新村" in residents
    daily = client.get(reverse("daily:list"), {"date": tomorrow.isoformat()})
    assert [row.resident for row in daily.context["daily"].rows] == [theirs]
    assert all(site.campaign_id == booster.pk for site in daily.context["sites"])
    follow_up = client.get(reverse("appointments:follow_up")).content.decode()
    assert "本活动人" not in follow_up
    assert client.get(reverse("reports:dashboard")).context["campaign"] == booster

    choose(client, campaign)
    residents = client.get(reverse("residents:village_home")).content.decode()
    assert "本活动人" in residents and "加强活动人" not in residents and "加强新村" not in residents
    daily = client.get(reverse("daily:list"), {"date": tomorrow.isoformat()})
    assert [row.resident for row in daily.context["daily"].rows] == [ours]


def test_the_badge_of_self_registrations_counts_the_campaigns_own(client, cadre_qingshan, campaign, booster, qingshan):
    self_registered = ResidentFactory(village=village_of(booster, "青山社区"), name="自助甲")
    Resident.objects.filter(pk=self_registered.pk).update(
        channel="self", review="pending", consent_version="2021-03-v1", consent_at=timezone.now()
    )
    client.force_login(cadre_qingshan)
    assert 'data-testid="reviews-badge"' not in client.get(reverse("residents:village_home")).content.decode()
    choose(client, booster)
    assert 'data-testid="reviews-badge">1<' in client.get(reverse("residents:village_home")).content.decode()


def test_a_cadre_bound_in_one_campaign_sees_and_books_her_villages_people_in_the_other(
    client, cadre_qingshan, campaign, booster, qingshan
):
    theirs = village_of(booster, "青山社区")
    assert bound_village(cadre_qingshan, booster) == theirs and bound_village(cadre_qingshan, campaign) == qingshan
    ResidentFactory(village=qingshan, name="本活动人")
    person = ResidentFactory(village=theirs, name="加强活动人")
    ResidentFactory(village=village_of(booster, "红河社区"), name="红河加强人")
    site_days_ensure(campaign=booster)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    client.force_login(cadre_qingshan)
    choose(client, booster)

    home = client.get(reverse("residents:village_home"))
    assert home.context["village"] == theirs
    html = home.content.decode()
    assert "加强活动人" in html and "本活动人" not in html and "红河加强人" not in html
    assert client.get(reverse("residents:detail", args=[person.pk])).status_code == 200

    response = client.post(reverse("appointments:booking"), {"day": tomorrow, "residents": [person.pk]})
    assert response.context["village"] == theirs
    assert [r["booked"] for r in response.context["results"]] == [True]
    first = Appointment.objects.get(resident=person, dose_number=1)
    assert first.site == theirs.site and first.site.campaign == booster
    assert client.get(reverse("plan:village")).status_code == 200
    assert client.get(reverse("reports:export_list")).context["village"] == theirs


def test_a_site_team_bound_in_one_campaign_works_its_namesake_in_the_other(
    client, site_team_centre, campaign, booster, site_centre
):
    theirs = site_of(booster, site_centre.name)
    assert bound_site(site_team_centre, booster) == theirs
    site_days_ensure(campaign=booster)
    today = timezone.localdate()
    person = ResidentFactory(village=village_of(booster, "青山社区"), name="加强活动人")
    first, _second = appointment_book_pair(resident=person, day=today)
    client.force_login(site_team_centre)
    choose(client, booster)

    assert client.get(reverse("sites:workstation")).context["site"] == theirs
    daily = client.get(reverse("daily:list"), {"date": today.isoformat()})
    assert [row.resident for row in daily.context["daily"].rows] == [person]
    client.post(reverse("sites:check_in", args=[first.pk]))
    first.refresh_from_db()
    assert first.status == Appointment.Status.ARRIVED

    choose(client, campaign)
    assert client.get(reverse("sites:workstation")).context["site"] == site_centre
    # Another campaign's appointment is not this page's: 404.
    assert client.post(reverse("sites:screen", args=[first.pk])).status_code == 404


def test_a_record_of_the_other_campaign_is_not_found(client, office, campaign, booster, qingshan, site_centre):
    plan = WeeklyPlan.objects.create(campaign=campaign, week_start=campaign.start_date, created_by=office)
    resident = ResidentFactory(village=qingshan)
    client.force_login(office)
    assert client.get(reverse("plan:publish", args=[plan.pk])).status_code in (200, 302)
    choose(client, booster)
    for url in (
        reverse("plan:publish", args=[plan.pk]),
        reverse("posters:village", args=[qingshan.pk]),
        reverse("residents:detail", args=[resident.pk]),
        reverse("sites:watch", args=[site_centre.pk]),
        reverse("appointments:call_log", args=[resident.pk]),
    ):
        assert client.get(url).status_code == 404, url


def test_the_account_form_shows_the_binding_in_the_campaign_worked_in(client, office, cadre_qingshan, booster):
    client.force_login(office)
    choose(client, booster)
    form = client.get(reverse("accounts:edit", args=[cadre_qingshan.pk])).context["form"]
    assert form.initial["village"] == village_of(booster, "青山社区").pk
    listed = client.get(reverse("accounts:list"), {"village": village_of(booster, "青山社区").pk})
    assert [row["user"] for row in listed.context["rows"]] == [cadre_qingshan]


def test_with_no_campaign_open_the_pages_say_so_in_chinese(client, office, cadre_qingshan, campaign):
    Campaign.objects.update(is_open=False)
    client.force_login(office)
    page = client.get(reverse("reports:dashboard"))
    html = page.content.decode()
    assert page.status_code == 200 and 'data-testid="no-campaign"' in html and "没有进行中的接种工作" in html
    client.force_login(cadre_qingshan)
    html = client.get(reverse("residents:village_home")).content.decode()
    assert "没有进行中的接种工作" in html and "请联系" in html


def test_a_cadre_whose_village_is_not_in_the_campaign_is_refused_not_shown_anothers(client, campaign, booster):
    only_here = VillageFactory(site=campaign.sites.first(), name="本活动独有村")
    cadre = user_with_role(Role.CADRE, village=only_here, username="cadre_only_here")
    client.force_login(cadre)
    choose(client, booster)
    assert client.get(reverse("appointments:booking")).status_code == 403
