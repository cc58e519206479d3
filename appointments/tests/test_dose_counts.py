"""No dose-count assumptions: a one-dose and a three-dose campaign through booking, moving, cancelling,
check-in, the shot, the next dose due and completion (issue #18, part 3)."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments import services
from appointments.daily.selectors import slips_for
from appointments.follow_up.services import come_on_window
from appointments.models import Appointment
from appointments.planning.selectors import plan_inputs
from appointments.public import booking
from appointments.public.selectors import resident_status_line
from appointments.selectors import needs_attention
from appointments.services import (
    BookingRefused,
    DayFull,
    OutsideWindow,
    appointment_book,
    appointment_cancel,
    appointment_reschedule,
    later_doses_follow,
    mark_no_shows,
)
from campaign.roles import Role
from campaign.tests.factories import CampaignFactory, SiteFactory, VillageFactory, user_with_role
from residents.tests.factories import ResidentFactory
from sites.capacity import site_days_ensure
from sites.models import SiteDay, Vaccination
from sites.selectors import site_lookup
from sites.services import site_checkin, site_prescreen, site_vaccinate
from sites.tests.factories import VaccinationFactory

DAY = datetime.timedelta(days=1)


@pytest.fixture
def today():
    return timezone.localdate()


def _village(campaign):
    site = SiteFactory(campaign=campaign, name=f"{campaign.name}接种点", daily_capacity=50)
    village = VillageFactory(site=site, name=f"{campaign.name}村")
    site_days_ensure(campaign=campaign)
    return village


@pytest.fixture
def measles(db, today):
    """A one-dose campaign (part 三's measles campaign: one dose, about ten days)."""
    campaign = CampaignFactory(
        name="麻疹",
        doses=1,
        dose_intervals=[],
        start_date=today - 2 * DAY,
        end_date=today + 8 * DAY,
        first_dose_deadline=today + 8 * DAY,
    )
    return _village(campaign)


@pytest.fixture
def three_doses(db, today):
    """A three-dose campaign: dose 2 at least 28 days after dose 1, dose 3 at least 60 days after dose 2."""
    campaign = CampaignFactory(
        name="三剂", doses=3, dose_intervals=[28, 60], start_date=today - 5 * DAY, end_date=today + 150 * DAY
    )
    return _village(campaign)


@pytest.fixture(params=["one statement", "step by step"])
def booking_path(request, monkeypatch):
    if request.param == "step by step":
        monkeypatch.setattr(services, "ONE_STATEMENT_VENDORS", set())
    return request.param


def nurse_of(village):
    return user_with_role(Role.SITE_TEAM, site=village.site, username=f"nurse{village.site_id}")


def places(village, *days):
    return [SiteDay.objects.get(site=village.site, date=day).booked for day in days]


def later(monkeypatch, days: int):
    """The clock `days` later: every service reads timezone.now (and localdate through it)."""
    real = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real() + datetime.timedelta(days=days))


def shot(village, nurse):
    """Check the resident in today, clear the screening and give the dose; returns (vaccination, held)."""
    resident = Appointment.objects.filter(site=village.site).first().resident
    arrived = site_checkin(site=village.site, resident=resident, checked_in_by=nurse)
    site_prescreen(appointment=arrived, answers={}, temperature="36.5", consent=True, screened_by=nurse)
    return site_vaccinate(appointment=arrived, lot_number="L1", vaccinator=nurse)


# Booking ----------------------------------------------------------------------------------------


def test_a_one_dose_booking_holds_nothing(measles, today, booking_path):
    booked = appointment_book(resident=ResidentFactory(village=measles), day=today + DAY)
    assert [(a.dose_number, a.date) for a in booked] == [(1, today + DAY)]
    assert Appointment.objects.count() == 1
    assert sum(SiteDay.objects.values_list("booked", flat=True)) == 1


def test_a_three_dose_booking_holds_dose_2_and_dose_3_each_at_its_interval_at_the_same_site(
    three_doses, today, booking_path
):
    first, second, third = appointment_book(resident=ResidentFactory(village=three_doses), day=today + DAY)
    assert [(a.dose_number, a.date) for a in (first, second, third)] == [
        (1, today + DAY),
        (2, today + 29 * DAY),
        (3, today + 89 * DAY),
    ]
    assert {a.site_id for a in Appointment.objects.all()} == {three_doses.site_id}
    assert places(three_doses, today + DAY, today + 29 * DAY, today + 89 * DAY) == [1, 1, 1]
    assert Appointment.history.count() == 3


