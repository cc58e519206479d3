"""Each kind of message: its Chinese template, its parameters, and the rule checked again at send time.

A template must fit one SMS segment (70 characters, the sign included) with every parameter at its
longest (`longest`); the template test counts them. The providers' approved templates must read the
same: SMS_TEMPLATES maps each kind to its approved template id (README.md, "Messages").

What the templates leave out, and why:
- No 回复TD退订: these are notification templates (通知短信), and Alibaba Cloud's rules for them ask that
  they carry no unsubscribe wording (that belongs to promotional templates). A reply of TD still reaches
  us as a provider's reply report and opts the phone out (services.replies_apply).
- No names of residents, no ID numbers: a phone may be shared; the message says what and where, not who.
- Parameter names avoid those Alibaba refuses (email, mobile, id, nick, site): the site is `place`.
- No dose count: `dose` is dose_text's 第2剂 in a campaign of several doses and 疫苗 in a one-dose
  campaign, so no text numbers a dose that does not exist or promises one more. 请带证件, not 身份证:
  a child comes with a birth certificate, and a child's messages go to the guardian's phone
  (Resident.phone is the guardian's for a child).

The parameters' values are cut to fit (`shorten`): a site's short name to SITE_CHARS, its address to
ADDRESS_CHARS, a cadre's name to NAME_CHARS. Every text value stays within VARIABLE_CHARS, under the
providers' limits on one variable (Alibaba Cloud's "other" variables and Huawei's take up to 20 or more;
some accounts are held to 15).
"""

import re
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone, translation
from django.utils.translation import pgettext

from appointments.messaging.models import Kind

PARAM = re.compile(r"\$\{(\w+)\}")
# A mainland mobile number: the only phones a message can go to (the outbox's check constraint).
MOBILE = re.compile(r"^1[3-9][0-9]{9}$")

VARIABLE_CHARS = 15
# The longest sign (SMS_SIGN_NAME, without its 【】) the templates leave room for.
SIGN_CHARS = 8
SITE_CHARS = 10
ADDRESS_CHARS = 15
NAME_CHARS = 5


@dataclass(frozen=True)
class KindSpec:
    kind: str
    # Alibaba's placeholder syntax, ${name}; Tencent's templates take the same values by position.
    template: str
    # The longest text each parameter can take (the template test renders with these).
    longest: dict[str, str] = field(default_factory=dict)
    # An opted-out phone still gets what it asked for itself (a code); quiet hours do not hold a code back.
    respects_opt_out: bool = True
    respects_quiet_hours: bool = True

    @property
    def params(self) -> tuple[str, ...]:
        """The parameter names in the template's order (Tencent's {1}, {2}, ...)."""
        return tuple(dict.fromkeys(PARAM.findall(self.template)))


def sign() -> str:
    return f"【{settings.SMS_SIGN_NAME}】"


def render(kind: str, params: dict) -> str:
    """The whole message as the phone shows it, the sign included."""
    body = PARAM.sub(lambda match: str(params[match.group(1)]), KINDS[kind].template)
    return sign() + body


# The parameters' values --------------------------------------------------------------------------


