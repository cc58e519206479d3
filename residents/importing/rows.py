"""Cleaning and judging the rows of a sheet: new, update, unchanged or error, and why.

Judging is not forgiving: every value goes through the same service functions as the
registration form (residents.services), and duplicates are errors.
"""

import datetime
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from campaign.lib.idnumber import make_id_number, normalize_id_number
from campaign.lib.text import displayable, refuse_unsafe
from residents.importing.reading import BRACKETED, Sheet, blank, cell_text, header_key
from residents.models import CONTRAINDICATIONS, Resident
from residents.services import (
    duplicate_message,
    eligibility_decide,
    normalize_name,
    normalize_phone,
    registration_check,
)

SHOWN_CHARS = 50  # a name's maximum length (residents.services.NAME_MAX_LENGTH); longer text is wrong anyway
DETAILED_ERRORS = 1_000  # rows with errors kept with their cells and messages (see _forget_details)
# ID numbers looked up per query: one query for a village's sheet, and within SQLite's limits.
LOOKUP_BATCH = 5_000

NEW, UPDATE, UNCHANGED, ERROR = "new", "update", "unchanged", "error"
ACTIONS = (NEW, UPDATE, UNCHANGED, ERROR)

BASIS_VALUES = {
    Resident.Basis.HOUSEHOLD: ["户籍地", "户籍", "户口", "户口所在地", "household"],
    Resident.Basis.RESIDENCE: ["居住地", "常住", "居住", "现居住地", "常住地", "residence"],
    Resident.Basis.WORKPLACE: ["工作地", "工作", "工作地点", "workplace"],
}
PRIORITY_VALUES = {
    Resident.PriorityGroup.GENERAL: ["一般人群", "普通人群", "一般", "general"],
    Resident.PriorityGroup.KEY_OCCUPATION: ["重点行业人员", "重点行业", "key_occupation"],
    Resident.PriorityGroup.PUBLIC_SERVICE: ["党政机关和企事业单位人员", "机关事业单位", "public_service"],
    Resident.PriorityGroup.EDUCATION: ["学校教职员工", "教职员工", "教职工", "education"],
    Resident.PriorityGroup.MIGRANT_WORKER: ["外出务工人员", "外出务工", "migrant_worker"],
    Resident.PriorityGroup.ELDERLY: ["60周岁及以上", "60岁及以上", "60岁以上", "老年人", "elderly"],
}
YES = {"是", "有", "√", "✓", "✔", "y", "yes", "1", "true", "对"}
NO = {"否", "无", "没有", "×", "✗", "✘", "n", "no", "0", "false", "不是", ""}

# The template's example row; a sheet that still carries it does not import it.
EXAMPLE_NAME = "张三（示例）"
EXAMPLE_ID_NUMBER = make_id_number("110101", datetime.date(1990, 1, 1), 1)

_SCIENTIFIC = re.compile(r"^[0-9](\.[0-9]+)?E\+?[0-9]+$", re.IGNORECASE)


@dataclass
class RowResult:
    row: int
    action: str = NEW
    cells: dict = field(default_factory=dict)  # field -> text as read (cleaned), for display
    errors: dict = field(default_factory=dict)  # field -> message
    values: dict = field(default_factory=dict)  # field -> value to write
    resident: int | None = None
    changes: list = field(default_factory=list)
    status: str = ""
    reasons: list = field(default_factory=list)


@dataclass
class Preview:
    sheet: Sheet
    rows: list[RowResult]
    skipped_example: bool = False

    @property
    def counts(self) -> dict:
        counts = dict.fromkeys(ACTIONS, 0)
        for row in self.rows:
            counts[row.action] += 1
        return counts

    @property
    def signature(self) -> str:
        """A digest of what would be written: equal digests, equal writes."""
        plan = [[r.row, r.action, r.resident, r.values, sorted(r.errors)] for r in self.rows]
        return hashlib.sha256(json.dumps(plan, sort_keys=True, default=str).encode()).hexdigest()


def _value_lookup(table: dict) -> dict:
    return {header_key(alias): value for value, aliases in table.items() for alias in aliases}


_BASIS_LOOKUP = _value_lookup(BASIS_VALUES)
_PRIORITY_LOOKUP = _value_lookup(PRIORITY_VALUES)


def yes_no(value) -> bool | None:
    if isinstance(value, bool):
        return value
    text = cell_text(value).lower()
    if text in YES:
        return True
    if text in NO:
        return False
    return None


