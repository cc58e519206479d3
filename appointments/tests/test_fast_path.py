"""The workstation's one-statement steps (appointments.fast_path) against the full path in the services.

Each statement must record exactly what the services record for an ordinary person, and must
change nothing (returning None) for anyone else, so that the services decide and explain.
"""

import datetime
import threading

import pytest
from django.db import connection
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appointments import fast_path
from appointments.models import Appointment, PreScreening, Vaccination
from appointments.services import (
    appointment_book_pair,
    site_checkin,
    site_days_ensure,
    site_prescreen,
    site_vaccinate,
)
from appointments.tests.factories import VaccinationFactory
from residents.tests.factories import ResidentFactory
from sites.models import SiteDay

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

DAY = datetime.timedelta(days=1)
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def today():
    return timezone.localdate()


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


def clear(appointment, nurse):
    return site_prescreen(appointment=appointment, answers={}, temperature="36.6", consent=True, screened_by=nurse)


def hold_dose_2_at(second, day):
    """Move a held dose 2 with its place (site-day counters included), rules aside: a test's set-up."""
    SiteDay.objects.filter(site=second.site, date=second.date).update(booked=F("booked") - 1)
    SiteDay.objects.filter(site=second.site, date=day).update(booked=F("booked") + 1)
    Appointment.objects.filter(pk=second.pk).update(date=day)


def unchanged():
    """The rows and history rows a declined statement must leave as they were."""
    history = Appointment.history.model
    return (
        list(Appointment.objects.order_by("pk").values_list("pk", "status", "date")),
        history.objects.count(),
        PreScreening.objects.count(),
        Vaccination.objects.count(),
    )


