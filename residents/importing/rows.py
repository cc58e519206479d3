"""Cleaning and judging the rows of a sheet: new, update, unchanged, error or skipped, and why.

Judging is not forgiving: every value goes through the same service functions as the
registration form (residents.services: the document through registration_check, whatever
its type), and duplicates are errors. A row is still imported, with a warning for the cadre
to check, when a value came from a merged cell, when a 性别 or 出生日期 column contradicts the
ID number, when the document's number was converted or recorded under another type, or when
the row sits below the sheet's signature line. Lines of the sheet that are not people (a
totals row, a signature or stamp line, the header row repeated) are skipped with a note,
never counted as errors; a row whose number cell holds anything like a number is never skipped.

Judging a cell is a pure function of the cell (and of the village's users), so the columns
whose values repeat (choices, yes/no answers, cadre names, document types) judge each distinct
cell once per sheet; the number, whose eligibility depends on the row's answers, is judged per row.
"""

import datetime
import gc
import hashlib
import json
import re
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NamedTuple

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from campaign.lib.documents import DocumentType, document_type_from_text, parse_sex
from campaign.lib.idnumber import make_id_number, normalize_id_number
from campaign.lib.text import displayable, refuse_unsafe
from campaign.scope import bound_to_village
from residents.importing.reading import BRACKETED, HEADERS, Cell, Sheet, blank, cell_text, header_key
from residents.models import CONTRAINDICATIONS, Resident
from residents.services import (
    GUARDIAN_FIELDS,
    duplicate_message,
    eligibility_decide,
    guardian_check,
    normalize_name,
    normalize_phone,
    registration_check,
)

SHOWN_CHARS = 50  # a name's maximum length (residents.services.NAME_MAX_LENGTH); longer text is wrong anyway
DETAILED_ERRORS = 1_000  # rows with errors kept with their cells and messages (see _forget_details)
DETAILED_WARNINGS = 1_000  # rows with warnings kept with their messages (a merged column may span them all)
# ID numbers looked up per query: one query for a village's sheet, and within SQLite's limits.
LOOKUP_BATCH = 5_000
PROGRESS_EVERY = 1_000  # rows judged between two calls of build_preview's `progress`
LINE_CHARS = 120  # a skipped line's text as the preview shows it
YOUNG_OBJECTS, NEVER = 50_000, 10**9  # see without_cycle_collection

NEW, UPDATE, UNCHANGED, ERROR, SKIPPED = "new", "update", "unchanged", "error", "skipped"
ACTIONS = (NEW, UPDATE, UNCHANGED, ERROR, SKIPPED)
# Why a line was skipped.
TOTALS, SIGNATURE, HEADER = "totals", "signature", "header"
# What the person registering enters where the document does not encode it: given to the
# registration check for such a document, compared with the number for one that encodes it.
ENTERED = ("birth_date", "sex", "nationality")
# The document and what it says: never changed by importing someone registered already.
IDENTITY = ("id_number", "document_type", *ENTERED)
BELOW_SIGNATURE = "row"  # the key of a warning about the whole row

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

NUMBER_TYPES = (int, float)  # a tuple, not int | float: isinstance with a union builds it at every call
_SCIENTIFIC = re.compile(r"^[0-9](\.[0-9]+)?E\+?[0-9]+$", re.IGNORECASE)

