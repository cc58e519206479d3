"""Users and their roles."""

import datetime
from dataclasses import dataclass, field

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils.translation import gettext as _

from appointments.models import Appointment
from campaign.lib.text import clean_text
from campaign.models import Campaign, Profile, ScreeningQuestion, Village
from campaign.roles import Role
from campaign.screening import BUILTIN, CATALOGUE_BY_CODE
from residents.importing.limits import ImportFileError
from residents.importing.reading import HEADER_SCAN_ROWS, cell_text, header_key, read_sheets
from sites.models import Site


@transaction.atomic
def user_assign_role(*, user, role: str, village=None, site=None) -> Profile:
    """Put a user in exactly one role group and bind them to their village or site.

    Raises ValidationError when the binding does not fit the role: a cadre needs a
    village, a site team member a site, and the other roles neither.
    """
    role = Role(role)
    if role == Role.CADRE and (village is None or site is not None):
        raise ValidationError(_("A village cadre is bound to one village."))
    if role == Role.SITE_TEAM and (site is None or village is not None):
        raise ValidationError(_("A site team member is bound to one site."))
    if role not in (Role.CADRE, Role.SITE_TEAM) and (village is not None or site is not None):
        raise ValidationError(_("Only cadres and site teams are bound to a village or site."))
    user.groups.remove(*Group.objects.filter(name__in=Role.values))
    user.groups.add(Group.objects.get(name=role.value))
    profile, _created = Profile.objects.update_or_create(user=user, defaults={"village": village, "site": site})
    user._campaign_role = role.value
    return profile


# Campaign set-up (the office's guided form, campaign.setup) -----------------------------------------

MAX_DOSES = 5


@dataclass(frozen=True)
class SiteSpec:
    """A site taking part, as the office gives it; a site is the same site across campaigns by its name."""

    name: str
    daily_capacity: int | None
    address: str = ""
    short_name: str = ""


@dataclass(frozen=True)
class VillageSpec:
    """A village with its allocation; `site_name` names one of the campaign's sites."""

    name: str
    population: int | None
    quota: int | None
    site_name: str = ""
    kind: str = ""  # derived from the name when empty (…社区 is a community)


@dataclass(frozen=True)
class QuestionSpec:
    """A screening question: one of campaign.screening.CATALOGUE (its code) or the campaign's own (no code yet)."""

    text: str
    outcome: str
    code: str = ""


@dataclass
class CampaignDraft:
    """Everything a campaign is made of, before it is saved: what campaign_create and campaign_update take."""

    name: str = ""
    vaccine: str = ""
    age_unit: str = Campaign.AgeUnit.YEARS
    min_age: int | None = None
    max_age: int | None = None
    admit_healthy_over_max_age: bool = False
    guardian_under_age: int | None = 18
    doses: int | None = 1
    dose_intervals: list = field(default_factory=list)
    start_date: datetime.date | None = None
    end_date: datetime.date | None = None
    first_dose_deadline: datetime.date | None = None
    target_people: int | None = None
    daily_floor_per_site: int | None = 0
    sites: list = field(default_factory=list)  # [SiteSpec]
    villages: list = field(default_factory=list)  # [VillageSpec]
    questions: list = field(default_factory=list)  # [QuestionSpec], in order

    CAMPAIGN_FIELDS = (
        "name",
        "vaccine",
        "age_unit",
        "min_age",
        "max_age",
        "admit_healthy_over_max_age",
        "guardian_under_age",
        "doses",
        "dose_intervals",
        "start_date",
        "end_date",
        "first_dose_deadline",
        "target_people",
        "daily_floor_per_site",
    )

    def campaign_values(self) -> dict:
        return {name: getattr(self, name) for name in self.CAMPAIGN_FIELDS}


def village_kind(name: str) -> str:
    """A 社区 is a community, anything else a village (the seed's names say which)."""
    return Village.Kind.COMMUNITY if name.endswith("社区") else Village.Kind.VILLAGE


