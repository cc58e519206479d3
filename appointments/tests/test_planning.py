"""The weekly plan's arithmetic: properties over seeded random inputs, and the impossible cases."""

import datetime
import random
from collections import defaultdict

import pytest
from django.utils import translation

from appointments.planning.proposal import PlanInput, Problem, SiteInput, VillageInput, propose_first_doses

START = datetime.date(2026, 9, 1)
END = START + datetime.timedelta(days=82)
DEADLINE = END - datetime.timedelta(days=15)
SEEDS = range(40)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _days(start, end):
    return [start + datetime.timedelta(days=i) for i in range((end - start).days + 1)]


def plan_input(
    *, start=START, end=END, deadline=DEADLINE, interval=14, floor=600, doses=2, intervals=None, sites, villages
):
    return PlanInput(
        start=start,
        end=end,
        first_dose_deadline=deadline,
        dose_intervals=tuple(intervals if intervals is not None else [interval] * (doses - 1)),
        daily_floor=floor,
        sites=sites,
        villages=villages,
    )


def random_input(seed, *, with_bookings=True, quota_scale=1.0):
    """Three sites of 600-1,200 a day with some days already partly booked, and 2-8 villages each."""
    rng = random.Random(seed)
    start = START + datetime.timedelta(days=rng.randrange(0, 40))
    sites, villages = [], []
    for s in range(3):
        capacity = rng.randrange(600, 1201, 50)
        exceptions = {}
        taken = {}
        for day in _days(start, END):
            if rng.random() < 0.1:
                exceptions[day] = rng.randrange(300, 1300, 50)
            if with_bookings and rng.random() < 0.5:
                taken[day] = rng.randrange(0, exceptions.get(day, capacity) + 1)
        sites.append(
            SiteInput(id=s + 1, name=f"site {s + 1}", daily_capacity=capacity, capacity=exceptions, taken=taken)
        )
        for v in range(rng.randrange(2, 9)):
            remaining = int(rng.randrange(0, 4000) * quota_scale)
            villages.append(
                VillageInput(id=100 + 10 * s + v, name=f"village {s}-{v}", site_id=s + 1, remaining=remaining)
            )
    rng.shuffle(villages)
    return plan_input(
        start=start,
        interval=rng.choice([14, 14, 21, 28]),
        floor=rng.choice([0, 400, 600]),
        sites=sites,
        villages=villages,
    )


def test_no_day_goes_above_capacity_counting_bookings_first_doses_and_reserved_second_doses():
    for seed in SEEDS:
        plan = random_input(seed, quota_scale=3)  # more people than fit, so capacity is the limit
        proposal = propose_first_doses(plan)
        for site in plan.sites:
            for day in _days(plan.start, plan.end):
                total = proposal.totals[(site.id, day)]
                assert total.taken + total.first + total.reserved <= site.capacity_on(day), (seed, site.id, day)
                assert total.free >= 0


def test_the_allocations_add_up_to_each_days_first_doses():
    for seed in SEEDS:
        plan = random_input(seed)
        proposal = propose_first_doses(plan)
        first = defaultdict(int)
        for (site_id, _village_id, day), places in proposal.allocations.items():
            assert places > 0
            first[(site_id, day)] += places
        for key, total in proposal.totals.items():
            assert total.first == first.get(key, 0)


def test_every_first_dose_falls_between_the_start_and_the_deadline():
    for seed in SEEDS:
        plan = random_input(seed)
        for _site, _village, day in propose_first_doses(plan).allocations:
            assert plan.start <= day <= plan.first_dose_deadline


def test_every_village_gets_its_whole_remaining_quota_when_capacity_suffices():
    for seed in SEEDS:
        plan = random_input(seed, with_bookings=False, quota_scale=0.5)
        proposal = propose_first_doses(plan)
        for village in plan.villages:
            assert proposal.village_total(village.id) == village.remaining, (seed, village)
        assert not proposal.unplanned
        assert not [p for p in proposal.problems if p.kind == Problem.SHORTAGE]