# What the lines under a table say. A cell is a label when its text (spaces removed) starts
# with one of these words (a short totals cell may end with one), or carries a bracketed
# (盖章), (公章), (签字) or (签名).
_TOTALS_LABEL = re.compile(r"合计|总计|小计|共计|累计|总数")
TOTALS_LABEL_CHARS = 12  # a short cell may name its group first: 一组小计, 三组合计
_SIGNATURE_LABEL = re.compile(
    r"^(审核人|审核|审批人|审批|填报人|填表人|制表人|统计人|负责人|主要负责人|分管领导|主管领导|经办人|联系人|"
    r"联系电话|电话|签字|签名|盖章|公章|填报单位|填表单位|报送单位|填报日期|填表日期|制表日期|报送日期|日期)"
    r"|[(（](盖章|公章|签字|签名|章)[)）]"
)
_DATE_TEXT = re.compile(r"(\d{4})?年(\d{1,2})?月(\d{1,2})?日|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}")
_COUNT_TEXT = re.compile(r"[\d,，.]+(人|户|名|个|份)?|[-—－/／\\]+")
# Something meant as a document number: six digits or more, with the letters and signs numbers carry.
_NUMBER_LIKE = re.compile(r"[0-9A-Z()（）\-.+]{6,30}")
_DIGITS = re.compile(r"\d")
_SIX_DIGITS = re.compile(r"(\D*\d){6}")


class _Nothing:
    def __repr__(self):
        return "NOTHING"


NOTHING = _Nothing()  # a cell that writes nothing (an empty phone keeps the recorded one)


class Verdict(NamedTuple):
    """One cell judged: its text for the preview, why it is wrong (or ""), and what to write."""

    shown: str
    error: str = ""
    value: object = NOTHING


class BirthDate(NamedTuple):
    """A birth date as a sheet writes it: day None when the column gives only year and month (出生年月)."""

    year: int
    month: int
    day: int | None

    def agrees_with(self, date: datetime.date) -> bool:
        return (self.year, self.month) == (date.year, date.month) and self.day in (None, date.day)

    def date(self) -> datetime.date | None:
        return datetime.date(self.year, self.month, self.day) if self.day else None


@dataclass(slots=True)
class RowResult:
    row: int
    action: str = NEW
    cells: dict = field(default_factory=dict)  # field -> text as read (cleaned) that the preview shows
    errors: dict = field(default_factory=dict)  # field -> message
    warnings: dict = field(default_factory=dict)  # field (or BELOW_SIGNATURE) -> message; the row is still written
    values: dict = field(default_factory=dict)  # field -> value to write
    entered: dict = field(default_factory=dict)  # ENTERED field -> value as read
    unreadable: dict = field(default_factory=dict)  # ENTERED field -> why its cell cannot be read
    resident: int | None = None
    changes: list = field(default_factory=list)
    status: str = ""
    reasons: list = field(default_factory=list)
    skipped: str = ""  # for a skipped line: TOTALS, SIGNATURE or HEADER
    line: str = ""  # for a skipped line: its cells as text
    born: datetime.date | None = None  # the birth date the document gave, for the guardian rule


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
        # Keys in the order judging put them, the same for the same file: no sort_keys (it costs a third).
        return hashlib.sha256(json.dumps(plan, default=str).encode()).hexdigest()


def _value_lookup(table: dict) -> dict:
    return {header_key(alias): value for value, aliases in table.items() for alias in aliases}


_BASIS_LOOKUP = _value_lookup(BASIS_VALUES)
_PRIORITY_LOOKUP = _value_lookup(PRIORITY_VALUES)
_HEADER_KEYS = {name: {header_key(alias) for alias in aliases} for name, aliases in HEADERS.items()}


def yes_no(value) -> bool | None:
    if isinstance(value, bool):
        return value
    text = cell_text(value).lower()
    if text in YES:
        return True
    if text in NO:
        return False
    return None


def is_number(value) -> bool:
    """A number cell (True and False are not numbers here, though Python counts them as ints)."""
    return isinstance(value, NUMBER_TYPES) and not isinstance(value, bool)


def general_format(number: int | float) -> str:
    """A number as Excel's General format shows it in a wide column: up to 11 digits in full,
    longer ones as 3.41524E+17 (what the cadre sees where Excel took an ID number for a number)."""
    if isinstance(number, float) and number.is_integer():
        number = int(number)
    if isinstance(number, int):
        if abs(number) < 10**11:
            return str(number)
        mantissa, exponent = f"{number:.5E}".split("E")
        return f"{mantissa.rstrip('0').rstrip('.')}E{exponent}"
    return f"{number:.10G}"


