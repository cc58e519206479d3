"""The outbox page's filters and the office's opt-out forms."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from appointments.messaging.models import Kind, Message
from campaign.lib.masking import MASKED_SEARCH_DIGITS
from campaign.lib.params import in_range
from campaign.lib.text import CleanTextMixin
from residents.services import normalize_phone


class PhoneEndField(forms.CharField):
    """The last digits of a phone, no more than a masked phone shows (138****5678): a search in the URL
    never holds a whole number."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("phone ends with"))
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "5678"}))
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value).strip()
        if value and (not value.isdigit() or len(value) > MASKED_SEARCH_DIGITS):
            raise ValidationError(
                _("Type at most the last %(digits)s digits of the phone."), params={"digits": MASKED_SEARCH_DIGITS}
            )
        return value


class DayField(forms.DateField):
    """A day between 1900 and 2100 (campaign.lib.params): the filter computes the day after."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
        super().__init__(**kwargs)

    def clean(self, value):
        day = super().clean(value)
        if day is not None and not in_range(day):
            raise ValidationError(
                _("“%(value)s” is not a date we can show (write it like 2021-04-18)."), params={"value": value}
            )
        return day


class OutboxFilterForm(CleanTextMixin, forms.Form):
    kind = forms.ChoiceField(choices=[("", _("All kinds")), *Kind.choices], required=False, label=_("kind"))
    status = forms.ChoiceField(
        choices=[("", _("All statuses")), *Message.Status.choices], required=False, label=_("status")
    )
    village = forms.ModelChoiceField(queryset=None, required=False, empty_label=_("All villages"), label=_("village"))
    queued_on = DayField(label=_("queued on"))
    for_day = DayField(label=_("appointment day"))
    phone_end = PhoneEndField()

    def __init__(self, *args, villages, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["village"].queryset = villages


class OptOutForm(CleanTextMixin, forms.Form):
    """The office takes a phone off every message but the codes it asks for."""

    phone = forms.CharField(
        label=_("phone"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    note = forms.CharField(label=_("reason"), max_length=200, required=False)

    def clean_phone(self):
        phone = normalize_phone(self.cleaned_data.get("phone"))
        if not phone:
            raise ValidationError(_("Type the phone number."))
        return phone


class PhoneSearchForm(CleanTextMixin, forms.Form):
    phone_end = PhoneEndField()
