"""The scan box finds people booked at the site by name (汉字 or pinyin initials), or by the phone's last
4 digits with the name, shows a short pick list of masked values, and checks in the one picked."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment
from appointments.services import appointment_book_pair
from campaign.lib.masking import mask_id_number
from residents.models import FullValueView, Resident
from residents.tests.factories import ResidentFactory
from sites.selectors import MAX_PICKS, site_lookup
from sites.services import site_scan
from sites.tests.factories import VaccinationFactory

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
HX = {"HTTP_HX_REQUEST": "true"}


def book(village, name, day, phone="13812345678"):
    resident = ResidentFactory(village=village, name=name, phone=phone)
    first, _second = appointment_book_pair(resident=resident, day=day)
    return first


def names(lookup):
    return [resident.name for resident in lookup.candidates]


def test_a_booked_person_is_found_by_the_chinese_name(honghe, days, today, site_jiangdian):
    booked = book(honghe, "张三丰", today)
    found = site_lookup(site=site_jiangdian, query="张三丰", on=today)
    assert names(found) == ["张三丰"] and found.by_name
    assert found.candidates[0].booked == booked  # the dose and the day the pick list shows
    assert found.resident is None  # a name always gives a pick list, even of one: the nurse confirms


def test_the_pinyin_initials_find_the_person_in_either_case(honghe, days, today, site_jiangdian):
    book(honghe, "张三丰", today)
    book(honghe, "李四", today)
    assert names(site_lookup(site=site_jiangdian, query="zsf", on=today)) == ["张三丰"]
    assert names(site_lookup(site=site_jiangdian, query="ZS", on=today)) == ["张三丰"]  # the tablet's capitals


def test_the_phones_last_4_digits_with_the_name_tell_two_namesakes_apart(honghe, days, today, site_jiangdian):
    book(honghe, "王芳", today, phone="13800001111")
    other = book(honghe, "王芳", today, phone="13900002222")
    assert names(site_lookup(site=site_jiangdian, query="王芳", on=today)) == ["王芳", "王芳"]
    for query in ("王芳2222", "2222王芳", "wf 2222"):
        found = site_lookup(site=site_jiangdian, query=query, on=today)
        assert [resident.pk for resident in found.candidates] == [other.resident_id], query


def test_only_people_booked_at_this_site_are_found(honghe, qingshan, days, today, site_jiangdian):
    book(qingshan, "张三丰", today)  # booked at the centre, not at Jiangdian
    ResidentFactory(village=honghe, name="张三丰")  # registered here, never booked
    found = site_lookup(site=site_jiangdian, query="张三丰", on=today)
    assert found.candidates == [] and "没有这个姓名" in found.problem


def test_todays_bookings_come_first_then_other_days(honghe, days, today, site_jiangdian):
    later = book(honghe, "张伟", today + 2 * DAY)
    now = book(honghe, "张强", today)
    found = site_lookup(site=site_jiangdian, query="张", on=today)
    assert [resident.booked for resident in found.candidates] == [now, later]


def test_the_pick_list_is_short_and_asks_for_the_phone_digits_when_more_match(honghe, days, today, site_jiangdian):
    for n in range(MAX_PICKS + 2):
        book(honghe, "张" + "一二三四五六七八九十"[n], today)
    found = site_lookup(site=site_jiangdian, query="张", on=today)
    assert len(found.candidates) == MAX_PICKS and "手机号后4位" in found.problem


def test_picking_a_name_checks_that_person_in_and_records_no_number_search(
    honghe, days, today, site_jiangdian, site_team_jiangdian
):
    booked = book(honghe, "张三丰", today)
    listed = site_scan(site=site_jiangdian, query="zsf", checked_in_by=site_team_jiangdian)
    assert listed.appointment is None and [r.pk for r in listed.candidates] == [booked.resident_id]
    result = site_scan(site=site_jiangdian, query="zsf", pick=booked.resident_id, checked_in_by=site_team_jiangdian)
    booked.refresh_from_db()
    assert result.appointment == booked and booked.status == Appointment.Status.ARRIVED
    assert not FullValueView.objects.exists()  # only masked values were shown


def test_a_pick_that_the_name_did_not_find_is_refused(honghe, days, today, site_jiangdian, site_team_jiangdian):
    book(honghe, "张三丰", today)
    stranger = book(honghe, "李四", today).resident
    with pytest.raises(Resident.DoesNotExist):
        site_scan(site=site_jiangdian, query="张三丰", pick=stranger.pk, checked_in_by=site_team_jiangdian)


def test_a_name_search_is_not_held_back_by_the_number_search_limit(
    honghe, days, today, site_jiangdian, site_team_jiangdian
):
    for _n in range(30):  # far more misses by number than the hour allows
        FullValueView.objects.create(user=site_team_jiangdian, kind=FullValueView.Kind.SEARCH, people=0)
    book(honghe, "张三丰", today)
    assert (
        "身份证号码" in site_scan(site=site_jiangdian, query="010101张三丰", checked_in_by=site_team_jiangdian).problem
    )
    assert site_scan(site=site_jiangdian, query="张三丰", checked_in_by=site_team_jiangdian).candidates


def test_someone_booked_for_another_day_is_picked_and_comes_in_today(
    honghe, days, today, site_jiangdian, site_team_jiangdian
):
    day = today + 3 * DAY
    booked = book(honghe, "张三丰", day)
    result = site_scan(site=site_jiangdian, query="张三丰", pick=booked.resident_id, checked_in_by=site_team_jiangdian)
    booked.refresh_from_db()
    assert result.appointment == booked and (booked.date, booked.walk_in) == (today, True)
    assert [level for level, message in result.warnings if day.isoformat() in message] == ["warn"]


def test_the_rules_still_block_a_picked_dose_2_too_early(honghe, days, today, site_jiangdian, site_team_jiangdian):
    resident = ResidentFactory(village=honghe, name="李四")
    VaccinationFactory(resident=resident, site=site_jiangdian, vaccinated_at=timezone.now() - 5 * DAY)
    Appointment.objects.create(resident=resident, dose_number=2, site=site_jiangdian, date=today + 9 * DAY)
    result = site_scan(site=site_jiangdian, query="李四", pick=resident.pk, checked_in_by=site_team_jiangdian)
    assert result.blocked and result.appointment is None


# The page ----------------------------------------------------------------------


@pytest.fixture
def team(client, site_team_jiangdian):
    client.force_login(site_team_jiangdian)
    return client


def test_the_pick_list_shows_masked_id_village_dose_and_day_and_checks_in_in_one_click(team, honghe, days, today):
    booked = book(honghe, "张三丰", today)
    response = team.post(reverse("sites:scan"), {"q": "张三丰"}, **HX)
    html = response.content.decode()
    assert mask_id_number(booked.resident.id_number) in html and booked.resident.id_number not in html
    assert "红河社区" in html and "第1剂" in html and "今日" in html and 'data-testid="pick"' in html
    response = team.post(reverse("sites:scan"), {"q": "张三丰", "pick": booked.resident_id}, **HX)
    assert response.context["step"] == "screen" and response.context["appointment"] == booked


def test_a_name_that_finds_nobody_offers_the_registration(team, days):
    html = team.post(reverse("sites:scan"), {"q": "欧阳修"}, **HX).content.decode()
    assert "没有这个姓名" in html and 'data-testid="register-here"' in html


def test_a_name_look_up_and_its_pick_stay_within_their_query_budget(
    team, honghe, days, today, django_assert_max_num_queries
):
    booked = book(honghe, "张三丰", today)
    team.get(reverse("sites:workstation"))  # the session and the role are read once
    with django_assert_max_num_queries(3):  # site, the booked people matching
        team.post(reverse("sites:scan"), {"q": "zsf"}, **HX)
    with django_assert_max_num_queries(10):  # site, name, resident, doses, held, claim, history (and savepoints)
        team.post(reverse("sites:scan"), {"q": "zsf", "pick": booked.resident_id}, **HX)
