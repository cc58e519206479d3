"""The SMS backends: the file default, and each provider against its local stand-in (campaign.tests.sms_providers).

No test reaches the internet: every provider endpoint is http://127.0.0.1:<port>, and every server is stopped.
"""

import datetime
import json
import socket

import pytest
import requests
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory
from django.utils import timezone

from campaign.lib import sms
from campaign.lib.sms.alibaba import AlibabaBackend
from campaign.lib.sms.file import FileBackend
from campaign.lib.sms.tencent import TencentBackend
from campaign.tests import sms_providers

PHONE = "13812345678"
TEMPLATES = {
    "confirmation": "SMS_100000001",
    "reminder": "SMS_100000002",
    "dose_due": "SMS_100000003",
    "missed": "SMS_100000004",
    "plan_published": "SMS_100000005",
    "adverse_event": "SMS_100000006",
    "code": "SMS_100000007",
}
TOKEN = "callback-token-for-tests"


def a_reminder(phone=PHONE, reference="m-1") -> sms.Sms:
    params = {"date": "5月20日", "site": "卫生服务中心", "dose": "2"}
    text = "【梅山镇疫苗接种】提醒：您明天(5月20日)到卫生服务中心接种第2剂，请带身份证件。回复TD退订"
    return sms.Sms(phone=phone, template="reminder", params=params, text=text, reference=reference)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def callback_request(payload, *, token=TOKEN, header=False):
    body = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
    factory = RequestFactory()
    if header:
        return factory.post(
            "/messages/callback/x/", body, content_type="application/json", HTTP_X_SMS_CALLBACK_TOKEN=token
        )
    path = "/messages/callback/x/" + (f"?token={token}" if token else "")
    return factory.post(path, body, content_type="application/json")


@pytest.fixture
def sms_settings(settings, tmp_path):
    settings.SMS_TEMPLATES = dict(TEMPLATES)
    settings.SMS_SIGN_NAME = "梅山镇疫苗接种"
    settings.SMS_CONNECT_TIMEOUT = 1
    settings.SMS_READ_TIMEOUT = 2
    settings.SMS_CALLBACK_TOKEN = TOKEN
    settings.SMS_FILE_DIR = tmp_path / "sms"
    return settings


# Segments ---------------------------------------------------------------------------------


def test_a_message_of_70_characters_is_one_segment_and_71_are_two_of_67():
    assert sms.segments("") == 0
    assert sms.segments("短" * 70) == 1
    assert sms.segments("短" * 71) == 2
    assert sms.segments("短" * 134) == 2
    assert sms.segments("短" * 135) == 3


# The file backend -------------------------------------------------------------------------


def test_the_file_backend_writes_one_masked_line_a_message_in_the_days_file(sms_settings):
    backend = FileBackend()
    sent = backend.send(a_reminder())
    assert sent.provider_id.startswith("file-")
    day_file = sms_settings.SMS_FILE_DIR / f"{timezone.localdate().isoformat()}.jsonl"
    lines = day_file.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert line["phone"] == "138****5678"
    assert PHONE not in lines[0]
    assert line["reference"] == "m-1"
    assert line["template"] == "reminder"
    assert line["text"] == a_reminder().text
    assert line["segments"] == 1
    assert line["provider_id"] == sent.provider_id
    datetime.datetime.fromisoformat(line["time"])


def test_the_file_backend_finds_a_message_it_wrote_and_not_an_unknown_one(sms_settings):
    backend = FileBackend()
    sent = backend.send(a_reminder(reference="m-7"))
    backend.send(a_reminder(reference="m-70"))
    since = timezone.now() - datetime.timedelta(days=2)
    assert backend.find_sent(reference="m-7", phone=PHONE, since=since) == sent
    assert backend.find_sent(reference="m-8", phone=PHONE, since=since) is None
    assert backend.find_sent(reference="", phone=PHONE, since=since) is None


