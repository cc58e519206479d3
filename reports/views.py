from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from campaign.lib.access import role_required
from campaign.lib.jobs import progress_response
from campaign.models import Village
from campaign.roles import Role, role_of
from campaign.scope import bound_village, working_campaign
from reports.doses import dose_labels
from reports.models import Export
from reports.progress import progress_fresh
from reports.selectors import dashboard_figures_of_run, export_descriptions, full_value_downloads
from reports.services import EXPORT_ROLES, FULL_VALUE_ROLES, export_request, export_retry, export_villages
from residents.filters import ResidentFilter
from residents.models import FullValueView, Resident
from residents.services import record_full_view
from sites.supply.selectors import supply_alerts, supply_by_site

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@never_cache
@role_required(Role.OFFICE, Role.SUPERVISION, Role.LEADERSHIP)
def dashboard(request):
    """Progress of the campaign the page works in for the office, supervision and leadership (precomputed rows).

    The rows are at most a minute behind the records for everyone who opens the page, with or
    without beat, a worker or Redis (reports.progress.progress_fresh); no one presses a button.
    """
    campaign = working_campaign(request)
    today = timezone.localdate()
    computed_at = progress_fresh(campaign=campaign)
    figures = dashboard_figures_of_run(campaign=campaign, today=today, computed_at=computed_at)
    supply = supply_by_site(campaign=campaign, on=today)  # days of stock and wastage per site (sites.supply)
    alerts = supply_alerts(campaign=campaign, on=today, supplies=supply) if role_of(request.user) == Role.OFFICE else []
    return render(
        request,
        "reports/dashboard.html",
        {
            "campaign": campaign,
            "today": today,
            "figures": figures,
            "dose_labels": dose_labels(campaign.doses),
            "supply": supply,
            "supply_alerts": alerts,
        },
    )


@role_required(*EXPORT_ROLES)
def export_list(request):
    """Ask for a roster, and the recent exports: the office sees everyone's (the audit trail)."""
    campaign = working_campaign(request)
    role = role_of(request.user)
    villages = None if role == Role.CADRE else export_villages(user=request.user, campaign=campaign)
    filters = ResidentFilter(request.GET or None, queryset=Resident.objects.none(), villages=villages)
    exports = Export.objects.for_user(request.user).filter(campaign=campaign).select_related("requested_by")
    page = Paginator(exports, 25).get_page(request.GET.get("page"))
    descriptions = export_descriptions(page.object_list)
    downloads = Paginator(full_value_downloads(user=request.user), 25).get_page(request.GET.get("downloads_page"))
    return render(
        request,
        "reports/export_list.html",
        {
            "filters": filters,
            "village": bound_village(request.user, campaign) if role == Role.CADRE else None,
            "page": page,
            "rows": [(export, descriptions[export.pk]) for export in page],
            "sees_everyone": role == Role.OFFICE,
            "can_export_full": role in FULL_VALUE_ROLES,
            "keep_days": settings.EXPORT_KEEP_DAYS,
            "downloads": downloads,
        },
    )


@require_POST
@role_required(*EXPORT_ROLES)
def export_residents(request):
    """Ask for a roster of the resident list as filtered.

    The filter (q, status, village, ordering) is read from the form's fields or from the
    query string, so the list page can post its own GET parameters either way.
    """
    params = {**request.GET.dict(), **request.POST.dict()}
    try:
        export = export_request(
            user=request.user,
            kind=Export.Kind.RESIDENTS,
            campaign=working_campaign(request),
            params=params,
            full_values=request.POST.get("full_values") in ("1", "on", "true"),
        )
    except Village.DoesNotExist:
        raise Http404 from None
    except ValidationError:
        messages.error(request, _("The filter of this export is not valid; check it and try again."))
        return redirect("reports:export_list")
    return redirect("reports:export_detail", pk=export.pk)


@require_POST
@role_required(*EXPORT_ROLES)
def export_again(request, pk):
    """Ask again for a failed export: a new export of the same filter (the failed one stays on record)."""
    export = _export_or_404(request, pk)
    if export.status != Export.Status.FAILED:
        return redirect("reports:export_detail", pk=export.pk)
    try:
        again = export_retry(export=export, user=request.user)
    except (Village.DoesNotExist, PermissionDenied):
        raise Http404 from None  # the user's rights changed since: this export is no longer theirs to ask
    except ValidationError:
        messages.error(request, _("The filter of this export is not valid; check it and try again."))
        return redirect("reports:export_list")
    return redirect("reports:export_detail", pk=again.pk)


def _export_or_404(request, pk):
    # Someone else's export is simply not there: 404, never 403.
    exports = Export.objects.for_user(request.user).filter(campaign=working_campaign(request))
    return get_object_or_404(exports.select_related("requested_by"), pk=pk)


@role_required(*EXPORT_ROLES)
def export_detail(request, pk):
    """One export: what was asked, and its progress bar until the file is ready (static/js/job_progress.js)."""
    export = _export_or_404(request, pk)
    return render(
        request,
        "reports/export_detail.html",
        {"export": export, "description": export_descriptions([export])[export.pk]},
    )


@never_cache
@role_required(*EXPORT_ROLES)
def export_status(request, pk):
    """The status block of the export page: the page's script swaps it in once the export is finished."""
    return render(request, "reports/export_status.html", {"export": _export_or_404(request, pk)})


@never_cache
@role_required(*EXPORT_ROLES)
def export_progress(request, pk):
    """The export's progress as JSON, polled by its page: finished, percent, done, total, text, status."""
    export = _export_or_404(request, pk)
    return progress_response(export, status=export.status)


@never_cache
@role_required(*EXPORT_ROLES)
def export_download(request, pk):
    """The file, for whoever asked for it and for the office; 404 for anyone else or once deleted."""
    export = _export_or_404(request, pk)
    if not export.can_download:
        raise Http404
    if export.full_values and role_of(request.user) not in FULL_VALUE_ROLES:
        raise Http404  # the requester has lost the role that let them see full values
    if export.full_values:
        record_full_view(
            user=request.user,
            kind=FullValueView.Kind.EXPORT,
            subject=f"#{export.pk} {export.filename}",
            people=export.row_count or 0,
        )
    return FileResponse(export.file.open("rb"), as_attachment=True, filename=export.filename, content_type=XLSX)
