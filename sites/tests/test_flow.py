import datetime
import threading

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.utils import timezone

from appointments.models import Appointment
from appointments.services import BookingRefused, DayFull, OutsideWindow, appointment_book_pair
from residents.tests.factories import ResidentFactory
from sites.capacity import site_days_ensure
from sites.models import PreScreening, SiteDay, Vaccination
from sites.selectors import site_day_live, site_lookup
from sites.services import observation_release, site_checkin, site_prescreen, site_vaccinate
from sites.tests.factories import VaccinationFactory

DAY = datetime.timedelta(days=1)


@pytest.fixture
def booked(qingshan, today):
    site_days_ensure(campaign=qingshan.campaign)
    resident = ResidentFactory(village=qingshan, name="张三丰")
    first, second = appointment_book_pair(resident=resident, day=today)
    return first, second


@pytest.fixture
def nurse(site_team_centre):
    return site_team_centre


@pytest.fixture
def doctor(nurse):
    nurse.groups.add(Group.objects.get(name="site_doctor"))
    return type(nurse).objects.get(pk=nurse.pk)  # fresh permission cache


def clear(appointment, nurse):
    return site_prescreen(appointment=appointment, answers={}, temperature="36.6", consent=True, screened_by=nurse)


@pytest.mark.django_db
def test_the_whole_flow_from_scan_to_release(booked, nurse, site_centre, today):
    first, second = booked
    found = site_lookup(site=site_centre, query=first.token, on=today)
    assert found.resident == first.resident and found.appointment == first and not found.warnings
    arrived = site_checkin(site=site_centre, resident=found.resident, checked_in_by=nurse)
    assert arrived.status == "arrived"
    assert clear(arrived, nurse).outcome == "cleared"
    vaccination, held = site_vaccinate(appointment=arrived, lot_number="202611A01", vaccinator=nurse)
    assert (vaccination.dose_number, vaccination.site) == (1, site_centre)
    assert vaccination.observation_until - vaccination.vaccinated_at == datetime.timedelta(minutes=30)
    assert held.pk == second.pk and held.date == today + 14 * DAY
    live = site_day_live(site=site_centre, day=today)
    assert (live["vaccinated"], live["observing"]) == (1, 1)
    assert observation_release(vaccination=vaccination)
    assert not observation_release(vaccination=vaccination)
    assert site_day_live(site=site_centre, day=today)["observing"] == 0
    site_centre.refresh_from_db()
    assert site_centre.current_lot == "202611A01"


@pytest.mark.django_db
def test_lookup_by_full_id_number_and_by_last_6_digits_with_the_name(booked, site_centre, today):
    resident = booked[0].resident
    assert site_lookup(site=site_centre, query=resident.id_number.lower(), on=today).resident == resident
    assert site_lookup(site=site_centre, query=f"{resident.id_number[-6:]} 张三丰", on=today).resident == resident
    assert site_lookup(site=site_centre, query=f"张三丰{resident.id_number[-6:]}", on=today).resident == resident
    assert site_lookup(site=site_centre, query="000000 张三丰", on=today).problem


@pytest.mark.django_db
def test_a_double_scan_checks_in_once(booked, nurse, site_centre):
    first = site_checkin(site=site_centre, resident=booked[0].resident, checked_in_by=nurse)
    again = site_checkin(site=site_centre, resident=booked[0].resident, checked_in_by=nurse)
    assert first.pk == again.pk
    assert SiteDay.objects.get(site=site_centre, date=first.date).booked == 1


@pytest.mark.django_db
def test_a_double_submit_records_one_dose(booked, nurse, site_centre):
    arrived = site_checkin(site=site_centre, resident=booked[0].resident, checked_in_by=nurse)
    clear(arrived, nurse)
    one, _ = site_vaccinate(appointment=arrived, lot_number="L1", vaccinator=nurse)
    two, _ = site_vaccinate(appointment=arrived, lot_number="L1", vaccinator=nurse)
    assert one.pk == two.pk and Vaccination.objects.count() == 1


@pytest.mark.django_db
def test_no_shot_without_a_cleared_screening(booked, nurse, site_centre):
    arrived = site_checkin(site=site_centre, resident=booked[0].resident, checked_in_by=nurse)
    with pytest.raises(BookingRefused):
        site_vaccinate(appointment=arrived, lot_number="L1", vaccinator=nurse)


