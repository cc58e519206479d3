"""The public booking's identity services: SMS codes, the phone's session, the family, finding a resident."""

import datetime

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import ValidationError
from django.http import Http404
from django.test import RequestFactory
from django.utils import timezone

from appointments.messaging.models import Kind, Message
from appointments.public import identity
from appointments.public.identity import CodeRefused, FamilyFull, NameMismatch
from appointments.public.models import FamilyMember, PhoneAccount, PhoneCode
from campaign.lib.documents import DocumentType
from campaign.lib.masking import mask_name
from campaign.tests.factories import CampaignFactory, VillageFactory
from residents.tests.factories import ResidentFactory

PHONE = "13900001111"
CLIENT = "client-a"
T0 = timezone.make_aware(datetime.datetime(2026, 5, 10, 10, 0))


def seconds(n):
    return datetime.timedelta(seconds=n)


def request_code(phone=PHONE, client=CLIENT, at=T0):
    return identity.code_request(phone=phone, client=client, now=at)


# --- codes ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_code_is_queued_as_an_sms_and_only_its_keyed_hash_is_stored(campaign):
    row = request_code()
    assert len(row.code) == 6 and row.code.isdigit()
    message = Message.objects.get(kind=Kind.CODE)
    assert message.phone == PHONE and message.params["code"] == row.code and message.campaign == campaign
    stored = PhoneCode.objects.get()
    assert row.code not in stored.code_hash and len(stored.code_hash) == 64
    assert stored.code_hash == identity.code_hash(phone=PHONE, code=row.code)
    assert stored.expires_at - stored.created_at == datetime.timedelta(minutes=10)


@pytest.mark.django_db
def test_a_right_code_verifies_once_and_cannot_be_used_again(campaign):
    code = request_code().code
    assert identity.code_verify(phone=PHONE, code=code, now=T0 + seconds(30))
    assert not identity.code_verify(phone=PHONE, code=code, now=T0 + seconds(31))


@pytest.mark.django_db
def test_a_code_typed_with_full_width_digits_and_spaces_is_read(campaign):
    code = request_code().code
    typed = " ".join(chr(ord("０") + int(digit)) for digit in code)
    assert identity.code_verify(phone=PHONE, code=typed, now=T0 + seconds(30))


@pytest.mark.django_db
def test_a_code_expires_after_ten_minutes(campaign):
    code = request_code().code
    assert not identity.code_verify(phone=PHONE, code=code, now=T0 + datetime.timedelta(minutes=10))
    assert PhoneCode.objects.get().used_at is None


@pytest.mark.django_db
def test_a_code_is_still_good_just_before_it_expires(campaign):
    code = request_code().code
    assert identity.code_verify(phone=PHONE, code=code, now=T0 + datetime.timedelta(minutes=9, seconds=59))


@pytest.mark.django_db
def test_the_sixth_try_is_refused_even_with_the_right_code(campaign):
    code = request_code().code
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for n in range(5):
        assert not identity.code_verify(phone=PHONE, code=wrong, now=T0 + seconds(n + 1))
    assert PhoneCode.objects.get().attempts == 5
    assert not identity.code_verify(phone=PHONE, code=code, now=T0 + seconds(10))


@pytest.mark.django_db
def test_the_fifth_try_may_be_the_right_one(campaign):
    code = request_code().code
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for n in range(4):
        identity.code_verify(phone=PHONE, code=wrong, now=T0 + seconds(n + 1))
    assert identity.code_verify(phone=PHONE, code=code, now=T0 + seconds(10))


@pytest.mark.django_db
def test_a_new_code_replaces_the_earlier_one(campaign):
    first = request_code().code
    second = request_code(at=T0 + seconds(61)).code
    if first != second:
        assert not identity.code_verify(phone=PHONE, code=first, now=T0 + seconds(62))
    assert identity.code_verify(phone=PHONE, code=second, now=T0 + seconds(63))


@pytest.mark.django_db
def test_a_code_is_good_for_its_phone_only(campaign, monkeypatch):
    codes = iter([111111, 222222])
    monkeypatch.setattr(identity.secrets, "randbelow", lambda _n: next(codes))
    assert request_code().code == "111111"
    request_code(phone="13900002222", client="other", at=T0 + seconds(1))
    assert not identity.code_verify(phone="13900002222", code="111111", now=T0 + seconds(2))
    assert identity.code_verify(phone=PHONE, code="111111", now=T0 + seconds(3))


