"""Registration and eligibility of residents: the one place these rules live.

The registration form, the Excel importer, the admin and the site team's
on-the-spot registration all call these functions.
"""

import datetime
import re
import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.utils import bulk_create_with_history

from campaign.lib.documents import Document, DocumentType, document_identity, parse_document
from campaign.lib.idnumber import age_on
from campaign.lib.pinyin import name_initials
from campaign.lib.text import clean_text
from campaign.screening import BUILTIN_CODES, CATALOGUE_BY_CODE, questions_for
from residents.models import CONTRAINDICATIONS, FullValueView, Resident

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
    "refused": _("refused"),
}

# A guardian's fields (监护人); the guardian's phone is the resident's `phone`.
GUARDIAN_FIELDS = ["guardian_name", "guardian_relation", "guardian_document_type", "guardian_id_number"]

# Fields a cadre may change after registration; the document and what derives from it stay.
EDITABLE_FIELDS = [
    "name",
    "phone",
    "basis",
    "priority_group",
    "responsible_cadre",
    *CONTRAINDICATIONS,
    "extra_answers",
    *GUARDIAN_FIELDS,
]

_PHONE = re.compile(r"^1[3-9][0-9]{9}$")
# A space next to a Chinese character is a typing slip ("张 三"); between Latin words it is not.
_SPACE_BY_CJK = re.compile(r"\s+(?=[\u3400-\u9fff])|(?<=[\u3400-\u9fff])\s+")
NAME_MAX_LENGTH = 50


class AlreadyRegistered(Exception):
    """The document is already registered in this campaign; carries the other village and the document type."""

    def __init__(self, village, document_type=DocumentType.ID_CARD):
        super().__init__(str(village))
        self.village = village
        self.document_type = document_type


def sees_full_values(user) -> bool:
    """Whether the user's work needs full ID numbers and phones on screen: a cadre (their village's
    people, whom they call) and the office. Supervision, leadership and site teams see them masked."""
    from campaign.roles import Role, role_of

    return role_of(user) in (Role.CADRE, Role.OFFICE)


def duplicate_message(*, village, user, document_type=DocumentType.ID_CARD) -> str:
    """What a user is told when a document (an ID number most often) is registered already.

    Only the office learns in which village (it can look anyone up); a cadre or a site team is
    told that the number is taken, which is all they need and all they may know of another village.
    """
    from campaign.roles import Role, role_of

    office = user is not None and role_of(user) == Role.OFFICE
    if document_type == DocumentType.ID_CARD:
        if office:
            return _("This ID number is already registered in %(village)s.") % {"village": village}
        return str(_("This ID number is already registered: ask the campaign office if it should not be."))
    document = DocumentType(document_type).label
    if office:
        return _("This %(document)s is already registered in %(village)s.") % {"document": document, "village": village}
    return _("This %(document)s is already registered: ask the campaign office if it should not be.") % {
        "document": document
    }


@dataclass(frozen=True)
class Eligibility:
    status: str
    reasons: list[str]


def reason_labels(codes: list[str], campaign=None) -> list[str]:
    """The reasons' labels; a screening question beyond the seed's six is named by its text."""
    labels = []
    for code in codes:
        label = REASON_LABELS.get(code)
        if label is None and campaign is not None:
            # A question of the campaign's own (read only when a reason is one).
            label = next((q.text for q in campaign_questions(campaign) if q.code == code), None)
        if label is None:
            label = CATALOGUE_BY_CODE[code].text if code in CATALOGUE_BY_CODE else code
        labels.append(str(label))
    return labels


# --- screening questions per campaign (campaign.screening) ------------------------------------


def campaign_questions(campaign) -> list:
    """questions_for(campaign), read once per campaign object (a request asks them several times)."""
    if campaign is None:
        return questions_for(None)
    cached = getattr(campaign, "_screening_questions", None)
    if cached is None:
        cached = campaign._screening_questions = questions_for(campaign)
    return cached


def screening_outcomes(campaign) -> dict[str, str]:
    """What a "yes" leads to ("deferred" or "excluded"), per question code: the campaign's questions,
    and the seed's six always (their answers live in the resident's own fields, which the database
    keeps from being eligible when yes, asked or not)."""
    outcomes = dict(CONTRAINDICATIONS)
    outcomes.update({q.code: q.outcome for q in campaign_questions(campaign)})
    return outcomes


