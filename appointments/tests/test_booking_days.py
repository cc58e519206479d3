"""The booking page's day picker: the campaign's first-dose days on which the site is open, in Chinese,
with the site's free places and the village's places in published plans."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.models import PlanAllocation, WeeklyPlan
from appointments.planning.selectors import week_days
from appointments.selectors import booking_days
from sites.capacity import site_days_ensure
from sites.models import SiteDay

pytestmark = pytest.mark.django_db

WEEKDAYS = "一二三四五六日"


@pytest.fixture
def today(qingshan):
    site_days_ensure(campaign=qingshan.campaign)
    return timezone.localdate()


@pytest.fixture
def tomorrow(today):
    return today + datetime.timedelta(days=1)


def _publish(campaign, office, village, day, places):
    plan = WeeklyPlan.objects.create(
        campaign=campaign,
        week_start=week_days(day)[0],
        created_by=office,
        status=WeeklyPlan.Status.PUBLISHED,
        published_at=timezone.now(),
    )
    PlanAllocation.objects.create(plan=plan, site=village.site, village=village, date=day, places=places)
    return plan


def test_the_days_offered_are_from_today_to_the_first_dose_deadline_when_the_site_is_open(
    campaign, qingshan, today, tomorrow
):
    SiteDay.objects.filter(site=qingshan.site, date=tomorrow).update(capacity=0)  # the site is closed that day
    days = [d["date"] for d in booking_days(campaign=campaign, village=qingshan, today=today)]
    assert days[0] == today and days[-1] == campaign.first_dose_deadline
    assert tomorrow not in days
    assert SiteDay.objects.filter(site=qingshan.site, date__gt=campaign.first_dose_deadline).exists()
    assert all(today <= day <= campaign.first_dose_deadline for day in days)


def test_the_picker_shows_days_in_chinese_and_a_full_day_cannot_be_picked(client, cadre_qingshan, qingshan, tomorrow):
    SiteDay.objects.filter(site=qingshan.site, date=tomorrow).update(capacity=3, booked=3)
    client.force_login(cadre_qingshan)
    html = client.get(reverse("appointments:booking")).content.decode()
    label = f"{tomorrow.year}年{tomorrow.month}月{tomorrow.day}日 周{WEEKDAYS[tomorrow.weekday()]}"
    option = html.split(f'<option value="{tomorrow.isoformat()}"', 1)[1].split("</option>", 1)[0]
    assert option.startswith(" disabled")
    assert f"{label} · 已满" in option
    yesterday = tomorrow - datetime.timedelta(days=2)
    assert f'value="{yesterday.isoformat()}"' not in html
    assert 'type="date"' not in html  # no browser date box in the browser's own language and format


def test_the_booking_page_shows_the_villages_plan_places_next_to_the_sites_free_places(
    client, cadre_qingshan, office, campaign, qingshan, tomorrow
):
    SiteDay.objects.filter(site=qingshan.site, date=tomorrow).update(capacity=900, booked=100)
    _publish(campaign, office, qingshan, tomorrow, 120)
    client.force_login(cadre_qingshan)
    response = client.get(reverse("appointments:booking"), {"day": tomorrow.isoformat()})
    picked = response.context["picked_day"]
    assert picked["date"] == tomorrow and picked["free"] == 800
    assert (picked["plan"]["places"], picked["plan"]["filled"], picked["plan"]["open"]) == (120, 0, 120)
    html = response.content.decode()
    assert f'<option value="{tomorrow.isoformat()}" selected' in html
    assert "本村计划名额" in html and "本村计划名额尚余 120" in html


def test_a_draft_plan_gives_no_places_on_the_booking_page(client, cadre_qingshan, office, campaign, qingshan, tomorrow):
    plan = _publish(campaign, office, qingshan, tomorrow, 120)
    WeeklyPlan.objects.filter(pk=plan.pk).update(status=WeeklyPlan.Status.DRAFT, published_at=None)
    client.force_login(cadre_qingshan)
    response = client.get(reverse("appointments:booking"), {"day": tomorrow.isoformat()})
    assert response.context["picked_day"]["plan"] is None


def test_the_villages_places_page_links_each_day_to_booking_that_day(
    client, cadre_qingshan, office, campaign, qingshan, tomorrow
):
    _publish(campaign, office, qingshan, tomorrow, 120)
    client.force_login(cadre_qingshan)
    html = client.get(reverse("plan:village")).content.decode()
    assert f'href="{reverse("appointments:booking")}?day={tomorrow.isoformat()}"' in html
