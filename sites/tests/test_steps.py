"""Each workstation step through its one service: what it decides in each case, its races, its queries.

A step is one request: the view reads the input, calls one service (site_scan, site_prescreen,
site_vaccinate), and draws what it returns. These cases were first written for the one-statement
path that restated the rules in SQL; that path is gone, and the cases now hold the services to them.
"""

import datetime

import pytest
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment
from appointments.services import appointment_book_pair
from campaign.tests.concurrency import at_once
from residents.models import Resident
from residents.tests.factories import ResidentFactory
from sites.capacity import site_days_ensure
from sites.models import PreScreening, SiteDay, Vaccination, Vaccinator
from sites.services import site_checkin, site_prescreen, site_scan, site_vaccinate
from sites.tests.factories import VaccinationFactory

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def nurse(site_team_centre):
    return site_team_centre


@pytest.fixture
def other_nurse(site_team_jiangdian):
    return site_team_jiangdian


@pytest.fixture
def book(qingshan, today):
    site_days_ensure(campaign=qingshan.campaign)

    def book(day=None, **resident):
        return appointment_book_pair(resident=ResidentFactory(village=qingshan, **resident), day=day or today)

    return book


@pytest.fixture
def team(client, nurse):
    client.force_login(nurse)
    client.get(reverse("sites:workstation"))  # the steady state: the user and role are cached
    return client


def clear(appointment, nurse):
    return site_prescreen(appointment=appointment, answers={}, temperature="36.6", consent=True, screened_by=nurse)


def hold_dose_2_at(second, day):
    """Move a held dose 2 with its place (site-day counters included), rules aside: a test's set-up."""
    SiteDay.objects.filter(site=second.site, date=second.date).update(booked=F("booked") - 1)
    SiteDay.objects.filter(site=second.site, date=day).update(booked=F("booked") + 1)
    Appointment.objects.filter(pk=second.pk).update(date=day)


def unchanged():
    """The rows and history rows a refused step must leave as they were."""
    history = Appointment.history.model
    return (
        list(Appointment.objects.order_by("pk").values_list("pk", "status", "date")),
        history.objects.count(),
        PreScreening.objects.count(),
        Vaccination.objects.count(),
    )


def post(client, name, pk=None, **data):
    return client.post(reverse(f"sites:{name}", args=[pk] if pk else []), data, **HX)


def screen_data(**data):
    return {"temperature": "36.5", "consent": "on", **data}


# 登记 -----------------------------------------------------------------------------------


def test_a_slip_booked_for_today_is_checked_in_with_its_history_row_and_dose_2_stays_booked(book, nurse, site_centre):
    first, second = book()
    result = site_scan(site=site_centre, query=first.token, checked_in_by=nurse)
    assert result.appointment.pk == first.pk and result.arrived_now and result.dose_number == 1
    assert result.warnings == () and not result.blocked
    first.refresh_from_db()
    assert first.status == "arrived"
    latest = first.history.first()
    assert (latest.history_type, latest.history_user, latest.status) == ("~", nurse, "arrived")
    second.refresh_from_db()
    assert second.status == "booked"


def test_a_claimed_arrival_writes_the_history_row_the_locked_path_writes(book, nurse, site_centre):
    # site_checkin claims a slip booked for today with one guarded UPDATE; without the slip it locks and saves.
    claimed, _ = book()
    locked, _ = book()
    site_checkin(site=site_centre, resident=claimed.resident, checked_in_by=nurse, booked=claimed)
    site_checkin(site=site_centre, resident=locked.resident, checked_in_by=nurse)
    fields = ["history_type", "history_user_id", "history_change_reason", "status", "date", "site_id", "walk_in"]
    assert list(claimed.history.values(*fields)) == list(locked.history.values(*fields))


