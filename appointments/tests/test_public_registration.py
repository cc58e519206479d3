"""The public self-registration page (/book/register/): after the phone is verified, a person the
cadres have not listed registers, with the screening answers and the PIPL consent; they join the
phone's family, wait for the cadre's review, and are told kindly when they cannot be vaccinated now."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.public import identity
from appointments.public.models import FamilyMember, PhoneAccount
from appointments.public.registration import CONSENT_VERSION, QUESTIONS
from appointments.public.views import SESSION_UNREGISTERED, SESSION_VILLAGE
from campaign.lib.idnumber import make_id_number
from residents.models import Resident
from residents.tests.factories import ResidentFactory

pytestmark = pytest.mark.django_db

PHONE = "13912345678"
URL = "/book/register/"


@pytest.fixture(autouse=True)
def _own_cache(settings):
    """Rate counts in a cache of this test's own: every test registers from the same phone, and the suite's
    Redis keeps counting across tests (the page allows a phone PUBLIC_RATE_ADD_PHONE registrations a day)."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "reg"}}
    from django.core.cache import cache

    cache.clear()


def person_id(sequence=101, years=35, sex="M"):
    today = timezone.localdate()
    born = today.replace(year=today.year - years) - datetime.timedelta(days=3)
    # An odd sequence is a man, an even one a woman.
    return make_id_number("341524", born, sequence if (sequence % 2) == (sex == "M") else sequence + 1)


def verified(client, phone=PHONE):
    """A device on which `phone` has just been verified (what public_sign_in leaves in the session)."""
    session = client.session
    session[identity.SESSION_PHONE] = phone
    session[identity.SESSION_VERIFIED_AT] = int(timezone.now().timestamp())
    session.save()
    return client


def answers(**yes):
    return {field: "yes" if yes.get(field) else "no" for field in QUESTIONS}


def form_data(chosen, **changes):
    data = {
        "name": "周自登",
        "document_type": "id_card",
        "id_number": person_id(),
        "relation": "self",
        "village": chosen.pk,
        "basis": "residence",
        "consent": "on",
        **answers(),
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def errors_of(response, field=None):
    form = response.context["form"]
    return " ".join(form.non_field_errors() if field is None else form.errors.get(field, []))


@pytest.fixture
def phone(client, qingshan, honghe):
    return verified(client)


def test_the_page_is_for_a_verified_phone_only(client, qingshan):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"] == reverse("public:start")
    assert client.post(URL, form_data(qingshan))["Location"] == reverse("public:start")
    assert not Resident.objects.exists()


def test_a_person_not_on_the_list_registers_joins_the_family_and_reaches_the_cadre(
    phone, qingshan, client, cadre_qingshan
):
    before = timezone.now()
    response = phone.post(URL, form_data(qingshan), follow=True)

    resident = Resident.objects.get()
    member = FamilyMember.objects.get()
    assert response.redirect_chain[-1][0] == reverse("public:person", args=[member.pk])
    assert "登记成功，现在就可以预约" in response.content.decode()
    assert (resident.name, resident.village, resident.phone, resident.basis) == ("周自登", qingshan, PHONE, "residence")
    assert (resident.channel, resident.review, resident.status) == ("self", "pending", "eligible")
    assert resident.consent_version == CONSENT_VERSION and resident.consent_at >= before
    # The ID card's number gave the birth date and sex.
    assert resident.sex == "M" and resident.birth_date.year == timezone.localdate().year - 35
    assert member.account.phone == PHONE and member.resident == resident and member.relation == "self"
    assert SESSION_UNREGISTERED not in phone.session

    client.force_login(cadre_qingshan)
    review = client.get(reverse("residents:reviews")).content.decode()
    assert "周自登" in review


def test_the_form_starts_from_what_the_start_page_took_and_the_qr_village(phone, honghe):
    session = phone.session
    session[SESSION_UNREGISTERED] = {"name": "周自登", "document_type": "id_card", "id_number": person_id()}
    session[SESSION_VILLAGE] = honghe.pk
    session.save()
    response = phone.get(URL)
    form = response.context["form"]
    assert form["name"].value() == "周自登" and form["id_number"].value() == person_id()
    assert form["village"].value() == honghe.pk and form["relation"].value() == "self"
    html = response.content.decode()
    assert "139****5678" in html and PHONE not in html  # the verified phone, masked
    assert "个人信息处理同意书" in html and f"文本版本 {CONSENT_VERSION}" in html
    for question in ("目前是否怀孕？", "现在是否发热（发烧）？", "是否患有严重的慢性疾病？"):
        assert question in html


def test_a_second_person_defaults_to_a_relative_and_keeps_the_relation(phone, qingshan):
    phone.post(URL, form_data(qingshan))
    assert phone.get(URL).context["form"]["relation"].value() == "parent"
    father = form_data(qingshan, name="周老父", id_number=person_id(201, years=58), relation="parent")
    response = phone.post(URL, father)
    assert response.status_code == 302
    relations = dict(FamilyMember.objects.values_list("resident__name", "relation"))
    assert relations == {"周自登": "self", "周老父": "parent"}


def test_consent_is_required(phone, qingshan):
    response = phone.post(URL, form_data(qingshan, consent=None))
    assert "请阅读以上内容并勾选同意。" in errors_of(response, "consent")
    assert not Resident.objects.exists() and not FamilyMember.objects.exists()


def test_each_health_question_must_be_answered(phone, qingshan):
    response = phone.post(URL, form_data(qingshan, fever=None))
    assert errors_of(response, "fever") == "请回答此问题。"
    assert not Resident.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"id_number": person_id()[:-1] + ("0" if person_id()[-1] != "0" else "1")}, "id_number", "校验"),
        ({"id_number": person_id(years=10)}, "id_number", "不在本次接种年龄范围"),
        ({"id_number": person_id(years=70)}, None, None),  # above the range: healthy people are admitted
        ({"pregnant": "yes"}, "pregnant", "证件显示此人为男性，孕妇不能填“是”"),
        ({"document_type": "passport", "id_number": "E12345678"}, "birth_date", "请填写出生日期"),
        ({"name": ""}, "name", ""),
        ({"village": ""}, "village", ""),
        ({"basis": None}, "basis", "请选择一项。"),
    ],
)
def test_each_refusal_is_said_in_chinese_and_nothing_is_saved(phone, qingshan, changes, field, message):
    response = phone.post(URL, form_data(qingshan, **changes))
    if field is None:
        assert response.status_code == 302 and Resident.objects.get().status_reasons == ["over_max_age_admitted"]
        return
    assert response.status_code == 200
    error = errors_of(response, field)
    assert error and message in error
    assert not Resident.objects.exists() and not FamilyMember.objects.exists()


