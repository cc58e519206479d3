import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from appointments.models import Appointment
from appointments.services import appointment_book_pair, site_days_ensure
from appointments.tasks import mark_no_shows_task
from residents.tests.factories import ResidentFactory
from sites.models import SiteDay

pytestmark = pytest.mark.django_db


@pytest.fixture
def booked_today(qingshan):
    site_days_ensure(campaign=qingshan.campaign)
    today = timezone.localdate()
    came, missed = ResidentFactory.create_batch(2, village=qingshan)
    appointment_book_pair(resident=came, day=today)
    first, second = appointment_book_pair(resident=missed, day=today)
    Appointment.objects.filter(resident=came, dose_number=1).update(status=Appointment.Status.ARRIVED)
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
