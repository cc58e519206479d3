"""After the check-in: the arrived-waiting list (已到场待接种), the walk-in registered on the spot who is
not asked the six questions twice, and the daily list's check-in per row."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment
from appointments.services import appointment_book_pair
from residents.models import Resident
from residents.tests.factories import ResidentFactory, id_number_for
from sites.models import PreScreening
from sites.selectors import registration_answers, site_waiting
from sites.services import site_checkin, site_checkin_booked, site_prescreen, site_vaccinate
from sites.tests.factories import VaccinationFactory

pytestmark = pytest.mark.django_db

MINUTE = datetime.timedelta(minutes=1)
DAY = datetime.timedelta(days=1)
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def team(client, site_team_jiangdian):
    client.force_login(site_team_jiangdian)
    return client


def book(village, name, day):
    first, _second = appointment_book_pair(resident=ResidentFactory(village=village, name=name), day=day)
    return first


def arrive(appointment, user, at):
    with _clock(at):
        return site_checkin(site=appointment.site, resident=appointment.resident, checked_in_by=user)


def _clock(at):
    from unittest import mock

    return mock.patch("django.utils.timezone.now", return_value=at)


# The waiting list ----------------------------------------------------------------


def test_the_waiting_list_shows_who_arrived_longest_waiting_first_with_the_minutes(
    honghe, days, today, site_jiangdian, site_team_jiangdian
):
    now = timezone.now()
    late = book(honghe, "李四", today)
    early = book(honghe, "张三丰", today)
    book(honghe, "王五", today)  # booked, not come yet
    arrive(late, site_team_jiangdian, now - 5 * MINUTE)
    arrive(early, site_team_jiangdian, now - 25 * MINUTE)
    waiting = site_waiting(site=site_jiangdian, day=today, now=now)
    assert [(w.appointment.resident.name, w.minutes, w.cleared) for w in waiting] == [
        ("张三丰", 25, False),
        ("李四", 5, False),
    ]


def test_the_waiting_list_moves_as_screenings_and_doses_are_recorded(
    honghe, days, today, site_jiangdian, site_team_jiangdian
):
    appointment = site_checkin(
        site=site_jiangdian, resident=book(honghe, "张三丰", today).resident, checked_in_by=site_team_jiangdian
    )
    site_prescreen(
        appointment=appointment, answers={}, temperature="36.5", consent=True, screened_by=site_team_jiangdian
    )
    assert [w.cleared for w in site_waiting(site=site_jiangdian, day=today)] == [True]
    site_vaccinate(appointment=appointment, lot_number="202611A01", vaccinator=site_team_jiangdian)
    assert site_waiting(site=site_jiangdian, day=today) == []


def test_someone_who_arrived_yesterday_and_left_is_waiting_again_from_today(
    honghe, days, today, site_jiangdian, site_team_jiangdian
):
    appointment = book(honghe, "张三丰", today)
    arrive(appointment, site_team_jiangdian, timezone.now() - DAY)
    Appointment.objects.filter(pk=appointment.pk).update(date=today - DAY)  # arrived yesterday, left unvaccinated
    site_checkin(site=site_jiangdian, resident=appointment.resident, checked_in_by=site_team_jiangdian)
    appointment.refresh_from_db()
    assert (appointment.date, appointment.status) == (today, "arrived")  # saved, not only in memory
    (waiting,) = site_waiting(site=site_jiangdian, day=today)
    assert waiting.minutes == 0


def test_the_workstation_shows_the_waiting_list_and_opens_an_arrival_from_it(
    team, honghe, days, today, site_team_jiangdian
):
    appointment = book(honghe, "张三丰", today)
    arrive(appointment, site_team_jiangdian, timezone.now() - 12 * MINUTE)
    html = team.get(reverse("sites:workstation")).content.decode()
    assert "已到场待接种" in html and "已等 12 分钟" in html and "待预检" in html
    part = team.get(reverse("sites:waiting"), **HX).content.decode()
    assert 'data-testid="waiting-row"' in part
    panel = team.get(reverse("sites:arrival", args=[appointment.pk]), **HX)
    assert panel.context["step"] == "screen" and panel.context["appointment"] == appointment


def test_another_sites_arrival_cannot_be_opened(team, qingshan, days, today, site_team_centre):
    appointment = book(qingshan, "张三丰", today)
    site_checkin(site=appointment.site, resident=appointment.resident, checked_in_by=site_team_centre)
    assert team.get(reverse("sites:arrival", args=[appointment.pk]), **HX).status_code == 404


# The walk-in registered on the spot ------------------------------------------------


def register(client, village):
    values = {
        "village": village.pk,
        "name": "钱多多",
        "id_number": id_number_for(4242),
        "phone": "13912345678",
        "basis": "residence",
        "priority_group": "general",
    }
    return client.post(reverse("sites:register"), values)


def test_a_walk_in_registered_on_the_spot_is_not_asked_the_six_questions_again(team, honghe, days, today):
    response = register(team, honghe)
    page = team.get(response.url)
    assert page.context["step"] == "screen" and page.context["answered_at_registration"]
    html = page.content.decode()
    assert "不再重复询问" in html and 'data-testid="answered-at-registration"' in html
    appointment = page.context["appointment"]
    # Temperature and consent only: the answers given at registration are the screening's.
    shot = team.post(reverse("sites:screen", args=[appointment.pk]), {"temperature": "36.6", "consent": "on"}, **HX)
    assert shot.context["step"] == "shot"
    assert PreScreening.objects.get(appointment=appointment).outcome == PreScreening.Outcome.CLEARED


def test_answers_given_at_registration_hold_only_for_that_visit(
    honghe, days, today, site_jiangdian, site_team_jiangdian, cadre_honghe
):
    by_the_village = ResidentFactory(village=honghe, registered_by=cadre_honghe)
    walk_in = site_checkin(site=site_jiangdian, resident=by_the_village, checked_in_by=site_team_jiangdian)
    assert registration_answers(appointment=walk_in, on=today) is None  # the village asked: ask again here
    at_the_desk = ResidentFactory(
        village=honghe, registered_by=site_team_jiangdian, registered_at=timezone.now() - 2 * DAY
    )
    walk_in = site_checkin(site=site_jiangdian, resident=at_the_desk, checked_in_by=site_team_jiangdian)
    assert registration_answers(appointment=walk_in, on=today) is None  # another day's visit
    Resident.objects.filter(pk=at_the_desk.pk).update(registered_at=timezone.now())
    assert registration_answers(appointment=walk_in, on=today) == {
        "pregnant": False,
        "severe_allergy": False,
        "neuro_history": False,
        "fever": False,
        "acute_illness": False,
        "severe_chronic": False,
    }


def test_a_booked_person_is_still_asked_every_question(team, honghe, days, today, site_team_jiangdian):
    appointment = book(honghe, "张三丰", today)
    site_checkin(site=appointment.site, resident=appointment.resident, checked_in_by=site_team_jiangdian)
    page = team.get(reverse("sites:workstation") + f"?a={appointment.pk}")
    assert page.context["step"] == "screen" and not page.context["answered_at_registration"]


# The daily list's check-in per row --------------------------------------------------


def test_a_daily_list_row_checks_the_person_in_as_their_slip_would(
    team, honghe, days, today, site_jiangdian, site_team_jiangdian
):
    appointment = book(honghe, "张三丰", today)
    page = team.get(reverse("daily:list") + f"?date={today.isoformat()}").content.decode()
    assert reverse("sites:check_in", args=[appointment.pk]) in page
    response = team.post(reverse("sites:check_in", args=[appointment.pk]), {"number": "1"}, **HX)
    appointment.refresh_from_db()
    assert appointment.status == "arrived" and response["HX-Trigger"] == "site-changed"
    row = response.content.decode()
    assert 'data-status="arrived"' in row and "已签到" in row and "去工作台" in row


def test_a_plain_post_from_the_daily_list_comes_back_to_the_list(team, honghe, days, today):
    appointment = book(honghe, "张三丰", today)
    response = team.post(reverse("sites:check_in", args=[appointment.pk]))
    assert response.status_code == 302 and response.url.startswith(reverse("daily:list"))
    assert f"date={today.isoformat()}" in response.url


def test_a_blocked_row_says_why_and_checks_nobody_in(team, honghe, days, today, site_jiangdian, site_team_jiangdian):
    resident = ResidentFactory(village=honghe, name="李四")
    VaccinationFactory(resident=resident, site=site_jiangdian, vaccinated_at=timezone.now() - 5 * DAY)
    appointment = Appointment.objects.create(resident=resident, dose_number=2, site=site_jiangdian, date=today)
    result = site_checkin_booked(site=site_jiangdian, pk=appointment.pk, checked_in_by=site_team_jiangdian)
    assert result.blocked and result.appointment is None
    row = team.post(reverse("sites:check_in", args=[appointment.pk]), **HX).content.decode()
    assert "过早" in row and 'data-status="booked"' in row


def test_the_check_in_column_is_only_for_the_site_team_on_the_day(client, team, honghe, days, today, office):
    appointment = book(honghe, "张三丰", today + DAY)
    tomorrow = team.get(reverse("daily:list")).content.decode()
    assert reverse("sites:check_in", args=[appointment.pk]) not in tomorrow
    client.force_login(office)
    html = client.get(reverse("daily:list") + f"?site={appointment.site_id}&date={today.isoformat()}")
    assert not html.context["can_check_in"]


def test_another_sites_row_cannot_be_checked_in(team, qingshan, days, today):
    appointment = book(qingshan, "张三丰", today)
    assert team.post(reverse("sites:check_in", args=[appointment.pk]), **HX).status_code == 404
    appointment.refresh_from_db()
    assert appointment.status == "booked"


def test_the_daily_list_prints_with_sign_in_columns_and_a_print_button(team, honghe, days, today):
    book(honghe, "张三丰", today)
    html = team.get(reverse("daily:list") + f"?date={today.isoformat()}").content.decode()
    assert "data-print" in html and "本人签字（签到）" in html and "到场时间" in html
    assert "css/daily_list.css" in html


def test_the_site_teams_menu_leads_to_the_workstation(team, days):
    html = team.get(reverse("daily:list")).content.decode()
    assert f'href="{reverse("sites:workstation")}" data-testid="nav-workstation"' in html


def test_the_office_watches_the_waiting_list_read_only(client, office, honghe, days, today, site_team_jiangdian):
    appointment = book(honghe, "张三丰", today)
    site_checkin(site=appointment.site, resident=appointment.resident, checked_in_by=site_team_jiangdian)
    client.force_login(office)
    html = client.get(reverse("sites:watch", args=[appointment.site_id])).content.decode()
    assert 'data-testid="waiting-row"' in html and 'data-testid="open-arrival"' not in html
    part = client.get(reverse("sites:watch_waiting", args=[appointment.site_id]), **HX).content.decode()
    assert "张三丰" in part and 'data-testid="open-arrival"' not in part


def test_a_row_checked_in_on_another_day_than_booked_says_so(team, honghe, days, today):
    appointment = book(honghe, "张三丰", today + 2 * DAY)
    row = team.post(reverse("sites:check_in", args=[appointment.pk]), **HX).content.decode()
    appointment.refresh_from_db()
    assert (appointment.date, appointment.status) == (today, "arrived")
    assert "已签到" in row and (today + 2 * DAY).isoformat() in row