@pytest.mark.django_db
def test_no_code_verifies_a_phone_that_never_asked(campaign):
    assert not identity.code_verify(phone=PHONE, code="123456", now=T0)


@pytest.mark.django_db
def test_a_phone_asks_again_within_the_minute_and_is_refused(campaign):
    request_code()
    with pytest.raises(CodeRefused) as refused:
        request_code(client="another", at=T0 + seconds(59))
    assert refused.value.wait == 2
    assert "验证码刚刚已发送" in refused.value.message
    request_code(client="another", at=T0 + seconds(60))


@pytest.mark.django_db
def test_a_phone_gets_five_codes_an_hour(campaign):
    for n in range(5):
        request_code(client=f"c{n}", at=T0 + seconds(61 * n))
    with pytest.raises(CodeRefused) as refused:
        request_code(client="c9", at=T0 + seconds(61 * 5))
    assert "一小时内" in refused.value.message
    # The first leaves the hour: one more is allowed.
    request_code(client="c9", at=T0 + datetime.timedelta(hours=1, seconds=1))


@pytest.mark.django_db
def test_a_phone_gets_ten_codes_a_day(campaign):
    for n in range(10):
        request_code(client=f"c{n}", at=T0 + datetime.timedelta(hours=n * 1.5))
    with pytest.raises(CodeRefused) as refused:
        request_code(client="c99", at=T0 + datetime.timedelta(hours=16))
    assert "今天" in refused.value.message
    assert PhoneCode.objects.count() == 10 and Message.objects.filter(kind=Kind.CODE).count() == 10


@pytest.mark.django_db
def test_a_client_gets_ten_codes_an_hour_whatever_the_phones(campaign):
    for n in range(10):
        request_code(phone=f"1390000{n:04d}", at=T0 + seconds(n))
    with pytest.raises(CodeRefused) as refused:
        request_code(phone="13900009999", at=T0 + seconds(20))
    assert "本设备" in refused.value.message
    request_code(phone="13900009999", client="another device", at=T0 + seconds(21))


@pytest.mark.django_db
def test_a_client_gets_thirty_codes_a_day(campaign, settings):
    settings.PUBLIC_CODE_CLIENT_PER_HOUR = 100
    for n in range(30):
        request_code(phone=f"1390000{n:04d}", at=T0 + datetime.timedelta(minutes=30 * n))
    with pytest.raises(CodeRefused):
        request_code(phone="13900009999", at=T0 + datetime.timedelta(minutes=30 * 30 - 10))


@pytest.mark.django_db
def test_the_limits_are_settings(campaign, settings):
    settings.PUBLIC_CODE_INTERVAL_SECONDS = 0
    settings.PUBLIC_CODE_PER_HOUR = 2
    request_code()
    request_code(at=T0 + seconds(1))
    with pytest.raises(CodeRefused):
        request_code(at=T0 + seconds(2))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_requests_at_once_for_one_phone_send_one_code(campaign):
    from campaign.tests.concurrency import at_once

    results, errors = at_once(6, lambda: request_code(client="same", at=T0))
    assert len(results) == 1 and len(errors) == 5
    assert all(isinstance(error, CodeRefused) for error in errors)
    assert PhoneCode.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_tries_at_once_each_count_and_a_right_code_is_used_once(campaign):
    from campaign.tests.concurrency import at_once

    code = request_code().code
    results, errors = at_once(8, lambda: identity.code_verify(phone=PHONE, code=code, now=T0 + seconds(5)))
    assert not errors
    assert results.count(True) == 1
    assert PhoneCode.objects.get().attempts == 1


# --- the session ---------------------------------------------------------------------------


def _request(user=None):
    from django.contrib.auth.models import AnonymousUser

    request = RequestFactory().get("/book/")
    request.session = SessionStore()
    request.user = user or AnonymousUser()
    return request


