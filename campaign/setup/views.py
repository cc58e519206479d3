"""The office's campaign set-up: the list of campaigns, and one guided page to create, change or copy one.

The page is one form in sections. Two buttons re-show it without saving: one shows the gap fields
for the chosen number of doses (JavaScript does it at once; the button is for browsers without
it), one reads the county's allocation sheet into the villages and shows its rows with their
errors. Saving hands the whole draft to campaign.services, which checks it and writes it at once.
"""

import re

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campaign import selectors, services
from campaign.lib.access import role_required
from campaign.models import Campaign
from campaign.roles import Role
from campaign.scope import campaign_choose
from campaign.screening import BUILTIN, CATALOGUE_BY_CODE
from campaign.services import CampaignDraft, QuestionSpec
from campaign.setup.forms import (
    GAP_FIELDS,
    AllocationFileForm,
    CampaignForm,
    ConfirmForm,
    OwnQuestionFormSet,
    QuestionsForm,
    SiteFormSet,
    VillageFormSet,
    question_initial,
    site_rows_initial,
    village_rows_initial,
)
from residents.importing.limits import ImportFileError

SECTION_KEYS = ("dose_intervals", "sites", "villages", "questions")
_SITE_NAME = re.compile(r"^sites-\d+-name$")


class SetupPage:
    """The forms of the set-up page: filled from a draft, or bound to what was posted."""

    def __init__(self, *, campaign_form, sites, villages, questions, own, upload):
        self.campaign_form = campaign_form
        self.sites = sites
        self.villages = villages
        self.questions = questions
        self.own = own
        self.upload = upload
        self.section_errors: dict[str, list[str]] = {}
        self.preview = None  # [AllocationRow] after reading a sheet
        self.preview_error = ""
        self.flagged_villages: set[str] = set()  # rows named in a message, marked in the table

    @classmethod
    def from_draft(cls, draft: CampaignDraft, known_sites) -> "SetupPage":
        codes, own = question_initial(draft.questions)
        return cls(
            campaign_form=CampaignForm(initial=CampaignForm.initial_from(draft)),
            sites=SiteFormSet(prefix="sites", initial=site_rows_initial(draft.sites, known_sites)),
            villages=cls._villages(None, village_rows_initial(draft.villages), draft.sites, known_sites),
            questions=QuestionsForm(initial={"catalogue": codes}),
            own=OwnQuestionFormSet(prefix="own", initial=own),
            upload=AllocationFileForm(),
        )

    @classmethod
    def bound(cls, data, files, known_sites) -> "SetupPage":
        typed = [value.strip() for key, value in data.items() if _SITE_NAME.match(key) and value.strip()]
        return cls(
            campaign_form=CampaignForm(data),
            sites=SiteFormSet(data, prefix="sites"),
            villages=VillageFormSet(
                data, prefix="villages", form_kwargs={"site_names": _site_names(typed, known_sites)}
            ),
            questions=QuestionsForm(data),
            own=OwnQuestionFormSet(data, prefix="own"),
            upload=AllocationFileForm(data, files),
        )

    @staticmethod
    def _villages(data, initial, draft_sites, known_sites):
        names = _site_names([s.name for s in draft_sites], known_sites)
        return VillageFormSet(data, prefix="villages", initial=initial, form_kwargs={"site_names": names})

    def unbound_copy(self, known_sites, *, villages=None) -> "SetupPage":
        """What was posted, shown again as a fresh form (no error marks): the page re-shown without saving."""
        sites = [_values(form) for form in self.sites.forms if _values(form).get("name")]
        typed = [row["name"] for row in sites if row.get("take_part")]
        if villages is None:
            villages = [row for row in (_values(form) for form in self.villages.forms) if row.get("name")]
            villages = [row for row in villages if not row.get("DELETE")]
        own = [row for row in (_values(form) for form in self.own.forms) if row.get("text")]
        page = SetupPage(
            campaign_form=CampaignForm(initial=_values(self.campaign_form)),
            sites=SiteFormSet(prefix="sites", initial=sites),
            villages=VillageFormSet(
                prefix="villages", initial=villages, form_kwargs={"site_names": _site_names(typed, known_sites)}
            ),
            questions=QuestionsForm(initial={"catalogue": self.questions["catalogue"].value() or []}),
            own=OwnQuestionFormSet(prefix="own", initial=own),
            upload=AllocationFileForm(),
        )
        return page

    def is_valid(self) -> bool:
        parts = [self.campaign_form, self.sites, self.villages, self.questions, self.own]
        valid = [part.is_valid() for part in parts]  # every part validated, so each shows its errors
        return all(valid)

    def draft(self) -> CampaignDraft:
        data = self.campaign_form.cleaned_data
        values = {name: data.get(name) for name in CampaignDraft.CAMPAIGN_FIELDS if name != "dose_intervals"}
        values["name"] = (values["name"] or "").strip()
        values["vaccine"] = (values["vaccine"] or "").strip()
        values["admit_healthy_over_max_age"] = bool(values["admit_healthy_over_max_age"])
        doses = data.get("doses") or 1
        values["age_unit"] = values["age_unit"] or ""
        # The gaps the chosen number of doses has; the fields beyond it are hidden and not read.
        gaps = [data.get(name) for name in GAP_FIELDS[: doses - 1]]
        questions = [
            QuestionSpec(str(CATALOGUE_BY_CODE[code].text), CATALOGUE_BY_CODE[code].outcome, code)
            for code in self.questions.cleaned_data.get("catalogue") or []
        ]
        questions += [spec for spec in (form.spec() for form in self.own.forms) if spec is not None]
        return CampaignDraft(
            **values,
            dose_intervals=[gap for gap in gaps if gap is not None],
            sites=[spec for spec in (form.spec() for form in self.sites.forms) if spec is not None],
            villages=[spec for spec in (form.spec() for form in self.villages.forms) if spec is not None],
            questions=questions,
        )

    def add_errors(self, error: ValidationError, draft: CampaignDraft) -> None:
        """campaign_validate's messages: at their field when the form has it, else at their section."""
        by_key = error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
        about_villages = " ".join(by_key.get("villages", []))
        self.flagged_villages = {v.name for v in draft.villages if v.name and f"“{v.name}”" in about_villages}
        for key, texts in by_key.items():
            if key in self.campaign_form.fields:
                self.campaign_form.add_error(key, texts)
            else:
                self.section_errors.setdefault(key if key in SECTION_KEYS else "__all__", []).extend(texts)

    @property
    def all_errors(self) -> list[str]:
        found = []
        if self.campaign_form.is_bound:
            for name, texts in self.campaign_form.errors.items():
                label = self.campaign_form.fields[name].label if name in self.campaign_form.fields else ""
                found += [f"{label}：{text}" if label else text for text in texts]
            for part in (self.sites, self.villages, self.own):
                if part.is_bound and (part.non_form_errors() or any(part.errors)):
                    found.append(_("Some rows below are marked: correct them."))
                    break
        for texts in self.section_errors.values():
            found += texts
        return list(dict.fromkeys(found))

    def gap_rows(self):
        doses = self.campaign_form.chosen_doses()
        return [(number, field, number >= doses) for number, field in self.campaign_form.gap_fields()]