def test_a_full_dose_3_day_moves_dose_3_to_the_next_day_with_room(three_doses, today, booking_path):
    SiteDay.objects.filter(site=three_doses.site, date=today + 88 * DAY).update(capacity=0)
    booked = appointment_book(resident=ResidentFactory(village=three_doses), day=today)
    assert [a.date for a in booked] == [today, today + 28 * DAY, today + 89 * DAY]


def test_no_room_for_dose_3_refuses_the_booking_and_takes_no_place(three_doses, today, booking_path):
    SiteDay.objects.filter(site=three_doses.site, date__gte=today + 80 * DAY).update(capacity=0)
    with pytest.raises(DayFull) as full:
        appointment_book(resident=ResidentFactory(village=three_doses), day=today)
    assert "第3剂" in full.value.message
    assert not Appointment.objects.exists()
    assert sum(SiteDay.objects.values_list("booked", flat=True)) == 0
    # Every dose-1 day up to the deadline would need a dose-3 place after the full days: none is suggested.
    assert full.value.suggestions == []


def test_a_full_day_suggests_days_with_room_for_every_dose(three_doses, today, booking_path):
    SiteDay.objects.filter(site=three_doses.site, date=today).update(capacity=0)
    with pytest.raises(DayFull) as full:
        appointment_book(resident=ResidentFactory(village=three_doses), day=today)
    assert full.value.suggestions[0] == (today + DAY, today + 29 * DAY, today + 89 * DAY)


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize("campaign", ["measles", "three_doses"])
def test_every_dose_is_booked_in_one_statement_on_postgresql(request, campaign, today):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from appointments.tests.test_booking_one_statement import booking_statements, loaded

    village = request.getfixturevalue(campaign)
    resident = loaded(ResidentFactory(village=village))
    with CaptureQueriesContext(connection) as captured:
        booked = appointment_book(resident=resident, day=today + DAY)
    assert len(booking_statements(captured)) == 1
    assert len(booked) == village.campaign.doses
    assert [a.pk for a in booked] == list(Appointment.objects.order_by("dose_number").values_list("pk", flat=True))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_for_the_last_dose_3_places_never_books_the_first_doses_without_dose_3(today, booking_path):
    from appointments.tests.test_concurrency import race

    village = _village(
        CampaignFactory(
            name="三剂", doses=3, dose_intervals=[28, 60], start_date=today - 5 * DAY, end_date=today + 150 * DAY
        )
    )
    SiteDay.objects.filter(site=village.site, date__gte=today + 88 * DAY).update(capacity=0)
    SiteDay.objects.filter(site=village.site, date=today + 88 * DAY).update(capacity=3)
    outcomes = race(ResidentFactory.create_batch(16, village=village), today)
    assert outcomes.count("booked") == 3 and outcomes.count("day_full") == 13
    assert [Appointment.objects.filter(dose_number=dose).count() for dose in (1, 2, 3)] == [3, 3, 3]
    assert places(village, today, today + 28 * DAY, today + 88 * DAY) == [3, 3, 3]


# Moving and cancelling ---------------------------------------------------------------------------


def test_moving_dose_1_drags_dose_2_and_dose_3_along(three_doses, today):
    first, second, third = appointment_book(resident=ResidentFactory(village=three_doses), day=today + DAY)
    moved = appointment_reschedule(appointment=first, day=today + 10 * DAY, reason="外出")
    assert [(a.dose_number, a.date) for a in moved] == [
        (1, today + 10 * DAY),
        (2, today + 38 * DAY),
        (3, today + 98 * DAY),
    ]
    assert places(three_doses, today + DAY, today + 29 * DAY, today + 89 * DAY) == [0, 0, 0]
    assert places(three_doses, today + 10 * DAY, today + 38 * DAY, today + 98 * DAY) == [1, 1, 1]


def test_moving_dose_2_later_drags_dose_3_and_dose_2_stays_after_its_interval(three_doses, today):
    first, second, third = appointment_book(resident=ResidentFactory(village=three_doses), day=today)
    with pytest.raises(OutsideWindow):
        appointment_reschedule(appointment=second, day=today + 27 * DAY, reason="早来")
    moved = appointment_reschedule(appointment=second, day=today + 40 * DAY, reason="出差")
    assert [(a.dose_number, a.date) for a in moved] == [(2, today + 40 * DAY), (3, today + 100 * DAY)]


