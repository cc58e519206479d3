"""The weekly plan's arithmetic (分周接种计划): who could come for a first dose, where and when.

A pure function: plain dataclasses in, plain dataclasses out, no database. The
services in appointments.planning.services feed it from the database and store the
part of its answer that falls in one week.

How a site is planned, day by day from the first day:
- a day's load is its existing bookings (every dose), the new first doses and the
  later doses those reserve; it never goes above the day's capacity;
- every new first dose on day d reserves each later dose at the same site: dose
  n+1 on the first day on or after dose n's day + its interval that still has room,
  and not after the end date (a first dose without such places is not planned; a
  one-dose campaign reserves nothing);
- every day takes the same number of first doses (the rate), or more where that is
  what it takes to bring the day up to the daily floor. The rate is the lowest that
  plans the site's whole remaining quota by the deadline (or the most that fits when
  capacity is short). An even rate, not "as much as fits", spreads the quota over the
  remaining days instead of finishing in a few; when the quota is too small for the
  floor on every day, the site reaches the floor on as many days as the quota allows
  (the earliest ones) instead of idling below it on all of them;
- each day's first doses are shared among the site's villages in proportion to the
  people each still has to plan, so every village's quota spreads over the days.
Whatever cannot be done (capacity short, the deadline passed, a day below the
floor) is returned as a Problem with its reason; nothing raises, nothing is
dropped silently.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

ONE_DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class SiteInput:
    """A site: its usual capacity, per-day exceptions, and places already taken per day (every dose)."""

    id: int
    name: str
    daily_capacity: int
    capacity: dict[datetime.date, int] = field(default_factory=dict)
    taken: dict[datetime.date, int] = field(default_factory=dict)

    def capacity_on(self, day: datetime.date) -> int:
        return self.capacity.get(day, self.daily_capacity)


@dataclass(frozen=True)
class VillageInput:
    """A village and the people it still has to plan a first dose for."""

    id: int
    name: str
    site_id: int
    remaining: int


@dataclass(frozen=True)
class PlanInput:
    """The campaign's days and rules, its sites and villages. `dose_intervals`: the days between dose n and
    n+1, one per gap (Campaign.dose_intervals): () for one dose, (14,) for two, (28, 60) for three."""

    start: datetime.date
    end: datetime.date
    first_dose_deadline: datetime.date
    dose_intervals: tuple[int, ...]
    daily_floor: int
    sites: list[SiteInput]
    villages: list[VillageInput]

    @property
    def doses(self) -> int:
        return len(self.dose_intervals) + 1


@dataclass(frozen=True)
class DayTotal:
    """One site on one day once the proposal is in."""

    capacity: int
    taken: int
    first: int
    reserved: int
    floor: int

    @property
    def total(self) -> int:
        return self.taken + self.first + self.reserved

    @property
    def free(self) -> int:
        return self.capacity - self.total

    @property
    def below_floor(self) -> bool:
        return self.total < self.floor


@dataclass(frozen=True)
class Problem:
    """Something the proposal cannot do, with the reason in `message`."""

    SHORTAGE = "shortage"  # people who get no first-dose place by the deadline, one problem per site
    TOWN_SHORTAGE = "town_shortage"  # the same, summed over the town when more than one site is short
    DEADLINE_PASSED = "deadline_passed"
    NO_DAYS = "no_days"
    OVERBOOKED = "overbooked"  # existing bookings above capacity: not ours, but reported
    CAPACITY_BELOW_FLOOR = "capacity_below_floor"
    BELOW_FLOOR = "below_floor"
    UNKNOWN_SITE = "unknown_site"

    kind: str
    message: str
    site_id: int | None = None
    village_id: int | None = None
    first_day: datetime.date | None = None
    last_day: datetime.date | None = None
    people: int = 0
    villages: tuple[tuple[int, int], ...] = ()  # (village id, people) where a problem concerns several

    def __str__(self):
        return self.message


@dataclass
class Proposal:
    """First-dose places per (site id, village id, day), the later doses they reserve per (site id, day),
    every site-day's totals, the people left without a place per village id, and the problems."""

    allocations: dict[tuple[int, int, datetime.date], int] = field(default_factory=dict)
    reserved: dict[tuple[int, datetime.date], int] = field(default_factory=dict)
    totals: dict[tuple[int, datetime.date], DayTotal] = field(default_factory=dict)
    unplanned: dict[int, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def village_total(self, village_id: int) -> int:
        return sum(places for (_s, v, _d), places in self.allocations.items() if v == village_id)


def propose_first_doses(plan: PlanInput) -> Proposal:
    """Propose first-dose places for every village from `plan.start` to the deadline. See the module docstring."""
    proposal = Proposal()
    days = _days(plan.start, plan.end)
    by_site = defaultdict(list)
    site_ids = {site.id for site in plan.sites}
    for village in sorted(plan.villages, key=lambda v: v.id):
        if village.site_id in site_ids:
            by_site[village.site_id].append(village)
        elif village.remaining > 0:
            proposal.unplanned[village.id] = village.remaining
            proposal.problems.append(
                Problem(
                    Problem.UNKNOWN_SITE,
                    _("%(village)s: %(people)s people are not planned: the village has no vaccination site.")
                    % {"village": village.name, "people": _n(village.remaining)},
                    village_id=village.id,
                    people=village.remaining,
                )
            )
    if not days:
        people = sum(max(v.remaining, 0) for v in plan.villages)
        proposal.problems.append(
            Problem(
                Problem.NO_DAYS,
                _("No days are left: the campaign ended on %(end)s; %(people)s people are not planned.")
                % {"end": plan.end.isoformat(), "people": _n(people)},
                people=people,
            )
        )
        for village in plan.villages:
            if village.remaining > 0:
                proposal.unplanned[village.id] = village.remaining
        return proposal
    for site in sorted(plan.sites, key=lambda s: s.id):
        _SitePlanner(plan, site, by_site[site.id], days, proposal).run()
    _summarise_town(plan, proposal)
    return proposal


def _summarise_town(plan: PlanInput, proposal: Proposal):
    """When several sites are short, one line first with the town's total (the per-site lines follow)."""
    short = [p for p in proposal.problems if p.kind in (Problem.SHORTAGE, Problem.DEADLINE_PASSED)]
    if len(short) < 2:
        return
    people = sum(p.people for p in short)
    message = ngettext(
        "Town-wide: %(people)s person cannot get a first dose by the deadline %(deadline)s, "
        "at %(sites)s sites (each site below).",
        "Town-wide: %(people)s people cannot get a first dose by the deadline %(deadline)s, "
        "at %(sites)s sites (each site below).",
        people,
    ) % {"people": _n(people), "deadline": plan.first_dose_deadline.isoformat(), "sites": len(short)}
    proposal.problems.insert(0, Problem(Problem.TOWN_SHORTAGE, message, people=people))


class _SitePlanner:
    """Plans one site; villages of other sites never share its capacity."""

    def __init__(self, plan: PlanInput, site: SiteInput, villages: list[VillageInput], days, proposal: Proposal):
        self.plan, self.site, self.villages, self.days, self.proposal = plan, site, villages, days, proposal
        # Two doses never share a day: a gap of 0 is planned as 1.
        self.intervals = tuple(max(days, 1) for days in plan.dose_intervals)
        self.capacity = {day: max(site.capacity_on(day), 0) for day in days}
        self.taken = {day: max(site.taken.get(day, 0), 0) for day in days}
        self.first_days = [day for day in days if day <= plan.first_dose_deadline]
        self.remaining = {village.id: max(village.remaining, 0) for village in villages}
        self.people = sum(self.remaining.values())

    def run(self):
        self._report_input_problems()
        first, reserved = {}, defaultdict(int)
        if self.people and self.first_days:
            first, reserved = self._simulate(self._rate())
        placed = sum(first.values())
        self._share_among_villages(first)
        for day in self.days:
            self.proposal.totals[(self.site.id, day)] = DayTotal(
                capacity=self.capacity[day],
                taken=self.taken[day],
                first=first.get(day, 0),
                reserved=reserved.get(day, 0),
                floor=self.plan.daily_floor,
            )
            if reserved.get(day):
                self.proposal.reserved[(self.site.id, day)] = reserved[day]
        self._report_shortage(placed)
        self._report_floor(placed)

    # The arithmetic.

    def _simulate(self, rate: int):
        """First doses per day at `rate` (or up to the floor), and the later doses they reserve."""
        room = {day: max(self.capacity[day] - self.taken[day], 0) for day in self.days}
        reserved = defaultdict(int)
        first = {}
        left = self.people
        for day in self.first_days:
            if not left:
                break
            to_floor = self.plan.daily_floor - self.taken[day] - reserved[day]
            want = min(max(rate, to_floor), room[day], left)
            if want <= 0:
                continue
            got = self._reserve(day, want, self.intervals, room, reserved)
            if got:
                room[day] -= got
                first[day] = got
                left -= got
        return first, reserved

    def _reserve(self, after: datetime.date, count: int, intervals: tuple[int, ...], room, reserved) -> int:
        """Reserve the later doses `intervals` apart for up to `count` people dosed on `after`; returns how many fit."""
        if not intervals:
            return count
        done = 0
        day = after + datetime.timedelta(days=intervals[0])
        while done < count and day <= self.plan.end:
            if room[day] > 0:
                got = self._reserve(day, min(count - done, room[day]), intervals[1:], room, reserved)
                room[day] -= got
                reserved[day] += got
                done += got
            day += ONE_DAY
        return done

    def _placed(self, rate: int) -> int:
        return sum(self._simulate(rate)[0].values())

    def _rate(self) -> int:
        """The lowest rate that plans everyone, or the highest there is when capacity is short."""
        top = max(self.capacity.values())  # at this rate every day takes all it has room for
        if self._placed(top) < self.people:
            return top
        low, high = -1, top  # _placed(low) < people <= _placed(high)
        while high - low > 1:
            middle = (low + high) // 2
            if self._placed(middle) >= self.people:
                high = middle
            else:
                low = middle
        return high

    def _share_among_villages(self, first: dict):
        """Split each day's first doses among villages in proportion to what each has still to plan."""
        left = dict(self.remaining)
        for day in self.first_days:
            count = first.get(day, 0)
            if not count:
                continue
            total = sum(left.values())
            shares = {vid: count * people // total for vid, people in left.items()}
            # Largest remainders get the places rounding left over; the lower id wins a tie.
            order = sorted(left, key=lambda vid: (-(count * left[vid] % total), vid))
            for vid in order[: count - sum(shares.values())]:
                shares[vid] += 1
            for vid, places in shares.items():
                if places:
                    self.proposal.allocations[(self.site.id, vid, day)] = places
                    left[vid] -= places
        for vid, people in left.items():
            if people:
                self.proposal.unplanned[vid] = people

    # The problems.

    def _problem(self, kind, message, **kwargs):
        self.proposal.problems.append(Problem(kind, message, site_id=self.site.id, **kwargs))

    def _report_input_problems(self):
        over = {day: self.taken[day] - self.capacity[day] for day in self.days if self.taken[day] > self.capacity[day]}
        for first_day, last_day, _value in _runs([(day, True) for day in over]):
            most = max(places for day, places in over.items() if first_day <= day <= last_day)
            self._problem(
                Problem.OVERBOOKED,
                _(
                    "%(site)s on %(days)s: existing bookings are up to %(over)s above capacity; "
                    "no first doses are planned."
                )
                % {"site": self.site.name, "days": _span(first_day, last_day), "over": _n(most)},
                first_day=first_day,
                last_day=last_day,
            )
        floor = self.plan.daily_floor
        for first_day, last_day, value in _runs(
            [(day, self.capacity[day]) for day in self.days if self.capacity[day] < floor]
        ):
            self._problem(
                Problem.CAPACITY_BELOW_FLOOR,
                _("%(site)s on %(days)s: capacity of %(capacity)s a day is below the floor of %(floor)s.")
                % {
                    "site": self.site.name,
                    "days": _span(first_day, last_day),
                    "capacity": _n(value),
                    "floor": _n(floor),
                },
                first_day=first_day,
                last_day=last_day,
            )

    def _report_shortage(self, placed: int):
        """One problem for the site, naming each village short and how many, not one line per village."""
        short = self.people - placed
        if short <= 0:
            return  # a zero shortfall is not a problem
        villages = [
            (village, self.proposal.unplanned[village.id])
            for village in self.villages
            if self.proposal.unplanned.get(village.id, 0) > 0
        ]
        if not self.first_days:
            message = ngettext(
                "%(site)s: %(people)s person cannot get a first dose: the deadline %(deadline)s has passed "
                "(%(villages)s).",
                "%(site)s: %(people)s people cannot get a first dose: the deadline %(deadline)s has passed "
                "(%(villages)s).",
                short,
            )
            kind = Problem.DEADLINE_PASSED
        else:
            message = ngettext(
                "%(site)s: capacity is short: %(people)s person cannot get a first dose by the deadline "
                "%(deadline)s (%(villages)s).",
                "%(site)s: capacity is short: %(people)s people cannot get a first dose by the deadline "
                "%(deadline)s (%(villages)s).",
                short,
            )
            kind = Problem.SHORTAGE
        params = {
            "site": self.site.name,
            "people": _n(short),
            "deadline": self.plan.first_dose_deadline.isoformat(),
            "villages": _list(
                _("%(village)s %(people)s") % {"village": village.name, "people": _n(people)}
                for village, people in villages
            ),
        }
        self._problem(
            kind,
            message % params,
            people=short,
            villages=tuple((village.id, people) for village, people in villages),
        )

    def _report_floor(self, placed: int):
        floor = self.plan.daily_floor
        deadline = self.plan.first_dose_deadline
        everyone = placed == self.people
        below = []
        for day in self.days:
            total = self.proposal.totals[(self.site.id, day)]
            if not total.below_floor or total.capacity < floor:
                continue  # a capacity below the floor is reported once, as its own problem
            if day > deadline:
                reason = "after_deadline"
            elif everyone:
                reason = "no_people"
            else:
                reason = "no_room"
            below.append((day, reason, total.total))
        reasons = {
            "after_deadline": _("after the first-dose deadline only later doses come"),
            "no_people": ngettext(
                "only %(people)s person was left to plan at this site",
                "only %(people)s people were left to plan at this site",
                self.people,
            )
            % {"people": _n(self.people)},
            "no_room": _("first doses here would leave no room for their later doses by %(end)s")
            % {"end": self.plan.end.isoformat()},
        }
        # One line per reason, listing its runs of days, instead of one line per run.
        for reason in ("no_people", "no_room", "after_deadline"):
            days = [(day, total) for day, why, total in below if why == reason]
            if not days:
                continue
            runs = _runs([(day, True) for day, _total in days])
            lowest = min(total for _day, total in days)
            params = {
                "site": self.site.name,
                "count": len(days),
                "days": _list(_span(first_day, last_day) for first_day, last_day, _value in runs),
                "floor": _n(floor),
                "lowest": _n(lowest),
                "reason": reasons[reason],
            }
            if lowest > 0:
                message = ngettext(
                    "%(site)s: %(count)s day below the floor of %(floor)s (%(days)s; fewest %(lowest)s a day): "
                    "%(reason)s.",
                    "%(site)s: %(count)s days below the floor of %(floor)s (%(days)s; fewest %(lowest)s a day): "
                    "%(reason)s.",
                    len(days),
                )
            else:  # "fewest 0" reads as a shortfall of nothing: say the day is empty instead
                message = ngettext(
                    "%(site)s: %(count)s day below the floor of %(floor)s (%(days)s; some days nobody is "
                    "booked): %(reason)s.",
                    "%(site)s: %(count)s days below the floor of %(floor)s (%(days)s; some days nobody is "
                    "booked): %(reason)s.",
                    len(days),
                )
            self._problem(
                Problem.BELOW_FLOOR, message % params, first_day=runs[0][0], last_day=runs[-1][1], people=lowest
            )


def _days(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    return [start + datetime.timedelta(days=i) for i in range((end - start).days + 1)]


def _runs(items):
    """Group (day, value) pairs into (first day, last day, value) runs of consecutive days with one value."""
    runs = []
    for day, value in items:
        if runs and runs[-1][2] == value and runs[-1][1] + ONE_DAY == day:
            runs[-1][1] = day
        else:
            runs.append([day, day, value])
    return [tuple(run) for run in runs]


def _span(first_day: datetime.date, last_day: datetime.date) -> str:
    if first_day == last_day:
        return first_day.isoformat()
    return f"{first_day.isoformat()}–{last_day.isoformat()}"


def _list(items) -> str:
    return pgettext("list separator", ", ").join(items)


def _n(number: int) -> str:
    return f"{number:,}"