def test_the_file_backend_never_logs_the_phone_or_the_text(sms_settings, caplog):
    caplog.set_level("DEBUG")
    FileBackend().send(a_reminder())
    assert "m-1" in caplog.text
    assert PHONE not in caplog.text and "卫生服务中心" not in caplog.text


def test_the_settings_choose_the_backend(sms_settings):
    sms_settings.SMS_BACKEND = "campaign.lib.sms.file.FileBackend"  # the default outside tests
    assert isinstance(sms.get_backend(), FileBackend)


# Alibaba ------------------------------------------------------------------------------------


@pytest.fixture
def alibaba(sms_settings):
    server = sms_providers.AlibabaServer().start()
    sms_settings.SMS_ALIBABA_ACCESS_KEY_ID = sms_providers.ALIBABA_KEY_ID
    sms_settings.SMS_ALIBABA_ACCESS_KEY_SECRET = sms_providers.ALIBABA_SECRET
    sms_settings.SMS_ALIBABA_ENDPOINT = server.url
    yield server
    server.stop()


def test_alibaba_takes_a_message_signed_with_the_right_secret(alibaba):
    sent = AlibabaBackend().send(a_reminder())
    [record] = alibaba.accepted
    assert sent.provider_id == record["id"] and sent.provider_id.endswith("^0")
    assert record["phone"] == PHONE
    assert record["template"] == TEMPLATES["reminder"]
    assert record["params"] == {"date": "5月20日", "site": "卫生服务中心", "dose": "2"}
    assert record["sign"] == "梅山镇疫苗接种"
    assert record["reference"] == "m-1"


def test_alibaba_refuses_a_wrong_secret(alibaba, settings):
    settings.SMS_ALIBABA_ACCESS_KEY_SECRET = "not-the-secret"
    with pytest.raises(sms.PermanentError) as refused:
        AlibabaBackend().send(a_reminder())
    assert refused.value.code == "SignatureDoesNotMatch"
    assert alibaba.accepted == []


def test_alibaba_stand_in_refuses_an_unsigned_request(alibaba):
    answer = requests.post(alibaba.url + "/", data={"Action": "SendSms", "PhoneNumbers": PHONE}, timeout=2)
    assert answer.status_code == 400 and answer.json()["Code"] == "MissingParameter"
    assert alibaba.accepted == []


def test_alibaba_refuses_a_reused_nonce(alibaba, monkeypatch):
    monkeypatch.setattr("campaign.lib.sms.alibaba.nonce", lambda: "same-nonce")
    backend = AlibabaBackend()
    backend.send(a_reminder(reference="m-1"))
    with pytest.raises(sms.TransientError) as refused:
        backend.send(a_reminder(reference="m-2"))
    assert refused.value.code == "SignatureNonceUsed"


@pytest.mark.parametrize(
    ("script", "error", "code"),
    [
        ({"phone_errors": {PHONE: "isv.BUSINESS_LIMIT_CONTROL"}}, sms.RateLimited, "isv.BUSINESS_LIMIT_CONTROL"),
        ({"throttle_per_second": 0}, sms.RateLimited, "Throttling.User"),
        (
            {"template_errors": {TEMPLATES["reminder"]: "isv.SMS_TEMPLATE_ILLEGAL"}},
            sms.PermanentError,
            "isv.SMS_TEMPLATE_ILLEGAL",
        ),
        ({"phone_errors": {PHONE: "isv.AMOUNT_NOT_ENOUGH"}}, sms.PermanentError, "isv.AMOUNT_NOT_ENOUGH"),
        ({"phone_errors": {PHONE: "isp.SYSTEM_ERROR"}}, sms.TransientError, "isp.SYSTEM_ERROR"),
        ({"fail_next": 1}, sms.TransientError, "http-502"),
    ],
)
def test_alibaba_errors_map_to_ours(alibaba, script, error, code):
    for name, value in script.items():
        setattr(alibaba, name, value)
    with pytest.raises(error) as raised:
        AlibabaBackend().send(a_reminder())
    assert raised.value.code == code
    assert type(raised.value) is error
    assert PHONE not in str(raised.value)
    assert alibaba.accepted == []


