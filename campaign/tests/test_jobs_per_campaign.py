"""Periodic jobs with two campaigns open at once: each campaign's work is its own (campaign.periodic)."""

import datetime

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from appointments.messaging.models import Kind, Message
from appointments.models import Appointment
from appointments.tasks import mark_no_shows_task, queue_reminders_task
from appointments.tests.factories import AppointmentFactory
from campaign.management.current import command_campaign
from campaign.tasks import ping
from campaign.tests.factories import CampaignFactory, SiteFactory, VillageFactory
from reports import tasks as report_tasks
from reports.models import DailyProgress, VillageProgress, WeeklyReport
from reports.supervision.services import last_week_start
from residents.models import Resident
from residents.tests.factories import ResidentFactory
from sites.tests.factories import VaccinationFactory

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


@pytest.fixture
def covid(qingshan):
    return qingshan.campaign


@pytest.fixture
def measles(db):
    """A one-dose children's campaign open beside the COVID one, with its own site and village."""
    campaign = CampaignFactory(name="麻疹疫苗查漏补种", vaccine="麻疹减毒活疫苗", doses=1, min_age=0, max_age=6)
    site = SiteFactory(campaign=campaign, name="梅山镇卫生院预防接种门诊", short_name="卫生院门诊")
    VillageFactory(site=site, name="青山社区", population=900, quota=300)
    return campaign


def resident_of(campaign, **kwargs):
    return ResidentFactory(village=campaign.villages.get(), **kwargs)


def test_the_ping_names_each_open_campaign_and_no_closed_one(covid, measles):
    CampaignFactory(name="去年的活动", is_open=False)
    assert {row["campaign"] for row in ping.delay().get(timeout=5)["campaigns"]} == {covid.name, measles.name}


def test_progress_is_computed_for_each_open_campaign_with_its_own_rows(covid, measles):
    for _ in range(3):
        VaccinationFactory(resident=resident_of(covid))
    VaccinationFactory(resident=resident_of(measles, phone="13900001111"))
    closed = CampaignFactory(is_open=False)
    VaccinationFactory(resident=ResidentFactory(village=VillageFactory(site=SiteFactory(campaign=closed))))

    result = report_tasks.compute_progress.delay(full=True).get(timeout=10)

    assert set(result) == {str(covid.pk), str(measles.pk)}
    assert VillageProgress.objects.get(campaign=covid).dose1 == 3
    assert VillageProgress.objects.get(campaign=measles).dose1 == 1
    assert not VillageProgress.objects.filter(campaign=closed).exists()
    assert {row.village.campaign_id for row in DailyProgress.objects.filter(campaign=measles)} == {measles.pk}


def test_a_campaign_whose_progress_fails_does_not_keep_the_other_from_being_computed(covid, measles, monkeypatch):
    from reports import progress

    VaccinationFactory(resident=resident_of(covid))
    VaccinationFactory(resident=resident_of(measles))
    real = progress.progress_compute

    def broken_for_covid(*, campaign, **kwargs):
        if campaign.pk == covid.pk:
            raise RuntimeError("the COVID campaign's data is broken")
        return real(campaign=campaign, **kwargs)

    monkeypatch.setattr(progress, "progress_compute", broken_for_covid)
    with pytest.raises(RuntimeError):
        report_tasks.compute_progress.delay(full=True).get(timeout=10)
    assert VillageProgress.objects.get(campaign=measles).dose1 == 1
    assert not VillageProgress.objects.filter(campaign=covid).exists()


def test_the_weekly_report_is_made_for_each_open_campaign_of_its_own_villages(covid, measles):
    week = last_week_start(timezone.localdate())
    VaccinationFactory(resident=resident_of(measles))
    CampaignFactory(name="下月的活动", start_date=timezone.localdate() + 30 * DAY)  # not begun: no report

    result = report_tasks.weekly_report.delay().get(timeout=10)

    assert set(result) == {str(covid.pk), str(measles.pk)}
    for campaign in (covid, measles):
        report = WeeklyReport.objects.get(campaign=campaign, week_start=week)
        assert report.data["campaign"] == campaign.name
        assert [v["name"] for v in report.data["villages"]] == [campaign.villages.get().name]
    assert WeeklyReport.objects.count() == 2


