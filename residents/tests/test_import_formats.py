"""Every format a cadre's office saves is read alike: .xlsx, .xls, .ods, CSV (UTF-8, with a BOM, GBK).

The .xls, .ods and CSV files under files/ were written by LibreOffice from the sheets in
residents/tests/sheets.py (files/make_files.py); the .xlsx ones are made here with openpyxl.
"""

import datetime
import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from residents.importing.formats import inspect
from residents.importing.limits import ImportFileError
from residents.importing.reading import read_sheet
from residents.importing.services import import_apply, import_preview
from residents.models import ImportBatch, Resident
from residents.tests import hostile
from residents.tests.factories import id_number_for
from residents.tests.sheets import merged_basis_people, merged_title_xlsx, person, twenty_people, xlsx

pytestmark = pytest.mark.django_db

FILES = Path(__file__).parent / "files"
BASIS = {"户籍地": "household", "居住地": "residence", "工作地": "workplace"}
GROUP = {
    "一般人群": "general",
    "重点行业人员": "key_occupation",
    "60周岁及以上": "elderly",
    "学校教职员工": "education",
}
PASSWORD = "密码保护"
WPS = "WPS 表格"
TOO_BIG = "逐个单元格读取"


def preview(data, name, village, user):
    return import_preview(data=data, file_name=name, campaign=village.campaign, village=village, user=user)


def refused(data, name, village, user) -> str:
    with pytest.raises(ImportFileError) as caught:
        preview(data, name, village, user)
    assert ImportBatch.objects.count() == 0
    return str(caught.value)


def people_file(name: str) -> bytes:
    return merged_title_xlsx(twenty_people()) if name == "people20.xlsx" else (FILES / name).read_bytes()


@pytest.mark.parametrize(
    "name",
    [
        "people20.xlsx",
        "people20.xls",
        "people20.ods",
        "people20-gbk.csv",
        "people20-utf8-bom.csv",
        "people20-utf8.csv",
    ],
)
def test_the_same_twenty_people_import_from_every_format_with_the_same_values(cadre_qingshan, qingshan, name):
    batch = preview(people_file(name), name, qingshan, cadre_qingshan)

    assert batch.header_row == 2  # under the merged title
    assert (batch.new_count, batch.update_count, batch.error_count) == (20, 0, 0), batch.rows
    import_apply(batch=batch, user=cadre_qingshan)

    imported = {
        r.id_number: (r.name, r.phone, r.basis, r.priority_group, r.fever, r.pregnant, r.status)
        for r in Resident.objects.filter(village=qingshan)
    }
    expected = {
        p["身份证号码"]: (
            p["姓名"],
            p["手机号码"],
            BASIS[p["纳入依据"]],
            GROUP[p["重点人群"]],
            p["发热"] == "是",
            False,
            Resident.Status.DEFERRED if p["发热"] == "是" else Resident.Status.ELIGIBLE,
        )
        for p in twenty_people()
    }
    assert imported == expected


@pytest.mark.parametrize("name", ["merged-basis.xlsx", "merged-basis.xls", "merged-basis.ods"])
def test_a_merged_basis_cell_applies_to_every_row_it_spans(cadre_qingshan, qingshan, name):
    people, merge = merged_basis_people()
    data = merged_title_xlsx(people, merges=[merge]) if name.endswith(".xlsx") else (FILES / name).read_bytes()

    sheet = read_sheet(data, name)
    basis = {row: cells[3] for row, cells in sheet.rows}
    spanned = [(basis[n].value, basis[n].merged) for n in (5, 6, 7)]
    assert spanned == [("居住地", False), ("居住地", True), ("居住地", True)]

    import_apply(batch=preview(data, name, qingshan, cadre_qingshan), user=cadre_qingshan)
    by_number = dict(Resident.objects.values_list("id_number", "basis"))
    assert [by_number[id_number_for(100 + n)] for n in range(6)] == [
        "household",
        "household",
        "residence",
        "residence",  # spanned by the merged cell: never the default basis
        "residence",
        "household",
    ]


def test_rows_under_a_header_merged_over_two_rows_are_not_read_as_people(cadre_qingshan, qingshan):
    workbook = Workbook()
    ws = workbook.active
    ws.append(["姓名", "身份证号码", "禁忌症", None])
    ws.append([None, None, "发热", "孕妇"])
    ws.append([person(1)["姓名"], id_number_for(1), "否", "否"])
    ws.merge_cells("A1:A2")
    ws.merge_cells("B1:B2")
    ws.merge_cells("C1:D1")
    buffer = io.BytesIO()
    workbook.save(buffer)

    batch = preview(buffer.getvalue(), "两行表头.xlsx", qingshan, cadre_qingshan)
    assert (batch.new_count, batch.error_count) == (1, 0)


@pytest.mark.parametrize("name", ["password.xlsx", "password.xls", "password.ods"])
def test_a_password_protected_workbook_is_refused_with_a_clear_message(cadre_qingshan, qingshan, name):
    assert PASSWORD in refused((FILES / name).read_bytes(), name, qingshan, cadre_qingshan)


