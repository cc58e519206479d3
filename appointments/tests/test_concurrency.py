"""Real concurrent PostgreSQL connections racing for the last places.

Each test runs twice: with the pair booked in one statement (what PostgreSQL uses)
and with the step-by-step path (what other databases use, and the fallback).
"""

import datetime
import queue
import random
import threading

import pytest
from django.db import connection
from django.db.models import Count, F
from django.utils import timezone

from appointments import services
from appointments.models import Appointment
from appointments.services import BookingRefused, DayFull, appointment_book_pair
from residents.models import Resident
from residents.tests.factories import ResidentFactory
from sites.capacity import site_days_ensure
from sites.models import SiteDay

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True, params=["one statement", "step by step"])
def booking_path(request, monkeypatch):
    if request.param == "step by step":
        monkeypatch.setattr(services, "ONE_STATEMENT_VENDORS", set())
    return request.param


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
    assert outcomes.count("day_full") == 17
    assert Appointment.objects.filter(dose_number=1).count() == Appointment.objects.filter(dose_number=2).count() == 3
    assert SiteDay.objects.get(site=qingshan.site, date=today).booked == 3


def test_one_resident_double_submitted_from_20_connections_gets_one_pair(qingshan):
    site_days_ensure(campaign=qingshan.campaign)
    resident = ResidentFactory(village=qingshan)
    outcomes = race([resident] * 20, timezone.localdate())
    assert outcomes.count("booked") == 1
    assert Appointment.objects.count() == 2
    assert sum(SiteDay.objects.values_list("booked", flat=True)) == 2


def test_pair_booking_never_exceeds_capacity_under_20_connections(qingshan):
    """20 connections book 80 residents on 4 days with 4 places each, taking the offered day when one is full."""
    site_days_ensure(campaign=qingshan.campaign)
    today = timezone.localdate()
    SiteDay.objects.filter(site=qingshan.site, date__gte=today).update(capacity=4)
    waiting = queue.Queue()
    for resident in Resident.objects.filter(
        pk__in=[r.pk for r in ResidentFactory.create_batch(80, village=qingshan)]
    ).select_related("campaign", "village__site"):
        waiting.put(resident)
    barrier = threading.Barrier(20)
    outcomes = []

    def client(seed):
        rng = random.Random(seed)
        try:
            barrier.wait()
            while True:
                try:
                    resident = waiting.get_nowait()
                except queue.Empty:
                    return
                day = today + datetime.timedelta(days=rng.randint(0, 3))
                for _attempt in range(3):
                    try:
                        appointment_book_pair(resident=resident, day=day)
                        outcomes.append("booked")
                        break
                    except DayFull as full:
                        outcomes.append("day full")
                        if not full.suggestions:
                            break
                        day = full.suggestions[0][0]
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("day full") > 0  # the first days did fill while connections raced for them
    assert not SiteDay.objects.filter(booked__gt=F("capacity")).exists()
    counted = dict(Appointment.objects.open().values_list("date").annotate(n=Count("id")))
    assert {day.date: day.booked for day in SiteDay.objects.filter(booked__gt=0)} == counted
    booked = outcomes.count("booked")
    assert booked > 16
    firsts = dict(Appointment.objects.filter(dose_number=1).values_list("resident_id", "date"))
    seconds = dict(Appointment.objects.filter(dose_number=2).values_list("resident_id", "date"))
    assert len(firsts) == len(seconds) == booked
    assert all(seconds[resident] - day >= datetime.timedelta(days=14) for resident, day in firsts.items())
    history = Appointment.history.filter(history_type="+").values_list("id", flat=True)
    assert sorted(history) == sorted(Appointment.objects.values_list("id", flat=True))
