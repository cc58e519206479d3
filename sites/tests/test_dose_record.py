"""The dose record: who gave the shot (picked once per shift), where, and its corrections and voids.

The nurse picks her name from the site's list of vaccinators once per shift; each dose records her
and the injection site. The site's doctor or the office corrects a dose (lot, vaccinator, time,
injection site) or voids it (recorded on the wrong person), with a reason; the old values stay
in the history, and the progress figures follow.
"""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment
from appointments.services import BookingRefused, appointment_book_pair
from campaign.roles import SITE_DOCTOR_GROUP, Role
from campaign.tests.concurrency import at_once
from campaign.tests.factories import CampaignFactory, user_with_role
from reports.models import DailyProgress, VillageProgress
from reports.progress import progress_compute
from residents.tests.factories import ResidentFactory
from sites.capacity import site_days_ensure
from sites.dose_record import (
    DoseRecordRefused,
    NotAllowed,
    dose_history,
    vaccinator_add,
    vaccinator_set_active,
)
from sites.models import Lot, Vaccination, VaccinationVoid, Vaccinator
from sites.services import (
    site_checkin,
    site_prescreen,
    site_shot,
    site_vaccinate,
    vaccination_correct,
    vaccination_void,
)

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def nurse(site_team_centre):
    return site_team_centre


@pytest.fixture
def doctor(site_centre):
    user = user_with_role(Role.SITE_TEAM, site=site_centre, username="doctor_centre", first_name="周医生")
    user.groups.add(Group.objects.get(name=SITE_DOCTOR_GROUP))
    return user


@pytest.fixture
def other_doctor(site_jiangdian):
    user = user_with_role(Role.SITE_TEAM, site=site_jiangdian, username="doctor_jiangdian")
    user.groups.add(Group.objects.get(name=SITE_DOCTOR_GROUP))
    return user


@pytest.fixture
def wang(site_centre):
    return Vaccinator.objects.create(site=site_centre, name="王护士")


@pytest.fixture
def li(site_centre):
    return Vaccinator.objects.create(site=site_centre, name="李护士")


@pytest.fixture
def cleared(qingshan, site_centre, nurse, today):
    """Someone booked today (with dose 2 held), checked in and cleared for the shot."""
    site_days_ensure(campaign=qingshan.campaign)

    def cleared():
        first, _second = appointment_book_pair(resident=ResidentFactory(village=qingshan), day=today)
        arrived = site_checkin(site=site_centre, resident=first.resident, checked_in_by=nurse)
        site_prescreen(appointment=arrived, answers={}, temperature="36.6", consent=True, screened_by=nurse)
        return arrived

    return cleared


@pytest.fixture
def dose(cleared, nurse, wang):
    """Dose 1 given an hour ago by 王护士, recorded under the nurse's account."""
    appointment = cleared()
    vaccination, _held = site_vaccinate(
        appointment=appointment,
        lot_number="202611A01",
        vaccinator=nurse,
        given_by=wang,
        injection_site="left_arm",
        at=timezone.now() - datetime.timedelta(hours=1),
    )
    return vaccination


def login(user):
    client = Client()
    client.force_login(user)
    return client


def panel(client, appointment):
    return client.get(reverse("sites:arrival", args=[appointment.pk]), **HX)


def shoot(client, appointment, **data):
    data = {"lot_number": "202611A01", "injection_site": "right_arm", **data}
    return client.post(reverse("sites:vaccinate", args=[appointment.pk]), data, **HX)


# The vaccinator, picked once per shift ------------------------------------------------------


def test_the_nurse_picks_her_name_once_per_shift_and_each_dose_records_her(cleared, nurse, wang, li):
    team = login(nurse)
    first, second = cleared(), cleared()
    page = panel(team, first)
    assert page.context["step"] == "shot" and page.context["shift"] is None
    assert "王护士" in page.content.decode() and 'data-testid="pick-vaccinator"' in page.content.decode()

    picked = team.post(reverse("sites:shift", args=[first.pk]), {"vaccinator": wang.pk}, **HX)
    assert picked.context["shift"]["name"] == "王护士" and 'data-testid="shot-form"' in picked.content.decode()
    assert "换人" in picked.content.decode()
    assert shoot(team, first).context["step"] == "done"
    # The next person: her name is already there, nothing to pick.
    assert panel(team, second).context["shift"]["name"] == "王护士"
    assert shoot(team, second, injection_site="left_arm").context["step"] == "done"

    doses = list(Vaccination.objects.order_by("pk"))
    assert [(v.given_by, v.vaccinator, v.injection_site) for v in doses] == [
        (wang, nurse, "right_arm"),
        (wang, nurse, "left_arm"),
    ]


