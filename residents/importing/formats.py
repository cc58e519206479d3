"""What an upload is and what its sheets hold, learnt from its bytes before a reader opens it.

The format is decided by content, never by the name (a .xls renamed .xlsx, or a WPS .et that is
really an .xls, is read as what it is): a zip holding xl/workbook.xml is an .xlsx, a zip with an
OpenDocument spreadsheet's mimetype an .ods, an OLE compound file with a Workbook stream an .xls,
and text (UTF-8 with or without a byte-order mark, UTF-16 with one, else GB18030) a CSV.

python-calamine reads the workbooks. It builds each sheet whole in memory: a grid from the first to
the last cell that holds something, with every shared text copied into each cell that uses it, and,
for .xls and .ods, every sheet at once when the file is opened. So a file of a few kilobytes can ask
for gigabytes (one long shared text in every cell; one cell in A1 and one in XFD1048576; an .ods
cell repeated across a million rows; an .xls that declares four billion rows). inspect() scans each
sheet's XML or records, as it unpacks, for what calamine will build: the grid's rows and columns,
an upper bound of the text it copies, the widest row, and, because calamine gives only the values
Excel saved (never whether a cell held a formula), where the formula cells are. For .ods it also
finds the merged cells (calamine reports them for .xlsx and .xls only). limits.check_sheet_size
refuses the file before calamine opens it when that would pass IMPORT_MAX_UNPACKED_MB.
"""

import codecs
import io
import re
import struct
import zipfile
from array import array
from dataclasses import dataclass, field
from html import unescape

import olefile
from django.utils.translation import gettext as _

from residents.importing.limits import (
    MB,
    ImportFileError,
    check_row_width,
    check_sheet_size,
    check_zip,
    damaged,
)

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, .et, and any Office file encrypted with a password
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"

# Bytes calamine holds for each cell of a sheet's grid, empty or not (its cell enum, the reference
# form it builds first for .xlsx or the formula grid for .xls and .ods, and the vector's slack).
GRID_CELL_BYTES = 64
MAX_FORMULAS_KEPT = 100_000  # formula cells remembered per sheet; a sheet with more is refused by its size anyway
CHUNK = MB
CARRY_MAX = 512  # a tag is never longer: from the last "<" of a piece, at most this is kept for the next


@dataclass
class SheetScan:
    """What calamine will build for one sheet, and what it will not tell."""

    name: str
    rows: int = 0  # rows of the grid (an upper bound)
    columns: int = 0  # columns of the grid (an upper bound)
    text_bytes: int = 0  # an upper bound of the text calamine copies into the cells
    # (row, column), 0-based -> the formula's text where the file saved no value, else None
    formulas: dict = field(default_factory=dict)
    # .ods only: [((first row, first column), (last row, last column))]; None: calamine reports them
    merged: list | None = None

    @property
    def size(self) -> int:
        return self.rows * self.columns * GRID_CELL_BYTES + self.text_bytes


@dataclass
class Upload:
    format: str  # "xlsx", "xls", "ods" or "csv"
    encoding: str = ""  # the CSV's text encoding
    sheets: dict[str, SheetScan] = field(default_factory=dict)  # by sheet name


def not_a_sheet() -> ImportFileError:
    return ImportFileError(
        _(
            "This is not a sheet that can be read: upload an Excel workbook (.xlsx or .xls), an OpenDocument "
            "sheet (.ods) or a CSV file. If it is a sheet, open it in Excel or WPS and save it as .xlsx."
        )
    )


def password_protected() -> ImportFileError:
    return ImportFileError(
        _(
            "This workbook is protected by a password and cannot be read. Open it in Excel or WPS, remove the "
            "password (File, Info, Protect Workbook, or Save As with no password), save it and upload it again."
        )
    )


def wps_only() -> ImportFileError:
    return ImportFileError(
        _("This is a WPS Spreadsheets file (.et) in WPS's own format. Open it in WPS and save it as .xlsx or .xls.")
    )


def inspect(data: bytes, file_name: str = "") -> Upload:
    """The upload's format and what each of its sheets holds. Raises ImportFileError (refused, with why)."""
    is_et = file_name.lower().endswith(".et")
    if data[:4] == ZIP_MAGIC:
        return _inspect_zip(data)
    if data[:8] == OLE_MAGIC:
        return _inspect_ole(data, is_et=is_et)
    if is_et:
        raise wps_only()
    return Upload("csv", encoding=text_encoding(data))


# Text.

