"""Registering oneself on the public pages: a verified phone registers a person the cadres have not listed.

The rules are the registration's (residents.services.registration_check and resident_register);
this module only asks for what they need, in plain words, with the PIPL consent text shown and
ticked, then puts the person in the phone's family (appointments.public.identity.family_add). The
person is "to be confirmed" (待确认) until their village's cadre reviews the registration
(residents.services.resident_review_*); the site's screening remains the final word.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_ratelimit.decorators import ratelimit

from appointments.public import identity, limits
from appointments.public.forms import IdentityForm
from appointments.public.models import FamilyMember
from appointments.public.views import SESSION_UNREGISTERED, SESSION_VILLAGE
from campaign.lib.documents import DocumentType, nationality_choices, parse_document
from campaign.lib.masking import mask_phone
from campaign.models import Village
from residents.forms import screening_field_name
from residents.models import CONTRAINDICATIONS, Resident
from residents.services import (
    GUARDIAN_FIELDS,
    AlreadyRegistered,
    campaign_questions,
    guardian_check,
    reason_labels,
    registration_check,
    resident_register,
    split_answers,
)

# The consent text shown and ticked. A changed text is a new template and a new version (the
# old template stays: it is what the people who ticked it agreed to); the version is stored
# with each consent (Resident.consent_version).
CONSENT_VERSION = "2021-03-v1"
CONSENT_TEMPLATES = {"2021-03-v1": "public/register_consent_2021-03-v1.html"}

# The seed's six screening questions (residents.models.CONTRAINDICATIONS) as a person is asked them;
# a campaign's other questions (campaign.screening) are asked in their own words.
QUESTIONS = {
    "pregnant": gettext_lazy("Is the person pregnant now?"),
    "severe_allergy": gettext_lazy("Has the person ever had a severe allergic reaction after a vaccine?"),
    "neuro_history": gettext_lazy(
        "Has the person, or anyone in their family, had convulsions, epilepsy, a brain disease or a mental illness?"
    ),
    "fever": gettext_lazy("Does the person have a fever now?"),
    "acute_illness": gettext_lazy("Is the person ill now, or is a long-term illness flaring up?"),
    "severe_chronic": gettext_lazy("Does the person have a severe chronic disease?"),
}
assert set(QUESTIONS) == set(CONTRAINDICATIONS)  # noqa: S101 - a new question must be asked here too
YES, NO = "yes", "no"


def _buttons():
    # Radio inputs drawn as buttons (templates/public/register_choices.html).
    return forms.RadioSelect(attrs={"class": "btn-check", "autocomplete": "off"})


class RegisterForm(IdentityForm):
    """Who the person is, where they belong, the screening answers and the consent."""

    birth_date = forms.DateField(
        label=gettext_lazy("birth date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control form-control-lg"}, format="%Y-%m-%d"),
    )
    sex = forms.ChoiceField(label=gettext_lazy("sex"), required=False, choices=Resident.Sex.choices, widget=_buttons())
    nationality = forms.ChoiceField(label=gettext_lazy("nationality"), required=False, choices=())
    relation = forms.ChoiceField(
        label=gettext_lazy("Relation to you"), choices=FamilyMember.Relation.choices, widget=_buttons()
    )
    village = forms.ModelChoiceField(queryset=Village.objects.none(), label=gettext_lazy("Village or community"))
    # A child's guardian (监护人): the person registering, most often, reached at the verified phone.
    guardian_name = forms.CharField(label=gettext_lazy("Guardian's name"), max_length=50, required=False)
    guardian_relation = forms.ChoiceField(
        label=gettext_lazy("Guardian's relation to the child"),
        choices=Resident.GuardianRelation.choices,
        required=False,
        widget=_buttons(),
    )
    guardian_document_type = forms.ChoiceField(
        label=gettext_lazy("Guardian's document type"),
        choices=DocumentType.choices,
        initial=DocumentType.ID_CARD,
        required=False,
    )
    guardian_id_number = forms.CharField(
        label=gettext_lazy("Guardian's document number"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )
    basis = forms.ChoiceField(
        label=gettext_lazy("Why you belong to this campaign"),
        choices=Resident.Basis.choices,
        widget=_buttons(),
        error_messages={"required": gettext_lazy("Choose one.")},
    )
    consent = forms.BooleanField(
        label=gettext_lazy(
            "I have read the text above and agree to the processing of this personal information, "
            "the sensitive information included, for this vaccination."
        ),
        error_messages={"required": gettext_lazy("Please read the text and tick the box to agree.")},
    )

    def __init__(self, *args, campaign, villages, phone="", **kwargs):
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        self.phone = phone  # the verified phone: a child's is the guardian's
        self.parsed = self.decision = None
        self.fields["village"].queryset = villages
        self.fields["village"].empty_label = _("(choose)")
        self.fields["nationality"].choices = [("", "—"), *nationality_choices()]
        self.fields["nationality"].widget.attrs["class"] = "form-select form-select-lg"
        self.guardian = None
        # The campaign's questions (campaign.screening.questions_for), the seed's six in plain words.
        self.asked = campaign_questions(campaign)
        for question in self.asked:
            self.fields[screening_field_name(question.code)] = forms.ChoiceField(
                label=QUESTIONS.get(question.code, question.text),
                choices=[(NO, _("No")), (YES, _("Yes"))],
                widget=_buttons(),
                error_messages={"required": _("Please answer this question.")},
            )

    def questions(self):
        return [self[screening_field_name(question.code)] for question in self.asked]

    def answers(self) -> dict:
        return {q.code: self.cleaned_data.get(screening_field_name(q.code)) == YES for q in self.asked}

    def guardian_fields(self):
        return [self[field] for field in GUARDIAN_FIELDS]

    def clean(self):
        cleaned = super().clean()
        if self.has_error("id_number") or not cleaned.get("id_number") or not cleaned.get("document_type"):
            return cleaned
        if any(self.has_error(screening_field_name(q.code)) for q in self.asked):
            return cleaned
        try:
            self.parsed, self.decision = registration_check(
                campaign=self.campaign,
                id_number=cleaned["id_number"],
                answers=self.answers(),
                document_type=cleaned["document_type"],
                birth_date=cleaned.get("birth_date"),
                sex=cleaned.get("sex") or None,
                nationality=cleaned.get("nationality", ""),
            )
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                self.add_error(None, error)
            else:
                # The age: at the number when the number holds the birth date, else at the date typed.
                encoded = parse_document(cleaned["document_type"], cleaned["id_number"]).encodes_birth
                self.add_error("id_number" if encoded else "birth_date", error)
            return cleaned
        try:
            # The phone is the verified one (the guardian's, for a child): only the guardian is asked here.
            self.guardian = guardian_check(
                campaign=self.campaign,
                birth_date=self.parsed.birth_date,
                phone=self.phone,
                **{field: cleaned.get(field) or "" for field in GUARDIAN_FIELDS},
            )
        except ValidationError as error:
            for field, problems in error.error_dict.items():
                self.add_error(field if field in self.fields else None, problems)
        return cleaned

    def registration(self) -> dict:
        """resident_register's keyword arguments about the person (not the campaign, phone or channel)."""
        data = self.cleaned_data
        return {
            "village": data["village"],
            "name": data["name"],
            "document_type": data["document_type"],
            "id_number": data["id_number"],
            "birth_date": data.get("birth_date"),
            "sex": data.get("sex") or None,
            "nationality": data.get("nationality") or "",
            "basis": data["basis"],
            **self._stored_answers(),
            **(self.guardian or {}),
        }

    def _stored_answers(self) -> dict:
        builtin, extra = split_answers(self.campaign, self.answers())
        return {**builtin, "extra_answers": extra}


