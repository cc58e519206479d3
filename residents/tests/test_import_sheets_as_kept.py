"""Sheets as cadres keep them: merged cells, totals and signature lines under the table, a 性别 or
出生日期 column beside the ID number, the error report's round trip, and progress."""

import datetime
import io

import pytest
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from campaign.lib.excel import ERROR_FILL
from residents.importing import rows as judging
from residents.importing import services as importing
from residents.importing.reading import HEADERS, Cell, Sheet, read_sheet
from residents.importing.rows import build_preview
from residents.importing.services import import_apply, import_preview
from residents.models import Resident
from residents.tests.factories import ResidentFactory, id_number_for
from residents.tests.sheets import TEMPLATE_HEADERS, person, xlsx

pytestmark = pytest.mark.django_db

MALE = id_number_for(2)  # born 1985-06-15; the sequence's parity says the sex
FEMALE = id_number_for(1)
assert int(MALE[16]) % 2 == 1 and int(FEMALE[16]) % 2 == 0


def preview(data, village, user):
    return import_preview(data=data, file_name="名单.xlsx", campaign=village.campaign, village=village, user=user)


def rows_by_number(batch):
    return {row["row"]: row for row in batch.rows}


def sheet_of(rows, headers=TEMPLATE_HEADERS, *, first_row=2) -> Sheet:
    """A Sheet as a reader gives it: rows of values or Cells (a merged cell is Cell(value, merged=True))."""
    field_of = {alias: name for name, aliases in HEADERS.items() for alias in aliases}
    columns = {field_of[header]: index for index, header in enumerate(headers) if header in field_of}
    read = []
    for number, row in enumerate(rows, start=first_row):
        values = [row.get(h) for h in headers] if isinstance(row, dict) else list(row)
        cells = [value if isinstance(value, Cell) else Cell(value) for value in values]
        read.append((number, cells + [Cell(None)] * (len(headers) - len(cells))))
    return Sheet(title="摸排登记表", header_row=first_row - 1, headers=list(headers), columns=columns, rows=read)


@pytest.fixture
def read_as(monkeypatch):
    """Make the importer read a given Sheet, as a reader of merged cells would give it."""

    def use(sheet):
        monkeypatch.setattr(importing, "read_sheet", lambda data, *args, **kwargs: sheet)

    return use


# Merged cells


def merged_basis_sheet() -> Sheet:
    people = [person(n) for n in range(5)]
    people[1]["纳入依据"] = "居住地"  # the merged range's first cell, rows 3 to 5
    for n in (2, 3):
        people[n]["纳入依据"] = Cell("居住地", merged=True)
    return sheet_of(people)


def test_a_merged_basis_cell_applies_to_every_row_it_spans_and_each_spanned_row_says_so(
    cadre_qingshan, qingshan, read_as
):
    read_as(merged_basis_sheet())
    batch = preview(b"sheet", qingshan, cadre_qingshan)
    rows = rows_by_number(batch)

    assert (batch.new_count, batch.error_count) == (5, 0)
    assert "warnings" not in rows[3]  # the range's own first cell
    for number in (4, 5):
        note = rows[number]["warnings"]["basis"]
        assert "合并单元格" in note and "居住地" in note
    assert "warnings" not in rows[2] and "warnings" not in rows[6]

    import_apply(batch=batch, user=cadre_qingshan)
    bases = dict(Resident.objects.values_list("id_number", "basis"))
    assert [bases[id_number_for(n)] for n in range(5)] == ["household", *["residence"] * 3, "household"]


def test_a_merged_cell_note_shows_at_its_cell_in_the_preview(as_cadre, cadre_qingshan, qingshan, read_as):
    read_as(merged_basis_sheet())
    batch = preview(b"sheet", qingshan, cadre_qingshan)

    page = as_cadre.get(reverse("residents:import_preview", args=[batch.pk]) + "?show=warnings").content.decode()

    assert page.count('data-action="new"') == 2  # the two spanned rows, under their tab
    assert page.count('data-testid="cell-warning"') == 2
    assert "合并单元格：沿用上方的值“居住地”，请核对。" in page