def _values(form) -> dict:
    return {name: form[name].value() for name in form.fields}


def _site_names(typed, known_sites) -> list[str]:
    return list(dict.fromkeys([*typed, *(site.name for site in known_sites)]))


def _new_draft() -> CampaignDraft:
    """A new campaign starts from what the township knows: its sites, its villages (no quotas), the six questions."""
    return CampaignDraft(
        sites=selectors.township_sites(),
        villages=selectors.township_villages(),
        questions=[QuestionSpec(str(q.text), q.outcome, q.code) for q in BUILTIN],
    )


@role_required(Role.OFFICE)
def setup_list(request):
    """Every campaign with its window, doses and target; open ones can be closed, closed ones reopened."""
    return render(request, "campaign/setup/list.html", {"campaigns": selectors.campaign_list()})


@role_required(Role.OFFICE)
def setup_create(request):
    """A new campaign from the guided form, prefilled with the township's sites and villages."""
    return _setup_page(
        request, draft=_new_draft() if request.method != "POST" else None, campaign=None, copied_from=None
    )


@role_required(Role.OFFICE)
def setup_edit(request, pk):
    """Change a campaign: the same form, filled with what it is."""
    campaign = get_object_or_404(Campaign, pk=pk)
    draft = services.campaign_draft(campaign) if request.method != "POST" else None
    return _setup_page(request, draft=draft, campaign=campaign, copied_from=None)


