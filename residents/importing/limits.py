"""The limits of an import, checked before a reader opens the file and while it reads.

A sheet is untrusted input: a 10 MB .xlsx or .ods is a zip that can unpack to gigabytes, one shared
text can be referenced in every cell, one row can hold millions of cells, and the reader
(python-calamine) builds a whole sheet in memory, as a grid from its first to its last cell. So an
upload is refused, with a message that says which limit and how to get under it, when:

- the file is larger than IMPORT_MAX_UPLOAD_MB (checked from the size alone);
- a zip-based workbook (.xlsx, .ods) declares more than IMPORT_MAX_UNPACKED_MB unpacked, in total or
  in one member, or more than MAX_MEMBERS members (checked from the zip's directory, before
  anything is unpacked; Python's zipfile never unpacks more than a member declares, and a member
  that holds more fails its check as a damaged file);
- a row holds more than MAX_CELLS_A_ROW cells, or a sheet would take more than READ_FACTOR times
  IMPORT_MAX_UNPACKED_MB once read (its grid and its text; measured by residents.importing.formats
  as the file unpacks, before the reader opens it);
- a cell holds more than IMPORT_MAX_CELL_CHARS characters (checked as each cell is read, before
  the text is copied or judged);
- the sheet holds more than IMPORT_MAX_ROWS residents.

The limits live in settings (environment overrides, documented in docs/IMPORT.md).
"""

import io
import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _
from openpyxl.utils import get_column_letter

MB = 1024 * 1024
MAX_CELLS_A_ROW = 2_000  # the template has 12 columns; cadres' own sheets a few dozen
MAX_MEMBERS = 1_000  # a workbook has a few dozen parts; thousands only make the directory costly to read
READ_FACTOR = 2  # a sheet once read (calamine's grid and text) may take twice what a zip may unpack to


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
    """Refuse what is empty or too large, before anything else looks at it. Raises ImportFileError."""
    if not data:
        raise ImportFileError(_("The file is empty."))
    if len(data) > limits().upload_bytes:
        raise ImportFileError(too_large_message(len(data)))


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


def check_row_width(cells: int) -> None:
    """Refuse a sheet with a row of more than MAX_CELLS_A_ROW cells (counted as the file unpacks)."""
    if cells > MAX_CELLS_A_ROW:
        raise ImportFileError(
            _(
                "A row of this workbook holds more than %(max)d cells. Delete the empty columns to the "
                "right of your table (select them, right-click, Delete), save and upload again."
            )
            % {"max": MAX_CELLS_A_ROW}
        )


def read_bytes_limit() -> int:
    return READ_FACTOR * limits().unpacked_bytes


def check_sheet_size(size: int) -> None:
    """Refuse a workbook whose sheets would take more than read_bytes_limit() once read (`size` in bytes)."""
    if size > read_bytes_limit():
        raise ImportFileError(
            _(
                "Read cell by cell, this workbook takes %(size)d MB; at most %(max)d MB can be read (a sheet of "
                "%(rows)d residents takes far less). It may repeat one long text in very many cells, or have "
                "cells far below or to the right of the table: delete what is not needed (notes, other sheets, "
                "far-away cells), or split it into several files."
            )
            % {"size": size // MB, "max": read_bytes_limit() // MB, "rows": limits().rows}
        )


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