_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def text_encoding(data: bytes) -> str:
    """The encoding of a text file (a CSV): UTF-8 or UTF-16 by their byte-order mark, else UTF-8, else GB18030.

    GB18030 covers GBK and GB2312, what Excel and WPS on Chinese Windows write as "CSV". Anything
    that is none of these, or holds control characters, or is a PDF or a web page, is not a sheet.
    """
    if data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        if encoding != "utf-8":
            raise not_a_sheet() from None
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise not_a_sheet() from None
        encoding = "gb18030"
    head = text[:65536].lstrip().lower()
    if head.startswith(("%pdf", "<html", "<!doctype", "<?xml", "<table", "{\\rtf")) or _NOT_TEXT.search(head):
        raise not_a_sheet()
    return encoding


# Zip: .xlsx and .ods.


def _inspect_zip(data: bytes) -> Upload:
    names = check_zip(data)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if "xl/workbook.xml" in names:
                return _inspect_xlsx(archive, names)
            if "xl/workbook.bin" in names:
                raise ImportFileError(
                    _(
                        "This is an Excel binary workbook (.xlsb). Open it in Excel or WPS and save it as an "
                        "Excel workbook (.xlsx), then upload that."
                    )
                )
            if "content.xml" in names and "mimetype" in names and archive.read("mimetype").startswith(ODS_MIMETYPE):
                return _inspect_ods(archive, names)
    except ImportFileError:
        raise
    except (zipfile.BadZipFile, ValueError, EOFError, OSError, RuntimeError, NotImplementedError, KeyError):
        # RuntimeError: an encrypted member; NotImplementedError: a compression Python cannot read.
        raise damaged() from None
    raise not_a_sheet()


def _pieces(archive, member):
    """A member's bytes in pieces that never cut a tag: each ends before the last "<" it holds."""
    carry = b""
    with archive.open(member) as stream:  # zipfile stops at the declared size and checks the CRC
        while chunk := stream.read(CHUNK):
            buffer = carry + chunk
            cut = buffer.rfind(b"<")
            if cut < 0 or len(buffer) - cut > CARRY_MAX:
                cut = len(buffer)
            carry = buffer[cut:]
            yield buffer[:cut]
    if carry:
        yield carry


# .xlsx

_SHEET = re.compile(rb"<(?:\w+:)?sheet\b([^>]*)>")
_RELATIONSHIP = re.compile(rb"<(?:\w+:)?Relationship\b([^>]*)>")
_ATTRIBUTE = re.compile(rb'([\w:]+)\s*=\s*"([^"]*)"')
_SHARED_STRING = re.compile(rb"<(?:\w+:)?si\b.*?</(?:\w+:)?si>", re.DOTALL)
_ROW_START = re.compile(rb"<(?:\w+:)?row[\s/>]")
_CELL_START = re.compile(rb"<(?:\w+:)?c[\s/>]")
# A cell that holds something (not self-closing), with its reference: its column and its row.
_FILLED_CELL = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]{1,3})([0-9]{1,7})"[^>/]*>')
# The same, without a namespace prefix: faster, one part at a time.
_PLACED_COLUMN = re.compile(rb'<c r="([A-Z]{1,3})[0-9]{1,7}"[^>/]*>')
_PLACED_ROW = re.compile(rb'<c r="[A-Z]{1,3}([0-9]{1,7})"[^>/]*>')
_SHARED_CELL = re.compile(rb'<(?:\w+:)?c\b[^>]*?\bt="s"[^>/]*>\s*<(?:\w+:)?v>\s*([0-9]{1,10})\s*<')
_FORMULA_CELL = re.compile(
    rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]{1,3})([0-9]{1,7})"[^>/]*>\s*'
    rb"<(?:\w+:)?f\b[^>]*?(?:/>|>([^<]*)</(?:\w+:)?f>)\s*(<(?:\w+:)?v>[^<]|<(?:\w+:)?is\b)?"
)


def _attributes(text: bytes) -> dict[str, str]:
    return {key.decode().split(":")[-1]: unescape(value.decode()) for key, value in _ATTRIBUTE.findall(text)}


def column_number(letters: bytes) -> int:
    """1 for A, 27 for AA."""
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _inspect_xlsx(archive, names) -> Upload:
    upload = Upload("xlsx")
    targets = {}
    if "xl/_rels/workbook.xml.rels" in names:
        for match in _RELATIONSHIP.finditer(archive.read("xl/_rels/workbook.xml.rels")):
            attributes = _attributes(match.group(1))
            target = attributes.get("Target", "")
            target = target.lstrip("/") if target.startswith("/") else "xl/" + target
            targets[attributes.get("Id")] = re.sub(r"[^/]+/\.\./", "", target)
    lengths = _shared_string_lengths(archive) if "xl/sharedStrings.xml" in names else array("Q")
    longest = max(lengths, default=0)
    for match in _SHEET.finditer(archive.read("xl/workbook.xml")):
        attributes = _attributes(match.group(1))
        member = targets.get(attributes.get("id"))
        if member in names and member.startswith("xl/worksheets/"):
            scan = _scan_xlsx_sheet(archive, member, attributes.get("name", ""), lengths, longest)
            upload.sheets[scan.name] = scan
            check_sheet_size(scan.size)  # calamine opens one .xlsx sheet at a time
    return upload


