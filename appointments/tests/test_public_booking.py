"""Residents booking themselves on the public pages: a person's page and slip, the self-booking share,
the office's opening times, cutoff and change limit, cancelling, and the channel of each booking."""

import datetime
import random
import re
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, Channel, PlanAllocation, WeeklyPlan
from appointments.public import booking, identity
from appointments.public.models import FamilyMember, PhoneAccount, SelfBookingRules, SelfChange
from appointments.services import (
    BookingRefused,
    NotEligible,
    appointment_book_pair,
    appointment_cancel,
    appointment_reschedule,
)
from appointments.tests.qr import decode, svg_matrix
from campaign.tests.factories import UserFactory
from residents.tests.factories import ResidentFactory
from sites.models import SiteDay
from sites.tests.factories import VaccinationFactory

pytestmark = pytest.mark.django_db

PHONE = "13912345678"
OTHER_PHONE = "13787654321"


def days_ahead(n: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=n)


@pytest.fixture(autouse=True)
def _loose_rates(settings):
    # The request rates are counted in the shared cache across tests: each test here books a few times.
    settings.PUBLIC_RATE_BOOK_PHONE = settings.PUBLIC_RATE_BOOK_DEVICE = settings.PUBLIC_RATE_BOOK_ADDRESS = "1000/m"


@pytest.fixture(autouse=True)
def _fresh_days(qingshan):
    # The days shown are cached by village: no test sees another's.
    booking.self_days_forget(villages=[qingshan], campaign=qingshan.campaign)
    yield
    booking.self_days_forget(villages=[qingshan], campaign=qingshan.campaign)


@pytest.fixture
def rules(campaign):
    # Every week within the next month open now, changes until midnight before the day, two changes.
    return SelfBookingRules.objects.create(campaign=campaign, open_days_before=28, share_percent=50, changes_allowed=2)


def published(village, day: datetime.date, places: int) -> PlanAllocation:
    monday = day - datetime.timedelta(days=day.weekday())
    plan, _created = WeeklyPlan.objects.get_or_create(
        campaign=village.campaign,
        week_start=monday,
        defaults={"status": "published", "published_at": timezone.now(), "created_by": UserFactory()},
    )
    return PlanAllocation.objects.create(plan=plan, site=village.site, village=village, date=day, places=places)


def signed_in(client, phone: str = PHONE) -> PhoneAccount:
    """What identity.public_sign_in leaves in the session once a phone's code is verified."""
    account, _created = PhoneAccount.objects.get_or_create(phone=phone)
    session = client.session
    session[identity.SESSION_PHONE] = phone
    session[identity.SESSION_VERIFIED_AT] = int(time.time())
    session.save()
    return account


def member_of(account, resident, relation="self") -> FamilyMember:
    return FamilyMember.objects.create(account=account, resident=resident, relation=relation)


def page(client, member):
    return client.get(reverse("public:person", args=[member.pk]))


def book(client, member, day):
    return client.post(reverse("public:book", args=[member.pk]), {"day": day.isoformat()}, follow=True)


# The person's page.


def test_a_booked_persons_page_shows_the_slip_whose_qr_code_is_the_code_the_site_scans(client, qingshan, rules):
    resident = ResidentFactory(village=qingshan, name="张三丰", id_number="341524198506150012")
    first, second = appointment_book_pair(resident=resident, day=days_ahead(3))
    member = member_of(signed_in(client), resident)
    html = page(client, member).content.decode()
    [svg] = re.findall(r'data-testid="slip-qr">(.*?)</div>', html, re.S)
    assert decode(svg_matrix(svg)) == first.code.encode()
    assert f"{first.code[:5]}-{first.code[5:]}" in html
    assert "张三丰" in html  # the phone that added them sees the name in full
    assert "341524198506150012" not in html and "0012" in html  # the document: the last four only
    assert 'data-testid="slip-held-dose"' in html
    assert first.site.address in html