@pytest.mark.django_db
def test_a_verified_phone_stays_signed_in_for_the_set_hours(campaign, settings):
    settings.PUBLIC_SESSION_HOURS = 24
    request = _request()
    account = identity.public_sign_in(request, phone=PHONE)
    assert identity.verified_phone(request) == PHONE
    assert account.phone == PHONE and PhoneAccount.objects.get().last_verified_at is not None
    assert request.session.get_expiry_age() == 24 * 3600
    request.session[identity.SESSION_VERIFIED_AT] -= 24 * 3600 - 60
    assert identity.verified_phone(request) == PHONE
    request.session[identity.SESSION_VERIFIED_AT] -= 120
    assert identity.verified_phone(request) is None
    # Expired is signed out: the phone is no longer in the session.
    assert identity.SESSION_PHONE not in request.session


@pytest.mark.django_db
def test_signing_a_phone_in_and_out_leaves_a_staff_login_alone(campaign, cadre_qingshan, settings):
    request = _request(cadre_qingshan)
    request.session["_auth_user_id"] = str(cadre_qingshan.pk)
    request.session.set_expiry(None)
    identity.public_sign_in(request, phone=PHONE)
    assert request.session["_auth_user_id"] == str(cadre_qingshan.pk)
    # The staff session keeps its own (shorter) age.
    assert request.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
    identity.public_sign_out(request)
    assert identity.verified_phone(request) is None
    assert request.session["_auth_user_id"] == str(cadre_qingshan.pk)


@pytest.mark.django_db
def test_signing_in_gives_the_session_a_new_key(campaign):
    request = _request()
    request.session["x"] = 1
    request.session.save()
    before = request.session.session_key
    identity.public_sign_in(request, phone=PHONE)
    assert request.session.session_key != before and request.session["x"] == 1


@pytest.mark.django_db
def test_account_for_without_a_verified_phone_is_404(campaign):
    with pytest.raises(Http404):
        identity.account_for(_request())


# --- the family ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_member_for_refuses_another_phones_member(qingshan):
    mine, theirs = PhoneAccount.objects.create(phone=PHONE), PhoneAccount.objects.create(phone="13900002222")
    my_member = identity.family_add(account=mine, resident=ResidentFactory(village=qingshan), relation="self")
    their_member = identity.family_add(account=theirs, resident=ResidentFactory(village=qingshan), relation="self")
    request = _request()
    identity.public_sign_in(request, phone=PHONE)
    assert identity.member_for(request, my_member.pk) == my_member
    with pytest.raises(Http404):
        identity.member_for(request, their_member.pk)
    with pytest.raises(Http404):
        identity.member_for(_request(), my_member.pk)


@pytest.mark.django_db
def test_a_family_has_at_most_the_set_number_of_people(qingshan, settings):
    settings.PUBLIC_FAMILY_MAX = 3
    account = PhoneAccount.objects.create(phone=PHONE)
    people = [ResidentFactory(village=qingshan) for _ in range(4)]
    for person in people[:3]:
        identity.family_add(account=account, resident=person, relation="child")
    with pytest.raises(FamilyFull) as full:
        identity.family_add(account=account, resident=people[3], relation="child")
    assert "最多为 3 人" in full.value.message
    # Adding someone already there again is no new place.
    assert identity.family_add(account=account, resident=people[0], relation="parent").relation == "child"


