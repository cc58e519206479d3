"""A long export in the browser: the bar moves with the rows the build reports and ends on the download.

Redis is configured but down here (Celery's send raises), so the build runs in a thread of the web
process (campaign.lib.jobs.enqueue_or_run_here); the build is held half-way until the test has
looked at the bar, then let go. PostgreSQL, for the build's thread beside the live server's
(reports/tests/test_broker_down.py says why).
"""

import re
import threading

import pytest
from kombu.exceptions import OperationalError
from openpyxl import load_workbook
from playwright.sync_api import expect

from campaign.demo import DEMO_PASSWORD
from campaign.lib import jobs
from e2e.conftest import log_in, screenshot
from e2e.test_csp import Watch
from reports import roster, services
from reports.models import Export
from reports.tasks import build_export
from residents.models import Resident

LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def dead_broker(*args, **kwargs):
    raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


def held_at(rows: int, monkeypatch):
    """The build waits after `rows` rows until the returned event is set; `reached` is set when it waits."""
    reached, go_on = threading.Event(), threading.Event()
    real = services.write_roster

    def write_roster(*, progress, **kwargs):
        def report(done, total):
            progress(done, total)
            if done >= rows and not go_on.is_set():
                reached.set()
                go_on.wait(60)

        return real(progress=report, **kwargs)

    monkeypatch.setattr(services, "write_roster", write_roster)
    return reached, go_on


@pytest.mark.postgres
def test_the_bar_follows_the_build_and_the_page_ends_on_the_download_without_a_reload(
    page, live_server, demo, settings, tmp_path, monkeypatch
):
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(roster, "PROGRESS_EVERY", 10)
    monkeypatch.setattr(jobs, "WRITE_EVERY", 0)
    monkeypatch.setattr(build_export, "apply_async", dead_broker)
    reached, go_on = held_at(80, monkeypatch)
    total = Resident.objects.count()
    watch = Watch(page)
    page.set_viewport_size(LAPTOP)

    log_in(page, live_server, "office", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/reports/$"))
    page.goto(f"{live_server.url}/reports/exports/")
    page.get_by_test_id("export-button").click()
    page.wait_for_url(re.compile(r"/reports/exports/\d+/$"))
    page.evaluate("window.sameDocument = true")  # gone if the page reloads

    assert reached.wait(30), "the build never reached its 80th row"
    bar = page.get_by_role("progressbar")
    percent = 80 * 100 // total
    expect(bar).to_have_attribute("aria-valuenow", str(percent), timeout=5000)
    expect(page.get_by_test_id("export-status")).to_contain_text(f"已完成 {percent}%（80 / {total} 行）")
    width = page.evaluate("document.querySelector('[data-progress-bar] .progress-bar').style.width")
    assert width == f"{percent}%"
    screenshot(page, "export-progress-1366")
    page.set_viewport_size(PHONE)
    screenshot(page, "export-progress-390")
    page.set_viewport_size(LAPTOP)

    go_on.set()
    download = page.get_by_test_id("download")
    expect(download).to_be_visible(timeout=10000)
    expect(page.get_by_test_id("export-status")).to_have_attribute("data-status", "done")
    assert page.evaluate("window.sameDocument") is True  # the result was swapped in, not reloaded
    assert page.get_by_role("progressbar").count() == 0
    screenshot(page, "export-progress-done-1366")
    page.set_viewport_size(PHONE)
    screenshot(page, "export-progress-done-390")
    assert watch.violations == []

    with page.expect_download() as info:
        download.click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    rows = list(load_workbook(path).active.iter_rows(min_row=roster.HEADER_ROW + 1, values_only=True))
    assert len(rows) == total == Export.objects.get().row_count


def test_without_javascript_the_page_reloads_itself_until_the_file_is_ready(
    browser, page, live_server, demo, settings, tmp_path, monkeypatch
):
    from reports.services import export_build

    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(build_export, "apply_async", lambda *args, **kwargs: None)  # queued, no worker yet
    log_in(page, live_server, "office", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/reports/$"))
    # The same session in a browser that runs no script at all.
    context = browser.new_context(
        locale="en-US", viewport=LAPTOP, java_script_enabled=False, storage_state=page.context.storage_state()
    )
    plain = context.new_page()
    try:
        plain.goto(f"{live_server.url}/reports/exports/")
        plain.get_by_test_id("export-button").click()
        plain.wait_for_url(re.compile(r"/reports/exports/\d+/$"))
        expect(plain.get_by_test_id("export-status")).to_contain_text("正在排队等待生成")
        expect(plain.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "0")
        expect(plain.get_by_test_id("export-reload")).to_be_visible()
        screenshot(plain, "export-progress-nojs-waiting")

        export_build(export_id=Export.objects.get().pk)  # the worker
        expect(plain.get_by_test_id("download")).to_be_visible(timeout=15000)  # the page's own refresh
    finally:
        context.close()