def test_a_merged_cell_of_an_xlsx_is_noted_once_the_reader_fills_it_in(cadre_qingshan, qingshan):
    workbook = Workbook()
    ws = workbook.active
    ws.append(TEMPLATE_HEADERS)
    for n in range(4):
        ws.append([person(n).get(header) for header in TEMPLATE_HEADERS])
    ws["D3"] = "居住地"
    ws.merge_cells("D3:D5")
    buffer = io.BytesIO()
    workbook.save(buffer)
    data = buffer.getvalue()
    if not any(cell.merged for _number, cells in read_sheet(data).rows for cell in cells):
        pytest.skip("this reader does not fill merged cells in (the python-calamine reader does)")

    rows = rows_by_number(preview(data, qingshan, cadre_qingshan))

    assert [rows[n]["action"] for n in (2, 3, 4, 5)] == ["new"] * 4
    assert [("basis" in rows[n].get("warnings", {})) for n in (2, 3, 4, 5)] == [False, False, True, True]


# Lines under the table


def signed_sheet(people, *footer) -> bytes:
    """People, then the lines a cadre writes under the table."""
    return xlsx([*people, *footer])


def blank_row(**cells) -> list:
    """A row of the template's width with some cells filled, by 0-based column."""
    row = [None] * len(TEMPLATE_HEADERS)
    for index, value in cells.items():
        row[int(index.removeprefix("c"))] = value
    return row


def test_a_totals_row_and_signature_lines_are_left_out_with_a_note_and_are_not_errors(cadre_qingshan, qingshan):
    data = signed_sheet(
        [person(n, 发热="是" if n == 1 else "否") for n in range(3)],
        blank_row(c0="合计", c2="3人", c6=0, c7=0, c8=0, c9=1, c10=0, c11=0),
        blank_row(c0="填报人：王芳", c2="审核人：", c3="李强", c5="（盖章）"),
        blank_row(c0="填报日期：2021年5月1日"),
        blank_row(c1=datetime.datetime(2021, 5, 1)),
    )
    batch = preview(data, qingshan, cadre_qingshan)
    rows = rows_by_number(batch)

    assert (batch.new_count, batch.error_count) == (3, 0)
    assert [rows[n]["action"] for n in (5, 6, 7, 8)] == ["skipped"] * 4
    assert [rows[n]["skipped"] for n in (5, 6, 7, 8)] == ["totals", "signature", "signature", "signature"]
    assert rows[6]["line"] == "填报人：王芳  审核人：  李强  （盖章）"
    import_apply(batch=batch, user=cadre_qingshan)
    assert Resident.objects.count() == 3


@pytest.mark.parametrize(
    "line",
    [
        blank_row(c0="总计：3人", c1=3),
        blank_row(c0="小 计", c3="—", c6=0),
        blank_row(c0="第三组小计", c2="12人"),
        blank_row(c0="制表人", c1="张三", c4="负责人：李四"),
        blank_row(c0="梅山镇青山社区居民委员会（公章）"),
        blank_row(c3="年   月   日"),
        blank_row(c0="联系电话：13812345678"),
        blank_row(c0="姓名", c1="身份证号码"),  # the header repeated (a list pasted under another)
    ],
    ids=["total", "subtotal", "group-subtotal", "signers", "stamp", "date-form", "phone", "header"],
)
def test_each_kind_of_line_under_a_table_is_recognised(cadre_qingshan, qingshan, line):
    batch = preview(signed_sheet([person(1)], line), qingshan, cadre_qingshan)
    assert [row["action"] for row in batch.rows] == ["new", "skipped"]


@pytest.mark.parametrize(
    "row, action",
    [
        (person(5, 姓名="合计"), "new"),  # an ID number: a person, whatever the name says
        (person(5, 姓名="审核人"), "new"),
        (person(5, 包保责任人="负责人"), "error"),  # no user is called 负责人
        ({"姓名": "王五", "手机号码": "13800000005", "纳入依据": "户籍地"}, "error"),  # no number yet: to fix
        ({"姓名": "王五", "包保责任人": "审核人"}, "error"),  # a name on its own is a person's
        ({"姓名": "合计", "身份证号码": "3415241985061"}, "error"),  # a mistyped number is still a number
        ({"姓名": "合计", "身份证号码": 3.41524e17}, "error"),
    ],
    ids=["named-totals", "named-signer", "cadre-named-like-a-label", "no-number", "name-and-label",
         "short-number", "number-cell"],
)  # fmt: skip
def test_a_person_is_never_taken_for_a_line_under_the_table(cadre_qingshan, qingshan, row, action):
    (only,) = preview(xlsx([row]), qingshan, cadre_qingshan).rows
    assert only["action"] == action


