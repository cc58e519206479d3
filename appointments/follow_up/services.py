"""Logging a call to a resident on the follow-up list: the one place its rules live."""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appointments.models import CallAttempt
from campaign.lib.text import clean_text
from campaign.roles import Role, role_of
from residents.models import Resident
from sites.models import Vaccination

# Cadres call the people of their own village (包保责任制); the office may call anyone in the town.
CALLERS = (Role.CADRE, Role.OFFICE)
NOTE_MAX_LENGTH = 200


def may_call(*, user, resident: Resident) -> bool:
    """Whether `user` may log calls to `resident`: a cadre of the resident's village, or the office."""
    return role_of(user) in CALLERS and Resident.objects.for_user(user).filter(pk=resident.pk).exists()


def come_on_window(*, resident: Resident, today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The first and last day the resident can come for the dose they still need.

    Dose 1 by the first-dose deadline; a later dose from its interval after the last dose given to the
    campaign's end; never before today nor the campaign's start. Once every dose is given, no day is
    left (the first day comes after the last).
    """
    campaign = resident.campaign
    first = max(today, campaign.start_date)
    last = (
        Vaccination.objects.filter(resident=resident)
        .order_by("-dose_number")
        .values_list("dose_number", "vaccinated_at")
        .first()
    )
    if last is None:
        return first, campaign.first_dose_deadline
    dose, given = last
    if dose >= campaign.doses:
        return campaign.end_date + datetime.timedelta(days=1), campaign.end_date
    earliest = timezone.localdate(given) + datetime.timedelta(days=campaign.interval_before(dose + 1))
    return max(first, earliest), campaign.end_date


def call_log_record(
    *,
    resident: Resident,
    called_by,
    result: str,
    come_on: datetime.date | None = None,
    next_try: datetime.date | None = None,
    note: str = "",
    today: datetime.date | None = None,
) -> CallAttempt:
    """Record one call to `resident` and return it.

    Raises PermissionDenied when `called_by` may not call this resident (see may_call), and
    ValidationError, by field, when: the result is unknown; "will come" has no day, or another
    result has one; the day to come is outside the days the resident can get their next dose
    (come_on_window); the next try is in the past or after the campaign's end; the note is too
    long or holds refused characters.
    """
    if not may_call(user=called_by, resident=resident):
        raise PermissionDenied
    today = today or timezone.localdate()
    campaign = resident.campaign
    errors = {}
    if result not in CallAttempt.Result.values:
        errors["result"] = _("Choose what came of the call.")
    if result == CallAttempt.Result.WILL_COME:
        if come_on is None:
            errors["come_on"] = _("Say on which day they will come.")
        else:
            first, last = come_on_window(resident=resident, today=today)
            if first > last:
                errors["come_on"] = _("No day is left in the campaign for their next dose.")
            elif not first <= come_on <= last:
                errors["come_on"] = _("They can come for their next dose from %(first)s to %(last)s.") % {
                    "first": first.isoformat(),
                    "last": last.isoformat(),
                }
    elif come_on is not None:
        errors["come_on"] = _("A day to come goes only with “will come on a date”.")
    if next_try is not None and not today <= next_try <= campaign.end_date:
        errors["next_try"] = _("The next try is a day from today to the campaign's end (%(end)s).") % {
            "end": campaign.end_date.isoformat()
        }
    try:
        note = clean_text(note).strip()
    except ValidationError as error:
        errors["note"] = error.messages
    else:
        if len(note) > NOTE_MAX_LENGTH:
            errors["note"] = _("Keep the note under %(max)s characters.") % {"max": NOTE_MAX_LENGTH}
    if errors:
        raise ValidationError(errors)
    return CallAttempt.objects.create(
        resident=resident, called_by=called_by, result=result, come_on=come_on, next_try=next_try, note=note
    )
