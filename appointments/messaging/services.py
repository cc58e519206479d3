"""Queueing and sending messages: the one place the outbox's rules live.

(A first version: message_queue is the contract the kinds' triggers call; the send state
machine, the sweep and delivery reports follow.)
"""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from appointments.messaging import kinds
from appointments.messaging.models import Message, OptOut
from campaign.lib import sms

logger = logging.getLogger(__name__)


def message_queue(
    *,
    kind: str,
    phone: str,
    params: dict,
    campaign=None,
    resident=None,
    appointment=None,
    recipient=None,
    key: str | None = None,
) -> Message | None:
    """Queue one message and have it sent after the caller's transaction commits.

    Returns the new row, or None when that message was queued before (the unique constraints:
    one per resident, kind, appointment and day; one per `key`) or when there is no phone.
    """
    if not phone:
        return None
    text = kinds.render(kind, params)
    try:
        with transaction.atomic():
            message = Message.objects.create(
                kind=kind,
                phone=phone,
                params={name: str(params[name]) for name in kinds.KINDS[kind].params},
                text=text,
                segments=sms.segments(text),
                campaign=campaign,
                resident=resident,
                appointment=appointment,
                day=appointment.date if appointment is not None else None,
                recipient=recipient,
                key=key,
            )
    except IntegrityError:
        return None
    return message


def messages_queue_many(*, messages: list[Message]) -> int:
    """Queue many unsaved messages at once (a nightly job's reminders); those queued before are left out.

    Returns how many rows were new. (A first version: the rows are written; sending follows.)
    """
    before = Message.objects.count()
    Message.objects.bulk_create(messages, batch_size=2000, ignore_conflicts=True)
    return Message.objects.count() - before


# Opt-outs ---------------------------------------------------------------------------------


def phone_opted_out(phone: str) -> bool:
    return OptOut.objects.filter(phone=phone).exists()


def opt_out_record(*, phone: str, source: str, by=None, note: str = "") -> bool:
    """Take a phone off every message but the codes it asks for; False when it was off already."""
    _, created = OptOut.objects.get_or_create(phone=phone, defaults={"source": source, "by": by, "note": note})
    return created


def opt_out_remove(*, phone: str) -> bool:
    """The office puts a phone back on (the person asked); False when it was not off."""
    deleted, _ = OptOut.objects.filter(phone=phone).delete()
    return bool(deleted)


# What the providers report ----------------------------------------------------------------

# A reply that means "no more messages" (the providers' 回复TD退订; people also write 退订, T, N).
OPT_OUT_REPLIES = {"TD", "T", "N", "退订", "退", "取消"}


def replies_apply(*, replies: list) -> int:
    """Record the opt-outs among replies (campaign.lib.sms.Reply); returns how many phones opted out."""
    count = 0
    for reply in replies:
        if reply.text.strip().upper() in OPT_OUT_REPLIES:
            count += opt_out_record(phone=reply.phone, source=OptOut.Source.REPLY, note=reply.text.strip()[:200])
    return count


def delivery_reports_apply(*, provider: str, reports: list) -> int:
    """Mark messages delivered or failed from a provider's reports (campaign.lib.sms.DeliveryReport).

    A report for a message not sent by this provider is ignored. Returns how many rows changed.
    """
    changed = 0
    for report in reports:
        fields = {"delivered_at": report.at or timezone.now()}
        if report.delivered:
            fields["status"] = Message.Status.DELIVERED
        else:
            fields |= {
                "status": Message.Status.FAILED,
                "error_code": report.error_code[:100],
                "error_message": report.error_message[:300],
            }
        reported = Message.objects.filter(provider=provider, provider_id=report.provider_id)
        changed += reported.filter(status__in=[Message.Status.SENT, Message.Status.DELIVERED]).update(**fields)
    return changed