def _cadre_lookup(village) -> dict[str, list[User]]:
    """The village's users by every name a cadre might write for them."""
    lookup: dict[str, list[User]] = {}
    for user in User.objects.filter(is_active=True, profile__village=village):
        full = user.get_full_name()
        # "王芳（青山社区）" is written "王芳" on a sheet.
        names = {user.username.lower(), full, user.first_name, BRACKETED.sub("", full)}
        for name in names:
            key = re.sub(r"\s+", "", unicodedata.normalize("NFKC", name or ""))
            if key and user not in lookup.setdefault(key, []):
                lookup[key].append(user)
    return lookup


def _shown(text: str) -> str:
    """A cell's text as the preview keeps and quotes it: at most SHOWN_CHARS, so that 20,000 rows of
    long cells (each within the cell limit) stay a small preview; the error report has the cells in full."""
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def _message(error: ValidationError) -> str:
    return " ".join(error.messages)


def _judge_row(row_number, values, columns, *, campaign, cadres, on) -> RowResult:
    """Clean and check one row on its own (the file and the database come after)."""
    result = RowResult(row=row_number)
    for name, index in columns.items():
        value, is_formula = values[index].value, values[index].formula
        if name == "id_number" and isinstance(value, int | float) and not isinstance(value, bool):
            result.cells[name] = f"{value:.5E}"  # as Excel shows a long number: 3.41524E+17
        else:
            result.cells[name] = _shown("" if value is None else str(value) if is_formula else cell_text(value))
        if is_formula:
            result.errors[name] = _("This cell is a formula; type the value itself instead.")
        elif isinstance(value, str):
            # Control and bidirectional characters: the row is refused, as the forms refuse them
            # (campaign.lib.text), and what is kept for the preview shows them as U+FFFD.
            try:
                refuse_unsafe(value)
            except ValidationError as error:
                result.errors[name] = _message(error)
                result.cells[name] = displayable(result.cells[name])

    def check(name, clean):
        if name not in columns or name in result.errors:
            return
        try:
            clean(values[columns[name]].value)
        except ValidationError as error:
            result.errors[name] = _message(error)

    def clean_name(value):
        result.values["name"] = normalize_name(cell_text(value))

    def clean_phone(value):
        phone = normalize_phone(cell_text(value))
        if phone:
            result.values["phone"] = phone

    def clean_choice(name, table, lookup):
        def clean(value):
            text = cell_text(value)
            if not text:
                return
            chosen = lookup.get(header_key(text))
            if chosen is None:
                raise ValidationError(
                    _("“%(value)s” is not one of: %(choices)s.")
                    % {"value": _shown(text), "choices": "、".join(aliases[0] for aliases in table.values())}
                )
            result.values[name] = chosen

        return clean

    def clean_cadre(value):
        text = re.sub(r"\s+", "", cell_text(value))
        if not text:
            return
        matches = cadres.get(text) or cadres.get(text.lower()) or []
        if not matches:
            raise ValidationError(_("No user of this village is called “%(name)s”.") % {"name": _shown(text)})
        if len(matches) > 1:
            raise ValidationError(
                _("Several users of this village are called “%(name)s”; write the username.") % {"name": text}
            )
        result.values["responsible_cadre"] = matches[0].pk

    def clean_answer(name):
        def clean(value):
            answer = yes_no(value)
            if answer is None:
                raise ValidationError(
                    _("Write 是 (yes) or 否 (no), not “%(value)s”.") % {"value": _shown(cell_text(value))}
                )
            result.values[name] = answer

        return clean

    check("name", clean_name)
    check("phone", clean_phone)
    check("basis", clean_choice("basis", BASIS_VALUES, _BASIS_LOOKUP))
    check("priority_group", clean_choice("priority_group", PRIORITY_VALUES, _PRIORITY_LOOKUP))
    check("responsible_cadre", clean_cadre)
    for name in CONTRAINDICATIONS:
        check(name, clean_answer(name))

    if "id_number" not in result.errors:
        raw = values[columns["id_number"]].value
        if blank(raw):
            result.errors["id_number"] = _("Enter the ID number.")
        elif normalize_id_number(raw) == EXAMPLE_ID_NUMBER:
            result.errors["id_number"] = _("This is the template's example ID number; write the resident's own.")
        elif isinstance(raw, int | float) and not isinstance(raw, bool) or _SCIENTIFIC.match(cell_text(raw)):
            result.errors["id_number"] = _(
                "Excel stored this ID number as a number and kept only its first 15 digits: the last digits are "
                "lost. Format the column as text and type the number again."
            )
        else:
            answers = {name: result.values.get(name, False) for name in CONTRAINDICATIONS}
            try:
                parsed, decision = registration_check(
                    campaign=campaign, id_number=normalize_id_number(raw), answers=answers, on=on
                )
            except ValidationError as error:
                result.errors["id_number"] = _message(error)
            else:
                result.values["id_number"] = parsed.number
                result.cells["id_number"] = parsed.number
                result.status, result.reasons = decision.status, decision.reasons
    return result