def statements(queries):
    # Not counted: the savepoint inside the test's transaction, and preparing once per connection.
    return [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE", "PREPARE"))]


# 登记 -----------------------------------------------------------------------------------


def test_an_ordinary_slip_is_checked_in_by_one_statement_with_its_history_row(book, nurse, today):
    first, second = book()
    with CaptureQueriesContext(connection) as queries:
        step = fast_path.checkin_by_token(token=first.token, user=nurse, today=today)
    assert len(statements(queries)) == 1
    assert step.appointment.pk == first.pk and step.appointment.resident.name == first.resident.name
    first.refresh_from_db()
    assert first.status == "arrived"
    latest = first.history.first()
    assert (latest.history_type, latest.history_user, latest.status) == ("~", nurse, "arrived")
    second.refresh_from_db()
    assert second.status == "booked"


def test_the_statement_writes_the_history_row_the_service_writes(book, nurse, site_centre, today):
    fast, _ = book()
    slow, _ = book()
    fast_path.checkin_by_token(token=fast.token, user=nurse, today=today)
    site_checkin(site=site_centre, resident=slow.resident, checked_in_by=nurse)
    fields = ["history_type", "history_user_id", "history_change_reason", "status", "date", "site_id", "walk_in"]
    assert list(fast.history.values(*fields)) == list(slow.history.values(*fields))


@pytest.mark.parametrize(
    "case",
    [
        "booked_tomorrow",
        "another_sites_team",
        "deferred_resident",
        "already_arrived",
        "cancelled",
        "unknown_token",
        "dose_1_given_today",
    ],
)
def test_a_slip_out_of_the_ordinary_is_left_to_the_service(case, book, nurse, other_nurse, today):
    first, second = book(day=today + DAY if case == "booked_tomorrow" else today)
    token, user = first.token, nurse
    if case == "another_sites_team":
        user = other_nurse
    elif case == "deferred_resident":
        first.resident.__class__.objects.filter(pk=first.resident_id).update(status="deferred")
    elif case == "already_arrived":
        Appointment.objects.filter(pk=first.pk).update(status="arrived")
    elif case == "cancelled":
        Appointment.objects.filter(pk=first.pk).update(status="cancelled")
    elif case == "unknown_token":
        token = "x" * 22
    elif case == "dose_1_given_today":
        # Dose 2's slip scanned the day dose 1 was given: never a second dose on one day.
        VaccinationFactory(resident=first.resident, dose_number=1, site=first.site, appointment=first)
        Appointment.objects.filter(pk=second.pk).update(date=today)
        token = second.token
    before = unchanged()
    assert fast_path.checkin_by_token(token=token, user=user, today=today) is None
    assert unchanged() == before


def test_dose_2_is_checked_in_at_14_days_and_left_to_the_service_at_13(book, nurse, today):
    for days, expected in [(13, None), (14, "arrived")]:
        first, second = book()
        Appointment.objects.filter(pk=first.pk).update(date=today - days * DAY)
        VaccinationFactory(
            resident=first.resident,
            dose_number=1,
            site=first.site,
            appointment=first,
            vaccinated_at=timezone.now() - days * DAY,
        )
        Appointment.objects.filter(pk=first.pk).update(status="vaccinated")
        Appointment.objects.filter(pk=second.pk).update(date=today)
        step = fast_path.checkin_by_token(token=second.token, user=nurse, today=today)
        second.refresh_from_db()
        assert (step and step.appointment.status) == expected
        assert second.status == (expected or "booked")


# 预检 -----------------------------------------------------------------------------------


def test_a_clean_screening_is_recorded_as_the_service_records_it(book, nurse, site_centre):
    fast, _ = book()
    slow, _ = book()
    for appointment in (fast, slow):
        site_checkin(site=site_centre, resident=appointment.resident, checked_in_by=nurse)
    with CaptureQueriesContext(connection) as queries:
        step, lot = fast_path.prescreen_clear(pk=fast.pk, answers={}, temperature=36.6, consent=True, user=nurse)
    assert len(statements(queries)) == 1
    assert lot == site_centre.current_lot and step.screening.outcome == "cleared"
    slow.refresh_from_db()
    clear(slow, nurse)
    fields = ["temperature", "consent", "outcome", "reasons", "override_reason", "screened_by", "pregnant", "fever"]
    assert list(PreScreening.objects.filter(appointment=fast).values(*fields)) == list(
        PreScreening.objects.filter(appointment=slow).values(*fields)
    )


@pytest.mark.parametrize(
    "case", ["not_arrived", "deferred_resident", "another_sites_team", "fever", "no_consent", "a_yes", "no_temperature"]
)
def test_a_screening_out_of_the_ordinary_is_left_to_the_service(case, book, nurse, other_nurse, site_centre):
    first, _ = book()
    if case != "not_arrived":
        site_checkin(site=site_centre, resident=first.resident, checked_in_by=nurse)
    if case == "deferred_resident":
        # Their record changes with a clean screening: the service does that.
        first.resident.__class__.objects.filter(pk=first.resident_id).update(status="deferred")
    before = unchanged()
    user = other_nurse if case == "another_sites_team" else nurse
    temperature = {"fever": 37.3, "no_temperature": None}.get(case, 36.6)
    answers = {"severe_allergy": True} if case == "a_yes" else {"severe_allergy": False}
    consent = case != "no_consent"
    recorded = fast_path.prescreen_clear(
        pk=first.pk, answers=answers, temperature=temperature, consent=consent, user=user
    )
    assert recorded is None
    assert unchanged() == before


# 接种 -----------------------------------------------------------------------------------


def test_an_ordinary_shot_is_recorded_by_one_statement_as_the_service_records_it(book, nurse, site_centre, today):
    fast, fast_second = book()
    slow, slow_second = book()
    for appointment in (fast, slow):
        clear(site_checkin(site=site_centre, resident=appointment.resident, checked_in_by=nurse), nurse)
    with CaptureQueriesContext(connection) as queries:
        step = fast_path.vaccinate_ordinary(pk=fast.pk, lot_number=" NEWLOT1 ", user=nurse)
    assert len(statements(queries)) == 1
    assert step.held.pk == fast_second.pk and step.held.date == today + 14 * DAY
    slow.refresh_from_db()
    site_centre.refresh_from_db()
    assert site_centre.current_lot == "NEWLOT1"
    site_vaccinate(appointment=slow, lot_number="NEWLOT1", vaccinator=nurse)
    fields = ["dose_number", "site", "lot_number", "vaccinator", "consent_recorded", "released_at"]
    made = Vaccination.objects.get(appointment=fast)
    assert [getattr(made, f) for f in fields] == [getattr(Vaccination.objects.get(appointment=slow), f) for f in fields]
    assert made.observation_until - made.vaccinated_at == datetime.timedelta(minutes=30)
    history = ["history_type", "history_user_id", "history_change_reason", "status", "date"]
    assert list(fast.history.values(*history)) == list(slow.history.values(*history))
    # Dose 2 stays where it was held, as the service leaves it.
    assert Appointment.objects.get(pk=fast_second.pk).date == Appointment.objects.get(pk=slow_second.pk).date


@pytest.mark.parametrize(
    "case", ["not_screened", "screened_yesterday", "dose_2_to_move", "already_given", "another_sites_team", "no_lot"]
)
def test_a_shot_out_of_the_ordinary_is_left_to_the_service(case, book, nurse, other_nurse, site_centre, today):
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
    before = unchanged()
    user = other_nurse if case == "another_sites_team" else nurse
    lot = "" if case == "no_lot" else "L1"
    assert fast_path.vaccinate_ordinary(pk=first.pk, lot_number=lot, user=user) is None
    assert unchanged() == before


def test_dose_1_came_a_day_late_then_the_service_moves_dose_2(client, book, nurse, site_centre, today):
    first, second = book()
    hold_dose_2_at(second, today + 13 * DAY)  # as if dose 1 had been booked for yesterday
    client.force_login(nurse)
    client.post(reverse("appointments:site_scan"), {"q": first.token}, **HX)
    client.post(reverse("appointments:site_screen", args=[first.pk]), {"temperature": "36.5", "consent": "on"}, **HX)
    page = client.post(reverse("appointments:site_vaccinate", args=[first.pk]), {"lot_number": "L1"}, **HX)
    second.refresh_from_db()
    assert second.date == today + 14 * DAY
    assert (today + 14 * DAY).isoformat() in page.content.decode()


# Through the views --------------------------------------------------------------------


def snapshot(resident):
    """What the workstation recorded for a person, without ids and times."""
    appointments = [
        (
            a.dose_number,
            a.status,
            a.date,
            a.walk_in,
            [(h.history_type, h.status, h.history_user_id) for h in a.history.all()],
        )
        for a in resident.appointments.order_by("dose_number")
    ]
    screenings = list(
        PreScreening.objects.filter(appointment__resident=resident).values_list(
            "temperature", "consent", "outcome", "reasons", "screened_by"
        )
    )
    doses = list(resident.vaccinations.values_list("dose_number", "site", "lot_number", "vaccinator", "released_at"))
    return appointments, screenings, doses


def test_the_workstation_records_the_same_with_and_without_the_statements(
    client, book, nurse, monkeypatch, django_assert_max_num_queries
):
    client.force_login(nurse)
    client.get(reverse("appointments:site_home"))
    taken = []  # what each statement returned: with the statements on, all three must have recorded
    for name in ("checkin_by_token", "prescreen_clear", "vaccinate_ordinary"):
        step = getattr(fast_path, name)
        monkeypatch.setattr(fast_path, name, lambda *a, _step=step, **k: taken.append(_step(*a, **k)) or taken[-1])
    pages = {}
    people = {}
    for statements_on in (True, False):
        monkeypatch.setattr(fast_path, "enabled", lambda on=statements_on: on)
        first, _ = book()
        people[statements_on] = first.resident
        steps = [
            (reverse("appointments:site_scan"), {"q": first.token}),
            (reverse("appointments:site_screen", args=[first.pk]), {"temperature": "36.5", "consent": "on"}),
            (reverse("appointments:site_vaccinate", args=[first.pk]), {"lot_number": "L7"}),
        ]
        pages[statements_on] = []
        for url, data in steps:
            with django_assert_max_num_queries(4 if statements_on else 20):
                response = client.post(url, data, **HX)
            assert response.status_code == 200 and response["HX-Trigger"] == "site-changed"
            pages[statements_on].append(response.content.decode())
    assert len(taken) == 3 and all(taken)  # the first person went the one-statement way, the second not at all
    assert snapshot(people[True]) == snapshot(people[False])
    assert all("L7" in pages[on][-1] for on in (True, False))
    for fast_page, full_page in zip(pages[True], pages[False], strict=True):
        # The same panel, but for the person's name, ID and the ids in the URLs.
        assert fast_page.count("data-step=") == full_page.count("data-step=")
        for marker in ['data-step="screen"', 'data-step="shot"', 'data-step="done"', "36.5"]:
            assert (marker in fast_page) == (marker in full_page)


def test_a_plain_request_is_redirected_to_the_persons_panel(client, book, nurse):
    first, _ = book()
    client.force_login(nurse)
    response = client.post(reverse("appointments:site_scan"), {"q": first.token})
    assert response.status_code == 302 and response["Location"].endswith(f"?a={first.pk}")
    assert 'data-step="screen"' in client.get(response["Location"]).content.decode()


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_submits_of_one_shot_through_the_views_record_one_dose(book, nurse, site_centre):
    first, second = book()
    clear(site_checkin(site=site_centre, resident=first.resident, checked_in_by=nurse), nurse)
    barrier = threading.Barrier(20)
    pages = []

    def submit():
        try:
            browser = Client()
            browser.force_login(nurse)
            barrier.wait()
            response = browser.post(reverse("appointments:site_vaccinate", args=[first.pk]), {"lot_number": "L1"}, **HX)
            pages.append(response.content.decode())
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(pages) == 20 and all('data-step="done"' in page for page in pages)
    assert Vaccination.objects.count() == 1
    assert Appointment.objects.get(pk=second.pk).status == "booked"
    assert first.history.filter(status="vaccinated").count() == 1


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_scans_of_one_slip_check_in_once(book, nurse, today):
    first, _ = book()
    barrier = threading.Barrier(20)
    found = []

    def scan():
        try:
            barrier.wait()
            found.append(fast_path.checkin_by_token(token=first.token, user=nurse, today=today))
        finally:
            connection.close()

    threads = [threading.Thread(target=scan) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(step is not None for step in found) == 1
    assert first.history.filter(status="arrived").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_statement_the_server_forgot_is_prepared_again(book, nurse, today):
    first, _ = book()
    second, _ = book()
    assert fast_path.checkin_by_token(token=first.token, user=nurse, today=today) is not None
    with connection.cursor() as cursor:
        cursor.execute("DISCARD ALL")  # what a pooler in session mode does between clients
    assert fast_path.checkin_by_token(token=second.token, user=nurse, today=today) is not None


def test_an_ordinary_dose_2_goes_from_scan_to_shot_in_one_statement_each(client, book, nurse, site_centre, today):
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
    client.force_login(nurse)
    client.get(reverse("appointments:site_home"))  # the user and role are now cached
    taken = []
    with CaptureQueriesContext(connection) as queries:
        for url, data in [
            (reverse("appointments:site_scan"), {"q": second.token}),
            (reverse("appointments:site_screen", args=[second.pk]), {"temperature": "36.4", "consent": "on"}),
            (reverse("appointments:site_vaccinate", args=[second.pk]), {"lot_number": "L2"}),
        ]:
            taken.append(client.post(url, data, **HX).content.decode())
    assert len(statements(queries)) == 3
    assert 'data-step="done"' in taken[-1] and "已完成全程接种" in taken[-1]  # the course is complete
    dose = Vaccination.objects.get(resident=first.resident, dose_number=2)
    assert (dose.site, dose.lot_number, dose.appointment_id) == (site_centre, "L2", second.pk)
