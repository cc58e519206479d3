"""The weekly supervision report (周调度通报): its numbers, levels, ranks and snapshot."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from campaign.tests.factories import VillageFactory
from reports.models import SupervisionFinding, SupervisionThresholds, WeeklyReport
from reports.progress import progress_compute
from reports.supervision.services import (
    finding_record,
    iso_week,
    last_week_start,
    parse_iso_week,
    proposed_level,
    ranks,
    thresholds_for,
    thresholds_update,
    weekly_figures,
    weekly_report_make,
)
from reports.tests.factories import DailyProgressFactory, spring_2021_campaign, vaccinated

W15 = datetime.date(2021, 4, 12)  # Monday of 2021-W15; its Sunday 2021-04-18 is day 21 of 42: 50.0% expected
DEFAULTS = {"notice_gap": 5, "talk_gap": 10, "deduct_gap": 20}


@pytest.fixture
def campaign(db):
    return spring_2021_campaign(daily_floor_per_site=600)


def day(month, day_):
    return datetime.date(2021, month, day_)


@pytest.fixture
def week15(site_centre, site_jiangdian):
    """Five villages computed by hand (quota, people with dose 1 by Sunday 2021-04-18):

    青山 10, 6 (60%): 3 on 04-05, 1 on 03-31 with dose 2 on 04-15, 2 on 04-14, and 1 on 04-19 (after the week)
    红村 10, 4 (40%): 4 on Sunday 04-18                     -> 10 points behind: formal talk
    红河 20, 9 (45%): 9 on Monday 04-12                     -> 5 behind: notice
    徐冲 10, 4 (40%): 4 on Sunday 04-11 (the week before)  -> 10 behind: formal talk
    清水 10, 3 (30%): 3 on 04-13                            -> 20 behind: point deduction
    """
    v = {
        "青山社区": VillageFactory(site=site_centre, name="青山社区", quota=10),
        "红村社区": VillageFactory(site=site_centre, name="红村社区", quota=10),
        "红河社区": VillageFactory(site=site_jiangdian, name="红河社区", quota=20),
        "徐冲村": VillageFactory(site=site_jiangdian, name="徐冲村", quota=10),
        "清水村": VillageFactory(site=site_jiangdian, name="清水村", quota=10),
    }
    for _ in range(3):
        vaccinated(village=v["青山社区"], dose1=day(4, 5))
    vaccinated(village=v["青山社区"], dose1=day(3, 31), dose2=day(4, 15))
    for _ in range(2):
        vaccinated(village=v["青山社区"], dose1=day(4, 14))
    vaccinated(village=v["青山社区"], dose1=day(4, 19))
    for _ in range(4):
        vaccinated(village=v["红村社区"], dose1=day(4, 18))
    for _ in range(9):
        vaccinated(village=v["红河社区"], dose1=day(4, 12))
    for _ in range(4):
        vaccinated(village=v["徐冲村"], dose1=day(4, 11))
    for _ in range(3):
        vaccinated(village=v["清水村"], dose1=day(4, 13))
    # The nightly run has computed the days before the week; the report recomputes from its Monday on.
    progress_compute(campaign=site_centre.campaign)
    return v


def by_name(rows):
    return {row["name"]: row for row in rows}


# Weeks


def test_an_iso_week_is_read_as_its_monday():
    assert parse_iso_week("2021-W15") == W15
    assert parse_iso_week("2021-W01") == datetime.date(2021, 1, 4)
    assert iso_week(datetime.date(2021, 4, 18)) == "2021-W15"


@pytest.mark.parametrize("text", ["2021-15", "2021W15", "W15", "", "2021-W54", "2021-W00", "2021-W53"])
def test_a_bad_week_string_is_refused_with_a_message(text):
    with pytest.raises(ValueError, match="2021-W15|no week"):
        parse_iso_week(text)


def test_the_monday_report_is_about_the_week_before():
    assert last_week_start(datetime.date(2021, 4, 19)) == W15  # Monday
    assert last_week_start(datetime.date(2021, 4, 25)) == W15  # Sunday of the next week


# Levels at their edges


@pytest.mark.parametrize(
    ("gap", "level"),
    [
        (None, ""),
        (-12.0, ""),
        (0, ""),
        (4, ""),
        (4.9, ""),
        (5, "notice"),
        (9, "notice"),
        (9.9, "notice"),
        (10, "talk"),
        (19, "talk"),
        (19.9, "talk"),
        (20, "deduct"),
        (55.5, "deduct"),
    ],
)
def test_a_gap_is_proposed_a_level_from_each_threshold_on(gap, level):
    assert proposed_level(gap=gap, **DEFAULTS) == level


def test_the_office_thresholds_decide_the_levels_exactly_at_each_edge_and_one_below(campaign, site_centre, office):
    thresholds_update(campaign=campaign, notice_gap=3, talk_gap=6, deduct_gap=9, user=office)
    # Quota 100, 50.0% expected on Sunday: people with dose 1 -> points behind -> level.
    cases = {47: "notice", 48: "", 44: "talk", 45: "notice", 41: "deduct", 42: "talk", 50: "", 0: "deduct"}
    for dose1 in cases:
        village = VillageFactory(site=site_centre, name=f"村{dose1}", quota=100)
        if dose1:
            DailyProgressFactory(village=village, date=day(4, 14), dose1=dose1)
    figures = weekly_figures(campaign=campaign, week_start=W15, today=day(4, 19))
    villages = by_name(figures["villages"])
    assert {dose1: villages[f"村{dose1}"]["level"] for dose1 in cases} == cases
    assert villages["村47"]["gap"] == 3.0 and villages["村41"]["gap"] == 9.0
    assert figures["thresholds"] == {"notice_gap": 3, "talk_gap": 6, "deduct_gap": 9}


def test_thresholds_start_at_5_10_20_and_must_increase(campaign, office):
    assert (thresholds_for(campaign=campaign).notice_gap, campaign.supervision_thresholds.talk_gap) == (5, 10)
    assert SupervisionThresholds.objects.get().deduct_gap == 20
    for gaps in [(5, 5, 20), (0, 10, 20), (5, 20, 10)]:
        with pytest.raises(ValidationError):
            thresholds_update(campaign=campaign, notice_gap=gaps[0], talk_gap=gaps[1], deduct_gap=gaps[2], user=office)
    assert str(SupervisionThresholds.objects.get()) == "5/10/20"


def test_villages_with_the_same_percent_share_a_rank():
    assert ranks([60.0, 40.0, 45.0, 40.0, 30.0]) == [1, 3, 2, 3, 5]
    assert ranks([10.0, None, 10.0]) == [1, None, 1]


# The hand-computed week


def test_the_week_and_cumulative_numbers_match_the_hand_count(campaign, week15):
    report = weekly_report_make(campaign=campaign, week_start=W15, today=day(4, 20))
    data = WeeklyReport.objects.get(pk=report.pk).data  # as stored (JSON), not as computed
    assert (data["week"], data["week_start"], data["week_end"]) == ("2021-W15", "2021-04-12", "2021-04-18")
    assert data["expected_percent"] == 50.0
    villages = by_name(data["villages"])
    qingshan = villages["青山社区"]
    assert (qingshan["week_given"], qingshan["given"], qingshan["dose1"]) == ([2, 1], [6, 1], 6)
    assert (qingshan["completed"], qingshan["percent"], qingshan["gap"], qingshan["level"]) == (1, 60.0, -10.0, "")
    assert {name: (v["percent"], v["gap"], v["level"], v["rank"]) for name, v in villages.items()} == {
        "青山社区": (60.0, -10.0, "", 1),
        "红河社区": (45.0, 5.0, "notice", 2),
        "红村社区": (40.0, 10.0, "talk", 3),
        "徐冲村": (40.0, 10.0, "talk", 3),
        "清水村": (30.0, 20.0, "deduct", 5),
    }
    assert (villages["红村社区"]["week_given"][0], villages["徐冲村"]["week_given"][0]) == (4, 0)
    assert [v["name"] for v in data["villages"]] == ["青山社区", "红河社区", "红村社区", "徐冲村", "清水村"]
    assert data["levels"] == {"notice": 1, "talk": 2, "deduct": 1}
    assert data["totals"] == {
        "quota": 60,
        "week_given": [18, 1],
        "given": [26, 1],
        "dose1": 26,
        "completed": 1,
        "percent": 43.3,
        "gap": 6.7,
    }


def test_sites_are_counted_in_people_a_day_against_the_floor(campaign, week15, site_centre, site_jiangdian):
    data = weekly_report_make(campaign=campaign, week_start=W15, today=day(4, 20)).data
    sites = {s["id"]: s for s in data["sites"]}
    centre, jiangdian = sites[site_centre.pk], sites[site_jiangdian.pk]
    assert (data["week_days"], data["campaign_days"]) == (7, 21)
    assert (centre["week_given"], centre["week_people"], centre["week_average"]) == ([6, 1], 7, 1.0)
    assert (centre["given"], centre["people"], centre["average"]) == ([10, 1], 11, 0.5)
    assert (jiangdian["week_given"], jiangdian["week_average"], jiangdian["given"], jiangdian["average"]) == (
        [12, 0],
        1.7,
        [16, 0],
        0.8,
    )
    assert centre["below_floor"] and centre["week_below_floor"]


def test_a_week_still_running_averages_over_its_days_so_far(campaign, week15, site_jiangdian):
    data = weekly_report_make(campaign=campaign, week_start=W15, today=day(4, 14)).data
    jiangdian = next(s for s in data["sites"] if s["id"] == site_jiangdian.pk)
    assert data["week_days"] == 3  # Monday to Wednesday
    assert jiangdian["week_average"] == 4.0  # 9 on Monday + 3 on Tuesday, over 3 days


def test_a_made_report_reads_the_same_after_more_doses_until_it_is_made_again(campaign, week15):
    first = weekly_report_make(campaign=campaign, week_start=W15, today=day(4, 20))
    vaccinated(village=week15["清水村"], dose1=day(4, 16))
    assert by_name(WeeklyReport.objects.get().data["villages"])["清水村"]["dose1"] == 3

    again = weekly_report_make(campaign=campaign, week_start=W15, today=day(4, 20))
    assert WeeklyReport.objects.count() == 1 and again.pk == first.pk
    qingshui = by_name(WeeklyReport.objects.get().data["villages"])["清水村"]
    assert (qingshui["dose1"], qingshui["gap"], qingshui["level"]) == (4, 10.0, "talk")


def test_a_report_keeps_the_thresholds_it_was_made_with(campaign, week15, office):
    weekly_report_make(campaign=campaign, week_start=W15)
    thresholds_update(campaign=campaign, notice_gap=1, talk_gap=2, deduct_gap=3, user=office)
    data = WeeklyReport.objects.get().data
    assert data["thresholds"] == DEFAULTS
    assert by_name(data["villages"])["红河社区"]["level"] == "notice"


def test_a_week_must_start_on_a_monday(campaign):
    with pytest.raises(ValueError, match="Monday"):
        weekly_report_make(campaign=campaign, week_start=day(4, 13))


def test_a_week_without_doses_is_a_report_of_zeros(campaign, qingshan):
    data = weekly_report_make(campaign=campaign, week_start=datetime.date(2021, 6, 28)).data
    assert data["villages"][0]["dose1"] == 0 and data["expected_percent"] == 100.0
    assert data["villages"][0]["level"] == "deduct"


# Findings


def test_the_supervision_group_records_a_point_deduction_with_points(campaign, qingshan, supervisor):
    finding = finding_record(
        campaign=campaign,
        village=qingshan,
        week_start=W15,
        level="deduct",
        points=2,
        text="干部未到岗",
        user=supervisor,
    )
    assert (finding.level, finding.points_deducted, finding.recorded_by) == ("deduct", 2, supervisor)


@pytest.mark.parametrize(("level", "points"), [("notice", 2), ("", 1), ("talk", 3), ("deduct", 0)])
def test_points_come_only_with_a_point_deduction(campaign, qingshan, supervisor, level, points):
    with pytest.raises(ValidationError) as error:
        finding_record(
            campaign=campaign, village=qingshan, week_start=W15, level=level, points=points, text="x", user=supervisor
        )
    assert "points_deducted" in error.value.message_dict


def test_the_database_refuses_points_without_a_deduction(campaign, qingshan, supervisor):
    with pytest.raises(IntegrityError):
        SupervisionFinding.objects.create(
            campaign=campaign, village=qingshan, week_start=W15, level="talk", points_deducted=2, text="x",
            recorded_by=supervisor,
        )  # fmt: skip
