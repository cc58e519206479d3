"""Children and their guardians (监护人), and the campaign's own screening questions (part 三)."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from campaign.lib.idnumber import make_id_number
from campaign.models import ScreeningQuestion
from campaign.roles import Role
from campaign.screening import CATALOGUE_BY_CODE
from campaign.tests.factories import CampaignFactory, SiteFactory, VillageFactory, user_with_role
from residents.models import FullValueView, Resident
from residents.services import eligibility_decide, guardian_check, resident_register, resident_update

pytestmark = pytest.mark.django_db

MOTHER_ID = make_id_number("341524", datetime.date(1992, 3, 8), 24)  # a woman's number


def months_ago(months: int, days: int = 3) -> datetime.date:
    today = timezone.localdate()
    total = today.year * 12 + today.month - 1 - months
    year, month = divmod(total, 12)
    return datetime.date(year, month + 1, min(today.day, 28)) - datetime.timedelta(days=days)


@pytest.fixture
def measles(db):
    today = timezone.localdate()
    campaign = CampaignFactory(
        name="麻疹疫苗强化免疫",
        vaccine="麻疹风疹联合减毒活疫苗",
        age_unit="months",
        min_age=8,
        max_age=72,
        admit_healthy_over_max_age=False,
        doses=1,
        start_date=today - datetime.timedelta(days=4),
        end_date=today + datetime.timedelta(days=5),
        first_dose_deadline=today + datetime.timedelta(days=5),
        target_people=900,
    )
    for position, code in enumerate(["fever", "severe_allergy", "recent_live_vaccine", "immunodeficiency"]):
        question = CATALOGUE_BY_CODE[code]
        ScreeningQuestion.objects.create(
            campaign=campaign, code=code, text=str(question.text), outcome=question.outcome, position=position
        )
    return campaign


@pytest.fixture
def village(measles):
    return VillageFactory(site=SiteFactory(campaign=measles), name="青山社区", population=900, quota=850)


def guardian(**changes):
    return {
        "phone": "13912345678",
        "guardian_name": "王芳",
        "guardian_relation": "mother",
        "guardian_document_type": "id_card",
        "guardian_id_number": MOTHER_ID,
        **changes,
    }


def register_child(campaign, village, *, months=14, number="Q123456789", **fields):
    return resident_register(
        campaign=campaign,
        village=village,
        name="李小雨",
        document_type="birth_certificate",
        id_number=number,
        birth_date=months_ago(months),
        sex="F",
        **fields,
    )


def test_a_child_registers_with_her_birth_certificate_and_guardian(measles, village):
    child = register_child(measles, village, **guardian())
    assert child.status == Resident.Status.ELIGIBLE
    assert (child.document_type, child.id_number) == ("birth_certificate", "Q123456789")
    assert (child.guardian_name, child.guardian_relation, child.phone) == ("王芳", "mother", "13912345678")
    assert child.guardian_id_number == MOTHER_ID


def test_a_child_without_a_guardian_is_refused_in_chinese(measles, village):
    with pytest.raises(ValidationError) as refused:
        register_child(measles, village, phone="13912345678")
    messages = refused.value.message_dict
    assert messages["guardian_name"] == ["未满18周岁的受种者须登记监护人：请填写监护人姓名。"]
    assert messages["guardian_relation"] == ["请选择监护人与受种者的关系。"]
    assert messages["guardian_id_number"] == ["请填写监护人证件号码。"]
    with pytest.raises(ValidationError) as no_phone:
        register_child(measles, village, **guardian(phone=""))
    assert no_phone.value.message_dict["phone"] == ["请填写监护人电话：预约相关短信将发送到这个号码。"]
    assert not Resident.objects.exists()


def test_a_wrong_guardian_document_is_refused_with_its_own_message(measles, village):
    wrong = MOTHER_ID[:-1] + ("0" if MOTHER_ID[-1] != "0" else "1")
    with pytest.raises(ValidationError) as refused:
        register_child(measles, village, **guardian(guardian_id_number=wrong))
    (message,) = refused.value.message_dict["guardian_id_number"]
    assert message.startswith("监护人证件：") and "校验" in message
    # Any document type: a passport holder's number, as a passport is checked.
    child = register_child(
        measles, village, **guardian(guardian_document_type="passport", guardian_id_number="e12345678")
    )
    assert (child.guardian_document_type, child.guardian_id_number) == ("passport", "E12345678")


def test_an_adult_needs_no_guardian(campaign, qingshan):
    number = make_id_number("341524", datetime.date(1980, 1, 2), 11)
    adult = resident_register(campaign=campaign, village=qingshan, name="张伟", id_number=number)
    assert adult.guardian_name == "" and adult.status == Resident.Status.ELIGIBLE
    # Under the campaign's set age (here 20 years) a 19-year-old has one too.
    campaign.guardian_under_age = 20
    nineteen = timezone.localdate().replace(year=timezone.localdate().year - 19) - datetime.timedelta(days=5)
    assert guardian_check(campaign=campaign, birth_date=nineteen, **guardian())["guardian_name"] == "王芳"
    with pytest.raises(ValidationError):
        guardian_check(campaign=campaign, birth_date=nineteen, phone="13912345678")


def test_the_age_is_counted_in_months(measles):
    assert eligibility_decide(campaign=measles, birth_date=months_ago(7), answers={}).reasons == ["too_young"]
    assert eligibility_decide(campaign=measles, birth_date=months_ago(8), answers={}).status == "eligible"
    assert eligibility_decide(campaign=measles, birth_date=months_ago(72), answers={}).status == "eligible"
    assert eligibility_decide(campaign=measles, birth_date=months_ago(73), answers={}).reasons == ["too_old"]


def test_an_edit_cannot_drop_the_guardian_of_a_child(measles, village):
    child = register_child(measles, village, **guardian())
    with pytest.raises(ValidationError):
        resident_update(resident=child, guardian_name="", guardian_relation="")
    resident_update(resident=Resident.objects.get(), guardian_relation="grandparent", guardian_name="李国华")
    assert Resident.objects.get().guardian_relation == "grandparent"


def test_a_catalogue_question_answered_yes_defers_and_another_excludes(measles, village):
    child = register_child(measles, village, extra_answers={"recent_live_vaccine": True}, **guardian())
    assert (child.status, child.status_reasons) == ("deferred", ["recent_live_vaccine"])
    assert child.extra_answers == {"recent_live_vaccine": True, "immunodeficiency": False}
    resident_update(resident=child, extra_answers={"recent_live_vaccine": False, "immunodeficiency": True})
    child.refresh_from_db()
    assert (child.status, child.status_reasons) == ("excluded", ["immunodeficiency"])
    # A question the campaign does not ask counts for nothing.
    other = register_child(
        measles, village, number="Q123456780", extra_answers={"recent_blood_products": True}, **guardian()
    )
    assert other.status == "eligible" and "recent_blood_products" not in other.extra_answers


def test_the_registration_form_asks_exactly_the_campaigns_questions(measles, village, client):
    cadre = user_with_role(Role.CADRE, village=village)
    client.force_login(cadre)
    page = client.get(reverse("residents:new")).content.decode()
    assert "近4周内是否接种过其他减毒活疫苗？" in page and 'name="extra_recent_live_vaccine"' in page
    assert 'name="pregnant"' not in page and 'name="fever"' in page
    assert "出生医学证明" in page and 'name="guardian_id_number"' in page
    response = client.post(
        reverse("residents:new"),
        {
            "name": "李小雨",
            "document_type": "birth_certificate",
            "id_number": "Q123456789",
            "birth_date": months_ago(14).isoformat(),
            "sex": "F",
            "basis": "household",
            "priority_group": "general",
            "extra_recent_live_vaccine": "on",
            **guardian(),
        },
    )
    child = Resident.objects.get()
    assert response.status_code == 302 and child.status == "deferred"
    assert child.guardian_name == "王芳" and child.extra_answers["recent_live_vaccine"] is True
    detail = client.get(reverse("residents:detail", args=[child.pk])).content.decode()
    assert "王芳（母亲）" in detail and MOTHER_ID in detail and "✗ 近4周内是否接种过其他减毒活疫苗？" in detail
    assert "月龄" in detail


def test_the_form_says_in_chinese_what_the_guardian_lacks(measles, village, client):
    client.force_login(user_with_role(Role.CADRE, village=village))
    response = client.post(
        reverse("residents:new"),
        {
            "name": "李小雨",
            "document_type": "birth_certificate",
            "id_number": "Q123456789",
            "birth_date": months_ago(14).isoformat(),
            "sex": "F",
            "basis": "household",
            "priority_group": "general",
            "phone": "13912345678",
        },
    )
    assert response.status_code == 200 and not Resident.objects.exists()
    errors = response.context["form"].errors
    assert errors["guardian_name"] == ["未满18周岁的受种者须登记监护人：请填写监护人姓名。"]


def test_the_guardians_number_is_masked_for_supervision_and_full_for_the_cadre(measles, village, client):
    child = register_child(measles, village, **guardian())
    supervisor = user_with_role(Role.SUPERVISION)
    client.force_login(supervisor)
    page = client.get(reverse("residents:detail", args=[child.pk])).content.decode()
    assert MOTHER_ID not in page and MOTHER_ID[:6] + "********" + MOTHER_ID[-4:] in page
    assert not FullValueView.objects.filter(user=supervisor).exists()
    cadre = user_with_role(Role.CADRE, village=village)
    client.force_login(cadre)
    assert MOTHER_ID in client.get(reverse("residents:detail", args=[child.pk])).content.decode()
    assert FullValueView.objects.filter(user=cadre, resident=child, kind="page").exists()
    # Its changes in the history are masked the same way.
    resident_update(resident=child, guardian_id_number=make_id_number("341524", datetime.date(1990, 1, 1), 12))
    client.force_login(supervisor)
    page = client.get(reverse("residents:detail", args=[child.pk])).content.decode()
    assert MOTHER_ID not in page


def test_the_sites_pre_screening_asks_the_campaigns_questions_and_a_catalogue_yes_defers(measles, village):
    from appointments.models import Appointment
    from sites.forms import ScreeningForm
    from sites.models import PreScreening
    from sites.services import site_prescreen

    form = ScreeningForm(campaign=measles)
    assert [field.name for field in form.questions()] == [
        "fever",
        "severe_allergy",
        "extra_recent_live_vaccine",
        "extra_immunodeficiency",
    ]
    child = register_child(measles, village, **guardian())
    team = user_with_role(Role.SITE_TEAM, site=village.site)
    appointment = Appointment.objects.create(
        resident=child, dose_number=1, site=village.site, date=timezone.localdate(), status="arrived"
    )
    form = ScreeningForm({"temperature": "36.6", "consent": "on", "extra_recent_live_vaccine": "on"}, campaign=measles)
    assert form.is_valid() and form.positives() == ["recent_live_vaccine"] and not form.would_exclude()
    screening = site_prescreen(
        appointment=appointment, answers=form.answers(), temperature=36.6, consent=True, screened_by=team
    )
    assert screening.outcome == PreScreening.Outcome.DEFERRED and screening.reasons == ["recent_live_vaccine"]
    assert screening.extra_answers == {"recent_live_vaccine": True, "immunodeficiency": False}
    child.refresh_from_db()
    assert (child.status, child.extra_answers["recent_live_vaccine"]) == ("deferred", True)
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED


def test_the_edit_page_shows_and_changes_the_guardian(measles, village, client):
    child = register_child(measles, village, **guardian())
    client.force_login(user_with_role(Role.CADRE, village=village))
    page = client.get(reverse("residents:edit", args=[child.pk])).content.decode()
    assert 'value="王芳"' in page and "近4周内是否接种过其他减毒活疫苗？" in page
    data = {
        "name": child.name,
        "basis": "household",
        "priority_group": "general",
        **guardian(guardian_name="李国华", guardian_relation="grandparent"),
    }
    response = client.post(reverse("residents:edit", args=[child.pk]), {**data, "guardian_name": ""})
    assert response.status_code == 200 and "须登记监护人" in response.content.decode()
    response = client.post(reverse("residents:edit", args=[child.pk]), {**data, "extra_immunodeficiency": "on"})
    assert response.status_code == 302
    child.refresh_from_db()
    assert (child.guardian_name, child.guardian_relation, child.status) == ("李国华", "grandparent", "excluded")


def test_the_site_registers_a_child_on_the_spot_with_her_guardian(measles, village, client):
    team = user_with_role(Role.SITE_TEAM, site=village.site)
    client.force_login(team)
    page = client.get(reverse("sites:register")).content.decode()
    assert 'name="guardian_name"' in page and 'name="extra_recent_live_vaccine"' in page
    response = client.post(
        reverse("sites:register"),
        {
            "village": village.pk,
            "name": "李小雨",
            "document_type": "birth_certificate",
            "id_number": "Q123456789",
            "birth_date": months_ago(20).isoformat(),
            "sex": "F",
            "basis": "household",
            "priority_group": "general",
            **guardian(),
        },
    )
    assert response.status_code == 302
    child = Resident.objects.get()
    assert child.guardian_name == "王芳" and child.registered_by == team
