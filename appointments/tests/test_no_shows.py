import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from appointments.models import Appointment
from appointments.services import appointment_book_pair
from appointments.tasks import mark_no_shows_task
from residents.tests.factories import ResidentFactory
from sites.capacity import site_days_ensure
from sites.models import SiteDay
from sites.services import site_checkin, site_prescreen, site_vaccinate

pytestmark = pytest.mark.django_db


@pytest.fixture
def booked_today(qingshan):
    site_days_ensure(campaign=qingshan.campaign)
    today = timezone.localdate()
    came, missed = ResidentFactory.create_batch(2, village=qingshan)
    appointment_book_pair(resident=came, day=today)
    first, second = appointment_book_pair(resident=missed, day=today)
    Appointment.objects.filter(resident=came, dose_number=1).update(status=Appointment.Status.VACCINATED)
    return first, second


def test_appointments_nobody_came_to_become_no_shows(booked_today):
    first, second = booked_today
    assert mark_no_shows_task.delay().get() == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == "no_show"
    # The held dose-2 place is given back so the cadre can book the pair again.
    assert second.status == "cancelled"
    assert SiteDay.objects.get(site=second.site, date=second.date).booked == 1


def test_marking_no_shows_twice_changes_nothing(booked_today):
    mark_no_shows_task.delay().get()
    snapshot = list(Appointment.objects.order_by("pk").values_list("status", flat=True))
    places = list(SiteDay.objects.order_by("pk").values_list("booked", flat=True))
    assert mark_no_shows_task.delay().get() == 0
    assert list(Appointment.objects.order_by("pk").values_list("status", flat=True)) == snapshot
    assert list(SiteDay.objects.order_by("pk").values_list("booked", flat=True)) == places


def test_closing_the_day_writes_each_change_in_the_history_once(booked_today):
    first, second = booked_today
    mark_no_shows_task.delay().get()
    mark_no_shows_task.delay().get()  # the second run changes nothing and writes nothing
    no_show = first.history.filter(status="no_show")
    released = second.history.filter(status="cancelled")
    assert no_show.count() == 1 and released.count() == 1
    assert no_show.get().history_type == "~" and no_show.get().history_change_reason
    assert released.get().cancel_reason == released.get().history_change_reason


def test_tomorrows_appointments_are_left_alone(qingshan):
    site_days_ensure(campaign=qingshan.campaign)
    appointment_book_pair(
        resident=ResidentFactory(village=qingshan), day=timezone.localdate() + datetime.timedelta(days=1)
    )
    call_command("mark_no_shows")
    assert not Appointment.objects.filter(status="no_show").exists()


def test_the_no_show_list_names_people_to_call_until_they_are_booked_again(booked_today, qingshan):
    from appointments.selectors import no_shows_to_call

    first, _second = booked_today
    mark_no_shows_task.delay().get()
    assert [a.resident for a in no_shows_to_call(village=qingshan)] == [first.resident]
    appointment_book_pair(resident=first.resident, day=timezone.localdate() + datetime.timedelta(days=1))
    assert list(no_shows_to_call(village=qingshan)) == []


@pytest.fixture
def arrived_today(qingshan, site_team_centre):
    """Someone booked today who was checked in (登记) and is still waiting at the end of the day."""
    site_days_ensure(campaign=qingshan.campaign)
    resident = ResidentFactory(village=qingshan)
    first, second = appointment_book_pair(resident=resident, day=timezone.localdate())
    site_checkin(site=first.site, resident=resident, checked_in_by=site_team_centre)
    first.refresh_from_db()
    return first, second


def test_someone_checked_in_who_left_before_the_shot_becomes_a_no_show(arrived_today, site_team_centre):
    first, second = arrived_today
    site_prescreen(appointment=first, answers={}, temperature="36.6", consent=True, screened_by=site_team_centre)
    assert mark_no_shows_task.delay().get() == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == "no_show"
    assert second.status == "cancelled"  # the dose-2 place is given back, as for any dose-1 no-show
    assert SiteDay.objects.get(site=second.site, date=second.date).booked == 0


def test_someone_sent_home_by_the_pre_screening_is_not_a_no_show(arrived_today, site_team_centre, qingshan):
    from appointments.selectors import no_shows_to_call
    from sites.models import PreScreening

    first, second = arrived_today
    # A deferral the pre-screening recorded while the appointment stayed open (the shot was not given).
    PreScreening.objects.create(
        appointment=first,
        outcome=PreScreening.Outcome.DEFERRED,
        fever=True,
        reasons=["fever"],
        temperature="38.1",
        consent=False,
        screened_by=site_team_centre,
    )
    assert mark_no_shows_task.delay().get() == 0
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == "cancelled" and first.cancel_reason  # with the pre-screening's outcome as the reason
    assert second.status == "cancelled"
    assert list(no_shows_to_call(village=qingshan)) == []


def test_closing_the_day_twice_changes_nothing_for_arrivals(arrived_today):
    first, _second = arrived_today
    assert mark_no_shows_task.delay().get() == 1
    snapshot = list(Appointment.objects.order_by("pk").values_list("status", "cancel_reason"))
    places = list(SiteDay.objects.order_by("pk").values_list("booked", flat=True))
    assert mark_no_shows_task.delay().get() == 0
    assert list(Appointment.objects.order_by("pk").values_list("status", "cancel_reason")) == snapshot
    assert list(SiteDay.objects.order_by("pk").values_list("booked", flat=True)) == places


def test_someone_vaccinated_after_checking_in_is_left_alone(arrived_today, site_team_centre):
    first, _second = arrived_today
    site_prescreen(appointment=first, answers={}, temperature="36.6", consent=True, screened_by=site_team_centre)
    first.refresh_from_db()
    site_vaccinate(appointment=first, lot_number="L1", vaccinator=site_team_centre)
    assert mark_no_shows_task.delay().get() == 0
    first.refresh_from_db()
    assert first.status == "vaccinated"