def test_alibaba_refuses_a_bad_number_for_good(alibaba):
    with pytest.raises(sms.PermanentError) as raised:
        AlibabaBackend().send(a_reminder(phone="1381234567"))
    assert raised.value.code == "isv.MOBILE_NUMBER_ILLEGAL"
    assert "1381234567" not in str(raised.value)


def test_alibaba_throttles_past_n_a_second(alibaba):
    alibaba.throttle_per_second = 2
    backend = AlibabaBackend()
    outcomes = []
    for number in range(3):
        try:
            backend.send(a_reminder(reference=f"m-{number}"))
            outcomes.append("sent")
        except sms.RateLimited:
            outcomes.append("throttled")
    # Three calls in (nearly always) one second; should the second turn over between them, fewer are throttled.
    assert outcomes.count("sent") >= 2 and len(alibaba.accepted) == outcomes.count("sent")


def test_alibaba_that_does_not_answer_in_time_is_a_transient_error(alibaba, settings):
    settings.SMS_READ_TIMEOUT = 0.2
    alibaba.delay = 0.6
    with pytest.raises(sms.TransientError) as raised:
        AlibabaBackend().send(a_reminder())
    assert raised.value.code == "timeout"


def test_alibaba_out_of_reach_is_a_transient_error(alibaba, settings):
    settings.SMS_ALIBABA_ENDPOINT = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(sms.TransientError) as raised:
        AlibabaBackend().send(a_reminder())
    assert raised.value.code == "connection"


def test_alibaba_finds_a_sent_reference_and_not_an_unknown_one(alibaba):
    backend = AlibabaBackend()
    backend.send(a_reminder(reference="m-41"))
    for number in range(60):  # more than a page of 50 to the same phone
        backend.send(a_reminder(reference=f"other-{number}"))
    backend.send(a_reminder(reference="m-42"))
    since = timezone.now() - datetime.timedelta(days=1)
    assert backend.find_sent(reference="m-42", phone=PHONE, since=since) is not None
    assert backend.find_sent(reference="m-41", phone=PHONE, since=since) is not None
    assert backend.find_sent(reference="m-43", phone=PHONE, since=since) is None
    assert backend.find_sent(reference="m-41", phone="13900000000", since=since) is None


def test_alibaba_without_keys_or_templates_is_refused_at_start(sms_settings):
    sms_settings.SMS_ALIBABA_ACCESS_KEY_ID = "LTAI-key"
    sms_settings.SMS_ALIBABA_ACCESS_KEY_SECRET = ""
    with pytest.raises(ImproperlyConfigured, match="SMS_ALIBABA_ACCESS_KEY_SECRET"):
        AlibabaBackend()
    sms_settings.SMS_ALIBABA_ACCESS_KEY_SECRET = "secret"
    sms_settings.SMS_TEMPLATES = TEMPLATES | {"missed": ""}
    with pytest.raises(ImproperlyConfigured, match="SMS_TEMPLATE_MISSED"):
        AlibabaBackend()


ALIBABA_REPORTS = [
    {
        "phone_number": PHONE,
        "send_time": "2026-05-19 10:00:00",
        "report_time": "2026-05-19 10:00:05",
        "success": True,
        "err_code": "DELIVERED",
        "err_msg": "用户接收成功",
        "sms_size": "1",
        "biz_id": "900619746936498440^0",
        "out_id": "m-1",
    },
    {
        "phone_number": "13900000000",
        "send_time": "2026-05-19 10:00:00",
        "report_time": "2026-05-19 10:01:00",
        "success": False,
        "err_code": "MK:0001",
        "err_msg": "空号",
        "sms_size": "1",
        "biz_id": "900619746936498441^0",
        "out_id": "m-2",
    },
]
ALIBABA_REPLIES = [
    {
        "phone_number": PHONE,
        "send_time": "2026-05-19 10:05:00",
        "content": "TD",
        "sign_name": "梅山镇疫苗接种",
        "dest_code": "1234",
        "sequence_id": 1234567890,
    }
]


