"""A one-dose and a three-dose campaign's dashboard and weekly report in a real browser: a column per dose
the campaign has, none for a dose it lacks; fully vaccinated only with the last dose."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from campaign.roles import Role
from campaign.tests.factories import CampaignFactory, SiteFactory, VillageFactory, user_with_role
from e2e.conftest import log_in, screenshot
from reports.supervision.services import weekly_report_make
from reports.tests.factories import vaccinated

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def campaign_of(transactional_db):
    """A campaign of `doses` around today (in its third week), two villages, and people vaccinated last week."""

    def make(doses: int):
        today = timezone.localdate()
        campaign = CampaignFactory(
            name=f"梅山镇{'麻疹' if doses == 1 else '乙肝'}疫苗接种",
            doses=doses,
            dose_intervals=[1] * (doses - 1),
            start_date=today - datetime.timedelta(days=20),
            end_date=today + datetime.timedelta(days=20),
            first_dose_deadline=today + datetime.timedelta(days=10),
            target_people=100,
            daily_floor_per_site=5,
        )
        site = SiteFactory(campaign=campaign, name="梅山社区卫生服务中心疫苗接种点", short_name="卫生服务中心")
        qingshan = VillageFactory(site=site, name="青山社区", quota=60)
        VillageFactory(site=site, name="红河社区", quota=40)
        monday = today - datetime.timedelta(days=today.weekday() + 7)
        days = [monday + datetime.timedelta(days=n) for n in range(doses)]
        vaccinated(village=qingshan, **{f"dose{n + 1}": day for n, day in enumerate(days)})  # complete
        if doses > 1:
            vaccinated(village=qingshan, dose1=days[0])  # dose 1 only
        weekly_report_make(campaign=campaign, week_start=monday)
        return campaign, monday

    return make


@pytest.mark.parametrize("doses", [1, 3])
def test_the_dashboard_and_weekly_report_show_the_campaign_s_doses(page, live_server, campaign_of, doses):
    campaign, monday = campaign_of(doses)
    user_with_role(Role.OFFICE, username="office", is_staff=True)
    log_in(page, live_server, "office", "pass-for-tests")
    page.wait_for_url(re.compile("/reports/$"))

    table = page.get_by_test_id("village-table")
    expect(table.get_by_test_id("dose-column")).to_have_count(doses)
    expect(page.get_by_test_id("completed")).to_contain_text("1 ")  # one person has every dose
    expect(page.locator("#progress-chart svg")).to_be_visible()
    legend = page.get_by_test_id("progress-chart").inner_text()
    if doses == 1:
        assert "第二剂" not in table.inner_text() and "已接种" in table.inner_text()
        assert "接种率" in page.get_by_test_id("cadre-table").inner_text()
        assert "第一剂" not in page.locator("main").inner_text()
        assert "已全程接种" in legend and "已接种第一剂次人数" not in legend
    else:
        assert "第三剂次" in table.inner_text()
        assert "已接种第一剂次人数" in legend
    screenshot(page, f"dashboard-{doses}-dose")

    iso = monday.isocalendar()
    page.goto(f"{live_server.url}/reports/weekly/{iso.year}-W{iso.week:02d}/")
    villages = page.get_by_test_id("villages")
    expect(villages.get_by_test_id("week-dose-column")).to_have_count(doses)
    qingshan = page.locator('[data-testid="village-row"][data-village="青山社区"]')
    cells = qingshan.locator("td").all_inner_texts()
    # rank, village, site, quota, this week per dose, in total per dose, fully vaccinated, ...
    week = [int(c) for c in cells[4 : 4 + doses]]
    assert week == ([1] if doses == 1 else [2, 1, 1]) and int(cells[4 + 2 * doses]) == 1
    assert ("第一剂" in page.get_by_test_id("summary").inner_text()) == (doses > 1)
    screenshot(page, f"weekly-report-{doses}-dose")
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/reports/")
    screenshot(page, f"dashboard-{doses}-dose-phone")
