"""Resident ID numbers (居民身份证号码, GB 11643).

The check character is computed by python-stdnum. The area code is never used
to refuse a number: it names the county that first issued it, retired codes stay
valid for life, and stdnum's county lookup refuses real numbers (DOMAIN.md).
"""

import datetime
import re
import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum.cn import ric

from campaign.lib.text import strip_invisible

ID_NUMBER_PATTERN = r"^[0-9]{17}[0-9X]$"
_SHAPE = re.compile(ID_NUMBER_PATTERN)


class Sex:
    MALE = "M"
    FEMALE = "F"


@dataclass(frozen=True)
class IdNumber:
    number: str
    birth_date: datetime.date
    sex: str


def normalize_id_number(raw) -> str:
    """Full-width characters, spaces and invisible characters (copied along from chats) out, a lowercase x up."""
    text = unicodedata.normalize("NFKC", strip_invisible(str(raw or "")))
    return re.sub(r"\s+", "", text).upper()


def parse_id_number(raw, *, today: datetime.date | None = None) -> IdNumber:
    """Validate an ID number and return it with its birth date and sex.

    Raises ValidationError with code "length", "format", "checksum", "date" or "future".
    """
    number = normalize_id_number(raw)
    if len(number) != 18:
        raise ValidationError(
            _("An ID number has 18 characters; this one has %(count)d."),
            code="length",
            params={"count": len(number)},
        )
    if not _SHAPE.match(number):
        raise ValidationError(
            _("An ID number is 17 digits followed by a digit or X."),
            code="format",
        )
    if ric.calc_check_digit(number) != number[-1]:
        raise ValidationError(
            _("The check character (last character) is wrong: the number was mistyped somewhere."),
            code="checksum",
        )
    try:
        birth_date = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationError(
            _("The birth date in the ID number (%(digits)s) is not a real date."),
            code="date",
            params={"digits": number[6:14]},
        ) from None
    today = today or timezone.localdate()
    if birth_date > today or birth_date.year < 1880:
        raise ValidationError(
            _("The birth date in the ID number (%(date)s) cannot be right."),
            code="future",
            params={"date": birth_date.isoformat()},
        )
    sex = Sex.MALE if int(number[16]) % 2 == 1 else Sex.FEMALE
    return IdNumber(number=number, birth_date=birth_date, sex=sex)


def make_id_number(area: str, birth_date: datetime.date, sequence: int) -> str:
    """Build a valid number from its parts (demo data and tests)."""
    body = f"{area}{birth_date:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")


def age_on(birth_date: datetime.date, day: datetime.date, unit: str = "years") -> int:
    """Completed years (or months) of age on a day: one turns 18 on the 18th birthday."""
    months = (day.year - birth_date.year) * 12 + (day.month - birth_date.month)
    if day.day < birth_date.day:
        # A birthday on the 29th-31st of a month that is shorter falls on its last day.
        last_day = (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1) - datetime.timedelta(days=1)
        if not (day == last_day and birth_date.day > last_day.day):
            months -= 1
    return months if unit == "months" else months // 12
