import io

from openpyxl import Workbook, load_workbook

from campaign.lib.excel import header_row, safe_cell


def roundtrip(values, **kwargs):
    workbook = Workbook(write_only=True)
    ws = workbook.create_sheet("名单")
    ws.append(header_row(ws, ["值"]))
    for value in values:
        ws.append([safe_cell(ws, value, **kwargs)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return list(load_workbook(buffer)["名单"].iter_rows(min_row=2))


def test_formula_like_text_is_written_as_text_that_never_runs():
    rows = roundtrip(["=1+1", "+86 138", "-5", "@SUM(A1)", "\tx", "张三"])
    for (cell,), expected in zip(rows, ["=1+1", "+86 138", "-5", "@SUM(A1)", "\tx", "张三"], strict=True):
        assert cell.data_type == "s"
        assert cell.value == expected
    assert rows[0][0].quotePrefix is True


def test_id_numbers_stay_text_with_all_18_digits():
    ((cell,),) = roundtrip([341524199005171238], text=True)
    assert cell.value == "341524199005171238"
    assert cell.data_type == "s"