@pytest.mark.django_db
def test_one_person_may_be_in_two_phones_families(qingshan):
    """A grandmother booked by her son's phone and her daughter's: each phone manages her."""
    person = ResidentFactory(village=qingshan)
    for phone in (PHONE, "13900002222"):
        identity.family_add(account=PhoneAccount.objects.create(phone=phone), resident=person, relation="parent")
    assert FamilyMember.objects.filter(resident=person).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_adds_at_once_never_pass_the_family_limit(qingshan, settings):
    from campaign.tests.concurrency import at_once

    settings.PUBLIC_FAMILY_MAX = 5
    account = PhoneAccount.objects.create(phone=PHONE)
    for _ in range(3):
        identity.family_add(account=account, resident=ResidentFactory(village=qingshan), relation="child")
    queue = iter([ResidentFactory(village=qingshan) for _ in range(8)])

    def add():
        return identity.family_add(account=account, resident=next(queue), relation="child")

    results, errors = at_once(8, add)
    assert len(results) == 2 and len(errors) == 6
    assert all(isinstance(error, FamilyFull) for error in errors)
    assert FamilyMember.objects.filter(account=account).count() == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_without_the_accounts_lock_adds_at_once_would_pass_the_limit(qingshan, settings):
    """The race test can fail: counting without the lock lets concurrent adds past the limit."""
    import threading

    from django.db import transaction

    from campaign.tests.concurrency import at_once

    settings.PUBLIC_FAMILY_MAX = 5
    account = PhoneAccount.objects.create(phone=PHONE)
    people = iter([ResidentFactory(village=qingshan) for _ in range(8)])
    barrier = threading.Barrier(8)

    def naive_add():
        resident = next(people)
        with transaction.atomic():
            count = FamilyMember.objects.filter(account=account).count()
            barrier.wait()  # everyone has counted before anyone adds
            if count >= settings.PUBLIC_FAMILY_MAX:
                raise FamilyFull(settings.PUBLIC_FAMILY_MAX)
            return FamilyMember.objects.create(account=account, resident=resident, relation="child")

    results, _errors = at_once(8, naive_add)
    assert FamilyMember.objects.filter(account=account).count() == 8 > settings.PUBLIC_FAMILY_MAX
    assert len(results) == 8


# --- finding a resident --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_document_typed_as_people_type_it_finds_the_cadres_record(qingshan, campaign):
    resident = ResidentFactory(village=qingshan, name="张三丰")
    typed = " ".join(chr(ord("０") + int(c)) if c.isdigit() else c.lower() for c in resident.id_number)
    found = identity.resident_find(campaign=campaign, document_type="id_card", id_number=typed, name=" 张 三丰 ")
    assert found == resident


@pytest.mark.django_db
def test_an_old_15_digit_number_finds_the_18_digit_record(qingshan, campaign):
    from campaign.lib.idnumber import make_id_number

    number = make_id_number("341524", datetime.date(1970, 3, 4), 123)
    resident = ResidentFactory(village=qingshan, name="李四", id_number=number)
    old = number[:6] + number[8:17]
    assert identity.resident_find(campaign=campaign, document_type="id_card", id_number=old, name="李四") == resident


@pytest.mark.django_db
def test_a_latin_name_matches_whatever_its_case_and_dots(qingshan, campaign):
    resident = ResidentFactory(
        village=qingshan,
        name="Anna Maria Schmidt",
        document_type=DocumentType.PASSPORT,
        id_number="C12345678",
        nationality="DEU",
    )
    found = identity.resident_find(
        campaign=campaign, document_type="passport", id_number="c1234 5678", name="anna  maria schmidt"
    )
    assert found == resident


@pytest.mark.django_db
def test_a_registered_document_with_another_name_says_only_that_they_disagree(qingshan, campaign):
    resident = ResidentFactory(village=qingshan, name="张三丰")
    with pytest.raises(NameMismatch) as mismatch:
        identity.resident_find(campaign=campaign, document_type="id_card", id_number=resident.id_number, name="张三")
    assert str(mismatch.value.message) == "姓名与证件号码不符，请核对，或联系村干部"


@pytest.mark.django_db
def test_an_unknown_document_or_another_campaigns_finds_nobody(qingshan, campaign):
    other_village = VillageFactory(site__campaign=CampaignFactory(is_open=False))
    elsewhere = ResidentFactory(village=other_village, name="王五")
    assert (
        identity.resident_find(campaign=campaign, document_type="id_card", id_number=elsewhere.id_number, name="王五")
        is None
    )


@pytest.mark.django_db
def test_a_number_that_cannot_be_one_is_refused_before_any_lookup(campaign, django_assert_num_queries):
    from residents.tests.factories import id_number_for

    valid = id_number_for(7)
    wrong_check = valid[:17] + ("0" if valid[17] != "0" else "1")
    with django_assert_num_queries(0), pytest.raises(ValidationError):
        identity.resident_find(campaign=campaign, document_type="id_card", id_number=wrong_check, name="张三")


def test_names_are_masked_as_the_public_pages_show_them():
    assert mask_name("张三丰") == "张*丰"
    assert mask_name("李四") == "李*"
    assert mask_name("欧阳秀兰") == "欧**兰"
    assert mask_name("王") == "王"