def shown_text(value) -> str:
    """A cell's text as the sheet shows it: numbers as Excel's General format, else as cell_text cleans it."""
    if is_number(value):
        return general_format(value)
    return cell_text(value)


def birth_date_of(value) -> BirthDate | None:
    """A 出生日期 cell read as a date: a date cell, 1985-06-15, 1985/6/15, 1985.6.15, 1985年6月15日,
    19850615, or year and month only (1985-06, 1985年6月, 198506). None when it reads as none of these."""
    if isinstance(value, datetime.datetime | datetime.date):
        return BirthDate(value.year, value.month, value.day)
    text = cell_text(value)
    if not re.fullmatch(r"[\d\s\-/.年月日]+", text):
        return None
    parts = re.findall(r"\d+", text)
    if len(parts) == 1 and len(parts[0]) in (6, 8):
        digits = parts[0]
        parts = [digits[:4], digits[4:6]] + ([digits[6:]] if len(digits) == 8 else [])
    if len(parts) not in (2, 3) or len(parts[0]) != 4:
        return None
    year, month, day = int(parts[0]), int(parts[1]), int(parts[2]) if len(parts) == 3 else None
    try:
        datetime.date(year, month, day or 1)
    except ValueError:
        return None
    return BirthDate(year, month, day)


def _cadre_lookup(village) -> dict[str, list[User]]:
    """The village's users by every name a cadre might write for them."""
    lookup: dict[str, list[User]] = {}
    for user in User.objects.filter(bound_to_village(village), is_active=True):
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


# Cleaning one cell: each takes the cell's value and its text (cell_text) and returns what to
# write (NOTHING for nothing), or raises ValidationError with the message for the cadre.


def _clean_name(value, text):
    return normalize_name(text)


def _clean_phone(value, text):
    return normalize_phone(text) or NOTHING


def _clean_choice(table: dict, lookup: dict):
    def clean(value, text):
        if not text:
            return NOTHING
        chosen = lookup.get(header_key(text))
        if chosen is None:
            raise ValidationError(
                _("“%(value)s” is not one of: %(choices)s.")
                % {"value": _shown(text), "choices": "、".join(aliases[0] for aliases in table.values())}
            )
        return chosen

    return clean


def _clean_cadre(cadres: dict):
    def clean(value, text):
        text = re.sub(r"\s+", "", text)
        if not text:
            return NOTHING
        matches = cadres.get(text) or cadres.get(text.lower()) or []
        if not matches:
            raise ValidationError(_("No user of this village is called “%(name)s”.") % {"name": _shown(text)})
        if len(matches) > 1:
            raise ValidationError(
                _("Several users of this village are called “%(name)s”; write the username.") % {"name": text}
            )
        return matches[0].pk

    return clean


def _clean_answer(value, text):
    answer = yes_no(value)
    if answer is None:
        raise ValidationError(_("Write 是 (yes) or 否 (no), not “%(value)s”.") % {"value": _shown(text)})
    return answer


def _clean_document_type(value, text):
    return document_type_from_text(text)


# A guardian's relation as cadres write it (与受种者关系).
GUARDIAN_RELATION_VALUES = {
    Resident.GuardianRelation.MOTHER: ["母亲", "母", "妈妈", "母子", "母女"],
    Resident.GuardianRelation.FATHER: ["父亲", "父", "爸爸", "父子", "父女"],
    Resident.GuardianRelation.GRANDPARENT: [
        "祖父母",
        "外祖父母",
        "祖父",
        "祖母",
        "外祖父",
        "外祖母",
        "爷爷",
        "奶奶",
        "外公",
        "外婆",
        "姥姥",
        "姥爷",
    ],
    Resident.GuardianRelation.OTHER: ["其他", "其他监护人", "其它"],
}