@pytest.mark.parametrize(
    ("case", "checked_in", "says"),
    [
        ("booked_tomorrow", True, "预约日期不是今天"),  # comes in today, on today's place
        ("deferred_resident", True, "请重新预检"),
        ("already_arrived", True, ""),  # arriving twice is harmless
        ("cancelled", True, "没有预约"),  # a cancelled slip is no booking: a walk-in
        ("another_sites_team", False, "接种点不对"),
        ("unknown_token", False, ""),
        ("dose_1_given_today", False, "今天已接种"),  # never a second dose on one day
    ],
)
def test_each_kind_of_slip_is_decided_by_the_check_in_service(
    case, checked_in, says, book, nurse, other_nurse, site_centre, site_jiangdian, today
):
    first, second = book(day=today + DAY if case == "booked_tomorrow" else today)
    token, user, site = first.token, nurse, site_centre
    if case == "another_sites_team":
        user, site = other_nurse, site_jiangdian
    elif case == "deferred_resident":
        Resident.objects.filter(pk=first.resident_id).update(status="deferred")
    elif case == "already_arrived":
        site_checkin(site=site_centre, resident=first.resident, checked_in_by=nurse)
    elif case == "cancelled":
        Appointment.objects.filter(pk=first.pk).update(status="cancelled")
    elif case == "unknown_token":
        token = "x" * 22
    elif case == "dose_1_given_today":
        VaccinationFactory(resident=first.resident, dose_number=1, site=first.site, appointment=first)
        Appointment.objects.filter(pk=first.pk).update(status="vaccinated")
        Appointment.objects.filter(pk=second.pk).update(date=today)
        token = second.token
    before = unchanged()
    result = site_scan(site=site, query=token, checked_in_by=user)
    assert (result.appointment is not None) == checked_in
    assert says in " ".join(message for _level, message in result.warnings) + result.problem
    if checked_in:
        assert (result.appointment.status, result.appointment.date) == ("arrived", today)
        assert Appointment.objects.filter(resident=first.resident, status="arrived").count() == 1
    else:
        assert result.blocked or result.problem
        assert unchanged() == before
    if case == "already_arrived":
        assert not result.arrived_now and first.history.filter(status="arrived").count() == 1
    if case == "cancelled":
        assert Appointment.objects.get(pk=first.pk).status == "cancelled" and result.appointment.walk_in


def test_a_dose_2_slip_is_refused_at_13_days_and_checked_in_at_14(book, nurse, site_centre, today):
    for days, checked_in in [(13, False), (14, True)]:
        first, second = book()
        Appointment.objects.filter(pk=first.pk).update(date=today - days * DAY, status="vaccinated")
        VaccinationFactory(
            resident=first.resident,
            dose_number=1,
            site=first.site,
            appointment=first,
            vaccinated_at=timezone.now() - days * DAY,
        )
        Appointment.objects.filter(pk=second.pk).update(date=today)
        result = site_scan(site=site_centre, query=second.token, checked_in_by=nurse)
        second.refresh_from_db()
        assert result.dose_number == 2 and (result.appointment is not None) == checked_in
        assert second.status == ("arrived" if checked_in else "booked")
        assert result.blocked != checked_in


def test_the_card_shows_the_dose_given_today_not_the_next(book, nurse, site_centre, today):
    first, second = book()
    clear(site_checkin(site=site_centre, resident=first.resident, checked_in_by=nurse), nurse)
    first.refresh_from_db()
    site_vaccinate(appointment=first, lot_number="L1", vaccinator=nurse)
    result = site_scan(site=site_centre, query=first.resident.id_number, checked_in_by=nurse)
    assert (result.dose_number, result.blocked, result.appointment) == (1, True, None)


# 预检 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "status", "outcome"),
    [
        ("clean", 200, "cleared"),
        ("deferred_resident", 200, "cleared"),  # screened clean again: eligible again
        ("not_arrived", 200, None),  # refused: check in first
        ("another_sites_team", 404, None),
        ("fever", 200, None),  # shown for confirmation first
        ("a_yes", 200, None),  # shown for confirmation first
        ("no_consent", 200, None),  # refused
        ("no_temperature", 200, None),  # asked again
    ],
)
def test_each_kind_of_screening_is_decided_by_the_screening_service(
    case, status, outcome, client, book, nurse, other_nurse, site_centre
):
    first, _ = book()
    if case != "not_arrived":
        site_checkin(site=site_centre, resident=first.resident, checked_in_by=nurse)
    if case == "deferred_resident":
        Resident.objects.filter(pk=first.resident_id).update(status="deferred")
    data = {
        "fever": screen_data(temperature="37.3"),
        "a_yes": screen_data(severe_allergy="on"),
        "no_consent": {"temperature": "36.5"},
        "no_temperature": {"consent": "on"},
    }.get(case, screen_data())
    client.force_login(other_nurse if case == "another_sites_team" else nurse)
    response = post(client, "screen", first.pk, **data)
    assert response.status_code == status
    assert list(PreScreening.objects.values_list("outcome", flat=True)) == ([outcome] if outcome else [])
    if outcome:
        assert response.context["step"] == "shot"
        assert Resident.objects.get(pk=first.resident_id).status == "eligible"
    elif status == 200:
        # The form again with the question or the refusal; not checked in: scan first.
        assert response.context["step"] == ("closed" if case == "not_arrived" else "screen")
        assert bool(response.context.get("confirm")) == (case in ("fever", "a_yes"))
        assert (case in ("not_arrived", "no_consent")) == bool(response.context.get("error"))


