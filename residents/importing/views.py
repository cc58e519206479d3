"""Excel import of residents: upload, preview, confirm, error report and template."""

import io
from pathlib import PurePath

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_POST

from campaign.lib.access import role_required
from campaign.lib.masking import mask_id_number, mask_phone
from campaign.models import Campaign
from campaign.roles import Role, role_of
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
    profile = getattr(user, "profile", None)
    return profile is not None and profile.village_id == village.pk


def _batch_or_404(request, pk) -> ImportBatch:
    # Someone else's upload is simply not there: 404, never 403.
    # The file is read only to confirm or to build the error report: leave it in the database till then.
    batches = ImportBatch.objects.select_related("village", "campaign").defer("content")
    batch = get_object_or_404(batches, pk=pk, uploaded_by=request.user)
    if not _may_import_into(request.user, batch.village):
        raise PermissionDenied
    return batch


@role_required(*IMPORTERS)
def import_start(request):
    """The upload form: a cadre imports into their village, the office chooses one."""
    campaign = Campaign.objects.current()
    is_office = role_of(request.user) == Role.OFFICE
    if not is_office and "village" in request.POST and request.POST["village"] != str(request.user.profile.village_id):
        raise PermissionDenied  # a cadre imports into their own village only
    form = ImportUploadForm(request.POST or None, request.FILES or None, campaign=campaign, choose_village=is_office)
    if request.method == "POST" and form.is_valid():
        village = form.cleaned_data["village"] if is_office else request.user.profile.village
        upload = form.cleaned_data["file"]
        try:
            batch = importing.import_preview(
                data=upload.read(), file_name=upload.name, campaign=campaign, village=village, user=request.user
            )
        except ImportFileError as error:
            form.add_error("file", str(error))
        else:
            return redirect("residents:import_preview", pk=batch.pk)
    village = None if is_office else request.user.profile.village
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


@role_required(*IMPORTERS)
def import_template(request):
    return FileResponse(
        io.BytesIO(template_workbook()), as_attachment=True, filename="居民导入模板.xlsx", content_type=XLSX
    )


@role_required(*IMPORTERS)
def import_preview(request, pk):
    """Every row of the upload as new, update, unchanged or error, with the reason at the cell."""
    batch = _batch_or_404(request, pk)
    counts = {
        judging.ERROR: batch.error_count,
        judging.NEW: batch.new_count,
        judging.UPDATE: batch.update_count,
        judging.UNCHANGED: batch.unchanged_count,
    }
    show = request.GET.get("show") or (judging.ERROR if batch.error_count else "all")
    rows = batch.rows if show == "all" else [row for row in batch.rows if row["action"] == show]
    page = Paginator(rows, ROWS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "residents/import_preview.html",
        {
            "batch": batch,
            "tabs": [(action, ACTION_LABELS[action], counts[action]) for action in counts]
            + [("all", _("all rows"), len(batch.rows))],
            "show": show,
            "page": page,
            "rows": [_display(row) for row in page],
            "to_write": batch.new_count + batch.update_count,
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
    stem = PurePath(batch.file_name).stem[:80] or "residents"
    return FileResponse(
        io.BytesIO(importing.error_report(batch)),
        as_attachment=True,
        filename=f"{stem}_错误行.xlsx",
        content_type=XLSX,
    )


ACTION_LABELS = {
    judging.NEW: pgettext_lazy("import row", "new"),
    judging.UPDATE: pgettext_lazy("import row", "update"),
    judging.UNCHANGED: pgettext_lazy("import row", "unchanged"),
    judging.ERROR: pgettext_lazy("import row", "error"),
}
SHOWN_FIELDS = ["name", "id_number", "phone", "basis", "priority_group", "responsible_cadre"]


def _display(row: dict) -> dict:
    """One preview row for the page: values masked unless they are wrong, errors at their cell."""
    cells, errors = row["cells"], row["errors"]
    shown = []
    for name in SHOWN_FIELDS:
        value = cells.get(name)
        if name == "id_number" and "id_number" not in errors:
            value = mask_id_number(value or "")
        elif name == "phone" and "phone" not in errors:
            value = mask_phone(value or "")
        shown.append(
            {
                "field": name,
                "label": _field_label(name),
                "value": value,
                "error": errors.get(name) if errors.get(name) != "" else importing.not_detailed_message(),
            }
        )
    answers = [_field_label(name) for name in CONTRAINDICATIONS if judging.yes_no(cells.get(name)) is True]
    screening_errors = [
        f"{_field_label(name)}：{errors[name] or importing.not_detailed_message()}"
        for name in CONTRAINDICATIONS
        if name in errors
    ]
    note = ""
    if row["action"] == judging.UPDATE:
        note = _("changes: %(fields)s") % {"fields": "、".join(_field_label(name) for name in row["changes"])}
    if row["status"]:
        status = Resident.Status(row["status"]).label
        reasons = "、".join(reason_labels(row["reasons"]))
        note = f"{note}；{status}" if note else str(status)
        if reasons:
            note += f"（{reasons}）"
    return {
        "row": row["row"],
        "action": row["action"],
        "label": ACTION_LABELS[row["action"]],
        "cells": shown,
        "answers": "、".join(answers),
        "screening_errors": screening_errors,
        "note": note,
    }


def _field_label(name: str) -> str:
    return str(Resident._meta.get_field(name).verbose_name)
