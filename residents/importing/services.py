"""Importing residents from the Excel sheets cadres keep (摸排登记表).

Reading is forgiving about layout: the header row may sit below title rows, columns
come in any order and under the names cadres use, stray spaces and full-width
characters are cleaned. Judging is not forgiving: every value goes through the same
service functions as the registration form (residents.services), duplicates are
errors, and nothing is written until the user confirms a preview. At confirm time
the file is read and judged again; when the outcome differs from the preview,
nothing is written.
"""

import datetime
import hashlib
import io
import json
import re
import unicodedata
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from campaign.lib.excel import ERROR_FILL, header_row, office_workbook, print_setup, safe_cell, set_widths
from campaign.lib.idnumber import make_id_number, normalize_id_number
from campaign.lib.text import displayable, refuse_unsafe, strip_invisible
from residents.importing.limits import ImportFileError, check_cell, check_rows, check_upload, damaged, limits
from residents.models import CONTRAINDICATIONS, ImportBatch, Resident
from residents.services import (
    AlreadyRegistered,
    duplicate_message,
    eligibility_decide,
    normalize_name,
    normalize_phone,
    registration_check,
    resident_update,
    residents_register_many,
)

HEADER_SCAN_ROWS = 20
SHOWN_CHARS = 50  # a name's maximum length (residents.services.NAME_MAX_LENGTH); longer text is wrong anyway
HEADER_MAX_CHARS = 100  # longer text in the rows above the header is a title or a note, never a header
DETAILED_ERRORS = 1_000  # rows with errors kept with their cells and messages (see _forget_details)
# ID numbers looked up per query: one query for a village's sheet, and within SQLite's limits.
LOOKUP_BATCH = 5_000

NEW, UPDATE, UNCHANGED, ERROR = "new", "update", "unchanged", "error"
ACTIONS = (NEW, UPDATE, UNCHANGED, ERROR)

# The file format is Chinese whatever the interface language: these are the headers cadres
# write and the template carries. First name of each list is the template's header.
HEADERS = {
    "name": ["姓名", "名字"],
    "id_number": ["身份证号码", "身份证号", "公民身份号码", "身份证", "身份证件号码", "证件号码"],
    "phone": ["手机号码", "手机", "手机号", "联系电话", "电话", "电话号码", "联系方式"],
    "basis": ["纳入依据", "类别"],
    "priority_group": ["重点人群", "人群分类"],
    "responsible_cadre": ["包保责任人", "包保干部", "包保人"],
    "pregnant": ["孕妇", "怀孕"],
    "severe_allergy": ["以前疫苗接种严重过敏反应", "疫苗严重过敏史", "严重过敏史", "严重过敏反应", "严重过敏"],
    "neuro_history": [
        "惊厥、癫痫、脑病、精神疾病史或家族史",
        "惊厥癫痫脑病精神疾病史",
        "惊厥癫痫脑病或精神疾病史",
        "神经系统疾病史",
    ],
    "fever": ["发热", "发烧"],
    "acute_illness": ["急性疾病或慢性疾病急性发作期", "急性疾病或慢性病急性发作", "急性疾病", "慢性病急性发作期"],
    "severe_chronic": ["严重慢性疾病", "严重慢性病"],
}
FIELDS = list(HEADERS)
TEXT_FIELDS = ("name", "id_number", "phone", "responsible_cadre")

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
_BRACKETED = re.compile(r"[(（\[【].*?[)）\]】]")


class PreviewChanged(Exception):
    """At confirm time the file no longer judges as its preview did: nothing was written."""


@dataclass
class Sheet:
    """The rows of the first sheet that has a recognisable header row."""

    title: str
    header_row: int
    headers: list[str]  # every header cell as written, in file order
    columns: dict[str, int]  # field -> 0-based column index
    rows: list[tuple[int, list]]  # (Excel row number, [(value, is_formula), ...])


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


# Reading the file


