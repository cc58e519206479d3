"""Proposing, adjusting and publishing a weekly plan against the database."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from appointments.models import Appointment, PlanAllocation, WeeklyPlan
from appointments.planning.selectors import plan_inputs, plan_version, site_day_loads, villages_remaining, week_days
from appointments.planning.services import plan_adjust, plan_propose, plan_publish
from appointments.tests.factories import AppointmentFactory
from campaign.tests.factories import VillageFactory
from residents.tests.factories import ResidentFactory
from sites.models import SiteDay
from sites.tests.factories import VaccinationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _chinese():
    with translation.override("zh-hans"):
        yield


@pytest.fixture
def today(campaign):
    return campaign.start_date + datetime.timedelta(days=37)  # the factory puts today on day 38


@pytest.fixture
def week(today):
    return week_days(today)


@pytest.fixture
def draft(campaign, office, qingshan, honghe, today):
    return plan_propose(campaign=campaign, week_start=today, created_by=office, today=today)


def test_a_proposal_is_a_draft_for_the_week_from_today_with_places_for_every_village(draft, week, today):
    assert draft.status == WeeklyPlan.Status.DRAFT
    assert draft.week_start == week[0]
    days = set(draft.allocations.values_list("date", flat=True))
    assert days == {day for day in week if day >= today}
    for allocation in draft.allocations.all():
        assert allocation.site_id == allocation.village.site_id
        assert allocation.places > 0
    assert set(draft.allocations.values_list("village__name", flat=True)) == {"青山社区", "红河社区"}


def test_the_problems_of_a_proposal_are_kept_in_the_notes_in_chinese(campaign, office, site_centre, qingshan, today):
    # Far more people than 800 a day can take by the deadline.
    VillageFactory(site=site_centre, name="红村社区", population=20000, quota=20000)
    plan = plan_propose(campaign=campaign, week_start=today, created_by=office, today=today)
    assert "青山社区 " in plan.notes and "红村社区 " in plan.notes
    assert "无法在截止日期" in plan.notes and "接种能力不足" in plan.notes
    assert plan.notes.count("接种能力不足") == 1  # one line for the site, not one per village


def test_a_new_proposal_replaces_the_draft_for_the_week(campaign, office, draft, qingshan, today, week):
    day = max(today, week[0])
    plan_adjust(plan=draft, changes={(qingshan.id, day): 1})
    again = plan_propose(campaign=campaign, week_start=week[0], created_by=office, today=today)
    assert again.pk == draft.pk
    assert again.allocations.get(village=qingshan, date=day).places > 1
    assert WeeklyPlan.objects.count() == 1


def test_a_published_plan_is_never_overwritten_by_a_proposal(campaign, office, draft, today):
    plan_publish(plan=draft, published_by=office, version=plan_version(plan=draft))
    before = list(draft.allocations.values_list("village_id", "date", "places"))
    with pytest.raises(ValidationError) as error:
        plan_propose(campaign=campaign, week_start=today, created_by=office, today=today)
    assert error.value.code == "published"
    assert "已发布" in error.value.messages[0]
    assert list(draft.allocations.values_list("village_id", "date", "places")) == before


def test_a_week_that_is_over_or_after_the_deadline_cannot_be_proposed(campaign, office, qingshan, today):
    with pytest.raises(ValidationError) as error:
        plan_propose(campaign=campaign, week_start=today - datetime.timedelta(days=14), created_by=office, today=today)
    assert error.value.code == "past"
    late = campaign.first_dose_deadline + datetime.timedelta(days=7)
    with pytest.raises(ValidationError) as error:
        plan_propose(campaign=campaign, week_start=late, created_by=office, today=today)
    assert error.value.code in ("after_deadline", "outside")


def test_the_remaining_quota_counts_people_with_dose_1_given_or_an_open_dose_1_booking(campaign, qingshan, today):
    VaccinationFactory(resident=ResidentFactory(village=qingshan))
    AppointmentFactory(resident=ResidentFactory(village=qingshan), date=today)
    AppointmentFactory(resident=ResidentFactory(village=qingshan), status=Appointment.Status.ARRIVED, date=today)
    AppointmentFactory(resident=ResidentFactory(village=qingshan), status=Appointment.Status.CANCELLED, date=today)
    AppointmentFactory(resident=ResidentFactory(village=qingshan), status=Appointment.Status.NO_SHOW, date=today)
    AppointmentFactory(resident=ResidentFactory(village=qingshan), dose_number=2, date=today)
    # Given dose 1 and booked again (both count once).
    both = ResidentFactory(village=qingshan)
    VaccinationFactory(resident=both)
    AppointmentFactory(resident=both, date=today)
    assert villages_remaining(campaign=campaign) == {qingshan.id: qingshan.quota - 4}


def test_places_taken_come_from_the_site_day_or_else_from_the_appointments(campaign, site_centre, qingshan, today):
    tomorrow = today + datetime.timedelta(days=1)
    SiteDay.objects.create(site=site_centre, date=today, capacity=700, booked=650)
    for _ in range(3):
        AppointmentFactory(resident=ResidentFactory(village=qingshan), date=tomorrow)
    AppointmentFactory(resident=ResidentFactory(village=qingshan), date=tomorrow, status=Appointment.Status.CANCELLED)
    loads = site_day_loads(sites=[site_centre], start=today, end=tomorrow)
    assert loads[(site_centre.id, today)] == (700, 650)
    assert loads[(site_centre.id, tomorrow)] == (site_centre.daily_capacity, 3)
    site = plan_inputs(campaign=campaign, start=today).sites[0]
    assert site.capacity_on(today) == 700 and site.taken[today] == 650


def test_a_full_day_gets_no_places_in_the_proposal(campaign, office, site_centre, qingshan, today, week):
    full = max(today, week[0]) + datetime.timedelta(days=1)
    SiteDay.objects.create(site=site_centre, date=full, capacity=800, booked=800)
    plan = plan_propose(campaign=campaign, week_start=today, created_by=office, today=today)
    assert not plan.allocations.filter(site=site_centre, date=full).exists()


def test_the_office_changes_a_number_and_zero_removes_the_day(draft, qingshan, today, week):
    day = max(today, week[0])
    plan_adjust(plan=draft, changes={(qingshan.id, day): 123})
    assert draft.allocations.get(village=qingshan, date=day).places == 123
    plan_adjust(plan=draft, changes={(qingshan.id, day): 0})
    assert not draft.allocations.filter(village=qingshan, date=day).exists()


def test_a_negative_number_is_refused(draft, qingshan, today):
    with pytest.raises(ValidationError) as error:
        plan_adjust(plan=draft, changes={(qingshan.id, today): -5})
    assert error.value.messages == [f"青山社区 {today.isoformat()}：名额不能为负数。"]


def test_planned_and_taken_places_above_capacity_are_refused_naming_the_site_and_day(
    draft, site_centre, qingshan, today, week
):
    day = max(today, week[0]) + datetime.timedelta(days=1)
    SiteDay.objects.create(site=site_centre, date=day, capacity=800, booked=300)
    before = draft.allocations.filter(village=qingshan, date=day).values_list("places", flat=True).first()
    with pytest.raises(ValidationError) as error:
        plan_adjust(plan=draft, changes={(qingshan.id, day): 700})
    assert error.value.messages == [
        f"梅山社区卫生服务中心疫苗接种点 {day.isoformat()}：计划名额 700 个加上已预约 300 个，"
        "超出当日容量 800 个（多出 200 个）。"
    ]
    assert draft.allocations.filter(village=qingshan, date=day).values_list("places", flat=True).first() == before
    plan_adjust(plan=draft, changes={(qingshan.id, day): 500})  # exactly full is allowed
    assert draft.allocations.get(village=qingshan, date=day).places == 500


def test_places_after_the_deadline_or_outside_the_week_are_refused(campaign, draft, qingshan, week):
    with pytest.raises(ValidationError) as error:
        plan_adjust(plan=draft, changes={(qingshan.id, week[0] + datetime.timedelta(days=7)): 10})
    assert "不在本计划的这一周" in error.value.messages[0]

    late_week = week_days(campaign.first_dose_deadline + datetime.timedelta(days=1))
    late = WeeklyPlan.objects.create(campaign=campaign, week_start=late_week[0], created_by=draft.created_by)
    after = campaign.first_dose_deadline + datetime.timedelta(days=1)
    with pytest.raises(ValidationError) as error:
        plan_adjust(plan=late, changes={(qingshan.id, after): 10})
    assert "第一剂只能安排在" in error.value.messages[0]


def test_publishing_makes_the_plan_visible_and_it_can_no_longer_be_changed(draft, office, qingshan, today):
    plan_publish(plan=draft, published_by=office, version=plan_version(plan=draft))
    draft.refresh_from_db()
    assert draft.status == WeeklyPlan.Status.PUBLISHED and draft.published_at is not None
    assert draft.published_by == office
    with pytest.raises(ValidationError):
        plan_adjust(plan=draft, changes={(qingshan.id, today): 1})
    with pytest.raises(ValidationError) as error:
        plan_publish(plan=draft, published_by=office, version=plan_version(plan=draft))
    assert error.value.code == "published"


def test_an_empty_plan_is_not_published(campaign, office, week):
    plan = WeeklyPlan.objects.create(campaign=campaign, week_start=week[0], created_by=office)
    with pytest.raises(ValidationError) as error:
        plan_publish(plan=plan, published_by=office, version=plan_version(plan=plan))
    assert error.value.code == "empty"


def test_a_plan_that_no_longer_fits_after_new_bookings_is_not_published(draft, office, site_centre, today, week):
    allocation = draft.allocations.filter(site=site_centre).order_by("date").first()
    SiteDay.objects.create(site=site_centre, date=allocation.date, capacity=800, booked=800)
    with pytest.raises(ValidationError) as error:
        plan_publish(plan=draft, published_by=office, version=plan_version(plan=draft))
    assert "梅山社区卫生服务中心疫苗接种点" in error.value.messages[0]
    draft.refresh_from_db()
    assert draft.status == WeeklyPlan.Status.DRAFT


def test_the_proposal_never_plans_more_than_a_village_still_needs(campaign, office, qingshan, today):
    qingshan.quota = 300
    qingshan.save()
    for _ in range(5):
        VaccinationFactory(resident=ResidentFactory(village=qingshan))
    plan = plan_propose(campaign=campaign, week_start=today, created_by=office, today=today)
    planned = sum(PlanAllocation.objects.filter(plan=plan, village=qingshan).values_list("places", flat=True))
    assert 0 < planned <= 295


def test_a_plan_is_published_only_with_the_numbers_its_confirmation_showed(draft, office, qingshan, today):
    shown = plan_version(plan=draft)
    plan_adjust(plan=draft, changes={(qingshan.id, today): 42})
    with pytest.raises(ValidationError) as error:
        plan_publish(plan=draft, published_by=office, version=shown)
    assert error.value.code == "changed"
    draft.refresh_from_db()
    assert draft.status == WeeklyPlan.Status.DRAFT
    plan_publish(plan=draft, published_by=office, version=plan_version(plan=draft))
    draft.refresh_from_db()
    assert draft.status == WeeklyPlan.Status.PUBLISHED


def test_a_publish_without_a_version_is_refused(draft, office):
    with pytest.raises(ValidationError) as error:
        plan_publish(plan=draft, published_by=office, version="")
    assert error.value.code == "changed"


def test_the_version_follows_the_numbers_not_the_rows(draft, qingshan, today):
    shown = plan_version(plan=draft)
    places = draft.allocations.get(village=qingshan, date=today).places
    plan_adjust(plan=draft, changes={(qingshan.id, today): places + 1})
    assert plan_version(plan=draft) != shown
    plan_adjust(plan=draft, changes={(qingshan.id, today): places})
    assert plan_version(plan=draft) == shown  # the same numbers: what was shown is what is published
