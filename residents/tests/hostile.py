"""Hostile uploads, built as raw OOXML parts (fast, and free to break the rules openpyxl's writer keeps)."""

import io
import struct
import zipfile
from xml.sax.saxutils import escape

from residents.tests.factories import id_number_for
from residents.tests.sheets import TEMPLATE_HEADERS

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="摸排登记表" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
    'Target="sharedStrings.xml"/></Relationships>'
)
SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
SHEET_TAIL = "</sheetData></worksheet>"


def _inline(text: str) -> str:
    return f'<c t="inlineStr"><is><t>{escape(text)}</t></is></c>'


def _shared(index: int) -> str:
    return f'<c t="s"><v>{index}</v></c>'


def workbook(rows, *, shared=(), headers=TEMPLATE_HEADERS) -> bytes:
    """An .xlsx of a header row and `rows`, each a list of cell XML strings (see cells())."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        strings = "".join(f"<si><t>{escape(text)}</t></si>" for text in shared)
        archive.writestr(
            "xl/sharedStrings.xml",
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' + strings + "</sst>",
        )
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(SHEET_HEAD.encode())
            sheet.write(("<row>" + "".join(_inline(h) for h in headers) + "</row>").encode())
            chunk = []
            for row in rows:
                chunk.append("<row>" + "".join(row) + "</row>")
                if len(chunk) == 1000:
                    sheet.write("".join(chunk).encode())
                    chunk = []
            sheet.write(("".join(chunk) + SHEET_TAIL).encode())
    return buffer.getvalue()


def person_cells(n: int, name: str | None = None) -> list[str]:
    return [_inline(name or f"王{n}"), _inline(id_number_for(n))]


def many_rows(count: int) -> bytes:
    """`count` residents of two cells each (name, ID number)."""
    return workbook((person_cells(n) for n in range(count)), headers=TEMPLATE_HEADERS[:2])


def huge_cells(count: int = 20_000, chars: int = 14 * 1024) -> bytes:
    """The probe's file: `count` names of `chars` characters, each its own text (about 0.7 MB zipped)."""
    return workbook((person_cells(n, f"{n:06d}" + "王" * chars) for n in range(count)), headers=TEMPLATE_HEADERS[:2])


def shared_string_bomb(count: int = 20_000, chars: int = 5_000_000, columns: int = 12) -> bytes:
    """One shared string of `chars` characters, referenced in `columns` cells of `count` rows."""
    return workbook(([_shared(0)] * columns for _ in range(count)), shared=["王" * chars])


def widest_accepted(count: int, chars: int) -> bytes:
    """Every one of the 12 template columns of `count` rows at the cell limit: the largest file accepted."""
    return workbook(([_shared(0)] * len(TEMPLATE_HEADERS) for _ in range(count)), shared=["王" * chars])


def zip_bomb(unpacked: int) -> bytes:
    """A workbook whose sheet really unpacks to `unpacked` bytes (blanks: it zips to about a thousandth)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(SHEET_HEAD.encode())
            block = b" " * (1024 * 1024)
            for _ in range(unpacked // len(block)):
                sheet.write(block)
            sheet.write(SHEET_TAIL.encode())
    return buffer.getvalue()


def understate(data: bytes, member: str, size: int) -> bytes:
    """The same zip, its directory declaring `size` bytes for `member` (which holds more): a lying bomb."""
    name = member.encode()
    data = bytearray(data)
    position = 0
    while True:
        central = data.find(b"PK\x01\x02", position)
        if central < 0:
            raise ValueError(member)
        name_length = struct.unpack_from("<H", data, central + 28)[0]
        if bytes(data[central + 46 : central + 46 + name_length]) == name:
            break
        position = central + 4
    uncompressed = struct.unpack_from("<I", data, central + 24)[0]
    if uncompressed == 0xFFFFFFFF:  # zip64: the size is in the extra field
        extra_length = struct.unpack_from("<H", data, central + 30)[0]
        extra = central + 46 + name_length
        end = extra + extra_length
        while extra < end:
            header, length = struct.unpack_from("<HH", data, extra)
            if header == 0x0001:
                struct.pack_into("<Q", data, extra + 4, size)
                break
            extra += 4 + length
    else:
        struct.pack_into("<I", data, central + 24, size)
    return bytes(data)
