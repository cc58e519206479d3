"""Queueing and sending messages: the one place the outbox's rules live.

The send state machine (Message's docstring draws it): a worker claims a batch of queued rows in one
conditional UPDATE, so that a row in flight or done is left alone and two workers never send the same
row; checks each claimed row again (its kind switched off, the phone opted out, the kind's own rule:
kinds.skip_reasons); holds back what falls in the quiet hours; sends the rest one by one through the
configured backend, writing each one's fate right after its send. A periodic sweep settles the rows
a dead worker left in flight (asking the provider whether it took them) and queues again what was
never taken. Phones and texts are never logged: only message ids.
"""

import datetime
import logging
import random
import time
from contextlib import contextmanager

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.messaging import kinds, throttle
from appointments.messaging.models import Message, OptOut
from campaign.celery import app as celery_app
from campaign.lib import sms
from campaign.lib.queue import enqueue

logger = logging.getLogger(__name__)

SEND_TASK = "appointments.send_messages"
QUEUE = "messages"  # CELERY_TASK_ROUTES
# Ids per send task: a task's batch is claimed at once and sent in well under a minute at the rate limit.
TASK_BATCH = 100
# A due row is queued again by the sweep when nobody touched it for this long (its task was lost:
# Redis was down at commit, or the queue was emptied; or the workers are behind: a second task is harmless).
REQUEUE_AFTER = datetime.timedelta(minutes=2)
# In-flight rows a sweep settles (each may cost the provider a query); the next sweep takes the rest.
LOST_PER_SWEEP = 2000
# A retry's back-off: BACKOFF_BASE * 2**(attempt - 1), at most BACKOFF_MAX, less up to half of it at random
# (jitter: the messages a provider outage threw back do not all come back in the same second).
BACKOFF_BASE = datetime.timedelta(seconds=30)
BACKOFF_MAX = datetime.timedelta(hours=1)


def _chunks(items: list, size: int):
    return (items[start : start + size] for start in range(0, len(items), size))


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
            _send_after_commit([message.pk])
    except IntegrityError:
        return None
    return message


def messages_queue_many(*, messages: list[Message]) -> int:
    """Queue many unsaved messages at once (a nightly job's reminders) and have them sent after commit.

    Those queued before (the unique constraints) are left out. A message's text and segments are
    rendered from its kind and params when not given, and its day taken from its appointment. Returns
    how many rows were new. The new rows are found again by the one created_at this call gives them all
    (ignore_conflicts leaves the objects without ids), per campaign and kind: the outbox's index.
    """
    if not messages:
        return 0
    stamp = timezone.now()
    groups = set()
    for message in messages:
        if not message.text:
            message.text = kinds.render(message.kind, message.params)
        message.segments = sms.segments(message.text)
        if message.day is None and message.appointment_id is not None:
            message.day = message.appointment.date
        message.created_at = stamp
        groups.add((message.campaign_id, message.kind))
    with transaction.atomic():
        Message.objects.bulk_create(messages, batch_size=2000, ignore_conflicts=True)
        new = []
        for campaign_id, kind in sorted(groups, key=str):
            new += Message.objects.filter(campaign_id=campaign_id, kind=kind, created_at=stamp).values_list(
                "pk", flat=True
            )
        _send_after_commit(sorted(new))
    return len(new)


def _send_after_commit(ids: list[int]) -> None:
    """Queue the send tasks of `ids` (TASK_BATCH a task) once the caller's transaction commits.

    Without a broker (the embedded default) the tasks run in this process at commit. A broker that
    cannot be reached loses nothing: the rows stay queued for the sweep or the send_messages command.
    """
    if not ids:
        return

    def queue_sending():
        messages_enqueue(ids=ids)

    # robust: a failure to queue must not turn the caller's saved work into an error.
    transaction.on_commit(queue_sending, robust=True)


def messages_enqueue(*, ids: list[int]) -> int:
    """Queue send tasks for `ids`, TASK_BATCH ids a task; returns how many tasks were queued."""
    # By name: appointments.messaging.tasks imports this module (AppointmentsConfig.ready registers it).
    send_task = celery_app.tasks[SEND_TASK]
    queued = 0
    for chunk in _chunks(ids, TASK_BATCH):
        if not enqueue(send_task, chunk):
            break  # the broker is down: the sweep or the command sends the rest
        queued += 1
    return queued


# Sending ----------------------------------------------------------------------------------


def _due(now: datetime.datetime) -> Q:
    return Q(status=Message.Status.QUEUED) & (Q(send_after__isnull=True) | Q(send_after__lte=now))


