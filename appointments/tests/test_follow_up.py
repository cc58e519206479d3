"""The follow-up list (待联系人员) and the log of calls: who is on it, who may call, what a call may say."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from appointments.follow_up.selectors import NEVER_CALLED, follow_up_list, last_calls
from appointments.follow_up.services import call_log_record
from appointments.models import Appointment, CallAttempt
from appointments.tests.factories import AppointmentFactory
from residents.models import FullValueView
from residents.tests.factories import ResidentFactory
from sites.tests.factories import VaccinationFactory

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


@pytest.fixture
def today():
    return timezone.localdate()


def missed(village, *, dose=1, days_ago=2, **resident):
    """A resident of `village` who did not come for `dose` and is not booked again."""
    person = ResidentFactory(village=village, **resident)
    if dose == 2:
        VaccinationFactory(resident=person, vaccinated_at=timezone.now() - 20 * DAY)
    AppointmentFactory(
        resident=person, dose_number=dose, date=timezone.localdate() - days_ago * DAY, status=Appointment.Status.NO_SHOW
    )
    return person


def without_place(village, **resident):
    """A resident of `village` with dose 1 given and neither dose 2 given nor held."""
    person = ResidentFactory(village=village, **resident)
    VaccinationFactory(resident=person, vaccinated_at=timezone.now() - 3 * DAY)
    return person


@pytest.fixture
def town(qingshan, honghe, cadre_qingshan, cadre_honghe):
    """Two villages, each with one no-show and one dose 2 without a place, and people who need no call."""
    people = {
        "qs_missed": missed(qingshan, name="青山爽约", responsible_cadre=cadre_qingshan),
        "qs_no_place": without_place(qingshan, name="青山无位", responsible_cadre=cadre_qingshan),
        "hh_missed": missed(honghe, dose=2, name="红河爽约", responsible_cadre=cadre_honghe),
        "hh_no_place": without_place(honghe, name="红河无位"),  # nobody in charge: the village's cadres
    }
    # Booked again after a no-show, and booked for both doses: nobody to call.
    again = missed(qingshan, name="已重约")
    AppointmentFactory(resident=again, date=timezone.localdate() + DAY)
    AppointmentFactory(resident=ResidentFactory(village=qingshan, name="正常预约"), date=timezone.localdate() + DAY)
    return people


def names(rows):
    return sorted(row.name for row in rows)


# The town-wide selector


def test_the_office_sees_the_whole_town_one_row_per_person(office, town, qingshan):
    rows = follow_up_list(user=office, campaign=qingshan.campaign)
    assert names(rows) == ["红河无位", "红河爽约", "青山无位", "青山爽约"]
    # A dose-2 no-show is both missed and without a place, and still shows once, as missed.
    hh = rows.get(name="红河爽约")
    assert hh.missed_dose == 2


def test_the_list_filters_by_village_and_reason(office, town, qingshan, honghe):
    campaign = qingshan.campaign
    assert names(follow_up_list(user=office, campaign=campaign, village=honghe)) == ["红河无位", "红河爽约"]
    assert names(follow_up_list(user=office, campaign=campaign, reason="no_show")) == ["红河爽约", "青山爽约"]
    assert names(follow_up_list(user=office, campaign=campaign, reason="no_place")) == ["红河无位", "青山无位"]


def test_a_cadre_filter_gives_their_people_and_their_villages_people_with_nobody_in_charge(
    office, town, qingshan, cadre_honghe
):
    rows = follow_up_list(user=office, campaign=qingshan.campaign, cadre=cadre_honghe)
    assert names(rows) == ["红河无位", "红河爽约"]


def test_a_cadre_sees_only_their_own_village(cadre_qingshan, town, qingshan):
    assert names(follow_up_list(user=cadre_qingshan, campaign=qingshan.campaign)) == ["青山无位", "青山爽约"]


def test_each_row_shows_its_last_call_and_filters_by_it(office, cadre_qingshan, town, qingshan, today):
    person = town["qs_missed"]
    call_log_record(resident=person, called_by=cadre_qingshan, result="no_answer", next_try=today)
    last = call_log_record(
        resident=person, called_by=office, result="will_come", come_on=today + 2 * DAY, note="周三上午来"
    )
    rows = follow_up_list(user=office, campaign=qingshan.campaign)
    row = rows.get(pk=person.pk)
    assert (row.last_result, row.last_call_id, row.next_try) == ("will_come", last.pk, None)
    assert last_calls([row])[person.pk].note == "周三上午来"
    assert names(follow_up_list(user=office, campaign=qingshan.campaign, last_result="will_come")) == ["青山爽约"]
    assert "青山爽约" not in names(follow_up_list(user=office, campaign=qingshan.campaign, last_result=NEVER_CALLED))


def test_due_means_never_called_or_next_try_reached(office, cadre_qingshan, town, qingshan, today):
    call_log_record(resident=town["qs_missed"], called_by=office, result="no_answer", next_try=today + DAY)
    call_log_record(resident=town["qs_no_place"], called_by=office, result="no_answer", next_try=today)
    campaign = qingshan.campaign
    due_today = names(follow_up_list(user=office, campaign=campaign, village=qingshan, due_by=today))
    assert due_today == ["青山无位"]
    assert names(follow_up_list(user=office, campaign=campaign, village=qingshan, due_by=today + DAY)) == [
        "青山无位",
        "青山爽约",
    ]


def test_the_default_order_puts_the_never_called_first_then_the_soonest_next_try(office, town, qingshan, today):
    call_log_record(resident=town["qs_missed"], called_by=office, result="refuses")
    call_log_record(resident=town["qs_no_place"], called_by=office, result="no_answer", next_try=today + 3 * DAY)
    call_log_record(resident=town["hh_missed"], called_by=office, result="no_answer", next_try=today + DAY)
    rows = [row.name for row in follow_up_list(user=office, campaign=qingshan.campaign)]
    assert rows == ["红河无位", "红河爽约", "青山无位", "青山爽约"]


# The call-log service


def test_will_come_needs_the_day(office, town, today):
    with pytest.raises(ValidationError) as error:
        call_log_record(resident=town["qs_missed"], called_by=office, result="will_come")
    assert "come_on" in error.value.message_dict
    assert not CallAttempt.objects.exists()


def test_a_day_to_come_goes_only_with_will_come(office, town, today):
    with pytest.raises(ValidationError) as error:
        call_log_record(resident=town["qs_missed"], called_by=office, result="refuses", come_on=today + DAY)
    assert "come_on" in error.value.message_dict


def test_dose_1_can_be_promised_only_up_to_the_first_dose_deadline(office, town, qingshan):
    deadline = qingshan.campaign.first_dose_deadline
    with pytest.raises(ValidationError):
        call_log_record(resident=town["qs_missed"], called_by=office, result="will_come", come_on=deadline + DAY)
    call = call_log_record(resident=town["qs_missed"], called_by=office, result="will_come", come_on=deadline)
    assert call.come_on == deadline


def test_dose_2_can_be_promised_only_after_the_interval_and_within_the_campaign(office, town, qingshan, today):
    person = town["qs_no_place"]  # dose 1 three days ago: dose 2 from 11 days on
    with pytest.raises(ValidationError) as error:
        call_log_record(resident=person, called_by=office, result="will_come", come_on=today + 10 * DAY)
    assert (today + 11 * DAY).isoformat() in str(error.value)
    with pytest.raises(ValidationError):
        end = qingshan.campaign.end_date
        call_log_record(resident=person, called_by=office, result="will_come", come_on=end + DAY)
    assert call_log_record(resident=person, called_by=office, result="will_come", come_on=today + 11 * DAY)


def test_a_day_to_come_is_never_in_the_past(office, town, today):
    with pytest.raises(ValidationError):
        call_log_record(resident=town["qs_missed"], called_by=office, result="will_come", come_on=today - DAY)


def test_the_next_try_is_from_today_to_the_campaigns_end(office, town, qingshan, today):
    for day in (today - DAY, qingshan.campaign.end_date + DAY):
        with pytest.raises(ValidationError) as error:
            call_log_record(resident=town["qs_missed"], called_by=office, result="no_answer", next_try=day)
        assert "next_try" in error.value.message_dict


def test_an_unknown_result_and_a_control_character_in_the_note_are_refused(office, town):
    with pytest.raises(ValidationError) as error:
        call_log_record(resident=town["qs_missed"], called_by=office, result="maybe", note="bad\x1b[31m")
    assert set(error.value.message_dict) == {"result", "note"}


def test_the_database_refuses_will_come_without_a_day(office, town):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        CallAttempt.objects.create(resident=town["qs_missed"], called_by=office, result="will_come")


# Who may call whom


def test_a_cadre_logs_calls_for_their_own_village_only(cadre_qingshan, town):
    assert call_log_record(resident=town["qs_missed"], called_by=cadre_qingshan, result="reached").pk
    with pytest.raises(PermissionDenied):
        call_log_record(resident=town["hh_missed"], called_by=cadre_qingshan, result="reached")


@pytest.mark.parametrize("persona", ["supervisor", "leader", "site_team_centre"])
def test_nobody_but_cadres_and_the_office_logs_calls(request, persona, town):
    with pytest.raises(PermissionDenied):
        call_log_record(resident=town["qs_missed"], called_by=request.getfixturevalue(persona), result="reached")


@pytest.mark.parametrize("persona", ["supervisor", "leader", "site_team_centre"])
def test_the_pages_are_refused_to_the_other_roles(client, request, persona, town):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("appointments:follow_up")).status_code == 403
    assert client.get(reverse("appointments:call_log", args=[town["qs_missed"].pk])).status_code == 403


def test_a_cadre_cannot_open_or_post_a_call_for_another_village(client, cadre_qingshan, town):
    client.force_login(cadre_qingshan)
    url = reverse("appointments:call_log", args=[town["hh_missed"].pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"result": "reached"}).status_code == 404
    assert not CallAttempt.objects.exists()


# The pages


def test_the_office_page_filters_by_village_and_shows_full_phones_recorded(client, office, town, honghe):
    client.force_login(office)
    page = client.get(reverse("appointments:follow_up"), {"village": honghe.pk}).content.decode()
    assert "红河爽约" in page and "青山爽约" not in page
    assert 'href="tel:13812345678"' in page
    view = FullValueView.objects.get(kind=FullValueView.Kind.FOLLOW_UP)
    assert (view.user, view.people) == (office, 2) and "红河社区" in view.subject


def test_a_call_posted_from_the_page_goes_back_to_the_filtered_list_with_its_last_result(
    client, cadre_qingshan, town, today
):
    client.force_login(cadre_qingshan)
    person = town["qs_missed"]
    url = reverse("appointments:call_log", args=[person.pk])
    come_on = (today + 2 * DAY).isoformat()
    response = client.post(url, {"result": "will_come", "come_on": come_on, "note": "", "back": "reason=no_show"})
    assert response.status_code == 302 and response.url == reverse("appointments:follow_up") + "?reason=no_show"
    page = client.get(response.url).content.decode()
    assert "会按约定日期来" in page and (today + 2 * DAY).strftime("%m-%d") in page


def test_a_refused_call_is_shown_at_its_field_and_nothing_is_written(client, office, town):
    client.force_login(office)
    url = reverse("appointments:call_log", args=[town["qs_missed"].pk])
    page = client.post(url, {"result": "will_come"}).content.decode()
    assert "哪天来" in page and not CallAttempt.objects.exists()


def test_the_back_link_keeps_only_a_query_string(client, office, town):
    client.force_login(office)
    url = reverse("appointments:call_log", args=[town["qs_missed"].pk])
    response = client.post(url, {"result": "reached", "back": "https://evil.example/"})
    assert response.url.startswith(reverse("appointments:follow_up") + "?")


def test_past_the_parameter_limit_the_list_is_the_same(office, town, qingshan, monkeypatch):
    from appointments.follow_up import selectors

    campaign = qingshan.campaign
    for reason in (None, "no_show", "no_place"):
        listed = names(follow_up_list(user=office, campaign=campaign, reason=reason))
        monkeypatch.setattr(selectors, "MAX_LISTED_IDS", 0)
        assert names(follow_up_list(user=office, campaign=campaign, reason=reason)) == listed
        monkeypatch.undo()
