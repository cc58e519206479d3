"""Reads for the weekly plan: the planner's inputs, the office's grid and a village's places."""

import datetime
import hashlib

from django.db.models import Count, Exists, OuterRef

from appointments.models import OPEN_STATUSES, Appointment, PlanAllocation, WeeklyPlan
from appointments.planning.proposal import PlanInput, SiteInput, VillageInput
from residents.models import Resident
from sites.models import SiteDay, Vaccination


def week_days(day: datetime.date) -> list[datetime.date]:
    """Monday to Sunday of the week that contains `day`."""
    monday = day - datetime.timedelta(days=day.weekday())
    return [monday + datetime.timedelta(days=i) for i in range(7)]


def site_day_loads(*, sites, start: datetime.date, end: datetime.date) -> dict:
    """{(site id, day): (capacity, places taken)} for every site and day from `start` to `end`.

    A SiteDay row is the truth where there is one. Where there is none yet, the capacity is the
    site's daily capacity and the places taken are the day's appointments that are not cancelled
    (normally none: bookings create the row; the demo loader writes appointments directly).
    """
    sites = list(sites)
    rows = {
        (site_id, day): (capacity, booked)
        for site_id, day, capacity, booked in SiteDay.objects.filter(
            site__in=sites, date__gte=start, date__lte=end
        ).values_list("site_id", "date", "capacity", "booked")
    }
    counts = {
        (row["site_id"], row["date"]): row["n"]
        for row in Appointment.objects.filter(site__in=sites, date__gte=start, date__lte=end)
        .exclude(status=Appointment.Status.CANCELLED)
        .values("site_id", "date")
        .annotate(n=Count("id"))
    }
    loads = {}
    day = start
    while day <= end:
        for site in sites:
            key = (site.id, day)
            loads[key] = rows.get(key) or (site.daily_capacity, counts.get(key, 0))
        day += datetime.timedelta(days=1)
    return loads


def villages_remaining(*, campaign) -> dict[int, int]:
    """{village id: people still needing a first-dose place}: the quota less those with dose 1 given or booked."""
    covered = Resident.objects.filter(campaign=campaign).filter(
        Exists(Vaccination.objects.filter(resident=OuterRef("pk"), dose_number=1))
        | Exists(Appointment.objects.filter(resident=OuterRef("pk"), dose_number=1, status__in=OPEN_STATUSES))
    )
    done = dict(covered.values("village_id").annotate(n=Count("id")).values_list("village_id", "n"))
    return {village.id: max(village.quota - done.get(village.id, 0), 0) for village in campaign.villages.all()}


def plan_inputs(*, campaign, start: datetime.date) -> PlanInput:
    """Everything the planner needs, from `start` to the campaign's end."""
    sites = list(campaign.sites.order_by("id"))
    loads = site_day_loads(sites=sites, start=start, end=campaign.end_date)
    site_inputs = []
    for site in sites:
        own = {day: load for (site_id, day), load in loads.items() if site_id == site.id}
        site_inputs.append(
            SiteInput(
                id=site.id,
                name=site.name,
                daily_capacity=site.daily_capacity,
                capacity={day: capacity for day, (capacity, _taken) in own.items() if capacity != site.daily_capacity},
                taken={day: taken for day, (_capacity, taken) in own.items() if taken},
            )
        )
    remaining = villages_remaining(campaign=campaign)
    villages = [
        VillageInput(id=village.id, name=village.name, site_id=village.site_id, remaining=remaining[village.id])
        for village in campaign.villages.order_by("id")
    ]
    return PlanInput(
        start=start,
        end=campaign.end_date,
        first_dose_deadline=campaign.first_dose_deadline,
        dose_intervals=tuple(campaign.interval_before(dose) for dose in campaign.dose_numbers[1:]),
        daily_floor=campaign.daily_floor_per_site,
        sites=site_inputs,
        villages=villages,
    )


def plan_for_week(*, campaign, day: datetime.date) -> WeeklyPlan | None:
    return WeeklyPlan.objects.filter(campaign=campaign, week_start=week_days(day)[0]).first()


