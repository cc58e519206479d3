"""The weekly supervision report (周调度通报), its thresholds and findings, and the upward report.

Every number here is read from DailyProgress (never from the raw tables), after
`reports.progress.progress_compute` has brought those rows up to date. A weekly report is
stored as a snapshot (WeeklyReport.data) so that it reads the same later, whatever
happens to the records or the thresholds afterwards; its page and its Excel file render
from that snapshot.
"""

import datetime
import re
import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from campaign.lib.text import clean_text
from campaign.models import Campaign, Village
from campaign.periodic import per_campaign
from reports.doses import dose_sum
from reports.models import DailyProgress, SupervisionFinding, SupervisionThresholds, WeeklyReport
from reports.progress import progress_compute
from reports.selectors import expected_percent
from sites.models import Site
from sites.supply.selectors import supply_figures

Level = SupervisionFinding.Level
# 2: per-dose lists (week_given, given) for the campaign's doses; 1 had week_dose1/2, dose2 (migrated).
SNAPSHOT_VERSION = 2
LEVELS = ("notice", "talk", "deduct")  # the levels proposed, mildest first
_ISO_WEEK = re.compile(r"(\d{4})-W(\d{1,2})")


class NotYet(ValueError):
    """A report asked for a day or week that has not come yet; the message is for the user."""


# Weeks -------------------------------------------------------------------------------------------


def parse_iso_week(text: str) -> datetime.date:
    """The Monday of an ISO week written `2021-W15`; raises ValueError with a message for people."""
    match = _ISO_WEEK.fullmatch((text or "").strip())
    if not match:
        raise ValueError(f"a week is written like 2021-W15 (ISO year, W, week number), not {text!r}")
    try:
        return datetime.date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise ValueError(f"{text!r} is not a week: {match[1]} has no week {int(match[2])}") from None


def iso_week(day: datetime.date) -> str:
    """`2021-W15` for any day of that ISO week."""
    iso = day.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def last_week_start(today: datetime.date) -> datetime.date:
    """The Monday of the week before `today`'s week: the week the Monday report is about."""
    return today - datetime.timedelta(days=today.weekday() + 7)


# Thresholds and levels ---------------------------------------------------------------------------


def thresholds_for(*, campaign: Campaign) -> SupervisionThresholds:
    """The campaign's thresholds, created with the defaults (5/10/20 points) on first use."""
    thresholds, _created = SupervisionThresholds.objects.get_or_create(campaign=campaign)
    return thresholds


def thresholds_update(
    *, campaign: Campaign, notice_gap: int, talk_gap: int, deduct_gap: int, user
) -> SupervisionThresholds:
    """Set the gaps (points below the expected %) from which a level is proposed.

    Raises ValidationError unless 1 <= notice < talk < deduct. Reports already made keep the
    thresholds they were made with (they are in the snapshot).
    """
    if not 1 <= notice_gap < talk_gap < deduct_gap:
        raise ValidationError(_("The gaps must increase: notice < formal talk < point deduction, from 1 point."))
    thresholds = thresholds_for(campaign=campaign)
    thresholds.notice_gap, thresholds.talk_gap, thresholds.deduct_gap = notice_gap, talk_gap, deduct_gap
    thresholds.updated_by, thresholds.updated_at = user, timezone.now()
    thresholds.save()
    return thresholds


def proposed_level(*, gap: float | None, notice_gap: int, talk_gap: int, deduct_gap: int) -> str:
    """The level a gap of `gap` points behind schedule earns: a Level value ("" for none).

    Each threshold is inclusive: a gap of exactly `talk_gap` points is a formal talk.
    """
    if gap is None:
        return Level.NONE
    if gap >= deduct_gap:
        return Level.DEDUCT
    if gap >= talk_gap:
        return Level.TALK
    if gap >= notice_gap:
        return Level.NOTICE
    return Level.NONE


def ranks(values: list[float | None]) -> list[int | None]:
    """Competition ranks, highest value first; equal values share a rank (1, 2, 2, 4). None is unranked."""
    ordered = sorted((v for v in values if v is not None), reverse=True)
    first = {}
    for position, value in enumerate(ordered, start=1):
        first.setdefault(value, position)
    return [None if v is None else first[v] for v in values]


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