def test_the_deadline_is_met_whenever_half_of_each_day_and_its_return_day_would_hold_everyone():
    # A sufficient condition that a planner can be held to: give each first-dose day d half the free places
    # of d and of d + interval; those pairs never collide. If that holds everyone, everyone must be planned.
    checked = 0
    for seed in range(120):
        plan = random_input(seed)
        proposal = propose_first_doses(plan)
        for site in plan.sites:
            free = {day: max(site.capacity_on(day) - site.taken.get(day, 0), 0) for day in _days(plan.start, plan.end)}
            interval = datetime.timedelta(days=plan.dose_intervals[0])
            bound = sum(
                min(free[day], free[day + interval]) // 2
                for day in _days(plan.start, plan.first_dose_deadline)
                if day + interval <= plan.end
            )
            people = sum(v.remaining for v in plan.villages if v.site_id == site.id)
            if people > bound:
                continue
            checked += 1
            placed = sum(p for (s, _v, _d), p in proposal.allocations.items() if s == site.id)
            assert placed == people, (seed, site.id)
    assert checked > 40


def test_second_doses_are_reserved_for_every_first_dose_at_the_interval_and_by_the_end_date():
    for seed in SEEDS:
        plan = random_input(seed, quota_scale=2)
        proposal = propose_first_doses(plan)
        interval = plan.dose_intervals[0]
        for site in plan.sites:
            days = _days(plan.start, plan.end)
            first = [proposal.totals[(site.id, day)].first for day in days]
            second = [proposal.reserved.get((site.id, day), 0) for day in days]
            assert sum(first) == sum(second)
            # Each second dose needs a first dose at least `interval` days before it (a matching exists):
            # by any day, no more second doses than first doses given `interval` days earlier.
            for i in range(len(days)):
                assert sum(second[: i + 1]) <= sum(first[: max(i + 1 - interval, 0)]), (seed, site.id, days[i])
        assert all(day <= plan.end for (_site, day) in proposal.reserved)


def test_a_site_reaches_the_floor_every_first_dose_day_when_its_quota_allows():
    site = SiteInput(id=1, name="江店体育馆接种点", daily_capacity=1500)
    days = _days(START, DEADLINE)
    villages = [
        VillageInput(id=1, name="红河社区", site_id=1, remaining=20000),
        VillageInput(id=2, name="徐冲村", site_id=1, remaining=12000),
    ]
    proposal = propose_first_doses(plan_input(sites=[site], villages=villages))
    assert not proposal.unplanned
    assert all(proposal.totals[(1, day)].total >= 600 for day in days)


