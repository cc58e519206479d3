from openpyxl import load_workbook

from reports.roster import HEADER_ROW


def open_roster(export):
    """The export's sheet as (title, note, headers, data rows of cells), read back with openpyxl."""
    with export.file.open("rb") as handle:
        sheet = load_workbook(handle).active
    rows = list(sheet.iter_rows())
    headers = [cell.value for cell in rows[HEADER_ROW - 1]]
    return sheet, rows[0][0].value, rows[1][0].value, headers, rows[HEADER_ROW:]


def column(headers, rows, header):
    index = headers.index(header)
    return [row[index] for row in rows]
