"""campaign.lib.params: a query parameter is read, defaulted when absent, or refused with a 400 that says why."""

import datetime

import pytest
from django.http import QueryDict
from django.urls import reverse

from campaign.lib.params import BadParameter, choice_param, date_param, id_param, week_param


def q(text):
    return QueryDict(text)


@pytest.mark.parametrize("value", ["abc", "0001-01-01", "9999-12-31", "2021-02-30", "２０２１-04-18", "%00"])
def test_a_date_outside_1900_to_2100_or_not_a_date_is_refused(value):
    with pytest.raises(BadParameter):
        date_param({"date": value}, "date")


def test_a_date_is_read_and_an_absent_one_is_the_default():
    assert date_param(q("date=2021-04-18"), "date") == datetime.date(2021, 4, 18)
    assert date_param(q("date="), "date", default=datetime.date(2021, 1, 1)) == datetime.date(2021, 1, 1)


@pytest.mark.parametrize("value", ["garbage", "2021-W99", "9999-W52", "0001-01-01", "2021-W00"])
def test_a_week_that_is_not_one_is_refused(value):
    with pytest.raises(BadParameter):
        week_param({"week": value}, "week")


def test_a_week_is_its_monday_whether_named_by_number_or_by_a_day():
    monday = datetime.date(2021, 4, 12)
    assert week_param(q("week=2021-W15"), "week") == monday
    assert week_param(q("week=2021-04-15"), "week") == monday


@pytest.mark.parametrize("value", ["abc", "-1", "0", "²", "99999999999999999999", "1.5", "٣"])
def test_an_id_must_be_ascii_digits_the_database_can_hold(value):
    with pytest.raises(BadParameter):
        id_param({"village": value}, "village")


def test_an_id_and_a_choice_are_read():
    assert id_param(q("village=12"), "village") == 12
    assert choice_param(q("show=error"), "show", ["error", "all"]) == "error"
    with pytest.raises(BadParameter):
        choice_param(q("show=x"), "show", ["error", "all"])


@pytest.mark.django_db
def test_a_bad_parameter_is_a_400_page_in_chinese_with_a_way_back(client, office, qingshan):
    client.force_login(office)
    response = client.get(reverse("appointments:booking"), {"village": "abc"})
    assert response.status_code == 400
    assert "不是有效的参数 village" in response.content.decode()
    assert 'href="/appointments/booking/"' in response.content.decode()


@pytest.mark.django_db
def test_a_week_not_understood_says_so_instead_of_silently_showing_this_week(client, office, qingshan):
    client.force_login(office)
    response = client.get(reverse("plan:week"), {"week": "garbage"}, follow=True)
    assert response.status_code == 200
    assert "无法识别周次" in response.content.decode()


@pytest.mark.django_db
def test_a_proposal_for_a_week_not_understood_writes_nothing(client, office, qingshan):
    from appointments.models import WeeklyPlan

    client.force_login(office)
    response = client.post(reverse("plan:propose"), {"week": "garbage"}, follow=True)
    assert "无法识别周次" in response.content.decode()
    assert not WeeklyPlan.objects.exists()


@pytest.mark.django_db
def test_a_null_character_in_the_address_is_a_clear_400_on_every_database(client, office):
    """PostgreSQL refuses a null byte in any string: ?user=%00 on the office's record gave a 500 there."""
    client.force_login(office)
    response = client.get(reverse("residents:full_value_views"), {"user": "\x00"})
    assert response.status_code == 400
    assert "空字符" in response.content.decode()
