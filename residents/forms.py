from django import forms
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from campaign.lib.text import CleanTextMixin
from campaign.models import Village
from residents.models import CONTRAINDICATIONS, Resident
from residents.services import normalize_name, normalize_phone, registration_check


class CadreChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        return user.get_full_name() or user.username


class ResidentForm(CleanTextMixin, forms.ModelForm):
    """Registration: the ID number is checked by the same service the importer uses."""

    id_number = forms.CharField(
        label=_("ID number"),
        max_length=40,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "inputmode": "text", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )
    phone = forms.CharField(
        label=_("phone"), required=False, max_length=20, widget=forms.TextInput(attrs={"inputmode": "tel"})
    )
    responsible_cadre = CadreChoiceField(queryset=User.objects.none(), label=_("responsible cadre"), required=False)

    class Meta:
        model = Resident
        fields = ["name", "id_number", "phone", "basis", "priority_group", "responsible_cadre", *CONTRAINDICATIONS]
        widgets = {"basis": forms.RadioSelect}

    def __init__(self, *args, campaign, village=None, villages=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        self.parsed = self.decision = None
        if villages is not None:
            self.fields["village"] = forms.ModelChoiceField(queryset=villages, label=_("village"))
            self.order_fields(["village"])
        self.fields["responsible_cadre"].queryset = User.objects.filter(
            is_active=True, profile__village__campaign=campaign, **({"profile__village": village} if village else {})
        ).order_by("first_name")

    def clean_name(self):
        # The registration service's rule (formula text, length, control characters), at the field.
        return normalize_name(self.cleaned_data.get("name"))

    def clean_phone(self):
        return normalize_phone(self.cleaned_data.get("phone"))

    def clean(self):
        cleaned = super().clean()
        if "id_number" in cleaned:
            answers = {field: cleaned.get(field, False) for field in CONTRAINDICATIONS}
            try:
                self.parsed, self.decision = registration_check(
                    campaign=self.campaign, id_number=cleaned["id_number"], answers=answers
                )
                cleaned["id_number"] = self.parsed.number
            except ValidationError as error:
                # A document's errors are keyed by field; the age's is the number's.
                self.add_error(None if hasattr(error, "error_dict") else "id_number", error)
        return cleaned


class ResidentEditForm(CleanTextMixin, forms.ModelForm):
    """Details and screening after registration; the ID number is never edited."""

    phone = forms.CharField(
        label=_("phone"), required=False, max_length=20, widget=forms.TextInput(attrs={"inputmode": "tel"})
    )
    responsible_cadre = CadreChoiceField(queryset=User.objects.none(), label=_("responsible cadre"), required=False)

    class Meta:
        model = Resident
        fields = ["name", "phone", "basis", "priority_group", "responsible_cadre", *CONTRAINDICATIONS]
        widgets = {"basis": forms.RadioSelect}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["responsible_cadre"].queryset = User.objects.filter(
            is_active=True, profile__village=self.instance.village
        ).order_by("first_name")

    def clean_name(self):
        # The registration service's rule (formula text, length, control characters), at the field.
        return normalize_name(self.cleaned_data.get("name"))

    def clean_phone(self):
        return normalize_phone(self.cleaned_data.get("phone"))


class RefuseForm(CleanTextMixin, forms.Form):
    reason = forms.CharField(label=_("reason for refusing"), max_length=200)


def villages_for(campaign):
    return Village.objects.filter(campaign=campaign).select_related("site")