def header_key(text) -> str:
    """A header as compared: full-width, spaces, notes in brackets, stars and 是否 removed."""
    key = unicodedata.normalize("NFKC", str(text or ""))
    key = _BRACKETED.sub("", key)
    key = re.sub(r"[\s*:：、，,/／]", "", key).lower()
    return key.removeprefix("是否")


_HEADER_LOOKUP = {header_key(alias): name for name, aliases in HEADERS.items() for alias in aliases}


def _match_headers(cells) -> dict[str, int]:
    columns = {}
    for index, cell in enumerate(cells):
        is_text = isinstance(cell.value, str) and len(cell.value) <= HEADER_MAX_CHARS
        name = _HEADER_LOOKUP.get(header_key(cell.value)) if is_text else None
        if name is not None and name not in columns:
            columns[name] = index
    return columns


def read_sheet(data: bytes) -> Sheet:
    """Find the header row (below any title rows) and read the data rows under it.

    Raises ImportFileError for a file that is not a readable .xlsx, has no header row
    naming at least the ID number and the name, repeats a column, or is too long.
    """
    check_upload(data)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds (zip, XML, key, value errors) for damaged files
        raise damaged() from None
    try:
        for worksheet in workbook.worksheets:
            if not hasattr(worksheet, "iter_rows"):
                continue  # a chart sheet
            worksheet.reset_dimensions()  # the stored dimensions may be wrong; read what is there
            sheet = _read_worksheet(worksheet)
            if sheet is not None:
                return sheet
    except ImportFileError:
        raise
    except Exception:
        raise damaged() from None
    finally:
        workbook.close()
    raise ImportFileError(
        _(
            "No header row found: none of the first %(rows)d rows names both the ID number (身份证号码) "
            "and the name (姓名). Use the template, or add those headers above your columns."
        )
        % {"rows": HEADER_SCAN_ROWS}
    )


def _read_worksheet(worksheet) -> Sheet | None:
    # One pass over the rows (read-only mode streams them): find the header, then go on below it.
    rows = worksheet.iter_rows()
    for number, cells in enumerate(rows, start=1):
        if number > HEADER_SCAN_ROWS:
            return None
        columns = _match_headers(cells)
        if "id_number" in columns and "name" in columns:
            break
    else:
        return None
    bounds = limits()
    for index, cell in enumerate(cells):
        check_cell(cell.value, row=number, column=index, max_chars=bounds.cell_chars)
    headers = [_header_text(cell.value) for cell in cells]
    seen = {}
    for index, text in enumerate(headers):
        name = _HEADER_LOOKUP.get(header_key(text))
        if name is None:
            continue
        if name in seen:
            raise ImportFileError(
                _("Columns %(first)s and %(second)s are both read as “%(header)s”: keep only one of them.")
                % {"first": _column_letter(seen[name]), "second": _column_letter(index), "header": HEADERS[name][0]}
            )
        seen[name] = index
    data_rows = []
    width = len(headers)
    for row_number, cells in enumerate(rows, start=number + 1):
        values = []
        for index, cell in enumerate(cells[:width]):
            # Before the text is kept or copied: one shared string of megabytes may fill every cell.
            check_cell(cell.value, row=row_number, column=index, max_chars=bounds.cell_chars)
            values.append((cell.value, cell.data_type == "f"))
        if all(_blank(values[i][0]) for i in columns.values() if i < len(values)):
            continue
        check_rows(len(data_rows) + 1, max_rows=bounds.rows)
        values += [(None, False)] * (width - len(values))
        data_rows.append((row_number, values))
    return Sheet(title=worksheet.title, header_row=number, headers=headers, columns=columns, rows=data_rows)


def _header_text(value) -> str:
    return "" if value is None else re.sub(r"\s+", " ", str(value)).strip()


