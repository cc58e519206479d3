import datetime

import pytest
from django.utils import timezone

from appointments.models import Appointment
from appointments.services import (
    AlreadyBooked,
    DayFull,
    NotEligible,
    OutsideWindow,
    appointment_book_pair,
    appointment_cancel,
    appointment_reschedule,
    appointments_book_bulk,
    later_doses_follow,
)
from residents.tests.factories import ResidentFactory
from sites.capacity import CapacityBelowBooked, site_day_set_capacity, site_days_ensure
from sites.models import SiteDay
from sites.tests.factories import VaccinationFactory

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def site(qingshan):
    site_days_ensure(campaign=qingshan.campaign)
    return qingshan.site


def places(site, day):
    return SiteDay.objects.get(site=site, date=day).booked


def small(site, day, capacity):
    SiteDay.objects.filter(site=site, date=day).update(capacity=capacity)


def test_a_pair_is_booked_with_dose_2_exactly_14_days_later(qingshan, site, today):
    resident = ResidentFactory(village=qingshan)
    first, second = appointment_book_pair(resident=resident, day=today + DAY)
    assert (first.dose_number, first.date, first.site) == (1, today + DAY, site)
    assert (second.dose_number, second.date, second.site) == (2, today + 15 * DAY, site)
    assert places(site, today + DAY) == 1 and places(site, today + 15 * DAY) == 1


def test_dose_2_goes_to_the_first_day_with_room_after_the_interval(qingshan, site, today):
    small(site, today + 15 * DAY, 0)
    _first, second = appointment_book_pair(resident=ResidentFactory(village=qingshan), day=today + DAY)
    assert second.date == today + 16 * DAY


def test_a_full_day_is_refused_and_the_next_days_with_room_are_offered(qingshan, site, today):
    small(site, today + DAY, 1)
    appointment_book_pair(resident=ResidentFactory(village=qingshan), day=today + DAY)
    with pytest.raises(DayFull) as full:
        appointment_book_pair(resident=ResidentFactory(village=qingshan), day=today + DAY)
    assert full.value.suggestions[0] == (today + 2 * DAY, today + 16 * DAY)
    assert places(site, today + DAY) == 1


def test_no_dose_2_place_means_no_dose_1_either(qingshan, site, today):
    campaign = qingshan.campaign
    SiteDay.objects.filter(site=site, date__gte=today + 15 * DAY).update(capacity=0)
    with pytest.raises(DayFull):
        appointment_book_pair(resident=ResidentFactory(village=qingshan), day=today + DAY)
    assert places(site, today + DAY) == 0
    assert not Appointment.objects.exists()
    assert campaign.end_date >= today + 15 * DAY


def test_a_first_dose_after_the_deadline_is_refused(qingshan, site):
    campaign = qingshan.campaign
    with pytest.raises(OutsideWindow):
        appointment_book_pair(resident=ResidentFactory(village=qingshan), day=campaign.first_dose_deadline + DAY)


def test_a_first_dose_on_the_deadline_is_accepted(qingshan, site):
    campaign = qingshan.campaign
    _first, second = appointment_book_pair(resident=ResidentFactory(village=qingshan), day=campaign.first_dose_deadline)
    assert second.date <= campaign.end_date


def test_a_day_in_the_past_is_refused(qingshan, site, today):
    with pytest.raises(OutsideWindow):
        appointment_book_pair(resident=ResidentFactory(village=qingshan), day=today - DAY)


def test_a_deferred_resident_is_not_booked(qingshan, site, today):
    with pytest.raises(NotEligible):
        appointment_book_pair(resident=ResidentFactory(village=qingshan, status="deferred", fever=True), day=today)


def test_a_resident_is_booked_once(qingshan, site, today):
    resident = ResidentFactory(village=qingshan)
    appointment_book_pair(resident=resident, day=today)
    with pytest.raises(AlreadyBooked):
        appointment_book_pair(resident=resident, day=today + DAY)
    assert places(site, today + DAY) == 0