@role_required(Role.OFFICE)
def setup_copy(request, pk):
    """A new campaign like an earlier one: everything filled in, the dates moved to start today."""
    source = get_object_or_404(Campaign, pk=pk)
    draft = None
    if request.method != "POST":
        draft = services.campaign_copy_draft(source, start_date=timezone.localdate())
    return _setup_page(request, draft=draft, campaign=None, copied_from=source)


def _setup_page(request, *, draft, campaign, copied_from):
    known_sites = selectors.township_sites()
    status = 200
    if request.method == "POST":
        posted = SetupPage.bound(request.POST, request.FILES, known_sites)
        if "preview_import" in request.POST:
            page = _import_preview(posted, known_sites)
        elif "refresh" in request.POST:
            page = posted.unbound_copy(known_sites)
        else:
            page = posted
            if page.is_valid():
                draft = page.draft()
                try:
                    if campaign is not None:
                        saved = services.campaign_update(campaign=campaign, draft=draft)
                    else:
                        saved = services.campaign_create(draft=draft, copied_from=copied_from)
                        campaign_choose(request, saved)  # the office goes on in the campaign it set up
                except ValidationError as error:
                    page.add_errors(error, draft)
                else:
                    done = (
                        _("The campaign “%(name)s” is saved.") if campaign else _("The campaign “%(name)s” is created.")
                    )
                    messages.success(request, done % {"name": saved.name})
                    return redirect("campaign:setup")
            status = 400
    else:
        page = SetupPage.from_draft(draft, known_sites)
    context = {"page": page, "campaign": campaign, "copied_from": copied_from}
    return render(request, "campaign/setup/form.html", context, status=status)


def _import_preview(posted: SetupPage, known_sites) -> SetupPage:
    """The page again, its villages replaced by the sheet's rows; the rows and their errors shown above them."""
    upload = posted.upload.cleaned_data.get("file") if posted.upload.is_valid() else None
    if upload is None:
        page = posted.unbound_copy(known_sites)
        page.preview_error = " ".join(posted.upload.errors.get("file", [])) or _("Choose the allocation sheet first.")
        return page
    # A village keeps the site the form gave it, else the one that served it in an earlier campaign.
    sites_of = selectors.township_village_sites()
    for form in posted.villages.forms:
        values = _values(form)
        if values.get("name") and values.get("site"):
            sites_of[values["name"].strip()] = values["site"]
    try:
        rows = services.allocation_import_preview(data=upload.read(), file_name=upload.name, known_sites=sites_of)
    except ImportFileError as error:
        page = posted.unbound_copy(known_sites)
        page.preview_error = str(error)
        return page
    villages = [
        {"name": r.name, "population": r.population, "quota": r.quota, "site": r.site_name} for r in rows if r.name
    ]
    page = posted.unbound_copy(known_sites, villages=villages)
    page.preview = rows
    return page


@require_POST
@role_required(Role.OFFICE)
def setup_close(request, pk):
    """Close a campaign (it leaves the top bar and its jobs stop); the last open one stays open."""
    campaign = get_object_or_404(Campaign, pk=pk)
    if not ConfirmForm(request.POST, action="close").is_valid():
        return _refused(request)
    try:
        services.campaign_close(campaign=campaign)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The campaign “%(name)s” is closed.") % {"name": campaign.name})
    return redirect("campaign:setup")


@require_POST
@role_required(Role.OFFICE)
def setup_reopen(request, pk):
    """Open a closed campaign again."""
    campaign = get_object_or_404(Campaign, pk=pk)
    if not ConfirmForm(request.POST, action="reopen").is_valid():
        return _refused(request)
    services.campaign_reopen(campaign=campaign)
    messages.success(request, _("The campaign “%(name)s” is open again.") % {"name": campaign.name})
    return redirect("campaign:setup")


def _refused(request):
    context = {
        "campaigns": selectors.campaign_list(),
        "refused": _("Nothing was changed: use the buttons of the list."),
    }
    return render(request, "campaign/setup/list.html", context, status=400)