def split_answers(campaign, answers: dict) -> tuple[dict, dict]:
    """{code: bool} answers as stored: the seed's six (each its own field, False when not given) and
    the campaign's other questions (extra_answers; codes the campaign does not ask are dropped)."""
    builtin = {code: bool(answers.get(code)) for code in CONTRAINDICATIONS}
    extra = {q.code: bool(answers.get(q.code)) for q in questions_for(campaign) if q.code not in BUILTIN_CODES}
    return builtin, extra


def answers_of(record) -> dict:
    """A resident's (or a pre-screening's) answers as one {code: bool}: the six fields and extra_answers."""
    answers = {code: bool(getattr(record, code)) for code in CONTRAINDICATIONS}
    answers.update({code: bool(yes) for code, yes in (record.extra_answers or {}).items()})
    return answers


def screening_positives(campaign, answers: dict) -> list[str]:
    """The codes answered yes that count in this campaign: the seed's six, then its own questions."""
    asked = [q.code for q in campaign_questions(campaign) if q.code not in BUILTIN_CODES]
    return [code for code in [*CONTRAINDICATIONS, *asked] if answers.get(code)]


def screening_outcome(campaign, positives: list[str]) -> str | None:
    """ "excluded" when any positive excludes, "deferred" when any defers, None without positives."""
    if not positives:
        return None
    outcomes = screening_outcomes(campaign)
    return "excluded" if any(outcomes.get(code) == "excluded" for code in positives) else "deferred"


def screening_shown(campaign, record) -> list[tuple[str, bool]]:
    """The campaign's questions with the record's answers, in order, for a page."""
    answers = answers_of(record)
    return [(str(q.text), bool(answers.get(q.code))) for q in campaign_questions(campaign)]


# --- guardians (监护人) --------------------------------------------------------------------------


def needs_guardian(campaign, birth_date: datetime.date, on: datetime.date | None = None) -> bool:
    """Whether a person born on `birth_date` registers with a guardian: under the campaign's
    guardian_under_age (completed years), on `on` (today)."""
    return age_on(birth_date, on or timezone.localdate(), "years") < campaign.guardian_under_age


def guardian_check(
    *,
    campaign,
    birth_date: datetime.date,
    phone: str = "",
    guardian_name: str = "",
    guardian_relation: str = "",
    guardian_document_type: str = "",
    guardian_id_number: str = "",
    on: datetime.date | None = None,
) -> dict:
    """The guardian of a registration, checked: the one rule for every way in.

    A person under the campaign's guardian_under_age has a guardian: name, relation, phone (the
    registration's `phone`, where messages go) and document (any type of campaign.lib.documents,
    checked as such). Above it a guardian is optional, and checked the same when one is given.
    Returns the guardian fields to store (the document number cleaned, its type the one to record;
    all "" without a guardian). Raises ValidationError keyed by field.
    """
    name = clean_text(guardian_name or "").strip()
    relation = (guardian_relation or "").strip()
    number = clean_text(guardian_id_number or "").strip()
    document_type = (guardian_document_type or "").strip()
    required = needs_guardian(campaign, birth_date, on)
    if not required and not (name or relation or number):
        return dict.fromkeys(GUARDIAN_FIELDS, "")
    errors = {}
    if name:
        try:
            name = normalize_name(name)
        except ValidationError as error:
            errors["guardian_name"] = error
    else:
        errors["guardian_name"] = ValidationError(
            _("A person under %(age)s registers with a guardian: enter the guardian's name.")
            if required
            else _("Enter the guardian's name, or leave the guardian's fields empty."),
            code="guardian_required",
            params={"age": campaign.guardian_under_age},
        )
    if relation not in Resident.GuardianRelation.values:
        errors["guardian_relation"] = ValidationError(
            _("Choose the guardian's relation to the person."), code="guardian_relation"
        )
    if not phone:
        errors["phone"] = ValidationError(
            _("Enter the guardian's phone: messages about the appointment go to it."), code="guardian_phone"
        )
    document_type = document_type or DocumentType.ID_CARD
    if not number:
        errors["guardian_id_number"] = ValidationError(
            _("Enter the guardian's document number."), code="guardian_document"
        )
    else:
        try:
            document = parse_document(document_type, number, today=on)
        except ValidationError as error:
            errors["guardian_id_number"] = ValidationError(
                _("The guardian's document: %(problem)s"),
                code="guardian_document",
                params={"problem": " ".join(error.messages)},
            )
        else:
            number, document_type = document.number, str(document.type)
    if errors:
        raise ValidationError(errors)
    return {
        "guardian_name": name,
        "guardian_relation": relation,
        "guardian_document_type": document_type,
        "guardian_id_number": number,
    }


