"""Progress as precomputed rows: the one writer of DailyProgress, VillageProgress and CadreProgress.

The Celery task (every 30 seconds, in full after midnight), the `compute_progress` command, the
dashboard (`progress_fresh`, when no task has run for a minute) and `load_demo` all call
`progress_compute`. It reads the raw records with a handful of GROUP BY queries and replaces the
rows it covers inside one transaction, holding the campaign's row lock: a rerun over the same
records writes the same rows, two runs never interleave, and a run killed half-way leaves the
previous rows in place.

Freshness: the figures a page shows are never more than FRESH_FOR behind the records. Beat keeps
them so without any page paying for it; without beat (the embedded default, Redis down, no worker)
the first page that finds them older computes them before it reads them.
"""

import datetime
from collections import Counter, defaultdict

from django.db import transaction
from django.db.models import Count, F, Max, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from appointments.models import Appointment
from campaign.models import Campaign
from campaign.periodic import per_campaign
from reports.doses import as_json
from reports.models import COUNTS, CadreProgress, DailyProgress, VillageProgress
from residents.models import Resident
from sites.models import AdverseEvent, PreScreening, Vaccination

CHECKED_IN = [Appointment.Status.ARRIVED, Appointment.Status.VACCINATED]
SCREENED_OUT = [PreScreening.Outcome.DEFERRED, PreScreening.Outcome.EXCLUDED]
# The most the figures on a page may lag the records (the beat task runs twice as often).
FRESH_FOR = datetime.timedelta(minutes=1)


def _day_start(day: datetime.date) -> datetime.datetime:
    """Midnight at the start of a local (Asia/Shanghai) day, as an aware datetime."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _daily_counts(*, campaign: Campaign, since: datetime.date | None) -> dict[tuple, Counter]:
    """Per (date, site id, village id): the counts of COUNTS, from the raw records."""
    counts: dict[tuple, Counter] = defaultdict(Counter)
    start = _day_start(since) if since else None

    def add(rows, *fields):
        for row in rows:
            key = (row["day"], row["at_site"], row["of_village"])
            for field in fields:
                counts[key][field] += row[field]

    residents = Resident.objects.filter(campaign=campaign)
    if start:
        residents = residents.filter(registered_at__gte=start)
    add(
        residents.order_by()
        .values(day=TruncDate("registered_at"), at_site=F("village__site"), of_village=F("village_id"))
        .annotate(registered=Count("id")),
        "registered",
    )

    appointments = Appointment.objects.filter(resident__campaign=campaign).exclude(status=Appointment.Status.CANCELLED)
    if since:
        appointments = appointments.filter(date__gte=since)
    add(
        appointments.order_by()
        .values(day=F("date"), at_site=F("site_id"), of_village=F("resident__village"))
        .annotate(
            booked=Count("id"),
            arrived=Count("id", filter=Q(status__in=CHECKED_IN)),
            no_shows=Count("id", filter=Q(status=Appointment.Status.NO_SHOW)),
        ),
        "booked",
        "arrived",
        "no_shows",
    )

    vaccinations = Vaccination.objects.filter(resident__campaign=campaign)
    if start:
        vaccinations = vaccinations.filter(vaccinated_at__gte=start)
    # Each of the campaign's doses under its own key (dose1, dose2, dose3, ...): DailyProgress.doses.
    for row in (
        vaccinations.filter(dose_number__lte=campaign.doses)
        .order_by()
        .values("dose_number", day=TruncDate("vaccinated_at"), at_site=F("site_id"), of_village=F("resident__village"))
        .annotate(n=Count("id"))
    ):
        counter = counts[(row["day"], row["at_site"], row["of_village"])]
        counter[f"dose{row['dose_number']}"] += row["n"]
        if row["dose_number"] == campaign.doses:
            counter["completed"] += row["n"]

    screenings = PreScreening.objects.filter(appointment__resident__campaign=campaign, outcome__in=SCREENED_OUT)
    if start:
        screenings = screenings.filter(screened_at__gte=start)
    add(
        screenings.order_by()
        .values(
            day=TruncDate("screened_at"),
            at_site=F("appointment__site"),
            of_village=F("appointment__resident__village"),
        )
        .annotate(deferrals=Count("id")),
        "deferrals",
    )

    events = AdverseEvent.objects.filter(vaccination__resident__campaign=campaign)
    if start:
        events = events.filter(onset__gte=start)
    add(
        events.order_by()
        .values(day=TruncDate("onset"), at_site=F("vaccination__site"), of_village=F("vaccination__resident__village"))
        .annotate(adverse_events=Count("id")),
        "adverse_events",
    )
    return counts


def _doses(counter: Counter, campaign: Campaign) -> dict[str, int]:
    """The per-dose JSON of a row ({"1": n, ...}) from a counter's dose1, dose2, ... keys."""
    return as_json({n: counter[f"dose{n}"] for n in campaign.dose_numbers}, campaign.doses)


