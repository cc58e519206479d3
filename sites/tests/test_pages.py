"""The site workstation's pages and htmx parts: scan → 预检 → 接种 → 留观, refusals, walk-ins, scope."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment
from appointments.services import appointment_book_pair
from campaign.roles import SITE_DOCTOR_GROUP
from residents.models import Resident
from residents.tests.factories import ResidentFactory, id_number_for
from sites.models import AdverseEvent, PreScreening, SiteDay, Vaccination
from sites.services import site_checkin, site_prescreen, site_vaccinate
from sites.tests.factories import VaccinationFactory

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def booked(honghe, days, today):
    resident = ResidentFactory(village=honghe, name="张三丰")
    return appointment_book_pair(resident=resident, day=today)


@pytest.fixture
def team(client, site_team_jiangdian):
    client.force_login(site_team_jiangdian)
    return client


@pytest.fixture
def doctor(site_jiangdian):
    from campaign.roles import Role
    from campaign.tests.factories import user_with_role

    user = user_with_role(Role.SITE_TEAM, site=site_jiangdian, username="doctor_jiangdian")
    user.groups.add(Group.objects.get(name=SITE_DOCTOR_GROUP))
    return user


def scan(client, query, **extra):
    return client.post(reverse("sites:scan"), {"q": query}, **HX, **extra)


def screen(client, appointment, **data):
    values = {"temperature": "36.6", "consent": "on", **data}
    return client.post(reverse("sites:screen", args=[appointment.pk]), values, **HX)


def shoot(client, appointment, lot="202611A01"):
    return client.post(
        reverse("sites:vaccinate", args=[appointment.pk]), {"lot_number": lot, "injection_site": "left_arm"}, **HX
    )


def arrived(appointment, user):
    return site_checkin(site=appointment.site, resident=appointment.resident, checked_in_by=user)


def cleared(appointment, user):
    site_prescreen(appointment=appointment, answers={}, temperature="36.5", consent=True, screened_by=user)
    return appointment


# The flow -------------------------------------------------------------------


def test_the_workstation_shows_the_days_counters_and_the_scan_box(team, booked, site_jiangdian):
    response = team.get(reverse("sites:workstation"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="scan-input"' in html and "autofocus" in html
    assert response.context["live"]["booked"] == 1 and response.context["live"]["floor"] == 600
    assert "扫描预约凭条" in html  # Chinese whatever the browser's language


def test_scanning_a_slip_checks_the_person_in_and_asks_the_screening(team, booked):
    first, _second = booked
    response = scan(team, first.token)
    first.refresh_from_db()
    assert first.status == "arrived"
    assert response.context["step"] == "screen"
    assert response["HX-Trigger"] == "site-changed"  # the counters and lists refresh
    html = response.content.decode()
    assert "张三丰" in html and first.resident.id_number not in html  # the ID number is masked
    assert first.resident.id_number[-4:] in html and "第1剂" in html


def test_a_plain_scan_is_redirected_so_a_reload_never_scans_again(team, booked):
    first, _second = booked
    response = team.post(reverse("sites:scan"), {"q": first.token})
    assert response.status_code == 302 and response.url.endswith(f"?a={first.pk}")
    page = team.get(response.url)
    assert page.context["panel"] == "person" and page.context["step"] == "screen"


def test_the_full_id_number_and_the_last_6_digits_with_the_name_find_the_person(team, booked):
    resident = booked[0].resident
    assert scan(team, resident.id_number).context["step"] == "screen"
    assert scan(team, f"{resident.id_number[-6:]} 张三丰").context["step"] == "screen"  # arriving twice is harmless
    assert Appointment.objects.filter(resident=resident, status="arrived").count() == 1


def test_a_cleared_screening_leads_to_the_shot_with_the_sites_lot_preselected(team, booked, site_jiangdian):
    site_jiangdian.current_lot = "202611B07"
    site_jiangdian.save()
    first = scan(team, booked[0].token).context["appointment"]
    response = screen(team, first)
    assert PreScreening.objects.get().outcome == "cleared"
    assert response.context["step"] == "shot"
    assert 'value="202611B07"' in response.content.decode()


def test_the_shot_starts_the_observation_and_shows_the_held_dose_2(team, booked, today, site_team_jiangdian):
    first, second = booked
    cleared(arrived(first, site_team_jiangdian), site_team_jiangdian)
    response = shoot(team, first)
    vaccination = Vaccination.objects.get()
    assert (vaccination.vaccinator, vaccination.lot_number) == (site_team_jiangdian, "202611A01")
    assert response.context["step"] == "done" and response.context["held"] == second
    html = response.content.decode()
    assert (today + 14 * DAY).isoformat() in html and "留观" in html
    observing = team.get(reverse("sites:observation"), **HX)
    assert [v.pk for v in observing.context["observing"]] == [vaccination.pk]


def test_a_double_submit_of_the_shot_records_one_dose(team, booked, site_team_jiangdian):
    first = cleared(arrived(booked[0], site_team_jiangdian), site_team_jiangdian)
    assert shoot(team, first).status_code == 200
    again = shoot(team, first)
    assert again.status_code == 200 and again.context["step"] == "done"
    assert Vaccination.objects.count() == 1


def test_a_plain_shot_is_redirected(team, booked, site_team_jiangdian):
    first = cleared(arrived(booked[0], site_team_jiangdian), site_team_jiangdian)
    response = team.post(
        reverse("sites:vaccinate", args=[first.pk]), {"lot_number": "L1", "injection_site": "left_arm"}
    )
    assert response.status_code == 302 and Vaccination.objects.count() == 1


def test_release_ends_the_observation_and_refreshes_the_counters(team, booked, site_team_jiangdian, today):
    first = cleared(arrived(booked[0], site_team_jiangdian), site_team_jiangdian)
    vaccination, _held = site_vaccinate(appointment=first, lot_number="L1", vaccinator=site_team_jiangdian)
    live = team.get(reverse("sites:live"), **HX).context["live"]
    assert (live["vaccinated"], live["observing"]) == (1, 1)
    response = team.post(reverse("sites:release", args=[vaccination.pk]), **HX)
    assert response.status_code == 204 and response["HX-Trigger"] == "site-changed"
    vaccination.refresh_from_db()
    assert vaccination.released_at is not None
    assert team.get(reverse("sites:live"), **HX).context["live"]["observing"] == 0
    assert team.get(reverse("sites:observation"), **HX).context["observing"] == []


def test_the_whole_flow_takes_four_requests_from_scan_to_release(team, booked):
    first = scan(team, booked[0].token).context["appointment"]
    screen(team, first)
    shoot(team, first)
    vaccination = Vaccination.objects.get()
    team.post(reverse("sites:release", args=[vaccination.pk]), **HX)
    vaccination.refresh_from_db()
    assert vaccination.released_at and vaccination.appointment == first


def test_each_step_of_a_booked_person_stays_within_its_query_budget(team, booked, django_assert_max_num_queries):
    # A queue of hundreds a day: every request counts. Before the lookup and the check-in shared their reads
    # and the role was cached, the steps took 14, 7 and 16 queries (without BEGIN and COMMIT).
    team.get(reverse("sites:workstation"))  # the session and the role are read once
    # Counted with BEGIN and COMMIT.
    with django_assert_max_num_queries(8):  # user, site, slip, lock, arrival, history
        first = scan(team, booked[0].token).context["appointment"]
    # + the campaign's screening questions (campaign.screening) and the lots the shot form offers (sites.supply)
    with django_assert_max_num_queries(5 + 2):  # user, appointment, screening
        assert screen(team, first).context["step"] == "shot"
    # user, appointment, lock, dose, status, history, lot in use; and the next dose's message to the resident
    # (appointments.messaging.triggers.dose_due_queue): the office's switch, the outbox row in a savepoint
    # + whether the site keeps a list of vaccinators (sites.dose_record) and the campaign tracks lots (sites.supply)
    with django_assert_max_num_queries(9 + 4 + 1):
        assert shoot(team, first).context["step"] == "done"
    assert Vaccination.objects.get().appointment == first


# Positive screening ------------------------------------------------------------


def test_a_positive_answer_is_shown_for_confirmation_before_anything_is_recorded(team, booked, site_team_jiangdian):
    first = arrived(booked[0], site_team_jiangdian)
    response = screen(team, first, temperature="37.8")
    assert response.context["confirm"] and not PreScreening.objects.exists()
    html = response.content.decode()
    assert "暂缓接种" in html and "发热" in html
    assert "override_reason" not in html  # a nurse is not offered the override


def test_a_confirmed_fever_defers_the_resident_and_gives_up_the_appointments(team, booked, site_team_jiangdian):
    first = arrived(booked[0], site_team_jiangdian)
    response = screen(team, first, temperature="37.8", confirm="1", confirm_shown="1")
    assert response.context["step"] == "stopped"
    assert "暂缓接种" in response.content.decode()
    assert Resident.objects.get().status == "deferred"
    assert set(Appointment.objects.values_list("status", flat=True)) == {"cancelled"}


def test_a_severe_allergy_shows_that_the_person_is_not_vaccinated_in_this_campaign(team, booked, site_team_jiangdian):
    first = arrived(booked[0], site_team_jiangdian)
    response = screen(team, first, severe_allergy="on")
    assert response.context["would_exclude"]
    response = screen(team, first, severe_allergy="on", confirm="1")
    assert response.context["screening"].outcome == "excluded"
    assert Resident.objects.get().status == "excluded"


def test_a_site_doctor_is_offered_the_override_and_must_give_a_reason(client, doctor, booked):
    client.force_login(doctor)
    first = arrived(booked[0], doctor)
    response = screen(client, first, acute_illness="on")
    assert 'name="override_reason"' in response.content.decode()
    response = screen(client, first, acute_illness="on", override="1", override_reason="", confirm_shown="1")
    assert response.context["confirm"] and "form" in response.context
    assert "请填写" in response.content.decode() and not PreScreening.objects.exists()
    response = screen(client, first, acute_illness="on", override="1", override_reason="慢性胃炎稳定期")
    assert response.context["step"] == "shot"
    assert PreScreening.objects.get().outcome == "overridden"


def test_a_nurse_cannot_override_even_by_posting_a_reason(team, booked, site_team_jiangdian):
    first = arrived(booked[0], site_team_jiangdian)
    response = screen(team, first, acute_illness="on", override="1", override_reason="我觉得没问题")
    assert "只有接种点医生" in response.context["error"]
    assert not PreScreening.objects.exists()


def test_no_consent_is_refused_with_the_services_message(team, booked, site_team_jiangdian):
    first = arrived(booked[0], site_team_jiangdian)
    response = screen(team, first, consent="")
    assert "知情同意" in response.context["error"]
    assert not PreScreening.objects.exists()


def test_a_temperature_out_of_range_is_asked_again(team, booked, site_team_jiangdian):
    first = arrived(booked[0], site_team_jiangdian)
    response = screen(team, first, temperature="365")
    assert response.context["form"].errors["temperature"] and not PreScreening.objects.exists()


# Refusals read clearly -----------------------------------------------------------


def test_dose_2_too_early_is_refused_in_red_and_not_checked_in(team, honghe, days, site_jiangdian):
    resident = ResidentFactory(village=honghe)
    VaccinationFactory(resident=resident, site=site_jiangdian, vaccinated_at=timezone.now() - 13 * DAY)
    response = scan(team, resident.id_number)
    html = response.content.decode()
    assert ("block", response.context["warnings"][0][1]) == response.context["warnings"][0]
    assert "第2剂过早" in html and "alert-danger" in html and "未登记到场" in html
    given = timezone.localdate(timezone.now() - 13 * DAY).isoformat()
    assert f"第1剂于{given}接种" in html  # the nurse can tell the person when dose 1 was
    assert not Appointment.objects.filter(resident=resident, status="arrived").exists()


def test_a_resident_of_another_site_is_refused(team, qingshan, days):
    resident = ResidentFactory(village=qingshan)
    response = scan(team, resident.id_number)
    assert "接种点不对" in response.content.decode()
    assert not Appointment.objects.exists()


def test_dose_2_at_another_site_than_dose_1_is_refused(team, qingshan, days):
    resident = ResidentFactory(village=qingshan)
    VaccinationFactory(resident=resident, site=qingshan.site, vaccinated_at=timezone.now() - 20 * DAY)
    response = scan(team, resident.id_number)
    assert qingshan.site.name in response.content.decode()
    assert not Appointment.objects.exists()


def test_a_second_scan_after_the_shot_says_vaccinated_today(team, booked, site_team_jiangdian):
    first = cleared(arrived(booked[0], site_team_jiangdian), site_team_jiangdian)
    site_vaccinate(appointment=first, lot_number="L1", vaccinator=site_team_jiangdian)
    response = scan(team, first.token)
    assert "今天已接种" in response.content.decode()
    # Only that: not also "dose 2 too early", and the card shows the dose given today.
    assert [level for level, _message in response.context["warnings"]] == ["block"]
    assert response.context["card"]["dose"] == 1
    assert Vaccination.objects.count() == 1


def test_an_excluded_resident_is_refused(team, honghe, days):
    resident = ResidentFactory(
        village=honghe, status="excluded", status_reasons=["severe_allergy"], severe_allergy=True
    )
    response = scan(team, resident.id_number)
    assert "不符合接种条件" in response.content.decode()
    assert "以前疫苗接种严重过敏反应" in response.content.decode()  # and why


def test_a_walk_in_on_a_full_day_is_refused_with_the_services_message(team, honghe, days, today, site_jiangdian):
    SiteDay.objects.filter(site=site_jiangdian, date=today).update(capacity=0)
    resident = ResidentFactory(village=honghe)
    response = scan(team, resident.id_number)
    assert "已约满" in response.context["error"]
    assert not Appointment.objects.exists()


def test_an_unknown_code_says_what_to_do(team, days):
    response = scan(team, "hello")
    assert response.context["found"].problem and "register_url" in response.context


def test_several_people_matching_the_last_digits_and_name_are_listed_to_pick_one(team, honghe, days):
    # Two 张三丰 whose numbers end alike: made with the same sequence on birth dates far apart.
    one = ResidentFactory(village=honghe, name="张三丰", id_number=id_number_for(5))
    tail = one.id_number[-6:]
    two = None
    for n in range(999, 400000, 999):
        number = id_number_for(n + 5)
        if number[-6:] == tail:
            two = ResidentFactory(village=honghe, name="张三丰", id_number=number)
            break
    if two is None:
        pytest.skip("no second number with the same last 6 digits in range")
    response = scan(team, f"{tail}张三丰")
    assert len(response.context["candidates"]) == 2
    picked = team.post(reverse("sites:scan"), {"q": f"{tail}张三丰", "pick": two.pk}, **HX)
    assert picked.context["card"]["resident"] == two and picked.context["step"] == "screen"
    stranger = ResidentFactory(village=honghe, name="李四")
    response = team.post(reverse("sites:scan"), {"q": f"{tail}张三丰", "pick": stranger.pk}, **HX)
    assert response.status_code == 404  # only someone the query matched can be picked


def test_a_shot_before_the_screening_is_refused(team, booked, site_team_jiangdian):
    first = arrived(booked[0], site_team_jiangdian)
    response = shoot(team, first)
    assert "预检未通过" in response.context["error"] and not Vaccination.objects.exists()


def test_a_screening_of_someone_not_checked_in_is_refused(team, booked):
    response = screen(team, booked[0])
    assert "请先登记到场" in response.context["error"] and not PreScreening.objects.exists()


def test_someone_screened_yesterday_is_screened_again_today(team, booked, site_team_jiangdian):
    first = cleared(arrived(booked[0], site_team_jiangdian), site_team_jiangdian)
    PreScreening.objects.update(screened_at=timezone.now() - DAY)
    response = scan(team, first.token)
    assert response.context["step"] == "screen"


def test_a_blocked_scan_shows_only_what_blocks(team, honghe, days, site_jiangdian):
    resident = ResidentFactory(village=honghe)
    VaccinationFactory(resident=resident, site=site_jiangdian, vaccinated_at=timezone.now() - 3 * DAY)
    response = scan(team, resident.id_number)
    assert [level for level, _message in response.context["warnings"]] == ["block"]  # no "walk-in" hint


# Walk-ins and on-the-spot registration -----------------------------------------------


def test_a_walk_in_without_an_appointment_is_checked_in_with_a_warning(team, honghe, days):
    resident = ResidentFactory(village=honghe)
    response = scan(team, resident.id_number)
    appointment = response.context["appointment"]
    assert appointment.walk_in and appointment.status == "arrived"
    assert response.context["warnings"][0][0] == "warn"
    assert "alert-warning" in response.content.decode()


def test_someone_booked_on_another_day_comes_in_today(team, honghe, days, today):
    resident = ResidentFactory(village=honghe)
    first, _second = appointment_book_pair(resident=resident, day=today + 2 * DAY)
    response = scan(team, first.token)
    first.refresh_from_db()
    assert (first.date, first.status) == (today, "arrived")
    assert "预约日期不是今天" in response.content.decode()


def test_nobody_found_offers_the_on_the_spot_registration_with_the_number(team, days):
    number = id_number_for(777)
    response = scan(team, number)
    # The number goes to the form in the session, never in a URL (access logs, history).
    assert number not in response.context["register_url"]
    page = team.get(response.context["register_url"])
    assert page.context["form"].initial["id_number"] == number
    assert team.get(response.context["register_url"]).context["form"].initial["id_number"] == ""  # used once


def register(client, village, **data):
    values = {
        "village": village.pk,
        "name": "钱多多",
        "id_number": id_number_for(4242),
        "phone": "13912345678",
        "basis": "residence",
        "priority_group": "general",
        **data,
    }
    return client.post(reverse("sites:register"), values)


def test_an_unregistered_person_is_registered_on_the_spot_and_checked_in(team, honghe, days, site_team_jiangdian):
    response = register(team, honghe)
    resident = Resident.objects.get(name="钱多多")
    appointment = Appointment.objects.get(resident=resident)
    assert (resident.registered_by, resident.village) == (site_team_jiangdian, honghe)
    assert (appointment.status, appointment.walk_in) == ("arrived", True)
    assert response.status_code == 302 and response.url.endswith(f"?a={appointment.pk}")


def test_on_the_spot_registration_checks_the_id_number_like_the_cadres_form(team, honghe, days):
    number = id_number_for(4242)
    wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
    response = register(team, honghe, id_number=wrong)
    assert "校验码" in response.content.decode()
    assert not Resident.objects.exists()


def test_on_the_spot_registration_reads_the_id_number_as_it_is_typed(team, honghe, days):
    number = id_number_for(1, birth_date=datetime.date(1980, 5, 17))
    page = team.get(reverse("sites:register")).content.decode()
    assert reverse("residents:id_preview") in page  # the cadre's form's field, shared
    preview = team.post(reverse("residents:id_preview"), {"id_number": number}, **HX)
    assert preview.status_code == 200 and "1980-05-17" in preview.content.decode()
    wrong_check = number[:17] + ("1" if number[17] != "1" else "2")
    wrong = team.post(reverse("residents:id_preview"), {"id_number": wrong_check}, **HX).content.decode()
    assert 'data-testid="id-preview-error"' in wrong


def test_on_the_spot_registration_only_offers_the_villages_of_this_site(team, qingshan, honghe, days):
    response = register(team, qingshan)
    assert "village" in response.context["form"].errors
    assert list(response.context["form"].fields["village"].queryset) == [honghe]
    assert not Resident.objects.exists()


def test_registering_someone_already_registered_says_so_but_not_where(team, honghe, days):
    ResidentFactory(village=honghe, id_number=id_number_for(4242))
    page = register(team, honghe).content.decode()
    assert "该身份证号码已登记" in page and "请回到工作台" in page
    assert "已在红河社区登记" not in page


def test_a_person_registered_with_a_contraindication_is_not_checked_in(team, honghe, days):
    register(team, honghe, fever="on")
    assert Resident.objects.get().status == "deferred"
    assert not Appointment.objects.exists()


# Adverse events ----------------------------------------------------------------------


def test_an_adverse_event_is_reported_from_the_observation_list_and_the_office_sees_it(
    client, team, booked, site_team_jiangdian, office
):
    first = cleared(arrived(booked[0], site_team_jiangdian), site_team_jiangdian)
    vaccination, _held = site_vaccinate(appointment=first, lot_number="L1", vaccinator=site_team_jiangdian)
    url = reverse("sites:adverse_event", args=[vaccination.pk])
    form = team.get(url, **HX)
    assert form.status_code == 200 and 'name="symptoms"' in form.content.decode()
    onset = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    empty = team.post(url, {"onset": onset, "symptoms": "", "severity": "mild"}, **HX)
    assert empty.context["form"].errors["symptoms"] and not AdverseEvent.objects.exists()
    response = team.post(
        url,
        {
            "onset": onset,
            "symptoms": "胸闷、心悸",
            "severity": "moderate",
            "action_taken": "吸氧",
            "referred_to_hospital": "on",
        },
        **HX,
    )
    assert response["HX-Trigger"] == "site-changed"
    event = AdverseEvent.objects.get()
    assert (event.severity, event.referred_to_hospital, event.reported_by) == ("moderate", True, site_team_jiangdian)
    assert "胸闷" in team.get(reverse("sites:observation"), **HX).content.decode()

    client.force_login(office)
    dashboard = client.get(reverse("reports:dashboard")).content.decode()
    assert reverse("sites:adverse_events") in dashboard
    panel = client.get(reverse("sites:adverse_events"), **HX)
    assert "胸闷" in panel.content.decode() and "转诊" in panel.content.decode()


# Scope -------------------------------------------------------------------------------


def test_the_team_of_one_site_cannot_touch_another_sites_arrivals(team, qingshan, days, today):
    from campaign.roles import Role
    from campaign.tests.factories import user_with_role

    centre_nurse = user_with_role(Role.SITE_TEAM, site=qingshan.site, username="nurse_centre")
    resident = ResidentFactory(village=qingshan)
    first, _second = appointment_book_pair(resident=resident, day=today)
    first = cleared(arrived(first, centre_nurse), centre_nurse)
    vaccination, _held = site_vaccinate(appointment=first, lot_number="L1", vaccinator=centre_nurse)
    client = team  # the Jiangdian team
    assert client.post(reverse("sites:screen", args=[first.pk]), **HX).status_code == 404
    assert client.post(reverse("sites:vaccinate", args=[first.pk]), **HX).status_code == 404
    assert client.post(reverse("sites:release", args=[vaccination.pk]), **HX).status_code == 404
    assert client.get(reverse("sites:adverse_event", args=[vaccination.pk])).status_code == 404
    assert client.get(reverse("sites:workstation") + f"?a={first.pk}").status_code == 404
    assert client.get(reverse("sites:watch_live", args=[qingshan.site.pk])).status_code == 403
    vaccination.refresh_from_db()
    assert vaccination.released_at is None


def test_the_site_comes_from_the_users_profile_never_from_the_request(team, qingshan, days, site_jiangdian):
    resident = ResidentFactory(village=qingshan)
    team.post(reverse("sites:scan"), {"q": resident.id_number, "site": qingshan.site.pk}, **HX)
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("persona", ["cadre_qingshan", "office", "supervisor"])
def test_other_roles_get_403_on_the_workstation(client, request, persona, site_jiangdian, days):
    client.force_login(request.getfixturevalue(persona))
    for name in ["workstation", "live", "observation", "register"]:
        assert client.get(reverse(f"sites:{name}")).status_code == 403, name
    assert client.post(reverse("sites:scan"), {"q": "x"}).status_code == 403


def test_the_office_watches_any_site_read_only(client, office, booked, site_jiangdian, site_team_jiangdian):
    first = cleared(arrived(booked[0], site_team_jiangdian), site_team_jiangdian)
    site_vaccinate(appointment=first, lot_number="L1", vaccinator=site_team_jiangdian)
    client.force_login(office)
    page = client.get(reverse("sites:watch", args=[site_jiangdian.pk]))
    html = page.content.decode()
    assert page.status_code == 200 and page.context["live"]["vaccinated"] == 1
    assert "张三丰" in html and 'data-testid="release"' not in html and "scan-input" not in html
    live = client.get(reverse("sites:watch_live", args=[site_jiangdian.pk]), **HX)
    assert live.context["live"]["observing"] == 1


def test_a_cadre_cannot_watch_a_site(client, cadre_honghe, site_jiangdian):
    client.force_login(cadre_honghe)
    assert client.get(reverse("sites:watch", args=[site_jiangdian.pk])).status_code == 403
    assert client.get(reverse("sites:adverse_events")).status_code == 403
