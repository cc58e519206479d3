"""The weekly plan's pages: the office's grid, read-only readers, cadres' places, and who may do what."""

import datetime

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, WeeklyPlan
from appointments.planning.selectors import plan_version, week_days
from appointments.planning.services import plan_adjust, plan_propose, plan_publish
from appointments.tests.factories import AppointmentFactory
from residents.tests.factories import ResidentFactory
from sites.models import SiteDay

pytestmark = pytest.mark.django_db


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def draft(campaign, office, qingshan, honghe, today):
    return plan_propose(campaign=campaign, week_start=today, created_by=office, today=today)


@pytest.fixture
def published(draft, office):
    return plan_publish(plan=draft, published_by=office, version=plan_version(plan=draft))


def _field(village, day):
    return f"p-{village.id}-{day.isoformat()}"


def test_the_office_sees_each_sites_capacity_bookings_and_village_shares(
    client, office, draft, site_centre, qingshan, today
):
    SiteDay.objects.create(site=site_centre, date=today, capacity=820, booked=37)
    client.force_login(office)
    page = client.get(reverse("plan:week"))
    assert page.status_code == 200
    html = page.content.decode()
    for text in ["分周接种计划", "梅山社区卫生服务中心疫苗接种点", "江店体育馆接种点", "青山社区", "红河社区", "草稿"]:
        assert text in html
    assert "/ 820" in html and ">37<" in html  # the SiteDay's capacity and places taken
    assert f'name="{_field(qingshan, today)}"' in html
    assert "生成建议计划" in html and "发布" in html


def test_a_week_without_a_plan_shows_the_capacity_and_offers_a_proposal(client, office, qingshan, today):
    client.force_login(office)
    html = client.get(reverse("plan:week"), {"week": today.isoformat()}).content.decode()
    assert "尚无计划" in html and "生成建议计划" in html
    assert 'name="p-' not in html  # nothing to edit before there is a draft


def test_the_office_proposes_changes_and_publishes_a_week(client, office, qingshan, honghe, today):
    client.force_login(office)
    response = client.post(reverse("plan:propose"), {"week": today.isoformat()})
    monday = week_days(today)[0]
    assert response.status_code == 302 and response.url.endswith(f"?week={monday.isoformat()}")
    plan = WeeklyPlan.objects.get(week_start=monday)
    assert plan.allocations.exists()

    response = client.post(reverse("plan:save", args=[plan.pk]), {_field(qingshan, today): "77"})
    assert response.status_code == 302
    assert plan.allocations.get(village=qingshan, date=today).places == 77

    review = client.get(reverse("plan:publish", args=[plan.pk]))
    assert review.status_code == 200 and ">77<" in review.content.decode()
    response = client.post(reverse("plan:publish", args=[plan.pk]), {"version": review.context["version"]})
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.status == WeeklyPlan.Status.PUBLISHED
    html = client.get(response.url).content.decode()
    assert "已发布" in html
    assert 'name="p-' not in html  # a published plan is read-only