def test_a_person_with_dose_1_given_sees_the_dose_its_lot_and_dose_2s_day(client, qingshan, rules):
    resident = ResidentFactory(village=qingshan)
    VaccinationFactory(
        resident=resident,
        dose_number=1,
        lot_number="LOT2021A",
        vaccinated_at=timezone.now() - datetime.timedelta(days=5),
    )
    dose2 = Appointment.objects.create(resident=resident, dose_number=2, site=qingshan.site, date=days_ahead(9))
    member = member_of(signed_in(client), resident)
    html = page(client, member).content.decode()
    assert "LOT2021A" in html and 'data-testid="dose"' in html
    assert 'data-testid="book"' not in html  # nothing to book: dose 2 is held
    assert f"{dose2.code[:5]}-{dose2.code[5:]}" in html  # the slip is dose 2's
    assert f"{dose2.date.month}月{dose2.date.day}日" in re.search(
        r'data-testid="slip-date">(.*?)</div>', html, re.S
    ).group(1)


def test_a_person_not_booked_sees_the_open_days_and_books_both_doses_on_the_self_channel(client, qingshan, rules):
    day = days_ahead(3)
    allocation = published(qingshan, day, places=20)
    resident = ResidentFactory(village=qingshan)
    member = member_of(signed_in(client), resident)
    html = page(client, member).content.decode()
    assert html.count('data-testid="book-day"') == 1
    assert "10" in re.search(r'data-testid="book-day">(.*?)</button>', html, re.S).group(1)  # 50% of 20
    response = book(client, member, day)
    first, second = Appointment.objects.filter(resident=resident).order_by("dose_number")
    assert (first.date, first.channel, first.self_place_id) == (day, Channel.SELF, allocation.pk)
    assert second.channel == Channel.SELF and second.self_place_id is None
    assert second.date >= day + datetime.timedelta(days=14)
    allocation.refresh_from_db()
    assert allocation.self_booked == 1
    assert 'data-testid="slip"' in response.content.decode()


def test_the_booking_is_answered_with_the_slip_and_a_reload_posting_again_books_nothing_more(client, qingshan, rules):
    day = days_ahead(3)
    allocation = published(qingshan, day, places=20)
    member = member_of(signed_in(client), ResidentFactory(village=qingshan))
    url = reverse("public:book", args=[member.pk])
    answer = client.post(url, {"day": day.isoformat()})
    assert answer.status_code == 200  # the page itself, no redirect to follow
    assert 'data-testid="slip"' in answer.content.decode()
    again = client.post(url, {"day": day.isoformat()})  # the browser's reload of that answer
    assert again.status_code == 302 and again.url == reverse("public:person", args=[member.pk])
    shown = client.get(again.url).content.decode()
    assert 'data-testid="slip"' in shown and "alert-danger" not in shown  # a note, not an error
    assert Appointment.objects.filter(resident=member.resident).count() == 2
    allocation.refresh_from_db()
    assert allocation.self_booked == 1


def test_another_phones_family_member_is_not_found(client, qingshan, rules):
    day = days_ahead(3)
    published(qingshan, day, places=20)
    stranger = member_of(PhoneAccount.objects.create(phone=OTHER_PHONE), ResidentFactory(village=qingshan))
    signed_in(client)
    assert page(client, stranger).status_code == 404
    assert client.post(reverse("public:book", args=[stranger.pk]), {"day": day.isoformat()}).status_code == 404
    assert not Appointment.objects.exists()


def test_without_a_verified_phone_the_page_sends_to_the_start(client, qingshan, rules):
    member = member_of(PhoneAccount.objects.create(phone=PHONE), ResidentFactory(village=qingshan))
    response = page(client, member)
    assert response.status_code == 302 and response["Location"] == reverse("public:start")


# The share, the opening and the office's switch.


