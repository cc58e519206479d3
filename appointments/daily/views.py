"""The daily list (每日预约名单) on screen and as Excel, and the appointment slips."""

import datetime
import io
import logging

from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from appointments.daily.selectors import (
    DEFAULT_PAPER,
    SLIPS_PER_SHEET,
    appointments_for_user,
    daily_list,
    default_day,
    sites_for_user,
    slip_sheets,
    slips_for,
    village_slips,
    villages_for_user,
)
from campaign.lib.access import role_required
from campaign.lib.params import date_param, id_param, or_default
from campaign.roles import Role, role_of
from campaign.scope import working_campaign
from reports.daily_list import daily_list_filename, daily_list_xlsx
from residents.models import FullValueView
from residents.services import record_full_view

logger = logging.getLogger(__name__)

LIST_READERS = (Role.OFFICE, Role.SUPERVISION, Role.LEADERSHIP, Role.SITE_TEAM, Role.CADRE)
SLIP_READERS = (Role.OFFICE, Role.SITE_TEAM, Role.CADRE)
# Only the office's work needs full ID numbers and phones in a file (PIPL); everyone else gets them masked.
FULL_VALUE_ROLES = {Role.OFFICE}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _site(request):
    """The site asked for among the user's; another site (or a made-up id) is simply not there: 404."""
    sites = sites_for_user(request.user, campaign=working_campaign(request))
    site_id = id_param(request.GET, "site")
    if not site_id:
        site = sites.first()
        if site is None:
            raise Http404
        return site, sites
    return get_object_or_404(sites, pk=site_id), sites


@role_required(*LIST_READERS)
def list_page(request):
    """Who is booked at a site on a day (tomorrow unless asked), with totals and the Excel downloads."""
    site, sites = _site(request)
    day = or_default(request, date_param, "date", default=default_day())
    daily = daily_list(site=site, day=day, user=request.user)
    role = role_of(request.user)
    return render(
        request,
        "appointments/daily_list.html",
        {
            "daily": daily,
            "sites": sites,
            "previous_day": day - datetime.timedelta(days=1),
            "next_day": day + datetime.timedelta(days=1),
            "today": timezone.localdate(),
            "tomorrow": default_day(),
            # At the site on the day: each row checks in with the workstation's own check-in (sites:check_in).
            "can_check_in": role == Role.SITE_TEAM and day == timezone.localdate(),
            "can_export_full": role in FULL_VALUE_ROLES,
            "can_see_slips": role in SLIP_READERS,
        },
    )


@role_required(*LIST_READERS)
def roster(request):
    """The daily list as an Excel file; masked unless the office asks for full values."""
    site, _sites = _site(request)
    day = date_param(request.GET, "date", default=default_day())
    full = request.GET.get("full") == "1"
    if full and role_of(request.user) not in FULL_VALUE_ROLES:
        raise PermissionDenied
    daily = daily_list(site=site, day=day, user=request.user)
    if full:
        record_full_view(
            user=request.user,
            kind=FullValueView.Kind.DAILY_ROSTER,
            subject=daily_list_filename(daily, full=True),
            people=daily.total,
        )
    return FileResponse(
        io.BytesIO(daily_list_xlsx(daily, full=full)),
        as_attachment=True,
        filename=daily_list_filename(daily, full=full),
        content_type=XLSX,
    )


def _slip_paper(request) -> str:
    """The paper slips print on: `?paper=a6|a4`, else the user's last choice in this session, else A6."""
    chosen = request.GET.get("paper")
    if chosen in SLIPS_PER_SHEET:
        request.session["slip_paper"] = chosen
        return chosen
    remembered = request.session.get("slip_paper")
    return remembered if remembered in SLIPS_PER_SHEET else DEFAULT_PAPER


@role_required(*SLIP_READERS)
def slip(request, pk):
    """One appointment's slip, to print on A6 (or in a quarter of an A4 sheet) or show on a phone."""
    appointments = appointments_for_user(request.user, campaign=working_campaign(request))
    appointment = get_object_or_404(appointments.select_related("resident__village", "site__campaign"), pk=pk)
    [slip] = slips_for([appointment])
    paper = _slip_paper(request)
    return render(
        request,
        "appointments/slip.html",
        {"slip": slip, "paper": paper, "sheets": slip_sheets([slip], paper)},
    )


@role_required(*SLIP_READERS)
def village_slips_page(request):
    """All slips of one village for one day, one A6 page each or four to an A4 sheet, to print in one go."""
    villages = villages_for_user(request.user, campaign=working_campaign(request))
    village_id = id_param(request.GET, "village")
    village = get_object_or_404(villages, pk=village_id) if village_id else villages.first()
    day = date_param(request.GET, "date", default=default_day())
    if village is None:
        raise Http404
    slips = slips_for(village_slips(village=village, day=day, user=request.user))
    paper = _slip_paper(request)
    return render(
        request,
        "appointments/slips_village.html",
        {"village": village, "day": day, "slips": slips, "paper": paper, "sheets": slip_sheets(slips, paper)},
    )
