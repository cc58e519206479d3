"""Queueing and sending messages: the one place the outbox's rules live.

(A first version: message_queue is the contract the kinds' triggers call; the send state
machine, the sweep and delivery reports follow.)
"""

import logging

from django.db import IntegrityError, transaction

from appointments.messaging import kinds
from appointments.messaging.models import Message
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
