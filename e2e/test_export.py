import re

from openpyxl import load_workbook
from playwright.sync_api import expect

from campaign.demo import DEMO_PASSWORD
from campaign.models import Village
from e2e.conftest import log_in, screenshot
from reports.models import Export
from residents.models import Resident

# A masked file has no birth date column (campaign.lib.masking: beside a masked ID, only the age).
HEADERS = ["序号", "姓名", "性别", "年龄", "证件类型", "证件号码", "手机号码", "村（社区）"]


def test_the_office_exports_a_village_roster_and_downloads_it_masked(page, live_server, demo, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    qingshan = Village.objects.get(name="青山社区")
    log_in(page, live_server, "office", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/reports/$"))
    page.get_by_role("link", name="导出居民花名册").click()
    page.wait_for_url(re.compile("/reports/exports/$"))
    page.get_by_test_id("export-village").select_option(label="青山社区")
    screenshot(page, "export-form")
    page.get_by_test_id("export-button").click()

    # No broker on the embedded default: the task ran in-process, the file is ready at once.
    page.wait_for_url(re.compile(r"/reports/exports/\d+/$"))
    expect(page.get_by_test_id("export-status")).to_have_attribute("data-status", "done")
    expected = Resident.objects.filter(village=qingshan).count()
    assert f"共 {expected} 人" in page.get_by_test_id("export-status").inner_text()
    assert "已脱敏" in page.content()
    screenshot(page, "export-done")

    with page.expect_download() as info:
        page.get_by_test_id("download").click()
    download = info.value
    assert re.fullmatch(r"青山社区居民花名册_\d{8}-\d{4}\.xlsx", download.suggested_filename)
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    sheet = load_workbook(path).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0].endswith("青山社区居民花名册")
    assert list(rows[2][: len(HEADERS)]) == HEADERS
    data = rows[3:]
    assert len(data) == expected
    assert {row[7] for row in data} == {"青山社区"}
    id_numbers = [row[5] for row in data if row[4] == "身份证"]
    assert id_numbers and all(re.fullmatch(r"\d{6}\*{8}[\dX]{4}", number) for number in id_numbers)
    assert all("****" in row[5] for row in data)  # the other documents too, each by its rule
    phones = [row[6] for row in data if row[6]]
    assert phones and all(re.fullmatch(r"1\d{2}\*{4}\d{4}", phone) for phone in phones)

    # The audit list: who exported what, when, with which filter, masked or not.
    page.get_by_role("link", name="返回数据导出").click()
    row = page.get_by_test_id("export-row").first
    assert "储国庆" in row.inner_text() and "青山社区" in row.inner_text() and "已脱敏" in row.inner_text()
    screenshot(page, "export-list")


def test_the_status_page_polls_until_a_worker_has_built_the_file(
    page, live_server, demo, settings, tmp_path, monkeypatch
):
    """With a broker the build happens elsewhere: the page shows the wait and turns ready by itself."""
    from reports.services import export_build
    from reports.tasks import build_export

    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(build_export, "apply_async", lambda *args, **kwargs: None)  # queued, no worker yet
    log_in(page, live_server, "office", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/reports/$"))
    page.goto(f"{live_server.url}/reports/exports/")
    page.get_by_test_id("export-status-filter").select_option("eligible")
    page.get_by_test_id("export-button").click()
    page.wait_for_url(re.compile(r"/reports/exports/\d+/$"))
    status = page.get_by_test_id("export-status")
    expect(status).to_have_attribute("data-status", "pending")
    assert "排队" in status.inner_text()
    screenshot(page, "export-pending")

    export_build(export_id=Export.objects.get().pk)  # the "worker"
    expect(page.get_by_test_id("download")).to_be_visible(timeout=5000)
    expect(page.get_by_test_id("export-status")).to_have_attribute("data-status", "done")


def test_an_export_lost_with_its_worker_says_so_and_is_asked_again_in_one_click(
    page, live_server, demo, settings, tmp_path
):
    import datetime

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from reports.services import LEASE, MAX_ATTEMPTS, export_sweep

    settings.MEDIA_ROOT = tmp_path / "media"
    office = get_user_model().objects.get(username="office")
    started = timezone.now() - LEASE - datetime.timedelta(minutes=1)
    lost = Export.objects.create(
        kind=Export.Kind.RESIDENTS,
        campaign=Village.objects.get(name="青山社区").campaign,
        parameters={"status": "eligible"},
        requested_by=office,
        requested_at=started,
        status=Export.Status.RUNNING,
        started_at=started,
        attempts=MAX_ATTEMPTS,
    )
    export_sweep()  # its worker died once too often
    log_in(page, live_server, "office", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/reports/$"))
    page.goto(f"{live_server.url}/reports/exports/{lost.pk}/")
    failed = page.get_by_test_id("export-failed")
    expect(failed).to_contain_text("后台处理程序多次中断")
    screenshot(page, "export-lost")
    page.get_by_test_id("export-again").click()
    page.wait_for_url(re.compile(r"/reports/exports/\d+/$"))
    expect(page.get_by_test_id("download")).to_be_visible(timeout=10000)  # built in-process on the embedded default
    again = Export.objects.exclude(pk=lost.pk).get()
    assert again.parameters == {"status": "eligible"} and again.status == Export.Status.DONE