def _column_letter(index: int) -> str:
    return get_column_letter(index + 1)


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value) -> str:
    """A cell as text: invisible characters removed, full-width folded, spaces trimmed, a whole float without its .0."""
    if value is None:
        return ""
    if isinstance(value, str) and value.isascii():
        return value.strip()  # nothing full-width or invisible to fold
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime.datetime) and value.time() == datetime.time(0):
        value = value.date()
    return unicodedata.normalize("NFKC", strip_invisible(str(value))).strip()


# Judging the rows


def _value_lookup(table: dict) -> dict:
    return {header_key(alias): value for value, aliases in table.items() for alias in aliases}


_BASIS_LOOKUP = _value_lookup(BASIS_VALUES)
_PRIORITY_LOOKUP = _value_lookup(PRIORITY_VALUES)


def yes_no(value) -> bool | None:
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
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
        names = {user.username.lower(), full, user.first_name, _BRACKETED.sub("", full)}
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
        value, is_formula = values[index]
        if name == "id_number" and isinstance(value, int | float) and not isinstance(value, bool):
            result.cells[name] = f"{value:.5E}"  # as Excel shows a long number: 3.41524E+17
        else:
            result.cells[name] = _shown("" if value is None else str(value) if is_formula else _text(value))
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
            clean(values[columns[name]][0])
        except ValidationError as error:
            result.errors[name] = _message(error)

    def clean_name(value):
        result.values["name"] = normalize_name(_text(value))

    def clean_phone(value):
        phone = normalize_phone(_text(value))
        if phone:
            result.values["phone"] = phone

    def clean_choice(name, table, lookup):
        def clean(value):
            text = _text(value)
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
        text = re.sub(r"\s+", "", _text(value))
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
                    _("Write 是 (yes) or 否 (no), not “%(value)s”.") % {"value": _shown(_text(value))}
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
        raw = values[columns["id_number"]][0]
        if _blank(raw):
            result.errors["id_number"] = _("Enter the ID number.")
        elif normalize_id_number(raw) == EXAMPLE_ID_NUMBER:
            result.errors["id_number"] = _("This is the template's example ID number; write the resident's own.")
        elif isinstance(raw, int | float) and not isinstance(raw, bool) or _SCIENTIFIC.match(_text(raw)):
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
        id_text = normalize_id_number(values[sheet.columns["id_number"]][0])
        name_text = _text(values[sheet.columns["name"]][0])
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


# Keeping, confirming and reporting


def import_preview(*, data: bytes, file_name: str, campaign, village, user) -> ImportBatch:
    """Read an upload, judge it and keep the preview as an ImportBatch. Raises ImportFileError."""
    sheet = read_sheet(data)
    preview = build_preview(sheet=sheet, campaign=campaign, village=village, user=user)
    batch = ImportBatch(
        campaign=campaign, village=village, uploaded_by=user, file_name=displayable(file_name)[:255], content=data
    )
    _store(batch, preview)
    batch.save()
    return batch


def _store(batch: ImportBatch, preview: Preview) -> None:
    counts = preview.counts
    batch.sheet_name = displayable(preview.sheet.title)[:100]
    batch.header_row = preview.sheet.header_row
    # What the pages and the error report show; the values to write are judged again at confirm time.
    # (Plain dicts built by hand: dataclasses.asdict's deep copy cost a second per 5,000 rows.)
    batch.rows = [
        {
            "row": row.row,
            "action": row.action,
            "cells": {name: text for name, text in row.cells.items() if text},
            "errors": row.errors,
            "changes": row.changes,
            "status": row.status,
            "reasons": row.reasons,
        }
        for row in preview.rows
    ]
    batch.signature = preview.signature
    batch.new_count, batch.update_count = counts[NEW], counts[UPDATE]
    batch.unchanged_count, batch.error_count = counts[UNCHANGED], counts[ERROR]


class AlreadyImported(Exception):
    """The batch was confirmed before (a second click, or a second tab)."""