# 接种 -----------------------------------------------------------------------------------


def test_the_shot_records_the_lot_starts_the_observation_and_leaves_dose_2_where_held(book, nurse, site_centre, today):
    first, second = book()
    clear(site_checkin(site=site_centre, resident=first.resident, checked_in_by=nurse), nurse)
    first.refresh_from_db()
    vaccination, held = site_vaccinate(appointment=first, lot_number=" NEWLOT1 ", vaccinator=nurse)
    assert (vaccination.dose_number, vaccination.site, vaccination.lot_number) == (1, site_centre, "NEWLOT1")
    assert (vaccination.vaccinator, vaccination.consent_recorded, vaccination.released_at) == (nurse, True, None)
    assert vaccination.observation_until - vaccination.vaccinated_at == datetime.timedelta(minutes=30)
    site_centre.refresh_from_db()
    assert site_centre.current_lot == "NEWLOT1"  # preselected for the next person
    assert held.pk == second.pk and Appointment.objects.get(pk=second.pk).date == today + 14 * DAY
    latest = first.history.first()
    assert (latest.history_type, latest.history_user, latest.status) == ("~", nurse, "vaccinated")


@pytest.mark.parametrize(
    ("case", "status", "doses", "says"),
    [
        ("not_screened", 200, 0, "预检未通过"),
        ("screened_yesterday", 200, 0, "预检未通过"),  # a screening holds for its own day
        ("dose_2_to_move", 200, 1, ""),  # dose 2 moved to the interval after today
        ("already_given", 200, 1, ""),  # a repeat answers with the dose recorded
        ("another_sites_team", 404, 0, ""),
        ("no_lot", 200, 0, ""),  # asked again
    ],
)
def test_each_kind_of_shot_is_decided_by_the_shot_service(
    case, status, doses, says, client, book, nurse, other_nurse, site_centre, today
):
    first, second = book()
    if case == "dose_2_to_move":
        hold_dose_2_at(second, today + 13 * DAY)
    arrived = site_checkin(site=site_centre, resident=first.resident, checked_in_by=nurse)
    if case != "not_screened":
        screening = clear(arrived, nurse)
    if case == "screened_yesterday":
        PreScreening.objects.filter(pk=screening.pk).update(screened_at=timezone.now() - DAY)
    if case == "already_given":
        site_vaccinate(appointment=arrived, lot_number="L1", vaccinator=nurse)
    client.force_login(other_nurse if case == "another_sites_team" else nurse)
    response = post(
        client, "vaccinate", first.pk, lot_number="" if case == "no_lot" else "L1", injection_site="left_arm"
    )
    assert response.status_code == status
    assert Vaccination.objects.count() == doses
    if status == 200:
        # Not cleared today: the screening is asked (again); no lot: the shot form again.
        assert response.context["step"] == ("done" if doses else "shot" if case == "no_lot" else "screen")
        assert says in (response.context.get("error") or "")
    if case == "dose_2_to_move":
        assert Appointment.objects.get(pk=second.pk).date == today + 14 * DAY


def test_dose_1_came_a_day_late_then_the_shot_moves_dose_2(team, book, today):
    first, second = book()
    hold_dose_2_at(second, today + 13 * DAY)  # as if dose 1 had been booked for yesterday
    post(team, "scan", q=first.token)
    post(team, "screen", first.pk, **screen_data())
    page = post(team, "vaccinate", first.pk, lot_number="L1", injection_site="left_arm")
    second.refresh_from_db()
    assert second.date == today + 14 * DAY
    assert (today + 14 * DAY).isoformat() in page.content.decode()


# Through the views: the short way and its cost ---------------------------------------------