def test_a_passport_holder_registers_with_the_birth_date_sex_and_nationality_entered(phone, qingshan):
    data = form_data(
        qingshan,
        document_type="passport",
        id_number="E12345678",
        birth_date="1990-05-04",
        sex="F",
        nationality="KOR",
        name="KIM MINJI",
    )
    response = phone.post(URL, data)
    assert response.status_code == 302
    resident = Resident.objects.get()
    assert (resident.document_type, resident.birth_date, resident.sex, resident.nationality) == (
        "passport",
        datetime.date(1990, 5, 4),
        "F",
        "KOR",
    )


def test_a_registered_document_is_refused_without_saying_whose_or_where(phone, qingshan, honghe):
    elsewhere = ResidentFactory(village=honghe, name="欧阳已登", id_number=person_id(301))
    here = ResidentFactory(village=qingshan, name="司马已登", id_number=person_id(401))

    first = phone.post(URL, form_data(qingshan, id_number=elsewhere.id_number))
    second = phone.post(URL, form_data(qingshan, id_number=here.id_number))

    assert errors_of(first, "id_number") == errors_of(second, "id_number") == "该证件已登记，请联系村干部。"
    for response in (first, second):
        html = response.content.decode()
        assert "欧阳已登" not in html and "司马已登" not in html
        assert 'data-testid="duplicate-help"' in html and reverse("public:add") in html
    assert Resident.objects.count() == 2 and not FamilyMember.objects.exists()


def test_a_deferred_person_is_registered_and_told_to_come_back_after_recovery(phone, qingshan):
    response = phone.post(URL, form_data(qingshan, fever="yes"), follow=True)
    resident = Resident.objects.get()
    assert (resident.status, resident.status_reasons, resident.review) == ("deferred", ["fever"], "pending")
    html = response.content.decode()
    assert "目前应暂缓接种" in html and "康复后" in html and "发热" in html


def test_an_excluded_person_is_registered_and_told_to_ask_a_doctor(phone, qingshan):
    response = phone.post(URL, form_data(qingshan, severe_allergy="yes"), follow=True)
    resident = Resident.objects.get()
    assert resident.status == "excluded" and resident.review == "pending"
    html = response.content.decode()
    assert "本次活动不建议接种" in html and "咨询医生" in html


def test_a_full_family_registers_nobody(phone, qingshan, settings):
    settings.PUBLIC_FAMILY_MAX = 2
    account = PhoneAccount.objects.create(phone=PHONE)
    for _n in range(2):
        FamilyMember.objects.create(account=account, resident=ResidentFactory(village=qingshan), relation="other")
    page = phone.get(URL)
    assert page.context["full"] and "一个手机号最多为 2 人预约" in page.content.decode()
    phone.post(URL, form_data(qingshan))
    assert not Resident.objects.filter(channel="self").exists()


def test_the_family_limit_holds_when_the_last_place_is_taken_meanwhile(phone, qingshan, settings, monkeypatch):
    """The page showed room, then another device filled the family: family_add refuses and the
    registration is rolled back with it."""
    settings.PUBLIC_FAMILY_MAX = 1
    account = PhoneAccount.objects.create(phone=PHONE)
    real_add = identity.family_add

    def add_after_another(**kwargs):
        FamilyMember.objects.create(account=account, resident=ResidentFactory(village=qingshan), relation="other")
        return real_add(**kwargs)

    monkeypatch.setattr(identity, "family_add", add_after_another)
    response = phone.post(URL, form_data(qingshan))
    assert errors_of(response) == "一个手机号最多为 1 人预约。"
    assert not Resident.objects.filter(channel="self").exists()