def import_apply(*, batch: ImportBatch, user) -> ImportBatch:
    """Write exactly the new and updated rows of a confirmed preview, all in one transaction.

    The file is judged again inside the transaction. Raises PreviewChanged (and writes
    nothing, but keeps the new preview on the batch) when the outcome differs from what
    the user saw; AlreadyImported for a batch confirmed before.
    """
    try:
        with transaction.atomic():
            # One confirm per batch: a double click waits here, then finds it imported.
            batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
            if batch.status == ImportBatch.Status.APPLIED:
                raise AlreadyImported
            preview = _judge_again(batch, user=user, lock=True)
            if preview.signature != batch.signature:
                raise PreviewChanged
            _write(preview, batch=batch, user=user)
            batch.status, batch.applied_at = ImportBatch.Status.APPLIED, timezone.now()
            batch.save(update_fields=["status", "applied_at"])
    except PreviewChanged:
        # Rolled back; show the user what the file means now.
        _store(batch, _judge_again(batch, user=user))
        batch.save(update_fields=["rows", "signature", "new_count", "update_count", "unchanged_count", "error_count"])
        raise
    return batch


def _judge_again(batch: ImportBatch, *, user, lock: bool = False) -> Preview:
    sheet = read_sheet(bytes(batch.content))
    return build_preview(sheet=sheet, campaign=batch.campaign, village=batch.village, user=user, lock=lock)


def _write(preview: Preview, *, batch, user) -> None:
    residents = Resident.objects.in_bulk([row.resident for row in preview.rows if row.action == UPDATE])
    cadres = User.objects.in_bulk({row.values.get("responsible_cadre") for row in preview.rows} - {None})

    def with_cadre(values):
        if "responsible_cadre" in values:
            values = {**values, "responsible_cadre": cadres.get(values["responsible_cadre"])}
        return values

    people = [with_cadre(row.values) for row in preview.rows if row.action == NEW]
    try:
        residents_register_many(campaign=batch.campaign, village=batch.village, people=people, registered_by=user)
    except (AlreadyRegistered, ValidationError):
        # Someone registered one of these numbers since the check above (no lock can cover a new row).
        raise PreviewChanged from None
    for row in preview.rows:
        if row.action == UPDATE:
            resident_update(resident=residents[row.resident], changed_by=user, **with_cadre(row.values))


def error_report(batch: ImportBatch) -> bytes:
    """The rows that had errors, as uploaded, with a 错误原因 column and the bad cells filled red."""
    sheet = read_sheet(bytes(batch.content))
    errors = {row["row"]: row["errors"] for row in batch.rows if row["action"] == ERROR}
    field_of = {index: name for name, index in sheet.columns.items()}
    workbook = office_workbook()
    ws = workbook.create_sheet("错误行")
    headers = [*sheet.headers, "错误原因"]
    set_widths(ws, [_width(field_of.get(i)) for i in range(len(sheet.headers))] + [60])
    ws.freeze_panes = "A2"
    print_setup(ws, landscape=True, title_rows="1:1")
    ws.append(header_row(ws, headers))
    for row_number, values in sheet.rows:
        if row_number not in errors:
            continue
        row_errors = errors[row_number]
        cells = []
        for index, (value, _is_formula) in enumerate(values):
            name = field_of.get(index)
            if name in TEXT_FIELDS and isinstance(value, float) and value.is_integer():
                value = int(value)  # an ID number Excel turned into a number: give back its digits as text
            cells.append(
                safe_cell(ws, value, text=name in TEXT_FIELDS, fill=ERROR_FILL if name in row_errors else None)
            )
        reasons = "；".join(
            f"{sheet.headers[sheet.columns[name]]}：{message or not_detailed_message()}"
            for name, message in row_errors.items()
        )
        cells.append(safe_cell(ws, reasons))
        ws.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def not_detailed_message() -> str:
    return _("wrong (reasons are given for the first %(max)d rows with errors: fix those first)") % {
        "max": DETAILED_ERRORS
    }