def normalize_phone(raw) -> str:
    """A mainland mobile number as 11 digits ("" when none is given).

    Spaces, dashes, full-width digits and a +86 prefix are cleaned away.
    Raises ValidationError (code "phone") for anything else.
    """
    text = unicodedata.normalize("NFKC", str(raw or "")).strip()
    if text.endswith(".0"):  # a number cell read by a spreadsheet library
        text = text[:-2]
    digits = re.sub(r"[\s\-()]", "", text)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not digits:
        return ""
    if not _PHONE.match(digits):
        raise ValidationError(
            _("%(phone)s is not a mainland mobile number (11 digits starting with 13-19)."),
            code="phone",
            params={"phone": text},
        )
    return digits


def normalize_name(raw) -> str:
    """A resident's name with full-width characters and stray spaces cleaned.

    Raises ValidationError: code "required" for an empty name, "length" above 50
    characters, "formula" for text a spreadsheet would run (= + - @ first), "unsafe_text"
    for control or bidirectional characters (campaign.lib.text; invisible ones are removed).
    """
    text = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", clean_text(raw))).strip()
    text = _SPACE_BY_CJK.sub("", text)
    if not text:
        raise ValidationError(_("Enter the resident's name."), code="required")
    if len(text) > NAME_MAX_LENGTH:
        raise ValidationError(
            _("A name has at most %(max)d characters; this one has %(count)d."),
            code="length",
            params={"max": NAME_MAX_LENGTH, "count": len(text)},
        )
    if text[0] in "=+-@":
        raise ValidationError(
            _("A name cannot start with %(char)s: it looks like a spreadsheet formula."),
            code="formula",
            params={"char": text[0]},
        )
    return text


def eligibility_decide(
    *, campaign, birth_date: datetime.date, answers: dict, on: datetime.date | None = None
) -> Eligibility:
    """Decide a resident's status from the campaign's rules and the screening answers.

    Returns the status (a Resident.Status value) and the reason codes behind it. `answers` is
    {code: bool} over the campaign's questions (campaign.screening.questions_for) and the seed's six;
    a "yes" leads to the outcome the campaign set for its question. Exclusion outranks deferral;
    age below the range cannot be relaxed; above it,
    only healthy people are admitted and only when the campaign allows it.
    """
    on = on or timezone.localdate()
    # Completed months for a campaign counted in months (8-72 months), completed years otherwise.
    age = age_on(birth_date, on, campaign.age_unit)
    positives = screening_positives(campaign, answers)
    if age < campaign.min_age:
        return Eligibility(Resident.Status.OUT_OF_AGE, ["too_young"])
    over_max = age > campaign.max_age
    if over_max and not campaign.admit_healthy_over_max_age:
        return Eligibility(Resident.Status.OUT_OF_AGE, ["too_old"])
    outcome = screening_outcome(campaign, positives)
    if outcome == "excluded":
        return Eligibility(Resident.Status.EXCLUDED, positives)
    if outcome == "deferred":
        return Eligibility(Resident.Status.DEFERRED, positives)
    return Eligibility(Resident.Status.ELIGIBLE, ["over_max_age_admitted"] if over_max else [])


def age_range_text(campaign) -> str:
    unit = _("years") if campaign.age_unit == "years" else _("months")
    return f"{campaign.min_age}–{campaign.max_age} {unit}"


