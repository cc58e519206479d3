"""The outbox's pages: the office's list and figures, the opt-outs, the kinds on and off, the providers'
callback, a resident's messages, and the follow-up list's SMS column."""

import datetime
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appointments.messaging import kinds
from appointments.messaging.models import Kind, KindSwitch, Message, OptOut
from appointments.messaging.services import phone_opted_out
from appointments.tests.factories import AppointmentFactory
from campaign.lib import sms
from residents.tests.factories import ResidentFactory

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
PHONE = "13812345678"


def message(*, kind=Kind.REMINDER, status=Message.Status.QUEUED, resident=None, recipient=None, phone=PHONE, **fields):
    """One outbox row in the state a test needs (the send machine is tested on its own)."""
    now = timezone.now()
    params = {"date": "6月1日", "place": "江店体育馆", "dose": "第1剂", "address": "梅山镇江店体育馆"}
    if kind == Kind.CODE:
        params = {"code": "482913"}
    text = kinds.render(kind, params) if kind in (Kind.REMINDER, Kind.CODE) else "【梅山镇疫苗接种】测试"
    defaults = {
        "campaign": (resident.campaign if resident else fields.pop("campaign", None)),
        "text": text,
        "params": params,
        "segments": sms.segments(text),
    }
    if status in (Message.Status.SENT, Message.Status.DELIVERED, Message.Status.FAILED):
        defaults |= {"provider": "alibaba", "provider_id": f"biz-{Message.objects.count() + 1}", "attempts": 1}
    if status in (Message.Status.SENT, Message.Status.DELIVERED):
        defaults["sent_at"] = now
    if status == Message.Status.IN_FLIGHT:
        defaults["claimed_at"] = now
    if status == Message.Status.SKIPPED:
        defaults["skip_reason"] = "已接种"
    return Message.objects.create(
        kind=kind, status=status, resident=resident, recipient=recipient, phone=phone, **(defaults | fields)
    )


@pytest.fixture
def people(qingshan, honghe):
    return {
        "qs": ResidentFactory(village=qingshan, name="青山张三", phone="13800001111"),
        "hh": ResidentFactory(village=honghe, name="红河李四", phone="13900002222"),
    }


@pytest.fixture
def outbox_rows(people, cadre_qingshan):
    qs, hh = people["qs"], people["hh"]
    return {
        "queued": message(resident=qs, phone=qs.phone),
        "delivered": message(resident=qs, phone=qs.phone, kind=Kind.CONFIRMATION, status=Message.Status.DELIVERED),
        "sent": message(resident=hh, phone=hh.phone, status=Message.Status.SENT),
        "failed_after": message(
            resident=hh,
            phone=hh.phone,
            kind=Kind.CONFIRMATION,
            status=Message.Status.FAILED,
            sent_at=timezone.now(),
            error_code="MK:0001",
            error_message="用户关机",
            segments=2,
        ),
        "refused": message(
            resident=hh,
            phone=hh.phone,
            kind=Kind.MISSED,
            status=Message.Status.FAILED,
            error_code="isv.MOBILE_NUMBER_ILLEGAL",
            error_message="号码格式错误",
        ),
        "skipped": message(resident=qs, phone=qs.phone, kind=Kind.DOSE_DUE, status=Message.Status.SKIPPED),
        "cadre": message(
            kind=Kind.PLAN_PUBLISHED,
            recipient=cadre_qingshan,
            phone="13700003333",
            campaign=qs.campaign,
            status=Message.Status.SENT,
        ),
    }


def get(client, user, url, **params):
    client.force_login(user)
    return client.get(url, params)


# The outbox page


def test_the_office_sees_every_message_with_counts_and_the_segments_charged(client, office, outbox_rows):
    response = get(client, office, reverse("messaging:outbox"))
    assert response.status_code == 200
    figures = response.context["figures"]
    assert figures.counts == {
        "queued": 1,
        "in_flight": 0,
        "sent": 2,
        "delivered": 1,
        "failed": 2,
        "skipped": 1,
    }
    assert figures.total == 7
    # Sent (2), delivered (1) and failed after the provider took it (2 segments); not the refused one.
    assert (figures.segments, figures.charged) == (5, 4)
    assert len(response.context["rows"]) == 7
    html = response.content.decode()
    assert 'data-testid="cost"' in html and ">5<" in html


