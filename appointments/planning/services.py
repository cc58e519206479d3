"""The office's weekly plan (分周接种计划): propose a draft, adjust its numbers, publish it.

Views and any future task call these; none of them re-implements a rule.
"""

import datetime
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.messaging import triggers
from appointments.models import PlanAllocation, WeeklyPlan
from appointments.planning.proposal import Proposal, propose_first_doses
from appointments.planning.selectors import plan_inputs, plan_version, site_day_loads, week_days


def plan_propose(*, campaign, week_start: datetime.date, created_by, today: datetime.date | None = None) -> WeeklyPlan:
    """Plan first doses over every day left (from today, or the week's Monday if later) and store the
    places that fall in the week of `week_start` as its draft plan, the problems found in its notes.

    An existing draft for the week is replaced. Raises ValidationError when the week's plan is
    already published (it is never overwritten) or nothing in the week can still be planned.
    """
    today = today or timezone.localdate()
    days = week_days(week_start)
    _check_week_can_be_planned(campaign, days, today)
    proposal = propose_first_doses(plan_inputs(campaign=campaign, start=max(today, days[0], campaign.start_date)))
    with transaction.atomic():
        plan, _created = WeeklyPlan.objects.get_or_create(
            campaign=campaign, week_start=days[0], defaults={"created_by": created_by}
        )
        # Two proposals, or a proposal and a publish, for one week must not interleave.
        plan = WeeklyPlan.objects.select_for_update().get(pk=plan.pk)
        if plan.status == WeeklyPlan.Status.PUBLISHED:
            raise ValidationError(
                _("The plan for the week of %(week)s is already published; a proposal does not overwrite it.")
                % {"week": days[0].isoformat()},
                code="published",
            )
        plan.allocations.all().delete()
        PlanAllocation.objects.bulk_create(
            PlanAllocation(plan=plan, site_id=site_id, village_id=village_id, date=day, places=places)
            for (site_id, village_id, day), places in sorted(proposal.allocations.items())
            if days[0] <= day <= days[-1]
        )
        plan.created_by = created_by
        plan.created_at = timezone.now()
        plan.notes = proposal_notes(proposal)
        plan.save(update_fields=["created_by", "created_at", "notes"])
    return plan


def proposal_notes(proposal: Proposal) -> str:
    """The proposal's problems, one a line."""
    return "\n".join(problem.message for problem in proposal.problems)


def _check_week_can_be_planned(campaign, days, today):
    if days[-1] < campaign.start_date or days[0] > campaign.end_date:
        raise ValidationError(
            _("The week of %(week)s is outside the campaign (%(start)s to %(end)s).")
            % {"week": days[0].isoformat(), "start": campaign.start_date, "end": campaign.end_date},
            code="outside",
        )
    if days[-1] < today:
        raise ValidationError(_("This week is over: nothing in it can be planned any more."), code="past")
    if days[0] > campaign.first_dose_deadline:
        raise ValidationError(
            _("The week of %(week)s is after the first-dose deadline (%(deadline)s): it has no first doses to plan.")
            % {"week": days[0].isoformat(), "deadline": campaign.first_dose_deadline},
            code="after_deadline",
        )


