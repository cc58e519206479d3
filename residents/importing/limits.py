"""The limits of an import, checked before a reader opens the file and while it reads.

A sheet is untrusted input: a 10 MB .xlsx is a zip that can unpack to gigabytes, one shared
string can be referenced in every cell, and every kept cell costs memory in the preview. So an
upload is refused, with a message that says which limit and how to get under it, when:

- the file is larger than IMPORT_MAX_UPLOAD_MB (checked from the size alone);
- a zip-based workbook (.xlsx) declares more than IMPORT_MAX_UNPACKED_MB unpacked, in total or
  in one member, or more than MAX_MEMBERS members (checked from the zip's directory, before
  anything is unpacked; Python's zipfile never unpacks more than a member declares, and a member
  that holds more fails its check as a damaged file);
- a cell holds more than IMPORT_MAX_CELL_CHARS characters (checked as each cell is read, before
  the text is copied or judged);
- the sheet holds more than IMPORT_MAX_ROWS residents.

The limits live in settings (environment overrides, documented in docs/IMPORT.md). A reader
of another format calls check_upload first, check_zip when the format is a zip (.ods is
one too), then check_cell and check_rows as it reads.
"""

import io
import re
import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _
from openpyxl.utils import get_column_letter

MB = 1024 * 1024
MAX_CELLS_A_ROW = 2_000  # the template has 12 columns; cadres' own sheets a few dozen
MAX_MEMBERS = 1_000  # a workbook has a few dozen parts; thousands only make the directory costly to read
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls, or any file Office encrypted with a password
ZIP_MAGIC = b"PK\x03\x04"


class ImportFileError(Exception):
    """The upload cannot be read as a residents sheet; the message says why, for the user."""


@dataclass(frozen=True)
class Limits:
    upload_bytes: int
    unpacked_bytes: int
    cell_chars: int
    rows: int


def limits() -> Limits:
    """The limits as configured now (read at each import, so tests and deployments can change them)."""
    return Limits(
        upload_bytes=settings.IMPORT_MAX_UPLOAD_MB * MB,
        unpacked_bytes=settings.IMPORT_MAX_UNPACKED_MB * MB,
        cell_chars=settings.IMPORT_MAX_CELL_CHARS,
        rows=settings.IMPORT_MAX_ROWS,
    )


def too_large_message(size: int) -> str:
    return _("The file is %(size).1f MB; at most %(max)d MB can be uploaded. Split it into several files.") % {
        "size": size / MB,
        "max": settings.IMPORT_MAX_UPLOAD_MB,
    }


def check_upload(data: bytes) -> None:
    """Refuse what is empty, too large or not an .xlsx by its content (not its name). Raises ImportFileError."""
    if not data:
        raise ImportFileError(_("The file is empty."))
    if len(data) > limits().upload_bytes:
        raise ImportFileError(too_large_message(len(data)))
    if data[:8] == XLS_MAGIC:
        raise ImportFileError(
            _(
                "This is an old Excel file (.xls) or a password-protected one. Open it in Excel or WPS, "
                "remove any password and save it as an Excel workbook (.xlsx), then upload that."
            )
        )
    if data[:4] != ZIP_MAGIC:
        raise ImportFileError(
            _(
                "This is not an Excel workbook (.xlsx): it may be a CSV or another file with its name changed. "
                "Open it in Excel or WPS and save it as an Excel workbook (.xlsx)."
            )
        )
    names = check_zip(data)
    if "xl/workbook.xml" not in names:
        raise ImportFileError(_("This is not an Excel workbook (.xlsx). Open it in Excel or WPS and save it as .xlsx."))
    check_row_widths(data, [name for name in names if name.startswith("xl/worksheets/") and name.endswith(".xml")])


def check_zip(data: bytes) -> set[str]:
    """Read the zip's directory only and refuse it when it declares too much. Returns the member names."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
        raise damaged() from None
    if len(members) > MAX_MEMBERS:
        raise damaged()
    # Each member on its own and all together: a single sheet of gigabytes, or many of 60 MB.
    largest = max((member.file_size for member in members), default=0)
    total = sum(member.file_size for member in members)
    if max(largest, total) > limits().unpacked_bytes:
        raise ImportFileError(
            _(
                "This workbook unpacks to %(size)d MB; at most %(max)d MB can be read (a sheet of "
                "%(rows)d residents is far smaller). Remove other sheets, pictures and formatting, "
                "or split it into several files."
            )
            % {"size": max(largest, total) // MB, "max": settings.IMPORT_MAX_UNPACKED_MB, "rows": limits().rows}
        )
    return {member.filename for member in members}


# A cell or a row opening tag, with or without a namespace prefix (<c r="A1">, <x:row>).
_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)[\s/>]")
_CARRY = 64  # bytes kept between chunks, so that a tag cut in two is still seen


def check_row_widths(data: bytes, members: list[str]) -> None:
    """Refuse a sheet with a row of more than MAX_CELLS_A_ROW cells, by scanning its XML as it unpacks.

    openpyxl builds each row whole before handing it over: one row of three million empty cells
    (12 MB unpacked, 60 KB zipped) took a gigabyte. The scan reads each sheet in 1 MB pieces.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in members:
                with archive.open(member) as stream:
                    _scan(stream)
    except ImportFileError:
        raise
    except (zipfile.BadZipFile, ValueError, EOFError, OSError, RuntimeError, NotImplementedError):
        # RuntimeError: an encrypted member; NotImplementedError: a compression Python cannot read.
        raise damaged() from None


def _scan(stream) -> None:
    cells, tail = 0, b""
    while chunk := stream.read(MB):
        buffer = tail + chunk
        for match in _TAG.finditer(buffer):
            if match.end() <= len(tail):
                continue  # counted with the previous piece
            if match.group(1) == b"row":
                cells = 0
                continue
            cells += 1
            if cells > MAX_CELLS_A_ROW:
                raise ImportFileError(
                    _(
                        "A row of this workbook holds more than %(max)d cells. Delete the empty columns to the "
                        "right of your table (select them, right-click, Delete), save and upload again."
                    )
                    % {"max": MAX_CELLS_A_ROW}
                )
        tail = buffer[-_CARRY:]


def damaged() -> ImportFileError:
    return ImportFileError(_("The file is damaged and cannot be read. Save it again in Excel and retry."))


def check_cell(value, *, row: int, column: int, max_chars: int) -> None:
    """Refuse a cell longer than the limit, before its text is copied or judged (`column` is 0-based)."""
    if isinstance(value, str) and len(value) > max_chars:
        raise ImportFileError(
            _(
                "Cell %(cell)s holds %(count)d characters; a cell may hold at most %(max)d. "
                "Shorten it (a name has at most 50), or delete that column if it is not needed."
            )
            % {"cell": f"{get_column_letter(column + 1)}{row}", "count": len(value), "max": max_chars}
        )


def check_rows(count: int, *, max_rows: int) -> None:
    """Refuse a sheet when `count` residents (rows read so far) go past the limit."""
    if count > max_rows:
        raise ImportFileError(
            _("The sheet has more than %(max)d rows of residents. Split it into several files.") % {"max": max_rows}
        )