def test_a_save_above_capacity_is_refused_in_chinese_and_keeps_what_was_typed(
    client, office, draft, site_centre, qingshan, today
):
    client.force_login(office)
    response = client.post(reverse("plan:save", args=[draft.pk]), {_field(qingshan, today): "5000"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "未保存" in html
    assert f"梅山社区卫生服务中心疫苗接种点 {today.isoformat()}：计划名额 5000 个" in html
    assert 'value="5000"' in html
    assert draft.allocations.get(village=qingshan, date=today).places != 5000


def test_a_save_with_something_other_than_a_number_is_refused(client, office, draft, qingshan, today):
    client.force_login(office)
    response = client.post(reverse("plan:save", args=[draft.pk]), {_field(qingshan, today): "-3"})
    assert response.status_code == 400
    assert "不是有效的名额数" in response.content.decode()


def test_proposing_over_a_published_week_says_it_is_not_overwritten(client, office, published, today):
    client.force_login(office)
    response = client.post(reverse("plan:propose"), {"week": today.isoformat()}, follow=True)
    assert "已发布" in response.content.decode() and "不会覆盖" in response.content.decode()


@pytest.mark.parametrize("persona", ["supervisor", "leader"])
def test_supervision_and_leadership_read_the_plan_but_change_nothing(client, request, persona, draft, qingshan, today):
    client.force_login(request.getfixturevalue(persona))
    page = client.get(reverse("plan:week"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "青山社区" in html and 'name="p-' not in html and "生成建议计划" not in html
    assert client.post(reverse("plan:propose"), {"week": today.isoformat()}).status_code == 403
    assert client.post(reverse("plan:save", args=[draft.pk]), {_field(qingshan, today): "1"}).status_code == 403
    assert client.post(reverse("plan:publish", args=[draft.pk])).status_code == 403
    draft.refresh_from_db()
    assert draft.status == WeeklyPlan.Status.DRAFT


@pytest.mark.parametrize("persona", ["cadre_qingshan", "site_team_jiangdian"])
def test_cadres_and_site_teams_get_403_on_the_office_pages(client, request, persona, draft, qingshan, today):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("plan:week")).status_code == 403
    assert client.post(reverse("plan:propose"), {"week": today.isoformat()}).status_code == 403
    assert client.post(reverse("plan:save", args=[draft.pk]), {_field(qingshan, today): "1"}).status_code == 403
    assert client.post(reverse("plan:publish", args=[draft.pk])).status_code == 403


def test_a_cadre_does_not_see_a_draft(client, cadre_qingshan, draft):
    client.force_login(cadre_qingshan)
    page = client.get(reverse("plan:village"))
    assert page.status_code == 200
    assert 'data-testid="no-places"' in page.content.decode()


def test_a_cadre_sees_the_villages_published_places_and_how_many_are_filled(
    client, cadre_qingshan, published, qingshan, today
):
    places = published.allocations.get(village=qingshan, date=today).places
    for status in ["booked", "booked", "arrived", "vaccinated", "cancelled"]:
        AppointmentFactory(resident=ResidentFactory(village=qingshan), date=today, status=status)
    AppointmentFactory(resident=ResidentFactory(village=qingshan), date=today, dose_number=2)  # not a first dose
    client.force_login(cadre_qingshan)
    html = client.get(reverse("plan:village")).content.decode()
    row = html.split(f'data-date="{today.isoformat()}"')[1].split("</tr>")[0]
    assert f'data-role="places">{places}<' in row
    assert 'data-role="filled">4<' in row
    assert f'data-role="open">{places - 4}<' in row


def test_a_cadre_sees_only_their_own_village(client, cadre_honghe, published, qingshan, honghe, today):
    client.force_login(cadre_honghe)
    html = client.get(reverse("plan:village")).content.decode()
    assert "红河社区" in html and "江店体育馆" in html
    assert "青山社区" not in html


@pytest.mark.parametrize("persona", ["office", "site_team_jiangdian"])
def test_the_cadre_page_is_for_cadres(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("plan:village")).status_code == 403


def test_the_panel_for_the_cadre_home_lists_the_next_places(published, qingshan, today):
    AppointmentFactory(resident=ResidentFactory(village=qingshan), date=today, status=Appointment.Status.BOOKED)
    html = render_to_string("appointments/plan_village_panel.html", {"village": qingshan})
    assert 'data-testid="plan-panel"' in html
    assert today.strftime("%m-%d") in html
    assert reverse("plan:village") in html
    empty = render_to_string("appointments/plan_village_panel.html", {"village": None})
    assert "暂无" in empty


def test_the_week_navigation_moves_by_seven_days(client, office, today):
    client.force_login(office)
    monday = week_days(today)[0]
    html = client.get(reverse("plan:week"), {"week": (monday + datetime.timedelta(days=9)).isoformat()}).content
    assert f"?week={(monday + datetime.timedelta(days=14)).isoformat()}" in html.decode()
    assert f"?week={monday.isoformat()}" in html.decode()


def test_publish_saves_the_numbers_on_screen_first_and_then_asks_for_a_confirmation(
    client, office, draft, qingshan, today
):
    client.force_login(office)
    response = client.post(reverse("plan:save", args=[draft.pk]), {_field(qingshan, today): "66", "then": "publish"})
    assert response.status_code == 302 and response.url == reverse("plan:publish", args=[draft.pk])
    assert draft.allocations.get(village=qingshan, date=today).places == 66
    draft.refresh_from_db()
    assert draft.status == WeeklyPlan.Status.DRAFT  # not yet: the office confirms first
    html = client.get(response.url).content.decode()
    assert "确认发布" in html or "发布这些名额" in html
    assert ">66<" in html


def test_publish_with_numbers_that_cannot_be_saved_publishes_nothing(client, office, draft, qingshan, today):
    client.force_login(office)
    response = client.post(reverse("plan:save", args=[draft.pk]), {_field(qingshan, today): "5000", "then": "publish"})
    assert response.status_code == 400
    assert "未保存，因此未发布" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == WeeklyPlan.Status.DRAFT


def test_a_publish_without_the_confirmations_version_is_refused(client, office, draft):
    client.force_login(office)
    response = client.post(reverse("plan:publish", args=[draft.pk]))
    assert response.status_code == 409
    assert "数字已有改动" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == WeeklyPlan.Status.DRAFT


def test_a_draft_changed_after_its_confirmation_was_shown_is_not_published(client, office, draft, qingshan, today):
    client.force_login(office)
    shown = client.get(reverse("plan:publish", args=[draft.pk])).context["version"]
    plan_adjust(plan=draft, changes={(qingshan.id, today): 11})  # e.g. from a second screen
    response = client.post(reverse("plan:publish", args=[draft.pk]), {"version": shown})
    assert response.status_code == 409
    html = response.content.decode()
    assert "数字已有改动" in html and ">11<" in html  # the new numbers, to confirm again
    draft.refresh_from_db()
    assert draft.status == WeeklyPlan.Status.DRAFT
    response = client.post(reverse("plan:publish", args=[draft.pk]), {"version": response.context["version"]})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == WeeklyPlan.Status.PUBLISHED


def test_the_confirmation_compares_each_village_with_the_last_published_plan(
    client, office, published, campaign, qingshan, today
):
    next_week = week_days(today)[0] + datetime.timedelta(days=7)
    before = sum(published.allocations.filter(village=qingshan).values_list("places", flat=True))
    plan = WeeklyPlan.objects.create(campaign=campaign, week_start=next_week, created_by=office)
    plan.allocations.create(site=qingshan.site, village=qingshan, date=next_week, places=before + 5)
    client.force_login(office)
    response = client.get(reverse("plan:publish", args=[plan.pk]))
    assert response.status_code == 200
    [site] = [s for s in response.context["grid"] if s["site"] == qingshan.site]
    [row] = [r for r in site["rows"] if r["village"] == qingshan]
    assert (row["total"], row["previous"], row["change"]) == (before + 5, before, 5)
    assert "上次发布" in response.content.decode()
