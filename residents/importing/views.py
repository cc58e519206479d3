"""Excel import of residents: upload, preview, confirm, error report and template."""

import io
import re
from pathlib import PurePath

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from campaign.lib.access import role_required
from campaign.lib.documents import DOCUMENT_KINDS, DocumentType
from campaign.lib.jobs import progress_response
from campaign.lib.masking import mask_document_number, mask_phone
from campaign.roles import Role, role_of
from campaign.scope import bound_village, working_campaign
from residents.importing import rows as judging
from residents.importing import services as importing
from residents.importing.forms import ImportUploadForm
from residents.importing.limits import MB, ImportFileError, limits
from residents.importing.template import template_workbook
from residents.models import CONTRAINDICATIONS, ImportBatch, Resident
from residents.services import reason_labels

IMPORTERS = (Role.CADRE, Role.OFFICE)
ROWS_PER_PAGE = 500
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _may_import_into(user, village) -> bool:
    if role_of(user) == Role.OFFICE:
        return True
    # A cadre's village holds across campaigns: the one named as hers (campaign.scope).
    own = bound_village(user, village.campaign)
    return own is not None and own.pk == village.pk


def _batch_or_404(request, pk) -> ImportBatch:
    # Someone else's upload is simply not there: 404, never 403.
    # The file is read only to confirm or to build the error report: leave it in the database till then.
    batches = ImportBatch.objects.select_related("village", "campaign").defer("content")
    batch = get_object_or_404(batches, pk=pk, uploaded_by=request.user, campaign=working_campaign(request))
    if not _may_import_into(request.user, batch.village):
        raise PermissionDenied
    return batch


@role_required(*IMPORTERS)
def import_start(request):
    """The upload form: a cadre imports into their village, the office chooses one."""
    campaign = working_campaign(request)
    is_office = role_of(request.user) == Role.OFFICE
    own = None if is_office else bound_village(request.user, campaign)
    if not is_office and own is None:
        raise PermissionDenied  # a cadre whose village is not in this campaign
    if not is_office and "village" in request.POST and request.POST["village"] != str(own.pk):
        raise PermissionDenied  # a cadre imports into their own village only
    form = ImportUploadForm(request.POST or None, request.FILES or None, campaign=campaign, choose_village=is_office)
    if request.method == "POST" and form.is_valid():
        village = form.cleaned_data["village"] if is_office else own
        upload = form.cleaned_data["file"]
        try:
            batch = importing.import_upload(
                data=upload.read(), file_name=upload.name, campaign=campaign, village=village, user=request.user
            )
        except ImportFileError as error:  # read at once (no broker: the embedded default) and refused
            form.add_error("file", str(error))
        else:
            return redirect("residents:import_preview", pk=batch.pk)
    village = own
    recent = ImportBatch.objects.filter(uploaded_by=request.user, campaign=campaign).select_related("village")[:5]
    return render(
        request,
        "residents/import_start.html",
        {
            "form": form,
            "village": village,
            "recent": recent,
            "max_rows": limits().rows,
            "max_mb": limits().upload_bytes // MB,
            "max_chars": limits().cell_chars,
        },
    )


@never_cache
@role_required(*IMPORTERS)
def import_progress(request, pk):
    """The reading's progress as JSON, polled by the batch's page (campaign.lib.jobs)."""
    batch = _batch_or_404(request, pk)
    return progress_response(batch, status=batch.status)


@role_required(*IMPORTERS)
def import_template(request):
    return FileResponse(
        io.BytesIO(template_workbook()), as_attachment=True, filename="居民导入模板.xlsx", content_type=XLSX
    )


WARNINGS = "warnings"  # the tab of the rows with warnings (of any action)
SKIPPED_LISTED = 10  # skipped lines named in the note above the table


@role_required(*IMPORTERS)
def import_preview(request, pk):
    """Every row of the upload as new, update, unchanged, error or skipped, with the reason at the cell.

    While the upload is being read, its progress (campaign.lib.jobs); when it could not be read, why.
    """
    batch = _batch_or_404(request, pk)
    if batch.status in (ImportBatch.Status.READING, ImportBatch.Status.FAILED):
        importing.import_read_if_stalled(batch)
        return render(request, "residents/import_reading.html", {"batch": batch})
    counts = {
        judging.ERROR: batch.error_count,
        judging.NEW: batch.new_count,
        judging.UPDATE: batch.update_count,
        judging.UNCHANGED: batch.unchanged_count,
    }
    skipped = [row for row in batch.rows if row["action"] == judging.SKIPPED]
    warned = [row for row in batch.rows if row.get("warnings")]
    tabs = [(action, ACTION_LABELS[action], counts[action]) for action in counts]
    if warned:
        tabs.append((WARNINGS, _("with warnings"), len(warned)))
    if skipped:
        tabs.append((judging.SKIPPED, ACTION_LABELS[judging.SKIPPED], len(skipped)))
    tabs.append(("all", _("all rows"), len(batch.rows)))
    show = request.GET.get("show") or (judging.ERROR if batch.error_count else "all")
    if show == "all":
        rows = batch.rows
    elif show == WARNINGS:
        rows = warned
    else:
        rows = [row for row in batch.rows if row["action"] == show]
    page = Paginator(rows, ROWS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "residents/import_preview.html",
        {
            "batch": batch,
            "tabs": tabs,
            "show": show,
            "page": page,
            "rows": [_display(row) for row in page],
            "to_write": batch.new_count + batch.update_count,
            "warned": len(warned),
            "skipped": [(row["row"], judging.skipped_note(row["skipped"])) for row in skipped[:SKIPPED_LISTED]],
            "skipped_count": len(skipped),
        },
    )