def test_alibaba_delivery_reports_are_read(alibaba):
    callback = AlibabaBackend().parse_callback(callback_request(ALIBABA_REPORTS))
    delivered, failed = callback.reports
    assert delivered.provider_id == "900619746936498440^0" and delivered.delivered
    assert delivered.reference == "m-1" and delivered.phone == PHONE and delivered.error_code == ""
    assert delivered.at == datetime.datetime(2026, 5, 19, 2, 0, 5, tzinfo=datetime.UTC)
    assert not failed.delivered and failed.error_code == "MK:0001" and failed.error_message == "空号"
    assert callback.replies == []


def test_alibaba_replies_are_read_with_the_token_in_a_header(alibaba):
    callback = AlibabaBackend().parse_callback(callback_request(ALIBABA_REPLIES, header=True))
    assert callback.replies == [sms.Reply(phone=PHONE, text="TD", at=callback.replies[0].at)]
    assert callback.replies[0].at == datetime.datetime(2026, 5, 19, 2, 5, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("body", "token"),
    [
        (ALIBABA_REPORTS, ""),
        (ALIBABA_REPORTS, "wrong-token"),
        (b"not json", TOKEN),
        ({"phone_number": PHONE}, TOKEN),
        ([], TOKEN),
        ([{"phone_number": PHONE, "what": "else"}], TOKEN),
    ],
)
def test_alibaba_callbacks_without_the_token_or_of_an_unknown_shape_are_refused(alibaba, body, token):
    with pytest.raises(sms.CallbackRefused):
        AlibabaBackend().parse_callback(callback_request(body, token=token))


def test_callbacks_are_refused_while_no_token_is_set(alibaba, settings):
    settings.SMS_CALLBACK_TOKEN = ""
    with pytest.raises(sms.CallbackRefused):
        AlibabaBackend().parse_callback(callback_request(ALIBABA_REPORTS, token=""))


# Tencent ------------------------------------------------------------------------------------

TENCENT_TEMPLATES = {kind: str(1000001 + number) for number, kind in enumerate(TEMPLATES)}


@pytest.fixture
def tencent(sms_settings):
    server = sms_providers.TencentServer().start()
    sms_settings.SMS_TEMPLATES = dict(TENCENT_TEMPLATES)
    sms_settings.SMS_TENCENT_SECRET_ID = sms_providers.TENCENT_SECRET_ID
    sms_settings.SMS_TENCENT_SECRET_KEY = sms_providers.TENCENT_SECRET_KEY
    sms_settings.SMS_TENCENT_SDK_APP_ID = sms_providers.TENCENT_SDK_APP_ID
    sms_settings.SMS_TENCENT_ENDPOINT = server.url
    yield server
    server.stop()


def test_tencent_takes_a_message_signed_with_the_right_secret_with_its_parameters_in_order(tencent):
    sent = TencentBackend().send(a_reminder())
    [record] = tencent.accepted
    assert sent.provider_id == record["id"] and sent.provider_id.startswith("2640:")
    assert record["phone"] == PHONE
    assert record["template"] == TENCENT_TEMPLATES["reminder"]
    assert record["params"] == ["5月20日", "卫生服务中心", "2"]  # {1}, {2}, {3}: the kind's order
    assert record["sign"] == "梅山镇疫苗接种"
    assert record["reference"] == "m-1"


