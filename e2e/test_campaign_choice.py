"""Two campaigns at once in a real browser, at phone size: a cadre switches campaigns in the top bar and
her village's list follows; the choice holds on the next page and after a new login."""

import datetime

from playwright.sync_api import expect

from campaign.demo import CAMPAIGN_NAME, DEMO_PASSWORD, VILLAGE_USERNAMES
from campaign.tests.factories import CampaignFactory, SiteFactory, VillageFactory
from e2e.conftest import log_in, screenshot
from residents.tests.factories import ResidentFactory

PHONE = {"width": 390, "height": 844}
BOOSTER = "加强免疫活动"


def open_menu(page):
    toggler = page.locator(".navbar-toggler")
    if toggler.is_visible():
        toggler.click()


def test_a_cadre_switches_campaigns_in_the_top_bar_on_a_phone(page, live_server, demo):
    village = demo.villages.order_by("id").first()
    # Started after the demo's campaign, which has run longer and so stays the default.
    booster = CampaignFactory(name=BOOSTER, start_date=demo.start_date + datetime.timedelta(days=3))
    site = SiteFactory(campaign=booster, name=village.site.name, short_name=village.site.short_name)
    ResidentFactory(village=VillageFactory(site=site, name=village.name, kind=village.kind), name="加强活动人")
    page.set_viewport_size(PHONE)
    log_in(page, live_server, f"cadre_{VILLAGE_USERNAMES[village.name]}", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/residents/")

    current = page.get_by_test_id("campaign-current")
    expect(current).to_have_text(CAMPAIGN_NAME)
    assert current.bounding_box()["x"] + current.bounding_box()["width"] <= PHONE["width"]  # on the phone's screen
    expect(page.get_by_text("加强活动人")).to_have_count(0)

    current.click()
    page.get_by_test_id("campaign-option").filter(has_text=BOOSTER).click()
    expect(page.get_by_test_id("campaign-current")).to_have_text(BOOSTER)
    assert page.url.endswith("/residents/")
    expect(page.get_by_text("加强活动人")).to_be_visible()
    screenshot(page, "campaign-choice-phone")

    page.goto(f"{live_server.url}/appointments/booking/")  # the next page works in the same campaign
    expect(page.get_by_test_id("campaign-current")).to_have_text(BOOSTER)

    open_menu(page)
    page.get_by_role("button", name="退出").click()
    log_in(page, live_server, f"cadre_{VILLAGE_USERNAMES[village.name]}", DEMO_PASSWORD)
    expect(page.get_by_test_id("campaign-current")).to_have_text(BOOSTER)  # remembered at the next login