_GUARDIAN_RELATION_LOOKUP = _value_lookup(GUARDIAN_RELATION_VALUES)


def _clean_guardian_name(value, text):
    return normalize_name(text) if text else NOTHING


def _clean_text(value, text):
    return text or NOTHING


# The cells of what is entered (ENTERED) are judged with the document: an unreadable one is an
# error only for a document that does not encode what it says.


def _clean_birth_date(value, text):
    if not text:
        return NOTHING
    born = birth_date_of(value)
    if born is None:
        raise ValidationError(_("“%(value)s” is not a date: write it as 1990-01-01.") % {"value": _shown(text)})
    return born


def _clean_sex(value, text):
    return parse_sex(text) or NOTHING


def _clean_nationality(value, text):
    return text or NOTHING


def _lost_digits() -> ValidationError:
    return ValidationError(
        _(
            "Excel stored this ID number as a number and kept only its first 15 digits: the last digits are "
            "lost. Format the column as text and type the number again."
        )
    )


def _clean_id_number(value, text):
    """The number cell's text, or why no number can be read from it; the document is judged with its row."""
    if blank(value):
        raise ValidationError(_("Enter the ID number."))
    if is_number(value):
        # Up to 15 digits a number cell holds them all (an old ID number, a permit); beyond, they are lost.
        if abs(value) >= 10**15:
            raise _lost_digits()
        return str(int(value)) if float(value).is_integer() else str(value)
    # Nearly every cell is clean already: only the others are folded (full-width, spaces, invisible characters).
    clean = isinstance(value, str) and value.isascii() and value.isalnum()
    number = value.upper() if clean else normalize_id_number(value)
    if number == EXAMPLE_ID_NUMBER:
        raise ValidationError(_("This is the template's example ID number; write the resident's own."))
    if _SCIENTIFIC.match(number):
        raise _lost_digits()
    return number


def _cell_judge(clean, *, memo: bool):
    """Judge one column's cells: a formula or control characters are refused, then `clean` decides.

    With `memo`, each distinct cell is judged once (for the columns whose values repeat).
    """

    def judge(cell: Cell) -> Verdict:
        value = cell.value
        if cell.formula:
            return Verdict(
                _shown("" if value is None else str(value)), _("This cell is a formula; type the value itself instead.")
            )
        text = cell_text(value)
        shown = _shown(general_format(value) if is_number(value) else text)
        if isinstance(value, str):
            # Control and bidirectional characters: the row is refused, as the forms refuse them
            # (campaign.lib.text), and what is kept for the preview shows them as U+FFFD.
            try:
                refuse_unsafe(value)
            except ValidationError as error:
                return Verdict(displayable(shown), _message(error))
        try:
            return Verdict(shown, "", clean(value, text))
        except ValidationError as error:
            return Verdict(shown, _message(error))

    if not memo:
        return judge
    seen: dict = {}

    def memoised(cell: Cell) -> Verdict:
        # The type too: True, 1 and 1.0 are equal keys but read differently.
        key = (cell.value.__class__, cell.value, cell.formula)
        verdict = seen.get(key)
        if verdict is None:
            verdict = seen[key] = judge(cell)
        return verdict

    return memoised


def _column_judges(columns: dict[str, int], *, village) -> dict:
    """field -> (column index, judge) for the sheet's columns."""
    cleaners = {
        "name": (_clean_name, False),
        "id_number": (_clean_id_number, False),
        "phone": (_clean_phone, False),
        "basis": (_clean_choice(BASIS_VALUES, _BASIS_LOOKUP), True),
        "priority_group": (_clean_choice(PRIORITY_VALUES, _PRIORITY_LOOKUP), True),
        "document_type": (_clean_document_type, True),
        "birth_date": (_clean_birth_date, False),  # one per person, as the number
        "sex": (_clean_sex, True),
        "nationality": (_clean_nationality, True),
        **dict.fromkeys(CONTRAINDICATIONS, (_clean_answer, True)),
        # The guardian is checked with the person's age, once the row's document is read (_check_guardian).
        "guardian_name": (_clean_guardian_name, False),
        "guardian_relation": (_clean_choice(GUARDIAN_RELATION_VALUES, _GUARDIAN_RELATION_LOOKUP), True),
        "guardian_document_type": (_clean_document_type, True),
        "guardian_id_number": (_clean_text, False),
    }
    if "responsible_cadre" in columns:
        cleaners["responsible_cadre"] = (_clean_cadre(_cadre_lookup(village)), True)
    judges = {}
    for name, index in columns.items():
        clean, memo = cleaners[name]
        judges[name] = (index, _cell_judge(clean, memo=memo))
    return judges


