"""Pages of the weekly plan: the office's grid per site and week, and a cadre's places."""

import datetime
import re

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from appointments.models import WeeklyPlan
from appointments.planning.selectors import plan_for_week, plan_grid, plan_review, village_places, week_days
from appointments.planning.services import plan_adjust, plan_propose, plan_publish
from campaign.lib.access import role_required
from campaign.lib.params import BadParameter, or_default, week_param
from campaign.roles import Role, role_of
from campaign.scope import own_village, working_campaign
from sites.supply.selectors import supply_short

READERS = (Role.OFFICE, Role.SUPERVISION, Role.LEADERSHIP)
PLACES = re.compile(r"[0-9]{1,6}")  # ASCII digits: "²".isdigit() is True, but int("²") fails


def _week_url(day: datetime.date) -> str:
    return f"{reverse('plan:week')}?week={week_days(day)[0].isoformat()}"


@role_required(*READERS)
def plan_week(request):
    """The plan of one week (this one unless ?week= names it: 2021-W15 or one of its days), a table per site."""
    today = timezone.localdate()
    return _render_week(request, day=or_default(request, week_param, "week", default=today), today=today)


def _render_week(request, *, day, today, errors=None, typed=None, publishing=False):
    campaign = working_campaign(request)
    plan = plan_for_week(campaign=campaign, day=day)
    grid = plan_grid(campaign=campaign, day=day, today=today, plan=plan)
    if typed:
        # Show back what the office typed, not the stored numbers, next to the errors.
        for site in grid:
            for row in site["rows"]:
                for cell in row["cells"]:
                    if cell["name"] in typed:
                        cell["places"] = typed[cell["name"]]
    days = week_days(day)
    can_edit = role_of(request.user) == Role.OFFICE
    context = {
        "campaign": campaign,
        "plan": plan,
        "grid": grid,
        "days": days,
        "today": today,
        "previous_week": days[0] - datetime.timedelta(days=7),
        "next_week": days[0] + datetime.timedelta(days=7),
        "this_week": week_days(today)[0],
        "can_edit": can_edit,
        "editable": can_edit and plan is not None and plan.status == WeeklyPlan.Status.DRAFT,
        "problems": [line for line in (plan.notes.splitlines() if plan else []) if line.strip()],
        "errors": errors or [],
        "publishing": publishing,
        # Sites whose bookings of the coming days exceed their vaccine stock (sites.supply).
        "supply_short": supply_short(campaign=campaign, on=today),
    }
    return render(request, "appointments/plan_week.html", context, status=400 if errors else 200)


@require_POST
@role_required(Role.OFFICE)
def plan_propose_view(request):
    today = timezone.localdate()
    try:
        day = week_param(request.POST, "week")
    except BadParameter as error:
        day = None
        messages.error(request, error.message)
    if day is None:  # never a guess: a proposal replaces the week's draft
        messages.error(request, _("Nothing was proposed: choose the week first."))
        return redirect(_week_url(today))
    try:
        plan = plan_propose(campaign=working_campaign(request), week_start=day, created_by=request.user, today=today)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        places = sum(plan.allocations.values_list("places", flat=True))
        messages.success(
            request,
            _("A proposal for the week is saved as a draft: %(places)s first-dose places.") % {"places": places},
        )
    return redirect(_week_url(day))


@require_POST
@role_required(Role.OFFICE)
def plan_save(request, pk):
    """Save the numbers on screen. The publish button posts here too (then=publish): what is on screen is
    saved first, then the confirmation shows it; when it cannot be saved, nothing is published."""
    plan = get_object_or_404(WeeklyPlan, pk=pk, campaign=working_campaign(request))
    publishing = request.POST.get("then") == "publish"
    changes, typed, errors = _changes_from(request.POST)
    if not errors:
        try:
            plan_adjust(plan=plan, changes=changes)
        except ValidationError as error:
            errors = error.messages
        else:
            if publishing:
                return redirect("plan:publish", pk=plan.pk)
            messages.success(request, _("The plan is saved."))
            return redirect(_week_url(plan.week_start))
    return _render_week(
        request, day=plan.week_start, today=timezone.localdate(), errors=errors, typed=typed, publishing=publishing
    )


def _changes_from(data):
    """{(village id, day): places} from fields named p-<village id>-<YYYY-MM-DD>, what was typed, and errors."""
    changes, typed, errors = {}, {}, []
    for name, value in data.items():
        if not name.startswith("p-"):
            continue
        try:
            _prefix, village_id, day = name.split("-", 2)
            key = (int(village_id), datetime.date.fromisoformat(day))
        except ValueError:
            continue  # not one of our fields
        typed[name] = value
        text = value.strip()
        if not text:
            changes[key] = 0
        elif PLACES.fullmatch(text):
            changes[key] = int(text)
        else:
            errors.append(
                _("%(day)s: “%(value)s” is not a number of places (a whole number, 0 or more).")
                % {"day": key[1].isoformat(), "value": value}
            )
    return changes, typed, errors


@role_required(Role.OFFICE)
def plan_publish_view(request, pk):
    """GET: the confirmation, showing exactly what would be published. POST: publish, only if the plan's
    numbers are still those the confirmation showed (its version)."""
    plan = get_object_or_404(WeeklyPlan, pk=pk, campaign=working_campaign(request))
    if plan.status != WeeklyPlan.Status.DRAFT:
        messages.info(request, _("This plan is already published."))
        return redirect(_week_url(plan.week_start))
    if request.method == "POST":
        try:
            plan_publish(plan=plan, published_by=request.user, version=request.POST.get("version", ""))
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
            if getattr(error, "code", None) != "changed":  # a list of errors has no code
                return redirect(_week_url(plan.week_start))
        else:
            messages.success(request, _("The plan is published: cadres now see their villages' places."))
            return redirect(_week_url(plan.week_start))
    review = plan_review(plan=plan, today=timezone.localdate())
    return render(
        request,
        "appointments/plan_publish.html",
        {"plan": plan, "days": week_days(plan.week_start), **review},
        status=409 if request.method == "POST" else 200,
    )


@role_required(Role.CADRE)
def village_plan(request):
    """A cadre's village: its places in published plans from today on, and how many are filled."""
    village = own_village(request)
    today = timezone.localdate()
    return render(
        request,
        "appointments/plan_village.html",
        {"village": village, "today": today, "rows": village_places(village=village, since=today)},
    )
