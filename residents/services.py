"""Registration and eligibility of residents: the one place these rules live."""

import datetime
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaign.lib.idnumber import age_on, parse_id_number
from campaign.lib.pinyin import name_initials
from residents.models import CONTRAINDICATIONS, Resident

REASON_LABELS = {
    "pregnant": _("pregnant"),
    "severe_allergy": _("severe allergic reaction to an earlier vaccine"),
    "neuro_history": _("convulsions, epilepsy, encephalopathy or mental illness (personal or family history)"),
    "fever": _("fever"),
    "acute_illness": _("acute illness or acute attack of a chronic disease"),
    "severe_chronic": _("severe chronic disease"),
    "too_young": _("younger than the campaign's minimum age"),
    "too_old": _("older than the campaign's maximum age"),
    "over_max_age_admitted": _("above the maximum age, admitted as healthy"),
}


class AlreadyRegistered(Exception):
    """The ID number is already registered in this campaign; carries the other village."""

    def __init__(self, village):
        super().__init__(str(village))
        self.village = village


@dataclass(frozen=True)
class Eligibility:
    status: str
    reasons: list[str]


def eligibility_decide(
    *, campaign, birth_date: datetime.date, answers: dict, on: datetime.date | None = None
) -> Eligibility:
    """Decide a resident's status from the campaign's rules and the screening answers.

    Returns the status (a Resident.Status value) and the reason codes behind it.
    Exclusion outranks deferral; age below the range cannot be relaxed; above it,
    only healthy people are admitted and only when the campaign allows it.
    """
    on = on or timezone.localdate()
    age = age_on(birth_date, on, campaign.age_unit)
    positives = [field for field in CONTRAINDICATIONS if answers.get(field)]
    if age < campaign.min_age:
        return Eligibility(Resident.Status.OUT_OF_AGE, ["too_young"])
    over_max = age > campaign.max_age
    if over_max and not campaign.admit_healthy_over_max_age:
        return Eligibility(Resident.Status.OUT_OF_AGE, ["too_old"])
    if any(CONTRAINDICATIONS[field] == "excluded" for field in positives):
        return Eligibility(Resident.Status.EXCLUDED, positives)
    if positives:
        return Eligibility(Resident.Status.DEFERRED, positives)
    return Eligibility(Resident.Status.ELIGIBLE, ["over_max_age_admitted"] if over_max else [])


def resident_fill_derived(resident: Resident) -> None:
    """Set the fields that derive from the ID number and the name (never typed)."""
    parsed = parse_id_number(resident.id_number)
    resident.id_number = parsed.number
    resident.birth_date = parsed.birth_date
    resident.sex = parsed.sex
    resident.id_number_reversed = parsed.number[::-1]
    resident.name_initials = name_initials(resident.name)


def resident_register(*, campaign, village, name: str, id_number: str, registered_by=None, **fields) -> Resident:
    """Register a resident in a campaign, deciding their eligibility.

    Raises ValidationError for a bad ID number and AlreadyRegistered when the
    number is already registered in this campaign (caught by the database's
    unique constraint, so two cadres racing for one person cannot both win).
    """
    resident = Resident(campaign=campaign, village=village, name=name.strip(), id_number=id_number, **fields)
    resident.registered_by = registered_by
    resident_fill_derived(resident)
    answers = {field: getattr(resident, field) for field in CONTRAINDICATIONS}
    decision = eligibility_decide(campaign=campaign, birth_date=resident.birth_date, answers=answers)
    resident.status, resident.status_reasons = decision.status, decision.reasons
    try:
        with transaction.atomic():
            resident.save()
    except IntegrityError:
        existing = (
            Resident.objects.filter(campaign=campaign, id_number=resident.id_number).select_related("village").first()
        )
        if existing is None:
            raise
        raise AlreadyRegistered(existing.village) from None
    return resident
