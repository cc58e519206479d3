"""The public booking's identity pages: the QR entry, the start page, the code, the family, their guards."""

import datetime
import re

import pytest
from captcha.models import CaptchaStore
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appointments.messaging.models import Kind, Message
from appointments.public import limits
from appointments.public.forms import form_stamp
from appointments.public.models import FamilyMember, PhoneAccount, PhoneCode
from campaign.tests.factories import CampaignFactory, VillageFactory
from residents.tests.factories import ResidentFactory

PHONE = "13900001111"
TOO_MANY = "操作太频繁，请稍后再试"


@pytest.fixture(autouse=True)
def _own_cache(settings):
    """Rate counts in a cache of this test's own (the suite's Redis is shared by parallel workers)."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "public"}}
    from django.core.cache import cache

    cache.clear()


def shown_long_ago():
    return form_stamp(timezone.now() - datetime.timedelta(seconds=30))


def start(client, *, name, id_number, phone=PHONE, document_type="id_card", **extra):
    """Open the start page (it gives the device cookie), then send it as a person would."""
    client.get(reverse("public:start"))
    data = {"name": name, "document_type": document_type, "id_number": id_number, "phone": phone}
    data.setdefault("shown", shown_long_ago())
    return client.post(reverse("public:start"), {**data, **extra})


def last_code(phone=PHONE) -> str:
    return Message.objects.filter(kind=Kind.CODE, phone=phone).order_by("-id").first().params["code"]


def verify(client, phone=PHONE):
    return client.post(reverse("public:code"), {"code": last_code(phone)})


def page_text(response) -> str:
    """The page without what differs between two requests (the form token, the form's time stamp)."""
    html = response.content.decode()
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    return re.sub(r'name="shown" value="[^"]+"', "", html)


# --- the QR entry --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_village_qr_link_opens_the_start_page_with_the_village_chosen(client, qingshan, honghe):
    response = client.get(reverse("public:village", args=[qingshan.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("public:start")
    page = client.get(reverse("public:start"))
    assert page.status_code == 200
    assert page.context["form"]["village"].value() == qingshan.pk
    assert 'data-testid="chosen-village">青山社区<' in page.content.decode()


@pytest.mark.django_db
def test_a_village_of_another_campaign_is_not_found(client, qingshan):
    old = VillageFactory(site__campaign=CampaignFactory(is_open=False))
    assert client.get(reverse("public:village", args=[old.pk])).status_code == 404
    assert client.get(reverse("public:village", args=[999999])).status_code == 404


@pytest.mark.django_db
def test_the_public_pages_need_no_staff_login(client, qingshan):
    assert client.get(reverse("public:start")).status_code == 200
    # Pages of a verified phone send others to the start page, not to the staff login.
    for name in ("public:family", "public:code", "public:register"):
        assert client.get(reverse(name))["Location"] == reverse("public:start"), name


# --- the enumeration rule ------------------------------------------------------------------


@pytest.mark.django_db
def test_before_the_code_a_registered_and_an_unknown_document_get_the_same_answer(qingshan):
    from residents.tests.factories import id_number_for

    registered = ResidentFactory(village=qingshan, name="张三丰")
    unknown = id_number_for(4242)
    answers = []
    for id_number in (registered.id_number, unknown):
        client = Client()
        with CaptureQueriesContext(connection) as queries:
            sent = start(client, name="张三丰", id_number=id_number)
        assert not [q for q in queries.captured_queries if "residents_resident" in q["sql"]]
        code_page = client.get(reverse("public:code"))
        wrong = client.post(reverse("public:code"), {"code": "000000"})
        answers.append((sent.status_code, sent["Location"], page_text(code_page), page_text(wrong)))
        PhoneCode.objects.all().delete()  # the same phone may ask again at once
    assert answers[0] == answers[1]
    assert answers[0][1] == reverse("public:code")


@pytest.mark.django_db
def test_a_number_that_cannot_be_one_is_refused_whoever_it_is(client, qingshan):
    response = start(client, name="张三", id_number="123456789012345678")
    assert response.status_code == 200 and "id_number" in response.context["form"].errors
    assert not Message.objects.exists()


# --- after the code ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_registered_person_verifies_the_phone_and_sees_themselves(client, qingshan):
    resident = ResidentFactory(village=qingshan, name="张三丰")
    start(client, name="张三丰", id_number=resident.id_number)
    response = verify(client)
    assert response["Location"] == reverse("public:family")
    family = client.get(reverse("public:family"))
    html = family.content.decode()
    assert "张*丰" in html and "张三丰" not in html and resident.id_number not in html
    assert "已登记，尚未预约" in html and "本人" in html
    member = FamilyMember.objects.get()
    assert member.resident == resident and member.account.phone == PHONE and member.relation == "self"


@pytest.mark.django_db
def test_an_unknown_document_after_the_code_is_offered_registration(client, qingshan):
    from residents.tests.factories import id_number_for

    client.get(reverse("public:village", args=[qingshan.pk]))
    start(client, name="李四", id_number=id_number_for(777))
    verify(client)
    family = client.get(reverse("public:family"))
    html = family.content.decode()
    assert "未找到该证件的登记信息" in html and reverse("public:register") in html
    assert not FamilyMember.objects.exists()
    # The registration page finds what was typed in the session.
    assert client.session["public_unregistered"]["name"] == "李四"
    assert client.session["public_unregistered"]["village"] == qingshan.pk


@pytest.mark.django_db
def test_a_document_registered_under_another_name_is_told_only_that(client, qingshan):
    resident = ResidentFactory(village=qingshan, name="张三丰", phone="13812345678")
    start(client, name="张三", id_number=resident.id_number)
    verify(client)
    html = client.get(reverse("public:family")).content.decode()
    assert "姓名与证件号码不符，请核对，或联系村干部" in html
    assert "青山社区" not in html and "138****5678" not in html and "未找到" not in html
    assert not FamilyMember.objects.exists()


@pytest.mark.django_db
def test_a_wrong_code_is_refused_and_signs_nobody_in(client, qingshan):
    start(client, name="张三", id_number=ResidentFactory(village=qingshan, name="张三").id_number)
    wrong = f"{(int(last_code()) + 1) % 1_000_000:06d}"
    response = client.post(reverse("public:code"), {"code": wrong})
    assert response.status_code == 200 and "验证码错误或已失效" in response.content.decode()
    assert client.get(reverse("public:family"))["Location"] == reverse("public:start")


@pytest.mark.django_db
def test_asking_again_within_the_minute_goes_to_the_code_already_sent(client, qingshan):
    start(client, name="张三", id_number=ResidentFactory(village=qingshan).id_number)
    again = start(client, name="张三", id_number=ResidentFactory(village=qingshan).id_number)
    assert again["Location"] == reverse("public:code")
    assert Message.objects.filter(kind=Kind.CODE).count() == 1
    code_page = client.get(reverse("public:code"))
    assert code_page.context["wait"] > 50 and 'data-countdown="' in code_page.content.decode()


@pytest.mark.django_db
def test_resending_after_the_minute_sends_a_new_code(client, qingshan):
    start(client, name="张三", id_number=ResidentFactory(village=qingshan).id_number)
    PhoneCode.objects.update(created_at=timezone.now() - datetime.timedelta(seconds=61))
    client.post(reverse("public:resend"), {"shown": shown_long_ago()})
    assert Message.objects.filter(kind=Kind.CODE).count() == 2
    assert verify(client)["Location"] == reverse("public:family")


@pytest.mark.django_db
def test_signing_out_forgets_the_phone_on_this_device(client, qingshan):
    start(client, name="张三", id_number=ResidentFactory(village=qingshan, name="张三").id_number)
    verify(client)
    client.post(reverse("public:signout"))
    assert client.get(reverse("public:family"))["Location"] == reverse("public:start")


# --- the family pages ----------------------------------------------------------------------


def signed_in(client, qingshan, *, name="张三丰"):
    resident = ResidentFactory(village=qingshan, name=name)
    start(client, name=name, id_number=resident.id_number)
    verify(client)
    return resident


@pytest.mark.django_db
def test_a_family_member_is_added_by_name_and_document(client, qingshan):
    signed_in(client, qingshan)
    mother = ResidentFactory(village=qingshan, name="陈晓梅")
    data = {"name": "陈晓梅", "document_type": "id_card", "id_number": mother.id_number, "relation": "parent"}
    response = client.post(reverse("public:add"), data)
    assert response["Location"] == reverse("public:family")
    html = client.get(reverse("public:family")).content.decode()
    assert "陈*梅" in html and "父母" in html
    assert FamilyMember.objects.filter(resident=mother, relation="parent").exists()


@pytest.mark.django_db
def test_adding_someone_not_registered_offers_registration(client, qingshan):
    from residents.tests.factories import id_number_for

    signed_in(client, qingshan)
    data = {"name": "王五", "document_type": "id_card", "id_number": id_number_for(888), "relation": "child"}
    response = client.post(reverse("public:add"), data)
    assert response.status_code == 200 and response.context["not_found"]
    assert reverse("public:register") in response.content.decode()


@pytest.mark.django_db
def test_adding_with_another_name_says_only_that_they_disagree(client, qingshan):
    signed_in(client, qingshan)
    other = ResidentFactory(village=qingshan, name="陈晓梅")
    data = {"name": "陈小梅", "document_type": "id_card", "id_number": other.id_number, "relation": "parent"}
    response = client.post(reverse("public:add"), data)
    assert response.context["form"].non_field_errors() == ["姓名与证件号码不符，请核对，或联系村干部"]


@pytest.mark.django_db
def test_a_full_family_cannot_add_more(client, qingshan, settings):
    settings.PUBLIC_FAMILY_MAX = 1
    signed_in(client, qingshan)
    assert 'data-testid="add-person"' not in client.get(reverse("public:family")).content.decode()
    other = ResidentFactory(village=qingshan, name="陈晓梅")
    data = {"name": "陈晓梅", "document_type": "id_card", "id_number": other.id_number, "relation": "parent"}
    response = client.post(reverse("public:add"), data)
    assert "一个手机号最多为 1 人预约" in response.content.decode()
    assert FamilyMember.objects.count() == 1


@pytest.mark.django_db
def test_the_person_page_shows_its_phones_person_and_refuses_another_phones_member(client, qingshan):
    signed_in(client, qingshan)
    member = FamilyMember.objects.get()
    page = client.get(reverse("public:person", args=[member.pk]))
    # The phone that added the person typed their name: it sees it whole, and the document's end only.
    html = page.content.decode()
    assert page.status_code == 200 and "张三丰" in html and "已登记，尚未预约" in html
    assert member.resident.id_number not in html
    stranger = PhoneAccount.objects.create(phone="13900002222")
    theirs = FamilyMember.objects.create(account=stranger, resident=ResidentFactory(village=qingshan), relation="self")
    assert client.get(reverse("public:person", args=[theirs.pk])).status_code == 404


@pytest.mark.django_db
def test_adding_is_limited_per_phone(client, qingshan, settings):
    from residents.tests.factories import id_number_for

    settings.PUBLIC_RATE_ADD_PHONE = "2/d"
    signed_in(client, qingshan)
    for n in range(2):
        data = {"name": "王五", "document_type": "id_card", "id_number": id_number_for(900 + n), "relation": "child"}
        assert client.post(reverse("public:add"), data).status_code == 200
    data = {"name": "王五", "document_type": "id_card", "id_number": id_number_for(999), "relation": "child"}
    response = client.post(reverse("public:add"), data)
    assert response.status_code == 429 and TOO_MANY in response.content.decode()


# --- rate limits ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_code_requests_are_limited_per_address_with_a_chinese_429(qingshan, settings):
    settings.PUBLIC_RATE_CODE_ADDRESS = "2/m"
    settings.PUBLIC_CAPTCHA_DEVICE_AFTER = settings.PUBLIC_CAPTCHA_ADDRESS_AFTER = "100/h"
    statuses = []
    for n in range(3):  # three devices, three phones, one address
        response = start(
            Client(), name="张三", id_number=ResidentFactory(village=qingshan).id_number, phone=f"1390000000{n}"
        )
        statuses.append(response.status_code)
    assert statuses == [302, 302, 429]
    html = response.content.decode()
    assert TOO_MANY in html and 'data-testid="public-footer"' in html
    assert Message.objects.filter(kind=Kind.CODE).count() == 2


@pytest.mark.django_db
def test_code_requests_are_limited_per_device(client, qingshan, settings):
    settings.PUBLIC_RATE_CODE_DEVICE = "2/10m"
    settings.PUBLIC_CAPTCHA_DEVICE_AFTER = settings.PUBLIC_CAPTCHA_ADDRESS_AFTER = "100/h"
    statuses = []
    for n in range(3):
        response = start(
            client, name="张三", id_number=ResidentFactory(village=qingshan).id_number, phone=f"1390000000{n}"
        )
        statuses.append(response.status_code)
    assert statuses == [302, 302, 429]
    # Another device at the same address is not held back.
    assert (
        start(
            Client(), name="张三", id_number=ResidentFactory(village=qingshan).id_number, phone="13900000009"
        ).status_code
        == 302
    )


@pytest.mark.django_db
def test_code_requests_are_limited_per_phone_across_devices(qingshan, settings):
    settings.PUBLIC_RATE_CODE_PHONE = "2/h"
    settings.PUBLIC_CAPTCHA_DEVICE_AFTER = settings.PUBLIC_CAPTCHA_ADDRESS_AFTER = "100/h"
    statuses = [
        start(Client(), name="张三", id_number=ResidentFactory(village=qingshan).id_number).status_code
        for _ in range(3)
    ]
    assert statuses[-1] == 429


@pytest.mark.django_db
def test_code_tries_are_limited_per_phone_across_devices(qingshan, settings):
    settings.PUBLIC_RATE_VERIFY_PHONE = "3/h"
    statuses = []
    for n in range(4):
        client = Client()
        if n == 0:
            start(client, name="张三", id_number=ResidentFactory(village=qingshan).id_number)
            session = client.cookies["sessionid"].value
        client.cookies["sessionid"] = session
        statuses.append(client.post(reverse("public:code"), {"code": "000000"}).status_code)
    assert statuses == [200, 200, 200, 429]


@pytest.mark.django_db
def test_the_address_is_the_proxys_forwarded_entry_behind_a_proxy(qingshan, settings):
    settings.BEHIND_PROXY = True
    settings.PUBLIC_RATE_CODE_ADDRESS = "1/m"
    settings.PUBLIC_CAPTCHA_DEVICE_AFTER = settings.PUBLIC_CAPTCHA_ADDRESS_AFTER = "100/h"
    first = Client(HTTP_X_FORWARDED_FOR="203.0.113.7")
    second = Client(HTTP_X_FORWARDED_FOR="203.0.113.8")
    assert (
        start(
            first, name="张三", id_number=ResidentFactory(village=qingshan).id_number, phone="13900000001"
        ).status_code
        == 302
    )
    assert (
        start(
            second, name="张三", id_number=ResidentFactory(village=qingshan).id_number, phone="13900000002"
        ).status_code
        == 302
    )
    third = Client(HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert (
        start(
            third, name="张三", id_number=ResidentFactory(village=qingshan).id_number, phone="13900000003"
        ).status_code
        == 429
    )


@pytest.mark.redis
@pytest.mark.django_db
def test_the_rates_are_counted_in_the_shared_redis_cache(qingshan, settings):
    import uuid

    settings.CACHES = {
        "default": {
            "BACKEND": "campaign.lib.cache.TolerantRedisCache",
            "LOCATION": settings.REDIS_URL,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    }
    settings.PUBLIC_RATE_CODE_ADDRESS = "2/m"
    settings.PUBLIC_CAPTCHA_DEVICE_AFTER = settings.PUBLIC_CAPTCHA_ADDRESS_AFTER = "100/h"
    statuses = [
        start(
            Client(), name="张三", id_number=ResidentFactory(village=qingshan).id_number, phone=f"1390000000{n}"
        ).status_code
        for n in range(3)
    ]
    assert statuses == [302, 302, 429]


@pytest.mark.django_db
def test_without_redis_the_pages_stay_open_and_the_databases_code_limits_hold(qingshan, settings):
    settings.CACHES = {
        "default": {"BACKEND": "campaign.lib.cache.TolerantRedisCache", "LOCATION": "redis://127.0.0.1:9/0"}
    }
    settings.PUBLIC_RATE_CODE_ADDRESS = "1/m"
    client = Client()
    resident = ResidentFactory(village=qingshan)
    assert start(client, name="张三", id_number=resident.id_number).status_code == 302
    assert start(Client(), name="张三", id_number=resident.id_number, phone="13900000002").status_code == 302
    # The phone's minute, counted in PhoneCode, still holds: no second code to the same phone.
    start(Client(), name="张三", id_number=resident.id_number)
    assert Message.objects.filter(kind=Kind.CODE, phone=PHONE).count() == 1


# --- the captcha ---------------------------------------------------------------------------


def captcha_answer(response) -> dict:
    key = response.context["form"]["captcha"].field.widget._key
    return {"captcha_0": key, "captcha_1": CaptchaStore.objects.get(hashkey=key).response}


@pytest.mark.django_db
def test_after_two_codes_from_a_device_the_next_needs_the_captcha(client, qingshan, settings):
    settings.PUBLIC_CAPTCHA_DEVICE_AFTER = "2/h"
    for n in range(2):
        assert (
            start(
                client, name="张三", id_number=ResidentFactory(village=qingshan).id_number, phone=f"1390000000{n}"
            ).status_code
            == 302
        )
    page = client.get(reverse("public:start"))
    assert 'data-testid="captcha"' in page.content.decode()
    resident = ResidentFactory(village=qingshan)
    refused = start(client, name="张三", id_number=resident.id_number, phone="13900000005")
    assert refused.status_code == 200 and "请输入图中的数字后再发送" in refused.content.decode()
    assert "captcha" not in refused.context["form"].errors  # no "required" under a picture not yet seen
    wrong = start(
        client,
        name="张三",
        id_number=resident.id_number,
        phone="13900000005",
        captcha_0=captcha_answer(refused)["captcha_0"],
        captcha_1="0000",
    )
    assert wrong.status_code == 200 and "captcha" in wrong.context["form"].errors
    assert Message.objects.filter(kind=Kind.CODE).count() == 2
    passed = start(client, name="张三", id_number=resident.id_number, phone="13900000005", **captcha_answer(wrong))
    assert passed.status_code == 302 and Message.objects.filter(kind=Kind.CODE).count() == 3


@pytest.mark.django_db
def test_a_form_sent_back_faster_than_a_person_types_needs_the_captcha(client, qingshan):
    response = start(client, name="张三", id_number=ResidentFactory(village=qingshan).id_number, shown=form_stamp())
    assert response.status_code == 200 and "captcha" in response.context["form"].fields
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_a_form_without_its_time_stamp_needs_the_captcha(client, qingshan):
    response = start(client, name="张三", id_number=ResidentFactory(village=qingshan).id_number, shown="forged")
    assert response.status_code == 200 and "captcha" in response.context["form"].fields


@pytest.mark.django_db
def test_a_post_from_a_browser_that_never_opened_the_page_needs_the_captcha(client, qingshan):
    data = {"name": "张三", "document_type": "id_card", "id_number": ResidentFactory(village=qingshan).id_number}
    response = client.post(reverse("public:start"), {**data, "phone": PHONE, "shown": shown_long_ago()})
    assert response.status_code == 200 and "captcha" in response.context["form"].fields
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_the_captcha_picture_and_refresh_are_served_here_under_the_policy(client, qingshan):
    key = CaptchaStore.generate_key()
    image = client.get(reverse("captcha-image", kwargs={"key": key}))
    assert image.status_code == 200 and image["Content-Type"] == "image/png" and image.content[:4] == b"\x89PNG"
    assert "Content-Security-Policy" in image
    refresh = client.get(reverse("captcha-refresh"), HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert refresh.status_code == 200 and refresh.json()["image_url"].startswith("/captcha/image/")


# --- headers and cookies -------------------------------------------------------------------


@pytest.mark.django_db
def test_public_pages_send_the_policy_no_store_and_a_device_cookie(client, qingshan):
    response = client.get(reverse("public:start"))
    assert "no-store" in response["Cache-Control"]
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    cookie = response.cookies[limits.DEVICE_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["max-age"] > 365 * 24 * 3600
    assert "<script>" not in response.content.decode()
    # The cookie is given once: a browser that has it keeps it.
    assert limits.DEVICE_COOKIE not in client.get(reverse("public:start")).cookies


@pytest.mark.django_db
def test_the_public_pages_speak_chinese_and_english_on_request(client, qingshan):
    assert "获取短信验证码" in client.get(reverse("public:start")).content.decode()
    client.cookies["django_language"] = "en"
    assert "Send me the SMS code" in client.get(reverse("public:start")).content.decode()


@pytest.mark.django_db
def test_the_footer_shows_the_campaign_and_the_help_phone(client, qingshan, campaign, settings):
    settings.PUBLIC_HELP_PHONE = "0564-5551234"
    html = client.get(reverse("public:start")).content.decode()
    assert campaign.name in html and 'href="tel:0564-5551234"' in html