def test_cancelling_dose_1_cancels_every_held_dose_and_dose_2_takes_dose_3(three_doses, today):
    resident = ResidentFactory(village=three_doses)
    first, _second, _third = appointment_book(resident=resident, day=today)
    assert len(appointment_cancel(appointment=first, reason="不去了")) == 3
    assert sum(SiteDay.objects.values_list("booked", flat=True)) == 0
    first, second, third = appointment_book(resident=resident, day=today)
    cancelled = appointment_cancel(appointment=second, reason="不去了")
    assert {a.dose_number for a in cancelled} == {2, 3}
    assert Appointment.objects.get(pk=first.pk).status == "booked"


def test_a_later_dose_is_not_cancelled_online_alone_while_an_earlier_one_is_booked(three_doses, today):
    resident = ResidentFactory(village=three_doses)
    first, second, third = appointment_book(resident=resident, day=today + 3 * DAY)
    rules = booking.rules_for(three_doses.campaign)
    now = timezone.now()
    with pytest.raises(BookingRefused) as refused:
        booking.check_cancel(rules=rules, appointment=third, now=now, earlier_open=1)
    assert "第1剂" in refused.value.message and "第3剂" in refused.value.message
    booking.check_cancel(rules=rules, appointment=first, now=now, earlier_open=1)
    with pytest.raises(BookingRefused):
        booking.self_cancel(appointment=third)


def test_a_missed_dose_2_gives_up_the_held_dose_3(three_doses, today, monkeypatch):
    resident = ResidentFactory(village=three_doses)
    appointment_book(resident=resident, day=today)
    nurse = nurse_of(three_doses)
    shot(three_doses, nurse)
    later(monkeypatch, 29)
    assert mark_no_shows(day=today + 28 * DAY) == 1
    dose3 = Appointment.objects.get(resident=resident, dose_number=3)
    assert (dose3.status, dose3.cancel_reason) == ("cancelled", "第2剂爽约")
    assert places(three_doses, today + 88 * DAY) == [0]


# The site: check-in, the shot, the next dose due, completion ------------------------------------


def test_a_one_dose_campaign_is_complete_after_the_shot(measles, today):
    resident = ResidentFactory(village=measles)
    appointment_book(resident=resident, day=today)
    nurse = nurse_of(measles)
    vaccination, held = shot(measles, nurse)
    assert vaccination.dose_number == 1 and held is None
    assert Appointment.objects.filter(status__in=["booked", "arrived"]).count() == 0
    assert resident_status_line(resident, doses=1).startswith("已全程接种")
    assert list(needs_attention(village=measles)) == []
    first, last = come_on_window(resident=resident, today=today)
    assert first > last  # no day is left: nothing more is due
    with pytest.raises(BookingRefused):
        site_checkin(site=measles.site, resident=resident, checked_in_by=nurse)


def test_three_doses_from_booking_to_completion(three_doses, today, monkeypatch):
    resident = ResidentFactory(village=three_doses)
    appointment_book(resident=resident, day=today)
    nurse = nurse_of(three_doses)
    vaccination, held = shot(three_doses, nurse)
    assert (vaccination.dose_number, held.dose_number, held.date) == (1, 2, today + 28 * DAY)
    assert come_on_window(resident=resident, today=today)[0] == today + 28 * DAY
    assert resident_status_line(resident, doses=3).startswith("已接种1剂（共3剂）")

    later(monkeypatch, 20)
    with pytest.raises(OutsideWindow) as early:
        site_checkin(site=three_doses.site, resident=resident, checked_in_by=nurse)
    assert "第2剂" in early.value.message and "28" in early.value.message

    later(monkeypatch, 8)  # day 28: dose 2 is due
    vaccination, held = shot(three_doses, nurse)
    assert (vaccination.dose_number, held.dose_number, held.date) == (2, 3, today + 88 * DAY)

    later(monkeypatch, 60)  # day 88: dose 3 is due
    vaccination, held = shot(three_doses, nurse)
    assert (vaccination.dose_number, held) == (3, None)
    assert list(Vaccination.objects.order_by("dose_number").values_list("dose_number", flat=True)) == [1, 2, 3]
    assert resident_status_line(resident, doses=3).startswith("已全程接种（3剂）")

    later(monkeypatch, 1)  # the day after: every dose is given, nothing more is due
    found = site_lookup(site=three_doses.site, query=resident.id_number, on=timezone.localdate())
    assert [level for level, _message in found.warnings] == ["block"]
    with pytest.raises(BookingRefused):
        site_checkin(site=three_doses.site, resident=resident, checked_in_by=nurse)
    first, last = come_on_window(resident=resident, today=timezone.localdate())
    assert first > last