# The weekly snapshot -----------------------------------------------------------------------------


def _sums(rows, group: str, *, within: Q, doses: int) -> dict[int, dict]:
    """Per `group` id: the doses given in all and `within` the period, one entry per dose of the campaign.

    {"given": [dose 1, ..., dose n], "in_given": [...], "completed": ..., "in_completed": ...}.
    """
    fields = {
        "all_completed": Coalesce(Sum("completed"), 0),
        "in_completed": Coalesce(Sum("completed", filter=within), 0),
    }
    for n in range(1, doses + 1):
        fields[f"all_{n}"] = dose_sum("doses", n)
        fields[f"in_{n}"] = dose_sum("doses", n, filter=within)
    return {
        row[group]: {
            "given": [row[f"all_{n}"] for n in range(1, doses + 1)],
            "in_given": [row[f"in_{n}"] for n in range(1, doses + 1)],
            "completed": row["all_completed"],
            "in_completed": row["in_completed"],
        }
        for row in rows.order_by().values(group).annotate(**fields)
    }


def _zero(doses: int) -> dict:
    return {"given": [0] * doses, "in_given": [0] * doses, "completed": 0, "in_completed": 0}


def _add(lists) -> list[int]:
    """Element-wise sums of per-dose lists."""
    return [sum(values) for values in zip(*lists, strict=True)]


def weekly_figures(*, campaign: Campaign, week_start: datetime.date, today: datetime.date | None = None) -> dict:
    """The weekly report's numbers from DailyProgress, as a JSON-ready dict (the snapshot).

    `doses` is the campaign's number of doses; every per-dose list has that many entries (no
    column for a dose the campaign does not have). Villages: the week's and cumulative doses
    given (week_given, given), people with dose 1 (dose1) and fully vaccinated (completed: the
    campaign's last dose), % of quota (people with dose 1 by Sunday / quota), the % expected by
    Sunday, the gap in points, the proposed level and the rank by % of quota. Sites: the same
    doses and the people a day on average (days of the campaign in the period, up to today)
    against the daily floor.
    """
    today = today or timezone.localdate()
    doses = campaign.doses
    week_end = week_start + datetime.timedelta(days=6)
    thresholds = thresholds_for(campaign=campaign)
    gaps = {k: getattr(thresholds, k) for k in ("notice_gap", "talk_gap", "deduct_gap")}
    expected = expected_percent(campaign=campaign, on=week_end)
    rows = DailyProgress.objects.filter(campaign=campaign, date__lte=week_end)
    in_week = Q(date__gte=week_start)
    by_village = _sums(rows, "village", within=in_week, doses=doses)
    by_site = _sums(rows, "site", within=in_week, doses=doses)
    villages = []
    for village in Village.objects.filter(campaign=campaign).select_related("site").order_by("site_id", "id"):
        sums = by_village.get(village.pk, _zero(doses))
        percent = _percent(sums["given"][0], village.quota)
        gap = None if percent is None else round(expected - percent, 1)
        villages.append(
            {
                "id": village.pk,
                "name": village.name,
                "site": village.site.short_name,
                "quota": village.quota,
                "week_given": sums["in_given"],
                "given": sums["given"],
                "dose1": sums["given"][0],
                "completed": sums["completed"],
                "percent": percent,
                "gap": gap,
                "level": str(proposed_level(gap=gap, **gaps)),
            }
        )
    for village, rank in zip(villages, ranks([v["percent"] for v in villages]), strict=True):
        village["rank"] = rank
    # The report reads as a ranking: best first, unranked (no quota) last, ties in the villages' order.
    villages.sort(key=lambda v: v["rank"] or len(villages) + 1)

    # Days the sites worked in each period: the campaign's days in it, up to today.
    through = min(week_end, campaign.end_date, today)
    week_days = max((through - max(week_start, campaign.start_date)).days + 1, 0)
    all_days = max((through - campaign.start_date).days + 1, 0)
    floor = campaign.daily_floor_per_site
    sites = []
    for site in Site.objects.filter(campaign=campaign).order_by("id"):
        sums = by_site.get(site.pk, _zero(doses))
        week_people = sum(sums["in_given"])
        people = sum(sums["given"])
        week_average = round(week_people / week_days, 1) if week_days else None
        sites.append(
            {
                "id": site.pk,
                "name": site.name,
                "short_name": site.short_name,
                "week_given": sums["in_given"],
                "week_people": week_people,
                "week_average": week_average,
                "week_below_floor": week_average is not None and week_average < floor,
                "given": sums["given"],
                "people": people,
                "average": round(people / all_days, 1) if all_days else None,
                "below_floor": bool(all_days) and people / all_days < floor,
            }
        )

    totals = {
        "quota": sum(v["quota"] for v in villages),
        "week_given": _add([[0] * doses, *(v["week_given"] for v in villages)]),
        "given": _add([[0] * doses, *(v["given"] for v in villages)]),
        "dose1": sum(v["dose1"] for v in villages),
        "completed": sum(v["completed"] for v in villages),
    }
    totals["percent"] = _percent(totals["dose1"], totals["quota"])
    totals["gap"] = None if totals["percent"] is None else round(expected - totals["percent"], 1)
    return {
        "version": SNAPSHOT_VERSION,
        "campaign": campaign.name,
        "doses": doses,
        "week": iso_week(week_start),
        "week_start": week_start.isoformat(),
        "week_end": week_end.isoformat(),
        "expected_percent": expected,
        "thresholds": gaps,
        "daily_floor_per_site": floor,
        "week_days": week_days,
        "campaign_days": all_days,
        "villages": villages,
        "sites": sites,
        "totals": totals,
        "levels": {level: sum(v["level"] == level for v in villages) for level in LEVELS},
        # Vaccine stock and wastage per site and lot at the week's end (sites.supply; absent in older snapshots).
        "supply": supply_figures(campaign=campaign, on=min(week_end, today)),
    }


