"""Hostile uploads are refused early with a clear message, and no upload grows the web process past
the bound (docs/IMPORT.md): not a sheet, a damaged zip, zip bombs, a shared-strings bomb, huge
cells, a row of millions of cells, 100,000 rows (bombs in .xls, .ods and CSV: test_import_formats.py).
Memory is measured as peak RSS: in a subprocess for reading, and in this process (its peak reset
first) for the largest upload that is accepted.
"""

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from residents.importing.formats import inspect
from residents.importing.limits import ImportFileError
from residents.importing.services import import_preview
from residents.models import ImportBatch
from residents.tests import hostile
from residents.tests.sheets import person, xlsx

pytestmark = pytest.mark.django_db

BOUND_MB = 300  # no upload may make the web process grow past this
READ_GROWTH_MB = 100  # reading (or refusing) one upload adds at most this to a ~120 MB process

DAMAGED = "文件已损坏"
NOT_XLSX = "这不是可以读取的表格文件"
UNPACKED = "解压后有"
CELL = "每个单元格最多 200 个字"
TOO_BIG = "逐个单元格读取"
ROWS = "超过 20000 行"
WIDE = "超过 2000 个单元格"


def preview(data, village, user):
    return import_preview(data=data, file_name="名单.xlsx", campaign=village.campaign, village=village, user=user)


def refused(data, village, user) -> str:
    with pytest.raises(ImportFileError) as caught:
        preview(data, village, user)
    assert ImportBatch.objects.count() == 0  # nothing kept, not even the file
    return str(caught.value)


# Peak RSS from /proc (VmHWM, this process's own since exec): getrusage's ru_maxrss keeps the
# parent's peak across fork and exec on Linux, so under pytest it reported pytest's size.
READER = """
import json, os, re, sys
sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campaign.settings")
import django
django.setup()
from residents.importing.limits import ImportFileError
from residents.importing.reading import read_sheet

def peak_mb():
    with open("/proc/self/status") as status:
        return int(re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1)) / 1024

base = peak_mb()
data = open(sys.argv[1], "rb").read()
try:
    sheet = read_sheet(data)
    outcome = f"read {len(sheet.rows)} rows"
except ImportFileError as error:
    outcome = str(error)
del data
print(json.dumps({"outcome": outcome, "base_mb": base, "peak_mb": peak_mb()}))
"""


def read_in_a_subprocess(data: bytes, tmp_path) -> dict:
    """Read `data` as the web process would, in a fresh interpreter; its message and peak RSS."""
    path = tmp_path / "upload.xlsx"
    path.write_bytes(data)
    done = subprocess.run(
        [sys.executable, "-c", READER, str(path)],
        cwd=Path(settings.BASE_DIR),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def assert_bounded(measured: dict) -> None:
    assert measured["peak_mb"] < BOUND_MB, measured
    assert measured["peak_mb"] - measured["base_mb"] < READ_GROWTH_MB, measured


# Not a workbook, or a damaged one.


@pytest.mark.parametrize(
    "content",
    [
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF",
        "<html><body>名单</body></html>".encode("gbk"),
    ],
    ids=["pdf", "html"],
)
def test_a_file_that_is_no_sheet_is_refused_by_its_content(cadre_qingshan, qingshan, content):
    assert NOT_XLSX in refused(content, qingshan, cadre_qingshan)


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # cut off in the middle: no directory at the end
        lambda data: b"PK\x03\x04" + bytes(range(256)) * 40,  # a zip's first bytes and then noise
        lambda data: data.replace(b"xl/workbook.xml", b"xl/workbook.xmm"),  # its main part missing
        lambda data: data[:2000] + bytes(500) + data[2500:],  # compressed data overwritten
    ],
    ids=["truncated", "noise", "missing part", "overwritten"],
)
def test_a_damaged_zip_is_refused_as_damaged(cadre_qingshan, qingshan, damage):
    message = refused(damage(xlsx([person(n) for n in range(50)])), qingshan, cadre_qingshan)
    assert DAMAGED in message or NOT_XLSX in message


# Bombs.


@pytest.fixture(scope="module")
def gigabyte_bomb():
    return hostile.zip_bomb(2 * 1024**3)  # 2 GB of blanks in a 9 MB file


def test_a_zip_bomb_of_two_gigabytes_is_refused_from_its_directory_alone(
    cadre_qingshan, qingshan, gigabyte_bomb, tmp_path
):
    assert len(gigabyte_bomb) < 10 * 1024 * 1024  # under the upload limit: the size alone cannot catch it
    assert UNPACKED in refused(gigabyte_bomb, qingshan, cadre_qingshan)
    measured = read_in_a_subprocess(gigabyte_bomb, tmp_path)
    assert UNPACKED in measured["outcome"] and "2048 MB" in measured["outcome"]
    assert_bounded(measured)


def test_a_zip_bomb_that_understates_its_size_fails_as_damaged_without_unpacking_it(cadre_qingshan, qingshan, tmp_path):
    # Its directory says 4 KB; the sheet holds 200 MB. zipfile stops at what is declared and the
    # scan finds the member damaged, before python-calamine opens the file.
    lying = hostile.understate(hostile.zip_bomb(200 * 1024**2), "xl/worksheets/sheet1.xml", 4096)
    with pytest.raises(ImportFileError, match=DAMAGED):
        inspect(lying)
    assert DAMAGED in refused(lying, qingshan, cadre_qingshan)
    measured = read_in_a_subprocess(lying, tmp_path)
    assert DAMAGED in measured["outcome"]
    assert_bounded(measured)