def age_text(campaign, birth_date: datetime.date, *, full: bool, on: datetime.date | None = None) -> str:
    """A person's age for a page: "34岁", or "14个月" in a campaign counted in months, for a role with
    the full view only (campaign.lib.masking: beside a masked number, the age in whole years)."""
    on = on or timezone.localdate()
    if full and campaign is not None and campaign.age_unit == "months":
        return _("%(n)d months") % {"n": age_on(birth_date, on, "months")}
    return _("%(n)d years") % {"n": age_on(birth_date, on)}


def registration_check(
    *,
    campaign,
    id_number,
    answers: dict,
    on: datetime.date | None = None,
    document_type: str = DocumentType.ID_CARD,
    birth_date: datetime.date | None = None,
    sex: str | None = None,
    nationality: str = "",
):
    """Validate a document for registration in a campaign and decide eligibility.

    `document_type` is a DocumentType (an ID card when not given); `birth_date`, `sex`
    (Resident.Sex) and `nationality` (ISO 3166 alpha-3, a code or a country name) are what the
    person registering entered, used where the document does not encode them
    (campaign.lib.documents.document_identity).

    Returns (Document, Eligibility): the Document's type is the one to record (an ID number
    that is really a permit is recorded as the permit), its number the one to store (a 15-digit
    ID converted to 18), its note a sentence for the person registering or "". Raises
    ValidationError keyed by field ("id_number", "birth_date", "sex", "nationality") for a bad
    document, keyed "pregnant" for a man answered pregnant (screening_answers_check), or with
    code "age" for an age outside the campaign's range; a person above the
    maximum age is let through only when the campaign admits healthy people above it, with
    the decision saying whether their screening allows it.
    """
    on = on or timezone.localdate()
    parsed = document_identity(
        document_type or DocumentType.ID_CARD,
        id_number,
        birth_date=birth_date,
        sex=sex,
        nationality=nationality,
        today=on,
    )
    decision = eligibility_decide(campaign=campaign, birth_date=parsed.birth_date, answers=answers, on=on)
    if decision.status == Resident.Status.OUT_OF_AGE:
        raise ValidationError(
            _("Age %(age)s on %(day)s is outside this campaign's range (%(range)s).")
            if parsed.encodes_birth
            else _("Age %(age)s on %(day)s, by the birth date entered, is outside this campaign's range (%(range)s)."),
            code="age",
            params={
                "age": age_on(parsed.birth_date, on, campaign.age_unit),
                "day": on.isoformat(),
                "range": age_range_text(campaign),
            },
        )
    screening_answers_check(sex=parsed.sex, answers=answers)
    return parsed, decision


def _apply_identity(resident: Resident, parsed: Document) -> None:
    resident.document_type = parsed.type
    resident.id_number = parsed.number
    resident.nationality = parsed.nationality
    resident.birth_date = parsed.birth_date
    resident.sex = parsed.sex
    resident.id_number_reversed = parsed.number[::-1]
    resident.name_initials = name_initials(resident.name)
    # Not stored: what the person registering is told (a 15-digit ID converted to 18, a changed type).
    resident.document_note = parsed.note


def resident_fill_derived(resident: Resident) -> None:
    """Set the fields that derive from the document and the name (never typed); birth date, sex
    and nationality already on the resident are kept where the document does not encode them."""
    _apply_identity(
        resident,
        document_identity(
            resident.document_type,
            resident.id_number,
            birth_date=resident.birth_date,
            sex=resident.sex,
            nationality=resident.nationality,
        ),
    )