def messages_claim(*, ids: list[int], now: datetime.datetime) -> list[int]:
    """Take the queued, due rows among `ids` for sending: in flight, claimed now, one more attempt.

    One conditional UPDATE is the rule itself: a row already in flight or done, or not yet due, is
    left alone, and of two workers claiming the same row only one gets it (PostgreSQL re-reads the
    row a concurrent claim changed and finds it no longer queued). Returns the claimed ids.
    """
    if not ids:
        return []
    table = connection.ops.quote_name(Message._meta.db_table)
    at = connection.ops.adapt_datetimefield_value(now)
    in_ids = ", ".join(["%s"] * len(ids))
    sql = (
        f"UPDATE {table} SET status = %s, claimed_at = %s, updated_at = %s, attempts = attempts + 1"  # noqa: S608
        f" WHERE id IN ({in_ids}) AND status = %s AND (send_after IS NULL OR send_after <= %s) RETURNING id"
    )
    params = [Message.Status.IN_FLIGHT, at, at, *ids, Message.Status.QUEUED, at]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(row[0] for row in cursor.fetchall())


def quiet_until(now: datetime.datetime) -> datetime.datetime | None:
    """The end of the quiet hours (SMS_QUIET_HOURS, local time) when `now` falls in them, else None."""
    if not settings.SMS_QUIET_HOURS:
        return None
    start, end = settings.SMS_QUIET_HOURS
    local = timezone.localtime(now)
    at = local.time()
    quiet = (start <= at or at < end) if start > end else (start <= at < end)
    if not quiet:
        return None
    day = local.date() if at < end else local.date() + datetime.timedelta(days=1)
    return timezone.make_aware(datetime.datetime.combine(day, end))


def backoff(attempts: int) -> datetime.timedelta:
    """How long a message waits after its `attempts`-th try met a transient error (with jitter)."""
    delay = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** max(attempts - 1, 0))
    return delay * random.uniform(0.5, 1.0)  # noqa: S311 - spreading retries, not a secret


def _skip_reasons(batch: list[Message]) -> dict[int, str]:
    """{id: reason} for the claimed messages that must not be sent: the rule checked again at send time."""
    reasons: dict[int, str] = {}
    enabled: dict[tuple, bool] = {}
    for message in batch:
        switch = (message.campaign_id, message.kind)
        if switch not in enabled:
            enabled[switch] = kinds.kind_enabled(campaign=message.campaign, kind=message.kind)
        if not enabled[switch]:
            reasons[message.pk] = _("the office turned this kind of message off")
    watched = [m for m in batch if m.pk not in reasons and kinds.KINDS[m.kind].respects_opt_out]
    opted_out = set(OptOut.objects.filter(phone__in={m.phone for m in watched}).values_list("phone", flat=True))
    for message in watched:
        if message.phone in opted_out:
            reasons[message.pk] = _("the phone opted out of messages")
    rest = [m for m in batch if m.pk not in reasons]
    if rest:
        reasons |= {pk: reason for pk, reason in kinds.skip_reasons(rest).items() if reason}
    return reasons


def _release(ids, *, send_after: datetime.datetime | None = None) -> int:
    """Put claimed rows back in the queue, not sent and not counted as an attempt, due at `send_after`."""
    if not ids:
        return 0
    return Message.objects.filter(pk__in=list(ids), status=Message.Status.IN_FLIGHT).update(
        status=Message.Status.QUEUED, attempts=F("attempts") - 1, send_after=send_after, updated_at=timezone.now()
    )


def _record_failure(message: Message, error: Exception, *, transient: bool, now: datetime.datetime) -> str:
    """Write a failed try's outcome: back in the queue after a back-off, or failed. Returns which."""
    code = getattr(error, "code", "") or type(error).__name__
    fields = {"error_code": code[:100], "error_message": str(error)[:300], "updated_at": timezone.now()}
    retry = transient and message.attempts < settings.SMS_MAX_ATTEMPTS
    if retry:
        fields |= {"status": Message.Status.QUEUED, "send_after": now + backoff(message.attempts)}
    else:
        fields |= {"status": Message.Status.FAILED}
    Message.objects.filter(pk=message.pk, status=Message.Status.IN_FLIGHT).update(**fields)
    return "retried" if retry else "failed"


