"""Real concurrent PostgreSQL connections racing for the last places."""

import threading

import pytest
from django.db import connection
from django.utils import timezone

from appointments.models import Appointment
from appointments.services import BookingRefused, appointment_book_pair, site_days_ensure
from residents.tests.factories import ResidentFactory
from sites.models import SiteDay

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(residents, day):
    barrier = threading.Barrier(len(residents))
    outcomes = []

    def book(resident):
        try:
            barrier.wait()
            appointment_book_pair(resident=resident, day=day)
            outcomes.append("booked")
        except BookingRefused as refused:
            outcomes.append(refused.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=book, args=(r,)) for r in residents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_24_connections_racing_for_the_last_5_places_never_overbook(qingshan):
    site_days_ensure(campaign=qingshan.campaign)
    today = timezone.localdate()
    SiteDay.objects.filter(site=qingshan.site, date=today).update(capacity=5)
    residents = ResidentFactory.create_batch(24, village=qingshan)
    outcomes = race(residents, today)
    assert outcomes.count("booked") == 5
    assert outcomes.count("day_full") == 19
    assert SiteDay.objects.get(site=qingshan.site, date=today).booked == 5
    assert Appointment.objects.filter(date=today).count() == 5
    assert Appointment.objects.filter(dose_number=2).count() == 5


def test_racing_for_the_last_dose_2_places_never_books_a_dose_1_without_its_dose_2(qingshan):
    site_days_ensure(campaign=qingshan.campaign)
    today = timezone.localdate()
    later = SiteDay.objects.filter(site=qingshan.site, date__gte=today + timezone.timedelta(days=14))
    later.update(capacity=0)
    SiteDay.objects.filter(site=qingshan.site, date=today + timezone.timedelta(days=14)).update(capacity=3)
    outcomes = race(ResidentFactory.create_batch(20, village=qingshan), today)
    assert outcomes.count("booked") == 3
    assert Appointment.objects.filter(dose_number=1).count() == Appointment.objects.filter(dose_number=2).count() == 3
    assert SiteDay.objects.get(site=qingshan.site, date=today).booked == 3


def test_one_resident_double_submitted_from_20_connections_gets_one_pair(qingshan):
    site_days_ensure(campaign=qingshan.campaign)
    resident = ResidentFactory(village=qingshan)
    outcomes = race([resident] * 20, timezone.localdate())
    assert outcomes.count("booked") == 1
    assert Appointment.objects.count() == 2
    assert sum(SiteDay.objects.values_list("booked", flat=True)) == 2
