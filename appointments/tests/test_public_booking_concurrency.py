"""Self-booking under a rush, on real concurrent PostgreSQL connections: the village's self-booking share
and the site's capacity are never exceeded, and a lock not had in time books nothing and says so."""

import datetime
import threading
import time

import pytest
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone

from appointments import services
from appointments.models import Appointment, PlanAllocation, WeeklyPlan
from appointments.public import booking, identity
from appointments.public.models import FamilyMember, PhoneAccount, SelfBookingRules
from appointments.services import BookingRefused
from campaign.tests.concurrency import at_once
from campaign.tests.factories import UserFactory
from residents.tests.factories import ResidentFactory
from sites.capacity import site_days_ensure
from sites.models import SiteDay

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True, params=["one statement", "step by step"])
def booking_path(request, monkeypatch):
    if request.param == "step by step":
        monkeypatch.setattr(services, "ONE_STATEMENT_VENDORS", set())
    return request.param


@pytest.fixture
def day(qingshan):
    site_days_ensure(campaign=qingshan.campaign)
    booking.self_days_forget(villages=[qingshan], campaign=qingshan.campaign)
    SelfBookingRules.objects.create(campaign=qingshan.campaign, open_days_before=28, share_percent=50)
    return timezone.localdate() + datetime.timedelta(days=3)


def published(village, day, places):
    plan = WeeklyPlan.objects.create(
        campaign=village.campaign,
        week_start=day - datetime.timedelta(days=day.weekday()),
        status="published",
        published_at=timezone.now(),
        created_by=UserFactory(),
    )
    return PlanAllocation.objects.create(plan=plan, site=village.site, village=village, date=day, places=places)


def race(residents, day):
    queue = list(residents)
    lock = threading.Lock()

    def one():
        with lock:
            resident = queue.pop()
        try:
            booking.self_book(resident=resident, day=day)
        except BookingRefused as refused:
            return refused.code
        return "booked"

    outcomes, errors = at_once(len(residents), one)
    assert errors == []
    return outcomes


def test_24_phones_racing_for_the_last_5_self_places_book_exactly_5(qingshan, day):
    allocation = published(qingshan, day, places=10)  # 50%: 5 places for self-booking
    outcomes = race(ResidentFactory.create_batch(24, village=qingshan), day)
    assert outcomes.count("booked") == 5
    assert outcomes.count("share_full") == 19
    allocation.refresh_from_db()
    assert allocation.self_booked == 5
    assert Appointment.objects.filter(date=day, dose_number=1, self_place=allocation).count() == 5
    assert SiteDay.objects.get(site=qingshan.site, date=day).booked == 5


def test_when_the_site_fills_before_the_share_the_share_gives_back_what_the_site_refused(qingshan, day):
    allocation = published(qingshan, day, places=40)  # 20 self places, but the site has 3
    SiteDay.objects.filter(site=qingshan.site, date=day).update(capacity=3)
    outcomes = race(ResidentFactory.create_batch(16, village=qingshan), day)
    assert outcomes.count("booked") == 3
    assert outcomes.count("day_full") == 13
    allocation.refresh_from_db()
    assert allocation.self_booked == 3  # the refused bookings' share places were rolled back
    site_day = SiteDay.objects.get(site=qingshan.site, date=day)
    assert site_day.booked == 3 <= site_day.capacity


def test_cancels_and_bookings_racing_keep_the_share_counter_equal_to_the_self_bookings(qingshan, day):
    allocation = published(qingshan, day, places=12)  # 6 self places
    booked = [booking.self_book(resident=r, day=day)[0] for r in ResidentFactory.create_batch(6, village=qingshan)]
    waiting = ResidentFactory.create_batch(10, village=qingshan)
    work = [("cancel", item) for item in booked[:4]] + [("book", resident) for resident in waiting]
    lock = threading.Lock()

    def one():
        with lock:
            kind, item = work.pop()
        try:
            if kind == "cancel":
                booking.self_cancel(appointment=item)
            else:
                booking.self_book(resident=item, day=day)
        except BookingRefused as refused:
            return refused.code
        return kind

    outcomes, errors = at_once(len(work), one)
    assert errors == []
    assert outcomes.count("cancel") == 4
    allocation.refresh_from_db()
    open_self = Appointment.objects.filter(self_place=allocation, status="booked").count()
    assert allocation.self_booked == open_self <= 6
    assert (
        SiteDay.objects.get(site=qingshan.site, date=day).booked
        == Appointment.objects.filter(site=qingshan.site, date=day).exclude(status="cancelled").count()
    )


def test_a_lock_not_had_in_time_books_nothing_and_says_many_people_are_booking(client, qingshan, day, settings):
    settings.PUBLIC_LOCK_TIMEOUT_MS = 200
    # The request rates are counted in the shared cache across tests: not what this test is about.
    settings.PUBLIC_RATE_BOOK_PHONE = settings.PUBLIC_RATE_BOOK_DEVICE = settings.PUBLIC_RATE_BOOK_ADDRESS = "1000/m"
    allocation = published(qingshan, day, places=10)
    resident = ResidentFactory(village=qingshan)
    account = PhoneAccount.objects.create(phone="13912345678")
    member = FamilyMember.objects.create(account=account, resident=resident, relation="self")
    session = client.session
    session[identity.SESSION_PHONE] = account.phone
    session[identity.SESSION_VERIFIED_AT] = int(time.time())
    session.save()

    holding, release = threading.Event(), threading.Event()

    def hold_the_plan_place():
        # Another connection holds the village's plan place, as a slow booking would.
        other = connections.create_connection("default")
        try:
            other.set_autocommit(False)
            with other.cursor() as cursor:
                cursor.execute(
                    f"SELECT id FROM {PlanAllocation._meta.db_table} WHERE id = %s FOR UPDATE", [allocation.pk]
                )
            holding.set()
            release.wait(10)
            other.rollback()
        finally:
            other.close()

    holder = threading.Thread(target=hold_the_plan_place)
    holder.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        response = client.post(reverse("public:book", args=[member.pk]), {"day": day.isoformat()})
        waited = time.monotonic() - started
    finally:
        release.set()
        holder.join()
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="busy"' in html and "人多，请稍后再试" in html
    assert waited < 5
    assert not Appointment.objects.exists()
    allocation.refresh_from_db()
    assert allocation.self_booked == 0
    assert SiteDay.objects.get(site=qingshan.site, date=day).booked == 0
    # The lock gone, the same phone books.
    client.post(reverse("public:book", args=[member.pk]), {"day": day.isoformat()})
    assert Appointment.objects.filter(resident=resident).count() == 2
    connection.close()