def _judge_row(row_number, values, judges, *, campaign, on) -> RowResult:
    """Clean and check one row on its own (the file and the database come after)."""
    result = RowResult(row=row_number)
    for name, (index, judge) in judges.items():
        cell = values[index]
        shown, error, value = judge(cell)
        if shown and value is not False:  # the preview lists the screening answers that are yes (or wrong)
            result.cells[name] = shown
        if error:
            (result.unreadable if name in ENTERED else result.errors)[name] = error
        elif value is not NOTHING:
            (result.entered if name in ENTERED else result.values)[name] = value
        if cell.merged and shown:
            result.warnings[name] = merged_message(shown)
    if "document_type" in result.errors:
        result.values.pop("id_number", None)  # a number of no known type
    elif "id_number" not in result.errors:
        _judge_identity(result, campaign=campaign, on=on)
    for name in ENTERED:
        result.cells.pop(name, None)  # not shown: a birth date never beside a masked number; messages quote them
    return result


def merged_message(shown: str) -> str:
    return _("Merged cell: the value “%(value)s” from above applies to this row; check it.") % {"value": shown}


def _judge_identity(result: RowResult, *, campaign, on) -> None:
    """The document through the registration rules, and what the row says of the same person checked against it."""
    answers = {name: result.values.get(name, False) for name in CONTRAINDICATIONS}
    entered, born = result.entered, result.entered.get("birth_date")
    number = result.values.pop("id_number")
    try:
        document, decision = registration_check(
            campaign=campaign,
            id_number=number,
            answers=answers,
            on=on,
            document_type=result.values.get("document_type", DocumentType.ID_CARD),
            birth_date=born.date() if born else None,
            sex=entered.get("sex"),
            nationality=entered.get("nationality", ""),
        )
    except ValidationError as error:
        for name, message in _messages_by_field(error).items():
            # A cell that could not be read says so better than "enter the birth date".
            if name in result.unreadable:
                message = result.unreadable[name]
            elif name == "birth_date" and born is not None:
                message = _("Write the whole birth date, with the day: this document does not show it.")
            result.errors[name] = message
        return
    result.values["id_number"] = result.cells["id_number"] = document.number
    result.values["document_type"] = document.type
    if document.type == DocumentType.ID_CARD:
        result.cells.pop("document_type", None)  # the usual case, left unsaid
    else:
        result.cells["document_type"] = document.type
    if not document.encodes_birth:
        result.values["birth_date"], result.values["sex"] = document.birth_date, document.sex
    if document.nationality:
        result.values["nationality"] = document.nationality
    if document.note:
        # The note quotes both numbers, and the page shows numbers masked: said here without them.
        converted = document.type == DocumentType.ID_CARD and len(number) == 15
        result.warnings["id_number"] = converted_message() if converted else document.note
    result.status, result.reasons = decision.status, decision.reasons
    result.born = document.birth_date
    if not document.encodes_birth:
        return
    sex = entered.get("sex")
    if sex is not None and sex != document.sex:
        result.warnings["sex"] = _(
            "The ID number says %(sex)s but this column says “%(value)s”: the ID number's is recorded."
        ) % {"sex": Resident.Sex(document.sex).label, "value": result.cells["sex"]}
    if born is not None and not born.agrees_with(document.birth_date):
        result.warnings["birth_date"] = _(
            "The ID number says born on %(date)s but this column says “%(value)s”: the ID number's is recorded."
        ) % {"date": document.birth_date.isoformat(), "value": result.cells["birth_date"]}