def test_changing_the_person_asks_for_the_name_again_and_the_pick_ends_with_the_day(cleared, nurse, wang, li):
    team = login(nurse)
    appointment = cleared()
    team.post(reverse("sites:shift", args=[appointment.pk]), {"vaccinator": wang.pk}, **HX)
    changed = team.post(reverse("sites:shift", args=[appointment.pk]), {"change": "1"}, **HX)
    assert changed.context["shift"] is None and 'data-testid="shift-form"' in changed.content.decode()
    team.post(reverse("sites:shift", args=[appointment.pk]), {"vaccinator": li.pk}, **HX)
    assert panel(team, appointment).context["shift"]["name"] == "李护士"

    session = team.session
    key = next(k for k, _picked in session.items() if k.startswith("sites:shift:"))
    session[key] = {**session[key], "day": (timezone.localdate() - DAY).isoformat()}  # yesterday's pick
    session.save()
    assert panel(team, appointment).context["shift"] is None
    refused = shoot(team, appointment)
    assert refused.context["step"] == "shot" and "请先选择" in refused.context["error"]
    assert not Vaccination.objects.exists()


def test_a_nurse_taken_off_the_list_during_her_shift_is_asked_to_pick_again(cleared, nurse, wang, li):
    team = login(nurse)
    appointment = cleared()
    team.post(reverse("sites:shift", args=[appointment.pk]), {"vaccinator": wang.pk}, **HX)
    Vaccinator.objects.filter(pk=wang.pk).update(is_active=False)
    refused = shoot(team, appointment)
    assert refused.context["shift"] is None and refused.context["vaccinators"] == [li]
    assert not Vaccination.objects.exists()


def test_a_name_of_another_site_or_no_longer_active_is_refused(cleared, nurse, wang, site_jiangdian):
    stranger = Vaccinator.objects.create(site=site_jiangdian, name="赵护士")
    team = login(nurse)
    appointment = cleared()
    assert team.post(reverse("sites:shift", args=[appointment.pk]), {"vaccinator": stranger.pk}, **HX).context["error"]
    result = site_shot(
        pk=appointment.pk, lot_number="L1", vaccinator=nurse, injection_site="left_arm", given_by=stranger
    )
    assert result.refused is not None and not Vaccination.objects.exists()
    wang.is_active = False
    wang.save()
    result = site_shot(pk=appointment.pk, lot_number="L1", vaccinator=nurse, injection_site="left_arm", given_by=wang)
    assert result.refused is not None and not Vaccination.objects.exists()


def test_the_workstation_shot_without_a_name_is_refused_where_the_site_keeps_a_list(cleared, nurse, wang):
    # The rule lives in the service (site_shot), not only in the page: a POST without a pick records nothing.
    appointment = cleared()
    result = site_shot(pk=appointment.pk, lot_number="L1", vaccinator=nurse, injection_site="left_arm")
    assert result.refused is not None and "姓名" in str(result.refused.message)
    assert not Vaccination.objects.exists()
    response = shoot(login(nurse), appointment)  # the page: nobody picked on this desk
    assert response.context["error"] and not Vaccination.objects.exists()
    wang.is_active = False
    wang.save()  # a site without an active list records under the account alone
    assert site_shot(pk=appointment.pk, lot_number="L1", vaccinator=nurse, injection_site="left_arm").refused is None


def test_the_injection_site_is_required_for_a_new_dose(cleared, nurse, wang):
    team = login(nurse)
    appointment = cleared()
    team.post(reverse("sites:shift", args=[appointment.pk]), {"vaccinator": wang.pk}, **HX)
    response = shoot(team, appointment, injection_site="")
    assert response.context["step"] == "shot" and response.context["form"].errors["injection_site"]
    assert 'data-testid="injection-site"' in response.content.decode() and "左上臂" in response.content.decode()
    with pytest.raises(BookingRefused, match="接种部位"):
        site_shot(pk=appointment.pk, lot_number="L1", vaccinator=nurse, injection_site="", given_by=wang)
    assert not Vaccination.objects.exists()