def test_reminders_are_queued_for_each_campaigns_bookings_in_that_campaign(covid, measles):
    tomorrow = timezone.localdate() + DAY
    adult = AppointmentFactory(resident=resident_of(covid, phone="13700000001"), date=tomorrow)
    child = AppointmentFactory(resident=resident_of(measles, phone="13700000002"), date=tomorrow)

    assert queue_reminders_task.delay(campaign_id=measles.pk).get() == 1
    assert list(Message.objects.values_list("appointment", "campaign")) == [(child.pk, measles.pk)]
    assert queue_reminders_task.delay().get() == 1  # the COVID one; the measles one was queued before
    sent = dict(Message.objects.filter(kind=Kind.REMINDER).values_list("appointment", "campaign"))
    assert sent == {adult.pk: covid.pk, child.pk: measles.pk}
    by_campaign = {m.campaign_id: m.params["dose"] for m in Message.objects.all()}
    assert by_campaign == {covid.pk: "第1剂", measles.pk: "疫苗"}


def test_no_shows_are_marked_per_campaign(covid, measles):
    today = timezone.localdate()
    adult = AppointmentFactory(resident=resident_of(covid), date=today)
    child = AppointmentFactory(resident=resident_of(measles), date=today)

    assert mark_no_shows_task.delay(campaign_id=covid.pk).get() == 1
    adult.refresh_from_db()
    child.refresh_from_db()
    assert (adult.status, child.status) == (Appointment.Status.NO_SHOW, Appointment.Status.BOOKED)
    assert mark_no_shows_task.delay().get() == 1
    child.refresh_from_db()
    assert child.status == Appointment.Status.NO_SHOW


def test_a_closed_campaign_gets_no_periodic_work(covid):
    covid.is_open = False
    covid.save(update_fields=["is_open"])
    AppointmentFactory(resident=resident_of(covid), date=timezone.localdate())
    assert mark_no_shows_task.delay().get() == 0
    assert report_tasks.compute_progress.delay().get() == {}


# Commands: --campaign by name or id, the default campaign without it -------------------------------


def test_a_command_takes_the_campaign_by_name_or_id_and_defaults_to_the_one_running_longest(covid, measles):
    assert command_campaign(measles.name) == measles
    assert command_campaign(str(covid.pk)) == covid
    longest = min((covid, measles), key=lambda c: (c.start_date, c.pk))
    assert command_campaign() == longest
    with pytest.raises(CommandError, match="No campaign '没有的活动'"):
        command_campaign("没有的活动")


def test_compute_progress_computes_the_campaign_named(covid, measles, capsys):
    VaccinationFactory(resident=resident_of(measles))
    call_command("compute_progress", "--campaign", measles.name)
    assert measles.name in capsys.readouterr().out
    assert VillageProgress.objects.get(campaign=measles).dose1 == 1
    assert not VillageProgress.objects.filter(campaign=covid).exists()


def test_import_residents_imports_into_the_campaign_named(covid, measles, tmp_path, capsys):
    from residents.tests.sheets import person, xlsx

    sheet = tmp_path / "青山社区.xlsx"
    sheet.write_bytes(xlsx([person(1)]))
    # Both campaigns have a village named 青山社区: --campaign says which one.
    call_command("import_residents", str(sheet), "--village", "青山社区", "--campaign", str(covid.pk))
    assert Resident.objects.get().campaign == covid
    with pytest.raises(CommandError, match="No campaign"):
        call_command("import_residents", str(sheet), "--village", "青山社区", "--campaign", "没有的活动")


def test_weekly_report_makes_the_named_campaigns_report_only(covid, measles, capsys):
    call_command("weekly_report", "--campaign", measles.name)
    assert measles.name in capsys.readouterr().out
    assert list(WeeklyReport.objects.values_list("campaign", flat=True)) == [measles.pk]


def test_export_roster_finds_the_site_in_the_campaign_named_only(covid, measles, tmp_path):
    covid_site = covid.villages.get().site
    with pytest.raises(CommandError, match=f"is not a site of {measles.name}"):
        call_command(
            "export_roster",
            "--site",
            covid_site.name,
            "--date",
            timezone.localdate().isoformat(),
            "-o",
            str(tmp_path / "list.xlsx"),
            "--campaign",
            measles.name,
        )
    call_command(
        "export_roster",
        "--site",
        covid_site.name,
        "--date",
        timezone.localdate().isoformat(),
        "-o",
        str(tmp_path / "list.xlsx"),
        "--campaign",
        str(covid.pk),
    )
    assert (tmp_path / "list.xlsx").stat().st_size > 0