def _width(name) -> int:
    return {"name": 12, "id_number": 22, "phone": 15, "responsible_cadre": 14}.get(name, 14)


NOTES_WIDTH = 80  # characters (a Chinese one counts two): A4 portrait at full size


def _fit(line: str, width: int) -> list[str]:
    """`line` in pieces of at most `width` columns; the pieces after the first are indented."""
    pieces, piece, used = [], "", 0
    for char in line:
        size = 2 if unicodedata.east_asian_width(char) in "WF" else 1
        if used + size > width:
            pieces.append(piece)
            piece, used = "    ", 4
        piece, used = piece + char, used + size
    return [*pieces, piece]


def template_workbook() -> bytes:
    """The import template: Chinese headers, drop-down lists, one example row, ID as text."""
    workbook = office_workbook()
    ws = workbook.create_sheet("居民名单")
    headers = [aliases[0] for aliases in HEADERS.values()]
    set_widths(ws, [12, 22, 15, 12, 26, 14, 8, 14, 18, 8, 16, 12])
    for index, name in enumerate(FIELDS):
        if name in TEXT_FIELDS:
            # Typed-in ID numbers and phones stay text, not numbers that lose digits.
            ws.column_dimensions[_column_letter(index)].number_format = "@"
    ws.freeze_panes = "A2"
    print_setup(ws, landscape=True, title_rows="1:1")
    last = limits().rows + 1
    lists = {
        "basis": [aliases[0] for aliases in BASIS_VALUES.values()],
        "priority_group": [aliases[0] for aliases in PRIORITY_VALUES.values()],
        **{name: ["是", "否"] for name in CONTRAINDICATIONS},
    }
    for name, choices in lists.items():
        letter = _column_letter(FIELDS.index(name))
        validation = DataValidation(
            type="list",
            formula1='"' + ",".join(choices) + '"',
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="请从下拉列表中选择",
            error="请从下拉列表中选择：" + "、".join(choices),
        )
        validation.add(f"{letter}2:{letter}{last}")
        ws.data_validations.append(validation)
    ws.append(header_row(ws, headers))
    example = {
        "name": EXAMPLE_NAME,
        "id_number": EXAMPLE_ID_NUMBER,
        "phone": "13800000000",
        "basis": "户籍地",
        "priority_group": "一般人群",
        "responsible_cadre": "",
        **dict.fromkeys(CONTRAINDICATIONS, "否"),
    }
    ws.append([safe_cell(ws, example[name], text=name in TEXT_FIELDS) for name in FIELDS])

    notes = workbook.create_sheet("填写说明")
    set_widths(notes, [NOTES_WIDTH + 2])
    print_setup(notes, landscape=False)
    for line in TEMPLATE_NOTES:
        # Broken into rows that fit the column: not every program sizes a row to wrapped text,
        # and a line running past the column would print small or cut off.
        for piece in _fit(line, NOTES_WIDTH):
            notes.append([safe_cell(notes, piece)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


TEMPLATE_NOTES = [
    "填写说明",
    "1. 每行一位居民。第2行是示例，导入时自动跳过，可以删除。",
    "2. 姓名、身份证号码必填。身份证号码请以文本格式填写18位（本模板该列已设为文本）；"
    "如果Excel把号码显示成 3.41524E+17，说明后几位已经丢失，请把该列设为文本后重新输入。",
    "3. 手机号码：11位手机号，可以不填。",
    "4. 纳入依据：户籍地、居住地或工作地；重点人群：从下拉列表中选择。不填则新登记时按户籍地、一般人群。",
    "5. 包保责任人：填写本村（社区）干部的姓名或用户名；不填则新登记时为上传人。",
    "6. 六项禁忌情况每项一列，填“是”或“否”，空白视为“否”。",
    "7. 已在本村（社区）登记的居民按身份证号码更新；手机号码、纳入依据、重点人群、包保责任人留空时保留原有内容。",
    "8. 列的顺序可以调整，表头上方可以有标题行。",
]
