"""Reading the sheets cadres keep: find the header row and read the data rows under it.

One entry point, read_sheet(data, file_name), for every format, chosen by the file's content
(residents.importing.formats; the name is only a hint, for a WPS .et):

- .xlsx, .xls and .ods are read with python-calamine (Rust). Measured here on the same 5,000- and
  100,000-row sheet it reads about 10 and 20 times faster than openpyxl's read-only mode (figures in
  docs/PERFORMANCE.md), reads .xls and .ods as well, and reports merged cells for .xlsx and .xls.
  It gives each cell's saved value (a date cell as a date, a number as a float or an int, an error
  such as #N/A as empty), never whether the cell held a formula: residents.importing.formats finds
  the formula cells in the file itself (<f> in .xlsx, FORMULA records in .xls, table:formula in .ods)
  and the merged cells of an .ods, so that every format reads alike.
- CSV is read with the standard csv module: UTF-8 (with or without a byte-order mark), UTF-16 with
  one, else GB18030 (which covers GBK); the delimiter (comma, tab or semicolon) is the one the first
  lines use most. Every cell is text, as the file has it; ="0123" (Excel's way of keeping text in a
  CSV) is read as 0123.

Every reader gives rows of Cell: the value, whether it is a formula, and whether it was copied
from the first cell of a merged range it belongs to (a merged 纳入依据 applies to every row it
spans). Reading is forgiving about layout: the header row may sit below title rows, columns come
in any order and under the names cadres use (HEADERS). What a cell means is judged elsewhere
(residents.importing.rows); this module only knows the file.
"""

import csv
import datetime
import functools
import io
import re
import unicodedata
from dataclasses import dataclass
from typing import NamedTuple

from django.utils.translation import gettext as _
from openpyxl.utils import get_column_letter
from python_calamine import CalamineError, CalamineWorkbook, PasswordError, SheetTypeEnum

from campaign.lib.text import strip_invisible
from residents.importing.formats import inspect, password_protected
from residents.importing.limits import (
    ImportFileError,
    check_cell,
    check_row_width,
    check_rows,
    check_upload,
    damaged,
    limits,
)

HEADER_SCAN_ROWS = 20
HEADER_MAX_CHARS = 100  # longer text in the rows above the header is a title or a note, never a header

# The file format is Chinese whatever the interface language: these are the headers cadres
# write and the template carries. First name of each list is the template's header.
HEADERS = {
    "name": ["姓名", "名字"],
    "id_number": ["身份证号码", "身份证号", "公民身份号码", "身份证", "身份证件号码", "证件号码"],
    "phone": [
        "手机号码",
        "手机",
        "手机号",
        "联系电话",
        "电话",
        "电话号码",
        "联系方式",
        "监护人电话",
        "监护人手机",
        "监护人联系电话",
        "家长电话",
    ],
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
    "document_type": ["证件类型", "证件种类", "证件名称"],
    "birth_date": ["出生日期", "出生年月日", "出生年月", "生日"],
    "sex": ["性别"],
    "nationality": ["国籍"],
    # A child's guardian (监护人); the guardian's phone is the phone column above.
    "guardian_name": ["监护人姓名", "监护人", "家长姓名"],
    "guardian_relation": ["与受种者关系", "与受种者的关系", "监护人关系", "与儿童关系", "与本人关系"],
    "guardian_document_type": ["监护人证件类型"],
    "guardian_id_number": ["监护人证件号码", "监护人身份证号码", "监护人身份证号", "家长身份证号码", "家长身份证号"],
}
FIELDS = list(HEADERS)
TEXT_FIELDS = ("name", "id_number", "phone", "responsible_cadre", "guardian_id_number")

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


def read_sheet(data: bytes, file_name: str = "") -> Sheet:
    """Find the header row (below any title rows) and read the data rows under it.

    `data` is an .xlsx, .xls, .ods or CSV file, told apart by its content; `file_name` is only a hint
    (a WPS .et that is not an .xls is refused as WPS's own format). Raises ImportFileError for a file
    that is not one of these, is protected by a password, damaged, past a limit (limits.py), has no
    header row naming at least the ID number and the name, or repeats a column.
    """
    for title, rows in read_sheets(data, file_name):
        sheet = _read_rows(title, rows)
        if sheet is not None:
            return sheet
    raise ImportFileError(
        _(
            "No header row found: none of the first %(rows)d rows names both the ID number (身份证号码) "
            "and the name (姓名). Use the template, or add those headers above your columns."
        )
        % {"rows": HEADER_SCAN_ROWS}
    )