def test_rows_below_the_signature_line_are_judged_as_any_row_and_flagged(cadre_qingshan, qingshan):
    data = signed_sheet(
        [person(1), blank_row(c0="小计", c2=1), person(2)],  # a subtotal between groups flags nothing
        blank_row(c0="填报人：王芳"),
        person(3),
        person(4, 手机号码="123"),
        blank_row(c0="审核人：李强"),
    )
    batch = preview(data, qingshan, cadre_qingshan)
    rows = rows_by_number(batch)

    assert [rows[n]["action"] for n in range(2, 9)] == ["new", "skipped", "new", "skipped", "new", "error", "skipped"]
    assert "warnings" not in rows[4]
    assert "签名行之下" in rows[6]["warnings"]["row"]
    assert "签名行之下" in rows[7]["warnings"]["row"] and "phone" in rows[7]["errors"]
    import_apply(batch=batch, user=cadre_qingshan)
    assert Resident.objects.count() == 3


def test_the_preview_lists_the_skipped_lines_under_their_own_tab(as_cadre, cadre_qingshan, qingshan):
    data = signed_sheet([person(1)], blank_row(c0="合计", c2=1), blank_row(c0="填报人：王芳", c2="电话：13812345678"))
    batch = preview(data, qingshan, cadre_qingshan)
    url = reverse("residents:import_preview", args=[batch.pk])

    page = as_cadre.get(url).content.decode()
    assert "第 3 行 合计行，未导入" in page and "第 4 行 签名或盖章行，未导入" in page
    assert 'data-testid="tab-skipped"' in page and 'data-testid="tab-warnings"' not in page
    assert 'data-testid="count-error">0<' in page

    skipped = as_cadre.get(url + "?show=skipped").content.decode()
    assert skipped.count('data-action="skipped"') == 2 and "填报人：王芳" in skipped
    assert "电话：138****5678" in skipped and "13812345678" not in skipped  # a signer's phone, masked as any


# A 性别 or 出生日期 column beside the ID number


def test_a_sex_column_that_contradicts_the_id_number_is_a_warning_and_the_number_decides(cadre_qingshan, qingshan):
    data = xlsx([["张伟", MALE, "女"], ["李娜", FEMALE, "女"]], headers=["姓名", "身份证号码", "性别"])
    batch = preview(data, qingshan, cadre_qingshan)
    rows = rows_by_number(batch)

    assert (batch.new_count, batch.error_count) == (2, 0)
    assert rows[2]["warnings"] == {"sex": "身份证号码显示为男，此列却是“女”：以身份证号码为准。"}
    assert "warnings" not in rows[3]
    import_apply(batch=batch, user=cadre_qingshan)
    assert Resident.objects.get(id_number=MALE).sex == "M"


@pytest.mark.parametrize(
    "written, warned",
    [
        (datetime.datetime(1985, 6, 15), False),
        ("1985-06-15", False),
        ("1985年6月15日", False),
        ("1985.6.15", False),
        (19850615, False),
        ("1985-06", False),  # 出生年月: year and month agree
        ("1985-07-15", True),
        (datetime.datetime(1986, 6, 15), True),
        ("198507", True),
        ("不详", False),  # not a date: nothing to compare, the number decides
    ],
)
def test_a_birth_date_column_is_compared_with_the_id_number(cadre_qingshan, qingshan, written, warned):
    data = xlsx([["张伟", MALE, written]], headers=["姓名", "身份证号码", "出生日期"])
    (row,) = preview(data, qingshan, cadre_qingshan).rows
    assert row["action"] == "new"
    assert ("birth_date" in row.get("warnings", {})) is warned
    if warned:
        assert "1985-06-15" in row["warnings"]["birth_date"]


