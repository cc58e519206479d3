from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from appointments.follow_up.selectors import NEVER_CALLED, SMS_REACHED, SMS_UNREACHABLE
from appointments.follow_up.services import NOTE_MAX_LENGTH
from appointments.models import CallAttempt
from campaign.lib.text import CleanTextMixin

REASONS = [("", _("All reasons")), ("no_show", _("Did not come")), ("no_place", _("Dose 2 has no place"))]
ORDERING_LABELS = {
    "due": _("To call first (never called, then next try)"),
    "last_called": _("Longest since the last call"),
    "-last_called": _("Latest call first"),
    "-missed": _("Latest missed day first"),
    "village": pgettext_lazy("sort", "By village"),
}


class FollowUpFilterForm(CleanTextMixin, forms.Form):
    """The list's filters; the office's form has the village and cadre fields, a cadre's has not."""

    village = forms.ModelChoiceField(queryset=None, required=False, empty_label=_("All villages"), label=_("village"))
    cadre = forms.ModelChoiceField(queryset=None, required=False, empty_label=_("All cadres"), label=_("cadre"))
    reason = forms.ChoiceField(choices=REASONS, required=False, label=_("reason"))
    last_result = forms.ChoiceField(
        choices=[("", _("Any last result")), (NEVER_CALLED, _("Never called")), *CallAttempt.Result.choices],
        required=False,
        label=_("last result"),
    )
    sms = forms.ChoiceField(
        choices=[
            ("", _("Any SMS")),
            (SMS_REACHED, _("Last SMS sent or delivered")),
            (SMS_UNREACHABLE, _("Cannot be reached by SMS")),
        ],
        required=False,
        label=_("SMS"),
    )
    due = forms.BooleanField(required=False, label=_("Due today (never called or next try today or earlier)"))
    ordering = forms.ChoiceField(choices=list(ORDERING_LABELS.items()), required=False, label=_("sort"))

    def __init__(self, *args, villages=None, cadres=None, **kwargs):
        super().__init__(*args, **kwargs)
        if villages is None:
            del self.fields["village"], self.fields["cadre"]
        else:
            self.fields["village"].queryset = villages
            self.fields["cadre"].queryset = cadres
            self.fields["cadre"].label_from_instance = lambda user: user.get_full_name() or user.username


class CallForm(CleanTextMixin, forms.Form):
    result = forms.ChoiceField(
        choices=CallAttempt.Result.choices, widget=forms.RadioSelect, label=_("What came of the call")
    )
    come_on = forms.DateField(required=False, label=_("Will come on"), widget=forms.DateInput(attrs={"type": "date"}))
    next_try = forms.DateField(required=False, label=_("Next try"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(
        required=False, max_length=NOTE_MAX_LENGTH, label=_("Note"), widget=forms.Textarea(attrs={"rows": 2})
    )
