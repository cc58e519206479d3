"""Vaccine supply in a real browser: a site records a delivery, gives a shot from the new lot, and its stock follows."""

import datetime
import re

from django.utils import timezone
from playwright.sync_api import expect

from campaign.demo import DEMO_PASSWORD
from e2e.conftest import log_in, screenshot
from e2e.test_site_workstation import JIANGDIAN, TABLET, booked_today
from sites.models import Site, Vaccination


def test_a_site_records_a_delivery_gives_a_shot_from_it_and_sees_its_stock_change(demo, live_server, page):
    site = Site.objects.get(campaign=demo, name=JIANGDIAN)
    appointment = booked_today(site)
    page.set_viewport_size(TABLET)
    log_in(page, live_server, "site_jiangdian", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/appointments/site/$"))

    # The delivery: 10 single-dose vials of a new lot, expiring in three months.
    page.get_by_test_id("nav-supply").click()
    page.get_by_test_id("record-delivery").click()
    page.fill("#id_manufacturer", "国药中生北京")
    page.fill("#id_number", "e2e0001")
    page.fill("#id_expiry_date", (timezone.localdate() + datetime.timedelta(days=90)).isoformat())
    page.fill("#id_doses_per_vial", "1")
    page.fill("#id_vials", "10")
    page.get_by_test_id("supply-submit").click()
    row = page.locator('[data-testid="stock-row"][data-lot="E2E0001"]')
    expect(row.get_by_test_id("stock-on-hand")).to_have_text("10")
    expect(row.get_by_test_id("stock-given")).to_have_text("0")
    screenshot(page, "supply-stock")

    # The shot, from the new lot: scan, screen, choose the lot, record.
    page.get_by_test_id("nav-workstation").click()
    page.get_by_test_id("scan-input").fill(appointment.token)  # the page loaded, not typed into the last one
    page.keyboard.press("Enter")
    card = page.get_by_test_id("person-card")
    expect(card).to_have_attribute("data-step", "screen")
    page.get_by_test_id("consent").check()
    page.get_by_test_id("temperature").fill("36.5")
    page.get_by_test_id("screen-submit").click()
    expect(card).to_have_attribute("data-step", "shot")
    page.get_by_test_id("pick-vaccinator").first.click()  # the nurse's name, once per shift (sites.dose_record)
    expect(page.get_by_test_id("shift-vaccinator")).to_be_visible()
    page.get_by_test_id("lot-E2E0001").check()
    page.get_by_test_id("injection-site-right_arm").check()
    screenshot(page, "supply-shot-lots")
    page.get_by_test_id("shot-submit").click()
    expect(card).to_have_attribute("data-step", "done")
    vaccination = Vaccination.objects.get(appointment=appointment)
    assert (vaccination.lot.number, vaccination.manufacturer) == ("E2E0001", "国药中生北京")

    # The stock: one dose given, nine on hand.
    page.get_by_test_id("nav-supply").click()
    row = page.locator('[data-testid="stock-row"][data-lot="E2E0001"]')
    expect(row.get_by_test_id("stock-given")).to_have_text("1")
    expect(row.get_by_test_id("stock-on-hand")).to_have_text("9")
