"""Big Excel files at the speed of the fastest writer: one titled sheet of many rows, written in Rust.

The residents roster of a whole town is 100,000 rows; openpyxl (pure Python, cell objects) wrote it
in 23-36 s, XlsxWriter (pure Python) writes the same cells in about 7 s, rust_xlsxwriter (through the
rustpy-xlsxwriter package) in about 1 s (docs/PERFORMANCE.md). This module is the one place that
uses it: a big export hands it its columns and a stream of rows and gets the sheet that
campaign.lib.excel's titled_sheet gives the small files, with the look named there (FONT_NAME,
sizes, colours, A4 and margins, the repeated header row, the page footer), not a copy of it:

- row 1 the title (merged, bold, centred), row 2 a note (merged, grey), row 3 the headers (bold,
  filled), frozen under the headers and right of `freeze_columns`, filter arrows on the headers;
- A4 in the given orientation, one page wide, the header row repeated on every printed page,
  page numbers in the footer;
- each column a width and a kind (TEXT, LABEL, NUMBER, DATE, DATETIME) that gives its cells their
  format and font: dates are real dates shown 2021-06-05 (14:30); a DATE column may also hold text
  (已预约 2021-06-05), which keeps the date format harmlessly.

Text is safe as campaign.lib.excel.safe_cell makes it, within what this writer can do:
- every str is written as a string cell, never as a formula, and TEXT and LABEL columns have the
  Text format (@), so text starting with = + - @ shows as typed, and stays text when a user edits
  the cell (openpyxl marked such cells with a quote prefix instead; this writer formats whole
  columns, not single cells);
- control and bidirectional characters stored before the forms refused them are shown as
  U+FFFD (campaign.lib.text.displayable) in TEXT columns, the stored text (names, notes). LABEL
  columns hold text the product composes (a choice's label, a masked number, a phone whose shape
  the database checks): nothing to replace there, and not scanning them saves a tenth of the time;
- ID numbers and phones are text, so they stay digits as typed (Excel keeps 15 digits of a number).

Memory stays flat: the rows are pulled one at a time from `rows` (a generator over a server-side
cursor), rust_xlsxwriter keeps each finished row in a temporary file (constant-memory mode), and
the file is written to disk, not assembled in memory.

What this writer cannot do, and why it is not used for the small files: the workbook's default
font (of cells outside the table's columns) stays the writer's Calibri, since the binding offers
no setting for it, and there is no per-cell styling (error fills, totals rows in bold, charts).
openpyxl stays for those files, and for reading and editing.
"""

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

from rustpy_xlsxwriter import Format, write_worksheet

from campaign.lib.excel import (
    A4_PAPER,
    BODY_SIZE,
    DATE_FORMAT,
    DATETIME_FORMAT,
    FONT_CHARSET,
    FONT_NAME,
    HEADER_FILL_COLOR,
    NOTE_COLOR,
    NOTE_SIZE,
    PAGE_FOOTER,
    PAGE_MARGINS,
    TEXT_FORMAT,
    TITLE_SIZE,
    TITLED_HEADER_ROW,
)
from campaign.lib.text import displayable

TEXT, LABEL, NUMBER, DATE, DATETIME = "text", "label", "number", "date", "datetime"
NUMBER_FORMATS = {TEXT: TEXT_FORMAT, LABEL: TEXT_FORMAT, NUMBER: None, DATE: DATE_FORMAT, DATETIME: DATETIME_FORMAT}
# progress(rows written, None) is called after every this many rows.
PROGRESS_EVERY = 1000


class Column(NamedTuple):
    header: str
    width: float  # in characters, as Excel's column width
    kind: str = TEXT


def _font(fmt: Format, *, size: float = BODY_SIZE) -> Format:
    return fmt.set_font_name(FONT_NAME).set_font_charset(FONT_CHARSET).set_font_size(size)


def _column_format(kind: str) -> Format:
    fmt = _font(Format())
    if NUMBER_FORMATS[kind]:
        fmt.set_num_format(NUMBER_FORMATS[kind])
    return fmt


def page_setup(*, landscape: bool, header_row: int) -> dict:
    """campaign.lib.excel.print_setup for this writer: A4, one page wide, `header_row` (0-based) on every page."""
    return {
        "landscape": landscape,
        "paper_size": A4_PAPER,
        "margins": PAGE_MARGINS,
        "fit_to_pages": (1, 0),
        "repeat_rows": (header_row, header_row),
        "center_horizontally": True,
        "footer": f'&C&"{FONT_NAME}"{PAGE_FOOTER}',
    }