def test_a_man_answered_pregnant_is_an_error_at_the_answer_and_a_woman_is_deferred(cadre_qingshan, qingshan):
    data = xlsx([["张伟", MALE, "是"], ["李娜", FEMALE, "是"]], headers=["姓名", "身份证号码", "孕妇"])
    rows = rows_by_number(preview(data, qingshan, cadre_qingshan))

    assert rows[2]["action"] == "error"
    assert list(rows[2]["errors"]) == ["pregnant"]
    assert "男性" in rows[2]["errors"]["pregnant"]
    assert (rows[3]["action"], rows[3]["status"]) == ("new", Resident.Status.DEFERRED)


def test_warnings_are_shown_in_the_preview_and_kept_with_it(as_cadre, cadre_qingshan, qingshan):
    data = xlsx([["张伟", MALE, "女", "1985-07-01"]], headers=["姓名", "身份证号码", "性别", "出生日期"])
    batch = preview(data, qingshan, cadre_qingshan)

    page = as_cadre.get(reverse("residents:import_preview", args=[batch.pk])).content.decode()

    assert 'data-testid="tab-warnings"' in page
    assert page.count('data-testid="row-warning"') == 2
    assert "性别：身份证号码显示为男" in page and "出生日期：身份证号码显示出生于 1985-06-15" in page


# The error report's round trip


def test_the_error_report_gives_back_each_cell_as_the_sheet_showed_it(cadre_qingshan, qingshan, read_as):
    headers = [*TEMPLATE_HEADERS[:4], "出生日期"]
    lost = float(id_number_for(7))  # Excel kept 15 digits
    people = [
        [person(1)["姓名"], lost, "13800000001", "户籍地", datetime.datetime(1985, 6, 15)],
        [person(2)["姓名"], id_number_for(2), "123", Cell("居住地", merged=True), datetime.datetime(1985, 6, 16, 8)],
    ]
    read_as(sheet_of(people, headers))
    batch = preview(b"sheet", qingshan, cadre_qingshan)
    shown = rows_by_number(batch)[2]["cells"]["id_number"]

    report = load_workbook(io.BytesIO(importing.error_report(batch))).active
    first, second = list(report.iter_rows(min_row=2))

    assert shown == "3.41524E+17"
    assert first[1].value == shown and first[1].data_type == "s"  # as Excel showed it, no digits made up
    assert first[1].fill.fgColor.rgb.endswith(ERROR_FILL.fgColor.rgb[-6:])
    assert second[3].value == "居住地"  # the merged value, in the row it spanned
    assert first[4].value == datetime.datetime(1985, 6, 15) and first[4].number_format == "yyyy-mm-dd"
    assert second[4].number_format == "yyyy-mm-dd hh:mm"
    assert report.column_dimensions["E"].width >= 16  # wide enough for a date and time: never ###


def test_an_error_report_fixed_and_uploaded_again_imports_its_rows(cadre_qingshan, qingshan):
    people = [person(n) for n in range(4)]
    people[1]["身份证号码"] = float(id_number_for(1))
    people[2]["手机号码"] = "1380000"
    people[3]["重点人群"] = "学生"
    data = signed_sheet(
        people,
        blank_row(c0="合计", c2="4人"),
        blank_row(c0="填报人：王芳", c3="2021年5月1日"),
    )
    workbook = load_workbook(io.BytesIO(data))
    workbook.active.insert_rows(1)
    workbook.active["A1"] = "梅山镇青山社区新冠疫苗接种摸排登记表"  # a title above the header
    buffer = io.BytesIO()
    workbook.save(buffer)
    batch = preview(buffer.getvalue(), qingshan, cadre_qingshan)
    assert (batch.new_count, batch.error_count) == (1, 3)
    import_apply(batch=batch, user=cadre_qingshan)

    report = load_workbook(io.BytesIO(importing.error_report(batch)))
    sheet = report.active
    assert [cell.value for cell in sheet[1]][-1] == "错误原因"
    red = [(c.row, c.column_letter) for row in sheet.iter_rows(min_row=2) for c in row if c.fill == ERROR_FILL]
    fixes = {"B": id_number_for(1), "C": "13800000002", "E": "一般人群"}
    assert sorted(red) == [(2, "B"), (3, "C"), (4, "E")]
    for row, column in red:
        sheet[f"{column}{row}"] = fixes[column]
    fixed = io.BytesIO()
    report.save(fixed)

    again = preview(fixed.getvalue(), qingshan, cadre_qingshan)

    assert again.header_row == 1
    assert (again.new_count, again.error_count) == (3, 0)
    import_apply(batch=again, user=cadre_qingshan)
    assert Resident.objects.count() == 4