def resident_register(
    *,
    campaign,
    village,
    name: str,
    id_number: str,
    document_type: str = DocumentType.ID_CARD,
    birth_date: datetime.date | None = None,
    sex: str | None = None,
    nationality: str = "",
    registered_by=None,
    channel: str = Resident.Channel.CADRE,
    consent_version: str = "",
    **fields,
) -> Resident:
    """Register a resident in a campaign with their identity document, deciding their eligibility.

    `document_type` defaults to the ID card; `birth_date`, `sex` and `nationality` are needed
    where the document does not encode them (registration_check). The returned resident's
    `document_note` (not stored) is the sentence to show the person registering, or "".
    Raises ValidationError for a bad name, document, phone or age, and AlreadyRegistered
    when the document (type and number) is already registered in this campaign (caught by the
    database's unique constraint, so two cadres racing for one person cannot both win).

    `channel` says how the person came (a Resident.Channel). A self-registration (the public
    page: no registering user) records the consent the person gave to the text of
    `consent_version`, now, and waits for the village cadre's review (resident_review_*);
    without a consent version it raises ValidationError (code "consent").
    """
    if channel == Resident.Channel.SELF and not consent_version:
        raise ValidationError(
            _("Registering yourself needs your consent to the processing of your personal data."), code="consent"
        )
    resident = _registration(
        campaign=campaign,
        village=village,
        name=name,
        id_number=id_number,
        document_type=document_type,
        birth_date=birth_date,
        sex=sex,
        nationality=nationality,
        **fields,
    )
    resident.registered_by = registered_by
    resident._history_user = registered_by
    resident.channel = channel
    if channel == Resident.Channel.SELF:
        resident.review = Resident.Review.PENDING
        resident.consent_at, resident.consent_version = timezone.now(), consent_version
        resident._change_reason = str(_("self-registration on the public page"))
    try:
        with transaction.atomic():
            resident.save()
    except IntegrityError:
        _raise_already_registered(campaign, [resident])
        raise
    return resident


def residents_register_many(
    *, campaign, village, people: list[dict], registered_by=None, channel: str = Resident.Channel.IMPORT
) -> list[Resident]:
    """Register many residents at once (the Excel import): resident_register's checks, batched inserts.

    Each item of `people` holds resident_register's keyword arguments but the campaign,
    village, registering user and channel (document_type, birth_date, sex and nationality included
    where needed). All or none are inserted; raises ValidationError for a bad person and
    AlreadyRegistered when a document is registered already. Never a self-registration (ValueError):
    those come one by one, each with its person's consent.
    """
    if channel == Resident.Channel.SELF:
        raise ValueError("self-registrations are registered one by one (resident_register)")
    residents = [_registration(campaign=campaign, village=village, **person) for person in people]
    for resident in residents:
        resident.registered_by = registered_by
        resident.channel = channel
    try:
        with transaction.atomic():
            bulk_create_with_history(residents, Resident, batch_size=1000, default_user=registered_by)
    except IntegrityError:
        _raise_already_registered(campaign, residents)
        raise
    return residents


def _registration(
    *,
    campaign,
    village,
    name: str,
    id_number: str,
    document_type: str = DocumentType.ID_CARD,
    birth_date: datetime.date | None = None,
    sex: str | None = None,
    nationality: str = "",
    **fields,
) -> Resident:
    """An unsaved, checked registration; raises ValidationError for a bad name, document, phone or age."""
    fields["phone"] = normalize_phone(fields.get("phone", ""))
    answers = {field: bool(fields.get(field)) for field in CONTRAINDICATIONS}
    answers.update({code: bool(yes) for code, yes in (fields.get("extra_answers") or {}).items()})
    fields["extra_answers"] = split_answers(campaign, answers)[1]
    parsed, decision = registration_check(
        campaign=campaign,
        id_number=id_number,
        answers=answers,
        document_type=document_type,
        birth_date=birth_date,
        sex=sex,
        nationality=nationality,
    )
    guardian = guardian_check(
        campaign=campaign,
        birth_date=parsed.birth_date,
        phone=fields["phone"],
        **{field: fields.pop(field, "") for field in GUARDIAN_FIELDS},
    )
    resident = Resident(campaign=campaign, village=village, name=normalize_name(name), **fields, **guardian)
    _apply_identity(resident, parsed)
    resident.status, resident.status_reasons = decision.status, decision.reasons
    return resident


def _raise_already_registered(campaign, residents: list[Resident]) -> None:
    """After a unique-constraint failure: AlreadyRegistered with the village that holds a document."""
    documents = {(resident.document_type, resident.id_number) for resident in residents}
    numbers = [number for _type, number in documents]
    found = Resident.objects.filter(campaign=campaign, id_number__in=numbers).select_related("village")
    for existing in found.iterator():
        if (existing.document_type, existing.id_number) in documents:
            raise AlreadyRegistered(existing.village, existing.document_type) from None


