"""Reading the sheets cadres keep: find the header row and read the data rows under it.

Reading is forgiving about layout: the header row may sit below title rows, columns come in
any order and under the names cadres use (HEADERS). What a cell means is judged elsewhere
(residents.importing.rows); this module only knows the file.
"""

import datetime
import io
import re
import unicodedata
from dataclasses import dataclass
from typing import NamedTuple

from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from campaign.lib.text import strip_invisible
from residents.importing.limits import ImportFileError, check_cell, check_rows, check_upload, damaged, limits

HEADER_SCAN_ROWS = 20
HEADER_MAX_CHARS = 100  # longer text in the rows above the header is a title or a note, never a header

# The file format is Chinese whatever the interface language: these are the headers cadres
# write and the template carries. First name of each list is the template's header.
HEADERS = {
    "name": ["姓名", "名字"],
    "id_number": ["身份证号码", "身份证号", "公民身份号码", "身份证", "身份证件号码", "证件号码"],
    "phone": ["手机号码", "手机", "手机号", "联系电话", "电话", "电话号码", "联系方式"],
    "basis": ["纳入依据", "类别"],
    "priority_group": ["重点人群", "人群分类"],
    "responsible_cadre": ["包保责任人", "包保干部", "包保人"],
    "pregnant": ["孕妇", "怀孕"],
    "severe_allergy": ["以前疫苗接种严重过敏反应", "疫苗严重过敏史", "严重过敏史", "严重过敏反应", "严重过敏"],
    "neuro_history": [
        "惊厥、癫痫、脑病、精神疾病史或家族史",
        "惊厥癫痫脑病精神疾病史",
        "惊厥癫痫脑病或精神疾病史",
        "神经系统疾病史",
    ],
    "fever": ["发热", "发烧"],
    "acute_illness": ["急性疾病或慢性疾病急性发作期", "急性疾病或慢性病急性发作", "急性疾病", "慢性病急性发作期"],
    "severe_chronic": ["严重慢性疾病", "严重慢性病"],
}
FIELDS = list(HEADERS)
TEXT_FIELDS = ("name", "id_number", "phone", "responsible_cadre")

BRACKETED = re.compile(r"[(（\[【].*?[)）\]】]")


class Cell(NamedTuple):
    """One cell as read, whatever the file's format."""

    value: object  # str, int, float, bool, datetime.date or datetime.datetime, or None
    formula: bool = False  # the file holds a formula here (where the format tells)
    merged: bool = False  # the value was copied from the first cell of a merged range it belongs to


@dataclass
class Sheet:
    """The rows of the first sheet that has a recognisable header row."""

    title: str
    header_row: int
    headers: list[str]  # every header cell as written, in file order
    columns: dict[str, int]  # field -> 0-based column index
    rows: list[tuple[int, list[Cell]]]  # (the sheet's row number, one Cell per header column)


def header_key(text) -> str:
    """A header as compared: full-width, spaces, notes in brackets, stars and 是否 removed."""
    key = unicodedata.normalize("NFKC", str(text or ""))
    key = BRACKETED.sub("", key)
    key = re.sub(r"[\s*:：、，,/／]", "", key).lower()
    return key.removeprefix("是否")


_HEADER_LOOKUP = {header_key(alias): name for name, aliases in HEADERS.items() for alias in aliases}


def _match_headers(cells) -> dict[str, int]:
    columns = {}
    for index, cell in enumerate(cells):
        is_text = isinstance(cell.value, str) and len(cell.value) <= HEADER_MAX_CHARS
        name = _HEADER_LOOKUP.get(header_key(cell.value)) if is_text else None
        if name is not None and name not in columns:
            columns[name] = index
    return columns


def read_sheet(data: bytes) -> Sheet:
    """Find the header row (below any title rows) and read the data rows under it.

    Raises ImportFileError for a file that is not a readable .xlsx, has no header row
    naming at least the ID number and the name, repeats a column, or is too long.
    """
    check_upload(data)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds (zip, XML, key, value errors) for damaged files
        raise damaged() from None
    try:
        for worksheet in workbook.worksheets:
            if not hasattr(worksheet, "iter_rows"):
                continue  # a chart sheet
            worksheet.reset_dimensions()  # the stored dimensions may be wrong; read what is there
            sheet = _read_worksheet(worksheet)
            if sheet is not None:
                return sheet
    except ImportFileError:
        raise
    except Exception:
        raise damaged() from None
    finally:
        workbook.close()
    raise ImportFileError(
        _(
            "No header row found: none of the first %(rows)d rows names both the ID number (身份证号码) "
            "and the name (姓名). Use the template, or add those headers above your columns."
        )
        % {"rows": HEADER_SCAN_ROWS}
    )


def _read_worksheet(worksheet) -> Sheet | None:
    # One pass over the rows (read-only mode streams them): find the header, then go on below it.
    rows = worksheet.iter_rows()
    for number, cells in enumerate(rows, start=1):
        if number > HEADER_SCAN_ROWS:
            return None
        columns = _match_headers(cells)
        if "id_number" in columns and "name" in columns:
            break
    else:
        return None
    bounds = limits()
    for index, cell in enumerate(cells):
        check_cell(cell.value, row=number, column=index, max_chars=bounds.cell_chars)
    headers = [_header_text(cell.value) for cell in cells]
    seen = {}
    for index, text in enumerate(headers):
        name = _HEADER_LOOKUP.get(header_key(text))
        if name is None:
            continue
        if name in seen:
            raise ImportFileError(
                _("Columns %(first)s and %(second)s are both read as “%(header)s”: keep only one of them.")
                % {"first": column_letter(seen[name]), "second": column_letter(index), "header": HEADERS[name][0]}
            )
        seen[name] = index
    data_rows = []
    width = len(headers)
    for row_number, cells in enumerate(rows, start=number + 1):
        values = []
        for index, cell in enumerate(cells[:width]):
            # Before the text is kept or copied: one shared string of megabytes may fill every cell.
            check_cell(cell.value, row=row_number, column=index, max_chars=bounds.cell_chars)
            values.append(Cell(cell.value, cell.data_type == "f"))
        if all(blank(values[i].value) for i in columns.values() if i < len(values)):
            continue
        check_rows(len(data_rows) + 1, max_rows=bounds.rows)
        values += [Cell(None)] * (width - len(values))
        data_rows.append((row_number, values))
    return Sheet(title=worksheet.title, header_row=number, headers=headers, columns=columns, rows=data_rows)


def _header_text(value) -> str:
    return "" if value is None else re.sub(r"\s+", " ", str(value)).strip()


def column_letter(index: int) -> str:
    return get_column_letter(index + 1)


def blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def cell_text(value) -> str:
    """A cell as text: invisible characters removed, full-width folded, spaces trimmed, a whole float without its .0."""
    if value is None:
        return ""
    if isinstance(value, str) and value.isascii():
        return value.strip()  # nothing full-width or invisible to fold
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime.datetime) and value.time() == datetime.time(0):
        value = value.date()
    return unicodedata.normalize("NFKC", strip_invisible(str(value))).strip()