def test_failure_and_skip_reasons_are_grouped_with_their_counts(client, office, outbox_rows, people):
    message(resident=people["qs"], kind=Kind.MISSED, status=Message.Status.SKIPPED, skip_reason="已接种")
    figures = get(client, office, reverse("messaging:outbox")).context["figures"]
    assert figures.skips == [{"skip_reason": "已接种", "count": 2}]
    assert {(f["error_code"], f["count"]) for f in figures.failures} == {
        ("MK:0001", 1),
        ("isv.MOBILE_NUMBER_ILLEGAL", 1),
    }


def test_filters_by_kind_status_village_and_days(client, office, outbox_rows, qingshan, honghe):
    def listed(**params):
        response = get(client, office, reverse("messaging:outbox"), **params)
        assert response.status_code == 200
        return {row.message.pk for row in response.context["rows"]}

    rows = outbox_rows
    assert listed(kind="confirmation") == {rows["delivered"].pk, rows["failed_after"].pk}
    assert listed(status="failed") == {rows["failed_after"].pk, rows["refused"].pk}
    # A village: its residents' messages and its cadres' (a plan published).
    assert listed(village=qingshan.pk) == {
        rows["queued"].pk,
        rows["delivered"].pk,
        rows["skipped"].pk,
        rows["cadre"].pk,
    }
    assert listed(village=honghe.pk, kind="missed") == {rows["refused"].pk}
    Message.objects.filter(pk=rows["sent"].pk).update(created_at=timezone.now() - 3 * DAY, day=timezone.localdate())
    assert listed(queued_on=(timezone.localdate() - 3 * DAY).isoformat()) == {rows["sent"].pk}
    assert listed(for_day=timezone.localdate().isoformat()) == {rows["sent"].pk}
    assert listed(phone_end="2222") == {rows["sent"].pk, rows["failed_after"].pk, rows["refused"].pk}


def test_the_counts_are_of_the_filtered_set_whatever_the_status_shown(client, office, outbox_rows, honghe):
    response = get(client, office, reverse("messaging:outbox"), village=honghe.pk, status="failed")
    figures = response.context["figures"]
    assert (figures.total, figures.counts["failed"], figures.counts["sent"]) == (3, 2, 1)
    assert response.context["page"].paginator.count == 2


def test_phones_are_masked_and_never_whole_in_the_page(client, office, outbox_rows, people):
    html = get(client, office, reverse("messaging:outbox")).content.decode()
    assert "138****1111" in html and "139****2222" in html
    for phone in ["13800001111", "13900002222", "13700003333"]:
        assert phone not in html


def test_a_search_by_more_digits_than_the_masked_phone_shows_is_refused(client, office, outbox_rows):
    response = get(client, office, reverse("messaging:outbox"), phone_end="00001111")
    assert response.status_code == 200
    assert response.context["form"].errors["phone_end"]
    assert len(response.context["rows"]) == 7  # the search is left out, not run on the hidden digits


def test_the_office_reads_a_code_and_the_supervision_does_not(client, office, supervisor, campaign):
    code = message(kind=Kind.CODE, campaign=campaign, status=Message.Status.SENT)
    assert "482913" in get(client, office, reverse("messaging:outbox")).content.decode()
    html = get(client, supervisor, reverse("messaging:outbox")).content.decode()
    assert "482913" not in html and f'data-message="{code.pk}"' in html


def test_readers_see_the_outbox_and_a_cadre_or_site_team_does_not(
    client, supervisor, leader, cadre_qingshan, site_team_centre, outbox_rows
):
    assert get(client, supervisor, reverse("messaging:outbox")).status_code == 200
    assert get(client, leader, reverse("messaging:outbox")).status_code == 200
    assert get(client, cadre_qingshan, reverse("messaging:outbox")).status_code == 403
    assert get(client, site_team_centre, reverse("messaging:outbox")).status_code == 403


