import re

from django.utils import timezone
from openpyxl import load_workbook
from playwright.sync_api import expect

from campaign.demo import DEMO_PASSWORD
from e2e.conftest import ARTIFACTS, log_in, screenshot
from reports.models import WeeklyReport
from reports.supervision.services import last_week_start


def test_the_office_makes_last_weeks_report_reads_it_and_downloads_the_excel(page, live_server, demo, tmp_path):
    log_in(page, live_server, "office", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/reports/$"))
    page.goto(f"{live_server.url}/reports/weekly/")
    expect(page.get_by_test_id("page-title")).to_have_text("周调度通报")
    # The demo comes with the reports of the weeks already over; the office makes last week's again.
    made_by_the_demo = WeeklyReport.objects.count()
    assert made_by_the_demo >= 1
    screenshot(page, "weekly-list-demo")
    page.get_by_test_id("make-button").click()  # the week picker starts on last week

    page.wait_for_url(re.compile(r"/reports/weekly/\d{4}-W\d{2}/$"))
    report = WeeklyReport.objects.get(week_start=last_week_start(timezone.localdate()))
    assert report.made_by.username == "office" and WeeklyReport.objects.count() == made_by_the_demo
    assert page.url.endswith(f"/reports/weekly/{report}/")
    rows = page.get_by_test_id("village-row")
    expect(rows).to_have_count(22)
    assert "排名" in page.get_by_test_id("villages").inner_text()
    expect(page.get_by_test_id("site-row")).to_have_count(3)
    screenshot(page, "weekly-report")

    # The supervision group's finding, recorded here by the office.
    page.get_by_test_id("finding-village").select_option(label="青山社区")
    page.get_by_test_id("finding-level").select_option("deduct")
    page.get_by_test_id("finding-points_deducted").fill("2")
    page.get_by_test_id("finding-text").fill("入户摸排台账不全，干部未到岗")
    page.get_by_test_id("finding-save").click()
    expect(page.get_by_test_id("finding-row")).to_have_count(1)
    assert "扣分" in page.get_by_test_id("finding-row").inner_text()

    page.emulate_media(media="print")
    expect(page.locator("nav.navbar")).to_be_hidden()
    expect(page.get_by_test_id("finding-form")).to_be_hidden()
    screenshot(page, "weekly-report-print")
    page.pdf(path=str(ARTIFACTS / "weekly-report.pdf"), format="A4", landscape=True)
    page.emulate_media(media="screen")

    with page.expect_download() as info:
        page.get_by_test_id("excel").click()
    download = info.value
    assert download.suggested_filename == f"梅山镇新冠病毒疫苗接种周调度通报_{report}.xlsx"
    path = tmp_path / "weekly.xlsx"
    download.save_as(path)
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["村居进度", "接种点进度", "督查记录", "完成率图表", "疫苗库存"]
    villages = workbook["村居进度"]
    assert villages["A1"].value.startswith("梅山镇新冠病毒疫苗接种周调度通报")
    assert villages["A3"].value == "排名" and villages.freeze_panes == "C4"
    assert villages.max_row == 3 + 22 + 1
    assert workbook["督查记录"]["D4"].value == "入户摸排台账不全，干部未到岗"
    assert len(workbook["完成率图表"]._charts) == 1

    page.get_by_role("link", name="全部通报").click()
    expect(page.get_by_test_id("weekly-row")).to_have_count(made_by_the_demo)
    screenshot(page, "weekly-list")
    page.get_by_test_id("thresholds-link").click()
    page.get_by_label("落后多少个百分点起约谈").fill("25")  # above the deduction threshold: refused
    page.get_by_test_id("save-thresholds").click()
    expect(page.get_by_test_id("errors")).to_be_visible()
    screenshot(page, "weekly-thresholds-refused")
    page.get_by_label("落后多少个百分点起约谈").fill("12")
    page.get_by_test_id("save-thresholds").click()
    expect(page.get_by_test_id("page-title")).to_have_text("周调度通报")
    assert "12 个及以上建议约谈" in page.content()


def test_the_office_downloads_todays_figures_for_the_county_in_one_click(page, live_server, demo, tmp_path):
    log_in(page, live_server, "office", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/reports/$"))
    page.goto(f"{live_server.url}/reports/weekly/")
    with page.expect_download() as info:
        page.get_by_test_id("upward-today").click()
    path = tmp_path / "upward.xlsx"
    info.value.save_as(path)
    sheet = load_workbook(path).active
    assert re.fullmatch(r"梅山镇新冠病毒疫苗接种进度上报表（\d{4}年\d{1,2}月\d{1,2}日）", sheet["A1"].value)
    assert sheet["C3"].value == "村（社区）" and sheet.freeze_panes == "D4"
    assert sheet.cell(sheet.max_row, 2).value == "全镇合计"