def resident_update(*, resident: Resident, changed_by=None, **changes) -> Resident:
    """Change a resident's details and screening answers; eligibility is decided again.

    A refusal stays until it is withdrawn (resident_set_refused). Returns the
    resident; raises ValidationError for a bad phone or name, or a guardian missing or wrong
    (guardian_check, when the phone or a guardian field is changed). `extra_answers` holds the
    answers to the campaign's questions beyond the seed's six; those given replace the ones kept.
    Fields outside EDITABLE_FIELDS are refused with ValueError: the ID number is never edited,
    only re-registered.
    """
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    if "phone" in changes:
        changes["phone"] = normalize_phone(changes["phone"])
    if "name" in changes:
        changes["name"] = normalize_name(changes["name"])
    if "extra_answers" in changes:
        changes["extra_answers"] = {
            **(resident.extra_answers or {}),
            **{code: bool(yes) for code, yes in (changes["extra_answers"] or {}).items()},
        }
    if "phone" in changes or set(GUARDIAN_FIELDS) & set(changes):
        changes.update(
            guardian_check(
                campaign=resident.campaign,
                birth_date=resident.birth_date,
                phone=changes.get("phone", resident.phone),
                **{field: changes.get(field, getattr(resident, field)) for field in GUARDIAN_FIELDS},
            )
        )
    for field, value in changes.items():
        setattr(resident, field, value)
    resident.name_initials = name_initials(resident.name)
    if resident.status != Resident.Status.REFUSED:
        answers = answers_of(resident)
        decision = eligibility_decide(campaign=resident.campaign, birth_date=resident.birth_date, answers=answers)
        resident.status, resident.status_reasons = decision.status, decision.reasons
    resident._history_user = changed_by
    resident.save()
    return resident


def resident_set_refused(*, resident: Resident, refused: bool, reason: str = "", changed_by=None) -> Resident:
    """Record that a resident refuses vaccination (with the reason), or that they no longer do.

    Raises ValidationError when a refusal has no reason.
    """
    if refused:
        reason = clean_text(reason)
        if not reason.strip():
            raise ValidationError(_("Say why the resident refuses."), code="reason")
        resident.status, resident.status_reasons, resident.status_note = (
            Resident.Status.REFUSED,
            ["refused"],
            reason.strip()[:200],
        )
        resident._change_reason = reason.strip()[:100]
        resident._history_user = changed_by
        resident.save()
        return resident
    resident.status = Resident.Status.ELIGIBLE  # decided again just below
    resident.status_note = ""
    return resident_update(resident=resident, changed_by=changed_by)


def resident_delete(*, resident: Resident, deleted_by=None) -> None:
    """Delete a registration (office only, checked by the caller's permission).

    Raises ProtectedError when doses or appointments exist: history must survive.
    """
    resident._history_user = deleted_by
    resident.delete()


# A user whose searches by number found nobody this many times in the last hour searches by
# number no more until the hour has passed: enough for typing slips, too few to read a number back.
SEARCH_MISSES_PER_HOUR = 10


def record_full_view(*, user, kind: str, resident: Resident | None = None, subject: str = "", people: int = 1):
    """Record that `user` saw full ID numbers or phones (or searched by number): who, whose, when.

    `kind` is a FullValueView.Kind; `resident` the one person of a page, else `subject` says
    whose (a file's filter, a site and day) and `people` how many. Every place that shows
    full values calls this, so the office's list of views is complete. Returns the record.
    """
    if resident is not None and not subject:
        from campaign.lib.masking import mask_document_number

        subject = f"{resident.name}（{mask_document_number(resident.document_type, resident.id_number)}）"
    return FullValueView.objects.create(user=user, kind=kind, resident=resident, subject=subject[:300], people=people)


def number_search_allowed(*, user, now=None) -> bool:
    """Whether `user` may search by number now: fewer than SEARCH_MISSES_PER_HOUR misses in the last hour."""
    now = now or timezone.now()
    misses = FullValueView.objects.filter(
        user=user, kind=FullValueView.Kind.SEARCH, people=0, viewed_at__gt=now - datetime.timedelta(hours=1)
    )
    return misses.count() < SEARCH_MISSES_PER_HOUR