def test_dose_2_given_later_than_booked_moves_dose_3(three_doses, today, monkeypatch):
    resident = ResidentFactory(village=three_doses)
    appointment_book(resident=resident, day=today)
    nurse = nurse_of(three_doses)
    shot(three_doses, nurse)
    later(monkeypatch, 35)  # came a week after dose 2's day, as a walk-in
    vaccination, held = shot(three_doses, nurse)
    assert (vaccination.dose_number, held.dose_number, held.date) == (2, 3, today + 95 * DAY)
    assert places(three_doses, today + 28 * DAY, today + 88 * DAY, today + 95 * DAY) == [0, 0, 1]


def test_a_dose_given_without_the_next_dose_held_needs_attention_until_it_is_held(three_doses, today):
    resident = ResidentFactory(village=three_doses)
    VaccinationFactory(resident=resident, vaccinated_at=timezone.now() - 30 * DAY)
    assert list(needs_attention(village=three_doses)) == [resident]
    held = later_doses_follow(resident=resident, dose_number=1, given_on=today - 30 * DAY)
    # Due two days ago: held from today on, never on a day gone by.
    assert (held.dose_number, held.date) == (2, today)
    assert Appointment.objects.get(resident=resident, dose_number=3).date == today + 60 * DAY
    assert list(needs_attention(village=three_doses)) == []


# Planning and slips -------------------------------------------------------------------------------


def test_the_planner_reads_every_gap_of_the_campaign(three_doses, measles, today):
    assert plan_inputs(campaign=three_doses.campaign, start=today).dose_intervals == (28, 60)
    assert plan_inputs(campaign=measles.campaign, start=today).dose_intervals == ()


def test_a_dose_1_slip_lists_every_held_later_dose_and_a_one_dose_slip_none(three_doses, measles, today):
    first, second, third = appointment_book(resident=ResidentFactory(village=three_doses), day=today + DAY)
    [slip] = slips_for([first])
    assert [(a.dose_number, a.date) for a in slip.later_doses] == [(2, second.date), (3, third.date)]
    [slip2] = slips_for([second])
    assert [a.dose_number for a in slip2.later_doses] == [3]
    [only] = appointment_book(resident=ResidentFactory(village=measles), day=today + DAY)
    assert slips_for([only])[0].later_doses == ()


def test_the_slip_page_shows_dose_2_and_dose_3_held(client, three_doses, today):
    first, second, third = appointment_book(resident=ResidentFactory(village=three_doses), day=today + DAY)
    cadre = user_with_role(Role.CADRE, village=three_doses, username="cadre_three")
    client.force_login(cadre)
    html = client.get(reverse("daily:slip", args=[first.pk])).content.decode()
    assert html.count('data-testid="slip-held-dose"') == 2
    assert "已为您预留第3剂" in html and f"{third.date.month}月{third.date.day}日" in html
    assert "第二剂" not in html


# Pages -------------------------------------------------------------------------------------------


def cadre_of(village):
    return user_with_role(Role.CADRE, village=village, username=f"cadre{village.pk}")


def test_the_booking_page_of_a_one_dose_campaign_holds_nothing_and_says_so(client, measles, today):
    people = ResidentFactory.create_batch(2, village=measles)
    client.force_login(cadre_of(measles))
    response = client.post(reverse("appointments:booking"), {"day": today + DAY, "residents": [p.pk for p in people]})
    html = response.content.decode()
    assert "本次只接种一剂" in html and "第2剂" not in html and "第二剂" not in html
    assert [len(r["appointments"]) for r in response.context["results"]] == [1, 1]


def test_the_booking_page_of_a_three_dose_campaign_names_each_interval_and_each_held_day(client, three_doses, today):
    resident = ResidentFactory(village=three_doses)
    client.force_login(cadre_of(three_doses))
    html = client.post(
        reverse("appointments:booking"), {"day": today + DAY, "residents": [resident.pk]}
    ).content.decode()
    assert "第2剂在第1剂后间隔28天以上；第3剂在第2剂后间隔60天以上" in html
    assert f"第3剂 {(today + 89 * DAY):%m-%d}" in html