def test_only_the_offices_share_of_a_villages_plan_places_can_be_self_booked(client, qingshan, campaign):
    SelfBookingRules.objects.create(campaign=campaign, open_days_before=28, share_percent=30)
    day = days_ahead(4)
    allocation = published(qingshan, day, places=10)  # 30% of 10: 3 places
    residents = ResidentFactory.create_batch(4, village=qingshan)
    for resident in residents[:3]:
        booking.self_book(resident=resident, day=day)
    with pytest.raises(booking.ShareFull):
        booking.self_book(resident=residents[3], day=day)
    allocation.refresh_from_db()
    assert allocation.self_booked == 3
    # The cadre still books the village's other places.
    appointment_book_pair(resident=residents[3], day=day)
    assert Appointment.objects.filter(date=day).count() == 4


def test_a_day_outside_the_published_plan_is_not_offered(qingshan, rules):
    day = days_ahead(4)
    allocation = published(qingshan, day, places=10)
    WeeklyPlan.objects.filter(pk=allocation.plan_id).update(status="draft", published_at=None)
    with pytest.raises(booking.NotOffered):
        booking.self_book(resident=ResidentFactory(village=qingshan), day=day)


def test_a_week_not_open_yet_says_when_its_places_open(client, qingshan, campaign):
    rules = SelfBookingRules.objects.create(
        campaign=campaign, open_days_before=2, open_time=datetime.time(9, 30), share_percent=50
    )
    day = days_ahead(21)
    published(qingshan, day, places=10)
    opens = booking.week_opens_at(rules, day)
    monday = day - datetime.timedelta(days=day.weekday())
    assert timezone.localtime(opens) == timezone.make_aware(
        datetime.datetime.combine(monday - datetime.timedelta(days=2), datetime.time(9, 30))
    )
    member = member_of(signed_in(client), ResidentFactory(village=qingshan))
    html = page(client, member).content.decode()
    assert 'data-testid="day-soon"' in html and 'data-testid="opens-at"' in html
    assert "09:30" in html
    response = book(client, member, day)
    assert not Appointment.objects.exists()
    assert "09:30" in [str(m) for m in response.context["messages"]][0]
    # At that moment it opens.
    booking.self_book(resident=member.resident, day=day, now=opens)
    assert Appointment.objects.filter(date=day).count() == 1


def test_self_booking_switched_off_by_the_office_books_nothing(client, qingshan, campaign):
    SelfBookingRules.objects.create(campaign=campaign, enabled=False, open_days_before=28)
    day = days_ahead(3)
    published(qingshan, day, places=10)
    member = member_of(signed_in(client), ResidentFactory(village=qingshan))
    assert 'data-testid="closed"' in page(client, member).content.decode()
    with pytest.raises(booking.SelfBookingClosed):
        booking.self_book(resident=member.resident, day=day)


def test_the_days_shown_are_cached_but_a_booking_checks_the_database(client, qingshan, rules):
    day = days_ahead(3)
    allocation = published(qingshan, day, places=4)  # 2 self places
    member = member_of(signed_in(client), ResidentFactory(village=qingshan))
    assert 'data-testid="book-day"' in page(client, member).content.decode()
    PlanAllocation.objects.filter(pk=allocation.pk).update(self_booked=2)  # taken meanwhile
    assert 'data-testid="book-day"' in page(client, member).content.decode()  # the cache still shows it
    response = book(client, member, day)
    assert not Appointment.objects.exists()
    assert "约满" in response.content.decode() or "all taken" in response.content.decode()


# Changes and cancellations.


