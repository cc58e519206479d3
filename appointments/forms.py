from django import forms
from django.utils.translation import gettext_lazy as _

from campaign.lib.text import CleanTextMixin


class BookForm(CleanTextMixin, forms.Form):
    day = forms.DateField(label=_("day of dose 1"), widget=forms.DateInput(attrs={"type": "date"}))


class BulkBookForm(CleanTextMixin, forms.Form):
    day = forms.DateField(label=_("day of dose 1"), widget=forms.DateInput(attrs={"type": "date"}))
    residents = forms.ModelMultipleChoiceField(queryset=None, required=False, widget=forms.CheckboxSelectMultiple)
    next_n = forms.IntegerField(
        label=_("or the next N eligible, not yet booked"), required=False, min_value=1, max_value=1000
    )

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["residents"].queryset = candidates

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("residents") and not cleaned.get("next_n"):
            raise forms.ValidationError(_("Tick residents, or say how many of the next ones to book."))
        return cleaned


class MoveForm(CleanTextMixin, forms.Form):
    day = forms.DateField(label=_("new day"), widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=_("reason"), max_length=200)


class CancelForm(CleanTextMixin, forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=200)
