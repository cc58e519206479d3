"""Reading a page's query parameters: a date, an ISO week, an id or one of some choices.

Every reader returns the default when the parameter is absent or empty, the value when it
can be read, and otherwise raises BadParameter: a 400 whose page says in Chinese what was not
understood (campaign.middleware.BadParameterMiddleware draws it). A page that would rather go
on with its default says so to the user with `or_default`, never silently.

Dates are kept between 1900 and 2100: the pages compute the day before and after, the week
around, and the database stores them, and year 1 or 9999 breaks all three.
"""

import datetime
import re
from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import BadRequest
from django.utils.translation import gettext as _

EARLIEST = datetime.date(1900, 1, 1)
LATEST = datetime.date(2100, 12, 31)
# An id the database can hold (a 32-bit serial); anything bigger names nothing.
MAX_ID = 2**31 - 1

_DIGITS = re.compile(r"[0-9]{1,10}")  # ASCII digits only: "²".isdigit() is True, int("²") fails
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_WEEK = re.compile(r"([0-9]{4})-?W([0-9]{1,2})", re.IGNORECASE)


class BadParameter(BadRequest):
    """A query parameter that is there but cannot be read; `message` is for the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _raw(params, name: str) -> str:
    return (params.get(name) or "").strip()


def _shown(value: str) -> str:
    return value if len(value) <= 30 else value[:30] + "…"


def in_range(day: datetime.date | None) -> bool:
    return day is not None and EARLIEST <= day <= LATEST


def date_param(params, name: str, *, default: datetime.date | None = None) -> datetime.date | None:
    """`2021-04-18` as a date; the default when absent; BadParameter when not a date between 1900 and 2100."""
    raw = _raw(params, name)
    if not raw:
        return default
    match = _DATE.fullmatch(raw)
    try:
        day = datetime.date(int(match[1]), int(match[2]), int(match[3])) if match else None
    except ValueError:  # well formed but impossible, such as 2021-02-30
        day = None
    if not in_range(day):
        message = _("“%(value)s” is not a date we can show (write it like 2021-04-18).")
        raise BadParameter(message % {"value": _shown(raw)})
    return day


def week_param(params, name: str, *, default: datetime.date | None = None) -> datetime.date | None:
    """The Monday of the week named by `2021-W15` or by any of its days (`2021-04-14`); BadParameter otherwise."""
    raw = _raw(params, name)
    if not raw:
        return default
    day = None
    if match := _WEEK.fullmatch(raw):
        try:
            day = datetime.date.fromisocalendar(int(match[1]), int(match[2]), 1)
        except ValueError:  # 2021-W99: no such week
            day = None
    else:
        try:
            day = date_param(params, name)
        except BadParameter:
            day = None
    if not in_range(day) or not in_range(day + datetime.timedelta(days=6)):
        raise BadParameter(
            _("The week “%(value)s” is not understood (write it like 2021-W15, or a day of the week like 2021-04-12).")
            % {"value": _shown(raw)}
        )
    return day - datetime.timedelta(days=day.weekday())


def id_param(params, name: str, *, default: int | None = None) -> int | None:
    """A record's id (ASCII digits, 1 to 2**31-1); the default when absent; BadParameter otherwise."""
    raw = _raw(params, name)
    if not raw:
        return default
    if not _DIGITS.fullmatch(raw) or not 1 <= int(raw) <= MAX_ID:
        raise BadParameter(_("“%(value)s” is not a valid %(name)s.") % {"value": _shown(raw), "name": name})
    return int(raw)


def choice_param(params, name: str, choices, *, default=None):
    """One of `choices` (values compared as text); the default when absent; BadParameter otherwise."""
    raw = _raw(params, name)
    if not raw:
        return default
    allowed = {str(choice): choice for choice in choices}
    if raw not in allowed:
        raise BadParameter(_("“%(value)s” is not a valid %(name)s.") % {"value": _shown(raw), "name": name})
    return allowed[raw]


def or_default(request, read: Callable, name: str, *, default, **kwargs):
    """`read(request.GET, name)`, or `default` with a warning the user sees when it cannot be read."""
    try:
        return read(request.GET, name, default=default, **kwargs)
    except BadParameter as error:
        messages.warning(request, error.message + " " + _("Showing the default instead."))
        return default