def shown_text(value: str) -> str:
    """campaign.lib.text.displayable, skipped for the text that has nothing to replace (nearly all of it)."""
    # isprintable() is False for every character displayable removes or replaces (controls,
    # format characters such as bidirectional marks and zero-width spaces): those go the long way.
    return value if value.isprintable() else displayable(value)


def sheet_options(
    *, sheet_name: str, columns: Sequence[Column], title: str, note: str, freeze_columns: int, landscape: bool
) -> dict:
    """The writer's options for a titled sheet (rustpy_xlsxwriter.write_worksheet): the look, and no rows."""
    last = len(columns) - 1
    header_row = TITLED_HEADER_ROW - 1
    title_format = _font(Format(), size=TITLE_SIZE).set_bold().set_align("center").set_align("vcenter")
    note_format = _font(Format(), size=NOTE_SIZE).set_font_color(NOTE_COLOR)
    header_format = _font(Format()).set_bold().set_background_color(HEADER_FILL_COLOR)
    header_format.set_align("center").set_align("vcenter")
    return {
        "sheet_name": sheet_name,
        "header_row": header_row,
        "header_format": header_format,
        "merge_ranges": [
            (0, 0, 0, last, shown_text(title), title_format),
            (1, 0, 1, last, shown_text(note), note_format),
        ],
        "column_widths": [column.width for column in columns],
        # Every column has a format: the writer then formats each cell by its column, whatever its type.
        "column_formats": [_column_format(column.kind) for column in columns],
        "freeze_row": header_row + 1,
        "freeze_col": freeze_columns,
        "autofilter": True,
        "page_setup": page_setup(landscape=landscape, header_row=header_row),
    }


def write_titled_sheet(
    target,
    *,
    sheet_name: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence],
    title: str,
    note: str,
    freeze_columns: int = 0,
    landscape: bool = True,
    progress: Callable[[int, int | None], None] | None = None,
    progress_every: int | None = None,
) -> int:
    """Write one titled sheet of `rows` (sequences of cell values in the order of `columns`) to
    `target` (a path, or a binary file to write the finished file into). Returns the number of rows.

    A cell is None (empty), a str, an int or float, a date or a datetime, written at its own
    wall-clock time (Excel has no time zones: give an aware one in the zone the file is read in).
    TEXT and LABEL cells are str or None (write ID numbers and phones as str).
    `progress`, when given, is called as progress(rows written, None) every `progress_every` rows
    (PROGRESS_EVERY unless given).
    """
    headers = [column.header for column in columns]
    if len(set(headers)) != len(headers):
        raise ValueError("each column needs its own header")  # the writer keys a row's cells by header
    scanned = [index for index, column in enumerate(columns) if column.kind == TEXT]
    every = progress_every or PROGRESS_EVERY
    written = 0

    def records():
        nonlocal written
        for written, row in enumerate(rows, 1):  # noqa: B007 - `written` is the count returned
            if written == 1 and len(row) != len(headers):
                raise ValueError(f"a row has {len(row)} cells for {len(headers)} columns")
            for index in scanned:
                value = row[index]
                if value and not value.isprintable():
                    row = list(row)
                    row[index] = displayable(value)
            # The writer takes a row as a dict, its cells in the order of its keys.
            yield dict(zip(headers, row))  # noqa: B905 - the length is checked on the first row
            if progress is not None and written % every == 0:
                progress(written, None)
        if not written:
            # The writer takes the headers from the first row: an empty table still has them.
            yield dict.fromkeys(headers)

    options = sheet_options(
        sheet_name=sheet_name,
        columns=columns,
        title=title,
        note=note,
        freeze_columns=freeze_columns,
        landscape=landscape,
    )
    if isinstance(target, str | os.PathLike):
        write_worksheet(records(), os.fspath(target), **options)
        return written
    # Written to disk and copied: given a file object, the writer would build the whole file in memory.
    with tempfile.TemporaryDirectory(prefix="xlsx-") as folder:
        path = os.path.join(folder, "sheet.xlsx")
        write_worksheet(records(), path, **options)
        with open(path, "rb") as finished:
            shutil.copyfileobj(finished, target, 1024 * 1024)
    return written
