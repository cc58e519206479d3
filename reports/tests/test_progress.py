"""Daily quota progress against a small scenario counted by hand."""

import datetime

import pytest
from django.utils import timezone

from appointments.models import Appointment
from appointments.tests.factories import AppointmentFactory
from reports.models import COUNTS, CadreProgress, DailyProgress, VillageProgress
from reports.progress import progress_compute
from residents.models import Resident
from residents.tests.factories import ResidentFactory
from sites.models import AdverseEvent, PreScreening
from sites.tests.factories import VaccinationFactory

pytestmark = pytest.mark.django_db


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    """A local (Asia/Shanghai) time on a day."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def rows(campaign) -> dict:
    """The progress rows as {(date, site name, village name): {count: value}} without zero counts (doses: by dose)."""
    return {
        (r.date, r.site.short_name, r.village.name): {f: getattr(r, f) for f in (*COUNTS, "doses") if getattr(r, f)}
        for r in DailyProgress.objects.filter(campaign=campaign).select_related("site", "village")
    }


def given(resident, dose, day, hour=10, **extra):
    appointment = AppointmentFactory(
        resident=resident, dose_number=dose, date=day, status=Appointment.Status.VACCINATED, **extra
    )
    return VaccinationFactory(resident=resident, dose_number=dose, appointment=appointment, vaccinated_at=at(day, hour))


@pytest.fixture
def scenario(campaign, qingshan, honghe, cadre_qingshan, site_team_jiangdian):
    """Five residents over three days; the comments give what each adds to the counts."""
    d1 = campaign.start_date + datetime.timedelta(days=2)
    registered = at(campaign.start_date - datetime.timedelta(days=3), 9)
    make = lambda village, **kw: ResidentFactory(village=village, registered_at=registered, **kw)  # noqa: E731
    a = make(qingshan, responsible_cadre=cadre_qingshan)
    b = make(qingshan, responsible_cadre=cadre_qingshan)
    c = make(qingshan)
    d = make(honghe)
    make(honghe, status=Resident.Status.REFUSED, status_note="不愿意")  # e: registered, never booked

    # a: dose 1 on d1 with a mild reaction, dose 2 fifteen days later.
    vaccination = given(a, 1, d1)
    AdverseEvent.objects.create(
        vaccination=vaccination,
        onset=at(d1, 10, 20),
        symptoms="接种部位红肿",
        severity="mild",
        reported_by=site_team_jiangdian,
    )
    given(a, 2, d1 + datetime.timedelta(days=15))
    # b: missed d1, came the day after; dose 2 still booked for d1 + 15.
    AppointmentFactory(resident=b, date=d1, status=Appointment.Status.NO_SHOW)
    given(b, 1, d1 + datetime.timedelta(days=1))
    AppointmentFactory(resident=b, dose_number=2, date=d1 + datetime.timedelta(days=15))
    # c: arrived on d1 with a fever and was deferred.
    arrival = AppointmentFactory(resident=c, date=d1, status=Appointment.Status.ARRIVED)
    PreScreening.objects.create(
        appointment=arrival,
        fever=True,
        temperature="37.8",
        outcome=PreScreening.Outcome.DEFERRED,
        reasons=["fever"],
        screened_by=site_team_jiangdian,
        screened_at=at(d1, 9, 30),
    )
    Resident.objects.filter(pk=c.pk).update(status=Resident.Status.DEFERRED, status_reasons=["fever"])
    # d: a cancelled booking on d1 (counts nowhere), then a walk-in dose 1 on d1 + 1.
    AppointmentFactory(resident=d, date=d1, status=Appointment.Status.CANCELLED, cancel_reason="外出")
    given(d, 1, d1 + datetime.timedelta(days=1), walk_in=True)
    return d1


def test_daily_progress_matches_the_hand_count(campaign, scenario):
    d1 = scenario
    progress_compute(campaign=campaign)

    day = lambda n: d1 + datetime.timedelta(days=n)  # noqa: E731
    assert rows(campaign) == {
        (campaign.start_date - datetime.timedelta(days=3), "卫生服务中心", "青山社区"): {"registered": 3},
        (campaign.start_date - datetime.timedelta(days=3), "江店体育馆", "红河社区"): {"registered": 2},
        # a given, b no-show, c arrived and deferred; d's cancelled booking is not counted.
        (d1, "卫生服务中心", "青山社区"): {
            "booked": 3,
            "arrived": 2,
            "dose1": 1,
            "doses": {"1": 1},
            "no_shows": 1,
            "deferrals": 1,
            "adverse_events": 1,
        },
        (day(1), "卫生服务中心", "青山社区"): {"booked": 1, "arrived": 1, "dose1": 1, "doses": {"1": 1}},
        (day(1), "江店体育馆", "红河社区"): {"booked": 1, "arrived": 1, "dose1": 1, "doses": {"1": 1}},
        # a's dose 2 completes the course; b's dose 2 is still booked.
        (day(15), "卫生服务中心", "青山社区"): {"booked": 2, "arrived": 1, "doses": {"2": 1}, "completed": 1},
    }


def test_village_and_cadre_totals_match_the_hand_count(campaign, scenario, qingshan, honghe, cadre_qingshan):
    progress_compute(campaign=campaign)

    villages = {
        v.village_id: (v.registered, v.eligible, v.booked, v.dose1, v.completed)
        for v in VillageProgress.objects.filter(campaign=campaign)
    }
    # Qingshan: c is deferred but still holds an open dose-1 booking (arrived), so three are booked.
    assert villages == {qingshan.pk: (3, 2, 3, 2, 1), honghe.pk: (2, 1, 1, 1, 0)}
    cadre = CadreProgress.objects.get(campaign=campaign)
    assert (cadre.cadre, cadre.village, cadre.assigned, cadre.eligible, cadre.booked, cadre.dose1, cadre.completed) == (
        cadre_qingshan,
        qingshan,
        2,
        2,
        2,
        2,
        1,
    )


def test_a_rerun_writes_the_same_rows(campaign, scenario):
    progress_compute(campaign=campaign)
    first = rows(campaign)
    progress_compute(campaign=campaign)
    assert rows(campaign) == first
    assert DailyProgress.objects.filter(campaign=campaign).count() == len(first)
    assert VillageProgress.objects.filter(campaign=campaign).count() == 2


def test_recomputing_recent_days_agrees_with_a_full_run(campaign, scenario):
    d1 = scenario
    progress_compute(campaign=campaign)
    full = rows(campaign)
    progress_compute(campaign=campaign, since=d1 + datetime.timedelta(days=1))
    assert rows(campaign) == full


def test_recomputing_picks_up_a_cancelled_booking(campaign, scenario):
    d1 = scenario
    progress_compute(campaign=campaign)
    Appointment.objects.filter(dose_number=2, status=Appointment.Status.BOOKED).update(
        status=Appointment.Status.CANCELLED
    )
    progress_compute(campaign=campaign, since=d1 + datetime.timedelta(days=15))
    assert rows(campaign)[(d1 + datetime.timedelta(days=15), "卫生服务中心", "青山社区")]["booked"] == 1


def test_a_dose_just_after_midnight_counts_on_the_local_day(campaign, qingshan):
    day = campaign.start_date + datetime.timedelta(days=5)
    late = ResidentFactory(village=qingshan)
    early = ResidentFactory(village=qingshan)
    # 23:50 and 00:10 Beijing time are 15:50 and 16:10 UTC of the same UTC day.
    VaccinationFactory(resident=late, vaccinated_at=at(day, 23, 50))
    VaccinationFactory(resident=early, vaccinated_at=at(day + datetime.timedelta(days=1), 0, 10))
    progress_compute(campaign=campaign)
    dose1 = {r.date: r.dose1 for r in DailyProgress.objects.filter(dose1__gt=0)}
    assert dose1 == {day: 1, day + datetime.timedelta(days=1): 1}


def test_another_campaigns_records_are_not_counted(campaign, qingshan):
    from campaign.tests.factories import CampaignFactory, SiteFactory, VillageFactory

    other = CampaignFactory(is_open=False)
    elsewhere = VillageFactory(site=SiteFactory(campaign=other), campaign=other)
    VaccinationFactory(resident=ResidentFactory(village=elsewhere))
    VaccinationFactory(resident=ResidentFactory(village=qingshan))
    progress_compute(campaign=campaign)
    assert sum(r.dose1 for r in DailyProgress.objects.filter(campaign=campaign)) == 1
    assert not DailyProgress.objects.exclude(campaign=campaign).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("command", ["compute_progress", "weekly_report", "upward_report"])
def test_a_command_without_a_current_campaign_says_so(command, tmp_path):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="No campaign is open"):
        call_command(command, *(["-o", str(tmp_path / "x.xlsx")] if command == "upward_report" else []))