def test_the_sites_doctor_or_the_office_keeps_the_list_of_vaccinators(site_centre, doctor, nurse, office):
    added = vaccinator_add(site=site_centre, name=" 王护士 ", by=doctor)
    assert added.name == "王护士" and added.is_active
    with pytest.raises(DoseRecordRefused):
        vaccinator_add(site=site_centre, name="王护士", by=office)
    vaccinator_set_active(vaccinator=added, active=False, by=office)
    assert vaccinator_add(site=site_centre, name="王护士", by=doctor).pk == added.pk  # back, the same person
    with pytest.raises(NotAllowed):
        vaccinator_add(site=site_centre, name="李护士", by=nurse)

    page = login(nurse).get(reverse("sites:vaccinators"))
    assert page.status_code == 200 and "王护士" in page.content.decode() and not page.context["can_edit"]
    assert login(nurse).post(reverse("sites:vaccinators"), {"name": "李护士"}).status_code == 403
    response = login(doctor).post(reverse("sites:vaccinators"), {"name": "李护士"})
    assert response.status_code == 302 and Vaccinator.objects.filter(name="李护士").exists()
    response = login(office).post(
        reverse("sites:watch_vaccinators", args=[site_centre.pk]), {"vaccinator": added.pk, "active": "0"}
    )
    assert response.status_code == 302 and not Vaccinator.objects.get(pk=added.pk).is_active
    assert login(office).post(reverse("sites:vaccinators"), {"name": "x"}).status_code == 403  # names no site


# Corrections ---------------------------------------------------------------------------------


def test_the_doctor_corrects_the_time_and_the_vaccinator_and_the_history_keeps_the_old_values(dose, doctor, li):
    was = dose.vaccinated_at
    at = (was - datetime.timedelta(minutes=40)).replace(second=0, microsecond=0)
    corrected = vaccination_correct(
        vaccination=dose, by=doctor, reason="录入时间有误，实为李护士接种", given_by=li, vaccinated_at=at
    )
    dose.refresh_from_db()
    assert (dose.vaccinated_at, dose.given_by) == (at, li) == (corrected.vaccinated_at, corrected.given_by)
    assert dose.observation_until == at + datetime.timedelta(minutes=30)

    latest, first = dose_history(dose.pk)
    assert first["type"] == "+"
    assert latest["type"] == "~" and latest["who"] == "周医生" and latest["reason"] == "录入时间有误，实为李护士接种"
    changes = {str(change["field"]): (change["old"], change["new"]) for change in latest["changes"]}
    assert changes["接种人员"] == ("王护士", "李护士")
    assert changes["接种时间"] == (
        f"{timezone.localtime(was):%Y-%m-%d %H:%M}",
        f"{timezone.localtime(at):%Y-%m-%d %H:%M}",
    )


def test_the_office_corrects_the_lot_and_the_dose_counts_for_the_new_lot(dose, office, campaign):
    lot = Lot.objects.create(
        campaign=campaign, manufacturer="北京科兴", number="202611B07", expiry_date=timezone.localdate() + 90 * DAY
    )
    vaccination_correct(vaccination=dose, by=office, reason="批号录错", lot=lot)
    dose.refresh_from_db()
    assert (dose.lot, dose.lot_number, dose.manufacturer) == (lot, "202611B07", "北京科兴")
    assert lot.vaccinations.count() == 1  # stock is computed from the doses by lot
    assert dose.history.count() == 2


@pytest.mark.parametrize(
    ("case", "says"),
    [
        ("future", "晚于现在"),
        ("before_start", "早于本次接种工作开始"),
        ("no_reason", "原因"),
        ("nothing", "没有需要更正"),
        ("other_campaign_lot", "不属于"),
        ("other_site_vaccinator", "名单"),
    ],
)
def test_a_correction_the_rules_refuse_changes_nothing(case, says, dose, doctor, campaign, site_jiangdian):
    kwargs = {"reason": "更正"}
    if case == "future":
        kwargs["vaccinated_at"] = timezone.now() + datetime.timedelta(hours=2)
    elif case == "before_start":
        kwargs["vaccinated_at"] = timezone.now() - 60 * DAY
    elif case == "no_reason":
        kwargs = {"reason": "  ", "injection_site": "right_arm"}
    elif case == "nothing":
        kwargs["given_by"] = dose.given_by
    elif case == "other_campaign_lot":
        other = CampaignFactory()
        kwargs["lot"] = Lot.objects.create(
            campaign=other, manufacturer="国药", number="X1", expiry_date=timezone.localdate() + 9 * DAY
        )
    elif case == "other_site_vaccinator":
        kwargs["given_by"] = Vaccinator.objects.create(site=site_jiangdian, name="赵护士")
    before = list(Vaccination.objects.values())
    with pytest.raises(DoseRecordRefused) as refused:
        vaccination_correct(vaccination=dose, by=doctor, **kwargs)
    assert says in refused.value.message
    assert list(Vaccination.objects.values()) == before and dose.history.filter(history_type="~").count() == 0