def read_sheets(data: bytes, file_name: str = ""):
    """(title, rows) for each sheet of an .xlsx, .xls, .ods or CSV file, rows as (row number, [Cell]) from row 1.

    The same checks as read_sheet (format by content, password, damage, limits), without its header
    rules: for files of other columns (the county's allocation sheet, campaign.services).
    """
    check_upload(data)
    upload = inspect(data, file_name)
    if upload.format == "csv":
        return _csv_sheets(data, upload.encoding, file_name)
    return _workbook_sheets(data, upload)


def _read_rows(title: str, rows) -> Sheet | None:
    """The sheet under its header row, from (row number, [Cell]) pairs; None without a header in the first rows."""
    for number, cells in rows:
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
    known = list(columns.values())
    max_chars = bounds.cell_chars
    for row_number, cells in rows:
        values = cells[:width]
        for index, cell in enumerate(values):
            # Before the text is kept or copied: one shared string of megabytes may fill every cell.
            if type(cell.value) is str and len(cell.value) > max_chars:
                check_cell(cell.value, row=row_number, column=index, max_chars=max_chars)
        # A row whose known cells are empty, or hold only what a merged cell above spans down, is no person.
        for i in known:
            if i < len(values) and not values[i].merged and not blank(values[i].value):
                break
        else:
            continue
        check_rows(len(data_rows) + 1, max_rows=bounds.rows)
        if len(values) < width:
            values = values + [EMPTY] * (width - len(values))
        data_rows.append((row_number, values))
    return Sheet(title=title, header_row=number, headers=headers, columns=columns, rows=data_rows)


EMPTY = Cell(None)
_new_cell = tuple.__new__  # Cell(value) without the call through NamedTuple's __new__: a million cells a second


# Workbooks: .xlsx, .xls, .ods (python-calamine).


def _workbook_sheets(data: bytes, upload):
    """(title, rows) for each worksheet, in the workbook's order; rows are (row number, [Cell]) from row 1."""
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except BaseException as error:  # noqa: BLE001 (a Rust panic is a BaseException; see _reader_failed)
        raise _reader_failed(error) from None
    try:
        for metadata in workbook.sheets_metadata:
            if metadata.typ != SheetTypeEnum.WorkSheet:
                continue  # a chart or macro sheet
            scan = upload.sheets.get(metadata.name)
            if scan is None:
                raise damaged()  # a sheet the inspection did not see: never read what was not measured
            try:
                worksheet = workbook.get_sheet_by_name(metadata.name)
            except BaseException as error:  # noqa: BLE001
                raise _reader_failed(error) from None
            yield metadata.name, _grid_rows(worksheet, scan)
            del worksheet  # calamine's copy of the sheet, before the next one is read
    finally:
        workbook.close()


def _reader_failed(error: BaseException) -> ImportFileError:
    if isinstance(error, PasswordError):
        return password_protected()
    if isinstance(error, CalamineError | OSError | ValueError) or type(error).__name__ == "PanicException":
        return damaged()
    raise error  # KeyboardInterrupt, SystemExit: not the file's fault


