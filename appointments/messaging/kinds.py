"""Each kind of message: its Chinese template, its parameters, and the rule checked again at send time.

A template must fit one SMS segment (70 characters, the sign included) with every parameter at its
longest (`longest`); the template test counts them. The providers' approved templates must read the
same: SMS_TEMPLATES maps each kind to its approved template id (README.md, "Messages").
"""

import re
from dataclasses import dataclass, field

from django.conf import settings

from appointments.messaging.models import Kind

PARAM = re.compile(r"\$\{(\w+)\}")


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


KINDS: dict[str, KindSpec] = {
    Kind.CONFIRMATION: KindSpec(
        Kind.CONFIRMATION,
        "您已预约${date}到${site}接种第${dose}剂，地址：${address}。请带身份证件。",
        {"date": "12月31日", "site": "卫生服务中心", "dose": "5", "address": "梅山镇青山社区梅山路卫生服务中心"},
    ),
    Kind.REMINDER: KindSpec(
        Kind.REMINDER,
        "提醒：您明天(${date})到${site}接种第${dose}剂，请带身份证件。回复TD退订",
        {"date": "12月31日", "site": "卫生服务中心", "dose": "5"},
    ),
    Kind.DOSE_DUE: KindSpec(
        Kind.DOSE_DUE,
        "您的第${dose}剂已约在${date}，仍到${site}接种，请按时前往。回复TD退订",
        {"dose": "5", "date": "12月31日", "site": "卫生服务中心"},
    ),
    Kind.MISSED: KindSpec(
        Kind.MISSED,
        "您${date}未到${site}接种，改约请联系${cadre}${cadre_phone}。回复TD退订",
        {"date": "12月31日", "site": "卫生服务中心", "cadre": "欧阳秀兰", "cadre_phone": "13912345678"},
    ),
    Kind.PLAN_PUBLISHED: KindSpec(
        Kind.PLAN_PUBLISHED,
        "${week}接种计划已发布：${village}首剂名额${places}个，请登录系统预约。",
        {"week": "12月28日起一周", "village": "青山社区", "places": "12000"},
    ),
    Kind.ADVERSE_EVENT: KindSpec(
        Kind.ADVERSE_EVENT,
        "${site}${time}报告一例严重不良反应，请立即登录系统查看。",
        {"site": "卫生服务中心", "time": "12月31日23:59"},
    ),
    Kind.CODE: KindSpec(
        Kind.CODE,
        "验证码${code}，${minutes}分钟内有效，请勿告诉他人。",
        {"code": "123456", "minutes": "10"},
        respects_opt_out=False,
        respects_quiet_hours=False,
    ),
}


def skip_reasons(messages: list) -> dict[int, str]:
    """{message id: why it must not be sent now} for the messages whose rule no longer holds.

    Checked just before sending, for a batch of claimed messages at once (a query or two per kind):
    e.g. a reminder of a person who cancelled, was vaccinated, or was moved to another day.
    (A first version: no rule yet.)
    """
    return {}


def kind_enabled(*, campaign, kind: str) -> bool:
    """Whether the office sends this kind of message in this campaign (KindSwitch; no row: on)."""
    from appointments.messaging.models import KindSwitch

    if campaign is None:
        return True
    switch = KindSwitch.objects.filter(campaign=campaign, kind=kind).values_list("enabled", flat=True).first()
    return switch is None or switch
