"""Writing Excel files safely: shared by rosters, templates, error reports and reports.

Cell text that Excel would run (starting with = + - @, tab or carriage return) is
written as a string with Excel's quote prefix, so it shows as text and never runs.
ID numbers and phones are always written as text: Excel keeps only 15 digits of a number.
Text that the forms would refuse (control and bidirectional characters, see campaign.lib.text)
but that is stored already is written with U+FFFD in their place: openpyxl refuses control
characters (IllegalCharacterError), and one odd name must never stop a whole village's file.
Every writer builds its cells with safe_cell (or header_row, which uses it).
"""

from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from campaign.lib.text import displayable

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")
ERROR_FILL = PatternFill("solid", fgColor="FFC7CE")
TITLE_FONT = Font(bold=True, size=14)
NOTE_FONT = Font(size=10, color="555555")
TITLED_HEADER_ROW = 3  # titled_sheet: the title, a note, then the headers
TEXT_FORMAT = "@"


def is_formula_like(value) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


def safe_cell(ws, value, *, text: bool = False, fill=None, font=None) -> WriteOnlyCell:
    """A write-only cell that Excel shows as typed; `text=True` for digits that must stay text."""
    if text and value is not None and not isinstance(value, str):
        value = str(value)
    if isinstance(value, str):
        value = displayable(value)
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str) and (text or is_formula_like(value)):
        cell.data_type = "s"
        cell.number_format = TEXT_FORMAT
        if is_formula_like(value):
            cell.quotePrefix = True
    if fill is not None:
        cell.fill = fill
    if font is not None:
        cell.font = font
    return cell


def header_row(ws, headers: list[str]) -> list[WriteOnlyCell]:
    cells = []
    for header in headers:
        cell = safe_cell(ws, header, font=HEADER_FONT, fill=HEADER_FILL)
        cell.alignment = Alignment(horizontal="center", vertical="center")
        cells.append(cell)
    return cells


def set_widths(ws, widths: list[int]) -> None:
    """Column widths in characters (before any row is written, for write-only sheets)."""
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width


def titled_sheet(workbook, name: str, columns: list[tuple[str, int]], *, title: str, note: str, freeze: str):
    """A write-only sheet for an office: a merged title, a note line, the headers (row 3) frozen at
    `freeze` and repeated on every printed page, A4 landscape one page wide. `columns` are (header, width)."""
    ws = workbook.create_sheet(name)
    set_widths(ws, [width for _header, width in columns])
    ws.freeze_panes = freeze
    ws.print_title_rows = f"{TITLED_HEADER_ROW}:{TITLED_HEADER_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    last = get_column_letter(len(columns))
    title_cell = safe_cell(ws, title, font=TITLE_FONT)
    title_cell.alignment = Alignment(horizontal="center", vertical="center")
    ws.append([title_cell])
    ws.append([safe_cell(ws, note, font=NOTE_FONT)])
    ws.merged_cells.add(f"A1:{last}1")
    ws.merged_cells.add(f"A2:{last}2")
    ws.append(header_row(ws, [header for header, _width in columns]))
    return ws