def test_a_wps_et_file_that_is_really_an_xls_is_read(cadre_qingshan, qingshan):
    batch = preview((FILES / "people20.xls").read_bytes(), "名单.et", qingshan, cadre_qingshan)
    assert batch.new_count == 20


@pytest.mark.parametrize(
    "content",
    [b"\x45\x54\x00\x01" + bytes(range(256)) * 4, (FILES / "password.xlsx").read_bytes()[:512] + b"\0" * 512],
    ids=["not OLE", "damaged OLE"],
)
def test_a_wps_et_file_in_wps_own_format_is_refused_saying_how_to_save_it(cadre_qingshan, qingshan, content):
    message = refused(content, "名单.et", qingshan, cadre_qingshan)
    assert WPS in message or "损坏" in message
    if not content.startswith(b"\xd0\xcf"):
        assert WPS in message and ".xlsx 或 .xls" in message


def test_the_format_comes_from_the_content_not_the_name(cadre_qingshan, qingshan):
    assert preview((FILES / "people20.xls").read_bytes(), "名单.xlsx", qingshan, cadre_qingshan).new_count == 20
    csv = (FILES / "people20-gbk.csv").read_bytes()
    assert preview(csv, "名单.xls", qingshan, cadre_qingshan).new_count == 20
    assert inspect(csv, "名单.xls").encoding == "gb18030"


@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_a_csv_is_read_with_the_delimiter_it_uses(cadre_qingshan, qingshan, delimiter):
    lines = ["青山社区摸排表", delimiter.join(["序号", "姓名", "身份证号码", "纳入依据"])]
    lines += [delimiter.join([str(n), person(n)["姓名"], id_number_for(n), "工作地"]) for n in range(3)]
    batch = preview("\r\n".join(lines).encode("gbk"), "名单.csv", qingshan, cadre_qingshan)
    import_apply(batch=batch, user=cadre_qingshan)
    assert sorted(Resident.objects.values_list("basis", flat=True)) == ["workplace"] * 3


def test_a_csv_keeps_an_id_number_written_as_excel_text(cadre_qingshan, qingshan):
    content = f'姓名,身份证号码\n王伟,="{id_number_for(1)}"\n李强,3.41524E+17\n'.encode()
    rows = {row["row"]: row for row in preview(content, "名单.csv", qingshan, cadre_qingshan).rows}
    assert rows[2]["action"] == "new"
    assert "15" in rows[3]["errors"]["id_number"]  # Excel's number, as the sheet showed it: the same message


@pytest.mark.parametrize(
    "content",
    [b"%PDF-1.7\n1 0 obj\n%%EOF", "<html><body>名单</body></html>".encode("gbk"), b"\x89PNG\r\n\x1a\n" + b"\0" * 64],
    ids=["pdf", "html", "png"],
)
def test_a_file_that_is_no_sheet_is_refused_naming_the_formats_that_are_read(cadre_qingshan, qingshan, content):
    message = refused(content, "名单.xlsx", qingshan, cadre_qingshan)
    assert ".xlsx" in message and ".xls" in message and "CSV" in message


# A real office program's cells: numbers, dates and formulas come out as the .xlsx reader gave them.


@pytest.fixture(scope="module")
def office_files(tmp_path_factory):
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    folder = tmp_path_factory.mktemp("office")
    workbook = Workbook()
    ws = workbook.active
    ws.append(["姓名", "身份证号码", "出生日期", "孕妇"])
    ws.append(["王伟", int(id_number_for(1)), datetime.date(1985, 6, 15), '=IF(1>2,"是","否")'])
    ws["C2"].number_format = "yyyy-mm-dd"
    workbook.save(folder / "cells.xlsx")
    files = {}
    for kind in ("xls", "ods", "xlsx"):
        out = folder / kind
        subprocess.run(
            ["soffice", "--headless", "--convert-to", kind, "--outdir", str(out), str(folder / "cells.xlsx")],
            check=True,
            capture_output=True,
            timeout=120,
        )
        files[kind] = (out / f"cells.{kind}").read_bytes()
    return files


@pytest.mark.parametrize("kind", ["xls", "ods", "xlsx"])
def test_numbers_dates_and_formulas_read_alike_from_every_workbook_format(office_files, kind):
    (row,) = read_sheet(office_files[kind], f"cells.{kind}").rows
    number, cells = row
    name, id_number, born, pregnant = cells
    assert number == 2 and name.value == "王伟"
    # An ID number typed as a number stays a number, so that the judging can say Excel cut it.
    assert isinstance(id_number.value, int | float) and id_number.value == pytest.approx(float(id_number_for(1)))
    assert born.value in (datetime.date(1985, 6, 15), datetime.datetime(1985, 6, 15))
    # The value the office program saved, marked as a formula: the judging refuses it as today.
    assert (pregnant.value, pregnant.formula) == ("否", True)