def screening_answers_check(*, sex: str, answers: dict) -> None:
    """Check the screening answers against who the person is (`sex` a Resident.Sex value).

    Raises ValidationError keyed by the answer's field: code "pregnant_male" when a man is
    answered pregnant (a slip in one of the two, which the person registering must resolve).
    """
    if answers.get("pregnant") and sex == Resident.Sex.MALE:
        message = _("The document says this is a man: pregnant cannot be yes. Check the document and this answer.")
        raise ValidationError({"pregnant": ValidationError(message, code="pregnant_male")})


# --- the cadre's review of self-registrations --------------------------------------------------


class ReviewClosed(Exception):
    """The registration is not (or no longer) in a state this review action applies to."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def _locked_for_review(resident: Resident) -> Resident:
    # Two cadres (or a cadre and the office) acting at once on one registration: one waits, then
    # sees what the other decided.
    locked = Resident.objects.select_for_update(of=("self",)).get(pk=resident.pk)
    if locked.channel != Resident.Channel.SELF:
        raise ReviewClosed(_("Only a self-registration is reviewed."))
    return locked


def resident_review_confirm(*, resident: Resident, reviewed_by) -> Resident:
    """The village cadre confirms a self-registration (pending, or refused before): the person is on
    the list like anyone the cadre registered. Returns the resident, saved; raises ReviewClosed for a
    registration that is not a self-registration or is confirmed already."""
    with transaction.atomic():
        locked = _locked_for_review(resident)
        if locked.review == Resident.Review.CONFIRMED:
            raise ReviewClosed(_("This registration is confirmed already."))
        locked.review, locked.review_reason = Resident.Review.CONFIRMED, ""
        locked.reviewed_by, locked.reviewed_at = reviewed_by, timezone.now()
        locked._history_user = reviewed_by
        locked._change_reason = str(_("self-registration confirmed"))
        locked.save()
    return locked


def resident_review_correct(*, resident: Resident, reviewed_by, **changes) -> Resident:
    """Correct a self-registration's details (resident_update's fields and rules), then confirm it.

    Returns the resident; raises what resident_update and resident_review_confirm raise, and then
    nothing is changed.
    """
    with transaction.atomic():
        locked = _locked_for_review(resident)
        if locked.review == Resident.Review.CONFIRMED:
            raise ReviewClosed(_("This registration is confirmed already."))
        resident_update(resident=locked, changed_by=reviewed_by, **changes)
        return resident_review_confirm(resident=locked, reviewed_by=reviewed_by)


def resident_review_refuse(*, resident: Resident, reason: str, reviewed_by) -> list:
    """The village cadre refuses a pending self-registration, with a reason the person is shown
    ("未通过村干部审核：<reason>"); the record stays, for the history.

    The person's booked appointments are cancelled with that reason (appointment_cancel: their
    places are freed, a dose 1's held dose 2 goes with it). Someone already checked in at a site
    is left to the site, whose screening is the final word. Returns the appointments cancelled;
    raises ValidationError (code "reason") without a reason, ReviewClosed when the registration
    is not pending.
    """
    from appointments.models import Appointment
    from appointments.services import appointment_cancel

    reason = clean_text(reason).strip()
    if not reason:
        raise ValidationError(_("Say why the registration is refused."), code="reason")
    with transaction.atomic():
        locked = _locked_for_review(resident)
        if locked.review != Resident.Review.PENDING:
            raise ReviewClosed(_("This registration is no longer waiting for review."))
        locked.review, locked.review_reason = Resident.Review.REFUSED, reason[:200]
        locked.reviewed_by, locked.reviewed_at = reviewed_by, timezone.now()
        locked._history_user = reviewed_by
        locked._change_reason = reason[:100]
        locked.save()
        cancel_reason = _("Registration not confirmed by the village cadre: %(reason)s") % {"reason": reason}
        cancelled = []
        booked = Appointment.objects.filter(resident=locked, status=Appointment.Status.BOOKED).order_by("dose_number")
        for appointment_id in list(booked.values_list("pk", flat=True)):
            appointment = Appointment.objects.get(pk=appointment_id)
            # Dose 1's cancellation takes its held dose 2 along: that one is no longer open.
            if appointment.status == Appointment.Status.BOOKED:
                cancelled += appointment_cancel(appointment=appointment, cancelled_by=reviewed_by, reason=cancel_reason)
    return cancelled