def plan_grid(*, campaign, day: datetime.date, today: datetime.date, plan: WeeklyPlan | None = None) -> list[dict]:
    """One table per site for the week of `day`: each village's places per day, and each day's
    capacity, places taken, planned places, total against the floor, and whether it may be planned."""
    days = week_days(day)
    sites = list(campaign.sites.order_by("id"))
    villages = list(campaign.villages.order_by("id"))
    loads = site_day_loads(sites=sites, start=days[0], end=days[-1])
    places = {}
    if plan is not None:
        places = {(a.village_id, a.date): a.places for a in plan.allocations.all()}
    floor = campaign.daily_floor_per_site
    grid = []
    for site in sites:
        columns = []
        for date in days:
            capacity, taken = loads[(site.id, date)]
            planned = sum(places.get((v.id, date), 0) for v in villages if v.site_id == site.id)
            in_window = campaign.start_date <= date <= campaign.end_date
            columns.append(
                {
                    "date": date,
                    "capacity": capacity,
                    "taken": taken,
                    "planned": planned,
                    "total": taken + planned,
                    "free": capacity - taken - planned,
                    "in_window": in_window,
                    "past": date < today,
                    "editable": in_window and today <= date <= campaign.first_dose_deadline,
                    "below_floor": in_window and date >= today and taken + planned < floor,
                    "over_capacity": taken + planned > capacity,
                }
            )
        rows = []
        for village in villages:
            if village.site_id != site.id:
                continue
            cells = [
                {
                    "date": column["date"],
                    "places": places.get((village.id, column["date"]), 0),
                    "name": f"p-{village.id}-{column['date'].isoformat()}",
                    "editable": column["editable"],
                }
                for column in columns
            ]
            rows.append({"village": village, "cells": cells, "total": sum(c["places"] for c in cells)})
        grid.append(
            {
                "site": site,
                "columns": columns,
                "rows": rows,
                "planned": sum(c["planned"] for c in columns),
                "floor": floor,
            }
        )
    return grid


def village_places(*, village, since: datetime.date, limit: int | None = None) -> list[dict]:
    """The village's places in published plans from `since` on, day by day: places, filled, still open.

    Filled means dose-1 appointments of the village's residents at that site that day, not cancelled.
    """
    allocations = (
        PlanAllocation.objects.filter(
            village=village, plan__status=WeeklyPlan.Status.PUBLISHED, date__gte=since, places__gt=0
        )
        .select_related("site")
        .order_by("date", "site_id")
    )
    if limit:
        allocations = allocations[:limit]
    allocations = list(allocations)
    if not allocations:
        return []
    filled = {
        (row["site_id"], row["date"]): row["n"]
        for row in Appointment.objects.filter(
            resident__village=village,
            dose_number=1,
            date__gte=allocations[0].date,
            date__lte=allocations[-1].date,
        )
        .exclude(status=Appointment.Status.CANCELLED)
        .values("site_id", "date")
        .annotate(n=Count("id"))
    }
    rows = []
    for allocation in allocations:
        taken = filled.get((allocation.site_id, allocation.date), 0)
        rows.append(
            {
                "date": allocation.date,
                "site": allocation.site,
                "places": allocation.places,
                "filled": taken,
                "open": max(allocation.places - taken, 0),
                "percent": min(round(100 * taken / allocation.places), 100),
            }
        )
    return rows


def plan_version(*, plan: WeeklyPlan) -> str:
    """A short fingerprint of a plan's numbers: it changes whenever any village's places on any day change.

    The publish confirmation carries it, so that a plan is published only with the numbers it showed.
    """
    rows = (
        plan.allocations.filter(places__gt=0).order_by("village_id", "date").values_list("village_id", "date", "places")
    )
    text = f"{plan.pk}|" + ";".join(f"{village_id}:{day.isoformat()}:{places}" for village_id, day, places in rows)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def last_published_before(*, plan: WeeklyPlan) -> WeeklyPlan | None:
    """The campaign's most recent published plan for a week before `plan`'s, or None."""
    return (
        WeeklyPlan.objects.filter(
            campaign_id=plan.campaign_id, status=WeeklyPlan.Status.PUBLISHED, week_start__lt=plan.week_start
        )
        .order_by("-week_start")
        .first()
    )


def plan_review(*, plan: WeeklyPlan, today: datetime.date) -> dict:
    """What publishing `plan` would give cadres: its grid (per village, site and day), each village's and
    site's week total next to the last published plan's, the town's total, and the plan's version."""
    grid = plan_grid(campaign=plan.campaign, day=plan.week_start, today=today, plan=plan)
    previous = last_published_before(plan=plan)
    before = {}
    if previous is not None:
        for village_id, places in previous.allocations.values_list("village_id", "places"):
            before[village_id] = before.get(village_id, 0) + places
    for site in grid:
        for row in site["rows"]:
            row["previous"] = before.get(row["village"].id, 0)
            row["change"] = row["total"] - row["previous"]
        site["previous"] = sum(row["previous"] for row in site["rows"])
        site["change"] = site["planned"] - site["previous"]
    total = sum(site["planned"] for site in grid)
    previous_total = sum(before.values())
    return {
        "grid": grid,
        "previous": previous,
        "total": total,
        "previous_total": previous_total,
        "change": total - previous_total,
        "version": plan_version(plan=plan),
    }