def test_a_formula_cell_is_refused_in_every_workbook_format(office_files, cadre_qingshan, qingshan):
    for kind in ("xls", "ods", "xlsx"):
        (row,) = preview(office_files[kind], f"cells.{kind}", qingshan, cadre_qingshan).rows
        assert "公式" in row["errors"]["pregnant"]


# Files that ask the reader for more than their size: refused before python-calamine opens them.


def _replace(data: bytes, member: str, change) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            target.writestr(info.filename, change(content) if info.filename == member else content)
    return buffer.getvalue()


def test_an_xlsx_with_one_cell_in_a1_and_one_in_the_last_corner_is_refused_by_its_grid(cadre_qingshan, qingshan):
    corner = hostile.workbook(
        [['<c r="A2" t="inlineStr"><is><t>王伟</t></is></c>', '<c r="XFD1048576"><v>1</v></c>']],
        headers=["姓名", "身份证号码"],
    )
    assert len(corner) < 10_000
    message = refused(corner, "名单.xlsx", qingshan, cadre_qingshan)
    assert "超过 2000 个单元格" in message or TOO_BIG in message


def test_an_xlsx_whose_far_cells_make_a_grid_too_big_to_read_is_refused(cadre_qingshan, qingshan):
    far = hostile.workbook(
        [['<c r="A2" t="inlineStr"><is><t>王伟</t></is></c>', '<c r="ZZ1000000"><v>1</v></c>']],
        headers=["姓名", "身份证号码"],
    )
    assert TOO_BIG in refused(far, "名单.xlsx", qingshan, cadre_qingshan)


def test_an_ods_cell_repeated_over_a_million_rows_is_refused_before_it_is_read(cadre_qingshan, qingshan):
    def repeat(content: bytes) -> bytes:
        # The last row of people, repeated a million times (LibreOffice writes repeats for equal rows).
        filled = content.rfind(b"office:value-type")
        last = list(re.finditer(rb"<table:table-row\b[^>]*>", content[:filled]))[-1]
        tag = last.group(0).replace(b"<table:table-row", b'<table:table-row table:number-rows-repeated="1000000"')
        return content[: last.start()] + tag + content[last.end() :]

    bomb = _replace((FILES / "people20.ods").read_bytes(), "content.xml", repeat)
    assert TOO_BIG in refused(bomb, "名单.ods", qingshan, cadre_qingshan)


def test_an_xls_that_declares_four_billion_rows_is_refused_before_it_is_read(cadre_qingshan, qingshan):
    data = bytearray((FILES / "people20.xls").read_bytes())
    # The sheet's DIMENSIONS record (0x0200, 14 bytes): first row, last row (4 bytes each), first and last column.
    at = data.find(b"\x00\x02\x0e\x00")
    assert at > 0
    data[at + 8 : at + 12] = (0xFFFFFFF0).to_bytes(4, "little")
    assert TOO_BIG in refused(bytes(data), "名单.xls", qingshan, cadre_qingshan)


def test_a_huge_cell_is_refused_in_a_csv_as_in_a_workbook(cadre_qingshan, qingshan):
    content = f"姓名,身份证号码\n{'王' * 201},{id_number_for(1)}\n".encode()
    assert "单元格 A2 有 201 个字" in refused(content, "名单.csv", qingshan, cadre_qingshan)


def test_a_csv_row_of_thousands_of_cells_is_refused(cadre_qingshan, qingshan):
    content = ("姓名,身份证号码" + "," * 3000 + "\n").encode()
    assert "超过 2000 个单元格" in refused(content, "名单.csv", qingshan, cadre_qingshan)


@pytest.mark.parametrize(
    "content, encoding",
    [
        ("姓名,身份证号码\n王伟,1\n".encode(), "utf-8"),
        ("姓名,身份证号码\n王伟,1\n".encode("utf-8-sig"), "utf-8-sig"),
        ("姓名,身份证号码\n王伟,1\n".encode("gbk"), "gb18030"),
        ("姓名\t身份证号码\n王伟\t1\n".encode("utf-16"), "utf-16"),
    ],
    ids=["utf-8", "utf-8 with BOM", "gbk", "utf-16 (Excel's Unicode text)"],
)
def test_a_csv_encoding_is_recognised(content, encoding):
    assert inspect(content, "名单.csv").encoding == encoding


def test_the_xlsx_template_still_reads_as_before(cadre_qingshan, qingshan):
    assert preview(xlsx([person(n) for n in range(3)]), "名单.xlsx", qingshan, cadre_qingshan).new_count == 3


def test_the_import_command_reads_an_xls_and_a_gbk_csv(qingshan, cadre_qingshan, capsys):
    from django.core.management import call_command

    for name in ("people20.xls", "people20-gbk.csv"):
        call_command("import_residents", str(FILES / name), "--village", "青山社区", "--user", "cadre_qingshan")
    assert Resident.objects.filter(village=qingshan).count() == 20
    assert "unchanged 20" in capsys.readouterr().out
