"""The import template (导入模板): Chinese headers, drop-down lists, one example row, notes."""

import io
import unicodedata

from openpyxl.worksheet.datavalidation import DataValidation

from campaign.lib.excel import header_row, office_workbook, print_setup, safe_cell, set_widths
from residents.importing.limits import limits
from residents.importing.reading import FIELDS, HEADERS, TEXT_FIELDS, column_letter
from residents.importing.rows import BASIS_VALUES, EXAMPLE_ID_NUMBER, EXAMPLE_NAME, PRIORITY_VALUES
from residents.models import CONTRAINDICATIONS

NOTES_WIDTH = 80  # characters (a Chinese one counts two): A4 portrait at full size


def _fit(line: str, width: int) -> list[str]:
    """`line` in pieces of at most `width` columns; the pieces after the first are indented."""
    pieces, piece, used = [], "", 0
    for char in line:
        size = 2 if unicodedata.east_asian_width(char) in "WF" else 1
        if used + size > width:
            pieces.append(piece)
            piece, used = "    ", 4
        piece, used = piece + char, used + size
    return [*pieces, piece]


def template_workbook() -> bytes:
    """The import template: Chinese headers, drop-down lists, one example row, ID as text."""
    workbook = office_workbook()
    ws = workbook.create_sheet("居民名单")
    headers = [aliases[0] for aliases in HEADERS.values()]
    set_widths(ws, [12, 22, 15, 12, 26, 14, 8, 14, 18, 8, 16, 12])
    for index, name in enumerate(FIELDS):
        if name in TEXT_FIELDS:
            # Typed-in ID numbers and phones stay text, not numbers that lose digits.
            ws.column_dimensions[column_letter(index)].number_format = "@"
    ws.freeze_panes = "A2"
    print_setup(ws, landscape=True, title_rows="1:1")
    last = limits().rows + 1
    lists = {
        "basis": [aliases[0] for aliases in BASIS_VALUES.values()],
        "priority_group": [aliases[0] for aliases in PRIORITY_VALUES.values()],
        **{name: ["是", "否"] for name in CONTRAINDICATIONS},
    }
    for name, choices in lists.items():
        letter = column_letter(FIELDS.index(name))
        validation = DataValidation(
            type="list",
            formula1='"' + ",".join(choices) + '"',
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="请从下拉列表中选择",
            error="请从下拉列表中选择：" + "、".join(choices),
        )
        validation.add(f"{letter}2:{letter}{last}")
        ws.data_validations.append(validation)
    ws.append(header_row(ws, headers))
    example = {
        "name": EXAMPLE_NAME,
        "id_number": EXAMPLE_ID_NUMBER,
        "phone": "13800000000",
        "basis": "户籍地",
        "priority_group": "一般人群",
        "responsible_cadre": "",
        **dict.fromkeys(CONTRAINDICATIONS, "否"),
    }
    ws.append([safe_cell(ws, example[name], text=name in TEXT_FIELDS) for name in FIELDS])

    notes = workbook.create_sheet("填写说明")
    set_widths(notes, [NOTES_WIDTH + 2])
    print_setup(notes, landscape=False)
    for line in TEMPLATE_NOTES:
        # Broken into rows that fit the column: not every program sizes a row to wrapped text,
        # and a line running past the column would print small or cut off.
        for piece in _fit(line, NOTES_WIDTH):
            notes.append([safe_cell(notes, piece)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


TEMPLATE_NOTES = [
    "填写说明",
    "1. 每行一位居民。第2行是示例，导入时自动跳过，可以删除。",
    "2. 姓名、身份证号码必填。身份证号码请以文本格式填写18位（本模板该列已设为文本）；"
    "如果Excel把号码显示成 3.41524E+17，说明后几位已经丢失，请把该列设为文本后重新输入。",
    "3. 手机号码：11位手机号，可以不填。",
    "4. 纳入依据：户籍地、居住地或工作地；重点人群：从下拉列表中选择。不填则新登记时按户籍地、一般人群。",
    "5. 包保责任人：填写本村（社区）干部的姓名或用户名；不填则新登记时为上传人。",
    "6. 六项禁忌情况每项一列，填“是”或“否”，空白视为“否”。",
    "7. 已在本村（社区）登记的居民按身份证号码更新；手机号码、纳入依据、重点人群、包保责任人留空时保留原有内容。",
    "8. 列的顺序可以调整，表头上方可以有标题行。",
]
