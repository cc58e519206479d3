"""The import batch: a sheet's preview, its confirm and its error report.

Nothing is written until the user confirms a preview. At confirm time the file is read
(residents.importing.reading) and judged (residents.importing.rows) again; when the outcome
differs from the preview, nothing is written.
"""

import datetime
import io

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from campaign.celery import app as celery_app
from campaign.lib.excel import (
    ERROR_FILL,
    date_cell,
    header_row,
    office_workbook,
    print_setup,
    safe_cell,
    set_widths,
)
from campaign.lib.jobs import ProgressReporter, enqueue_or_run_here
from campaign.lib.text import displayable
from residents.importing.limits import ImportFileError
from residents.importing.reading import HEADERS, TEXT_FIELDS, read_sheet
from residents.importing.rows import (
    ERROR,
    NEW,
    PROGRESS_EVERY,
    SKIPPED,
    UNCHANGED,
    UPDATE,
    Preview,
    RowResult,
    build_preview,
    general_format,
    is_number,
    not_detailed_message,
    without_cycle_collection,
)
from residents.models import ImportBatch, Resident
from residents.services import AlreadyRegistered, resident_update, residents_register_many


class PreviewChanged(Exception):
    """At confirm time the file no longer judges as its preview did: nothing was written."""


def import_preview(*, data: bytes, file_name: str, campaign, village, user, progress=None) -> ImportBatch:
    """Read an upload, judge it and keep the preview as an ImportBatch. Raises ImportFileError.

    `progress` is build_preview's: called as progress(rows judged, rows in all) as the rows are judged.
    """
    sheet = read_sheet(data, file_name)
    preview = build_preview(sheet=sheet, campaign=campaign, village=village, user=user, progress=progress)
    batch = ImportBatch(
        campaign=campaign, village=village, uploaded_by=user, file_name=displayable(file_name)[:255], content=data
    )
    with without_cycle_collection():  # 100,000 rows kept: no cycles among them
        _store(batch, preview)
        batch.save()
    return batch


# The Celery task that reads an upload (residents.tasks.read_import), by its registered name:
# residents.tasks imports this module. ResidentsConfig.ready() registers it in every process.
READ_IMPORT_TASK = "residents.read_import"
# An upload still being read whose progress has not moved for this long lost its worker (or
# its web process): its page starts the reading again (import_read runs once whatever happens).
READING_STALLED = datetime.timedelta(minutes=2)


def import_upload(*, data: bytes, file_name: str, campaign, village, user) -> ImportBatch:
    """Keep an upload as a batch being read, and start reading it: a worker, or this process.

    The page of the batch shows the reading's progress and ends on the preview (campaign.lib.jobs).
    On the embedded default (no broker) the reading is done when this returns, and a file that
    cannot be read raises ImportFileError there and then, keeping nothing. Only the upload's size
    is checked here (the form has done it); what the file holds is import_read's.
    """
    read_import = celery_app.tasks[READ_IMPORT_TASK]
    batch = ImportBatch.objects.create(
        campaign=campaign,
        village=village,
        uploaded_by=user,
        file_name=displayable(file_name)[:255],
        content=data,
        status=ImportBatch.Status.READING,
    )
    if read_import.app.conf.task_always_eager:
        # No broker (the embedded default): read in this request, as Celery's eager mode would,
        # and before any commit, so that an upload inside a larger transaction is read too.
        import_read(batch_id=batch.pk)
        batch.refresh_from_db(fields=["status", "failure"])
        if batch.status == ImportBatch.Status.FAILED:
            batch.delete()  # refused at once, as an upload always was: no batch to come back to
            raise ImportFileError(batch.failure)
    else:
        transaction.on_commit(lambda: enqueue_or_run_here(read_import, batch.pk), robust=True)
    return batch


def import_read(*, batch_id: int) -> bool:
    """Read and judge a batch being read, reporting its progress; keep the preview, or why it failed.

    Safe to run twice (a message given out again, a page restarting a stalled reading): only the
    run that finds the batch still being read writes its outcome. Returns True when it did.
    """
    batch = ImportBatch.objects.select_related("campaign", "village", "uploaded_by").filter(pk=batch_id).first()
    if batch is None or batch.status != ImportBatch.Status.READING:
        return False
    reading = ImportBatch.objects.filter(pk=batch_id, status=ImportBatch.Status.READING)
    report = ProgressReporter(reading)
    try:
        sheet = read_sheet(bytes(batch.content), batch.file_name)
        preview = build_preview(
            sheet=sheet, campaign=batch.campaign, village=batch.village, user=batch.uploaded_by, progress=report
        )
    except ImportFileError as error:
        # The file is not kept: it holds nothing that can be imported, and it may hold personal data.
        return bool(reading.update(status=ImportBatch.Status.FAILED, failure=str(error)[:500], content=b""))
    with without_cycle_collection():  # 100,000 rows kept: no cycles among them
        _store(batch, preview)
        return bool(
            reading.update(
                status=ImportBatch.Status.PREVIEWED,
                sheet_name=batch.sheet_name,
                header_row=batch.header_row,
                **{name: getattr(batch, name) for name in STORED_FIELDS},
            )
        )


