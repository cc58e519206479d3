"""The progress dashboard: what it shows, that it reads the precomputed rows, and who may see it."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from reports.models import DailyProgress, VillageProgress
from reports.progress import progress_compute
from reports.selectors import _ranks, dashboard_figures, expected_percent
from residents.tests.factories import ResidentFactory
from sites.tests.factories import VaccinationFactory

pytestmark = pytest.mark.django_db


def day_rows(campaign, site, village, days: dict):
    """DailyProgress rows by hand: {date: (dose1, dose2)}."""
    now = timezone.now()
    DailyProgress.objects.bulk_create(
        DailyProgress(
            campaign=campaign,
            date=day,
            site=site,
            village=village,
            dose1=d1,
            doses={"1": d1, "2": d2},
            completed=d2,
            computed_at=now,
        )
        for day, (d1, d2) in days.items()
    )


def test_rates_and_the_projected_date_come_from_the_last_seven_days(campaign, qingshan, site_centre):
    today = campaign.start_date + datetime.timedelta(days=37)
    # 700 doses a day for the 7 days before today; today's partial numbers do not count in the rate.
    week = {today - datetime.timedelta(days=n): (500, 200) for n in range(1, 8)}
    day_rows(campaign, site_centre, qingshan, {**week, today: (10, 0)})

    f = dashboard_figures(campaign=campaign, today=today)

    assert (f["dose1"], f["completed"], f["doses_given"]) == (3510, 1400, 4910)
    assert f["rate_7d"] == 700.0
    assert f["days_left"] == 46  # today and the 45 days after it, to the end date
    assert f["doses_to_go"] == 144000 - 4910
    assert f["rate_needed"] == -(-(144000 - 4910) // 46)  # 3024 a day
    assert f["on_track"] is False
    assert f["reached_on"] == today + datetime.timedelta(days=199)  # 139,090 / 700 = 198.7 → 199 days
    assert f["deadline_days_left"] == 31
    assert f["still_to_go"] == 72000 - 1400


def test_at_the_start_the_rate_is_unknown(campaign):
    f = dashboard_figures(campaign=campaign, today=campaign.start_date)
    assert f["rate_7d"] is None and f["reached_on"] is None and f["on_track"] is False
    assert f["chart"]["doses"] == [0] and len(f["chart"]["target"]) == 83
    assert f["chart"]["target"][-1] == 144000


def test_the_chart_accumulates_day_by_day(campaign, qingshan, site_centre):
    start = campaign.start_date
    day_rows(campaign, site_centre, qingshan, {start: (5, 0), start + datetime.timedelta(days=2): (7, 1)})
    f = dashboard_figures(campaign=campaign, today=start + datetime.timedelta(days=3))
    assert f["chart"]["doses"] == [5, 5, 13, 13]
    assert f["chart"]["dose1"] == [5, 5, 12, 12]
    assert f["chart"]["completed"] == [0, 0, 1, 1]


def test_today_at_each_site_is_measured_against_its_floor(campaign, qingshan, honghe, site_centre, site_jiangdian):
    today = timezone.localdate()
    day_rows(campaign, site_centre, qingshan, {today: (450, 150)})
    day_rows(campaign, site_jiangdian, honghe, {today: (300, 0)})
    sites = {s["site"].short_name: s for s in dashboard_figures(campaign=campaign, today=today)["sites"]}
    assert (sites["卫生服务中心"]["vaccinated"], sites["卫生服务中心"]["below_floor"]) == (600, False)
    assert (sites["江店体育馆"]["vaccinated"], sites["江店体育馆"]["below_floor"]) == (300, True)


def test_villages_are_ranked_and_flagged_behind_schedule(campaign, qingshan, honghe):
    today = campaign.start_date + datetime.timedelta(days=34)  # yesterday's expected: 34 of 68 days = 50%
    assert expected_percent(campaign=campaign, on=today - datetime.timedelta(days=1)) == 50.0
    now = timezone.now()
    VillageProgress.objects.create(campaign=campaign, village=qingshan, dose1=2560, computed_at=now)  # 50.0%
    VillageProgress.objects.create(campaign=campaign, village=honghe, dose1=2679, computed_at=now)  # 49.98%
    villages = {v["village"].name: v for v in dashboard_figures(campaign=campaign, today=today)["villages"]}
    assert (villages["青山社区"]["percent"], villages["青山社区"]["rank"], villages["青山社区"]["behind"]) == (
        50.0,
        1,
        False,
    )
    # 49.98% shows as 50.0% but is still behind, and ranks below an exact 50%.
    assert (villages["红河社区"]["percent"], villages["红河社区"]["rank"], villages["红河社区"]["behind"]) == (
        50.0,
        2,
        True,
    )


def test_equal_percentages_share_a_rank():
    assert _ranks([10.0, 30.0, 30.0, 5.0]) == [3, 1, 1, 4]


def test_within_a_minute_of_their_computation_the_dashboard_reads_the_rows_not_the_raw_records(
    client, office, campaign, qingshan
):
    VaccinationFactory(resident=ResidentFactory(village=qingshan))
    progress_compute(campaign=campaign)
    VaccinationFactory(resident=ResidentFactory(village=qingshan))  # after the computation

    client.force_login(office)
    assert client.get(reverse("reports:dashboard")).context["figures"]["dose1"] == 1  # reports/tests/test_freshness.py


def test_figures_never_computed_are_computed_when_the_dashboard_opens(client, leader, campaign, qingshan):
    VaccinationFactory(resident=ResidentFactory(village=qingshan))
    client.force_login(leader)
    assert client.get(reverse("reports:dashboard")).context["figures"]["dose1"] == 1


def test_the_supervision_group_sees_the_dashboard(client, supervisor):
    client.force_login(supervisor)
    assert client.get(reverse("reports:dashboard")).status_code == 200


def test_cadres_and_site_teams_do_not_see_the_dashboard(client, cadre_qingshan, site_team_jiangdian):
    for user in (cadre_qingshan, site_team_jiangdian):
        client.force_login(user)
        assert client.get(reverse("reports:dashboard")).status_code == 403


def test_the_dashboard_page_shows_the_village_and_cadre_tables(client, office, campaign, qingshan, cadre_qingshan):
    VaccinationFactory(resident=ResidentFactory(village=qingshan, responsible_cadre=cadre_qingshan))
    progress_compute(campaign=campaign)
    client.force_login(office)
    page = client.get(reverse("reports:dashboard")).content.decode()
    assert 'data-testid="village-table"' in page and "青山社区" in page
    assert 'data-testid="cadre-table"' in page and cadre_qingshan.get_full_name() in page
    assert 'id="progress-chart-data"' in page