def test_tencent_refuses_a_wrong_secret(tencent, settings):
    settings.SMS_TENCENT_SECRET_KEY = "not-the-secret"
    with pytest.raises(sms.PermanentError) as refused:
        TencentBackend().send(a_reminder())
    assert refused.value.code == "AuthFailure.SignatureFailure"
    assert tencent.accepted == []


def test_tencent_stand_in_refuses_an_unsigned_request(tencent):
    body = {"PhoneNumberSet": [f"+86{PHONE}"], "SmsSdkAppId": sms_providers.TENCENT_SDK_APP_ID, "TemplateId": "1"}
    answer = requests.post(tencent.url + "/", json=body, headers={"X-TC-Action": "SendSms"}, timeout=2)
    assert answer.json()["Response"]["Error"]["Code"] == "MissingParameter"
    assert tencent.accepted == []


@pytest.mark.parametrize(
    ("script", "error", "code"),
    [
        (
            {"phone_errors": {PHONE: "LimitExceeded.PhoneNumberThirtySecondLimit"}},
            sms.RateLimited,
            "LimitExceeded.PhoneNumberThirtySecondLimit",
        ),
        ({"throttle_per_second": 0}, sms.RateLimited, "RequestLimitExceeded"),
        (
            {"template_errors": {TENCENT_TEMPLATES["reminder"]: "FailedOperation.TemplateIncorrectOrUnapproved"}},
            sms.PermanentError,
            "FailedOperation.TemplateIncorrectOrUnapproved",
        ),
        (
            {"phone_errors": {PHONE: "FailedOperation.InsufficientBalanceInSmsPackage"}},
            sms.PermanentError,
            "FailedOperation.InsufficientBalanceInSmsPackage",
        ),
        ({"phone_errors": {PHONE: "InternalError.Timeout"}}, sms.TransientError, "InternalError.Timeout"),
        ({"fail_next": 1}, sms.TransientError, "ServerNetworkError"),
    ],
)
def test_tencent_errors_map_to_ours(tencent, script, error, code):
    for name, value in script.items():
        setattr(tencent, name, value)
    with pytest.raises(error) as raised:
        TencentBackend().send(a_reminder())
    assert raised.value.code == code
    assert type(raised.value) is error
    assert PHONE not in str(raised.value)
    assert tencent.accepted == []


def test_tencent_refuses_a_bad_number_for_good(tencent):
    with pytest.raises(sms.PermanentError) as raised:
        TencentBackend().send(a_reminder(phone="1381234567"))
    assert raised.value.code == "InvalidParameterValue.IncorrectPhoneNumber"
    assert "1381234567" not in str(raised.value)


def test_tencent_that_does_not_answer_in_time_is_a_transient_error(tencent, settings):
    settings.SMS_READ_TIMEOUT = 0.2
    tencent.delay = 0.6
    with pytest.raises(sms.TransientError) as raised:
        TencentBackend().send(a_reminder())
    assert raised.value.code == "timeout"


def test_tencent_out_of_reach_is_a_transient_error(tencent, settings):
    settings.SMS_TENCENT_ENDPOINT = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(sms.TransientError) as raised:
        TencentBackend().send(a_reminder())
    assert raised.value.code == "ClientNetworkError"


def test_tencent_finds_a_sent_reference_and_not_an_unknown_one(tencent):
    backend = TencentBackend()
    first = backend.send(a_reminder(reference="m-41"))
    for number in range(110):  # more than a page of 100 to the same phone
        backend.send(a_reminder(reference=f"other-{number}"))
    last = backend.send(a_reminder(reference="m-42"))
    since = timezone.now() - datetime.timedelta(hours=1)
    assert backend.find_sent(reference="m-41", phone=PHONE, since=since) == first
    assert backend.find_sent(reference="m-42", phone=PHONE, since=since) == last
    assert backend.find_sent(reference="m-43", phone=PHONE, since=since) is None
    assert backend.find_sent(reference="m-41", phone="13900000000", since=since) is None
    assert backend.find_sent(reference="m-41", phone=PHONE, since=timezone.now() + datetime.timedelta(hours=1)) is None