def _pause_for_tests() -> None:
    # Tests only (WEEKLY_REPORT_TEST_PAUSE, 0 in every real deployment): hold the open transaction
    # so that a test can kill the worker in the middle of a report.
    if settings.WEEKLY_REPORT_TEST_PAUSE:
        time.sleep(settings.WEEKLY_REPORT_TEST_PAUSE)


@transaction.atomic
def weekly_report_make(
    *, campaign: Campaign, week_start: datetime.date, user=None, today: datetime.date | None = None
) -> WeeklyReport:
    """Make (or make again) the weekly report of the week starting `week_start` (a Monday).

    Brings the progress rows up to date from that Monday, computes the snapshot and stores it in
    the one WeeklyReport row of (campaign, week): making it twice leaves one report, the newer
    numbers. One transaction: a run killed half-way leaves no report or the previous one.
    Raises ValueError when `week_start` is not a Monday, NotYet when the week has not begun.
    """
    if week_start.weekday() != 0:
        raise ValueError(f"a week starts on a Monday, {week_start} is not one")
    if week_start > (today or timezone.localdate()):
        raise NotYet(_("The week of %(day)s has not begun: it has no figures to report yet.") % {"day": week_start})
    # Holds the campaign's lock until the report is stored: two makes of a week run one after the other.
    progress_compute(campaign=campaign, since=week_start)
    data = weekly_figures(campaign=campaign, week_start=week_start, today=today)
    report, _created = WeeklyReport.objects.update_or_create(
        campaign=campaign, week_start=week_start, defaults={"data": data, "made_at": timezone.now(), "made_by": user}
    )
    _pause_for_tests()
    return report


def weekly_report_make_open(*, week: str | None = None, campaign_id: int | None = None) -> dict[int, WeeklyReport]:
    """The periodic job: each open campaign's report of `week` (2021-W15), by default last week's, or
    `campaign_id`'s alone; each campaign apart (campaign.periodic). A campaign that starts after the week
    gets none (set up and opened ahead of its start). Returns {campaign id: report}."""
    week_start = parse_iso_week(week) if week else last_week_start(timezone.localdate())
    week_end = week_start + datetime.timedelta(days=6)
    reports = per_campaign(
        "weekly report",
        lambda campaign: (
            weekly_report_make(campaign=campaign, week_start=week_start) if campaign.start_date <= week_end else None
        ),
        campaign_id=campaign_id,
    )
    return {pk: report for pk, report in reports.items() if report is not None}