def import_read_if_stalled(batch: ImportBatch, *, now=None) -> bool:
    """Start the reading of `batch` again when it has not moved for READING_STALLED (its worker died)."""
    now = now or timezone.now()
    last = batch.progress_at or batch.uploaded_at
    if batch.status != ImportBatch.Status.READING or now - last < READING_STALLED:
        return False
    ImportBatch.objects.filter(pk=batch.pk, status=ImportBatch.Status.READING).update(progress_at=now)
    enqueue_or_run_here(celery_app.tasks[READ_IMPORT_TASK], batch.pk)
    return True


STORED_FIELDS = ["rows", "signature", "new_count", "update_count", "unchanged_count", "error_count"]


def _store(batch: ImportBatch, preview: Preview) -> None:
    counts = preview.counts
    batch.sheet_name = displayable(preview.sheet.title)[:100]
    batch.header_row = preview.sheet.header_row
    # What the pages and the error report show; the values to write are judged again at confirm time.
    batch.rows = [_stored(row) for row in preview.rows]
    batch.signature = preview.signature
    batch.new_count, batch.update_count = counts[NEW], counts[UPDATE]
    batch.unchanged_count, batch.error_count = counts[UNCHANGED], counts[ERROR]


def _stored(row: RowResult) -> dict:
    """One row as the preview page and the error report need it, and no more: 100,000 rows are kept.

    Plain dicts built by hand (dataclasses.asdict's deep copy cost a second per 5,000 rows); what
    is empty is left out (and the cells are only those the page shows, see RowResult.cells).
    """
    if row.action == SKIPPED:
        return {"row": row.row, "action": SKIPPED, "skipped": row.skipped, "line": row.line}
    stored = {"row": row.row, "action": row.action, "cells": row.cells, "errors": row.errors}
    for name in ("warnings", "changes", "status", "reasons"):
        value = getattr(row, name)
        if value:
            stored[name] = value
    return stored


class NotPreviewed(Exception):
    """The batch is still being read, or could not be read: there is no preview to confirm."""


class AlreadyImported(Exception):
    """The batch was confirmed before (a second click, or a second tab)."""


def import_apply(*, batch: ImportBatch, user, progress=None) -> ImportBatch:
    """Write exactly the new and updated rows of a confirmed preview, all in one transaction.

    The file is judged again inside the transaction. Raises PreviewChanged (and writes
    nothing, but keeps the new preview on the batch) when the outcome differs from what
    the user saw; AlreadyImported for a batch confirmed before.

    `progress`, when given, is called as progress(done, total) as the rows are judged again and
    then as they are written (total: the rows judged plus the rows to write); writing is most of
    the time (100,000 new residents: about 5 s to judge, 30 s to write).
    """
    try:
        with transaction.atomic():
            # One confirm per batch: a double click waits here, then finds it imported.
            batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
            if batch.status == ImportBatch.Status.APPLIED:
                raise AlreadyImported
            if batch.status != ImportBatch.Status.PREVIEWED:
                raise NotPreviewed
            to_write = batch.new_count + batch.update_count
            judged = None if progress is None else (lambda done, rows: progress(done, rows + to_write))
            preview = _judge_again(batch, user=user, lock=True, progress=judged)
            if preview.signature != batch.signature:
                raise PreviewChanged
            with without_cycle_collection():  # 100,000 new residents and their history: no cycles among them
                _write(preview, batch=batch, user=user, progress=progress)
            batch.status, batch.applied_at = ImportBatch.Status.APPLIED, timezone.now()
            batch.save(update_fields=["status", "applied_at"])
    except PreviewChanged:
        # Rolled back; show the user what the file means now.
        _store(batch, _judge_again(batch, user=user))
        batch.save(update_fields=STORED_FIELDS)
        raise
    return batch


def _judge_again(batch: ImportBatch, *, user, lock: bool = False, progress=None) -> Preview:
    sheet = read_sheet(bytes(batch.content), batch.file_name)
    return build_preview(
        sheet=sheet, campaign=batch.campaign, village=batch.village, user=user, lock=lock, progress=progress
    )