def test_cancelling_gives_back_the_self_place_and_the_site_places(client, qingshan, rules):
    day = days_ahead(3)
    allocation = published(qingshan, day, places=10)
    member = member_of(signed_in(client), ResidentFactory(village=qingshan))
    first, second = booking.self_book(resident=member.resident, day=day, account=member.account)
    taken = dict(
        SiteDay.objects.filter(site=qingshan.site, date__in=[first.date, second.date]).values_list("date", "booked")
    )
    client.post(reverse("public:cancel", args=[member.pk, first.pk]))
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == second.status == Appointment.Status.CANCELLED
    assert first.cancelled_via == second.cancelled_via == Channel.SELF
    allocation.refresh_from_db()
    assert allocation.self_booked == 0
    after = dict(
        SiteDay.objects.filter(site=qingshan.site, date__in=[first.date, second.date]).values_list("date", "booked")
    )
    assert {d: taken[d] - 1 for d in taken} == after
    assert SelfChange.objects.filter(resident=member.resident, kind="cancel").count() == 1


def test_a_cadre_cancelling_a_self_booking_gives_its_place_back_to_the_share(qingshan, rules, cadre_qingshan):
    day = days_ahead(3)
    allocation = published(qingshan, day, places=2)  # 1 self place
    first, _second = booking.self_book(resident=ResidentFactory(village=qingshan), day=day)
    appointment_cancel(appointment=first, cancelled_by=cadre_qingshan, reason="电话取消")
    first.refresh_from_db()
    assert first.cancelled_via == Channel.CADRE
    allocation.refresh_from_db()
    assert allocation.self_booked == 0
    booking.self_book(resident=ResidentFactory(village=qingshan), day=day)


def test_a_cadre_moving_a_self_booking_gives_its_place_back_to_the_share(qingshan, rules, cadre_qingshan):
    day = days_ahead(3)
    allocation = published(qingshan, day, places=2)
    first, _second = booking.self_book(resident=ResidentFactory(village=qingshan), day=day)
    appointment_reschedule(appointment=first, day=days_ahead(4), changed_by=cadre_qingshan, reason="本人要求")
    allocation.refresh_from_db()
    assert allocation.self_booked == 0
    first.refresh_from_db()
    assert first.self_place_id is None


def test_a_person_moves_their_day_at_most_the_offices_number_of_times(client, qingshan, campaign):
    SelfBookingRules.objects.create(campaign=campaign, open_days_before=28, changes_allowed=1)
    one, two, three = days_ahead(3), days_ahead(4), days_ahead(5)
    allocations = [published(qingshan, day, places=10) for day in (one, two, three)]
    member = member_of(signed_in(client), ResidentFactory(village=qingshan))
    first, _second = booking.self_book(resident=member.resident, day=one)
    client.post(reverse("public:move", args=[member.pk, first.pk]), {"day": two.isoformat()})
    first.refresh_from_db()
    assert first.date == two and first.self_place_id == allocations[1].pk
    assert [a.self_booked for a in PlanAllocation.objects.order_by("date")] == [0, 1, 0]
    response = client.post(reverse("public:move", args=[member.pk, first.pk]), {"day": three.isoformat()}, follow=True)
    first.refresh_from_db()
    assert first.date == two
    assert "1" in [str(m) for m in response.context["messages"]][-1]
    assert 'data-testid="no-more-changes"' in response.content.decode()
    # Cancelling stays possible; booking again would be a second change.
    booking.self_cancel(appointment=first)
    with pytest.raises(booking.ChangeLimit):
        booking.self_book(resident=member.resident, day=three)


def test_booking_again_after_cancelling_counts_as_a_change(qingshan, campaign):
    SelfBookingRules.objects.create(campaign=campaign, open_days_before=28, changes_allowed=1)
    day = days_ahead(3)
    published(qingshan, day, places=10)
    resident = ResidentFactory(village=qingshan)
    first, _second = booking.self_book(resident=resident, day=day)
    booking.self_cancel(appointment=first)
    again, _second = booking.self_book(resident=resident, day=day)
    assert SelfChange.objects.filter(resident=resident, kind="rebook").count() == 1
    booking.self_cancel(appointment=again)
    with pytest.raises(booking.ChangeLimit):
        booking.self_book(resident=resident, day=day)