def test_tencent_without_keys_or_templates_is_refused_at_start(sms_settings):
    sms_settings.SMS_TENCENT_SECRET_ID = "AKID"
    sms_settings.SMS_TENCENT_SECRET_KEY = "key"
    sms_settings.SMS_TENCENT_SDK_APP_ID = ""
    with pytest.raises(ImproperlyConfigured, match="SMS_TENCENT_SDK_APP_ID"):
        TencentBackend()
    sms_settings.SMS_TENCENT_SDK_APP_ID = "1400000001"
    sms_settings.SMS_TEMPLATES = TENCENT_TEMPLATES | {"code": ""}
    with pytest.raises(ImproperlyConfigured, match="SMS_TEMPLATE_CODE"):
        TencentBackend()


TENCENT_REPORTS = [
    {
        "user_receive_time": "2026-05-19 10:00:05",
        "nationcode": "86",
        "mobile": PHONE,
        "report_status": "SUCCESS",
        "errmsg": "DELIVRD",
        "description": "用户短信送达成功",
        "sid": "2640:100001",
    },
    {
        "user_receive_time": "2026-05-19 10:01:00",
        "nationcode": "86",
        "mobile": "13900000000",
        "report_status": "FAIL",
        "errmsg": "MK:0001",
        "description": "空号",
        "sid": "2640:100002",
    },
]
TENCENT_REPLY = {
    "extend": "",
    "mobile": PHONE,
    "nationcode": "86",
    "sign": "梅山镇疫苗接种",
    "text": "TD",
    "time": 1779156300,
}


def test_tencent_delivery_reports_are_read(tencent):
    callback = TencentBackend().parse_callback(callback_request(TENCENT_REPORTS))
    delivered, failed = callback.reports
    assert delivered.provider_id == "2640:100001" and delivered.delivered and delivered.phone == PHONE
    assert delivered.at == datetime.datetime(2026, 5, 19, 2, 0, 5, tzinfo=datetime.UTC)
    assert not failed.delivered and failed.error_code == "MK:0001" and failed.error_message == "空号"


def test_tencent_replies_are_read(tencent):
    callback = TencentBackend().parse_callback(callback_request(TENCENT_REPLY))
    [reply] = callback.replies
    assert reply.phone == PHONE and reply.text == "TD"
    assert reply.at == datetime.datetime.fromtimestamp(1779156300, datetime.UTC)


@pytest.mark.parametrize(
    ("body", "token"),
    [
        (TENCENT_REPORTS, ""),
        (TENCENT_REPORTS, "wrong-token"),
        (b"{not json", TOKEN),
        ([], TOKEN),
        ({"mobile": PHONE, "what": "else"}, TOKEN),
        (ALIBABA_REPORTS, TOKEN),
    ],
)
def test_tencent_callbacks_without_the_token_or_of_an_unknown_shape_are_refused(tencent, body, token):
    with pytest.raises(sms.CallbackRefused):
        TencentBackend().parse_callback(callback_request(body, token=token))


# The templates to have approved -----------------------------------------------------------


def test_the_providers_section_lists_each_kinds_template_as_alibaba_and_tencent_take_it():
    from pathlib import Path

    from appointments.messaging.kinds import KINDS, PARAM

    doc = (Path(__file__).resolve().parents[2] / "docs" / "MESSAGES.md").read_text(encoding="utf-8")
    for kind, spec in KINDS.items():
        positions = {name: number for number, name in enumerate(spec.params, start=1)}
        tencent = PARAM.sub(lambda match, positions=positions: f"{{{positions[match.group(1)]}}}", spec.template)
        assert f"| {spec.template} | {tencent} |" in doc, kind
        assert f"SMS_TEMPLATE_{kind.upper()}" in doc, kind