def test_capacity_is_never_exceeded_one_by_one(qingshan, site, today):
    small(site, today, 3)
    results = appointments_book_bulk(residents=ResidentFactory.create_batch(5, village=qingshan), day=today)
    assert [r["booked"] for r in results] == [True, True, True, False, False]
    assert "已约满" in results[3]["reason"] or "full" in results[3]["reason"]
    assert places(site, today) == 3


def test_the_office_cannot_set_a_capacity_below_the_places_taken(qingshan, site, today):
    appointments_book_bulk(residents=ResidentFactory.create_batch(2, village=qingshan), day=today)
    with pytest.raises(CapacityBelowBooked, match="2"):
        site_day_set_capacity(site=site, day=today, capacity=1)
    assert site_day_set_capacity(site=site, day=today, capacity=2).capacity == 2


def test_cancelling_dose_1_gives_up_both_places(qingshan, site, today):
    first, second = appointment_book_pair(resident=ResidentFactory(village=qingshan), day=today)
    cancelled = appointment_cancel(appointment=first, reason="外出务工")
    assert {a.pk for a in cancelled} == {first.pk, second.pk}
    assert places(site, today) == 0 and places(site, second.date) == 0
    assert Appointment.objects.get(pk=first.pk).cancel_reason == "外出务工"


def test_cancelling_needs_a_reason(qingshan, site, today):
    first, _second = appointment_book_pair(resident=ResidentFactory(village=qingshan), day=today)
    with pytest.raises(Exception, match="原因|why"):
        appointment_cancel(appointment=first, reason=" ")


def test_moving_dose_2_earlier_than_14_days_is_refused(qingshan, site, today):
    first, second = appointment_book_pair(resident=ResidentFactory(village=qingshan), day=today + DAY)
    with pytest.raises(OutsideWindow):
        appointment_reschedule(appointment=second, day=first.date + 13 * DAY, reason="家中有事")
    assert Appointment.objects.get(pk=second.pk).date == first.date + 14 * DAY


def test_moving_dose_2_later_is_accepted_at_the_same_site(qingshan, site, today):
    first, second = appointment_book_pair(resident=ResidentFactory(village=qingshan), day=today + DAY)
    appointment_reschedule(appointment=second, day=first.date + 20 * DAY, reason="家中有事")
    second.refresh_from_db()
    assert (second.date, second.site) == (first.date + 20 * DAY, site)
    assert places(site, first.date + 14 * DAY) == 0 and places(site, first.date + 20 * DAY) == 1


def test_moving_dose_1_later_drags_dose_2_to_keep_the_interval(qingshan, site, today):
    first, second = appointment_book_pair(resident=ResidentFactory(village=qingshan), day=today + DAY)
    appointment_reschedule(appointment=first, day=today + 5 * DAY, reason="改期")
    second.refresh_from_db()
    assert second.date == today + 19 * DAY


def test_dose_2_moves_when_dose_1_was_given_later_than_booked(qingshan, site, today):
    resident = ResidentFactory(village=qingshan)
    _first, second = appointment_book_pair(resident=resident, day=today)
    held = later_doses_follow(resident=resident, dose_number=1, given_on=today + 3 * DAY)
    assert held.pk == second.pk and held.date == today + 17 * DAY
    assert places(site, today + 14 * DAY) == 0 and places(site, today + 17 * DAY) == 1


def test_dose_2_stays_when_dose_1_came_earlier(qingshan, site, today):
    resident = ResidentFactory(village=qingshan)
    _first, second = appointment_book_pair(resident=resident, day=today + 2 * DAY)
    assert later_doses_follow(resident=resident, dose_number=1, given_on=today).date == second.date


def test_a_resident_whose_dose_2_cannot_fit_needs_attention(qingshan, site, today):
    from appointments.selectors import needs_attention

    resident = ResidentFactory(village=qingshan)
    appointment_book_pair(resident=resident, day=today)
    VaccinationFactory(resident=resident, site=site)
    SiteDay.objects.filter(site=site, date__gte=today + 16 * DAY).update(capacity=0)
    assert later_doses_follow(resident=resident, dose_number=1, given_on=today + 2 * DAY) is None
    assert list(needs_attention(village=qingshan)) == [resident]