def test_a_shared_strings_bomb_is_refused_before_it_is_read(cadre_qingshan, qingshan, tmp_path):
    # One string of five million characters, in 12 cells of 20,000 rows: 0.1 MB zipped. python-calamine
    # copies a shared text into every cell that uses it: 3.6 TB, counted from the XML before it opens the file.
    bomb = hostile.shared_string_bomb()
    assert len(bomb) < 1024 * 1024
    message = refused(bomb, qingshan, cadre_qingshan)
    assert TOO_BIG in message
    measured = read_in_a_subprocess(bomb, tmp_path)
    assert TOO_BIG in measured["outcome"]
    assert_bounded(measured)


# The probe's huge cells, and other shapes.


@pytest.mark.parametrize("shared", [False, True], ids=["each its own text", "one shared text"])
def test_twenty_thousand_names_of_14_kb_are_refused_and_reading_them_stays_small(
    cadre_qingshan, qingshan, tmp_path, shared
):
    # The probe: 20,000 names of 14 KB grew the web process to 2.6 GB, then PostgreSQL refused the preview.
    if shared:
        data = hostile.shared_string_bomb(count=20_000, chars=14 * 1024, columns=2)
        expected = TOO_BIG
    else:
        data = hostile.huge_cells(count=20_000, chars=14 * 1024)
        expected = UNPACKED
    assert expected in refused(data, qingshan, cadre_qingshan)
    measured = read_in_a_subprocess(data, tmp_path)
    assert expected in measured["outcome"]
    assert_bounded(measured)


def test_a_cell_one_character_over_the_limit_is_refused_naming_the_cell(cadre_qingshan, qingshan):
    rows = [person(0), person(1, 包保责任人="王" * 201)]
    message = refused(xlsx(rows), qingshan, cadre_qingshan)
    assert "单元格 F3 有 201 个字" in message


def test_the_cell_limit_comes_from_settings(cadre_qingshan, qingshan, settings):
    settings.IMPORT_MAX_CELL_CHARS = 10
    assert "每个单元格最多 10 个字" in refused(xlsx([person(0, 姓名="王" * 11)]), qingshan, cadre_qingshan)


def test_a_row_of_three_million_empty_cells_is_refused_before_it_is_read(cadre_qingshan, qingshan, tmp_path):
    # 60 KB zipped, 12 MB unpacked: openpyxl built the row whole and took a gigabyte.
    wide = hostile.workbook([["<c/>"] * 3_000_000], headers=["姓名", "身份证号码"])
    assert WIDE in refused(wide, qingshan, cadre_qingshan)
    measured = read_in_a_subprocess(wide, tmp_path)
    assert WIDE in measured["outcome"]
    assert_bounded(measured)


def test_a_sheet_of_100000_rows_is_refused(cadre_qingshan, qingshan):
    assert ROWS in refused(hostile.many_rows(100_000), qingshan, cadre_qingshan)


# The largest upload accepted stays under the bound, file and preview kept.


def _peak_rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def _current_rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


def test_the_largest_accepted_upload_keeps_a_small_preview_and_stays_under_the_bound(cadre_qingshan, qingshan):
    # 20,000 rows, every one of the 12 columns holding one shared string of 100 characters (at 200, the
    # cell limit, the sheet takes more than the read limit once every cell holds its copy): all within
    # the limits, so it is read, judged and kept; every row is wrong, and every wrong value is quoted.
    data = hostile.widest_accepted(20_000, min(100, settings.IMPORT_MAX_CELL_CHARS))
    try:
        Path("/proc/self/clear_refs").write_text("5")  # Linux: reset this process's peak RSS
    except OSError:
        pytest.skip("cannot reset the peak RSS here (/proc/self/clear_refs)")
    before = _current_rss_mb()
    batch = preview(data, qingshan, cadre_qingshan)
    growth = _peak_rss_mb() - before
    assert batch.error_count == 20_000
    assert len(json.dumps(batch.rows)) < 20 * 1024 * 1024  # the preview as stored (ASCII-escaped JSON)
    assert max(len(text) for row in batch.rows for text in row["cells"].values()) <= 50
    assert growth < BOUND_MB - 120, f"the import grew this process by {growth:.0f} MB"


def test_past_the_detailed_errors_a_wrong_row_says_which_cells_and_to_fix_the_first_ones(
    cadre_qingshan, qingshan, monkeypatch, client
):
    from django.urls import reverse
    from openpyxl import load_workbook

    from residents.importing import rows
    from residents.importing import services as importing

    monkeypatch.setattr(rows, "DETAILED_ERRORS", 2)
    batch = preview(xlsx([person(n, 手机号码="1") for n in range(4)]), qingshan, cadre_qingshan)
    assert batch.error_count == 4
    assert [row["errors"] for row in batch.rows][2:] == [{"phone": ""}, {"phone": ""}]
    assert batch.rows[0]["errors"]["phone"] and batch.rows[0]["cells"]

    client.force_login(cadre_qingshan)
    page = client.get(reverse("residents:import_preview", args=[batch.pk])).content.decode()
    assert page.count("只给出前 2 个错误行的原因") == 2
    report = load_workbook(io.BytesIO(importing.error_report(batch))).active
    reasons = [row[-1].value for row in report.iter_rows(min_row=2)]
    assert "只给出前 2 个错误行的原因" not in reasons[0] and "只给出前 2 个错误行的原因" in reasons[3]
