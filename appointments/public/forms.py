"""The public pages' forms: who the person is, the SMS code, a family member to add."""

from captcha.fields import CaptchaField
from django import forms
from django.core import signing
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appointments.public.models import FamilyMember
from campaign.lib.documents import DocumentType, parse_document
from campaign.lib.text import CleanTextMixin
from residents.services import normalize_name, normalize_phone

STAMP_SALT = "appointments.public.form-shown"


def form_stamp(at=None) -> str:
    """A signed time at which a form was shown (the captcha's "filled too fast" rule reads it back)."""
    return signing.dumps(int((at or timezone.now()).timestamp()), salt=STAMP_SALT)


def form_age(stamp: str) -> float | None:
    """Seconds since the form carrying `stamp` was shown; None for a missing or forged stamp."""
    try:
        shown = signing.loads(stamp or "", salt=STAMP_SALT, max_age=24 * 3600)
    except signing.BadSignature:
        return None
    return timezone.now().timestamp() - shown


class PublicForm(CleanTextMixin, forms.Form):
    """Large fields for a phone's screen (Bootstrap's classes on each widget)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field.widget, forms.Select):
                field.widget.attrs.setdefault("class", "form-select form-select-lg")
            elif isinstance(field.widget, forms.TextInput):
                field.widget.attrs.setdefault("class", "form-control form-control-lg")


class IdentityForm(PublicForm):
    """A name and a document, checked as registration checks them (not looked up here)."""

    name = forms.CharField(
        label=_("Name"), max_length=60, widget=forms.TextInput(attrs={"autocomplete": "name", "spellcheck": "false"})
    )
    document_type = forms.ChoiceField(
        label=_("document type"), choices=DocumentType.choices, initial=DocumentType.ID_CARD
    )
    id_number = forms.CharField(
        label=_("document number"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )

    def clean_name(self):
        return normalize_name(self.cleaned_data.get("name"))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("document_type") and cleaned.get("id_number"):
            try:
                # The number's shape only (check character, date): nothing is looked up.
                parse_document(cleaned["document_type"], cleaned["id_number"])
            except ValidationError as error:
                self.add_error("id_number", error)
        return cleaned


class StartForm(IdentityForm):
    """The first page: who, and the phone the code goes to. The village comes preselected from a QR code."""

    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    village = forms.ModelChoiceField(queryset=None, label=_("Village or community"), required=False)
    shown = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, villages, captcha: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["village"].queryset = villages
        self.fields["village"].empty_label = _("(choose)")
        self.fields["shown"].initial = form_stamp()
        if captcha:
            self.fields["captcha"] = CaptchaField(
                label=_("Type the digits in the picture"),
                error_messages={"invalid": _("The digits do not match the picture: try the new one.")},
            )
            self.fields["captcha"].widget.attrs.update(
                {"class": "form-control form-control-lg", "inputmode": "numeric", "autocomplete": "off"}
            )

    def clean_phone(self):
        phone = normalize_phone(self.cleaned_data.get("phone"))
        if not phone:
            raise ValidationError(_("Enter a mobile phone number."), code="required")
        return phone


class CodeForm(PublicForm):
    code = forms.CharField(
        label=_("SMS code"),
        max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9]*"}),
    )


class AddForm(IdentityForm):
    relation = forms.ChoiceField(
        label=_("Relation to you"),
        choices=FamilyMember.Relation.choices,
        initial=FamilyMember.Relation.PARENT,
    )