def test_nothing_changes_online_on_the_day_itself(qingshan, rules):
    today = timezone.localdate()
    published(qingshan, today, places=10)
    resident = ResidentFactory(village=qingshan)
    with pytest.raises(booking.PastCutoff):
        booking.self_book(resident=resident, day=today)
    first, _second = appointment_book_pair(resident=resident, day=today)
    with pytest.raises(booking.PastCutoff):
        booking.self_cancel(appointment=first)
    assert Appointment.objects.get(pk=first.pk).status == Appointment.Status.BOOKED


def test_the_offices_cutoff_closes_changes_that_many_hours_before_the_day(qingshan, campaign):
    rules = SelfBookingRules.objects.create(campaign=campaign, open_days_before=28, cutoff_hours=24)
    day = days_ahead(2)
    published(qingshan, day, places=10)
    first, _second = booking.self_book(resident=ResidentFactory(village=qingshan), day=day)
    start_of_day = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    assert booking.changes_close_at(rules, day) == start_of_day - datetime.timedelta(hours=24)
    with pytest.raises(booking.PastCutoff):
        booking.self_cancel(appointment=first, now=start_of_day - datetime.timedelta(hours=23))
    booking.self_cancel(appointment=first, now=start_of_day - datetime.timedelta(hours=25))


# The channel, for the staff.


def test_the_staff_see_through_which_channel_each_appointment_was_booked_and_cancelled(
    client, qingshan, rules, cadre_qingshan
):
    day = days_ahead(3)
    published(qingshan, day, places=10)
    resident = ResidentFactory(village=qingshan)
    first, _second = booking.self_book(resident=resident, day=day)
    booking.self_cancel(appointment=first)
    appointment_book_pair(resident=resident, day=days_ahead(5), booked_by=cadre_qingshan)
    client.force_login(cadre_qingshan)
    html = client.get(reverse("residents:detail", args=[resident.pk])).content.decode()
    channels = re.findall(r'data-testid="channel">(.*?)</span>', html, re.S)
    assert len(channels) == 4
    assert sum("自助预约" in text for text in channels) == 2
    assert sum("包保干部" in text for text in channels) == 2


def test_the_rules_default_when_the_office_set_none(campaign):
    rules = booking.rules_for(campaign)
    assert rules.pk is None and rules.enabled and rules.share_percent == 50
    assert booking.self_share(rules, 15) == 7


# The office's page.


def test_the_office_sets_the_rules_and_the_days_shown_follow_at_once(client, qingshan, office, campaign):
    day = days_ahead(3)
    published(qingshan, day, places=10)
    assert [d.share for d in booking.self_days(village=qingshan, campaign=campaign)] == [5]  # the default 50%
    client.force_login(office)
    url = reverse("public:office_rules")
    assert 'data-testid="defaults"' in client.get(url).content.decode()
    data = {
        "enabled": "on",
        "share_percent": "30",
        "open_days_before": "2",
        "open_time": "09:30",
        "changes_allowed": "1",
        "cutoff_hours": "12",
    }
    assert client.post(url, data).status_code == 302
    rules = SelfBookingRules.objects.get(campaign=campaign)
    assert (rules.share_percent, rules.open_days_before, rules.open_time, rules.cutoff_hours) == (
        30,
        2,
        datetime.time(9, 30),
        12,
    )
    assert rules.updated_by == office
    assert [d.share for d in booking.self_days(village=qingshan, campaign=campaign)] == [3]


def test_the_rules_page_refuses_a_share_above_100_percent_in_chinese(client, office, campaign):
    client.force_login(office)
    data = {
        "share_percent": "120",
        "open_days_before": "3",
        "open_time": "8:00",
        "changes_allowed": "2",
        "cutoff_hours": "0",
    }
    html = client.post(reverse("public:office_rules"), data).content.decode()
    assert "比例为 0 到 100" in html
    assert not SelfBookingRules.objects.exists()