def converted_message() -> str:
    return _("The old 15-digit ID number was converted to its 18-digit form, which is what is recorded.")


def _messages_by_field(error: ValidationError) -> dict[str, str]:
    """A service's ValidationError as field -> message; one not keyed by field is the number's (the age)."""
    if hasattr(error, "error_dict"):
        return {name: " ".join(messages) for name, messages in error.message_dict.items()}
    return {"id_number": _message(error)}


def _number_like(value) -> bool:
    """Whether an ID cell holds something meant as a document number: such a row is never skipped."""
    if isinstance(value, str):
        if value.isascii() and value.isalnum():  # nearly every row: an ID number as typed
            return _SIX_DIGITS.match(value) is not None
        text = normalize_id_number(value)
        return bool(_NUMBER_LIKE.fullmatch(text) and _SIX_DIGITS.match(text)) and not _DATE_TEXT.fullmatch(text)
    return is_number(value) and abs(value) >= 100_000


def _cell_kind(value) -> str:
    """What a cell of a line under the table is: a totals or signature label, a date, a count, a name, or other."""
    if isinstance(value, datetime.date):
        return "date"
    if is_number(value):
        return "count"
    text = re.sub(r"\s+", "", cell_text(value))
    if _TOTALS_LABEL.match(text) or (len(text) <= TOTALS_LABEL_CHARS and _TOTALS_LABEL.search(text)):
        return "totals"
    if _SIGNATURE_LABEL.search(text) and (_SIGNATURE_LABEL.match(text) or re.search(r"[)）]$", text)):
        return "signature"
    if _DATE_TEXT.fullmatch(text):
        return "date"
    if _COUNT_TEXT.fullmatch(text):
        return "count"
    if len(text) <= 20 and not _DIGITS.search(text):
        return "name"
    return "other"


def _line_kind(values: list[Cell], columns: dict[str, int]) -> str:
    """TOTALS, SIGNATURE or HEADER for a line of the sheet that is not a person, else "".

    Called only for rows whose ID cell holds nothing like a number. A totals row has a totals
    label and only counts besides; a signature line has signature labels (or only dates) and
    besides them only dates, counts (a phone) and names, and a name in the name column only
    right after a label (填报人： | 张三), never on its own.
    """
    cells = [(index, cell.value) for index, cell in enumerate(values) if not blank(cell.value)]
    if all(header_key(values[columns[name]].value) in _HEADER_KEYS[name] for name in ("id_number", "name")):
        return HEADER
    kinds = {index: _cell_kind(value) for index, value in cells}
    found = set(kinds.values())
    if "totals" in found and found <= {"totals", "count"}:
        return TOTALS
    if ("signature" in found or found == {"date"}) and found <= {"signature", "date", "count", "name"}:
        name_index = columns["name"]
        if kinds.get(name_index) == "name":
            before = [index for index in kinds if index < name_index]
            if not before or kinds[before[-1]] != "signature":
                return ""
        return SIGNATURE
    return ""


def _skipped(row_number: int, values: list[Cell], kind: str) -> RowResult:
    # As written (full-width colons and brackets kept): the cadre recognises the line.
    texts = (cell.value.strip() if isinstance(cell.value, str) else shown_text(cell.value) for cell in values)
    line = "  ".join(text for text in texts if text)
    line = displayable(line if len(line) <= LINE_CHARS else line[: LINE_CHARS - 1] + "…")
    return RowResult(row=row_number, action=SKIPPED, skipped=kind, line=line)