class _Errors:
    """Messages collected by key (a campaign field, or sites / villages / questions)."""

    def __init__(self):
        self.by_key: dict[str, list[str]] = {}

    def add(self, key: str, message: str) -> None:
        self.by_key.setdefault(key, []).append(message)

    def raise_any(self) -> None:
        if self.by_key:
            raise ValidationError(self.by_key)


def campaign_validate(*, draft: CampaignDraft, campaign: Campaign | None = None) -> None:
    """Check a draft as a whole; raises ValidationError({key: [messages]}) saying in words what is wrong.

    Keys are the campaign's field names, "sites", "villages" and "questions". `campaign` is the one
    being changed (its own name is not "taken"), None for a new one.
    """
    errors = _Errors()
    _validate_campaign_fields(draft, campaign, errors)
    site_names = _validate_sites(draft, errors)
    _validate_villages(draft, site_names, errors)
    _validate_questions(draft, errors)
    errors.raise_any()


def _validate_campaign_fields(draft, campaign, errors) -> None:
    required = {
        "name": _("Give the campaign a name."),
        "vaccine": _("Say which vaccine the campaign gives."),
        "min_age": _("Give the youngest age of the target group."),
        "max_age": _("Give the oldest age of the target group."),
        "start_date": _("Give the start date."),
        "end_date": _("Give the end date."),
        "first_dose_deadline": _("Give the first-dose deadline."),
        "target_people": _("Give the number of people to vaccinate."),
        "doses": _("Give the number of doses."),
    }
    for name, message in required.items():
        if getattr(draft, name) in (None, ""):
            errors.add(name, message)
    if draft.name:
        taken = Campaign.objects.filter(name=draft.name)
        if campaign is not None:
            taken = taken.exclude(pk=campaign.pk)
        if taken.exists():
            errors.add(
                "name", _("A campaign named “%(name)s” exists already: choose another name.") % {"name": draft.name}
            )
    if draft.age_unit not in Campaign.AgeUnit.values:
        errors.add("age_unit", _("Choose years or months for the ages."))
    if draft.min_age is not None and draft.max_age is not None and draft.min_age > draft.max_age:
        errors.add(
            "min_age",
            _("The youngest age (%(min)d) is above the oldest (%(max)d).")
            % {"min": draft.min_age, "max": draft.max_age},
        )
    if draft.start_date and draft.end_date and draft.end_date < draft.start_date:
        errors.add("end_date", _("The end date is before the start date."))
    deadline = draft.first_dose_deadline
    if deadline and draft.end_date and deadline > draft.end_date:
        errors.add("first_dose_deadline", _("The first-dose deadline is after the end date."))
    if deadline and draft.start_date and deadline < draft.start_date:
        errors.add("first_dose_deadline", _("The first-dose deadline is before the start date."))
    if draft.target_people is not None and draft.target_people < 1:
        errors.add("target_people", _("The number of people to vaccinate must be at least 1."))
    if draft.daily_floor_per_site is not None and draft.daily_floor_per_site < 0:
        errors.add("daily_floor_per_site", _("The daily floor per site cannot be negative."))
    if draft.guardian_under_age is None or draft.guardian_under_age < 0:
        errors.add("guardian_under_age", _("Give the age under which a guardian registers the person (0 for never)."))
    doses = draft.doses
    if doses is not None and not 1 <= doses <= MAX_DOSES:
        errors.add("doses", _("A campaign gives 1 to %(max)d doses.") % {"max": MAX_DOSES})
    elif doses is not None:
        gaps = list(draft.dose_intervals or [])
        if len(gaps) != doses - 1:
            errors.add(
                "dose_intervals",
                _("%(doses)d doses need %(needed)d gaps in days between them; %(given)d given.")
                % {"doses": doses, "needed": doses - 1, "given": len(gaps)},
            )
        for number, gap in enumerate(gaps, start=1):
            if gap is None or int(gap) < 1:
                errors.add(
                    "dose_intervals",
                    _("The days between dose %(dose)d and dose %(next)d must be at least 1.")
                    % {"dose": number, "next": number + 1},
                )


