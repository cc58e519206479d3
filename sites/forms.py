"""Forms of the site team's workstation. They only read what was typed; the services decide."""

from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from campaign.lib.text import CleanTextMixin
from residents.forms import ScreeningQuestionsMixin
from residents.services import screening_outcome
from sites.dose_record import site_vaccinators
from sites.models import AdverseEvent, Lot, Vaccination, Vaccinator
from sites.services import prescreen_answers


class ScanForm(CleanTextMixin, forms.Form):
    q = forms.CharField(label=_("Scan the slip, or type the ID number"), max_length=100, required=False)
    pick = forms.IntegerField(required=False, widget=forms.HiddenInput)


class ScreeningForm(CleanTextMixin, ScreeningQuestionsMixin, forms.Form):
    """预检: the campaign's questions again (default no), the temperature and informed consent, in one submit.

    `campaign` is the appointment's (its questions: campaign.screening.questions_for; the seed's
    six without one); `answers` ({code: bool}) the ones given minutes ago at the desk, if any.
    """

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

    def __init__(self, *args, campaign=None, answers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_screening_fields(campaign, answers)

    def positives(self) -> list[str]:
        """The answers that stop the shot, as site_prescreen will read them.

        Used only to ask for a confirmation (or a doctor's override) before the
        screening is recorded; site_prescreen makes the decision.
        """
        answers = prescreen_answers(answers=self.answers(), temperature=self.cleaned_data.get("temperature"))
        return [name for name, yes in answers.items() if yes]

    def would_exclude(self) -> bool:
        return screening_outcome(self.campaign, self.positives()) == "excluded"

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
    injection_site = forms.ChoiceField(
        label=_("injection site"), choices=Vaccination.InjectionSite.choices, widget=forms.RadioSelect
    )


class ShiftForm(CleanTextMixin, forms.Form):
    """The nurse's name, picked once per shift at the shot step."""

    vaccinator = forms.ModelChoiceField(label=_("vaccinator"), queryset=Vaccinator.objects.none())

    def __init__(self, *args, site, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["vaccinator"].queryset = site_vaccinators(site)


class VaccinatorForm(CleanTextMixin, forms.Form):
    name = forms.CharField(label=pgettext_lazy("person", "name"), max_length=50)


class DoseCorrectionForm(CleanTextMixin, forms.Form):
    """更正: the dose's values as they should be, and why. Only what differs from the record changes."""

    vaccinated_at = forms.DateTimeField(
        label=_("time of vaccination"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    given_by = forms.ModelChoiceField(label=_("vaccinator"), queryset=Vaccinator.objects.none(), required=False)
    lot = forms.ModelChoiceField(label=_("lot"), queryset=Lot.objects.none(), required=False)
    injection_site = forms.ChoiceField(
        label=_("injection site"), choices=[("", "—"), *Vaccination.InjectionSite.choices], required=False
    )
    reason = forms.CharField(label=_("reason for the correction"), max_length=200)

    def __init__(self, *args, vaccination, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["given_by"].queryset = site_vaccinators(vaccination.site, active_only=False)
        self.fields["lot"].queryset = Lot.objects.filter(campaign_id=vaccination.site.campaign_id)
        for name, field in self.fields.items():
            select = isinstance(field.widget, forms.Select)
            field.widget.attrs.update(
                {"class": "form-select" if select else "form-control", "data-testid": f"correct-{name}"}
            )
        if not self.is_bound:
            self.initial.update(
                vaccinated_at=timezone.localtime(vaccination.vaccinated_at).replace(second=0, microsecond=0),
                given_by=vaccination.given_by_id,
                lot=vaccination.lot_id,
                injection_site=vaccination.injection_site,
            )

    def changes(self, vaccination) -> dict:
        """What differs from the record, as vaccination_correct's arguments (the same minute is no change)."""
        data = self.cleaned_data
        changes = {}
        at = data.get("vaccinated_at")
        if at is not None and at != vaccination.vaccinated_at.replace(second=0, microsecond=0):
            changes["vaccinated_at"] = at
        for name in ("given_by", "lot"):
            if data.get(name) is not None and data[name].pk != getattr(vaccination, f"{name}_id"):
                changes[name] = data[name]
        if data.get("injection_site") and data["injection_site"] != vaccination.injection_site:
            changes["injection_site"] = data["injection_site"]
        return changes


class DoseVoidForm(CleanTextMixin, forms.Form):
    reason = forms.CharField(label=_("reason for voiding"), max_length=200)


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