def _initial(request, account) -> dict:
    typed = request.session.get(SESSION_UNREGISTERED) or {}
    initial = {key: typed[key] for key in ("name", "document_type", "id_number") if typed.get(key)}
    initial["village"] = typed.get("village") or request.session.get(SESSION_VILLAGE)
    has_self = FamilyMember.objects.filter(account=account, relation=FamilyMember.Relation.SELF).exists()
    initial["relation"] = FamilyMember.Relation.PARENT if has_self else FamilyMember.Relation.SELF
    return initial


def _outcome_message(request, resident: Resident) -> None:
    """What the person is told after registering: bookable (to be confirmed), or why not now, kindly."""
    reasons = "、".join(reason_labels(resident.status_reasons, resident.campaign))
    if resident.status == Resident.Status.DEFERRED:
        messages.warning(
            request,
            _(
                "Registered. From the answers (%(reasons)s), vaccination should wait for now: please book again "
                "once recovered (after the pregnancy for a pregnant woman), or ask a doctor. The registration is "
                "kept and your village's cadre will see it."
            )
            % {"reasons": reasons},
        )
    elif resident.status == Resident.Status.EXCLUDED:
        messages.warning(
            request,
            _(
                "Registered. From the answers (%(reasons)s), this vaccination is not advised in this campaign. "
                "Please ask a doctor or your village's cadre if in doubt. The registration is kept and your "
                "village's cadre will see it."
            )
            % {"reasons": reasons},
        )
    else:
        messages.success(
            request,
            _(
                "Registered. You can book now; until your village's cadre confirms the registration it shows "
                "as to be confirmed."
            ),
        )
    if resident.document_note:
        messages.info(request, resident.document_note)