def test_each_step_of_an_ordinary_person_stays_within_a_few_queries(team, book, django_assert_max_num_queries):
    # Counted with the transaction's two statements (BEGIN and COMMIT, here a savepoint and its release),
    # after the user and role are cached. Before the services were made cheap: 6 + 3 + 6 and the two each.
    first, second = book()
    nurse_on_shift = Vaccinator.objects.create(site=first.site, name="王护士")
    post(team, "shift", first.pk, vaccinator=nurse_on_shift.pk)  # picked once per shift, before the queue
    # + 1 each for the scan and the screening: the campaign's screening questions (campaign.screening)
    with django_assert_max_num_queries(6 + 1):  # site, slip with any dose given, guarded update, history
        response = post(team, "scan", q=first.token)
    assert response.context["step"] == "screen" and response["HX-Trigger"] == "site-changed"
    with django_assert_max_num_queries(4 + 1 + 1):  # appointment, screening; questions; the lots the shot form offers
        response = post(team, "screen", first.pk, **screen_data())
    assert response.context["step"] == "shot"
    # the appointment and the next dose's, locked, with the latest screening; dose, status, history,
    # the site's lot in use (a new lot here); and the next dose's message to the resident (dose_due_queue):
    # the office's switch, the outbox row in a savepoint; the shift's vaccinator and the dose's history row;
    # whether the campaign tracks lots (sites.supply)
    with django_assert_max_num_queries(7 + 4 + 2 + 1):
        response = post(team, "vaccinate", first.pk, lot_number="L7", injection_site="left_arm")
    assert response.context["step"] == "done" and response.context["held"] == second
    assert Vaccination.objects.get().lot_number == "L7"
    assert Vaccination.objects.get().given_by == nurse_on_shift


def test_an_ordinary_dose_2_goes_from_scan_to_the_complete_course(team, book, site_centre, today):
    first, second = book()
    Appointment.objects.filter(pk=first.pk).update(date=today - 14 * DAY, status="vaccinated")
    VaccinationFactory(
        resident=first.resident,
        dose_number=1,
        site=site_centre,
        appointment=first,
        vaccinated_at=timezone.now() - 14 * DAY,
    )
    hold_dose_2_at(second, today)
    assert post(team, "scan", q=second.token).context["step"] == "screen"
    assert post(team, "screen", second.pk, **screen_data(temperature="36.4")).context["step"] == "shot"
    done = post(team, "vaccinate", second.pk, lot_number="L2", injection_site="left_arm").content.decode()
    assert 'data-step="done"' in done and "已完成全程接种" in done  # the course is complete
    dose = Vaccination.objects.get(resident=first.resident, dose_number=2)
    assert (dose.site, dose.lot_number, dose.appointment_id) == (site_centre, "L2", second.pk)


def test_a_plain_request_is_redirected_to_the_persons_panel(client, book, nurse):
    first, _ = book()
    client.force_login(nurse)
    response = client.post(reverse("sites:scan"), {"q": first.token})
    assert response.status_code == 302 and response["Location"].endswith(f"?a={first.pk}")
    assert 'data-step="screen"' in client.get(response["Location"]).content.decode()


# Races: real threads, real PostgreSQL connections ---------------------------------------


def _race(count, action):
    results, errors = at_once(count, action)
    assert errors == []
    return results


def _browser(user):
    browser = Client()
    browser.force_login(user)
    return browser


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_submits_of_one_shot_through_the_views_record_one_dose(book, nurse, site_centre):
    first, second = book()
    clear(site_checkin(site=site_centre, resident=first.resident, checked_in_by=nurse), nurse)
    browsers = [_browser(nurse) for _ in range(20)]
    pages = _race(
        20,
        lambda: post(
            browsers.pop(), "vaccinate", first.pk, lot_number="L1", injection_site="left_arm"
        ).content.decode(),
    )
    assert len(pages) == 20 and all('data-step="done"' in page for page in pages)
    assert Vaccination.objects.count() == 1
    assert Appointment.objects.get(pk=second.pk).status == "booked"
    assert first.history.filter(status="vaccinated").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_scans_of_one_slip_check_in_once(book, nurse):
    first, _ = book()
    browsers = [_browser(nurse) for _ in range(20)]
    pages = _race(20, lambda: post(browsers.pop(), "scan", q=first.token).content.decode())
    assert len(pages) == 20 and all('data-step="screen"' in page for page in pages)
    assert first.history.filter(status="arrived").count() == 1
    assert Appointment.objects.filter(resident=first.resident, status="arrived").count() == 1