def test_a_full_day_on_the_booking_page_suggests_three_days_per_choice(client, three_doses, today):
    SiteDay.objects.filter(site=three_doses.site, date=today + DAY).update(capacity=0)
    resident = ResidentFactory(village=three_doses)
    client.force_login(cadre_of(three_doses))
    html = client.post(
        reverse("appointments:booking"), {"day": today + DAY, "residents": [resident.pk]}
    ).content.decode()
    assert "各剂均有名额的最近日期" in html
    days = (today + 2 * DAY, today + 30 * DAY, today + 90 * DAY)
    assert " → ".join(f"{day:%m-%d}" for day in days) in html


def test_the_plan_page_reads_right_for_one_dose(client, measles, office):
    client.force_login(office)
    client.post(reverse("campaign:choose"), {"campaign": measles.campaign_id})  # the office's own campaign runs longer
    html = client.get(reverse("plan:week")).content.decode()
    assert "每人接种一剂" in html and "第二剂" not in html and "已预约（含第二剂）" not in html


def test_the_residents_page_books_all_three_doses_and_holds_the_next_dose_after_one_given(client, three_doses, today):
    resident = ResidentFactory(village=three_doses)
    client.force_login(cadre_of(three_doses))
    url = reverse("residents:detail", args=[resident.pk])
    assert "预约全部3剂" in client.get(url).content.decode()
    response = client.post(reverse("appointments:book_resident", args=[resident.pk]), {"day": today + DAY}, follow=True)
    assert "第3剂" in response.content.decode() and Appointment.objects.filter(resident=resident).count() == 3
    # Dose 2 given, dose 3's place given up: the page offers to hold it.
    VaccinationFactory(resident=resident, dose_number=1, vaccinated_at=timezone.now() - 90 * DAY)
    VaccinationFactory(resident=resident, dose_number=2, vaccinated_at=timezone.now() - 60 * DAY)
    Appointment.objects.filter(resident=resident).update(status="cancelled")
    html = client.get(url).content.decode()
    assert "预留第3剂名额" in html
    response = client.post(reverse("appointments:hold_dose2", args=[resident.pk]), follow=True)
    assert f"已预留第3剂：{today.isoformat()}" in response.content.decode()


def test_the_residents_page_of_a_one_dose_campaign_books_one_dose_and_holds_nothing_after(client, measles, today):
    resident = ResidentFactory(village=measles)
    client.force_login(cadre_of(measles))
    url = reverse("residents:detail", args=[resident.pk])
    html = client.get(url).content.decode()
    assert "预约两剂" not in html and 'data-testid="book-form"' in html
    VaccinationFactory(resident=resident, dose_number=1)
    assert 'data-testid="hold-next-dose"' not in client.get(url).content.decode()


@pytest.fixture
def open_rules():
    from appointments.public.models import SelfBookingRules

    def make(campaign):
        booking.self_days_forget(villages=list(campaign.villages.all()), campaign=campaign)
        return SelfBookingRules.objects.create(
            campaign=campaign, open_days_before=28, share_percent=50, changes_allowed=2
        )

    return make


def test_self_booking_a_three_dose_campaign_books_all_three_and_the_slip_lists_both_held(
    client, three_doses, today, open_rules
):
    from appointments.tests.test_public_booking import book, member_of, page, published, signed_in

    open_rules(three_doses.campaign)
    published(three_doses, today + 3 * DAY, places=20)
    member = member_of(signed_in(client), ResidentFactory(village=three_doses))
    html = page(client, member).content.decode()
    assert "后续各剂在同一接种点" in html
    html = book(client, member, today + 3 * DAY).content.decode()
    booked = list(Appointment.objects.filter(resident=member.resident).order_by("dose_number"))
    assert [(a.dose_number, a.channel) for a in booked] == [(1, "self"), (2, "self"), (3, "self")]
    assert html.count('data-testid="slip-held-dose"') == 2
    # Only dose 1 is offered for cancelling (and takes the later doses with it).
    assert html.count('data-testid="cancel-form"') == 1 and "后续各剂一并取消" in html


def test_self_booking_a_one_dose_campaign_books_one_dose(client, measles, today, open_rules):
    from appointments.tests.test_public_booking import book, member_of, page, published, signed_in

    open_rules(measles.campaign)
    published(measles, today + 2 * DAY, places=20)
    member = member_of(signed_in(client), ResidentFactory(village=measles))
    assert "只需接种一剂" in page(client, member).content.decode()
    html = book(client, member, today + 2 * DAY).content.decode()
    assert Appointment.objects.filter(resident=member.resident).count() == 1
    assert 'data-testid="slip-held-dose"' not in html and "两剂" not in html