def _people_counts(*, campaign: Campaign, by: tuple[str, ...]) -> dict[tuple, Counter]:
    """Where people stand now, grouped by resident fields `by`: registered, eligible, booked, doses."""
    counts: dict[tuple, Counter] = defaultdict(Counter)
    residents = Resident.objects.filter(campaign=campaign).order_by()
    for row in residents.values(*by).annotate(
        registered=Count("id"), eligible=Count("id", filter=Q(status=Resident.Status.ELIGIBLE))
    ):
        counts[tuple(row[f] for f in by)].update(registered=row["registered"], eligible=row["eligible"])
    # People with each dose (one dose record per person and dose: a constraint), under dose1, dose2, ...;
    # completed: those with the campaign's last dose.
    given = Vaccination.objects.filter(resident__campaign=campaign, dose_number__lte=campaign.doses).order_by()
    resident_by = [f"resident__{f}" for f in by]
    for row in given.values("dose_number", *resident_by).annotate(n=Count("id")):
        counter = counts[tuple(row[f] for f in resident_by)]
        counter[f"dose{row['dose_number']}"] += row["n"]
        if row["dose_number"] == campaign.doses:
            counter["completed"] += row["n"]
    # Booked: dose 1 given, or held by an open appointment (at most one per dose: a constraint).
    waiting = Appointment.objects.filter(resident__campaign=campaign, dose_number=1, status__in=["booked", "arrived"])
    for row in waiting.order_by().values(*resident_by).annotate(n=Count("id")):
        counts[tuple(row[f] for f in resident_by)]["booked"] += row["n"]
    for counter in counts.values():
        counter["booked"] += counter["dose1"]
    return counts


def progress_computed_at(*, campaign: Campaign) -> datetime.datetime | None:
    """When the campaign's progress rows were last computed (None: never)."""
    return VillageProgress.objects.filter(campaign=campaign).aggregate(at=Max("computed_at"))["at"]


@transaction.atomic
def progress_compute(
    *, campaign: Campaign, since: datetime.date | None = None, unless_since: datetime.datetime | None = None
) -> dict | None:
    """Recompute the campaign's daily rows from `since` (every day when None) and its snapshots.

    Returns what it wrote: {"days": rows written, "since": since, "villages": ..., "cadres": ...};
    None, writing nothing, when `unless_since` is given and another run computed them after it.
    """
    # One run at a time per campaign: the second waits here and then recomputes from fresh records.
    # NO KEY UPDATE: the lock must not hold up a resident's insert, whose foreign key check on the
    # campaign's row takes KEY SHARE (a plain FOR UPDATE would make registrations wait for the run).
    Campaign.objects.select_for_update(no_key=True).only("pk").get(pk=campaign.pk)
    if unless_since is not None:
        computed_at = progress_computed_at(campaign=campaign)
        if computed_at is not None and computed_at >= unless_since:
            return None  # a run that waited for another one: the rows are already as fresh as asked
    now = timezone.now()

    daily = _daily_counts(campaign=campaign, since=since)
    old = DailyProgress.objects.filter(campaign=campaign)
    if since:
        old = old.filter(date__gte=since)
    old.delete()
    DailyProgress.objects.bulk_create(
        [
            DailyProgress(
                campaign=campaign,
                date=day,
                site_id=site,
                village_id=village,
                computed_at=now,
                doses=_doses(counter, campaign),
                **{field: counter[field] for field in COUNTS},
            )
            for (day, site, village), counter in sorted(daily.items())
        ],
        batch_size=2000,
    )

    # One pass over the residents, by cadre and village; the villages' totals are its sums.
    cadres = _people_counts(campaign=campaign, by=("responsible_cadre", "village"))
    # Every village has its row, zeros included: the rows' time is when the campaign was computed.
    villages: dict[tuple, Counter] = {(pk,): Counter() for pk in campaign.villages.values_list("pk", flat=True)}
    for (_cadre_id, village_id), counter in cadres.items():
        villages.setdefault((village_id,), Counter()).update(counter)
    VillageProgress.objects.filter(campaign=campaign).delete()
    VillageProgress.objects.bulk_create(
        [
            VillageProgress(
                campaign=campaign,
                village_id=village_id,
                computed_at=now,
                doses=_doses(counter, campaign),
                **{k: counter[k] for k in ("registered", "eligible", "booked", "dose1", "completed")},
            )
            for (village_id,), counter in sorted(villages.items())
        ]
    )

    CadreProgress.objects.filter(campaign=campaign).delete()
    CadreProgress.objects.bulk_create(
        [
            CadreProgress(
                campaign=campaign,
                cadre_id=cadre_id,
                village_id=village_id,
                computed_at=now,
                doses=_doses(counter, campaign),
                assigned=counter["registered"],
                **{k: counter[k] for k in ("eligible", "booked", "dose1", "completed")},
            )
            for (cadre_id, village_id), counter in sorted(
                (key, counter) for key, counter in cadres.items() if key[0] is not None
            )
        ]
    )
    return {"days": len(daily), "since": since, "villages": len(villages), "cadres": len(cadres)}


def progress_compute_open(*, full: bool = False, campaign_id: int | None = None) -> dict[int, dict]:
    """The periodic job: today and yesterday (every day when `full`) for each open campaign, or for
    `campaign_id` alone; each campaign apart (campaign.periodic). Returns {campaign id: progress_compute's result}."""
    since = None if full else timezone.localdate() - datetime.timedelta(days=1)
    return per_campaign(
        "progress", lambda campaign: progress_compute(campaign=campaign, since=since), campaign_id=campaign_id
    )


def progress_fresh(*, campaign: Campaign) -> datetime.datetime:
    """Make sure the campaign's progress rows are at most FRESH_FOR behind the records; returns when they were computed.

    What every page that shows progress calls before it reads the rows. With beat running it finds
    them fresh (one indexed query); otherwise it computes the days since the last run (today and
    yesterday at least, every day when never computed). Concurrent callers compute once: the others
    wait for the campaign's lock and find the rows fresh.
    """
    now = timezone.now()
    computed_at = progress_computed_at(campaign=campaign)
    if computed_at is not None and now - computed_at <= FRESH_FOR:
        return computed_at
    since = None
    if computed_at is not None:
        since = min(timezone.localdate(computed_at), timezone.localdate(now) - datetime.timedelta(days=1))
    progress_compute(campaign=campaign, since=since, unless_since=now - FRESH_FOR)
    return progress_computed_at(campaign=campaign)