def _is_example(values: list[Cell], columns: dict[str, int]) -> bool:
    name = values[columns["name"]].value
    # The cheap test first: this runs for every row (NFKC leaves 示例 as it is).
    if not (isinstance(name, str) and "示例" in name):
        return False
    return cell_text(name) == unicodedata.normalize("NFKC", EXAMPLE_NAME) and (
        normalize_id_number(values[columns["id_number"]].value) == EXAMPLE_ID_NUMBER
    )


@contextmanager
def without_cycle_collection():
    """Python's cycle collector held back while rows are judged or kept: young objects only.

    100,000 judged rows are a million small objects: reference counting frees them, and the
    collector's passes over the whole growing heap took a third of the judging time (1.2 of 3.8
    CPU seconds) and half of the keeping. Here it looks at the young objects only, every
    YOUNG_OBJECTS allocations, which still frees the little cyclic garbage judging makes (a
    ValidationError refers to itself), and the thresholds are restored after. A thread that
    changes them meanwhile only makes this slower.
    """
    thresholds = gc.get_threshold()
    gc.set_threshold(YOUNG_OBJECTS, NEVER, NEVER)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def build_preview(*, sheet: Sheet, campaign, village, user, lock: bool = False, progress=None) -> Preview:
    """Judge every row of a sheet for import into a village: new, update, unchanged, error or skipped.

    `lock` (at confirm time, inside a transaction) locks the residents the sheet would update.
    `progress`, when given, is called as progress(rows judged, rows in all) every PROGRESS_EVERY
    rows and once at the end.
    """
    with without_cycle_collection():
        return _build_preview(sheet=sheet, campaign=campaign, village=village, user=user, lock=lock, progress=progress)


def _build_preview(*, sheet: Sheet, campaign, village, user, lock: bool, progress) -> Preview:
    on = timezone.localdate()
    judges = _column_judges(sheet.columns, village=village)
    id_index = sheet.columns["id_number"]
    preview = Preview(sheet=sheet, rows=[])
    errors_seen = warnings_seen = 0
    below_signature = False
    total = len(sheet.rows)
    for done, (row_number, values) in enumerate(sheet.rows, start=1):
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done, total)
        if _is_example(values, sheet.columns):
            preview.skipped_example = True
            continue
        kind = "" if _number_like(values[id_index].value) else _line_kind(values, sheet.columns)
        if kind:
            preview.rows.append(_skipped(row_number, values, kind))
            below_signature = below_signature or kind == SIGNATURE
            continue
        row = _judge_row(row_number, values, judges, campaign=campaign, on=on)
        if below_signature:
            # Judged as any row (a person is never dropped), but a list does not usually go on under its signature.
            row.warnings[BELOW_SIGNATURE] = _(
                "This row is below the sheet's signature line: check that it belongs to the list."
            )
        if row.errors:
            errors_seen += 1
            if errors_seen > DETAILED_ERRORS:
                _forget_details(row)
        if row.warnings:
            warnings_seen += 1
            if warnings_seen > DETAILED_WARNINGS:
                row.warnings = dict.fromkeys(row.warnings, "")
        preview.rows.append(row)
    if progress is not None:
        progress(total, total)

    people = [row for row in preview.rows if row.action != SKIPPED]
    by_document: dict[tuple[str, str], list[RowResult]] = {}
    for row in people:
        if "id_number" in row.values:
            by_document.setdefault(_document_of(row.values), []).append(row)
    for (document_type, _number), rows in by_document.items():
        if len(rows) > 1:
            for row in rows:
                others = "、".join(str(other.row) for other in rows if other is not row)
                row.errors["id_number"] = _same_document_message(document_type, others)

    existing = _existing_residents(campaign, [d for d, rows in by_document.items() if len(rows) == 1], lock=lock)
    # New rows without a responsible cadre are the uploading cadre's, as on the registration form.
    is_village_cadre = user is not None and User.objects.filter(bound_to_village(village), pk=user.pk).exists()
    default_cadre = user.pk if is_village_cadre else None
    for row in people:
        resident = existing.get(_document_of(row.values)) if "id_number" in row.values else None
        if resident is not None and resident.village_id != village.pk:
            row.errors["id_number"] = duplicate_message(
                village=resident.village.name, user=user, document_type=resident.document_type
            )
        if not row.errors and row.born is not None:
            _check_guardian(row, resident, campaign=campaign, on=on)
        if row.errors:
            row.action, row.values, row.status, row.reasons = ERROR, {}, "", []
        elif resident is None:
            row.action = NEW
            row.values.setdefault("responsible_cadre", default_cadre)
        else:
            _compare(row, resident, campaign=campaign, on=on)
    return preview