def _validate_sites(draft, errors) -> set:
    names = set()
    if not draft.sites:
        errors.add("sites", _("Choose at least one site taking part."))
    for site in draft.sites:
        if not site.name:
            errors.add("sites", _("A site has no name."))
            continue
        if site.name in names:
            errors.add("sites", _("The site “%(name)s” is given twice.") % {"name": site.name})
        names.add(site.name)
        if site.daily_capacity is None or site.daily_capacity < 1:
            errors.add(
                "sites", _("The site “%(name)s” needs a daily capacity of at least 1 person.") % {"name": site.name}
            )
    return names


def _validate_villages(draft, site_names, errors) -> None:
    if not draft.villages:
        errors.add("villages", _("Give at least one village with its population and quota."))
    seen = set()
    for village in draft.villages:
        name = village.name
        if not name:
            errors.add("villages", _("A village row has numbers but no name."))
            continue
        if name in seen:
            errors.add("villages", _("The village “%(name)s” is typed twice.") % {"name": name})
        seen.add(name)
        if village.population is None:
            errors.add("villages", _("“%(name)s”: give its population.") % {"name": name})
        if village.quota is None:
            errors.add("villages", _("“%(name)s”: give its quota.") % {"name": name})
        if village.population is not None and village.quota is not None and village.quota > village.population:
            errors.add(
                "villages",
                _("“%(name)s”: the quota (%(quota)d) is above the population (%(population)d).")
                % {"name": name, "quota": village.quota, "population": village.population},
            )
        if not village.site_name:
            errors.add("villages", _("“%(name)s”: choose the site that serves it.") % {"name": name})
        elif village.site_name not in site_names:
            errors.add(
                "villages",
                _("“%(name)s”: its site “%(site)s” is not taking part.") % {"name": name, "site": village.site_name},
            )


def _validate_questions(draft, errors) -> None:
    codes = [question.code for question in draft.questions if question.code]
    if len(codes) != len(set(codes)):
        errors.add("questions", _("A screening question is chosen twice."))
    for question in draft.questions:
        if question.outcome not in ScreeningQuestion.Outcome.values:
            errors.add("questions", _("“%(text)s”: say whether a yes defers or excludes.") % {"text": question.text})
        if question.code and question.code not in CATALOGUE_BY_CODE and not question.code.startswith(OWN_PREFIX):
            errors.add("questions", _("“%(text)s” is not a question of the list.") % {"text": question.text})


OWN_PREFIX = "own_"


def _question_rows(campaign, questions) -> list:
    """ScreeningQuestion rows for `questions` in order; a campaign's own question gets a code own_1, own_2..."""
    used = {q.code for q in questions if q.code}
    counter = 0
    rows = []
    for position, question in enumerate(questions, start=1):
        code = question.code
        if not code:
            while True:
                counter += 1
                code = f"{OWN_PREFIX}{counter}"
                if code not in used:
                    break
            used.add(code)
        rows.append(
            ScreeningQuestion(
                campaign=campaign, code=code, text=str(question.text), outcome=question.outcome, position=position
            )
        )
    return rows


def _site_row(campaign, spec: SiteSpec) -> Site:
    return Site(
        campaign=campaign,
        name=spec.name,
        short_name=(spec.short_name or spec.name)[:20],
        address=spec.address or spec.name,
        daily_capacity=spec.daily_capacity,
    )


