"""A big export's sheet (campaign.lib.xlsx) has the look and the safe text of the small files, read back by openpyxl."""

import datetime
import io
import zoneinfo

import pytest
from openpyxl import load_workbook

from campaign.lib import excel, xlsx
from campaign.lib.excel import (
    DATE_FORMAT,
    DATETIME_FORMAT,
    FONT_NAME,
    HEADER_FILL_COLOR,
    PAGE_FOOTER,
    TEXT_FORMAT,
    TITLE_SIZE,
)
from campaign.lib.xlsx import DATE, DATETIME, LABEL, NUMBER, TEXT, Column, write_titled_sheet

COLUMNS = [
    Column("序号", 7, NUMBER),
    Column("姓名", 10, TEXT),
    Column("状态", 10, LABEL),
    Column("第一剂", 17, DATE),
    Column("登记时间", 17, DATETIME),
]
MEISHAN = zoneinfo.ZoneInfo("Asia/Shanghai")


def written(rows, *, target=None, **kwargs):
    """The sheet as openpyxl reads it back, and the count write_titled_sheet returned."""
    buffer = target or io.BytesIO()
    count = write_titled_sheet(
        buffer,
        sheet_name="名单",
        columns=kwargs.pop("columns", COLUMNS),
        rows=rows,
        title=kwargs.pop("title", "梅山镇 · 名单"),
        note=kwargs.pop("note", "导出人：办公室"),
        freeze_columns=2,
        **kwargs,
    )
    if target is not None:
        return load_workbook(target)["名单"], count
    buffer.seek(0)
    return load_workbook(buffer)["名单"], count


def a_row(number=1, name="张三", day=datetime.date(2021, 6, 5)):
    return [number, name, "待接种", day, datetime.datetime(2021, 6, 1, 14, 30)]


def test_a_big_sheet_has_the_title_frozen_headers_filter_and_print_setup_of_the_small_ones():
    ws, count = written([a_row(1), a_row(2, "李四")])
    assert count == 2
    assert ws["A1"].value == "梅山镇 · 名单" and ws["A1"].font.b and ws["A1"].font.sz == TITLE_SIZE
    assert ws["A2"].value == "导出人：办公室"
    assert {str(merged) for merged in ws.merged_cells.ranges} == {"A1:E1", "A2:E2"}
    assert [cell.value for cell in ws[3]] == [column.header for column in COLUMNS]
    assert all(cell.font.b and cell.fill.fgColor.rgb.endswith(HEADER_FILL_COLOR) for cell in ws[3])
    assert ws.freeze_panes == "C4"
    assert ws.auto_filter.ref == "A3:E5"
    assert ws.column_dimensions["B"].width >= 10
    assert ws.page_setup.paperSize == 9 and ws.page_setup.orientation == "landscape"
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToHeight == 0
    assert ws.print_title_rows == "$3:$3"
    assert ws.oddFooter.center.text == PAGE_FOOTER and ws.oddFooter.center.font == FONT_NAME
    fonts = {cell.font.name for row in ws.iter_rows() for cell in row if cell.value is not None}
    assert fonts == {FONT_NAME}


def test_each_kind_of_column_gives_its_cells_their_format():
    ws, _count = written([a_row(), a_row(2, day="已预约 2021-06-19")])
    number, name, status, day, registered = ws[4]
    assert number.value == 1 and number.data_type == "n"
    assert name.number_format == status.number_format == TEXT_FORMAT
    assert day.value == datetime.datetime(2021, 6, 5) and day.number_format == DATE_FORMAT
    assert registered.value == datetime.datetime(2021, 6, 1, 14, 30) and registered.number_format == DATETIME_FORMAT
    # A date column may hold text, which stays text (a booked day in the roster).
    assert ws["D5"].value == "已预约 2021-06-19" and ws["D5"].data_type == "s"


def test_formula_like_text_is_written_as_text_that_never_runs():
    texts = ["=1+1", "+86 138", "-5", "@SUM(A1)", '=HYPERLINK("http://x")']
    ws, _count = written([a_row(n, text) for n, text in enumerate(texts, 1)])
    names = [row[1] for row in ws.iter_rows(min_row=4)]
    assert [cell.value for cell in names] == texts
    assert all(cell.data_type == "s" and cell.number_format == TEXT_FORMAT for cell in names)


def test_stored_control_and_bidirectional_characters_show_as_the_replacement_character():
    ws, _count = written([a_row(1, "a\x07\x1b[31mb"), a_row(2, "王\u202e五"), a_row(3, "行一\n行二")])
    assert [row[1].value for row in ws.iter_rows(min_row=4)] == ["a\ufffd\ufffd[31mb", "王\ufffd五", "行一\n行二"]


def test_an_aware_datetime_is_written_at_its_own_wall_clock_time():
    late = datetime.datetime(2021, 6, 1, 15, 30, tzinfo=datetime.UTC).astimezone(MEISHAN)  # 23:30 in Meishan
    ws, _count = written([[1, "张三", "待接种", None, late]])
    assert ws["E4"].value == datetime.datetime(2021, 6, 1, 23, 30)


def test_an_empty_sheet_still_has_its_title_headers_and_filter():
    ws, count = written(iter([]))
    assert count == 0
    assert ws["A1"].value == "梅山镇 · 名单"
    assert [cell.value for cell in ws[3]] == [column.header for column in COLUMNS]
    assert ws.auto_filter.ref == "A3:E4"
    assert all(cell.value is None for cell in ws[4])


def test_the_rows_are_reported_as_they_are_written():
    calls = []
    _ws, count = written((a_row(n) for n in range(1, 2501)), progress=lambda done, total: calls.append((done, total)))
    assert count == 2500
    assert calls == [(1000, None), (2000, None)]


def test_a_file_object_and_a_path_get_the_same_sheet(tmp_path):
    path = tmp_path / "名单.xlsx"
    write_titled_sheet(path, sheet_name="名单", columns=COLUMNS, rows=[a_row()], title="t", note="n")
    from_path = [[cell.value for cell in row] for row in load_workbook(path)["名单"].iter_rows()]
    ws, _count = written([a_row()], title="t", note="n")
    assert [[cell.value for cell in row] for row in ws.iter_rows()] == from_path


def test_a_row_that_does_not_fit_the_columns_is_refused():
    with pytest.raises(ValueError, match="4 cells for 5 columns"):
        written([a_row()[:4]])


def test_two_columns_with_one_header_are_refused():
    with pytest.raises(ValueError, match="its own header"):
        written([a_row()], columns=[*COLUMNS[:4], Column("姓名", 10)])


def test_the_look_is_campaign_lib_excels_not_a_copy():
    setup = xlsx.page_setup(landscape=False, header_row=2)
    assert setup["paper_size"] == excel.A4_PAPER and setup["margins"] is excel.PAGE_MARGINS
    assert setup["landscape"] is False and setup["repeat_rows"] == (2, 2)