def test_the_outbox_costs_the_same_queries_for_many_messages(client, office, people, cadre_qingshan):
    qs, hh = people["qs"], people["hh"]

    def count_queries():
        client.force_login(office)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("messaging:outbox"), {"kind": "reminder"}).status_code == 200
        return len(queries)

    message(resident=qs, phone=qs.phone)
    few = count_queries()
    for n in range(60):
        person = qs if n % 2 else hh
        message(resident=person, phone=person.phone, status=Message.Status.SENT)
        message(kind=Kind.PLAN_PUBLISHED, recipient=cadre_qingshan, campaign=qs.campaign, phone="13700003333")
    assert count_queries() == few
    assert few <= 12


# The providers' callback


class FakeProvider(sms.BaseBackend):
    """A provider whose callbacks are signed by a header: "good" passes, anything else is refused."""

    name = "alibaba"
    callback_answer = {"code": 0, "msg": "接收成功"}

    def parse_callback(self, request):
        if request.headers.get("X-Signature") != "good":
            raise sms.CallbackRefused("bad signature")
        body = json.loads(request.body)
        return sms.Callback(
            reports=[
                sms.DeliveryReport(
                    provider_id=item["biz_id"],
                    phone=item["phone_number"],
                    delivered=item["success"],
                    error_code="" if item["success"] else item["err_code"],
                    error_message="" if item["success"] else item["err_msg"],
                )
                for item in body.get("reports", [])
            ],
            replies=[sms.Reply(phone=item["phone_number"], text=item["content"]) for item in body.get("replies", [])],
        )


class FakeTencent(FakeProvider):
    name = "tencent"
    callback_answer = {"result": 0, "errmsg": "OK"}


@pytest.fixture
def fake_provider(settings):
    settings.SMS_BACKEND = "appointments.tests.test_messages_pages.FakeProvider"


def post_callback(client, provider, body, signature="good"):
    return client.post(
        reverse("messaging:callback", args=[provider]),
        data=json.dumps(body),
        content_type="application/json",
        headers={"X-Signature": signature},
    )


def test_a_signed_callback_updates_the_outbox_and_records_an_opt_out(client, fake_provider, outbox_rows):
    sent, other = outbox_rows["sent"], outbox_rows["cadre"]
    client.enforce_csrf_checks = True  # a provider has no form token and no session
    body = {
        "reports": [
            {"biz_id": sent.provider_id, "phone_number": sent.phone, "success": True},
            {
                "biz_id": other.provider_id,
                "phone_number": other.phone,
                "success": False,
                "err_code": "MK:0005",
                "err_msg": "空号",
            },
        ],
        "replies": [{"phone_number": "13500004444", "content": "TD"}],
    }
    response = post_callback(client, "alibaba", body)
    assert response.status_code == 200
    assert response.json() == {"code": 0, "msg": "接收成功"}
    sent.refresh_from_db()
    other.refresh_from_db()
    assert sent.status == Message.Status.DELIVERED
    assert (other.status, other.error_code) == (Message.Status.FAILED, "MK:0005")
    assert phone_opted_out("13500004444")


def test_tencent_gets_the_answer_it_expects(client, settings, outbox_rows):
    settings.SMS_BACKEND = "appointments.tests.test_messages_pages.FakeTencent"
    response = post_callback(client, "tencent", {"reports": []})
    assert response.json() == {"result": 0, "errmsg": "OK"}


def test_an_unsigned_callback_is_refused_and_changes_nothing(client, fake_provider, outbox_rows):
    sent = outbox_rows["sent"]
    body = {"reports": [{"biz_id": sent.provider_id, "phone_number": sent.phone, "success": True}]}
    response = post_callback(client, "alibaba", body, signature="forged")
    assert response.status_code == 403
    sent.refresh_from_db()
    assert sent.status == Message.Status.SENT