# Progress


def test_judging_reports_its_progress_every_thousand_rows_and_at_the_end(cadre_qingshan, qingshan, read_as):
    sheet = sheet_of([person(n) for n in range(2_500)])
    calls = []
    build_preview(
        sheet=sheet,
        campaign=qingshan.campaign,
        village=qingshan,
        user=cadre_qingshan,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(1000, 2500), (2000, 2500), (2500, 2500)]

    read_as(sheet)
    seen = []
    batch = import_preview(
        data=b"sheet",
        file_name="名单.xlsx",
        campaign=qingshan.campaign,
        village=qingshan,
        user=cadre_qingshan,
        progress=lambda done, total: seen.append(done),
    )
    assert seen == [1000, 2000, 2500]
    confirmed = []
    import_apply(batch=batch, user=cadre_qingshan, progress=lambda done, total: confirmed.append((done, total)))
    # Judged again, then written: 2,500 rows each.
    assert confirmed == [(1000, 5000), (2000, 5000), (2500, 5000), (3500, 5000), (4500, 5000), (5000, 5000)]
    assert Resident.objects.count() == 2500


# What is kept


def test_the_kept_preview_holds_only_what_the_page_shows(cadre_qingshan, qingshan):
    data = xlsx([person(1, 孕妇="否", 发热="否"), person(2, 发热="是")])
    rows = rows_by_number(preview(data, qingshan, cadre_qingshan))

    assert rows[2] == {
        "row": 2,
        "action": "new",
        "cells": {
            "name": person(1)["姓名"],
            "id_number": id_number_for(1),
            "phone": person(1)["手机号码"],
            "basis": "户籍地",
            "priority_group": "一般人群",
        },
        "errors": {},
        "status": Resident.Status.ELIGIBLE,
    }
    assert rows[3]["cells"]["fever"] == "是" and rows[3]["reasons"] == ["fever"]


@pytest.fixture
def as_cadre(client, cadre_qingshan):
    client.force_login(cadre_qingshan)
    return client


def test_judging_the_same_cell_twice_gives_the_same_verdict_whatever_its_type(cadre_qingshan, qingshan):
    # Cells are judged once per distinct value: True, 1 and 1.0 are equal in Python but read differently.
    sheet = sheet_of([["张伟", MALE, True, 1], ["李娜", FEMALE, 1, 1.0]], ["姓名", "身份证号码", "纳入依据", "发热"])
    judged = build_preview(sheet=sheet, campaign=qingshan.campaign, village=qingshan, user=None)
    rows = {row.row: row for row in judged.rows}
    assert rows[2].cells["basis"] == "True" and rows[3].cells["basis"] == "1"
    assert rows[2].cells["fever"] == "1" and rows[3].cells["fever"] == "1"
    assert judging.yes_no(rows[2].cells["fever"]) is True


def test_the_confirm_reports_the_updates_it_writes_too(cadre_qingshan, qingshan):
    for n in (2, 3):
        ResidentFactory(village=qingshan, id_number=id_number_for(n), name=person(n)["姓名"], phone="13900000000")
    batch = preview(xlsx([person(n) for n in (1, 2, 3)]), qingshan, cadre_qingshan)
    assert (batch.new_count, batch.update_count) == (1, 2)

    calls = []
    import_apply(batch=batch, user=cadre_qingshan, progress=lambda done, total: calls.append((done, total)))

    assert calls == [(3, 6), (4, 6), (6, 6)]
    assert Resident.objects.filter(phone="13900000000").count() == 0
