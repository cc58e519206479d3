from django import forms
from django.utils.translation import gettext_lazy as _

from campaign.lib.text import CleanTextMixin
from reports.models import SupervisionFinding, SupervisionThresholds
from reports.supervision.services import parse_iso_week


class ThresholdsForm(CleanTextMixin, forms.ModelForm):
    class Meta:
        model = SupervisionThresholds
        fields = ["notice_gap", "talk_gap", "deduct_gap"]
        widgets = {name: forms.NumberInput(attrs={"min": 1, "max": 100}) for name in fields}

    def _get_validation_exclusions(self):
        # clean() gives the increasing rule its message; the model's named constraint would repeat it
        # as "constraint … is violated", and the service saves through the same rule anyway.
        return super()._get_validation_exclusions() | set(self.Meta.fields)

    def clean(self):
        data = super().clean()
        notice, talk, deduct = (data.get(k) for k in ("notice_gap", "talk_gap", "deduct_gap"))
        if None not in (notice, talk, deduct) and not 1 <= notice < talk < deduct:
            raise forms.ValidationError(
                _("The gaps must increase: notice < formal talk < point deduction, from 1 point.")
            )
        return data


class WeekForm(CleanTextMixin, forms.Form):
    """An ISO week as the browser's week picker sends it (2021-W15); cleaned to its Monday."""

    week = forms.CharField(label=_("week number"), widget=forms.TextInput(attrs={"type": "week"}))

    def clean_week(self):
        try:
            return parse_iso_week(self.cleaned_data["week"])
        except ValueError:
            raise forms.ValidationError(_("Choose a week, e.g. 2021-W15.")) from None


class FindingForm(CleanTextMixin, forms.Form):
    village = forms.ModelChoiceField(label=_("village or community"), queryset=None)
    level = forms.ChoiceField(label=_("level"), choices=SupervisionFinding.Level.choices, required=False)
    points_deducted = forms.IntegerField(label=_("points deducted"), min_value=0, max_value=100, initial=0)
    text = forms.CharField(label=_("findings"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, villages, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["village"].queryset = villages
        for name, field in self.fields.items():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.update({"class": css, "data-testid": f"finding-{name}"})

    def clean(self):
        data = super().clean()
        level, points = data.get("level") or "", data.get("points_deducted") or 0
        if points and level != SupervisionFinding.Level.DEDUCT:
            self.add_error("points_deducted", _("Points are deducted only with a point deduction (扣分)."))
        if level == SupervisionFinding.Level.DEDUCT and not points:
            self.add_error("points_deducted", _("A point deduction needs the points deducted."))
        return data
