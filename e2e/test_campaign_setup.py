"""The office sets up part 三's measles campaign in the app, beside the COVID campaign that goes on."""

import datetime
import re

import openpyxl
from django.utils import timezone

from campaign.demo import DEMO_PASSWORD, SITES
from campaign.models import Campaign
from e2e.conftest import ARTIFACTS, log_in

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
NAME = "梅山镇麻疹疫苗查漏补种"


def allocation_sheet(path):
    """The county's 附件1 for the measles campaign: children 8 months-6 years are about 6% of a village.

    One row is wrong on purpose (洪冲村: a quota above its population), as sheets typed by hand are.
    """
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["附件1"])
    sheet.append(["梅山镇各村（社区）麻疹疫苗查漏补种人数分配表"])
    sheet.append(["序号", "村（社区）", "人口数", "分配人数"])
    number = 0
    for _site, _short, _address, _capacity, _user, villages in SITES:
        for village, population in villages:
            number += 1
            children = population * 6 // 100
            quota = children + 50 if village == "洪冲村" else children * 9 // 10
            sheet.append([number, village, children, quota])
    sheet.append(["", "合计", "", ""])
    book.save(path)
    return number


def _screens(page, name):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_the_office_creates_a_one_dose_measles_campaign_and_imports_its_allocation(page, live_server, demo, tmp_path):
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server, "office", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/reports/$"))
    page.get_by_test_id("nav-manage").click()
    page.get_by_test_id("nav-campaign-setup").click()
    page.wait_for_url(re.compile("/campaign/setup/$"))
    assert "活动设置" in page.get_by_test_id("page-title").inner_text()
    assert demo.name in page.get_by_test_id("campaigns").inner_text()

    page.get_by_test_id("campaign-new").click()
    page.wait_for_url(re.compile("/campaign/setup/new/$"))
    page.fill("#id_vaccine", "麻腮风联合减毒活疫苗")
    page.fill("#id_name", NAME)
    page.fill("#id_min_age", "8")
    page.fill("#id_max_age", "72")
    page.select_option("#id_age_unit", "months")
    # The gaps follow the number of doses at once; one dose has none.
    assert not page.locator("#id_gap_1").is_visible()
    page.select_option("#id_doses", "3")
    assert page.locator("#id_gap_2").is_visible() and not page.locator("#id_gap_3").is_visible()
    page.select_option("#id_doses", "1")
    assert not page.locator("#id_gap_1").is_visible()
    today = timezone.localdate()
    page.fill("#id_start_date", (today - datetime.timedelta(days=4)).isoformat())
    page.fill("#id_end_date", (today + datetime.timedelta(days=5)).isoformat())
    page.fill("#id_first_dose_deadline", (today + datetime.timedelta(days=5)).isoformat())
    page.fill("#id_target_people", "9000")
    page.fill("#id_daily_floor_per_site", "100")
    # The township's three sites come ticked with their capacity from the COVID campaign.
    assert page.get_by_test_id("site-row").count() == 4  # three known, one empty row for a new site

    rows = allocation_sheet(tmp_path / "附件1.xlsx")
    page.set_input_files("#id_file", str(tmp_path / "附件1.xlsx"))
    page.get_by_test_id("import-preview").click()
    page.wait_for_selector("[data-testid=import-summary]")
    assert f"已从分配表读取{rows}行" in page.get_by_test_id("import-summary").inner_text()
    bad = page.get_by_test_id("import-row-error")
    assert bad.count() == 1 and "超过人口数" in bad.inner_text()
    # What was typed above stays; the villages below are the sheet's, each with the site that served it.
    assert page.input_value("#id_name") == NAME
    assert page.locator("[data-testid=village-row] input[name$='-name'][value='青山社区']").count() == 1
    page.set_viewport_size(DESKTOP)
    _screens(page, "campaign-setup-preview-desktop")
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(ARTIFACTS / "campaign-setup-phone-top.png"))
    page.get_by_test_id("import-summary").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "campaign-setup-phone-preview.png"))
    page.set_viewport_size(DESKTOP)

    # Saving with the wrong row says so, in Chinese, and saves nothing.
    page.get_by_test_id("setup-save").click()
    errors = page.get_by_test_id("setup-errors")
    assert "“洪冲村”：任务数" in errors.inner_text()
    assert not Campaign.objects.filter(name=NAME).exists()
    _screens(page, "campaign-setup-refused-desktop")

    row = page.locator("[data-testid=village-row]", has=page.locator("input[value='洪冲村']"))
    row.locator("input[name$='-quota']").fill("300")
    page.get_by_test_id("setup-save").click()
    page.wait_for_url(re.compile("/campaign/setup/$"))
    listed = page.locator("[data-testid=campaign-row]", has_text=NAME)
    assert "1剂" in listed.inner_text() and "8–72月龄" in listed.inner_text()
    assert "进行中" in listed.inner_text()
    assert "进行中" in page.locator("[data-testid=campaign-row]", has_text=demo.name).inner_text()
    _screens(page, "campaign-setup-list-desktop")
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(ARTIFACTS / "campaign-setup-list-phone.png"))

    measles = Campaign.objects.get(name=NAME)
    assert (measles.doses, measles.dose_intervals, measles.age_unit) == (1, [], "months")
    assert measles.villages.count() == rows and measles.sites.count() == 3
    assert measles.villages.get(name="洪冲村").quota == 300
    assert list(Campaign.objects.open().order_by("pk")) == [demo, measles]
