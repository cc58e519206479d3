"""The office's guided campaign form: one page in sections, each a small form or formset.

The forms only read what was typed; campaign.services decides what is right (campaign_validate).
"""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from campaign.lib.text import CleanTextMixin
from campaign.models import Campaign, ScreeningQuestion
from campaign.screening import BUILTIN, CATALOGUE, CATALOGUE_BY_CODE
from campaign.services import MAX_DOSES, CampaignDraft, QuestionSpec, SiteSpec, VillageSpec
from residents.importing.limits import limits

GAP_FIELDS = [f"gap_{n}" for n in range(1, MAX_DOSES)]  # gap_1: days between dose 1 and dose 2, ...
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class CampaignForm(CleanTextMixin, forms.Form):
    name = forms.CharField(label=_("campaign name"), max_length=100, required=False)
    vaccine = forms.CharField(label=_("vaccine"), max_length=100, required=False)
    age_unit = forms.ChoiceField(label=_("ages in"), choices=Campaign.AgeUnit.choices, initial="years", required=False)
    min_age = forms.IntegerField(label=_("from age"), min_value=0, max_value=150, required=False)
    max_age = forms.IntegerField(label=_("to age"), min_value=0, max_value=1800, required=False)
    admit_healthy_over_max_age = forms.BooleanField(
        label=_("healthy people above the age range are admitted too"), required=False
    )
    guardian_under_age = forms.IntegerField(
        label=_("a guardian registers people under (years)"),
        min_value=0,
        max_value=150,
        required=False,
        help_text=_("18 by law; 0 when nobody needs a guardian."),
    )
    doses = forms.TypedChoiceField(
        label=_("number of doses"),
        choices=[(n, n) for n in range(1, MAX_DOSES + 1)],
        coerce=int,
        initial=1,
        required=False,
        empty_value=None,
    )
    start_date = forms.DateField(label=_("start date"), required=False, widget=DATE_INPUT)
    end_date = forms.DateField(label=_("end date"), required=False, widget=DATE_INPUT)
    first_dose_deadline = forms.DateField(
        label=_("first-dose deadline"),
        required=False,
        widget=DATE_INPUT,
        help_text=_("The last day a first dose is booked, so later doses fit before the end."),
    )
    target_people = forms.IntegerField(label=_("people to vaccinate (target)"), min_value=0, required=False)
    daily_floor_per_site = forms.IntegerField(
        label=_("daily floor per site (people a day)"), min_value=0, required=False, initial=0
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for number, name in enumerate(GAP_FIELDS, start=1):
            self.fields[name] = forms.IntegerField(
                label=_("days between dose %(dose)d and dose %(next)d") % {"dose": number, "next": number + 1},
                required=False,
                min_value=-1000,
                max_value=1000,
            )

    def gap_fields(self):
        """(dose number it follows, bound field) for each gap."""
        return [(number, self[name]) for number, name in enumerate(GAP_FIELDS, start=1)]

    def chosen_doses(self) -> int:
        value = self["doses"].value()
        try:
            return max(1, min(MAX_DOSES, int(value)))
        except (TypeError, ValueError):
            return 1

    @staticmethod
    def initial_from(draft: CampaignDraft) -> dict:
        initial = {name: getattr(draft, name) for name in CampaignDraft.CAMPAIGN_FIELDS if name != "dose_intervals"}
        for name, gap in zip(GAP_FIELDS, draft.dose_intervals or [], strict=False):
            initial[name] = gap
        return initial


class RowForm(CleanTextMixin, forms.Form):
    """A row of a table: its inputs small, without labels of their own (the table's head names them)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select form-select-sm"
            else:
                css = "form-control form-control-sm"
            widget.attrs.setdefault("class", css)
            widget.attrs.setdefault("aria-label", str(field.label or name))


class SiteForm(RowForm):
    # Ticked on a new row: a site typed there takes part; the township's other sites come unticked.
    take_part = forms.BooleanField(label=pgettext_lazy("campaign setup", "takes part"), required=False, initial=True)
    name = forms.CharField(label=pgettext_lazy("campaign setup", "site"), max_length=100, required=False)
    short_name = forms.CharField(label=pgettext_lazy("campaign setup", "short name"), max_length=20, required=False)
    address = forms.CharField(label=pgettext_lazy("campaign setup", "address"), max_length=200, required=False)
    daily_capacity = forms.IntegerField(
        label=pgettext_lazy("campaign setup", "people a day"), min_value=0, max_value=100000, required=False
    )

    def spec(self) -> SiteSpec | None:
        data = self.cleaned_data
        name = (data.get("name") or "").strip()
        if not data.get("take_part"):
            return None  # a known site not chosen this time
        if not name and data.get("daily_capacity") is None and not data.get("address"):
            return None  # an empty row
        return SiteSpec(
            name, data.get("daily_capacity"), (data.get("address") or "").strip(), data.get("short_name") or ""
        )


SiteFormSet = forms.formset_factory(SiteForm, extra=1, max_num=100, absolute_max=100)


class VillageForm(RowForm):
    name = forms.CharField(label=pgettext_lazy("campaign setup", "village or community"), max_length=50, required=False)
    population = forms.IntegerField(
        label=pgettext_lazy("campaign setup", "population"), min_value=0, max_value=10_000_000, required=False
    )
    quota = forms.IntegerField(
        label=pgettext_lazy("campaign setup", "quota"), min_value=0, max_value=10_000_000, required=False
    )
    site = forms.ChoiceField(label=pgettext_lazy("campaign setup", "site"), required=False)

    def __init__(self, *args, site_names=(), **kwargs):
        super().__init__(*args, **kwargs)
        names = list(dict.fromkeys([*site_names, self.initial.get("site") or ""]))
        self.fields["site"].choices = [("", "---------")] + [(n, n) for n in names if n]

    def spec(self) -> VillageSpec | None:
        data = self.cleaned_data
        if data.get("DELETE"):
            return None
        name = (data.get("name") or "").strip()
        if not name and data.get("population") is None and data.get("quota") is None:
            return None
        kind = self.initial.get("kind") or ""
        return VillageSpec(name, data.get("population"), data.get("quota"), data.get("site") or "", kind)


class BaseVillageFormSet(forms.BaseFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].label = pgettext_lazy("campaign setup", "leave out")
            form.fields["DELETE"].widget.attrs.update(
                {"class": "form-check-input", "aria-label": pgettext_lazy("campaign setup", "leave out")}
            )


VillageFormSet = forms.formset_factory(
    VillageForm, formset=BaseVillageFormSet, extra=2, can_delete=True, max_num=500, absolute_max=500
)


class QuestionsForm(CleanTextMixin, forms.Form):
    catalogue = forms.MultipleChoiceField(
        label=_("questions from the list"),
        choices=[(q.code, q.text) for q in CATALOGUE],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        initial=[q.code for q in BUILTIN],
    )


class OwnQuestionForm(RowForm):
    text = forms.CharField(
        label=pgettext_lazy("campaign setup", "the campaign's own question"), max_length=200, required=False
    )
    outcome = forms.ChoiceField(
        label=pgettext_lazy("campaign setup", "a yes leads to"),
        choices=ScreeningQuestion.Outcome.choices,
        initial="deferred",
        required=False,
    )
    code = forms.CharField(widget=forms.HiddenInput, required=False, max_length=40)

    def spec(self) -> QuestionSpec | None:
        text = (self.cleaned_data.get("text") or "").strip()
        if not text:
            return None
        return QuestionSpec(text, self.cleaned_data.get("outcome") or "", self.cleaned_data.get("code") or "")


OwnQuestionFormSet = forms.formset_factory(OwnQuestionForm, extra=2, max_num=30, absolute_max=30)


class AllocationFileForm(CleanTextMixin, forms.Form):
    file = forms.FileField(
        label=_("the county's allocation sheet (附件1)"),
        required=False,
        help_text=_(
            "Columns village (村（社区）), population (人口数) and quota (分配人数); .xlsx, .xls, .ods or .csv."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.xls,.et,.ods,.csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload is not None and upload.size > limits().upload_bytes:
            raise forms.ValidationError(_("The file is too large."))
        return upload


class ConfirmForm(CleanTextMixin, forms.Form):
    """A button's POST: it sends `confirm` with its action's name, so an empty or stray POST changes nothing."""

    confirm = forms.CharField(max_length=10)

    def __init__(self, *args, action: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.action = action

    def clean_confirm(self):
        if self.cleaned_data["confirm"] != self.action:
            raise forms.ValidationError("")
        return self.cleaned_data["confirm"]


def site_rows_initial(draft_sites, known_sites) -> list[dict]:
    """The draft's sites (ticked), then the township's other known sites (not ticked)."""
    rows = [
        {
            "take_part": True,
            "name": s.name,
            "short_name": s.short_name,
            "address": s.address,
            "daily_capacity": s.daily_capacity,
        }
        for s in draft_sites
    ]
    chosen = {s.name for s in draft_sites}
    rows += [
        {
            "take_part": False,
            "name": s.name,
            "short_name": s.short_name,
            "address": s.address,
            "daily_capacity": s.daily_capacity,
        }
        for s in known_sites
        if s.name not in chosen
    ]
    return rows


def village_rows_initial(villages) -> list[dict]:
    return [
        {"name": v.name, "population": v.population, "quota": v.quota, "site": v.site_name, "kind": v.kind}
        for v in villages
    ]


def question_initial(questions):
    """(the catalogue codes chosen, the own questions' rows) of a draft's questions."""
    codes = [q.code for q in questions if q.code in CATALOGUE_BY_CODE]
    own = [{"text": q.text, "outcome": q.outcome, "code": q.code} for q in questions if q.code not in CATALOGUE_BY_CODE]
    return codes, own
