from django import forms
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from campaign.lib.documents import DOCUMENT_KINDS, DocumentType, nationality_choices, parse_document
from campaign.lib.text import CleanTextMixin
from campaign.models import Village
from campaign.scope import bound_to_village
from campaign.screening import BUILTIN_CODES
from residents.models import Resident
from residents.services import (
    GUARDIAN_FIELDS,
    answers_of,
    campaign_questions,
    guardian_check,
    normalize_name,
    normalize_phone,
    registration_check,
    split_answers,
)


class CadreChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        return user.get_full_name() or user.username


# What registration passes on to residents.services.resident_register about the document.
DOCUMENT_FIELDS = ["document_type", "id_number", "birth_date", "sex", "nationality"]


def screening_field_name(code: str) -> str:
    """A question's form field: the seed's six by their own name, a campaign's other ones prefixed
    (a code chosen by the office never collides with a form's other fields)."""
    return code if code in BUILTIN_CODES else f"extra_{code}"


class ScreeningQuestionsMixin:
    """The campaign's screening questions (campaign.screening.questions_for) as yes/no boxes.

    The registration form, the edit form and the site's pre-screening ask exactly these; the
    services decide what the answers lead to (residents.services.eligibility_decide).
    """

    def add_screening_fields(self, campaign, answers: dict | None = None):
        self.campaign = campaign
        self.screening_questions = campaign_questions(campaign)
        for question in self.screening_questions:
            name = screening_field_name(question.code)
            self.fields[name] = forms.BooleanField(label=question.text, required=False)
            if answers is not None:
                self.initial.setdefault(name, bool(answers.get(question.code)))

    def questions(self):
        """The bound boxes, in the campaign's order."""
        return [self[screening_field_name(q.code)] for q in self.screening_questions]

    def answers(self) -> dict:
        """{code: bool} for every question asked."""
        data = getattr(self, "cleaned_data", {})
        return {q.code: bool(data.get(screening_field_name(q.code))) for q in self.screening_questions}

    def answer_fields(self) -> dict:
        """The answers as the resident stores them: the seed's six fields and extra_answers."""
        builtin, extra = split_answers(self.campaign, self.answers())
        return {**builtin, "extra_answers": extra}


class GuardianFieldsMixin(forms.Form):
    """The guardian (监护人) of a child: checked by residents.services.guardian_check."""

    guardian_name = forms.CharField(label=_("guardian's name"), max_length=50, required=False)
    guardian_relation = forms.ChoiceField(
        label=_("guardian's relation"), choices=[("", "—"), *Resident.GuardianRelation.choices], required=False
    )
    guardian_document_type = forms.ChoiceField(
        label=_("guardian's document type"),
        choices=DocumentType.choices,
        initial=DocumentType.ID_CARD,
        required=False,
    )
    guardian_id_number = forms.CharField(
        label=_("guardian's document number"),
        max_length=40,
        required=False,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "inputmode": "text", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )

    def guardian_fields(self) -> dict:
        """The guardian as checked (guardian_check's values), or as typed before the check."""
        checked = getattr(self, "guardian", None)
        if checked is not None:
            return dict(checked)
        return {field: self.cleaned_data.get(field) or "" for field in GUARDIAN_FIELDS}

    def check_guardian(self, *, campaign, birth_date):
        """Run the guardian rule where the birth date is known; its problems go to their fields."""
        cleaned = self.cleaned_data
        try:
            self.guardian = guardian_check(
                campaign=campaign,
                birth_date=birth_date,
                phone=cleaned.get("phone") or "",
                **{field: cleaned.get(field) or "" for field in GUARDIAN_FIELDS},
            )
        except ValidationError as error:
            for field, problems in error.error_dict.items():
                if field in self.fields and field not in self.errors:
                    self.add_error(field, problems)


