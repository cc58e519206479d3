"""The default demo (72,000 residents, what `make run` loads) as a newcomer first sees it.

One test at the seed's scale: about 30 s to load on SQLite, within the suite's budget for one test.
"""

import datetime
import io
import re

from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from campaign.demo import DEMO_PASSWORD
from campaign.models import Campaign
from e2e.conftest import log_in, screenshot
from reports.models import WeeklyReport


def test_the_default_demo_reads_like_a_campaign_in_its_sixth_week(page, live_server, transactional_db):
    call_command("load_demo", stdout=io.StringIO(), stderr=io.StringIO())
    campaign = Campaign.objects.default()
    last = WeeklyReport.objects.filter(campaign=campaign).order_by("week_start").last()

    log_in(page, live_server, "leader", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/reports/$"))
    # The forecast is a date near the end of the window, not years away.
    reached = datetime.date.fromisoformat(page.get_by_test_id("reached-on").inner_text().strip())
    assert campaign.end_date - datetime.timedelta(days=20) <= reached <= campaign.end_date + datetime.timedelta(days=30)
    dose1 = int(page.get_by_test_id("dose1").inner_text().split()[0])
    assert 0.35 * campaign.target_people < dose1 < 0.65 * campaign.target_people
    expect(page.get_by_test_id("progress-chart").locator("canvas, svg").first).to_be_visible()
    # Some villages behind the line, most not.
    behind = page.locator("[data-testid=village-row].table-warning").count()
    assert 3 <= behind <= 16
    screenshot(page, "demo-dashboard-leader")

    page.goto(f"{live_server.url}/reports/weekly/{last}/")
    levels = [row.get_attribute("data-level") for row in page.get_by_test_id("village-row").all()]
    assert len(levels) == 22
    assert levels.count("") >= 8, levels  # villages with nothing proposed
    assert len(set(levels) - {""}) >= 2 and levels.count("deduct") <= 4, levels  # a mix, not 扣分 for all
    screenshot(page, "demo-weekly-leader")
    assert last.week_start + datetime.timedelta(days=13) >= timezone.localdate()