def register_into_family(*, account, campaign, relation: str, consent_version: str, **person) -> FamilyMember:
    """Register a person through the public page and add them to the phone's family, both or neither.

    The phone is the verified one; the registration is a self-registration waiting for the cadre's
    review, with the consent given. Raises what resident_register and family_add raise
    (ValidationError, AlreadyRegistered, identity.FamilyFull).
    """
    with transaction.atomic():
        resident = resident_register(
            campaign=campaign,
            phone=account.phone,
            channel=Resident.Channel.SELF,
            consent_version=consent_version,
            **person,
        )
        member = identity.family_add(account=account, resident=resident, relation=relation)
    member.resident.document_note = resident.document_note
    return member


@identity.phone_required
@ratelimit(group="public:register", key=limits.verified_phone_key, rate=limits.add_phone_rate, method="POST")
def register(request):
    """Register a person who is not on their cadre's list yet (after the phone is verified), in the
    campaign the pages were opened for (a poster's, identity.campaign_for)."""
    campaign = identity.campaign_for(request)
    account = identity.account_for(request)
    villages = Village.objects.filter(campaign=campaign).order_by("name")
    family_size = FamilyMember.objects.filter(account=account).count()
    full = family_size >= settings.PUBLIC_FAMILY_MAX
    duplicate = False
    form = RegisterForm(
        request.POST if request.method == "POST" else None,
        initial=_initial(request, account),
        campaign=campaign,
        villages=villages,
        phone=account.phone,
    )
    if request.method == "POST" and not full and form.is_valid():
        try:
            member = register_into_family(
                account=account,
                campaign=campaign,
                relation=form.cleaned_data["relation"],
                consent_version=CONSENT_VERSION,
                **form.registration(),
            )
        except AlreadyRegistered:
            # Who holds the document, and where, is not said: only that the cadre can help, and
            # that a family member the phone knows by name can be added as registered.
            form.add_error("id_number", _("This document is already registered. Please contact your village's cadre."))
            duplicate = True
        except identity.FamilyFull as family_full:
            form.add_error(None, family_full.message)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            request.session.pop(SESSION_UNREGISTERED, None)
            _outcome_message(request, member.resident)
            return redirect("public:person", member_id=member.pk)
    document_entered = form["document_type"].value() not in (None, "", DocumentType.ID_CARD) or any(
        form.has_error(field) for field in ("birth_date", "sex", "nationality")
    )
    return render(
        request,
        "public/register.html",
        {
            "form": form,
            "campaign": campaign,
            "masked_phone": mask_phone(account.phone),
            "duplicate": duplicate,
            "full": full,
            "family_max": settings.PUBLIC_FAMILY_MAX,
            "document_entered": document_entered,
            "consent_template": CONSENT_TEMPLATES[CONSENT_VERSION],
            "consent_version": CONSENT_VERSION,
            "help_phone": settings.PUBLIC_HELP_PHONE,
        },
    )