@require_POST
@role_required(*IMPORTERS)
def import_confirm(request, pk):
    """Write the rows the preview showed as new or update, all or nothing; the preview page then says so."""
    batch = _batch_or_404(request, pk)
    try:
        batch = importing.import_apply(batch=batch, user=request.user)
    except importing.AlreadyImported:
        messages.info(request, _("This file was already imported."))
    except importing.NotPreviewed:
        pass  # its page says it is still being read, or why it could not be
    except importing.PreviewChanged:
        messages.error(
            request,
            _(
                "The data changed since the preview (someone registered or edited these residents meanwhile). "
                "Nothing was written. Check the new preview below and confirm again."
            ),
        )
    return redirect("residents:import_preview", pk=batch.pk)


@role_required(*IMPORTERS)
def import_errors(request, pk):
    """The rows with errors as uploaded, plus 错误原因, bad cells in red: fix and upload again."""
    batch = _batch_or_404(request, pk)
    try:
        report = importing.error_report(batch)
    except importing.NotPreviewed:
        return redirect("residents:import_preview", pk=batch.pk)  # its page says why there is no report
    stem = PurePath(batch.file_name).stem[:80] or "residents"
    return FileResponse(
        io.BytesIO(report),
        as_attachment=True,
        filename=f"{stem}_错误行.xlsx",
        content_type=XLSX,
    )


ACTION_LABELS = {
    judging.NEW: pgettext_lazy("import row", "new"),
    judging.UPDATE: pgettext_lazy("import row", "update"),
    judging.UNCHANGED: pgettext_lazy("import row", "unchanged"),
    judging.ERROR: pgettext_lazy("import row", "error"),
    judging.SKIPPED: pgettext_lazy("import row", "skipped"),
}
SHOWN_FIELDS = ["name", "id_number", "phone", "basis", "priority_group", "responsible_cadre"]


def _display(row: dict) -> dict:
    """One preview row for the page: values masked unless they are wrong, errors and warnings at their cell."""
    if row["action"] == judging.SKIPPED:
        return {
            "row": row["row"],
            "action": row["action"],
            "label": ACTION_LABELS[row["action"]],
            "line": _masked_line(row["line"]),
            "note": judging.skipped_note(row["skipped"]),
        }
    cells, errors, warnings = row["cells"], row["errors"], row.get("warnings", {})
    # The document's type as recorded (a code), or as written when the row is wrong; "" for an ID card.
    document = cells.get("document_type", "")
    known = document in DocumentType.values
    shown = []
    for name in SHOWN_FIELDS:
        value = cells.get(name)
        if name == "id_number" and "id_number" not in errors:
            value = mask_document_number(document if known else DocumentType.ID_CARD, value or "")
        elif name == "phone" and "phone" not in errors:
            value = mask_phone(value or "")
        shown.append(
            {
                "field": name,
                "label": _field_label(name),
                "value": value,
                "error": _detail(errors, name, importing.not_detailed_message),
                "warning": _detail(warnings, name, judging.not_detailed_warning),
            }
        )
    answers = [_field_label(name) for name in CONTRAINDICATIONS if judging.yes_no(cells.get(name)) is True]
    screening_errors = [
        f"{_field_label(name)}：{_detail(errors, name, importing.not_detailed_message)}"
        for name in CONTRAINDICATIONS
        if name in errors
    ]
    screening_warnings = [
        f"{_field_label(name)}：{_detail(warnings, name, judging.not_detailed_warning)}"
        for name in CONTRAINDICATIONS
        if name in warnings
    ]
    # Fields without a column of their own here (the document type, the birth date, ...): in the note.
    row_errors = [
        f"{_field_label(name)}：{_detail(errors, name, importing.not_detailed_message)}"
        for name in errors
        if name not in SHOWN_FIELDS and name not in CONTRAINDICATIONS
    ]
    row_warnings = [
        _detail(warnings, name, judging.not_detailed_warning)
        if name == judging.BELOW_SIGNATURE
        else f"{_field_label(name)}：{_detail(warnings, name, judging.not_detailed_warning)}"
        for name in warnings
        if name not in SHOWN_FIELDS and name not in CONTRAINDICATIONS
    ]
    note = ""
    if row["action"] == judging.UPDATE:
        note = _("changes: %(fields)s") % {"fields": "、".join(_field_label(name) for name in row.get("changes", []))}
    if row.get("status"):
        status = Resident.Status(row["status"]).label
        reasons = "、".join(reason_labels(row.get("reasons", [])))
        note = f"{note}；{status}" if note else str(status)
        if reasons:
            note += f"（{reasons}）"
    return {
        "row": row["row"],
        "action": row["action"],
        "label": ACTION_LABELS[row["action"]],
        "cells": shown,
        "document": DOCUMENT_KINDS[document].short if known else document,
        "answers": "、".join(answers),
        "screening_errors": screening_errors,
        "screening_warnings": screening_warnings,
        "errors": row_errors,
        "warnings": row_warnings,
        "note": note,
    }


_LONG_NUMBER = re.compile(r"[0-9]{7,}[0-9Xx]?")


def _masked_line(line: str) -> str:
    """A skipped line's phone or ID numbers (a signer's 联系电话) masked as the rows' are."""

    def mask(match):
        number = match.group()
        return mask_phone(number) if len(number) == 11 else mask_document_number(DocumentType.ID_CARD, number)

    return _LONG_NUMBER.sub(mask, line)


def _detail(messages: dict, name: str, not_detailed) -> str | None:
    """The message at a field: None when there is none, the general one where details were not kept."""
    if name not in messages:
        return None
    return messages[name] or not_detailed()


def _field_label(name: str) -> str:
    return str(Resident._meta.get_field(name).verbose_name)
