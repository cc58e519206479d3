"""Forms of the site team's workstation. They only read what was typed; the services decide."""

from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaign.lib.text import CleanTextMixin
from residents.models import CONTRAINDICATIONS
from sites.models import AdverseEvent, PreScreening
from sites.services import prescreen_answers


class ScanForm(CleanTextMixin, forms.Form):
    q = forms.CharField(label=_("Scan the slip, or type the ID number"), max_length=100, required=False)
    pick = forms.IntegerField(required=False, widget=forms.HiddenInput)


class ScreeningForm(CleanTextMixin, forms.Form):
    """预检: the six questions again (default no), the temperature and informed consent, in one submit."""

    temperature = forms.DecimalField(
        label=_("temperature (°C)"),
        min_value=Decimal("34.0"),
        max_value=Decimal("43.0"),
        max_digits=3,
        decimal_places=1,
        widget=forms.NumberInput(attrs={"step": "0.1", "inputmode": "decimal", "autocomplete": "off"}),
    )
    consent = forms.BooleanField(label=_("informed consent confirmed (知情同意)"), required=False)
    override_reason = forms.CharField(label=_("reason for the override"), max_length=200, required=False)
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)
    override = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in CONTRAINDICATIONS:
            self.fields[name] = forms.BooleanField(
                label=PreScreening._meta.get_field(name).verbose_name, required=False
            )

    def questions(self):
        return [self[name] for name in CONTRAINDICATIONS]

    def answers(self) -> dict:
        return {name: self.cleaned_data.get(name, False) for name in CONTRAINDICATIONS}

    def positives(self) -> list[str]:
        """The answers that stop the shot, as site_prescreen will read them.

        Used only to ask for a confirmation (or a doctor's override) before the
        screening is recorded; site_prescreen makes the decision.
        """
        answers = prescreen_answers(answers=self.answers(), temperature=self.cleaned_data.get("temperature"))
        return [name for name, yes in answers.items() if yes]

    def would_exclude(self) -> bool:
        return any(CONTRAINDICATIONS[name] == "excluded" for name in self.positives())

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("override") and not (cleaned.get("override_reason") or "").strip():
            self.add_error("override_reason", _("Give the reason for the override."))
        return cleaned


class ShotForm(CleanTextMixin, forms.Form):
    """The lot: chosen among the site's usable lots (sites.supply), or typed in a campaign that tracks none.

    The service decides (an expired lot, or one not in stock here, is refused there).
    """

    lot = forms.IntegerField(label=_("vaccine lot"), required=False, min_value=1)
    lot_number = forms.CharField(
        label=_("vaccine lot number"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}),
    )


class AdverseEventForm(CleanTextMixin, forms.ModelForm):
    """不良反应: what happened, how bad, what was done, and whether the person went to hospital."""

    onset = forms.DateTimeField(
        label=_("onset"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    class Meta:
        model = AdverseEvent
        fields = ["onset", "symptoms", "severity", "action_taken", "referred_to_hospital"]
        widgets = {
            "symptoms": forms.Textarea(attrs={"rows": 2}),
            "action_taken": forms.Textarea(attrs={"rows": 2}),
            "severity": forms.RadioSelect,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["severity"].choices = AdverseEvent.Severity.choices
        if not self.is_bound:
            self.initial.setdefault("onset", timezone.localtime().replace(second=0, microsecond=0))
            self.initial.setdefault("severity", AdverseEvent.Severity.MILD)

    def _get_validation_exclusions(self):
        # adverse_event_report judges the onset against the dose and now, with the message; the
        # table's constraints are its backstop (and checking them here queries year 1 on SQLite).
        return super()._get_validation_exclusions() | {"onset"}