def _check_guardian(row: RowResult, resident: Resident | None, *, campaign, on) -> None:
    """The guardian rule (residents.services.guardian_check) on what the row would leave: its guardian
    columns (the guardian's phone is the phone column) over what a registered person has already."""

    def given(name):
        if name in row.values:
            return row.values[name]
        return getattr(resident, name) if resident is not None else ""

    try:
        guardian = guardian_check(
            campaign=campaign,
            birth_date=row.born,
            phone=given("phone") or "",
            **{name: given(name) or "" for name in GUARDIAN_FIELDS},
            on=on,
        )
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            row.errors[name] = " ".join(messages)
        return
    for name, value in guardian.items():
        if name in row.values or (value and (resident is None or getattr(resident, name) != value)):
            row.values[name] = value


def _forget_details(row: RowResult) -> None:
    """Keep which cells of a wrong row are wrong, but not the cells and messages.

    Past DETAILED_ERRORS wrong rows: 20,000 wrong rows of long cells, each within the limits, made a
    preview of 180 MB and grew the process by 1.3 GB. The pages and the error report say why not.
    """
    row.cells, row.errors = {}, dict.fromkeys(row.errors, "")
    row.warnings = dict.fromkeys(row.warnings, "")


def _document_of(values: dict) -> tuple[str, str]:
    return values["document_type"], values["id_number"]


def _same_document_message(document_type: str, rows: str) -> str:
    if document_type == DocumentType.ID_CARD:
        return _("The same ID number is also on row %(rows)s of this file.") % {"rows": rows}
    return _("The same %(document)s number is also on row %(rows)s of this file.") % {
        "document": DocumentType(document_type).label,
        "rows": rows,
    }


def _existing_residents(campaign, documents: list[tuple[str, str]], *, lock) -> dict[tuple[str, str], Resident]:
    """The residents registered with these documents (type, number), by document."""
    wanted, found = set(documents), {}
    numbers = sorted({number for _type, number in documents})
    for start in range(0, len(numbers), LOOKUP_BATCH):
        queryset = Resident.objects.filter(campaign=campaign, id_number__in=numbers[start : start + LOOKUP_BATCH])
        if lock:
            # Confirm writes what the preview showed: hold these rows until the import commits.
            queryset = queryset.order_by("pk").select_for_update(of=("self",))
        for resident in queryset.select_related("village"):
            document = (resident.document_type, resident.id_number)
            if document in wanted:
                found[document] = resident
    return found


def _current(resident: Resident, name: str):
    return resident.responsible_cadre_id if name == "responsible_cadre" else getattr(resident, name)


def _compare(row: RowResult, resident: Resident, *, campaign, on) -> None:
    row.resident = resident.pk
    row.changes = [
        name for name, value in row.values.items() if name not in IDENTITY and _current(resident, name) != value
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


def not_detailed_warning() -> str:
    return _("check this (details are given for the first %(max)d rows with warnings)") % {"max": DETAILED_WARNINGS}


def skipped_note(kind: str) -> str:
    """What the preview says of a skipped line."""
    return {
        TOTALS: _("Totals row: not imported"),
        SIGNATURE: _("Signature or stamp line: not imported"),
        HEADER: _("The header row again: not imported"),
    }[kind]