def _grid_rows(worksheet, scan):
    """A calamine sheet as (row number, [Cell]) from row 1, merged ranges filled in and formulas marked."""
    if worksheet.start is None:
        return  # an empty sheet
    first_row, first_column = worksheet.start
    last_row, last_column = worksheet.end
    ranges = scan.merged if scan.merged is not None else worksheet.merged_cell_ranges or []
    merged = _Merged(ranges, last_row, last_column)
    formulas = scan.formulas
    lead = [EMPTY] * first_column  # calamine's rows start at the sheet's first column
    texts: dict[str, Cell] = {}  # one Cell per text: a column of 户籍地 is one object, not 20,000
    for index, values in enumerate(worksheet.iter_rows()):  # from row 1: rows above the grid come empty
        row = lead.copy()
        if index >= first_row:
            for value in values:
                if type(value) is str:
                    cell = texts.get(value)
                    if cell is None:
                        cell = texts[value] = _new_cell(Cell, (value or None, False, False))
                    row.append(cell)
                else:
                    row.append(_new_cell(Cell, (_plain(value), False, False)))
        if formulas:
            for column, cell in enumerate(row):
                if (index, column) in formulas:
                    text = formulas[(index, column)]
                    row[column] = Cell(text if cell.value is None and text else cell.value, True)
        if merged:
            merged.fill(row, index)
        yield index + 1, row


def _plain(value):
    # The Cell value types of every format: times and durations as the text the sheet shows.
    if isinstance(value, datetime.time | datetime.timedelta):
        return str(value)
    return value


class _Merged:
    """The merged ranges of a sheet, cut to its grid: each spanned cell gets its range's first cell.

    A range merged down to row 1,048,576 spans only the rows the sheet has.
    """

    def __init__(self, ranges, last_row, last_column):
        self.starts: dict[int, list[tuple[int, int]]] = {}  # row -> first cells of ranges that start there
        self.spans: dict[int, list[tuple[int, tuple[int, int]]]] = {}  # row -> (column, its range's first cell)
        self.first_cells: dict[tuple[int, int], Cell] = {}
        for (top, left), (bottom, right) in ranges:
            if top > last_row or left > last_column:
                continue
            self.starts.setdefault(top, []).append((top, left))
            for row in range(top, min(bottom, last_row) + 1):
                for column in range(left, min(right, last_column) + 1):
                    if (row, column) != (top, left):
                        self.spans.setdefault(row, []).append((column, (top, left)))

    def __bool__(self):
        return bool(self.spans)

    def fill(self, row: list, index: int) -> None:
        for first in self.starts.get(index, ()):
            self.first_cells[first] = row[first[1]] if first[1] < len(row) else EMPTY
        for column, first in self.spans.get(index, ()):
            while len(row) <= column:
                row.append(EMPTY)
            cell = self.first_cells[first]
            row[column] = Cell(cell.value, cell.formula, merged=True)


# CSV


def _csv_sheets(data: bytes, encoding: str, file_name: str):
    text = data.decode(encoding)
    delimiter = _delimiter(text)
    title = file_name.rsplit(".", 1)[0] if file_name else "CSV"
    yield title, _csv_rows(text, delimiter)


def _delimiter(text: str) -> str:
    """The delimiter the first lines use most: comma, tab or semicolon (a comma when none is used)."""
    sample = "\n".join(text[:65536].splitlines()[: HEADER_SCAN_ROWS + 5])
    counts = {delimiter: sample.count(delimiter) for delimiter in (",", "\t", ";")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


_EXCEL_TEXT = re.compile(r'^="(.*)"$', re.DOTALL)


def _csv_rows(text: str, delimiter: str):
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    number = 0
    try:
        for number, fields in enumerate(reader, start=1):
            check_row_width(len(fields))
            row = []
            for value in fields:
                if value.startswith('="'):
                    match = _EXCEL_TEXT.match(value)
                    value = match.group(1) if match else value
                row.append(_new_cell(Cell, (value or None, False, False)))
            yield number, row
    except csv.Error:
        raise ImportFileError(
            _(
                "Line %(line)d of this CSV file cannot be read: a quotation mark is not closed, or a cell is "
                "far too long. Open it in Excel or WPS, save it again and retry."
            )
            % {"line": number + 1}
        ) from None


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
    if type(value) is str:
        # Nothing full-width or invisible to fold in ASCII; other text repeats (户籍地, 否, names): cached.
        return value.strip() if value.isascii() else _folded(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime.datetime) and value.time() == datetime.time(0):
        value = value.date()
    return _folded(str(value))


@functools.lru_cache(maxsize=4096)
def _folded(text: str) -> str:
    return unicodedata.normalize("NFKC", strip_invisible(text)).strip()