def weekly_reports(*, campaign: Campaign):
    """Every report of the campaign, newest week first (all past reports stay available)."""
    return WeeklyReport.objects.filter(campaign=campaign).select_related("made_by").order_by("-week_start")


# Findings ----------------------------------------------------------------------------------------


def finding_record(
    *, campaign: Campaign, village: Village, week_start: datetime.date, level: str, points: int, text: str, user
) -> SupervisionFinding:
    """Record what the supervision group found in a village in a week, with its level and points.

    Raises ValidationError when points are given without a point deduction, or the village or
    week does not fit (another campaign's village, a day that is not a Monday, no text).
    """
    errors = {}
    if village.campaign_id != campaign.pk:
        errors["village"] = _("This village is not in the campaign.")
    if week_start.weekday() != 0:
        errors["week_start"] = _("A week starts on a Monday.")
    if level not in Level.values:
        errors["level"] = _("Choose a level.")
    if points and level != Level.DEDUCT:
        errors["points_deducted"] = _("Points are deducted only with a point deduction (扣分).")
    if level == Level.DEDUCT and not points:
        errors["points_deducted"] = _("A point deduction needs the points deducted.")
    try:
        text = clean_text(text)
    except ValidationError as error:
        errors["text"] = error.messages[0]
    if not (text or "").strip():
        errors.setdefault("text", _("Write what was found."))
    if errors:
        raise ValidationError(errors)
    return SupervisionFinding.objects.create(
        campaign=campaign,
        village=village,
        week_start=week_start,
        level=level,
        points_deducted=points,
        text=text.strip(),
        recorded_by=user,
    )


def week_findings(*, campaign: Campaign, week_start: datetime.date):
    """The findings recorded against villages for the week, by village then newest first."""
    return (
        SupervisionFinding.objects.filter(campaign=campaign, week_start=week_start)
        .select_related("village", "recorded_by")
        .order_by("village__site_id", "village_id", "-recorded_at")
    )


# The upward report (上报接种进度) -----------------------------------------------------------------


def upward_figures(*, campaign: Campaign, on: datetime.date) -> dict:
    """The day's figures the office sends to the county, from DailyProgress.

    {"on", "campaign", "doses", "sites": [{"name", "villages": [row...], "subtotal": row}], "total": row},
    where a row has quota, the day's doses given (day_given: one entry per dose of the campaign),
    people with dose 1 and fully vaccinated by the end of the day, and % of quota (people with
    dose 1 / quota).
    """
    doses = campaign.doses
    rows = DailyProgress.objects.filter(campaign=campaign, date__lte=on)
    by_village = _sums(rows, "village", within=Q(date=on), doses=doses)

    def row(name: str, quota: int, sums: list[dict]) -> dict:
        counts = {
            "day_given": _add([[0] * doses, *(s["in_given"] for s in sums)]),
            "dose1": sum(s["given"][0] for s in sums),
            "completed": sum(s["completed"] for s in sums),
        }
        return {"name": name, "quota": quota, **counts, "percent": _percent(counts["dose1"], quota)}

    sites, every = [], []
    for site in Site.objects.filter(campaign=campaign).order_by("id"):
        villages = list(Village.objects.filter(site=site).order_by("id"))
        sums = [by_village.get(v.pk, _zero(doses)) for v in villages]
        every += sums
        sites.append(
            {
                "name": site.name,
                "villages": [row(v.name, v.quota, [s]) for v, s in zip(villages, sums, strict=True)],
                "subtotal": row(site.name, sum(v.quota for v in villages), sums),
            }
        )
    quota = sum(site["subtotal"]["quota"] for site in sites)
    return {
        "on": on,
        "campaign": campaign.name,
        "doses": doses,
        "sites": sites,
        "total": row("", quota, every),
        "supply": supply_figures(campaign=campaign, on=on),  # stock and wastage (sites.supply)
    }


def upward_report_figures(*, campaign: Campaign, on: datetime.date) -> dict:
    """Bring the progress rows up to date from `on`, then return upward_figures for that day.

    Raises NotYet for a day after today: its figures cannot be reported before they exist.
    """
    if on > timezone.localdate():
        raise NotYet(_("%(day)s is after today: it has no figures to report yet.") % {"day": on})
    progress_compute(campaign=campaign, since=on)
    return upward_figures(campaign=campaign, on=on)