@contextmanager
def _commits_without_waiting():
    """On PostgreSQL, this connection's commits do not wait for the disk (synchronous_commit off) meanwhile.

    For the writes after the claim only: a crash of the database could lose the last of them, which
    leaves those rows as the claim left them, in flight, and the sweep settles them (asking the provider
    whether it took them). The claim itself is a normal commit: losing it could send a message twice.
    Measured on this machine (busy): a one-row UPDATE took 5-6 ms with the wait, 1-2 ms without.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO DEFAULT")


def messages_send(
    *, ids: list[int], now: datetime.datetime | None = None, backend: sms.BaseBackend | None = None
) -> dict[str, int]:
    """Claim the queued, due messages among `ids` and send them; safe to run twice on the same ids.

    Returns counts: claimed, sent, skipped, held (quiet hours: queued again for their end), retried
    (a transient error: queued again after a back-off), failed (a permanent error, or transient ones
    SMS_MAX_ATTEMPTS times), returned (not sent within half of SMS_IN_FLIGHT_TIMEOUT: queued again).
    `now` stands for the clock in tests (quiet hours, back-off); a sent message's time is the real one.
    """
    given_now = now
    now = now or timezone.now()
    counts = dict.fromkeys(["claimed", "sent", "skipped", "held", "retried", "failed", "returned"], 0)
    claimed = messages_claim(ids=ids, now=now)
    counts["claimed"] = len(claimed)
    if not claimed:
        return counts
    # Every write after the claim may skip waiting for the disk (see _commits_without_waiting).
    with _commits_without_waiting():
        # Half the in-flight timeout: past it the rest goes back to the queue, before the sweep could take it.
        give_back_at = time.monotonic() + settings.SMS_IN_FLIGHT_TIMEOUT / 2
        batch = list(Message.objects.filter(pk__in=claimed).select_related("campaign").order_by("pk"))

        reasons = _skip_reasons(batch)
        for reason in set(reasons.values()):
            skipped = [pk for pk, why in reasons.items() if why == reason]
            counts["skipped"] += Message.objects.filter(pk__in=skipped, status=Message.Status.IN_FLIGHT).update(
                status=Message.Status.SKIPPED, skip_reason=reason[:200], updated_at=timezone.now()
            )
        batch = [m for m in batch if m.pk not in reasons]

        morning = quiet_until(now)
        if morning is not None:
            held = [m.pk for m in batch if kinds.KINDS[m.kind].respects_quiet_hours]
            counts["held"] = _release(held, send_after=morning)
            batch = [m for m in batch if not kinds.KINDS[m.kind].respects_quiet_hours]

        backend = backend or sms.get_backend()
        for position, message in enumerate(batch):
            if time.monotonic() > give_back_at:
                counts["returned"] += _release([m.pk for m in batch[position:]])
                logger.warning("messages %s..%s not sent in time: queued again", message.pk, batch[-1].pk)
                break
            throttle.wait_turn(backend.name)
            try:
                sent = backend.send(
                    sms.Sms(
                        phone=message.phone,
                        template=message.kind,
                        params=message.params,
                        text=message.text,
                        reference=str(message.pk),
                    )
                )
            except SoftTimeLimitExceeded:
                # This message may have gone: it stays in flight for the sweep to ask the provider. The rest go back.
                _release([m.pk for m in batch[position + 1 :]])
                raise
            except sms.SmsError as error:
                outcome = _record_failure(message, error, transient=error.transient, now=now)
                counts[outcome] += 1
                logger.info("message %s not sent (%s): %s", message.pk, error.code or type(error).__name__, outcome)
            except Exception as error:
                # A backend's bug or an unexpected network error: tried again like a transient error.
                logger.exception("message %s: the backend %s raised", message.pk, backend.name)
                counts[_record_failure(message, error, transient=True, now=now)] += 1
            else:
                counts["sent"] += Message.objects.filter(pk=message.pk, status=Message.Status.IN_FLIGHT).update(
                    status=Message.Status.SENT,
                    provider=backend.name,
                    provider_id=sent.provider_id[:100],
                    sent_at=given_now or timezone.now(),
                    error_code="",
                    error_message="",
                    updated_at=timezone.now(),
                )
    return counts


def _tasks_waiting() -> int:
    """How many send tasks wait in the broker's messages queue (0 when it cannot tell)."""
    try:
        with celery_app.connection_for_read() as broker:
            return broker.default_channel.queue_declare(queue=QUEUE, passive=True).message_count
    except Exception:  # noqa: BLE001 - no broker, or a queue never declared: nothing known to be waiting
        return 0