def _shared_string_lengths(archive) -> array:
    """Each shared text's length in bytes of XML: never less than the UTF-8 text calamine makes of it."""
    lengths = array("Q")
    carry = b""
    with archive.open("xl/sharedStrings.xml") as stream:
        while chunk := stream.read(CHUNK):
            buffer = carry + chunk
            end = 0
            for match in _SHARED_STRING.finditer(buffer):
                lengths.append(match.end() - match.start())
                end = match.end()
            carry = buffer[end:]
    return lengths


def _scan_xlsx_sheet(archive, member, name, lengths, longest) -> SheetScan:
    scan = SheetScan(name)
    member_size = archive.getinfo(member).file_size
    # Each shared-text cell takes at least 20 bytes of XML: when even the longest text in all of them
    # stays small, the exact sum is not needed.
    exact_shared = longest * (member_size // 20) > 16 * MB
    shared_bytes = 0
    row_tags = widest = open_row = 0
    max_row = max_column = 0
    for piece in _pieces(archive, member):
        plain = b"<c " in piece or b"<c>" in piece or b"<c/" in piece  # no namespace prefix: the usual case
        if plain and piece.count(b"<c ") + piece.count(b"<c>") + piece.count(b"<c/") == piece.count(b'<c r="'):
            # Every cell names its place (Excel, WPS, LibreOffice and openpyxl all write r="B7"):
            # the grid's columns bound each row's cells.
            row_tags += len(_ROW_START.findall(piece))
            columns, rows = _PLACED_COLUMN.findall(piece), _PLACED_ROW.findall(piece)
        else:
            # Cells without a reference take the next place: count each row's cells.
            starts = [match.start() for match in _ROW_START.finditer(piece)]
            bounds = [0, *starts, len(piece)]
            counts = [len(_CELL_START.findall(piece, a, b)) for a, b in zip(bounds, bounds[1:], strict=False)]
            # The first count continues the row left open by the previous piece; the last stays open.
            if starts:
                widest = max(widest, open_row + counts[0], *counts[1:-1])
                open_row = counts[-1]
            else:
                open_row += counts[0]
            check_row_width(max(widest, open_row))
            row_tags += len(starts)
            filled = _FILLED_CELL.findall(piece)
            columns, rows = [column for column, _row in filled], [row for _column, row in filled]
        if columns:
            max_column = max(max_column, max(column_number(c) for c in set(columns)))
            max_row = max(max_row, max(map(int, set(rows))))
            check_row_width(max_column)  # a cell past column 2,000
        if exact_shared:
            for index in _SHARED_CELL.findall(piece):
                index = int(index)
                shared_bytes += lengths[index] if index < len(lengths) else 0
        if b"<f" in piece or b":f" in piece:
            for column, row, text, value in _FORMULA_CELL.findall(piece):
                if len(scan.formulas) < MAX_FORMULAS_KEPT:
                    position = (int(row) - 1, column_number(column) - 1)
                    scan.formulas[position] = "=" + unescape(text.decode()) if text and not value else None
    if not exact_shared:
        shared_bytes = longest * (member_size // 20)
    # Cells without a reference take the next place: the row tags and the widest row bound them.
    scan.rows = max(max_row, row_tags)
    scan.columns = max(max_column, widest, open_row)
    scan.text_bytes = member_size + shared_bytes
    return scan


# .ods

_ODS_TAG = re.compile(rb"<(/?)table:(table|table-row|table-cell|covered-table-cell)(?=[\s/>])([^>]*?)(/?)>")
_REPEAT_COLUMNS = re.compile(rb'table:number-columns-repeated="([0-9]+)"')
_REPEAT_ROWS = re.compile(rb'table:number-rows-repeated="([0-9]+)"')
_SPAN_COLUMNS = re.compile(rb'table:number-columns-spanned="([0-9]+)"')
_SPAN_ROWS = re.compile(rb'table:number-rows-spanned="([0-9]+)"')
_TABLE_NAME = re.compile(rb'table:name="([^"]*)"')


def _number(pattern, attributes: bytes) -> int:
    match = pattern.search(attributes)
    return max(1, int(match.group(1))) if match else 1


def _inspect_ods(archive, names) -> Upload:
    if "META-INF/manifest.xml" in names and b"encryption-data" in archive.read("META-INF/manifest.xml"):
        raise password_protected()
    upload = Upload("ods")
    scan = None
    earlier = 0  # the size of the tables before this one: calamine reads every table of an .ods at once
    row = column = row_repeats = 0
    open_cell = None  # (where the open cell starts, how many times it counts)
    base = 0  # where the piece starts in content.xml
    for piece in _pieces(archive, "content.xml"):
        for match in _ODS_TAG.finditer(piece):
            closing, tag, attributes, empty = match.groups()
            if open_cell is not None:
                start, times = open_cell
                scan.text_bytes += (base + match.start() - start) * times  # the cell as written, repeated
                open_cell = None
            if tag == b"table":
                if closing:
                    earlier += scan.size if scan is not None else 0
                    scan = None
                else:
                    name = _TABLE_NAME.search(attributes)
                    scan = SheetScan(unescape(name.group(1).decode()) if name else "", merged=[])
                    upload.sheets[scan.name] = scan
                    row = 0
                continue
            if scan is None:
                continue
            if tag == b"table-row":
                if closing:
                    row += row_repeats
                else:
                    row_repeats, column = _number(_REPEAT_ROWS, attributes), 0
                    if empty:
                        row += row_repeats
                continue
            if closing:
                continue
            repeats = _number(_REPEAT_COLUMNS, attributes)  # a cell, covered or not
            if b"office:value-type" in attributes or b"table:formula" in attributes:
                scan.rows = max(scan.rows, row + row_repeats)
                scan.columns = max(scan.columns, column + repeats)
                check_row_width(scan.columns)
                if b"table:formula" in attributes and len(scan.formulas) < MAX_FORMULAS_KEPT:
                    scan.formulas[(row, column)] = None
                if empty:
                    scan.text_bytes += (match.end() - match.start()) * repeats * row_repeats
                else:
                    open_cell = (base + match.start(), repeats * row_repeats)
                check_sheet_size(earlier + scan.size)
            if b"-spanned" in attributes:
                rows, columns = _number(_SPAN_ROWS, attributes), _number(_SPAN_COLUMNS, attributes)
                if rows > 1 or columns > 1:
                    scan.merged.append(((row, column), (row + rows - 1, column + columns - 1)))
            column += repeats
        base += len(piece)
    check_sheet_size(earlier + (scan.size if scan is not None else 0))
    return upload


# OLE: .xls (and .et that are .xls), or an encrypted Office file.


def _inspect_ole(data: bytes, *, is_et: bool) -> Upload:
    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            if ole.exists("EncryptedPackage") or ole.exists("EncryptionInfo"):
                raise password_protected()  # an .xlsx (or .docx...) encrypted with a password
            stream = next((name for name in ("Workbook", "Book") if ole.exists(name)), None)
            if stream is None:
                raise wps_only() if is_et else not_a_sheet()
            workbook = ole.openstream(stream).read()
    except ImportFileError:
        raise
    except Exception:  # olefile raises many kinds for a damaged compound file
        raise damaged() from None
    upload = Upload("xls")
    try:
        upload.sheets = _scan_biff(workbook)
    except (struct.error, IndexError, ValueError, UnicodeDecodeError):
        raise damaged() from None
    # calamine reads every sheet of an .xls when it opens the file.
    check_sheet_size(sum(sheet.size for sheet in upload.sheets.values()))
    return upload


BOF, EOF, FILEPASS, SST, CONTINUE, BOUNDSHEET, DIMENSIONS = 0x0809, 0x000A, 0x002F, 0x00FC, 0x003C, 0x0085, 0x0200
FORMULA, STRING, LABELSST, MULRK = 0x0006, 0x0207, 0x00FD, 0x00BD
# Cells calamine keeps (blanks it does not): number, label, rich label, bool or error, RK.
SIMPLE_CELLS = {0x0203, 0x0204, 0x00D6, 0x0205, 0x027E}


def _scan_biff(stream: bytes) -> dict[str, SheetScan]:
    """Walk the records of an .xls Workbook stream ([MS-XLS] 2.1.4): one pass, one small step a record."""
    unpack = struct.unpack_from
    sheets_at: dict[int, str] = {}  # a sheet's BOF position -> its name
    sheets: dict[str, SheetScan] = {}
    sst: list[bytes] = []
    lengths = array("Q")
    substreams = 0  # the first is the workbook's globals, then one per sheet
    scan = None
    depth = 0  # nested substreams (a chart inside a sheet): calamine skips their cells
    first_row = first_column = None
    position, end = 0, len(stream)
    while position + 4 <= end:
        kind, size = unpack("<HH", stream, position)
        body = position + 4
        if sst and kind != CONTINUE:
            lengths, sst = _sst_lengths(sst), []
        if kind == BOF:
            depth += 1
            if depth == 1:
                substreams += 1
                scan = None
                if position in sheets_at:
                    scan = sheets[sheets_at[position]] = SheetScan(sheets_at[position])
                    first_row = first_column = None
        elif kind == EOF:
            depth -= 1
            if depth == 0 and scan is not None and first_row is not None:
                scan.rows -= first_row  # calamine's grid starts at the first cell
                scan.columns -= first_column
        elif depth != 1:
            pass
        elif substreams == 1:  # the workbook's globals
            if kind == FILEPASS:
                raise password_protected()
            if kind == SST:
                sst = [stream[body : body + size]]
            elif kind == CONTINUE and sst:
                sst.append(stream[body : body + size])
            elif kind == BOUNDSHEET:
                sheets_at[unpack("<I", stream, body)[0]] = _short_string(stream[body + 6 : body + size])
        elif scan is not None:
            cell = None
            if kind == LABELSST:
                row, column, _format, index = unpack("<HHHI", stream, body)
                cell = (row, column, column)
                scan.text_bytes += lengths[index] * 3 if index < len(lengths) else 0
            elif kind in SIMPLE_CELLS or kind == FORMULA:
                row, column = unpack("<HH", stream, body)
                cell = (row, column, column)
                scan.text_bytes += size
                if kind == FORMULA and len(scan.formulas) < MAX_FORMULAS_KEPT:
                    scan.formulas[(row, column)] = None
            elif kind == STRING:
                scan.text_bytes += size
            elif kind == MULRK:
                row, column = unpack("<HH", stream, body)
                cell = (row, column, unpack("<H", stream, body + size - 2)[0])
            elif kind == DIMENSIONS and size == 14:
                # calamine reserves room for the declared grid before it reads a cell.
                first, last, left, right = unpack("<IIHH", stream, body)
                declared = SheetScan("", rows=max(0, last - first), columns=max(0, right - min(left, right)))
                check_sheet_size(declared.size)
            if cell is not None:
                row, left, right = cell
                first_row = row if first_row is None else min(first_row, row)
                first_column = left if first_column is None else min(first_column, left)
                scan.rows = max(scan.rows, row + 1)
                scan.columns = max(scan.columns, right + 1)
        position = body + size
    return sheets


def _short_string(body: bytes) -> str:
    """A sheet name in BOUNDSHEET: its length in characters, a flags byte, then Latin-1 or UTF-16 text."""
    count, flags = body[0], body[1]
    if flags & 1:
        return body[2 : 2 + 2 * count].decode("utf-16-le")
    return body[2 : 2 + count].decode("latin-1")


def _sst_lengths(records: list[bytes]) -> array:
    """Each shared string's length in characters ([MS-XLS] 2.4.265, continued over CONTINUE records).

    A string's characters may run on into the next record, which then starts with a new flags byte
    (one or two bytes a character); its other parts (formatting runs, phonetic data) run on without one.
    """
    data = b"".join(records)
    ends = []
    total = 0
    for record in records:
        total += len(record)
        ends.append(total)
    lengths = array("Q")
    count = struct.unpack_from("<I", data, 4)[0]
    position, boundary = 8, 0
    for _string in range(count):
        if position + 3 > len(data):
            break
        length, flags = struct.unpack_from("<HB", data, position)
        position += 3
        runs = extra = 0
        if flags & 0x08:
            runs = struct.unpack_from("<H", data, position)[0]
            position += 2
        if flags & 0x04:
            extra = struct.unpack_from("<i", data, position)[0]
            position += 4
        width = 2 if flags & 0x01 else 1
        remaining = length
        while remaining:
            while boundary < len(ends) and ends[boundary] <= position:
                boundary += 1
            if boundary >= len(ends):
                raise ValueError("shared string runs past the table")
            room = (ends[boundary] - position) // width
            taken = min(remaining, room)
            position += taken * width
            remaining -= taken
            if remaining:
                position = ends[boundary]  # the next record starts with a flags byte
                width = 2 if data[position] & 0x01 else 1
                position += 1
        position += 4 * runs + max(0, extra)
        lengths.append(length)
    return lengths
