import io
import re
import time

from openpyxl import load_workbook

from campaign.demo import DEMO_PASSWORD
from e2e.conftest import ARTIFACTS, log_in, screenshot
from residents.importing.reading import HEADERS
from residents.models import Resident
from residents.tests.sheets import big_sheet

FIELD_OF_HEADER = {aliases[0]: field for field, aliases in HEADERS.items()}
SCREENING = {
    "孕妇",
    "以前疫苗接种严重过敏反应",
    "惊厥、癫痫、脑病、精神疾病史或家族史",
    "发热",
    "急性疾病或慢性疾病急性发作期",
    "严重慢性疾病",
}


def test_a_cadre_imports_5000_residents_and_sees_the_20_bad_rows_explained(page, live_server, demo, tmp_path):
    started = time.perf_counter()
    village_before = Resident.objects.filter(village__name="青山社区").count()
    log_in(page, live_server, "cadre_qingshan", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/residents/$"))
    page.get_by_test_id("import-link").click()
    page.wait_for_url(re.compile("/residents/import/$"))
    assert "从 Excel 导入居民" in page.get_by_test_id("page-title").inner_text()
    screenshot(page, "import-start")

    with page.expect_download() as download:
        page.get_by_test_id("template").click()
    template = load_workbook(io.BytesIO(download.value.path().read_bytes()))
    assert [cell.value for cell in template.worksheets[0][1]][:2] == ["姓名", "身份证号码"]

    data, expected = big_sheet(5000, 20)
    sheet = tmp_path / "青山社区摸排表.xlsx"
    sheet.write_bytes(data)
    page.get_by_test_id("import-file").set_input_files(str(sheet))
    page.get_by_test_id("upload").click()
    page.wait_for_url(re.compile(r"/residents/import/\d+/$"))

    assert page.get_by_test_id("count-error").inner_text() == "20"
    assert page.get_by_test_id("count-new").inner_text() == "4980"
    error_rows = page.locator("tr[data-action=error]")
    assert error_rows.count() == 20
    for index in range(20):
        row = error_rows.nth(index)
        number = int(row.get_attribute("data-row"))
        header = expected[number]
        field = "contraindications" if header in SCREENING else FIELD_OF_HEADER[header]
        cell = row.locator(f"td[data-field={field}]")
        assert "cell-error" in cell.get_attribute("class"), (number, header)
        reason = cell.get_by_test_id("cell-error").first.inner_text()
        assert re.search(r"[\u4e00-\u9fff]", reason), reason  # explained in Chinese
    screenshot(page, "import-preview")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "import-preview-phone")
    page.screenshot(path=str(ARTIFACTS / "import-preview-phone-first-screen.png"))  # what the cadre sees first
    page.set_viewport_size({"width": 1280, "height": 860})

    page.get_by_test_id("confirm").click()
    page.wait_for_selector("[data-testid=import-done]")
    assert "导入完成：新登记 4980 人，更新 0 人。" in page.content()
    assert page.get_by_test_id("count-new").inner_text() == "4980"
    assert Resident.objects.filter(village__name="青山社区").count() == village_before + 4980
    screenshot(page, "import-done")
    page.get_by_test_id("tab-all").click()
    page.wait_for_url(re.compile(r"show=all"))
    assert page.locator("tr[data-row]").count() == 500  # a page of the 5,000 rows
    page.screenshot(path=str(ARTIFACTS / "import-done-all-rows.png"))

    # About 12 s on SQLite and 22 s on PostgreSQL on a busy 2-core machine; a per-row write would blow this.
    assert time.perf_counter() - started < 60


def test_a_big_sheet_shows_the_share_read_and_opens_its_preview_when_read(page, live_server, demo):
    from django.contrib.auth.models import User

    from campaign.models import Village
    from residents.importing import services as importing
    from residents.models import ImportBatch

    cadre = User.objects.get(username="cadre_qingshan")
    village = Village.objects.get(name="青山社区")
    data, _bad = big_sheet(3_000, bad=3)
    # Uploaded on a server with a broker, its worker not yet started: the page follows the reading.
    batch = ImportBatch.objects.create(
        campaign=demo,
        village=village,
        uploaded_by=cadre,
        file_name="青山社区摸排表.xlsx",
        content=data,
        status=ImportBatch.Status.READING,
    )
    log_in(page, live_server, "cadre_qingshan", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/residents/$"))
    page.goto(f"{live_server.url}/residents/import/{batch.pk}/")
    bar = page.get_by_test_id("progress-bar")
    assert bar.is_visible() and bar.get_attribute("aria-valuenow") == "0"
    assert "等待读取" in page.get_by_test_id("import-reading").inner_text()
    screenshot(page, "import-reading")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "import-reading-phone")
    page.set_viewport_size({"width": 1280, "height": 860})

    importing.import_read(batch_id=batch.pk)  # the worker reads it; the page polls and opens the preview
    page.wait_for_selector("[data-testid=count-new]", timeout=30_000)
    assert page.get_by_test_id("count-new").inner_text() == "2997"
    assert page.get_by_test_id("count-error").inner_text() == "3"
    screenshot(page, "import-read")
    batch.refresh_from_db()
    assert batch.progress_done == batch.progress_total == 3_000
