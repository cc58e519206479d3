"""The residents roster (居民花名册): one Excel sheet in the layout village cadres and the office use.

The sheet is a Chinese administrative document whatever the user's interface language:
its headers are written in Chinese here, and labels are rendered under zh-hans.
"""

import datetime

from django.utils import timezone, translation
from openpyxl.utils import get_column_letter

from campaign.lib.documents import document_short_label, nationality_name
from campaign.lib.excel import TITLED_HEADER_ROW, date_cell, office_workbook, safe_cell, titled_sheet
from campaign.lib.idnumber import age_on
from campaign.lib.masking import shown_birth_date, shown_id_number, shown_phone
from reports.selectors import roster_rows
from residents.models import Resident
from residents.services import reason_labels

SHEET_TITLE = "居民花名册"
DOSE_NAMES = "一二三四五"
HEADER_ROW = TITLED_HEADER_ROW

# (header, width in characters) before and after the dose columns.
COLUMNS_BEFORE_DOSES = [
    ("序号", 7),
    ("姓名", 10),
    ("性别", 6),
    ("出生日期", 12),
    ("年龄", 6),
    ("证件类型", 10),  # documents: the type beside its number (a short name)
    ("证件号码", 21),
    ("手机号码", 14),
    ("村（社区）", 12),
    ("纳入依据", 10),
    ("重点人群", 18),
    ("状态", 10),
    ("原因", 30),
    ("包保干部", 14),
]
DOSE_WIDTH = 17
COLUMNS_AFTER_DOSES = [("登记时间", 17)]
# write_roster's `progress` is called after every this many rows.
PROGRESS_EVERY = 1000


def roster_columns(*, doses: int, age_unit: str = "years", full_values: bool = True) -> list[tuple[str, int]]:
    """The roster's headers and widths: one column per dose of the campaign (第一剂, 第二剂, ...).

    A file with masked ID numbers has no birth date column and gives the age in years
    (campaign.lib.masking: beside a masked number, only the age).
    """
    before = []
    for header, width in COLUMNS_BEFORE_DOSES:
        if header == "出生日期" and not full_values:
            continue
        if header == "年龄" and age_unit == "months" and full_values:
            header, width = "年龄（月）", 8
        before.append((header, width))
    doses_ = [(f"第{DOSE_NAMES[n - 1]}剂", DOSE_WIDTH) for n in range(1, doses + 1)]
    return before + doses_ + COLUMNS_AFTER_DOSES


def _local_naive(moment: datetime.datetime | None) -> datetime.datetime | None:
    # Excel has no time zones: write the wall-clock time in Meishan.
    return timezone.localtime(moment).replace(tzinfo=None) if moment else None


def _cadre_name(row) -> str:
    full = f"{row['cadre_last_name'] or ''}{row['cadre_first_name'] or ''}".strip()
    return full or (row["cadre_username"] or "")


def _dose_cell(ws, given, booked):
    """The day the dose was given (a date), else 已预约 and the booked day, else empty."""
    if given:
        return date_cell(ws, timezone.localtime(given).date())
    if booked:
        return safe_cell(ws, f"已预约 {booked:%Y-%m-%d}")
    return None


def write_roster(
    *,
    target,
    campaign,
    residents,
    title: str,
    note: str,
    full_values: bool,
    today: datetime.date | None = None,
    progress=None,
) -> int:
    """Write the roster of `residents` (scoped and filtered) as an .xlsx file to `target` (a path or binary file).

    ID numbers and phones are masked unless `full_values`, and then the birth date is left out
    (campaign.lib.masking); every text cell goes through
    safe_cell, so text starting with = + - @ shows as typed and never runs. Streams rows
    (openpyxl write-only mode over a server-side iterator), so memory stays flat.
    `progress`, when given, is called as progress(rows written, None) every PROGRESS_EVERY rows.
    Returns the number of residents written.
    """
    today = today or timezone.localdate()
    columns = roster_columns(doses=campaign.doses, age_unit=campaign.age_unit, full_values=full_values)
    age_unit = campaign.age_unit if full_values else "years"
    workbook = office_workbook()
    # Headers and the name stay in view.
    ws = titled_sheet(workbook, SHEET_TITLE, columns, title=title, note=note, freeze=f"C{HEADER_ROW + 1}")
    last_column = get_column_letter(len(columns))

    with translation.override("zh-hans"):
        sexes = {value: str(label) for value, label in Resident.Sex.choices}
        bases = {value: str(label) for value, label in Resident.Basis.choices}
        groups = {value: str(label) for value, label in Resident.PriorityGroup.choices}
        statuses = {value: str(label) for value, label in Resident.Status.choices}
        labels_cache: dict[tuple, str] = {}
        count = 0
        for row in roster_rows(residents=residents, doses=campaign.doses):
            count += 1
            reasons_key = tuple(row["status_reasons"] or ())
            if reasons_key not in labels_cache:
                labels_cache[reasons_key] = "、".join(reason_labels(list(reasons_key)))
            reasons = labels_cache[reasons_key]
            if row["status_note"]:
                reasons = f"{reasons}：{row['status_note']}" if reasons else row["status_note"]
            id_number = shown_id_number(row["id_number"], full=full_values, document_type=row["document_type"])
            phone = shown_phone(row["phone"], full=full_values)
            birth_date = shown_birth_date(row["birth_date"], full=full_values)
            cadre = _cadre_name(row)
            cells = [count, safe_cell(ws, row["name"]), safe_cell(ws, sexes.get(row["sex"], row["sex"]))]
            if birth_date is not None:
                cells.append(date_cell(ws, birth_date))
            cells += [
                age_on(row["birth_date"], today, age_unit),
                safe_cell(ws, _document(row)),  # documents: 证件类型
                safe_cell(ws, id_number, text=True),
                safe_cell(ws, phone, text=True) if phone else None,
                safe_cell(ws, row["village_name"]),
                safe_cell(ws, bases.get(row["basis"], row["basis"])),
                safe_cell(ws, groups.get(row["priority_group"], row["priority_group"])),
                safe_cell(ws, statuses.get(row["status"], row["status"])),
                safe_cell(ws, reasons) if reasons else None,
                safe_cell(ws, cadre) if cadre else None,
            ]
            for n in range(1, campaign.doses + 1):
                cells.append(_dose_cell(ws, row[f"dose{n}_at"], row[f"dose{n}_booked"]))
            cells.append(date_cell(ws, _local_naive(row["registered_at"]), with_time=True))
            ws.append(cells)
            if progress is not None and count % PROGRESS_EVERY == 0:
                progress(count, None)
    # Filter arrows on the headers (written at the end of the sheet, so known only now).
    ws.auto_filter.ref = f"A{HEADER_ROW}:{last_column}{HEADER_ROW + max(count, 1)}"
    workbook.save(target)
    return count


def _document(row) -> str:
    """The 证件类型 cell: the type's short name, with the nationality of a foreign document (护照（日本）)."""
    label = document_short_label(row["document_type"])
    return f"{label}（{nationality_name(row['nationality'])}）" if row["nationality"] else label