def test_a_callback_for_another_provider_than_the_configured_one_is_not_found(client, fake_provider):
    assert post_callback(client, "tencent", {"reports": []}).status_code == 404
    assert post_callback(client, "whatever", {"reports": []}).status_code == 404


def test_the_embedded_backend_takes_no_callbacks(client, settings, outbox_rows):
    settings.SMS_BACKEND = "campaign.lib.sms.locmem.LocmemBackend"
    sent = outbox_rows["sent"]
    body = {"reports": [{"biz_id": sent.provider_id, "phone_number": sent.phone, "success": True}]}
    assert post_callback(client, "locmem", body).status_code == 403
    assert post_callback(client, "alibaba", body).status_code == 404
    sent.refresh_from_db()
    assert sent.status == Message.Status.SENT


def test_a_callback_is_post_only(client, fake_provider):
    assert client.get(reverse("messaging:callback", args=["alibaba"])).status_code == 405


# Opt-outs


def test_the_office_takes_a_phone_off_and_puts_it_back(client, office):
    client.force_login(office)
    response = client.post(reverse("messaging:opt_outs"), {"phone": "139 0000 2222", "note": "本人来电要求"})
    assert response.status_code == 302
    opt_out = OptOut.objects.get()
    assert (opt_out.phone, opt_out.source, opt_out.by, opt_out.note) == (
        "13900002222",
        "office",
        office,
        "本人来电要求",
    )
    html = client.get(reverse("messaging:opt_outs")).content.decode()
    assert "139****2222" in html and "13900002222" not in html
    # Back on: the row's id in the address, never the phone.
    url = reverse("messaging:opt_out_remove", args=[opt_out.pk])
    assert "2222" not in url
    assert client.post(url).status_code == 302
    assert not phone_opted_out("13900002222")


def test_a_bad_phone_is_refused_with_a_clear_message(client, office):
    client.force_login(office)
    for typed in ["12345678901", "1380000111", "abc"]:
        response = client.post(reverse("messaging:opt_outs"), {"phone": typed})
        assert response.status_code == 200
        assert "不是有效的手机号码" in response.context["form"].errors["phone"][0]
    response = client.post(reverse("messaging:opt_outs"), {"phone": ""})
    assert response.context["form"].errors["phone"]
    assert not OptOut.objects.exists()


def test_the_opt_out_list_is_searched_by_the_last_digits_only(client, office):
    OptOut.objects.create(phone="13900002222", source="reply", note="TD")
    OptOut.objects.create(phone="13800001111", source="office")
    client.force_login(office)
    assert [o.phone for o, _ in client.get(reverse("messaging:opt_outs"), {"phone_end": "2222"}).context["rows"]] == [
        "13900002222"
    ]
    response = client.get(reverse("messaging:opt_outs"), {"phone_end": "13900002222"})
    assert response.context["search"].errors and len(response.context["rows"]) == 2


def test_readers_see_the_opt_outs_and_only_the_office_changes_them(client, supervisor, cadre_qingshan):
    opt_out = OptOut.objects.create(phone="13900002222", source="reply")
    client.force_login(supervisor)
    response = client.get(reverse("messaging:opt_outs"))
    assert response.status_code == 200 and 'data-testid="opt-out-form"' not in response.content.decode()
    assert client.post(reverse("messaging:opt_outs"), {"phone": "13800001111"}).status_code == 403
    assert client.post(reverse("messaging:opt_out_remove", args=[opt_out.pk])).status_code == 403
    client.force_login(cadre_qingshan)
    assert client.get(reverse("messaging:opt_outs")).status_code == 403
    assert list(OptOut.objects.values_list("phone", flat=True)) == ["13900002222"]


# Kinds on and off