def messages_sweep(
    *, now: datetime.datetime | None = None, backend: sms.BaseBackend | None = None, enqueue_due: bool = True
) -> dict[str, int]:
    """Settle what got stuck; returns counts.

    A row in flight for longer than SMS_IN_FLIGHT_TIMEOUT lost its worker. The provider is asked
    whether it took it (backend.find_sent by the row's id): found, it is marked sent (found); not
    found, it goes back to the queue (requeued), or is failed when it used up SMS_MAX_ATTEMPTS
    (a message whose sending kills its worker must not kill every worker in turn). When the provider
    cannot be asked the row waits for the next sweep (unknown).

    Then the queued rows nobody is sending are queued again as tasks (enqueued): rows pushed back
    (quiet hours, back-off) whose time has come, and due rows nobody touched for REQUEUE_AFTER. Each is
    touched (updated_at) as it is queued, so the next sweep does not queue it again at once. The
    send_messages command passes enqueue_due=False and sends them itself.
    """
    now = now or timezone.now()
    counts = dict.fromkeys(["found", "requeued", "failed", "unknown", "enqueued"], 0)
    backend = backend or sms.get_backend()
    lost = Message.objects.filter(
        status=Message.Status.IN_FLIGHT, claimed_at__lt=now - datetime.timedelta(seconds=settings.SMS_IN_FLIGHT_TIMEOUT)
    ).order_by("pk")
    requeued = []
    for message in lost[:LOST_PER_SWEEP]:
        # Only this claim: a row claimed again meanwhile is not this sweep's to settle.
        same_claim = Message.objects.filter(
            pk=message.pk, status=Message.Status.IN_FLIGHT, claimed_at=message.claimed_at
        )
        try:
            found = backend.find_sent(reference=str(message.pk), phone=message.phone, since=message.claimed_at)
        except sms.SmsError as error:
            counts["unknown"] += 1
            logger.warning("message %s in flight: the provider could not be asked (%s)", message.pk, error.code)
            continue
        if found is not None:
            counts["found"] += same_claim.update(
                status=Message.Status.SENT,
                provider=backend.name,
                provider_id=found.provider_id[:100],
                sent_at=message.claimed_at,
                updated_at=now,
            )
        elif message.attempts >= settings.SMS_MAX_ATTEMPTS:
            counts["failed"] += same_claim.update(
                status=Message.Status.FAILED, error_code="worker_lost", error_message="", updated_at=now
            )
        elif same_claim.update(status=Message.Status.QUEUED, send_after=None, updated_at=now):
            requeued.append(message.pk)
    counts["requeued"] = len(requeued)

    if enqueue_due:
        # Pushed back (quiet hours, a back-off) and due since; or left alone for REQUEUE_AFTER (a lost task),
        # unless send tasks are still waiting in the queue: then the workers are behind, not the tasks lost.
        pushed_back_and_due = Q(send_after__gt=F("updated_at"))
        left_alone = Q(updated_at__lt=now - REQUEUE_AFTER) if not _tasks_waiting() else Q(pk__in=[])
        due = list(
            Message.objects.filter(_due(now) & (pushed_back_and_due | left_alone))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for chunk in _chunks(due, 5000):
            Message.objects.filter(pk__in=chunk, status=Message.Status.QUEUED).update(updated_at=now)
        counts["enqueued"] = len(due)
        messages_enqueue(ids=sorted(requeued + due))
    return counts


def messages_send_due(*, now: datetime.datetime | None = None, backend: sms.BaseBackend | None = None) -> dict:
    """Send every queued message that is due, in this process (the send_messages command); returns counts."""
    now = now or timezone.now()
    backend = backend or sms.get_backend()
    totals: dict[str, int] = {}
    while True:
        ids = list(Message.objects.filter(_due(now)).order_by("pk").values_list("pk", flat=True)[:TASK_BATCH])
        counts = messages_send(ids=ids, now=now, backend=backend)
        for name, value in counts.items():
            totals[name] = totals.get(name, 0) + value
        if not counts["claimed"]:
            return totals


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

    A report names its message by the provider's id, or by our reference (the outbox id the provider
    echoes: Alibaba's OutId, Tencent's SessionContext), which is all a message recovered by the sweep
    has (Alibaba's lookup gives no id). A report for a message still in flight (its worker died
    after the provider took it) settles it as sent too. A report for a message not sent by this
    provider is ignored. Returns how many rows changed.
    """
    changed = 0
    now = timezone.now()
    for report in reports:
        fields = {"delivered_at": report.at or now, "sent_at": Coalesce("sent_at", Value(now))}
        if report.delivered:
            fields["status"] = Message.Status.DELIVERED
        else:
            fields |= {
                "status": Message.Status.FAILED,
                "error_code": report.error_code[:100],
                "error_message": report.error_message[:300],
            }
        which = Q(provider=provider, provider_id=report.provider_id) if report.provider_id else Q(pk__in=[])
        if str(report.reference).isdigit():
            which |= Q(pk=int(report.reference), provider__in=[provider, ""])
        reported = Message.objects.filter(which).filter(
            status__in=[Message.Status.SENT, Message.Status.DELIVERED, Message.Status.IN_FLIGHT]
        )
        changed += reported.update(**fields, provider=provider)
    return changed