def test_a_nurse_a_cadre_or_another_sites_doctor_cannot_correct_or_void(dose, nurse, cadre_qingshan, other_doctor):
    for user in (nurse, cadre_qingshan, other_doctor):
        with pytest.raises(NotAllowed):
            vaccination_correct(vaccination=dose, by=user, reason="x", injection_site="right_arm")
        with pytest.raises(NotAllowed):
            vaccination_void(vaccination=dose, by=user, reason="x")
    url = reverse("sites:dose_record", args=[dose.pk])
    page = login(nurse).get(url)
    assert page.status_code == 200 and 'data-testid="correct-form"' not in page.content.decode()
    assert login(nurse).post(url, {"action": "void", "reason": "记错人"}).status_code == 403
    assert login(cadre_qingshan).post(url, {"action": "void", "reason": "记错人"}).status_code == 403
    assert login(other_doctor).get(url).status_code == 404
    assert Vaccination.objects.filter(pk=dose.pk).exists() and not VaccinationVoid.objects.exists()


def test_the_doctor_corrects_through_the_page_and_sees_the_history(dose, doctor, li):
    url = reverse("sites:dose_record", args=[dose.pk])
    client = login(doctor)
    page = client.get(url)
    assert 'data-testid="correct-form"' in page.content.decode()
    form = page.context["correction"]
    data = {
        "action": "correct",
        "vaccinated_at": form.initial["vaccinated_at"].strftime("%Y-%m-%dT%H:%M"),
        "given_by": li.pk,
        "lot": "",
        "injection_site": "left_arm",
        "reason": "实为李护士接种",
    }
    assert client.post(url, {"action": "correct"}).status_code == 200  # no reason: nothing written
    assert dose.history.count() == 1
    response = client.post(url, data, follow=True)
    html = response.content.decode()
    assert Vaccination.objects.get(pk=dose.pk).given_by == li
    assert "王护士 → 李护士" in html and "实为李护士接种" in html and "周医生" in html


def test_a_dose_recorded_without_history_gets_its_first_row_when_corrected(dose, doctor):
    # Doses inserted in bulk (the demo, doses from before the history was kept) have no history row.
    dose.history.all().delete()
    assert dose_history(dose.pk) == []
    page = login(doctor).get(reverse("sites:dose_record", args=[dose.pk]))
    assert page.status_code == 200 and "记录后未做更正" in page.content.decode()
    vaccination_correct(vaccination=dose, by=doctor, reason="实为右上臂", injection_site="right_arm")
    latest, first = dose_history(dose.pk)
    assert first["type"] == "+" and first["when"] == dose.vaccinated_at
    assert [(c["old"], c["new"]) for c in latest["changes"]] == [("左上臂", "右上臂")]


def test_the_sites_doses_page_takes_any_date_without_failing(dose, office, site_centre):
    url = reverse("sites:watch_doses", args=[site_centre.pk])
    for day in ("0001-01-01", "9999-12-31", "2021-02-30", "abc", ""):
        assert login(office).get(url, {"date": day}).status_code == 200


# Voids ---------------------------------------------------------------------------------------


def test_a_void_takes_the_dose_out_of_the_progress_and_reopens_the_appointment(dose, doctor, campaign, qingshan):
    progress_compute(campaign=campaign)
    assert VillageProgress.objects.get(village=qingshan).dose1 == 1
    assert sum(DailyProgress.objects.values_list("dose1", flat=True)) == 1
    held = Appointment.objects.get(resident=dose.resident, dose_number=2)

    void = vaccination_void(vaccination=dose, by=doctor, reason="记错人：实为同名的另一位居民")

    assert not Vaccination.objects.filter(pk=dose.pk).exists()
    assert (void.resident, void.dose_number, void.site, void.lot_number, void.given_by.name, void.voided_by) == (
        dose.resident,
        1,
        dose.site,
        "202611A01",
        "王护士",
        doctor,
    )
    assert void.vaccinated_at == dose.vaccinated_at
    assert VillageProgress.objects.get(village=qingshan).dose1 == 0
    assert sum(DailyProgress.objects.values_list("dose1", flat=True)) == 0
    assert Appointment.objects.get(pk=dose.appointment_id).status == "arrived"  # today's: still at the site
    assert Appointment.objects.get(pk=held.pk).status == "booked"  # the held dose 2 stays
    assert [entry["type"] for entry in dose_history(dose.pk)] == ["-", "+"]
    page = login(doctor).get(reverse("sites:dose_record", args=[dose.pk]))
    assert page.status_code == 200 and "记错人" in page.content.decode()