def _write(preview: Preview, *, batch, user, progress=None) -> None:
    """The new rows registered in batches of PROGRESS_EVERY (all in the caller's transaction), then the updates."""
    residents = Resident.objects.in_bulk([row.resident for row in preview.rows if row.action == UPDATE])
    cadres = User.objects.in_bulk({row.values.get("responsible_cadre") for row in preview.rows} - {None})

    def with_cadre(values):
        if "responsible_cadre" in values:
            values = {**values, "responsible_cadre": cadres.get(values["responsible_cadre"])}
        return values

    people = [with_cadre(row.values) for row in preview.rows if row.action == NEW]
    updates = [row for row in preview.rows if row.action == UPDATE]
    judged, total = len(preview.sheet.rows), len(preview.sheet.rows) + len(people) + len(updates)
    for start in range(0, len(people), PROGRESS_EVERY):
        try:
            residents_register_many(
                campaign=batch.campaign,
                village=batch.village,
                people=people[start : start + PROGRESS_EVERY],
                registered_by=user,
            )
        except (AlreadyRegistered, ValidationError):
            # Someone registered one of these numbers since the check above (no lock can cover a new row).
            raise PreviewChanged from None
        if progress is not None:
            progress(judged + min(start + PROGRESS_EVERY, len(people)), total)
    for done, row in enumerate(updates, start=1):
        resident_update(resident=residents[row.resident], changed_by=user, **with_cadre(row.values))
        if progress is not None and (done % PROGRESS_EVERY == 0 or done == len(updates)):
            progress(judged + len(people) + done, total)


def error_report(batch: ImportBatch) -> bytes:
    """The rows that had errors, as uploaded, with a 错误原因 column and the bad cells filled red.

    Each cell comes back as the sheet showed it, so that the cadre fixes what they saw and the
    file uploads again as it is: an ID number Excel had taken for a number as the 3.41524E+17
    Excel showed (its last digits are lost; the cadre types them again), dates as dates in a
    column wide enough to show them, a merged cell's value in every row it spanned.
    """
    if batch.status not in (ImportBatch.Status.PREVIEWED, ImportBatch.Status.APPLIED):
        raise NotPreviewed  # still being read, or never read: no rows to report
    sheet = read_sheet(bytes(batch.content), batch.file_name)
    errors = {row["row"]: row["errors"] for row in batch.rows if row["action"] == ERROR}
    wrong = [(number, values) for number, values in sheet.rows if number in errors]
    field_of = {index: name for name, index in sheet.columns.items()}
    widths = [_width(field_of.get(i)) for i in range(len(sheet.headers))]
    for _number, values in wrong:
        for index, cell in enumerate(values):
            if isinstance(cell.value, datetime.date):
                widths[index] = max(widths[index], 18 if _has_time(cell.value) else 12)
    workbook = office_workbook()
    ws = workbook.create_sheet("错误行")
    headers = [*sheet.headers, "错误原因"]
    set_widths(ws, [*widths, 60])
    ws.freeze_panes = "A2"
    print_setup(ws, landscape=True, title_rows="1:1")
    ws.append(header_row(ws, headers))
    for row_number, values in wrong:
        row_errors = errors[row_number]
        cells = []
        for index, cell in enumerate(values):
            name = field_of.get(index)
            cells.append(_as_shown(ws, cell.value, text=name in TEXT_FIELDS, wrong=name in row_errors))
        reasons = "；".join(
            f"{_header_of(sheet, name)}：{message or not_detailed_message()}" for name, message in row_errors.items()
        )
        cells.append(safe_cell(ws, reasons))
        ws.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _header_of(sheet, name: str) -> str:
    """The header of a field's column as the sheet has it; the template's where the sheet has none
    (a passport's missing 出生日期)."""
    return sheet.headers[sheet.columns[name]] if name in sheet.columns else HEADERS[name][0]


def _has_time(value) -> bool:
    return isinstance(value, datetime.datetime) and value.time() != datetime.time(0)


def _as_shown(ws, value, *, text: bool, wrong: bool):
    """A cell of the error report, as the uploaded sheet showed it."""
    fill = ERROR_FILL if wrong else None
    if isinstance(value, datetime.date):
        cell = date_cell(ws, value, with_time=_has_time(value))
        if fill is not None:
            cell.fill = fill
        return cell
    if text and is_number(value):
        # An ID number or phone Excel took for a number: its text as Excel showed it, never digits made up.
        value = general_format(value)
    return safe_cell(ws, value, text=text, fill=fill)


def _width(name) -> int:
    return {"name": 12, "id_number": 22, "phone": 15, "responsible_cadre": 14}.get(name, 14)