def build_preview(*, sheet: Sheet, campaign, village, user, lock: bool = False) -> Preview:
    """Judge every row of a sheet for import into a village: new, update, unchanged or error.

    `lock` (at confirm time, inside a transaction) locks the residents the sheet would update.
    """
    on = timezone.localdate()
    cadres = _cadre_lookup(village)
    preview = Preview(sheet=sheet, rows=[])
    errors_seen = 0
    for row_number, values in sheet.rows:
        id_text = normalize_id_number(values[sheet.columns["id_number"]].value)
        name_text = cell_text(values[sheet.columns["name"]].value)
        if id_text == EXAMPLE_ID_NUMBER and name_text == unicodedata.normalize("NFKC", EXAMPLE_NAME):
            preview.skipped_example = True
            continue
        row = _judge_row(row_number, values, sheet.columns, campaign=campaign, cadres=cadres, on=on)
        if row.errors:
            errors_seen += 1
            if errors_seen > DETAILED_ERRORS:
                _forget_details(row)
        preview.rows.append(row)

    by_number: dict[str, list[RowResult]] = {}
    for row in preview.rows:
        if "id_number" in row.values:
            by_number.setdefault(row.values["id_number"], []).append(row)
    for rows in by_number.values():
        if len(rows) > 1:
            for row in rows:
                others = "、".join(str(other.row) for other in rows if other is not row)
                row.errors["id_number"] = _("The same ID number is also on row %(rows)s of this file.") % {
                    "rows": others
                }

    existing = _existing_residents(campaign, [n for n, rows in by_number.items() if len(rows) == 1], lock=lock)
    # New rows without a responsible cadre are the uploading cadre's, as on the registration form.
    is_village_cadre = user is not None and User.objects.filter(pk=user.pk, profile__village=village).exists()
    default_cadre = user.pk if is_village_cadre else None
    for row in preview.rows:
        resident = existing.get(row.values.get("id_number"))
        if resident is not None and resident.village_id != village.pk:
            row.errors["id_number"] = duplicate_message(village=resident.village.name, user=user)
        if row.errors:
            row.action, row.values, row.status, row.reasons = ERROR, {}, "", []
        elif resident is None:
            row.action = NEW
            row.values.setdefault("responsible_cadre", default_cadre)
        else:
            _compare(row, resident, campaign=campaign, on=on)
    return preview


def _forget_details(row: RowResult) -> None:
    """Keep which cells of a wrong row are wrong, but not the cells and messages.

    Past DETAILED_ERRORS wrong rows: 20,000 wrong rows of long cells, each within the limits, made a
    preview of 180 MB and grew the process by 1.3 GB. The pages and the error report say why not.
    """
    row.cells, row.errors = {}, dict.fromkeys(row.errors, "")


def _existing_residents(campaign, numbers, *, lock) -> dict[str, Resident]:
    found = {}
    for start in range(0, len(numbers), LOOKUP_BATCH):
        queryset = Resident.objects.filter(campaign=campaign, id_number__in=numbers[start : start + LOOKUP_BATCH])
        if lock:
            # Confirm writes what the preview showed: hold these rows until the import commits.
            queryset = queryset.order_by("pk").select_for_update(of=("self",))
        for resident in queryset.select_related("village"):
            found[resident.id_number] = resident
    return found


def _current(resident: Resident, name: str):
    return resident.responsible_cadre_id if name == "responsible_cadre" else getattr(resident, name)


def _compare(row: RowResult, resident: Resident, *, campaign, on) -> None:
    row.resident = resident.pk
    row.changes = [
        name for name, value in row.values.items() if name != "id_number" and _current(resident, name) != value
    ]
    row.action = UPDATE if row.changes else UNCHANGED
    row.values = {name: row.values[name] for name in row.changes}
    if resident.status == Resident.Status.REFUSED:
        row.status, row.reasons = resident.status, resident.status_reasons
    else:
        answers = {name: row.values.get(name, getattr(resident, name)) for name in CONTRAINDICATIONS}
        decision = eligibility_decide(campaign=campaign, birth_date=resident.birth_date, answers=answers, on=on)
        row.status, row.reasons = decision.status, decision.reasons


def not_detailed_message() -> str:
    return _("wrong (reasons are given for the first %(max)d rows with errors: fix those first)") % {
        "max": DETAILED_ERRORS
    }