@transaction.atomic
def campaign_create(*, draft: CampaignDraft, copied_from: Campaign | None = None) -> Campaign:
    """A new open campaign with its sites, villages and screening questions, in one transaction.

    Raises ValidationError (see campaign_validate) and writes nothing when the draft is wrong.
    """
    campaign_validate(draft=draft)
    try:
        with transaction.atomic():
            campaign = Campaign.objects.create(**draft.campaign_values(), is_open=True, copied_from=copied_from)
    except IntegrityError:  # the same name saved a moment ago
        raise ValidationError(
            {"name": [_("A campaign named “%(name)s” exists already: choose another name.") % {"name": draft.name}]}
        ) from None
    sites = {spec.name: _site_row(campaign, spec) for spec in draft.sites}
    Site.objects.bulk_create(sites.values())
    Village.objects.bulk_create(
        Village(
            campaign=campaign,
            name=spec.name,
            kind=spec.kind or village_kind(spec.name),
            population=spec.population,
            quota=spec.quota,
            site=sites[spec.site_name],
        )
        for spec in draft.villages
    )
    ScreeningQuestion.objects.bulk_create(_question_rows(campaign, draft.questions))
    _site_days(campaign)
    return campaign


def _site_days(campaign) -> None:
    """Each site's days of the campaign's window with its places (bookable from now on; idempotent)."""
    from sites.capacity import site_days_ensure

    site_days_ensure(campaign=campaign)


@transaction.atomic
def campaign_update(*, campaign: Campaign, draft: CampaignDraft) -> Campaign:
    """Change a campaign, its sites, villages and questions, in one transaction.

    Sites and villages are matched by name: a row kept is changed in place (its bookings and cadres
    stay), a new one is added, one left out is removed when nothing refers to it. Raises
    ValidationError, writing nothing, when the draft is wrong, when a site or village left out holds
    records, or when fewer doses are asked than appointments already booked.
    """
    # Why the lock: two office users saving the same campaign would interleave their site rows.
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    campaign_validate(draft=draft, campaign=campaign)
    booked = (
        Appointment.objects.filter(site__campaign=campaign, dose_number__gt=draft.doses)
        .order_by("-dose_number")
        .values_list("dose_number", flat=True)
        .first()
    )
    if booked:
        raise ValidationError(
            {
                "doses": [
                    _("Appointments for dose %(dose)d exist already: the campaign cannot have fewer doses.")
                    % {"dose": booked}
                ]
            }
        )
    for name, value in draft.campaign_values().items():
        setattr(campaign, name, value)
    campaign.save(update_fields=list(draft.campaign_values()))

    existing_sites = {site.name: site for site in Site.objects.filter(campaign=campaign)}
    sites = {}
    for spec in draft.sites:
        site = existing_sites.get(spec.name)
        if site is None:
            site = _site_row(campaign, spec)
            site.save()
        else:
            site.short_name = (spec.short_name or site.short_name or spec.name)[:20]
            site.address = spec.address or site.address
            site.daily_capacity = spec.daily_capacity
            site.save(update_fields=["short_name", "address", "daily_capacity"])
        sites[spec.name] = site

    existing_villages = {village.name: village for village in Village.objects.filter(campaign=campaign)}
    for spec in draft.villages:
        village = existing_villages.get(spec.name)
        if village is None:
            village = Village(campaign=campaign, name=spec.name, kind=spec.kind or village_kind(spec.name))
        village.population = spec.population
        village.quota = spec.quota
        village.site = sites[spec.site_name]
        village.save()
    kept_villages = {spec.name for spec in draft.villages}
    for name, village in existing_villages.items():
        if name not in kept_villages:
            _remove(village, _("The village “%(name)s” has records in this campaign: it cannot be left out."))
    for name, site in existing_sites.items():
        if name not in sites:
            _remove(site, _("The site “%(name)s” has records in this campaign: it cannot be left out."))

    ScreeningQuestion.objects.filter(campaign=campaign).delete()
    ScreeningQuestion.objects.bulk_create(_question_rows(campaign, draft.questions))
    _site_days(campaign)
    return campaign