class ResidentForm(CleanTextMixin, ScreeningQuestionsMixin, GuardianFieldsMixin, forms.ModelForm):
    """Registration: the document is checked by the same service the importer uses.

    Birth date, sex and nationality are asked only where the document does not give them
    (campaign.lib.documents); the page shows them as the type needs (static/js/documents.js),
    and without JavaScript they are all shown and the service says which one is missing.
    """

    # Not required: a form sent without it (an older page) registers an ID card, as before.
    document_type = forms.ChoiceField(
        label=_("document type"), choices=DocumentType.choices, initial=DocumentType.ID_CARD, required=False
    )
    id_number = forms.CharField(
        label=_("document number"),
        max_length=40,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "inputmode": "text", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )
    birth_date = forms.DateField(
        label=_("birth date"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    sex = forms.ChoiceField(label=_("sex"), required=False, choices=Resident.Sex.choices, widget=forms.RadioSelect)
    nationality = forms.ChoiceField(label=_("nationality"), required=False, choices=())
    phone = forms.CharField(
        label=_("phone (a child's: the guardian's)"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel"}),
    )
    responsible_cadre = CadreChoiceField(queryset=User.objects.none(), label=_("responsible cadre"), required=False)

    class Meta:
        model = Resident
        fields = ["name", "id_number", "phone", "basis", "priority_group", "responsible_cadre"]
        widgets = {"basis": forms.RadioSelect}

    def __init__(self, *args, campaign, village=None, villages=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        self.parsed = self.decision = self.guardian = None
        self.add_screening_fields(campaign)
        self.fields["nationality"].choices = [("", "—"), *nationality_choices()]
        if villages is not None:
            self.fields["village"] = forms.ModelChoiceField(queryset=villages, label=_("village"))
            self.order_fields(["village"])
        # The cadres bound to the village (or to any village of the campaign): by its name, as
        # bindings hold across campaigns (campaign.scope).
        names = [village.name] if village else Village.objects.filter(campaign=campaign).values("name")
        self.fields["responsible_cadre"].queryset = User.objects.filter(
            is_active=True, profile__village__name__in=names
        ).order_by("first_name")

    def clean_name(self):
        # The registration service's rule (formula text, length, control characters), at the field.
        return normalize_name(self.cleaned_data.get("name"))

    def clean_phone(self):
        return normalize_phone(self.cleaned_data.get("phone"))

    def clean_document_type(self):
        return self.cleaned_data.get("document_type") or DocumentType.ID_CARD

    def clean(self):
        cleaned = super().clean()
        if "id_number" in cleaned and "document_type" in cleaned:
            answers = self.answers()
            try:
                self.parsed, self.decision = registration_check(
                    campaign=self.campaign,
                    id_number=cleaned["id_number"],
                    answers=answers,
                    document_type=cleaned["document_type"],
                    birth_date=cleaned.get("birth_date"),
                    sex=cleaned.get("sex") or None,
                    nationality=cleaned.get("nationality", ""),
                )
            except ValidationError as error:
                # A document's errors are keyed by field; the age's goes where the birth date came from.
                self.add_error(None if hasattr(error, "error_dict") else self._age_field(cleaned), error)
            else:
                self.check_guardian(campaign=self.campaign, birth_date=self.parsed.birth_date)
        # The document stays as it was typed: the service reads it again and says what it converted.
        return cleaned

    @staticmethod
    def _age_field(cleaned) -> str:
        try:
            encoded = parse_document(cleaned["document_type"], cleaned["id_number"]).encodes_birth
        except ValidationError:
            encoded = True
        return "id_number" if encoded else "birth_date"

    def document_fields(self) -> dict:
        """The document as typed (checked), as resident_register takes it."""
        data = {field: self.cleaned_data.get(field) for field in DOCUMENT_FIELDS}
        return {**data, "sex": data["sex"] or None, "nationality": data["nationality"] or ""}

    def document_kinds(self) -> dict:
        """What each type asks, for the page's script: birth date and sex ("number", "entered" or
        "depends" on the number), whether nationality is entered, and the number's placeholder."""
        birth = {True: "number", False: "entered", None: "depends"}
        return {
            str(kind.type): {
                "birth": birth[kind.encodes_birth],
                "nationality": kind.nationality == "entered",
                "placeholder": str(kind.placeholder),
            }
            for kind in DOCUMENT_KINDS.values()
        }


class ResidentEditForm(CleanTextMixin, ScreeningQuestionsMixin, GuardianFieldsMixin, forms.ModelForm):
    """Details, guardian and screening after registration; the ID number is never edited."""

    phone = forms.CharField(
        label=_("phone (a child's: the guardian's)"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel"}),
    )
    responsible_cadre = CadreChoiceField(queryset=User.objects.none(), label=_("responsible cadre"), required=False)

    class Meta:
        model = Resident
        fields = ["name", "phone", "basis", "priority_group", "responsible_cadre"]
        widgets = {"basis": forms.RadioSelect}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.guardian = None
        for field in GUARDIAN_FIELDS:
            self.initial.setdefault(field, getattr(self.instance, field))
        if not self.instance.guardian_document_type:
            self.initial["guardian_document_type"] = DocumentType.ID_CARD
        self.add_screening_fields(self.instance.campaign, answers_of(self.instance))
        self.fields["responsible_cadre"].queryset = User.objects.filter(
            bound_to_village(self.instance.village), is_active=True
        ).order_by("first_name")

    def clean_name(self):
        # The registration service's rule (formula text, length, control characters), at the field.
        return normalize_name(self.cleaned_data.get("name"))

    def clean_phone(self):
        return normalize_phone(self.cleaned_data.get("phone"))

    def clean(self):
        cleaned = super().clean()
        self.check_guardian(campaign=self.instance.campaign, birth_date=self.instance.birth_date)
        return cleaned

    def changes(self) -> dict:
        """What resident_update takes: the details, the guardian and the answers."""
        return {
            **{field: self.cleaned_data[field] for field in self._meta.fields},
            **self.guardian_fields(),
            **self.answer_fields(),
        }


class RefuseForm(CleanTextMixin, forms.Form):
    reason = forms.CharField(label=_("reason for refusing"), max_length=200)


class ReviewRefuseForm(CleanTextMixin, forms.Form):
    """Why a self-registration is refused: the person reads it on their page."""

    reason = forms.CharField(label=_("reason for refusing the registration"), max_length=200)


def villages_for(campaign):
    return Village.objects.filter(campaign=campaign).select_related("site")