def test_a_void_of_a_past_dose_leaves_its_appointment_a_no_show_and_keeps_the_next_dose_held(dose, office):
    Appointment.objects.filter(pk=dose.appointment_id).update(date=timezone.localdate() - 2 * DAY)
    Vaccination.objects.filter(pk=dose.pk).update(
        vaccinated_at=dose.vaccinated_at - 2 * DAY, observation_until=dose.observation_until - 2 * DAY
    )
    vaccination_void(vaccination=dose, by=office, reason="记错人")
    assert Appointment.objects.get(pk=dose.appointment_id).status == "no_show"
    assert Appointment.objects.get(resident=dose.resident, dose_number=2).status == "booked"


def test_a_void_is_refused_while_a_later_dose_is_recorded(dose, doctor, nurse):
    second = Appointment.objects.get(resident=dose.resident, dose_number=2)
    Vaccination.objects.create(
        resident=dose.resident,
        dose_number=2,
        site=dose.site,
        appointment=second,
        lot_number="L2",
        vaccinator=nurse,
        consent_recorded=True,
        observation_until=timezone.now() + datetime.timedelta(minutes=30),
    )
    with pytest.raises(DoseRecordRefused) as refused:
        vaccination_void(vaccination=dose, by=doctor, reason="记错人")
    assert "第2剂" in refused.value.message
    assert Vaccination.objects.count() == 2 and not VaccinationVoid.objects.exists()


def test_a_void_without_a_reason_or_twice_writes_nothing_more(dose, doctor):
    with pytest.raises(DoseRecordRefused):
        vaccination_void(vaccination=dose, by=doctor, reason=" ")
    assert Vaccination.objects.filter(pk=dose.pk).exists()
    vaccination_void(vaccination=dose, by=doctor, reason="记错人")
    with pytest.raises(DoseRecordRefused):
        vaccination_void(vaccination=dose, by=doctor, reason="记错人")
    assert VaccinationVoid.objects.count() == 1


def test_the_resident_page_and_the_site_list_show_the_dose_with_its_actions_for_those_allowed(
    dose, doctor, nurse, office
):
    resident_url = reverse("residents:detail", args=[dose.resident_id])
    assert 'data-testid="dose-correct"' in login(office).get(resident_url).content.decode()
    listed = login(doctor).get(reverse("sites:doses")).content.decode()
    assert "更正" in listed and "王护士" in listed and "左上臂" in listed
    assert "更正" not in login(nurse).get(reverse("sites:doses")).content.decode()
    vaccination_void(vaccination=dose, by=doctor, reason="记错人")
    html = login(office).get(resident_url).content.decode()
    assert 'data-testid="voided-dose"' in html and "记错人" in html


# Correction and void at once --------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_correction_and_a_void_of_one_dose_at_once_one_wins_cleanly(dose, doctor, office, li):
    def correct():
        return vaccination_correct(vaccination=dose, by=office, reason="实为李护士", given_by=li)

    def void():
        return vaccination_void(vaccination=dose, by=doctor, reason="记错人")

    import random

    work = [correct, void]
    random.shuffle(work)
    results, errors = at_once(2, lambda: work.pop()())
    assert all(isinstance(error, DoseRecordRefused) for error in errors), errors
    assert not Vaccination.objects.filter(pk=dose.pk).exists()  # the void always stands: nothing corrects it back
    void_row = VaccinationVoid.objects.get()
    history = [entry["type"] for entry in dose_history(dose.pk)]
    if errors:  # the void first: the correction found the dose gone
        assert history == ["-", "+"] and void_row.given_by.name == "王护士"
    else:  # the correction first: the void kept the corrected dose
        assert history == ["-", "~", "+"] and void_row.given_by == li