def plan_adjust(*, plan: WeeklyPlan, changes: dict[tuple[int, datetime.date], int]) -> WeeklyPlan:
    """Set the places of (village id, day) pairs in a draft plan; 0 removes a village's day.

    Raises ValidationError, with one message per problem, when the plan is published, a number is
    negative, a day is outside the week or the first-dose days, or a site-day's planned places and
    places already taken would exceed its capacity. Nothing is saved unless everything is valid.
    """
    campaign = plan.campaign
    days = week_days(plan.week_start)
    villages = {village.id: village for village in campaign.villages.select_related("site")}
    with transaction.atomic():
        # The office may edit from two screens: one change at a time per plan.
        plan = WeeklyPlan.objects.select_for_update().get(pk=plan.pk)
        if plan.status != WeeklyPlan.Status.DRAFT:
            raise ValidationError(_("A published plan cannot be changed."), code="published")
        current = {(a.village_id, a.date): a for a in plan.allocations.all()}
        errors = []
        changed = {}
        for (village_id, day), places in sorted(changes.items()):
            village = villages.get(village_id)
            if village is None:
                errors.append(_("Village %(id)s is not in this campaign.") % {"id": village_id})
                continue
            if places is None or places < 0:
                errors.append(
                    _("%(village)s on %(day)s: the number of places cannot be negative.")
                    % {"village": village.name, "day": day.isoformat()}
                )
                continue
            old = current[(village_id, day)].places if (village_id, day) in current else 0
            if places == old:
                continue
            if day not in days:
                errors.append(_("%(day)s is not in the week of this plan.") % {"day": day.isoformat()})
            elif not campaign.start_date <= day <= campaign.first_dose_deadline:
                errors.append(
                    _("%(village)s on %(day)s: first doses can only be planned from %(start)s to %(deadline)s.")
                    % {
                        "village": village.name,
                        "day": day.isoformat(),
                        "start": campaign.start_date.isoformat(),
                        "deadline": campaign.first_dose_deadline.isoformat(),
                    }
                )
            else:
                changed[(village_id, day)] = places
        if errors:
            raise ValidationError(errors)
        planned = _planned_after(current, changed, villages)
        touched = {(villages[village_id].site_id, day) for village_id, day in changed}
        errors = _capacity_errors(campaign, planned, touched, days)
        if errors:
            raise ValidationError(errors)
        for (village_id, day), places in changed.items():
            allocation = current.get((village_id, day))
            if allocation is None:
                PlanAllocation.objects.create(
                    plan=plan, site_id=villages[village_id].site_id, village_id=village_id, date=day, places=places
                )
            elif places == 0:
                allocation.delete()
            else:
                allocation.places = places
                allocation.save(update_fields=["places"])
    return plan


def _planned_after(current, changed, villages) -> dict:
    planned = defaultdict(int)
    for (village_id, day), allocation in current.items():
        planned[(allocation.site_id, day)] += changed.get((village_id, day), allocation.places)
    for (village_id, day), places in changed.items():
        if (village_id, day) not in current:
            planned[(villages[village_id].site_id, day)] += places
    return planned


def _capacity_errors(campaign, planned: dict, site_days, days) -> list[str]:
    """A message for each of `site_days` whose planned places and places taken exceed its capacity."""
    sites = {site.id: site for site in campaign.sites.all()}
    loads = site_day_loads(sites=sites.values(), start=days[0], end=days[-1])
    errors = []
    for site_id, day in sorted(site_days):
        capacity, taken = loads[(site_id, day)]
        places = planned.get((site_id, day), 0)
        if places + taken > capacity:
            errors.append(
                _(
                    "%(site)s on %(day)s: %(planned)s planned places and %(taken)s places already taken "
                    "exceed the capacity of %(capacity)s by %(over)s."
                )
                % {
                    "site": sites[site_id].name,
                    "day": day.isoformat(),
                    "planned": places,
                    "taken": taken,
                    "capacity": capacity,
                    "over": places + taken - capacity,
                }
            )
    return errors


def plan_publish(*, plan: WeeklyPlan, published_by, version: str) -> WeeklyPlan:
    """Publish a draft exactly as the office confirmed it: cadres see its places from now on.

    `version` is the plan_version() the confirmation showed. Raises ValidationError when it is
    already published, its numbers changed since that confirmation (code "changed": nothing is
    published with numbers the office did not see), it has no places, or a site-day no longer
    fits (bookings made since the draft count).
    """
    with transaction.atomic():
        # A publish must see the numbers as they are, not while an adjustment is half done.
        plan = WeeklyPlan.objects.select_for_update().get(pk=plan.pk)
        if plan.status == WeeklyPlan.Status.PUBLISHED:
            raise ValidationError(_("This plan is already published."), code="published")
        if not version or version != plan_version(plan=plan):
            raise ValidationError(
                _(
                    "Not published: the plan's numbers changed since this confirmation was shown. "
                    "Check the numbers below and confirm again."
                ),
                code="changed",
            )
        planned = defaultdict(int)
        for allocation in plan.allocations.all():
            planned[(allocation.site_id, allocation.date)] += allocation.places
        if not any(planned.values()):
            raise ValidationError(_("This plan has no places to publish."), code="empty")
        errors = _capacity_errors(plan.campaign, planned, set(planned), week_days(plan.week_start))
        if errors:
            raise ValidationError(errors)
        plan.status = WeeklyPlan.Status.PUBLISHED
        plan.published_at = timezone.now()
        plan.published_by = published_by
        plan.save(update_fields=["status", "published_at", "published_by"])
        # Each village's cadres hear their places, in the publish's transaction.
        triggers.plan_published_queue(plan=plan)
    return plan