def _remove(row, message: str) -> None:
    from sites.models import SiteDay

    try:
        with transaction.atomic():
            if isinstance(row, Site):  # its empty days go with it; a day with bookings keeps the site
                SiteDay.objects.filter(site=row, booked=0).delete()
            row.delete()
    except (ProtectedError, RestrictedError, IntegrityError):
        raise ValidationError(
            {"villages" if isinstance(row, Village) else "sites": [message % {"name": row.name}]}
        ) from None


def campaign_draft(campaign: Campaign) -> CampaignDraft:
    """The draft a campaign is: its settings, sites, villages and questions (what the edit form starts from)."""
    values = {name: getattr(campaign, name) for name in CampaignDraft.CAMPAIGN_FIELDS}
    values["dose_intervals"] = list(campaign.dose_intervals or [])
    sites = list(Site.objects.filter(campaign=campaign).order_by("id"))
    site_names = {site.pk: site.name for site in sites}
    return CampaignDraft(
        **values,
        sites=[SiteSpec(s.name, s.daily_capacity, s.address, s.short_name) for s in sites],
        villages=[
            VillageSpec(v.name, v.population, v.quota, site_names.get(v.site_id, ""), v.kind)
            for v in Village.objects.filter(campaign=campaign).order_by("site_id", "id")
        ],
        questions=[QuestionSpec(q.text, q.outcome, q.code) for q in ScreeningQuestion.objects.filter(campaign=campaign)]
        or [QuestionSpec(str(q.text), q.outcome, q.code) for q in BUILTIN],
    )


def campaign_copy_draft(source: Campaign, *, start_date: datetime.date) -> CampaignDraft:
    """`source` as a draft for a new campaign starting on `start_date`: every date moved by the same days."""
    draft = campaign_draft(source)
    shift = start_date - source.start_date
    draft.start_date = source.start_date + shift
    draft.end_date = source.end_date + shift
    draft.first_dose_deadline = source.first_dose_deadline + shift
    draft.name = _("%(name)s (copy)") % {"name": source.name}
    return draft


def campaign_copy(*, source: Campaign, name: str, start_date: datetime.date) -> Campaign:
    """A new campaign like `source` (sites, villages, quotas, questions), named `name`, dates moved to `start_date`."""
    draft = campaign_copy_draft(source, start_date=start_date)
    draft.name = name
    return campaign_create(draft=draft, copied_from=source)


def campaign_close(*, campaign: Campaign) -> Campaign:
    """Close a campaign: it leaves the top bar and its jobs stop. Raises ValidationError for the last open one."""
    with transaction.atomic():
        # Why the lock: two closes at once could each see the other campaign open and close both.
        open_ = list(Campaign.objects.open().select_for_update().order_by("pk"))
        if campaign.pk in {c.pk for c in open_} and len(open_) == 1:
            raise ValidationError(
                _("“%(name)s” is the only open campaign: open another before closing it.") % {"name": campaign.name}
            )
        Campaign.objects.filter(pk=campaign.pk).update(is_open=False)
    campaign.is_open = False
    return campaign


def campaign_reopen(*, campaign: Campaign) -> Campaign:
    """Open a closed campaign again."""
    Campaign.objects.filter(pk=campaign.pk).update(is_open=True)
    campaign.is_open = True
    return campaign


# The county's allocation sheet (附件1: 各村居民疫苗人数分配表): village, population, quota.

ALLOCATION_HEADERS = {
    "village": [
        "村（社区）",
        "村（居）",
        "村居",
        "村社区",
        "村/社区",
        "村名",
        "村",
        "社区",
        "单位",
        "单位名称",
        "村居名称",
    ],
    "population": ["人口数", "人口", "总人口", "户籍人口", "常住人口", "人口总数"],
    "quota": ["分配人数", "分配数", "配额", "任务数", "接种任务数", "任务人数", "目标人数", "应接种人数", "分配任务数"],
}
TOTAL_ROWS = {"合计", "总计", "小计", "全镇合计", "合 计"}


