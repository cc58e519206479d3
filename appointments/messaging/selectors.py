"""What the pages read of the outbox: the office's list and its figures, a resident's messages, the opt-outs.

Every figure of the outbox page is one aggregate over the filtered rows (the counts per status and
the segments charged in one query, the reasons in one query each), so the page costs the same
number of queries for 100 messages as for 100,000.
"""

import datetime
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from appointments.messaging import kinds
from appointments.messaging.models import Kind, Message, OptOut
from campaign.lib.masking import MASKED_SEARCH_DIGITS
from campaign.roles import Role, role_of
from residents.models import Resident

# The statuses in the order a message lives them, with the key each count has on the page.
STATUS_ORDER = [
    Message.Status.QUEUED,
    Message.Status.IN_FLIGHT,
    Message.Status.SENT,
    Message.Status.DELIVERED,
    Message.Status.FAILED,
    Message.Status.SKIPPED,
]

# A message is charged once the provider took it: sent, delivered, or failed after sending (a
# delivery report said the phone never got it; a message the provider refused has no sent_at).
CHARGED = Q(status__in=[Message.Status.SENT, Message.Status.DELIVERED]) | Q(
    status=Message.Status.FAILED, sent_at__isnull=False
)

# How many distinct failure reasons the page lists; the rest are summed as "other".
REASONS_SHOWN = 10


def outbox_messages(
    *,
    campaign,
    kind: str | None = None,
    status: str | None = None,
    village=None,
    queued_on: datetime.date | None = None,
    for_day: datetime.date | None = None,
    phone_end: str | None = None,
) -> QuerySet:
    """The campaign's messages as the office filters them, newest first, with whom each is to.

    `village`: messages to its residents and to its cadres (a plan published). `queued_on`: the
    local day the message was queued. `for_day`: the day of the appointment it is about.
    `phone_end`: the last digits of the phone, at most as many as the masked phone shows.
    """
    rows = Message.objects.filter(campaign=campaign)
    if kind:
        rows = rows.filter(kind=kind)
    if status:
        rows = rows.filter(status=status)
    if village is not None:
        cadres = get_user_model().objects.filter(profile__village__name=village.name).values("pk")  # any campaign
        rows = rows.filter(
            Q(resident__in=Resident.objects.filter(village=village).values("pk")) | Q(recipient__in=cadres)
        )
    if queued_on is not None:
        start = timezone.make_aware(datetime.datetime.combine(queued_on, datetime.time.min))
        rows = rows.filter(created_at__gte=start, created_at__lt=start + datetime.timedelta(days=1))
    if for_day is not None:
        rows = rows.filter(day=for_day)
    if phone_end:
        rows = rows.filter(phone__endswith=phone_end[-MASKED_SEARCH_DIGITS:])
    return rows.order_by("-created_at", "-id")


@dataclass
class OutboxFigures:
    """The filtered set at a glance: how many per status, what was charged, why some did not go."""

    counts: dict[str, int]
    total: int
    segments: int
    charged: int
    failures: list[dict]  # {"error_code", "error_message", "count"}, most frequent first
    skips: list[dict]  # {"skip_reason", "count"}, most frequent first


def outbox_figures(rows: QuerySet) -> OutboxFigures:
    """Counts per status, segments charged, and the reasons for failed and skipped messages (3 queries)."""
    rows = rows.order_by()
    aggregates = rows.aggregate(
        **{f"n_{status}": Count("pk", filter=Q(status=status)) for status in STATUS_ORDER},
        segments=Sum("segments", filter=CHARGED, default=0),
        charged=Count("pk", filter=CHARGED),
    )
    counts = {str(status): aggregates[f"n_{status}"] for status in STATUS_ORDER}
    failures = list(
        rows.filter(status=Message.Status.FAILED)
        .values("error_code", "error_message")
        .annotate(count=Count("pk"))
        .order_by("-count", "error_code", "error_message")[:REASONS_SHOWN]
    )
    skips = list(
        rows.filter(status=Message.Status.SKIPPED)
        .values("skip_reason")
        .annotate(count=Count("pk"))
        .order_by("-count", "skip_reason")[:REASONS_SHOWN]
    )
    return OutboxFigures(
        counts=counts,
        total=sum(counts.values()),
        segments=aggregates["segments"],
        charged=aggregates["charged"],
        failures=failures,
        skips=skips,
    )


def with_addressee(rows: QuerySet) -> QuerySet:
    """The rows with what the page shows of whom each message is to (no query per row)."""
    return rows.select_related("resident__village", "recipient__profile__village")


def shown_text(message: Message, *, user) -> str:
    """The message's text as `user` may read it: a verification code only for the office.

    The office reads the code on the outbox page when the embedded backend sends nothing (the
    self-booking desk tells it to the person); no other role needs it.
    """
    if message.kind != Kind.CODE or role_of(user) == Role.OFFICE:
        return message.text
    hidden = {**message.params, "code": "*" * len(message.params.get("code", "") or "******")}
    try:
        return kinds.render(message.kind, hidden)
    except KeyError:
        return kinds.sign() + "……"


def resident_messages(*, resident, limit: int = 30) -> list[Message]:
    """The messages that went (or were to go) to a resident, newest first."""
    return list(Message.objects.filter(resident=resident).order_by("-created_at", "-id")[:limit])


def opt_outs(*, phone_end: str | None = None) -> QuerySet:
    """The opted-out phones, newest first, with who recorded each; `phone_end` as in outbox_messages."""
    rows = OptOut.objects.select_related("by").order_by("-at", "-id")
    if phone_end:
        rows = rows.filter(phone__endswith=phone_end[-MASKED_SEARCH_DIGITS:])
    return rows


def sample_params(*, campaign) -> dict[str, str]:
    """Values every kind's template can be shown with: the campaign's first site and village, tomorrow."""
    from campaign.models import Village
    from sites.models import Site

    site = Site.objects.filter(campaign=campaign).order_by("pk").first()
    village = Village.objects.filter(campaign=campaign).order_by("pk").first()
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    return {
        "date": kinds.day_text(tomorrow),
        "week": kinds.day_text(tomorrow),
        "time": "10:35",
        "place": kinds.site_text(site) if site else "卫生服务中心",
        "address": (kinds.address_text(site) if site and site.address else "梅山镇梅山路1号"),
        "dose": kinds.dose_text(1, campaign.doses if campaign is not None else 1),
        "cadre": "王芳",
        "cadre_phone": "13912345678",
        "village": village.name if village else "青山社区",
        "places": "600",
        "code": "123456",
    }


def kind_switches(*, campaign) -> list[dict]:
    """Each kind with its template (rendered with sample values), whether it is on, and who changed it."""
    from appointments.messaging.models import KindSwitch

    switches = {s.kind: s for s in KindSwitch.objects.filter(campaign=campaign).select_related("changed_by")}
    counted = dict(
        Message.objects.filter(campaign=campaign)
        .order_by()
        .values_list("kind")
        .annotate(count=Count("pk"))
        .values_list("kind", "count")
    )
    sample = sample_params(campaign=campaign)
    rows = []
    for kind in kinds.KINDS:
        switch = switches.get(kind)
        rows.append(
            {
                "kind": str(kind),
                "label": Kind(kind).label,
                "sample": kinds.render(kind, sample),
                "enabled": switch is None or switch.enabled,
                "switch": switch,
                "messages": counted.get(str(kind), 0),
            }
        )
    return rows
