"""The weekly supervision report's pages, its thresholds and findings, and the upward report download."""

import datetime
import io
from urllib.parse import quote

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campaign.lib.access import role_required
from campaign.lib.params import BadParameter, date_param
from campaign.roles import Role, role_of
from campaign.scope import working_campaign
from reports.doses import dose_labels
from reports.models import SupervisionFinding, WeeklyReport
from reports.supervision import services as supervision
from reports.supervision.excel import write_upward_report, write_weekly_report
from reports.supervision.forms import FindingForm, ThresholdsForm, WeekForm

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
VIEW_ROLES = (Role.OFFICE, Role.SUPERVISION, Role.LEADERSHIP)
FINDING_ROLES = (Role.OFFICE, Role.SUPERVISION)


def _xlsx(write, filename: str) -> HttpResponse:
    buffer = io.BytesIO()
    write(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


def _week_or_404(week: str) -> datetime.date:
    try:
        return supervision.parse_iso_week(week)
    except ValueError:
        raise Http404 from None


@role_required(*VIEW_ROLES)
def weekly_list(request):
    """Every weekly report made so far; the office makes one by hand and downloads the upward report."""
    campaign = working_campaign(request)
    today = timezone.localdate()
    return render(
        request,
        "reports/weekly_list.html",
        {
            "campaign": campaign,
            "reports": supervision.weekly_reports(campaign=campaign),
            "is_office": role_of(request.user) == Role.OFFICE,
            "week_form": WeekForm(initial={"week": supervision.iso_week(supervision.last_week_start(today))}),
            "today": today,
            "thresholds": supervision.thresholds_for(campaign=campaign),
        },
    )


@require_POST
@role_required(Role.OFFICE)
def weekly_make(request):
    """Make (or make again) a week's report now, in the request: a few GROUP BY queries."""
    campaign = working_campaign(request)
    form = WeekForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["week"][0])
        return redirect("reports:weekly_list")
    try:
        report = supervision.weekly_report_make(
            campaign=campaign, week_start=form.cleaned_data["week"], user=request.user
        )
    except supervision.NotYet as not_yet:
        messages.error(request, str(not_yet))
        return redirect("reports:weekly_list")
    messages.success(request, _("The weekly report of %(week)s is made.") % {"week": report})
    return redirect("reports:weekly_detail", week=str(report))


def _detail(request, report, finding_form=None, status=200):
    campaign = report.campaign
    can_record = role_of(request.user) in FINDING_ROLES
    if can_record and finding_form is None:
        finding_form = FindingForm(villages=campaign.villages.order_by("site_id", "id"))
    data = report.data
    return render(
        request,
        "reports/weekly_detail.html",
        {
            "campaign": campaign,
            "report": report,
            "data": data,
            "week_end": datetime.date.fromisoformat(data["week_end"]),
            "week_start": report.week_start,
            "levels": dict(SupervisionFinding.Level.choices),
            "dose_labels": dose_labels(data["doses"]),
            "findings": supervision.week_findings(campaign=campaign, week_start=report.week_start),
            "finding_form": finding_form if can_record else None,
            "is_office": role_of(request.user) == Role.OFFICE,
        },
        status=status,
    )


def _report_or_404(request, week: str) -> WeeklyReport:
    week_start = _week_or_404(week)
    return get_object_or_404(
        WeeklyReport.objects.select_related("campaign", "made_by"),
        campaign=working_campaign(request),
        week_start=week_start,
    )


@role_required(*VIEW_ROLES)
def weekly_detail(request, week):
    """The report of one week as a printable page, from its stored snapshot, with the findings."""
    return _detail(request, _report_or_404(request, week))


@role_required(*VIEW_ROLES)
def weekly_excel(request, week):
    """The report of one week as an Excel file (built from the snapshot, in memory: a few dozen rows)."""
    report = _report_or_404(request, week)
    findings = supervision.week_findings(campaign=report.campaign, week_start=report.week_start)
    filename = f"{report.campaign.name}周调度通报_{report}.xlsx"
    return _xlsx(lambda target: write_weekly_report(target=target, report=report, findings=findings), filename)


@require_POST
@role_required(*FINDING_ROLES)
def finding_add(request, week):
    """The supervision group records a finding against a village for the week."""
    report = _report_or_404(request, week)
    form = FindingForm(request.POST, villages=report.campaign.villages.all())
    if form.is_valid():
        try:
            supervision.finding_record(
                campaign=report.campaign,
                village=form.cleaned_data["village"],
                week_start=report.week_start,
                level=form.cleaned_data["level"] or "",
                points=form.cleaned_data["points_deducted"] or 0,
                text=form.cleaned_data["text"],
                user=request.user,
            )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("The finding is recorded."))
            return redirect(reverse("reports:weekly_detail", kwargs={"week": str(report)}) + "#findings")
    return _detail(request, report, finding_form=form, status=400)


@role_required(*VIEW_ROLES)
def thresholds(request):
    """The gaps from which the weekly report proposes a level: the office edits them, others read them."""
    campaign = working_campaign(request)
    current = supervision.thresholds_for(campaign=campaign)
    is_office = role_of(request.user) == Role.OFFICE
    form = ThresholdsForm(request.POST or None, instance=current)
    if request.method == "POST":
        if not is_office:
            return HttpResponse(status=403)
        if form.is_valid():
            supervision.thresholds_update(campaign=campaign, user=request.user, **form.cleaned_data)
            messages.success(request, _("The thresholds are saved; reports made from now on use them."))
            return redirect("reports:weekly_list")
    return render(
        request,
        "reports/weekly_thresholds.html",
        {"campaign": campaign, "form": form, "thresholds": current, "is_office": is_office},
        status=400 if form.errors else 200,
    )


@role_required(Role.OFFICE)
def upward_report(request):
    """One click: the day's figures for the county (上报接种进度) as Excel; ?date=YYYY-MM-DD for another day."""
    campaign = working_campaign(request)
    on = date_param(request.GET, "date", default=timezone.localdate())
    try:
        figures = supervision.upward_report_figures(campaign=campaign, on=on)
    except supervision.NotYet as not_yet:
        raise BadParameter(str(not_yet)) from None
    filename = f"{campaign.name}进度上报_{on:%Y%m%d}.xlsx"
    return _xlsx(lambda target: write_upward_report(target=target, figures=figures), filename)
