"""The import batch: a sheet's preview, its confirm and its error report.

Nothing is written until the user confirms a preview. At confirm time the file is read
(residents.importing.reading) and judged (residents.importing.rows) again; when the outcome
differs from the preview, nothing is written.
"""

import io

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from campaign.lib.excel import ERROR_FILL, header_row, office_workbook, print_setup, safe_cell, set_widths
from campaign.lib.text import displayable
from residents.importing.reading import TEXT_FIELDS, read_sheet
from residents.importing.rows import ERROR, NEW, UNCHANGED, UPDATE, Preview, build_preview, not_detailed_message
from residents.models import ImportBatch, Resident
from residents.services import AlreadyRegistered, resident_update, residents_register_many


class PreviewChanged(Exception):
    """At confirm time the file no longer judges as its preview did: nothing was written."""


def import_preview(*, data: bytes, file_name: str, campaign, village, user) -> ImportBatch:
    """Read an upload, judge it and keep the preview as an ImportBatch. Raises ImportFileError."""
    sheet = read_sheet(data, file_name)
    preview = build_preview(sheet=sheet, campaign=campaign, village=village, user=user)
    batch = ImportBatch(
        campaign=campaign, village=village, uploaded_by=user, file_name=displayable(file_name)[:255], content=data
    )
    _store(batch, preview)
    batch.save()
    return batch


def _store(batch: ImportBatch, preview: Preview) -> None:
    counts = preview.counts
    batch.sheet_name = displayable(preview.sheet.title)[:100]
    batch.header_row = preview.sheet.header_row
    # What the pages and the error report show; the values to write are judged again at confirm time.
    # (Plain dicts built by hand: dataclasses.asdict's deep copy cost a second per 5,000 rows.)
    batch.rows = [
        {
            "row": row.row,
            "action": row.action,
            "cells": {name: text for name, text in row.cells.items() if text},
            "errors": row.errors,
            "changes": row.changes,
            "status": row.status,
            "reasons": row.reasons,
        }
        for row in preview.rows
    ]
    batch.signature = preview.signature
    batch.new_count, batch.update_count = counts[NEW], counts[UPDATE]
    batch.unchanged_count, batch.error_count = counts[UNCHANGED], counts[ERROR]


class AlreadyImported(Exception):
    """The batch was confirmed before (a second click, or a second tab)."""


def import_apply(*, batch: ImportBatch, user) -> ImportBatch:
    """Write exactly the new and updated rows of a confirmed preview, all in one transaction.

    The file is judged again inside the transaction. Raises PreviewChanged (and writes
    nothing, but keeps the new preview on the batch) when the outcome differs from what
    the user saw; AlreadyImported for a batch confirmed before.
    """
    try:
        with transaction.atomic():
            # One confirm per batch: a double click waits here, then finds it imported.
            batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
            if batch.status == ImportBatch.Status.APPLIED:
                raise AlreadyImported
            preview = _judge_again(batch, user=user, lock=True)
            if preview.signature != batch.signature:
                raise PreviewChanged
            _write(preview, batch=batch, user=user)
            batch.status, batch.applied_at = ImportBatch.Status.APPLIED, timezone.now()
            batch.save(update_fields=["status", "applied_at"])
    except PreviewChanged:
        # Rolled back; show the user what the file means now.
        _store(batch, _judge_again(batch, user=user))
        batch.save(update_fields=["rows", "signature", "new_count", "update_count", "unchanged_count", "error_count"])
        raise
    return batch


def _judge_again(batch: ImportBatch, *, user, lock: bool = False) -> Preview:
    sheet = read_sheet(bytes(batch.content))
    return build_preview(sheet=sheet, campaign=batch.campaign, village=batch.village, user=user, lock=lock)


def _write(preview: Preview, *, batch, user) -> None:
    residents = Resident.objects.in_bulk([row.resident for row in preview.rows if row.action == UPDATE])
    cadres = User.objects.in_bulk({row.values.get("responsible_cadre") for row in preview.rows} - {None})

    def with_cadre(values):
        if "responsible_cadre" in values:
            values = {**values, "responsible_cadre": cadres.get(values["responsible_cadre"])}
        return values

    people = [with_cadre(row.values) for row in preview.rows if row.action == NEW]
    try:
        residents_register_many(campaign=batch.campaign, village=batch.village, people=people, registered_by=user)
    except (AlreadyRegistered, ValidationError):
        # Someone registered one of these numbers since the check above (no lock can cover a new row).
        raise PreviewChanged from None
    for row in preview.rows:
        if row.action == UPDATE:
            resident_update(resident=residents[row.resident], changed_by=user, **with_cadre(row.values))


def error_report(batch: ImportBatch) -> bytes:
    """The rows that had errors, as uploaded, with a 错误原因 column and the bad cells filled red."""
    sheet = read_sheet(bytes(batch.content))
    errors = {row["row"]: row["errors"] for row in batch.rows if row["action"] == ERROR}
    field_of = {index: name for name, index in sheet.columns.items()}
    workbook = office_workbook()
    ws = workbook.create_sheet("错误行")
    headers = [*sheet.headers, "错误原因"]
    set_widths(ws, [_width(field_of.get(i)) for i in range(len(sheet.headers))] + [60])
    ws.freeze_panes = "A2"
    print_setup(ws, landscape=True, title_rows="1:1")
    ws.append(header_row(ws, headers))
    for row_number, values in sheet.rows:
        if row_number not in errors:
            continue
        row_errors = errors[row_number]
        cells = []
        for index, cell in enumerate(values):
            value = cell.value
            name = field_of.get(index)
            if name in TEXT_FIELDS and isinstance(value, float) and value.is_integer():
                value = int(value)  # an ID number Excel turned into a number: give back its digits as text
            cells.append(
                safe_cell(ws, value, text=name in TEXT_FIELDS, fill=ERROR_FILL if name in row_errors else None)
            )
        reasons = "；".join(
            f"{sheet.headers[sheet.columns[name]]}：{message or not_detailed_message()}"
            for name, message in row_errors.items()
        )
        cells.append(safe_cell(ws, reasons))
        ws.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _width(name) -> int:
    return {"name": 12, "id_number": 22, "phone": 15, "responsible_cadre": 14}.get(name, 14)
