"""Writing Excel files safely: shared by rosters, templates, error reports and reports.

Cell text that Excel would run (starting with = + - @, tab or carriage return) is
written as a string with Excel's quote prefix, so it shows as text and never runs.
ID numbers and phones are always written as text: Excel keeps only 15 digits of a number.
Text that the forms would refuse (control and bidirectional characters, see campaign.lib.text)
but that is stored already is written with U+FFFD in their place: openpyxl refuses control
characters (IllegalCharacterError), and one odd name must never stop a whole village's file.
Every writer builds its cells with safe_cell (or header_row, which uses it).

Every file is also made to be printed and read in Chinese Office or WPS: each writer starts from
office_workbook (its default font is FONT_NAME, named here and nowhere else) and gives each sheet
print_setup (A4, orientation, one page wide, header rows repeated, page numbers in the footer);
dates are written with DATE_FORMAT or DATETIME_FORMAT.

The look is named here once (fonts, sizes, colours, paper, margins, footer): openpyxl writes it
for the small files, and campaign.lib.xlsx gives the same look to the big exports (written by a
faster writer) from the same constants.
"""

from copy import copy

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart.text import RichText, Text
from openpyxl.chart.title import Title
from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties, RegularTextRun
from openpyxl.drawing.text import Font as TextFont
from openpyxl.styles import Alignment, Font, NamedStyle, PatternFill
from openpyxl.styles.borders import DEFAULT_BORDER
from openpyxl.styles.named_styles import NamedStyleList
from openpyxl.utils import get_column_letter
from openpyxl.utils.indexed_list import IndexedList
from openpyxl.worksheet.page import PageMargins

from campaign.lib.text import displayable

# 宋体 (SimSun) ships with every Chinese Windows, Office and WPS; Excel's own default (Calibri)
# has no Chinese and leaves the choice to each machine. GB2312 is its character set.
FONT_NAME = "宋体"
FONT_CHARSET = 134
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
# 第 1 页，共 3 页: Excel and WPS put the page number for &P and the page count for &N.
PAGE_FOOTER = "第 &P 页，共 &N 页"
A4_PAPER = 9  # the paperSize code of A4 in SpreadsheetML (openpyxl's Worksheet.PAPERSIZE_A4)
PAGE_MARGINS = {"left": 0.5, "right": 0.5, "top": 0.6, "bottom": 0.7, "header": 0.3, "footer": 0.3}  # inches
BODY_SIZE, TITLE_SIZE, NOTE_SIZE = 11, 14, 10
HEADER_FILL_COLOR = "DCE6F1"
ERROR_FILL_COLOR = "FFC7CE"
NOTE_COLOR = "555555"


def font(**kwargs) -> Font:
    """A font of FONT_NAME: every styled cell names it, so no cell falls back to a font without Chinese."""
    return Font(name=FONT_NAME, charset=FONT_CHARSET, **kwargs)


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
BODY_FONT = font(size=BODY_SIZE)
HEADER_FONT = font(size=BODY_SIZE, bold=True)
HEADER_FILL = PatternFill("solid", fgColor=HEADER_FILL_COLOR)
ERROR_FILL = PatternFill("solid", fgColor=ERROR_FILL_COLOR)
TITLE_FONT = font(bold=True, size=TITLE_SIZE)
NOTE_FONT = font(size=NOTE_SIZE, color=NOTE_COLOR)
TITLED_HEADER_ROW = 3  # titled_sheet: the title, a note, then the headers
TEXT_FORMAT = "@"


def office_workbook() -> Workbook:
    """A write-only workbook whose default font (the Normal style, for every cell without its own) is FONT_NAME."""
    workbook = Workbook(write_only=True)
    # openpyxl has no setting for the default font: it is the workbook's first font and the
    # Normal style's, which it sets up as Calibri. Put ours in both places before any cell is styled.
    workbook._fonts = IndexedList([BODY_FONT])
    workbook._named_styles = NamedStyleList()
    workbook.add_named_style(NamedStyle(name="Normal", font=copy(BODY_FONT), border=copy(DEFAULT_BORDER), builtinId=0))
    return workbook


def print_setup(ws, *, landscape: bool, title_rows: str | None = None, one_page: bool = False) -> None:
    """How a sheet prints: A4 in the given orientation, one page wide (and tall when `one_page`),
    `title_rows` (e.g. "3:3") repeated at the top of every page, page numbers in the footer."""
    ws.page_setup.paperSize = A4_PAPER
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, (1 if one_page else 0)
    if title_rows:
        ws.print_title_rows = title_rows
    ws.page_margins = PageMargins(**PAGE_MARGINS)
    ws.print_options.horizontalCentered = True
    ws.oddFooter.center.text = PAGE_FOOTER
    ws.oddFooter.center.font = FONT_NAME


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


def chart_text(size: float, *, bold: bool = False) -> RichText:
    """Text properties for a chart's axis or labels in FONT_NAME (a chart does not follow the cells' font)."""
    return RichText(p=[Paragraph(pPr=ParagraphProperties(defRPr=_chart_font(size, bold)), endParaRPr=None)])


def chart_title(text: str, size: float, *, bold: bool = True) -> Title:
    """A chart or axis title in FONT_NAME."""
    run = RegularTextRun(rPr=_chart_font(size, bold), t=text)
    paragraph = Paragraph(pPr=ParagraphProperties(defRPr=_chart_font(size, bold)), r=[run])
    return Title(tx=Text(rich=RichText(p=[paragraph])), overlay=False)


def _chart_font(size: float, bold: bool) -> CharacterProperties:
    face = TextFont(typeface=FONT_NAME, charset=FONT_CHARSET)
    return CharacterProperties(sz=int(size * 100), b=bold, latin=face, ea=face)


def date_cell(ws, value, *, with_time: bool = False) -> WriteOnlyCell:
    """A date (or a naive local date and time) that reads 2021-06-05 (14:30) in any Office or WPS."""
    cell = WriteOnlyCell(ws, value)
    cell.number_format = DATETIME_FORMAT if with_time else DATE_FORMAT
    return cell


def titled_sheet(
    workbook, name: str, columns: list[tuple[str, int]], *, title: str, note: str, freeze: str, landscape: bool = True
):
    """A write-only sheet for an office: a merged title, a note line, the headers (row 3) frozen at
    `freeze` and repeated on every printed page, A4 (landscape unless said) one page wide.
    `columns` are (header, width)."""
    ws = workbook.create_sheet(name)
    set_widths(ws, [width for _header, width in columns])
    ws.freeze_panes = freeze
    print_setup(ws, landscape=landscape, title_rows=f"{TITLED_HEADER_ROW}:{TITLED_HEADER_ROW}")
    last = get_column_letter(len(columns))
    title_cell = safe_cell(ws, title, font=TITLE_FONT)
    title_cell.alignment = Alignment(horizontal="center", vertical="center")
    ws.append([title_cell])
    ws.append([safe_cell(ws, note, font=NOTE_FONT)])
    ws.merged_cells.add(f"A1:{last}1")
    ws.merged_cells.add(f"A2:{last}2")
    ws.append(header_row(ws, [header for header, _width in columns]))
    return ws
