import datetime
import math

from django.db.models import F, Max, OuterRef, Subquery, Sum, TextField
from django.db.models.functions import Cast, TruncDate
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from appointments.models import OPEN_STATUSES, Appointment
from campaign.lib.readahead import read_ahead
from campaign.models import Village
from reports.doses import dose_sum, per_dose
from reports.models import CadreProgress, DailyProgress, VillageProgress
from residents.filters import ResidentFilter
from residents.models import Resident
from sites.models import Vaccination


def expected_percent(*, campaign, on: datetime.date) -> float:
    """The % of a quota that should have dose 1 by the end of day `on`.

    The schedule is a straight line: 0% before the first day, 100% on the first-dose deadline.
    A village's "% of quota" is its people with dose 1 over its quota, compared with this.
    """
    days = (campaign.first_dose_deadline - campaign.start_date).days + 1
    done = min(max((on - campaign.start_date).days + 1, 0), days)
    return round(100 * done / days, 1)


def _percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def _ranks(values: list[float]) -> list[int]:
    """Competition ranks, highest first: equal values share a rank (1, 2, 2, 4)."""
    ordered = sorted(values, reverse=True)
    return [ordered.index(v) + 1 for v in values]


def dashboard_figures(*, campaign, today: datetime.date) -> dict:
    """Everything the progress dashboard shows, read from the precomputed progress rows only.

    Doses given count every dose of the campaign (1 .. campaign.doses); "fully vaccinated" counts
    the campaign's last dose (for a one-dose campaign, dose 1 itself). Rates are doses a day.
    Villages and cadres carry `doses`: their people with each dose, one entry per dose.
    """
    rows = DailyProgress.objects.filter(campaign=campaign)
    doses_needed = campaign.target_people * campaign.doses

    by_day = list(
        rows.filter(date__lte=today)
        .values("date")
        .annotate(
            dose1=Sum("dose1"),
            completed=Sum("completed"),
            **{f"dose{n}_": dose_sum("doses", n) for n in campaign.dose_numbers if n > 1},
        )
        .order_by("date")
    )
    for d in by_day:
        # Every dose given that day, the first doses included.
        d["given"] = d["dose1"] + sum(d.pop(f"dose{n}_") for n in campaign.dose_numbers if n > 1)
    dose1 = sum(d["dose1"] for d in by_day)
    completed = sum(d["completed"] for d in by_day)
    given = sum(d["given"] for d in by_day)

    # The last 7 whole days before today (fewer at the start of the campaign).
    week_from = max(today - datetime.timedelta(days=7), campaign.start_date)
    week_days = (today - week_from).days
    week_doses = sum(d["given"] for d in by_day if week_from <= d["date"] < today)
    rate_7d = round(week_doses / week_days, 1) if week_days > 0 else None

    days_left = max((campaign.end_date - today).days + 1, 0)
    doses_to_go = max(doses_needed - given, 0)
    rate_needed = -(-doses_to_go // days_left) if days_left else None
    if doses_to_go == 0:
        reached_on = today
    elif rate_7d:
        reached_on = today + datetime.timedelta(days=math.ceil(doses_to_go / rate_7d))
    else:
        reached_on = None
    deadline_days_left = max((campaign.first_dose_deadline - today).days + 1, 0)
    dose1_to_go = max(campaign.target_people - dose1, 0)

    # The chart: cumulative doses, dose-1 people and fully vaccinated people per day, and the target line
    # (a straight line from nothing on the first day to every dose on the last).
    chart = {"dates": [], "doses": [], "dose1": [], "completed": [], "target": []}
    per_day = {d["date"]: d for d in by_day}
    span = (campaign.end_date - campaign.start_date).days + 1
    running = {"doses": 0, "dose1": 0, "completed": 0}
    before_start = [d for d in by_day if d["date"] < campaign.start_date]
    for d in before_start:
        running["dose1"] += d["dose1"]
        running["completed"] += d["completed"]
        running["doses"] += d["given"]
    for i in range(span):
        day = campaign.start_date + datetime.timedelta(days=i)
        chart["dates"].append(day.isoformat())
        chart["target"].append(round(doses_needed * (i + 1) / span))
        if day > today:
            continue
        d = per_day.get(day)
        if d:
            running["dose1"] += d["dose1"]
            running["completed"] += d["completed"]
            running["doses"] += d["given"]
        for key in running:
            chart[key].append(running[key])

    # Today at each site against its floor.
    today_by_site = {
        r["site"]: r
        for r in rows.filter(date=today)
        .values("site")
        .annotate(
            booked=Sum("booked"),
            arrived=Sum("arrived"),
            **{f"dose{n}": dose_sum("doses", n) for n in campaign.dose_numbers},
        )
    }
    sites = []
    for site in campaign.sites.order_by("name"):
        r = today_by_site.get(site.pk, {})
        vaccinated = sum(r.get(f"dose{n}", 0) for n in campaign.dose_numbers)
        floor = campaign.daily_floor_per_site
        sites.append(
            {
                "site": site,
                "booked": r.get("booked", 0),
                "arrived": r.get("arrived", 0),
                "vaccinated": vaccinated,
                "floor": floor,
                "percent_of_floor": _percent(vaccinated, floor),
                "below_floor": vaccinated < floor,
            }
        )

    # Villages: where each stands now, ranked by % of quota (people with dose 1), flagged when below
    # the % expected by the end of yesterday.
    expected = expected_percent(campaign=campaign, on=today - datetime.timedelta(days=1))
    standings = {v.village_id: v for v in VillageProgress.objects.filter(campaign=campaign)}
    villages = []
    for village in Village.objects.filter(campaign=campaign).select_related("site").order_by("site__name", "name"):
        v = standings.get(village.pk)
        row = {
            "village": village,
            "quota": village.quota,
            **{k: getattr(v, k, 0) for k in ("registered", "eligible", "booked", "dose1", "completed")},
            "doses": per_dose(getattr(v, "doses", None), campaign.doses),
        }
        # Compared and ranked unrounded: 49.98% is behind an expected 50.0% even though it shows as 50.0%.
        exact = 100 * row["dose1"] / village.quota if village.quota else 0.0
        row["percent"] = round(exact, 1)
        row["behind"] = exact < expected
        row["exact"] = exact
        villages.append(row)
    for row, rank in zip(villages, _ranks([r["exact"] for r in villages]), strict=True):
        row["rank"] = rank

    cadres = []
    for c in (
        CadreProgress.objects.filter(campaign=campaign)
        .select_related("cadre", "village")
        .order_by("village__name", "cadre__username")
    ):
        name = c.cadre.get_full_name() or c.cadre.username
        cadres.append(
            {
                "name": name,
                "village": c.village,
                **{k: getattr(c, k) for k in ("assigned", "eligible", "booked", "dose1", "completed")},
                "doses": per_dose(c.doses, campaign.doses),
                "percent": _percent(c.dose1, c.assigned),
            }
        )

    computed_at = VillageProgress.objects.filter(campaign=campaign).aggregate(at=Max("computed_at"))["at"]
    return {
        "target": campaign.target_people,
        "dose1": dose1,
        "dose1_percent": _percent(dose1, campaign.target_people),
        "completed": completed,
        "completed_percent": _percent(completed, campaign.target_people),
        "still_to_go": max(campaign.target_people - completed, 0),
        "doses_given": given,
        "doses_to_go": doses_to_go,
        "days_left": days_left,
        "day_number": (today - campaign.start_date).days + 1,
        "rate_needed": rate_needed,
        "rate_7d": rate_7d,
        "on_track": rate_7d is not None and rate_needed is not None and rate_7d >= rate_needed,
        "reached_on": reached_on,
        "deadline": campaign.first_dose_deadline,
        "deadline_days_left": deadline_days_left,
        "dose1_to_go": dose1_to_go,
        "dose1_rate_needed": -(-dose1_to_go // deadline_days_left) if deadline_days_left else None,
        "sites": sites,
        "expected_percent": expected,
        "villages": villages,
        "cadres": cadres,
        "chart": chart,
        "computed_at": computed_at,
    }


# The last figures this process drew, with the rows' computation they were drawn from.
_last_figures: dict = {}


def dashboard_figures_of_run(*, campaign, today: datetime.date, computed_at) -> dict:
    """dashboard_figures, drawn once per computation of the rows in this process (`computed_at` names it).

    The figures are a function of the rows, which change only when a run rewrites them (and gives
    them a new time); every page until the next run reads the same dict. Configuration read beside
    the rows (a quota, a village's name) shows at the next run, within FRESH_FOR.
    """
    key = (campaign.pk, today, computed_at)
    last = _last_figures.get("dashboard")
    if last is not None and last[0] == key and computed_at is not None:
        return last[1]
    figures = dashboard_figures(campaign=campaign, today=today)
    _last_figures["dashboard"] = (key, figures)
    return figures


# What roster_rows gives for each resident, in this order; then, for each dose n, the day it was
# given (a local date) and the day of its open booking.
ROSTER_FIELDS = (
    "name",
    "sex",
    "birth_date",
    "document_type",
    "id_number",
    "nationality",
    "phone",
    "village_name",
    "basis",
    "priority_group",
    "status",
    "status_reasons_json",
    "status_note",
    "cadre_id",
    "cadre_last_name",
    "cadre_first_name",
    "cadre_username",
    "registered_at",
)


def roster_rows(*, residents, doses: int, chunk_size: int = 2000):
    """Stream the roster's rows as tuples, in the queryset's order, in one query.

    `residents` is already scoped (Resident.objects.for_user) and filtered. Each row holds
    ROSTER_FIELDS (the village's and the responsible cadre's names joined in; the status reasons
    as their JSON text, which the writer turns into labels once per distinct list), then per dose
    n the local day it was given and the day of its open booking (None when there is none).
    Plain tuples, no per-row conversion in Python (campaign.lib.readahead reads them).
    """
    # Correlated subqueries, not joins: each is one probe of a unique (resident, dose) index,
    # a plan that does not depend on table statistics. Joins were faster by a fraction of a
    # second on 100,000 analysed rows, but right after a bulk load (statistics still empty)
    # PostgreSQL chose nested loops over them and the query was still running after a minute.
    # order_by(): one row at most per (resident, dose), so the models' orderings would only add sorts.
    dose_fields = {}
    for n in range(1, doses + 1):
        given = Vaccination.objects.filter(resident=OuterRef("pk"), dose_number=n).order_by()
        booked = Appointment.objects.filter(resident=OuterRef("pk"), dose_number=n, status__in=OPEN_STATUSES)
        # The day in Meishan (the current time zone), not in UTC: 23:30 local stays on its day.
        dose_fields[f"dose{n}_day"] = Subquery(given.values(day=TruncDate("vaccinated_at"))[:1])
        dose_fields[f"dose{n}_booked"] = Subquery(booked.order_by().values("date")[:1])
    rows = residents.annotate(
        village_name=F("village__name"),
        # As text: a JSONField would decode every row's list in Python; most are [].
        status_reasons_json=Cast("status_reasons", TextField()),
        cadre_id=F("responsible_cadre_id"),
        cadre_last_name=F("responsible_cadre__last_name"),
        cadre_first_name=F("responsible_cadre__first_name"),
        cadre_username=F("responsible_cadre__username"),
        **dose_fields,
    ).values_list(*ROSTER_FIELDS, *dose_fields)
    # Read ahead in a thread where it can: PostgreSQL computes the next rows while the file is written.
    return read_ahead(rows, chunk_size=chunk_size)


def describe_filter(parameters: dict, village_names: dict) -> str:
    """A roster's filter in words for people: its village (or all), status, search text and sort."""
    village = parameters.get("village")
    parts = [village_names.get(str(village), str(village)) if village else str(_("all villages"))]
    if parameters.get("status"):
        status = dict(Resident.Status.choices).get(parameters["status"], parameters["status"])
        parts.append(_("status: %(status)s") % {"status": status})
    if parameters.get("q"):
        parts.append(_("search: “%(text)s”") % {"text": parameters["q"]})
    if parameters.get("ordering"):
        sorts = dict(ResidentFilter.base_filters["ordering"].extra["choices"])
        parts.append(_("sort: %(sort)s") % {"sort": sorts.get(parameters["ordering"], parameters["ordering"])})
    return pgettext("list separator", "; ").join(str(part) for part in parts)


def export_descriptions(exports) -> dict[int, str]:
    """Each export's filter in words, by export id, with one query for all their villages' names."""
    ids = {str(e.parameters.get("village")) for e in exports if str(e.parameters.get("village") or "").isdigit()}
    names = {str(pk): name for pk, name in Village.objects.filter(pk__in=ids).values_list("pk", "name")}
    return {export.pk: describe_filter(export.parameters, names) for export in exports}


def full_value_downloads(*, user):
    """Every download of a file with full ID numbers and phones (roster exports and daily rosters), newest first:
    the office sees everyone's, anyone else their own (as Export.objects.for_user)."""
    from campaign.roles import Role, role_of
    from residents.models import FullValueView

    downloads = FullValueView.objects.filter(
        kind__in=[FullValueView.Kind.EXPORT, FullValueView.Kind.DAILY_ROSTER]
    ).select_related("user")
    if role_of(user) == Role.OFFICE:
        return downloads
    if user is None or not user.is_authenticated:
        return downloads.none()
    return downloads.filter(user=user)
