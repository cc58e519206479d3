"""What the providers report back: delivery reports settle a message's fate; a TD reply opts the phone out."""

import datetime

import pytest
from django.utils import timezone

from appointments.messaging import services
from appointments.messaging.models import Message, OptOut
from appointments.tests.factories import MessageFactory
from campaign.lib.sms import DeliveryReport, Reply

pytestmark = pytest.mark.django_db


def _sent(**fields):
    defaults = {"status": Message.Status.SENT, "sent_at": timezone.now(), "provider": "alibaba"}
    return MessageFactory(**(defaults | fields))


def test_a_delivery_report_marks_the_message_delivered():
    message = _sent(provider_id="biz-1")
    report = DeliveryReport(provider_id="biz-1", phone=message.phone, delivered=True)

    assert services.delivery_reports_apply(provider="alibaba", reports=[report]) == 1
    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED
    assert message.delivered_at is not None


def test_an_undelivered_report_fails_the_message_with_the_providers_code():
    message = _sent(provider_id="biz-2")
    report = DeliveryReport(
        provider_id="biz-2", phone=message.phone, delivered=False, error_code="UNDELIV", error_message="失败"
    )

    services.delivery_reports_apply(provider="alibaba", reports=[report])
    message.refresh_from_db()
    assert (message.status, message.error_code) == (Message.Status.FAILED, "UNDELIV")


def test_a_message_recovered_by_the_sweep_without_a_provider_id_is_found_by_its_reference():
    # Alibaba's lookup gives no id: the sweep marked it sent with an empty provider id.
    message = _sent(provider_id="")
    report = DeliveryReport(provider_id="biz-9", phone=message.phone, delivered=True, reference=str(message.pk))

    assert services.delivery_reports_apply(provider="alibaba", reports=[report]) == 1
    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED


def test_a_report_for_a_message_still_in_flight_settles_it_as_sent_and_delivered():
    claimed = timezone.now() - datetime.timedelta(minutes=1)
    message = MessageFactory(status=Message.Status.IN_FLIGHT, claimed_at=claimed, attempts=1)
    report = DeliveryReport(provider_id="biz-3", phone=message.phone, delivered=True, reference=str(message.pk))

    services.delivery_reports_apply(provider="alibaba", reports=[report])
    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED
    assert message.sent_at is not None
    assert message.provider == "alibaba"


def test_a_report_from_another_provider_or_for_a_queued_message_changes_nothing():
    sent_by_tencent = _sent(provider="tencent", provider_id="biz-4")
    queued = MessageFactory()
    reports = [
        DeliveryReport(provider_id="biz-4", phone=sent_by_tencent.phone, delivered=True),
        DeliveryReport(provider_id="x", phone=queued.phone, delivered=True, reference=str(queued.pk)),
    ]

    assert services.delivery_reports_apply(provider="alibaba", reports=reports) == 0
    assert Message.objects.get(pk=sent_by_tencent.pk).status == Message.Status.SENT
    assert Message.objects.get(pk=queued.pk).status == Message.Status.QUEUED


def test_a_td_reply_opts_the_phone_out_and_other_replies_do_not():
    replies = [Reply(phone="13912345678", text=" td "), Reply(phone="13912345679", text="谢谢")]

    assert services.replies_apply(replies=replies) == 1
    assert list(OptOut.objects.values_list("phone", "source")) == [("13912345678", OptOut.Source.REPLY)]
