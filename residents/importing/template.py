"""The import template (导入模板): Chinese headers, drop-down lists, one example row, notes."""

import io
import unicodedata

from django.utils.translation import override
from openpyxl.worksheet.datavalidation import DataValidation

from campaign.lib.documents import DOCUMENT_KINDS
from campaign.lib.excel import header_row, office_workbook, print_setup, safe_cell, set_widths
from residents.importing.limits import limits
from residents.importing.reading import FIELDS, HEADERS, TEXT_FIELDS, column_letter
from residents.importing.rows import BASIS_VALUES, EXAMPLE_ID_NUMBER, EXAMPLE_NAME, PRIORITY_VALUES
from residents.models import CONTRAINDICATIONS

# Every column the importer reads; the document's type, birth date, sex and nationality last,
# as only people without an ID card need them.
COLUMNS = FIELDS
WIDTHS = dict(
    zip(COLUMNS, [12, 22, 15, 12, 26, 14, 8, 14, 18, 8, 16, 12, 26, 12, 8, 12, 12, 14, 16, 22], strict=True)
)  # characters
NOTES_WIDTH = 80  # characters (a Chinese one counts two): A4 portrait at full size


def document_type_names() -> list[str]:
    """The document types as a sheet names them (their Chinese labels), the ID card first."""
    with override("zh-hans"):
        return [str(kind.label) for kind in DOCUMENT_KINDS.values()]


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
    headers = [HEADERS[name][0] for name in COLUMNS]
    set_widths(ws, list(WIDTHS.values()))
    for index, name in enumerate(COLUMNS):
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
        "document_type": document_type_names(),
        "sex": ["男", "女"],
        "guardian_relation": ["母亲", "父亲", "祖父母", "其他"],
        "guardian_document_type": document_type_names(),
    }
    for name, choices in lists.items():
        letter = column_letter(COLUMNS.index(name))
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
        "document_type": document_type_names()[0],
        "birth_date": "",  # an ID number says them
        "sex": "",
        "nationality": "",
        "guardian_name": "",  # an adult has none
        "guardian_relation": "",
        "guardian_document_type": "",
        "guardian_id_number": "",
    }
    ws.append([safe_cell(ws, example[name], text=name in TEXT_FIELDS) for name in COLUMNS])

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
    "9. 证件类型：不填即为居民身份证。持港澳台居民居住证、外国人永久居留身份证、护照、"
    "港澳居民来往内地通行证（回乡证）、台湾居民来往大陆通行证（台胞证）或出生医学证明的，"
    "从下拉列表中选择证件类型，在身份证号码列填写证件号码。"
    "15位的老身份证号码自动转换为18位后登记。",
    "10. 出生日期、性别：居民身份证、港澳台居民居住证和18位的外国人永久居留身份证的号码里已有，不必填写"
    "（填了而与号码不符的，以号码为准并提示）。护照、回乡证、台胞证、出生医学证明和15位的旧版外国人永久居留身份证"
    "必须填写，出生日期写成 1990-01-01。",
    "11. 国籍：持护照的外国人必须填写，写中文国名或三位字母代码（如 日本 或 JPN）；"
    "外国人永久居留身份证的号码里已有国籍。",
    "12. 表格下方的合计行、签名盖章行不会导入，也不算错误。",
    "13. 监护人：未满本次活动规定年龄（一般为18周岁）的受种者必须填写监护人姓名、"
    "与受种者关系（母亲、父亲、祖父母或其他）、监护人证件类型（不填即为居民身份证）和监护人证件号码；手机号码一列填写监护人电话。婴幼儿可用出生医学证明登记。",
]