def test_the_kinds_page_shows_each_template_with_sample_values(client, supervisor, qingshan):
    response = get(client, supervisor, reverse("messaging:kinds"))
    rows = {row["kind"]: row for row in response.context["rows"]}
    assert set(rows) == set(Kind.values)
    assert all("${" not in row["sample"] and row["sample"].startswith(kinds.sign()) for row in rows.values())
    # The campaign's own site and village, as the messages will read.
    assert "在卫生服务中心接种第1剂" in rows["reminder"]["sample"]
    assert "青山社区首剂名额" in rows["plan_published"]["sample"]
    assert all(row["enabled"] for row in rows.values())
    assert 'data-testid="kind-toggle"' not in response.content.decode()  # read-only


def test_the_office_turns_a_kind_off_and_on_again(client, office, campaign):
    client.force_login(office)
    url = reverse("messaging:kind_switch", args=["reminder"])
    assert client.post(url, {"enabled": "0"}).status_code == 302
    assert not kinds.kind_enabled(campaign=campaign, kind="reminder")
    assert kinds.kind_enabled(campaign=campaign, kind="confirmation")
    page = client.get(reverse("messaging:kinds"))
    assert {row["kind"]: row["enabled"] for row in page.context["rows"]}["reminder"] is False
    assert client.post(url, {"enabled": "1"}).status_code == 302
    assert kinds.kind_enabled(campaign=campaign, kind="reminder")
    assert KindSwitch.objects.get(campaign=campaign, kind="reminder").changed_by == office


def test_only_the_office_switches_kinds_and_only_known_ones(client, office, supervisor, campaign):
    client.force_login(supervisor)
    assert client.post(reverse("messaging:kind_switch", args=["reminder"]), {"enabled": "0"}).status_code == 403
    client.force_login(office)
    assert client.post(reverse("messaging:kind_switch", args=["spam"]), {"enabled": "0"}).status_code == 404
    assert kinds.kind_enabled(campaign=campaign, kind="reminder")


def test_a_switch_form_that_says_neither_on_nor_off_changes_nothing(client, office, campaign):
    client.force_login(office)
    url = reverse("messaging:kind_switch", args=["reminder"])
    for data in ({}, {"enabled": ""}, {"enabled": "abc"}):
        assert client.post(url, data).status_code == 302
    assert not KindSwitch.objects.exists()
    assert kinds.kind_enabled(campaign=campaign, kind="reminder")


# A resident's page


def test_the_resident_page_lists_their_messages_newest_first(client, cadre_qingshan, outbox_rows, people):
    resident = people["qs"]
    Message.objects.filter(pk=outbox_rows["queued"].pk).update(created_at=timezone.now() - DAY)
    response = get(client, cadre_qingshan, reverse("residents:detail", args=[resident.pk]))
    rows = [m for m, _text, _phone in response.context["sms_rows"]]
    assert [m.kind for m in rows] == ["dose_due", "confirmation", "reminder"]
    html = response.content.decode()
    assert html.count('data-testid="sms-row"') == 3
    assert "已接种" in html  # why the dose-due message was not sent
    assert "红河" not in html.split('data-testid="resident-sms"')[1].split("</ul>")[0]


def test_a_cadre_cannot_see_another_villages_resident_nor_their_messages(client, cadre_qingshan, people):
    message(resident=people["hh"], phone=people["hh"].phone)
    assert get(client, cadre_qingshan, reverse("residents:detail", args=[people["hh"].pk])).status_code == 404


def test_the_resident_page_says_when_their_phone_opted_out(client, office, people):
    OptOut.objects.create(phone=people["qs"].phone, source="reply")
    html = get(client, office, reverse("residents:detail", args=[people["qs"].pk])).content.decode()
    assert 'data-testid="sms-opted-out"' in html


# The follow-up list


def missed(village, **resident):
    person = ResidentFactory(village=village, **resident)
    AppointmentFactory(resident=person, date=timezone.localdate() - 2 * DAY, status="no_show", site=village.site)
    return person