@pytest.mark.django_db
def test_no_shot_without_informed_consent(booked, nurse, site_centre):
    arrived = site_checkin(site=site_centre, resident=booked[0].resident, checked_in_by=nurse)
    with pytest.raises(BookingRefused):
        site_prescreen(appointment=arrived, answers={}, temperature="36.5", consent=False, screened_by=nurse)


@pytest.mark.django_db
def test_a_fever_at_the_site_defers_the_resident_and_gives_up_both_places(booked, nurse, site_centre):
    first, second = booked
    arrived = site_checkin(site=site_centre, resident=first.resident, checked_in_by=nurse)
    screening = site_prescreen(appointment=arrived, answers={}, temperature="37.8", consent=True, screened_by=nurse)
    assert (screening.outcome, screening.reasons) == ("deferred", ["fever"])
    resident = first.resident
    resident.refresh_from_db()
    assert (resident.status, resident.fever) == ("deferred", True)
    assert set(Appointment.objects.values_list("status", flat=True)) == {"cancelled"}
    with pytest.raises(BookingRefused):
        site_vaccinate(appointment=arrived, lot_number="L1", vaccinator=nurse)


@pytest.mark.django_db
def test_a_severe_allergy_excludes(booked, nurse, site_centre):
    arrived = site_checkin(site=site_centre, resident=booked[0].resident, checked_in_by=nurse)
    site_prescreen(appointment=arrived, answers={"severe_allergy": True}, consent=True, screened_by=nurse)
    assert type(booked[0].resident).objects.get(pk=booked[0].resident_id).status == "excluded"


@pytest.mark.django_db
def test_only_a_site_doctor_overrides_a_positive_screening_with_a_reason(booked, nurse, site_centre):
    arrived = site_checkin(site=site_centre, resident=booked[0].resident, checked_in_by=nurse)
    with pytest.raises(BookingRefused):
        site_prescreen(
            appointment=arrived,
            answers={"acute_illness": True},
            consent=True,
            screened_by=nurse,
            override_reason="轻微感冒已愈",
        )
    assert not PreScreening.objects.exists()


@pytest.mark.django_db
def test_a_site_doctor_override_is_recorded_and_allows_the_shot(booked, doctor, site_centre):
    arrived = site_checkin(site=site_centre, resident=booked[0].resident, checked_in_by=doctor)
    screening = site_prescreen(
        appointment=arrived,
        answers={"acute_illness": True},
        consent=True,
        screened_by=doctor,
        override_reason="慢性胃炎稳定期",
    )
    assert (screening.outcome, screening.override_reason) == ("overridden", "慢性胃炎稳定期")
    vaccination, _ = site_vaccinate(appointment=arrived, lot_number="L1", vaccinator=doctor)
    assert vaccination.pk


@pytest.mark.django_db
def test_dose_2_is_refused_at_13_days_and_accepted_at_14(qingshan, nurse, site_centre, today):
    site_days_ensure(campaign=qingshan.campaign)
    resident = ResidentFactory(village=qingshan)
    VaccinationFactory(resident=resident, site=site_centre, vaccinated_at=timezone.now() - 13 * DAY)
    with pytest.raises(OutsideWindow):
        site_checkin(site=site_centre, resident=resident, checked_in_by=nurse)
    Vaccination.objects.filter(resident=resident).update(
        vaccinated_at=timezone.now() - 14 * DAY,
        observation_until=timezone.now() - 14 * DAY + datetime.timedelta(minutes=30),
    )
    arrived = site_checkin(site=site_centre, resident=resident, checked_in_by=nurse)
    assert (arrived.dose_number, arrived.walk_in) == (2, True)
    clear(arrived, nurse)
    vaccination, held = site_vaccinate(appointment=arrived, lot_number="L2", vaccinator=nurse)
    assert vaccination.dose_number == 2 and held is None


@pytest.mark.django_db
def test_dose_2_is_never_given_at_another_site(qingshan, site_jiangdian, today):
    from campaign.roles import Role
    from campaign.tests.factories import user_with_role

    site_days_ensure(campaign=qingshan.campaign)
    other_nurse = user_with_role(Role.SITE_TEAM, site=site_jiangdian, username="nurse_jd")
    resident = ResidentFactory(village=qingshan)
    VaccinationFactory(resident=resident, site=qingshan.site, vaccinated_at=timezone.now() - 20 * DAY)
    with pytest.raises(BookingRefused, match="梅山社区卫生服务中心"):
        site_checkin(site=site_jiangdian, resident=resident, checked_in_by=other_nurse)
    assert site_lookup(site=site_jiangdian, query=resident.id_number, on=today).warnings[0][0] == "block"