def test_floor_is_reached_on_random_inputs_where_quota_and_capacity_allow():
    for seed in SEEDS:
        rng = random.Random(seed)
        capacity = rng.randrange(1300, 2000, 50)
        floor = rng.randrange(300, 650, 50)
        start = START + datetime.timedelta(days=rng.randrange(0, 40))
        first_days = _days(start, DEADLINE)
        people = floor * len(first_days) + rng.randrange(0, 5000)
        site = SiteInput(id=1, name="site", daily_capacity=capacity)
        villages = [
            VillageInput(id=1, name="a", site_id=1, remaining=people // 3),
            VillageInput(id=2, name="b", site_id=1, remaining=people - people // 3),
        ]
        proposal = propose_first_doses(plan_input(start=start, floor=floor, sites=[site], villages=villages))
        assert not proposal.unplanned
        low = [day for day in first_days if proposal.totals[(1, day)].total < floor]
        assert not low, (seed, low)


def test_a_small_quota_reaches_the_floor_on_the_first_days_and_reports_the_rest():
    site = SiteInput(id=1, name="江店体育馆接种点", daily_capacity=800)
    villages = [VillageInput(id=1, name="红河社区", site_id=1, remaining=6420)]
    proposal = propose_first_doses(plan_input(sites=[site], villages=villages))
    firsts = [proposal.totals[(1, day)].first for day in _days(START, DEADLINE)]
    assert firsts[:10] == [600] * 10  # ten days at the floor, not 60 days at 107
    assert firsts[10] == 420
    assert sum(firsts) == 6420
    floor_problems = [p for p in proposal.problems if p.kind == Problem.BELOW_FLOOR]
    first_gap = next(p for p in floor_problems if p.first_day == START + datetime.timedelta(days=10))
    assert "only 6,420 people were left to plan at this site" in first_gap.message
    assert "江店体育馆接种点" in first_gap.message and "floor of 600" in first_gap.message


def test_a_quota_is_spread_at_an_even_rate_not_finished_in_a_few_days_at_full_capacity():
    site = SiteInput(id=1, name="卫生服务中心", daily_capacity=2000)
    villages = [
        VillageInput(id=1, name="青山社区", site_id=1, remaining=30000),
        VillageInput(id=2, name="红村社区", site_id=1, remaining=15000),
    ]
    proposal = propose_first_doses(plan_input(sites=[site], villages=villages))
    first_days = _days(START, DEADLINE)
    firsts = [proposal.totals[(1, day)].first for day in first_days]
    assert sum(firsts) == 45000
    rate = 45000 / len(first_days)
    assert max(firsts) <= rate * 1.05 + 1 and min(firsts) >= rate * 0.9
    # Each village comes every day, in proportion to what it has left.
    for day in first_days:
        a, b = proposal.allocations[(1, 1, day)], proposal.allocations[(1, 2, day)]
        assert abs(a - 2 * b) <= 2


def test_first_doses_leave_room_on_the_days_second_doses_come_back():
    site = SiteInput(id=1, name="镇卫生院", daily_capacity=800)
    villages = [VillageInput(id=1, name="江店社区", site_id=1, remaining=14000)]
    proposal = propose_first_doses(plan_input(sites=[site], villages=villages))
    for day in _days(START, END):
        total = proposal.totals[(1, day)]
        assert total.first + total.reserved <= 800
    day15 = START + datetime.timedelta(days=14)
    assert proposal.totals[(1, day15)].reserved > 0
    assert proposal.totals[(1, day15)].first < proposal.totals[(1, START)].first


def test_capacity_short_is_reported_once_per_site_naming_each_village_with_its_numbers():
    site = SiteInput(id=1, name="江店体育馆接种点", daily_capacity=800)
    villages = [
        VillageInput(id=1, name="红河社区", site_id=1, remaining=40000),
        VillageInput(id=2, name="徐冲村", site_id=1, remaining=10000),
    ]
    proposal = propose_first_doses(plan_input(sites=[site], villages=villages))
    placed = sum(proposal.allocations.values())
    assert 0 < placed < 50000
    [short] = [p for p in proposal.problems if p.kind == Problem.SHORTAGE]
    assert short.site_id == 1 and short.people == 50000 - placed == sum(proposal.unplanned.values())
    assert dict(short.villages) == proposal.unplanned
    assert short.message.startswith(
        f"江店体育馆接种点: capacity is short: {50000 - placed:,} people cannot get a first dose by the deadline"
    )
    assert f"红河社区 {proposal.unplanned[1]:,}, 徐冲村 {proposal.unplanned[2]:,}" in short.message
    assert not [p for p in proposal.problems if p.kind == Problem.TOWN_SHORTAGE]  # one site: no town line


def test_a_town_short_at_several_sites_gets_one_town_line_then_one_line_per_site():
    sites = [SiteInput(id=i, name=f"site {i}", daily_capacity=800) for i in (1, 2, 3)]
    villages = [
        VillageInput(id=10 * i + j, name=f"v{i}{j}", site_id=i, remaining=30000) for i in (1, 2, 3) for j in range(8)
    ]
    proposal = propose_first_doses(plan_input(sites=sites, villages=villages))
    kinds = [p.kind for p in proposal.problems]
    assert kinds.count(Problem.SHORTAGE) == 3  # not 24 lines repeating each site's gap
    assert kinds[0] == Problem.TOWN_SHORTAGE
    assert proposal.problems[0].people == sum(proposal.unplanned.values())
    assert proposal.problems[0].message.startswith(f"Town-wide: {sum(proposal.unplanned.values()):,} people")


def test_no_problem_ever_reports_a_shortfall_or_a_lowest_day_of_zero():
    for seed in SEEDS:
        for problem in propose_first_doses(random_input(seed)).problems:
            assert " 0 people" not in problem.message and "fewest 0 " not in problem.message, (seed, problem)
            if problem.kind in (Problem.SHORTAGE, Problem.TOWN_SHORTAGE, Problem.DEADLINE_PASSED):
                assert problem.people > 0


def test_days_below_the_floor_for_one_reason_are_one_line_per_site():
    site = SiteInput(id=1, name="卫生服务中心", daily_capacity=900)
    villages = [VillageInput(id=1, name="青山社区", site_id=1, remaining=80000)]
    proposal = propose_first_doses(plan_input(sites=[site], villages=villages))
    after = [p for p in proposal.problems if p.kind == Problem.BELOW_FLOOR and "only later doses" in p.message]
    assert len(after) == 1
    assert after[0].first_day > DEADLINE


def test_a_deadline_already_past_plans_nobody_and_says_why():
    site = SiteInput(id=1, name="卫生服务中心", daily_capacity=900)
    villages = [VillageInput(id=1, name="青山社区", site_id=1, remaining=1200)]
    proposal = propose_first_doses(
        plan_input(start=DEADLINE + datetime.timedelta(days=1), sites=[site], villages=villages)
    )
    assert proposal.allocations == {}
    assert proposal.unplanned == {1: 1200}
    [problem] = [p for p in proposal.problems if p.kind == Problem.DEADLINE_PASSED]
    assert problem.message == (
        f"卫生服务中心: 1,200 people cannot get a first dose: the deadline {DEADLINE.isoformat()} has passed "
        "(青山社区 1,200)."
    )


def test_a_campaign_already_over_reports_the_people_left():
    site = SiteInput(id=1, name="卫生服务中心", daily_capacity=900)
    villages = [VillageInput(id=1, name="青山社区", site_id=1, remaining=30)]
    proposal = propose_first_doses(plan_input(start=END + datetime.timedelta(days=1), sites=[site], villages=villages))
    assert [p.kind for p in proposal.problems] == [Problem.NO_DAYS]
    assert proposal.unplanned == {1: 30}


def test_a_capacity_below_the_floor_is_reported_once_for_the_days_it_lasts():
    site = SiteInput(
        id=1,
        name="江店体育馆接种点",
        daily_capacity=800,
        capacity={START + datetime.timedelta(days=i): 500 for i in range(3, 6)},
    )
    villages = [VillageInput(id=1, name="红河社区", site_id=1, remaining=30000)]
    proposal = propose_first_doses(plan_input(sites=[site], villages=villages))
    [problem] = [p for p in proposal.problems if p.kind == Problem.CAPACITY_BELOW_FLOOR]
    assert (problem.first_day, problem.last_day) == (
        START + datetime.timedelta(days=3),
        START + datetime.timedelta(days=5),
    )
    assert "capacity of 500 a day is below the floor of 600" in problem.message
    for i in range(3, 6):
        assert proposal.totals[(1, START + datetime.timedelta(days=i))].total <= 500


def test_existing_bookings_above_capacity_are_reported_and_nothing_is_added():
    day = START + datetime.timedelta(days=2)
    site = SiteInput(id=1, name="镇卫生院", daily_capacity=800, taken={day: 850})
    villages = [VillageInput(id=1, name="三湾村", site_id=1, remaining=3000)]
    proposal = propose_first_doses(plan_input(sites=[site], villages=villages))
    assert proposal.totals[(1, day)].first == 0
    assert any(p.kind == Problem.OVERBOOKED and p.first_day == day for p in proposal.problems)


def test_a_village_without_a_known_site_is_reported_not_dropped():
    site = SiteInput(id=1, name="镇卫生院", daily_capacity=800)
    villages = [VillageInput(id=7, name="马店村", site_id=99, remaining=250)]
    proposal = propose_first_doses(plan_input(sites=[site], villages=villages))
    assert proposal.unplanned == {7: 250}
    assert [p.kind for p in proposal.problems if p.village_id == 7] == [Problem.UNKNOWN_SITE]


def test_no_room_for_second_doses_before_the_end_is_a_reason_not_an_error():
    # A deadline only five days before the end: first doses there would have no day for a second dose.
    site = SiteInput(id=1, name="镇卫生院", daily_capacity=800)
    villages = [VillageInput(id=1, name="三湾村", site_id=1, remaining=60000)]
    proposal = propose_first_doses(
        plan_input(deadline=END - datetime.timedelta(days=5), sites=[site], villages=villages)
    )
    late = [day for (_s, _v, day) in proposal.allocations if day > END - datetime.timedelta(days=14)]
    assert late == []
    assert any(p.kind == Problem.SHORTAGE for p in proposal.problems)
    assert any("no room for their later doses" in p.message for p in proposal.problems)


def test_a_one_dose_campaign_reserves_nothing_and_a_three_dose_one_reserves_two_places_each():
    site = SiteInput(id=1, name="卫生服务中心", daily_capacity=900)
    villages = [VillageInput(id=1, name="青山社区", site_id=1, remaining=5000)]
    one = propose_first_doses(plan_input(doses=1, sites=[site], villages=villages))
    assert one.reserved == {} and one.village_total(1) == 5000
    three = propose_first_doses(plan_input(doses=3, interval=10, sites=[site], villages=villages))
    assert three.village_total(1) == 5000
    assert sum(three.reserved.values()) == 10000


def test_the_same_input_gives_the_same_proposal_whatever_the_order():
    for seed in range(10):
        plan = random_input(seed)
        again = plan_input(
            start=plan.start,
            interval=plan.dose_intervals[0],
            floor=plan.daily_floor,
            sites=list(reversed(plan.sites)),
            villages=sorted(plan.villages, key=lambda v: -v.id),
        )
        first, second = propose_first_doses(plan), propose_first_doses(again)
        assert first == second
        assert [p.message for p in first.problems] == [p.message for p in second.problems]


def test_problems_speak_chinese_for_the_office():
    site = SiteInput(id=1, name="江店体育馆接种点", daily_capacity=800)
    villages = [VillageInput(id=1, name="红河社区", site_id=1, remaining=80000)]
    with translation.override("zh-hans"):
        proposal = propose_first_doses(plan_input(sites=[site], villages=villages))
    short = next(p for p in proposal.problems if p.kind == Problem.SHORTAGE)
    assert short.message.startswith("江店体育馆接种点：")
    assert "截止" in short.message and "红河社区" in short.message


def test_a_three_dose_campaign_reserves_each_later_dose_at_its_own_interval():
    site = SiteInput(id=1, name="卫生服务中心", daily_capacity=900)
    villages = [VillageInput(id=1, name="青山社区", site_id=1, remaining=300)]
    plan = plan_input(intervals=[28, 20], floor=0, deadline=START, sites=[site], villages=villages)
    proposal = propose_first_doses(plan)
    assert proposal.village_total(1) == 300
    # Everyone on the first day: dose 2 four weeks later, dose 3 twenty days after that.
    assert proposal.reserved == {
        (1, START + datetime.timedelta(days=28)): 300,
        (1, START + datetime.timedelta(days=48)): 300,
    }