def test_the_follow_up_list_shows_who_was_reminded_and_who_sms_cannot_reach(client, office, qingshan):
    reminded = missed(qingshan, name="已提醒", phone="13800000001")
    failed = missed(qingshan, name="发送失败", phone="13800000002")
    opted = missed(qingshan, name="已退订", phone="13800000003")
    missed(qingshan, name="无电话", phone="")
    message(resident=reminded, phone=reminded.phone, status=Message.Status.DELIVERED)
    message(resident=failed, phone=failed.phone, status=Message.Status.DELIVERED, created_at=timezone.now() - DAY)
    message(resident=failed, phone=failed.phone, kind=Kind.MISSED, status=Message.Status.FAILED, error_code="X")
    OptOut.objects.create(phone=opted.phone, source="reply")
    client.force_login(office)

    def rows(**params):
        response = client.get(reverse("appointments:follow_up"), params)
        return {row.resident.name: row for row in response.context["rows"]}

    listed = rows()
    assert listed["已提醒"].last_sms.status == "delivered" and listed["已提醒"].sms_problem == ""
    assert (listed["发送失败"].last_sms.kind, listed["发送失败"].sms_problem) == ("missed", "上次短信发送失败")
    assert listed["已退订"].sms_problem == "已退订"
    assert listed["无电话"].sms_problem == "无手机号"
    assert set(rows(sms="unreachable")) == {"发送失败", "已退订", "无电话"}
    assert set(rows(sms="reached")) == {"已提醒"}


def test_the_follow_up_list_reads_the_sms_of_a_page_in_a_fixed_number_of_queries(client, office, qingshan):
    def count_queries():
        client.force_login(office)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("appointments:follow_up")).status_code == 200
        return len(queries)

    person = missed(qingshan, phone="13800000009")
    message(resident=person, phone=person.phone)
    few = count_queries()
    for n in range(20):
        other = missed(qingshan, phone=f"138000001{n:02d}")
        message(resident=other, phone=other.phone, status=Message.Status.SENT)
    assert count_queries() == few


@pytest.fixture
def alibaba_configured(settings):
    settings.SMS_BACKEND = "campaign.lib.sms.alibaba.AlibabaBackend"
    settings.SMS_ALIBABA_ACCESS_KEY_ID = "test-key-id"
    settings.SMS_ALIBABA_ACCESS_KEY_SECRET = "test-secret"
    settings.SMS_ALIBABA_ENDPOINT = "http://127.0.0.1:9"  # never called: callbacks only
    settings.SMS_TEMPLATES = {kind: f"SMS_10000000{n}" for n, kind in enumerate(Kind.values, 1)}
    settings.SMS_CALLBACK_TOKEN = "a-long-random-callback-token"


def test_alibabas_batch_push_through_the_real_backend_with_its_token(client, alibaba_configured, outbox_rows):
    sent = outbox_rows["sent"]
    reports = [
        {
            "phone_number": sent.phone,
            "send_time": "2026-05-19 10:00:00",
            "report_time": "2026-05-19 10:00:05",
            "success": True,
            "err_code": "DELIVERED",
            "err_msg": "用户接收成功",
            "sms_size": "1",
            "biz_id": sent.provider_id,
            "out_id": str(sent.pk),
        }
    ]
    url = reverse("messaging:callback", args=["alibaba"])
    refused = client.post(f"{url}?token=wrong", json.dumps(reports), content_type="application/json")
    assert refused.status_code == 403
    sent.refresh_from_db()
    assert sent.status == Message.Status.SENT
    taken = client.post(
        f"{url}?token=a-long-random-callback-token", json.dumps(reports), content_type="application/json"
    )
    assert (taken.status_code, taken.json()) == (200, {"code": 0, "msg": "接收成功"})
    sent.refresh_from_db()
    assert sent.status == Message.Status.DELIVERED
    # Tencent's URL while Alibaba is configured: not found.
    assert (
        client.post(reverse("messaging:callback", args=["tencent"]), "[]", content_type="application/json").status_code
        == 404
    )


def test_filters_that_cannot_be_read_are_left_out_and_said(client, office, outbox_rows):
    response = get(client, office, reverse("messaging:outbox"), status="abc", queued_on="9999-12-31", kind="x")
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"status", "queued_on", "kind"}
    assert len(response.context["rows"]) == 7