@dataclass
class AllocationRow:
    number: int  # the sheet's row number
    name: str
    population: int | None
    quota: int | None
    site_name: str = ""
    errors: list = field(default_factory=list)
    note: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors


def allocation_import_preview(*, data: bytes, file_name: str = "", known_sites: dict | None = None) -> list:
    """The villages of a county allocation sheet (.xlsx, .xls, .ods or CSV) as AllocationRow, nothing saved.

    The header row (in the first 20 rows, below any title) names the village, the population and the
    quota; a total row (合计) is left out. Each row carries its errors in words (no name, not a whole
    number, quota above population, a village twice) and, from `known_sites` ({village name: site
    name}, the township's earlier campaigns), the site that served it. Raises ImportFileError when the
    file cannot be read or has no such header row.
    """
    lookup = {header_key(alias): key for key, aliases in ALLOCATION_HEADERS.items() for alias in aliases}
    known_sites = known_sites or {}
    for _title, rows in read_sheets(data, file_name):
        columns = None
        found = []
        for number, cells in rows:
            if columns is None:
                if number > HEADER_SCAN_ROWS:
                    break
                matched = {}
                for index, cell in enumerate(cells):
                    key = lookup.get(header_key(cell.value)) if isinstance(cell.value, str) else None
                    if key and key not in matched:
                        matched[key] = index
                if len(matched) == len(ALLOCATION_HEADERS):
                    columns = matched
                continue
            row = _allocation_row(number, cells, columns, known_sites)
            if row is not None:
                found.append(row)
        if columns is not None:
            _mark_repeats(found)
            return found
    raise ImportFileError(
        _(
            "No header row found: none of the first %(rows)d rows names the village (村（社区）), the population "
            "(人口数) and the quota (分配人数)."
        )
        % {"rows": HEADER_SCAN_ROWS}
    )


def _allocation_row(number, cells, columns, known_sites) -> AllocationRow | None:
    def text(key):
        index = columns[key]
        return cell_text(cells[index].value) if index < len(cells) else ""

    name = clean_text_or_empty(text("village"))
    population_text, quota_text = text("population"), text("quota")
    if not name and not population_text and not quota_text:
        return None  # an empty row
    if name.replace(" ", "") in TOTAL_ROWS:
        return None
    row = AllocationRow(number=number, name=name, population=None, quota=None)
    if not name:
        row.errors.append(_("no village name"))
    elif len(name) > Village._meta.get_field("name").max_length:
        row.errors.append(_("the village name is too long"))
    row.population = _whole_number(population_text, _("population"), row)
    row.quota = _whole_number(quota_text, _("quota"), row)
    if row.population is not None and row.quota is not None and row.quota > row.population:
        row.errors.append(
            _("the quota (%(quota)d) is above the population (%(population)d)")
            % {"quota": row.quota, "population": row.population}
        )
    row.site_name = known_sites.get(name, "")
    if name and not row.site_name:
        row.note = _("new village: choose its site")
    return row


def clean_text_or_empty(text: str) -> str:
    try:
        return clean_text(text).strip()
    except ValidationError:
        return ""


def _whole_number(text: str, what: str, row: AllocationRow) -> int | None:
    value = text.replace(",", "").replace("，", "").strip()
    if not value:
        row.errors.append(_("no %(what)s") % {"what": what})
        return None
    if not value.isascii() or not value.isdigit():
        row.errors.append(_("the %(what)s “%(value)s” is not a whole number") % {"what": what, "value": text[:20]})
        return None
    if len(value) > 9:
        row.errors.append(_("the %(what)s %(value)s is too large") % {"what": what, "value": value[:12]})
        return None
    return int(value)


def _mark_repeats(rows) -> None:
    seen = {}
    for row in rows:
        if not row.name:
            continue
        if row.name in seen:
            row.errors.append(_("“%(name)s” is also on row %(row)d") % {"name": row.name, "row": seen[row.name]})
        else:
            seen[row.name] = row.number