def shorten(text: str, limit: int) -> str:
    """`text` without surrounding blanks, cut to `limit` characters (the last one an ellipsis when cut)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def day_text(day) -> str:
    """12月31日: a day as the messages write it (the year is the campaign's)."""
    return f"{day.month}月{day.day}日"


def time_text(moment) -> str:
    """23:59, in the campaign's time zone."""
    return f"{timezone.localtime(moment):%H:%M}"


def dose_text(dose_number: int, doses: int) -> str:
    """The `dose` parameter: 第2剂 in a campaign of `doses` > 1, 疫苗 in a one-dose campaign (接种疫苗)."""
    return f"第{int(dose_number)}剂" if doses > 1 else "疫苗"


def site_text(site) -> str:
    return shorten(site.short_name or site.name, SITE_CHARS)


def address_text(site) -> str:
    return shorten(site.address, ADDRESS_CHARS)


def person_text(user) -> str:
    """A member of staff's name for a message: their name without what follows it in brackets
    (the demo writes 方志刚（青山社区）), cut to NAME_CHARS; their user name when they have no name."""
    name = (user.get_full_name() or user.first_name or "").strip()
    name = re.split(r"[（(]", name, maxsplit=1)[0].strip()
    return shorten(name or user.get_username(), NAME_CHARS)


def mobile(phone: str | None) -> str:
    """`phone` when it is a mainland mobile number a message can go to, else ""."""
    phone = (phone or "").strip()
    return phone if MOBILE.match(phone) else ""


# The longest value of each sort of parameter, for the template test.
LONGEST_DAY = "12月31日"
LONGEST_TIME = "23:59"
LONGEST_PLACE = "卫" * (SITE_CHARS - 1) + "…"
LONGEST_ADDRESS = "梅" * (ADDRESS_CHARS - 1) + "…"
LONGEST_NAME = "欧" * (NAME_CHARS - 1) + "…"
LONGEST_DOSE = "第10剂"  # dose_text; campaigns have at most 5 doses (a check constraint)
LONGEST_PLACES = "999999"  # a village's first-dose places in one week: 7 days of a site's capacity
LONGEST_VILLAGE = "村" * (SITE_CHARS - 1) + "…"
LONGEST_MOBILE = "13912345678"

# How long a verification code holds (the public booking, PUBLIC_CODE_MINUTES), written into its template:
# Alibaba's code templates take one variable, so the approved text carries the minutes.
CODE_MINUTES = settings.PUBLIC_CODE_MINUTES

KINDS: dict[str, KindSpec] = {
    # To a resident, when booked (or moved): the day, the site and its address.
    Kind.CONFIRMATION: KindSpec(
        Kind.CONFIRMATION,
        "您已预约${date}在${place}接种${dose}，地址：${address}，请带证件按时前往。",
        {"date": LONGEST_DAY, "place": LONGEST_PLACE, "dose": LONGEST_DOSE, "address": LONGEST_ADDRESS},
    ),
    # To a resident, the day before (queued in the afternoon, sent before quiet hours).
    Kind.REMINDER: KindSpec(
        Kind.REMINDER,
        "提醒：您预约了${date}在${place}接种${dose}，地址：${address}，请带证件前往。",
        {"date": LONGEST_DAY, "place": LONGEST_PLACE, "dose": LONGEST_DOSE, "address": LONGEST_ADDRESS},
    ),
    # To a resident, when the dose before is given: the next dose's day, at the same site.
    Kind.DOSE_DUE: KindSpec(
        Kind.DOSE_DUE,
        "您的${dose}已约在${date}，仍到${place}接种，请带证件按时前往。",
        {"dose": LONGEST_DOSE, "date": LONGEST_DAY, "place": LONGEST_PLACE},
    ),
    # To a resident whose appointment closed without the dose: whom to call to book again.
    Kind.MISSED: KindSpec(
        Kind.MISSED,
        "您${date}在${place}的${dose}接种未完成，如需改约请联系村干部${cadre}，电话${cadre_phone}。",
        {
            "date": LONGEST_DAY,
            "place": LONGEST_PLACE,
            "dose": LONGEST_DOSE,
            "cadre": LONGEST_NAME,
            "cadre_phone": LONGEST_MOBILE,
        },
    ),
    # To each cadre of a village with places in a newly published weekly plan.
    Kind.PLAN_PUBLISHED: KindSpec(
        Kind.PLAN_PUBLISHED,
        "${week}起一周的接种计划已发布，${village}首剂名额${places}个，请登录系统安排预约。",
        {"week": LONGEST_DAY, "village": LONGEST_VILLAGE, "places": LONGEST_PLACES},
    ),
    # To the office and the site's doctors: a serious adverse event, at any hour, opted out or not.
    Kind.ADVERSE_EVENT: KindSpec(
        Kind.ADVERSE_EVENT,
        "${place}于${date}${time}报告一例严重不良反应，请立即登录系统查看处理。",
        {"place": LONGEST_PLACE, "date": LONGEST_DAY, "time": LONGEST_TIME},
        respects_opt_out=False,
        respects_quiet_hours=False,
    ),
    # To a phone that asked for it (public booking): one variable, as code templates must have.
    Kind.CODE: KindSpec(
        Kind.CODE,
        f"您的验证码为${{code}}，{CODE_MINUTES}分钟内有效，请勿告诉他人。",
        {"code": "123456"},
        respects_opt_out=False,
        respects_quiet_hours=False,
    ),
}


# The rule checked again at send time ------------------------------------------------------------

APPOINTMENT_KINDS = {Kind.CONFIRMATION, Kind.REMINDER, Kind.DOSE_DUE}


def skip_reason_texts() -> dict[str, str]:
    """{reason: its text as stored on a skipped message}, in the UI's language."""
    # Stored on the row in the UI's language: the office reads and counts them as they are.
    with translation.override(settings.LANGUAGE_CODE):
        return {
            "vaccinated": pgettext("message skipped", "vaccinated already"),
            "cancelled": pgettext("message skipped", "booking cancelled"),
            "moved": pgettext("message skipped", "booking moved to another day"),
            "not_booked": pgettext("message skipped", "no longer booked"),
            "arrived": pgettext("message skipped", "checked in already"),
            "past": pgettext("message skipped", "the day is past"),
            "booked_again": pgettext("message skipped", "booked again"),
            "refused": pgettext("message skipped", "refuses vaccination"),
            "deferred": pgettext("message skipped", "deferred"),
            "not_eligible": pgettext("message skipped", "no longer eligible"),
            "plan_withdrawn": pgettext("message skipped", "plan no longer published"),
            "inactive": pgettext("message skipped", "account switched off"),
        }


def _resident_reason(status: str) -> str | None:
    """The reason a resident of this status gets no more messages about their doses, or None."""
    from residents.models import Resident

    return {
        Resident.Status.ELIGIBLE: None,
        Resident.Status.REFUSED: "refused",
        Resident.Status.DEFERRED: "deferred",
    }.get(status, "not_eligible")


def skip_reasons(messages: list) -> dict[int, str]:
    """{message id: why it must not be sent now} for the messages whose rule no longer holds.

    Checked just before sending, for a batch of claimed messages at once (one query per kind present):
    - confirmation, reminder, next dose due: the appointment is still open (booked; for a confirmation
      or reminder also not checked in yet) on the message's day, that day is not past, the dose is not given;
    - missed: the person has not been booked again nor vaccinated for that dose since;
    - plan published: the plan is still published, the cadre's account still on;
    - a serious adverse event and a code: always sent.
    For every message about a resident: the resident is still eligible (not refused, deferred or excluded).
    """
    by_kind = defaultdict(list)
    for message in messages:
        by_kind[message.kind].append(message)
    found: dict[int, str] = {}
    about_appointments = [m for kind in APPOINTMENT_KINDS for m in by_kind.get(kind, [])]
    if about_appointments:
        found |= _appointment_reasons(about_appointments)
    if by_kind.get(Kind.MISSED):
        found |= _missed_reasons(by_kind[Kind.MISSED])
    if by_kind.get(Kind.PLAN_PUBLISHED):
        found |= _plan_reasons(by_kind[Kind.PLAN_PUBLISHED])
    if not found:
        return {}
    text = skip_reason_texts()
    return {pk: text[reason] for pk, reason in found.items()}


def _appointment_rows(messages):
    from appointments.models import Appointment
    from sites.models import Vaccination

    given = Vaccination.objects.filter(resident_id=OuterRef("resident_id"), dose_number=OuterRef("dose_number"))
    return {
        row["pk"]: row
        for row in Appointment.objects.filter(pk__in={m.appointment_id for m in messages if m.appointment_id})
        .annotate(given=Exists(given))
        .values("pk", "resident_id", "dose_number", "status", "date", "given", "resident__status")
    }


def _appointment_reasons(messages) -> dict[int, str]:
    from appointments.models import Appointment

    rows = _appointment_rows(messages)
    today = timezone.localdate()
    found = {}
    for message in messages:
        row = rows.get(message.appointment_id)
        if row is None:
            continue  # a message about no appointment is not this rule's to hold back
        status = row["status"]
        day = message.day or row["date"]
        if row["given"] or status == Appointment.Status.VACCINATED:
            reason = "vaccinated"
        elif status == Appointment.Status.CANCELLED:
            reason = "cancelled"
        elif status == Appointment.Status.NO_SHOW:
            reason = "not_booked"
        elif row["date"] != day:
            reason = "moved"
        elif day < today:
            reason = "past"
        elif status == Appointment.Status.ARRIVED and message.kind != Kind.DOSE_DUE:
            reason = "arrived"
        else:
            reason = _resident_reason(row["resident__status"])
        if reason:
            found[message.pk] = reason
    return found


def _missed_reasons(messages) -> dict[int, str]:
    from appointments.models import OPEN_STATUSES, Appointment
    from sites.models import Vaccination

    given = Vaccination.objects.filter(resident_id=OuterRef("resident_id"), dose_number=OuterRef("dose_number"))
    again = Appointment.objects.filter(
        resident_id=OuterRef("resident_id"), dose_number=OuterRef("dose_number"), status__in=OPEN_STATUSES
    )
    rows = {
        row["pk"]: row
        for row in Appointment.objects.filter(pk__in={m.appointment_id for m in messages if m.appointment_id})
        .annotate(given=Exists(given), again=Exists(again))
        .values("pk", "given", "again", "resident__status")
    }
    found = {}
    for message in messages:
        row = rows.get(message.appointment_id)
        if row is None:
            continue
        if row["given"]:
            reason = "vaccinated"
        elif row["again"]:
            reason = "booked_again"
        else:
            reason = _resident_reason(row["resident__status"])
        if reason:
            found[message.pk] = reason
    return found


def plan_key(plan_id: int, user_id: int) -> str:
    """The outbox key of a plan's message to one cadre: one message per plan and cadre."""
    return f"{Kind.PLAN_PUBLISHED}:{plan_id}:{user_id}"


def _plan_reasons(messages) -> dict[int, str]:
    from django.contrib.auth import get_user_model

    from appointments.models import WeeklyPlan

    plan_ids = {}
    for message in messages:
        parts = (message.key or "").split(":")
        if len(parts) == 3 and parts[1].isdigit():
            plan_ids[message.pk] = int(parts[1])
    published = set(
        WeeklyPlan.objects.filter(pk__in=set(plan_ids.values()), status=WeeklyPlan.Status.PUBLISHED).values_list(
            "pk", flat=True
        )
    )
    recipients = {m.recipient_id for m in messages if m.recipient_id}
    active = set(get_user_model().objects.filter(pk__in=recipients, is_active=True).values_list("pk", flat=True))
    found = {}
    for message in messages:
        if message.pk in plan_ids and plan_ids[message.pk] not in published:
            found[message.pk] = "plan_withdrawn"
        elif message.recipient_id and message.recipient_id not in active:
            found[message.pk] = "inactive"
    return found


# The office's switches ----------------------------------------------------------------------------


def kind_enabled(*, campaign, kind: str) -> bool:
    """Whether the office sends this kind of message in this campaign (KindSwitch; no row: on).

    `campaign` is a Campaign or its id.
    """
    from appointments.messaging.models import KindSwitch

    if campaign is None:
        return True
    switch = KindSwitch.objects.filter(campaign=campaign, kind=kind).values_list("enabled", flat=True).first()
    return switch is None or switch


def kind_switch_set(*, campaign, kind: str, enabled: bool, changed_by=None):
    """Turn one kind of message on or off for a campaign (the office's page); returns the KindSwitch.

    Off: the triggers queue nothing of that kind, and what was queued before is not sent (the send
    machine checks kind_enabled again). Raises ValueError for a kind that does not exist.
    """
    from appointments.messaging.models import KindSwitch

    if kind not in KINDS:
        raise ValueError(f"no such kind of message: {kind!r}")
    switch, _created = KindSwitch.objects.update_or_create(
        campaign=campaign,
        kind=kind,
        defaults={"enabled": bool(enabled), "changed_by": changed_by, "changed_at": timezone.now()},
    )
    return switch