def test_only_the_office_changes_the_rules(client, cadre_qingshan, supervisor):
    for user in (cadre_qingshan, supervisor):
        client.force_login(user)
        assert client.get(reverse("public:office_rules")).status_code == 403
        assert client.post(reverse("public:office_rules"), {"share_percent": "100"}).status_code == 403
    assert not SelfBookingRules.objects.exists()


def test_a_phone_tapping_book_over_and_over_is_refused_by_its_rate(client, qingshan, rules, settings):
    settings.PUBLIC_RATE_BOOK_PHONE = "3/m"
    day = days_ahead(3)
    published(qingshan, day, places=20)
    phone = f"139{random.randrange(10**8):08d}"  # counted in the shared cache: a phone no other run used
    member = member_of(signed_in(client, phone), ResidentFactory(village=qingshan))
    statuses = [
        client.post(reverse("public:book", args=[member.pk]), {"day": day.isoformat()}).status_code for _ in range(5)
    ]
    # Booked (the page answers the POST), then "already booked" (sent back to the page)
    assert statuses[:3] == [200, 302, 302]
    assert statuses[3:] == [429, 429]
    assert Appointment.objects.filter(resident=member.resident).count() == 2


def test_while_dose_1_is_booked_only_the_pair_is_cancelled_not_dose_2_alone(client, qingshan, rules):
    first, second = appointment_book_pair(resident=ResidentFactory(village=qingshan), day=days_ahead(3))
    member = member_of(signed_in(client), first.resident)
    html = page(client, member).content.decode()
    assert reverse("public:cancel", args=[member.pk, first.pk]) in html
    assert reverse("public:cancel", args=[member.pk, second.pk]) not in html


def test_a_self_registration_the_cadre_refused_is_not_offered_days_and_cannot_be_booked(client, qingshan, rules):
    day = days_ahead(3)
    published(qingshan, day, places=20)
    resident = ResidentFactory(
        village=qingshan,
        channel="self",
        review="refused",
        review_reason="不住本村",
        reviewed_by=UserFactory(),
        reviewed_at=timezone.now(),
        consent_at=timezone.now(),
        consent_version="2021-03-v1",
    )
    member = member_of(signed_in(client), resident)

    html = page(client, member).content.decode()
    assert 'data-testid="book-day"' not in html
    assert "不住本村" in re.search(r'data-testid="person-review">(.*?)</div>', html, re.S).group(1)
    book(client, member, day)
    assert not Appointment.objects.filter(resident=resident).exists()
    with pytest.raises(NotEligible):
        appointment_book_pair(resident=resident, day=day)


def test_a_self_registration_waiting_for_the_cadre_books_and_says_it_is_to_be_confirmed(client, qingshan, rules):
    day = days_ahead(3)
    published(qingshan, day, places=20)
    resident = ResidentFactory(
        village=qingshan, channel="self", review="pending", consent_at=timezone.now(), consent_version="2021-03-v1"
    )
    member = member_of(signed_in(client), resident)

    assert 'data-testid="person-review"' in page(client, member).content.decode()
    book(client, member, day)
    assert Appointment.objects.filter(resident=resident, dose_number=1, date=day).exists()


def test_dose_2_alone_cannot_be_cancelled_online_while_dose_1_is_booked(client, qingshan, rules):
    # The page offers no such button; a POST made by hand is refused by the service itself.
    first, second = appointment_book_pair(resident=ResidentFactory(village=qingshan), day=days_ahead(3))
    member = member_of(signed_in(client), first.resident)
    client.post(reverse("public:cancel", args=[member.pk, second.pk]))
    assert Appointment.objects.get(pk=second.pk).status == Appointment.Status.BOOKED
    with pytest.raises(BookingRefused):
        booking.self_cancel(appointment=second)
    assert Appointment.objects.get(pk=second.pk).status == Appointment.Status.BOOKED