@pytest.mark.django_db
def test_the_team_of_one_site_cannot_check_in_another_sites_resident(honghe, nurse, site_centre):
    site_days_ensure(campaign=honghe.campaign)
    with pytest.raises(BookingRefused):
        site_checkin(site=site_centre, resident=ResidentFactory(village=honghe), checked_in_by=nurse)


@pytest.mark.django_db
def test_a_walk_in_is_taken_while_today_has_room(qingshan, nurse, site_centre, today):
    site_days_ensure(campaign=qingshan.campaign)
    SiteDay.objects.filter(site=site_centre, date=today).update(capacity=1)
    first = site_checkin(site=site_centre, resident=ResidentFactory(village=qingshan), checked_in_by=nurse)
    assert first.walk_in and first.status == "arrived"
    with pytest.raises(DayFull):
        site_checkin(site=site_centre, resident=ResidentFactory(village=qingshan), checked_in_by=nurse)


@pytest.mark.django_db
def test_dose_1_on_another_day_than_booked_moves_dose_2(qingshan, nurse, site_centre, today):
    site_days_ensure(campaign=qingshan.campaign)
    resident = ResidentFactory(village=qingshan)
    _first, second = appointment_book_pair(resident=resident, day=today + 3 * DAY)
    arrived = site_checkin(site=site_centre, resident=resident, checked_in_by=nurse)  # came early
    assert arrived.date == today and arrived.walk_in
    clear(arrived, nurse)
    _vaccination, held = site_vaccinate(appointment=arrived, lot_number="L1", vaccinator=nurse)
    assert held.pk == second.pk and held.date >= today + 14 * DAY


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_submits_of_one_shot_record_one_dose(booked, nurse, site_centre):
    arrived = site_checkin(site=site_centre, resident=booked[0].resident, checked_in_by=nurse)
    clear(arrived, nurse)
    barrier = threading.Barrier(20)
    ids = []

    def submit():
        try:
            barrier.wait()
            vaccination, _ = site_vaccinate(appointment=arrived, lot_number="L1", vaccinator=nurse)
            ids.append(vaccination.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ids) == 20 and len(set(ids)) == 1
    assert Vaccination.objects.count() == 1
    assert Appointment.objects.filter(dose_number=2, status="booked").count() == 1


@pytest.mark.django_db
def test_a_screening_from_another_day_does_not_clear_todays_shot(qingshan, nurse, site_centre, today):
    # Screened yesterday, left before the shot, back today with the same (still arrived) appointment.
    site_days_ensure(campaign=qingshan.campaign)
    resident = ResidentFactory(village=qingshan)
    first, _second = appointment_book_pair(resident=resident, day=today)
    arrived = site_checkin(site=site_centre, resident=resident, checked_in_by=nurse)
    screening = clear(arrived, nurse)
    PreScreening.objects.filter(pk=screening.pk).update(screened_at=timezone.now() - DAY)
    with pytest.raises(BookingRefused):
        site_vaccinate(appointment=arrived, lot_number="L1", vaccinator=nurse)
    clear(arrived, nurse)
    vaccination, _held = site_vaccinate(appointment=arrived, lot_number="L1", vaccinator=nurse)
    assert vaccination.dose_number == 1


@pytest.mark.django_db
def test_the_live_counters_count_the_day_by_a_plain_time_range(booked, nurse, site_centre, today):
    # No date cast: an index on (site, vaccinated_at) serves the range, and on SQLite no Python
    # function runs inside the query (a live server thread sharing the test connection can deadlock on one).
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    arrived = site_checkin(site=site_centre, resident=booked[0].resident, checked_in_by=nurse)
    clear(arrived, nurse)
    site_vaccinate(appointment=arrived, lot_number="L1", vaccinator=nurse)
    VaccinationFactory(
        resident=ResidentFactory(village=booked[0].resident.village),
        site=site_centre,
        vaccinated_at=timezone.make_aware(datetime.datetime.combine(today, datetime.time.min))
        - datetime.timedelta(seconds=1),
    )
    with CaptureQueriesContext(connection) as queries:
        live = site_day_live(site=site_centre, day=today)
    assert (live["vaccinated"], live["observing"]) == (1, 1)
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "django_datetime_cast_date" not in sql and "AT TIME ZONE" not in sql
