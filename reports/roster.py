"""The residents roster (居民花名册): one Excel sheet in the layout village cadres and the office use.

The sheet is a Chinese administrative document whatever the user's interface language:
its headers are written in Chinese here, and labels are rendered under zh-hans. A whole town is
100,000 rows: the sheet is written by campaign.lib.xlsx (rust_xlsxwriter, constant memory) from
plain tuples, each cell prepared with a dictionary lookup or a cached value where it can be.
"""

import datetime
import json

from django.utils import timezone, translation

from campaign.lib.documents import document_short_label, nationality_name
from campaign.lib.excel import TITLED_HEADER_ROW
from campaign.lib.idnumber import age_on
from campaign.lib.masking import shown_id_number, shown_phone
from campaign.lib.xlsx import DATE, DATETIME, LABEL, NUMBER, Column, write_titled_sheet
from reports.doses import CHINESE_ORDINALS
from reports.selectors import roster_rows
from residents.models import Resident
from residents.services import reason_labels

SHEET_TITLE = "居民花名册"
DOSE_NAMES = CHINESE_ORDINALS  # 第一剂, 第二剂, ...: a column per dose of the campaign, one dose too
HEADER_ROW = TITLED_HEADER_ROW
# Headers and the name stay in view: frozen right of the first two columns (序号, 姓名).
FROZEN_COLUMNS = 2

# (header, width in characters, kind) before and after the dose columns. TEXT is stored text, scanned
# for characters to show as U+FFFD; LABEL is text the product composes (campaign.lib.xlsx).
COLUMNS_BEFORE_DOSES = [
    Column("序号", 7, NUMBER),
    Column("姓名", 10),
    Column("性别", 6, LABEL),
    Column("出生日期", 12, DATE),
    Column("年龄", 6, NUMBER),
    Column("证件类型", 10, LABEL),  # documents: the type beside its number (a short name)
    Column("证件号码", 21),
    Column("手机号码", 14, LABEL),  # 11 digits: the database checks its shape
    Column("村（社区）", 12),
    Column("纳入依据", 10, LABEL),
    Column("重点人群", 18, LABEL),
    Column("状态", 10, LABEL),
    Column("原因", 30),
    Column("包保干部", 14),
]
DOSE_WIDTH = 17
COLUMNS_AFTER_DOSES = [Column("登记时间", 17, DATETIME)]
# write_roster's `progress` is called after every this many rows.
PROGRESS_EVERY = 1000


def roster_columns(*, doses: int, age_unit: str = "years", full_values: bool = True) -> list[Column]:
    """The roster's columns (header, width, kind): one column per dose of the campaign (第一剂, 第二剂, ...).

    A file with masked ID numbers has no birth date column and gives the age in years
    (campaign.lib.masking: beside a masked number, only the age). A dose column holds the day the
    dose was given (a date) or 已预约 and the booked day (text).
    """
    before = []
    for column in COLUMNS_BEFORE_DOSES:
        if column.header == "出生日期" and not full_values:
            continue
        if column.header == "年龄" and age_unit == "months" and full_values:
            column = Column("年龄（月）", 8, NUMBER)
        before.append(column)
    doses_ = [Column(f"第{DOSE_NAMES[n - 1]}剂", DOSE_WIDTH, DATE) for n in range(1, doses + 1)]
    return before + doses_ + COLUMNS_AFTER_DOSES


def _cadre_name(last_name, first_name, username) -> str | None:
    return f"{last_name or ''}{first_name or ''}".strip() or username or None


def _document(document_type: str, nationality: str) -> str:
    """The 证件类型 cell: the type's short name, with the nationality of a foreign document (护照（日本）)."""
    label = document_short_label(document_type)
    return f"{label}（{nationality_name(nationality)}）" if nationality else label


def roster_cells(rows, *, doses: int, full_values: bool, age_unit: str, today: datetime.date):
    """Each row of roster_rows as the roster's cells, in the order of roster_columns.

    Labels are rendered once (zh-hans: call it under translation.override); what repeats (a
    cadre's name, a list of reasons, an age, a booked day) is computed once and looked up after.
    Document numbers and phones are shown as campaign.lib.masking says (each document type by its
    rule); the birth date only with them whole.
    """
    sexes = {value: str(label) for value, label in Resident.Sex.choices}
    bases = {value: str(label) for value, label in Resident.Basis.choices}
    groups = {value: str(label) for value, label in Resident.PriorityGroup.choices}
    statuses = {value: str(label) for value, label in Resident.Status.choices}
    reasons_shown: dict[str, str] = {}
    cadres: dict[int | None, str | None] = {None: None}
    documents: dict[tuple[str, str], str] = {}
    ages: dict[datetime.date, int] = {}
    booked_shown: dict[datetime.date, str] = {}
    local = timezone.get_current_timezone()
    dose_at = range(0, 2 * doses, 2)
    for count, row in enumerate(rows, 1):
        # reports.selectors.ROSTER_FIELDS, then (day given, day booked) of each dose.
        (name, sex, birth_date, document_type, id_number, nationality, phone, village) = row[:8]
        (basis, group, status, reasons_json, note, cadre_id, cadre_last_name, cadre_first_name) = row[8:16]
        (cadre_username, registered_at, *dose_days) = row[16:]
        age = ages.get(birth_date)
        if age is None:
            age = ages[birth_date] = age_on(birth_date, today, age_unit)
        reasons = reasons_shown.get(reasons_json)
        if reasons is None:
            reasons = reasons_shown[reasons_json] = "、".join(reason_labels(json.loads(reasons_json or "[]")))
        if note:
            reasons = f"{reasons}：{note}" if reasons else note
        document = documents.get((document_type, nationality))
        if document is None:
            document = documents[document_type, nationality] = _document(document_type, nationality)
        cadre = cadres.get(cadre_id, False)
        if cadre is False:
            cadre = cadres[cadre_id] = _cadre_name(cadre_last_name, cadre_first_name, cadre_username)
        cells = [
            count,
            name,
            sexes.get(sex, sex),
            birth_date,
            age,
            document,
            shown_id_number(id_number, full=full_values, document_type=document_type),
            shown_phone(phone, full=full_values) or None,
            village,
            bases.get(basis, basis),
            groups.get(group, group),
            statuses.get(status, status),
            reasons or None,
            cadre,
        ]
        if not full_values:
            del cells[3]
        for index in dose_at:
            # The day the dose was given (a date), else 已预约 and the booked day, else empty.
            given = dose_days[index]
            if given is None:
                booked = dose_days[index + 1]
                if booked is not None:
                    given = booked_shown.get(booked)
                    if given is None:
                        given = booked_shown[booked] = f"已预约 {booked:%Y-%m-%d}"
            cells.append(given)
        # Excel has no time zones: the wall-clock time in Meishan (the writer writes a datetime's own).
        cells.append(registered_at.astimezone(local))
        yield cells


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
    (campaign.lib.masking). Text cells are written as text (campaign.lib.xlsx: text starting with
    = + - @ shows as typed and never runs). Streams rows from one query into a constant-memory
    writer, so memory stays flat. `progress`, when given, is called as progress(rows written, None)
    every PROGRESS_EVERY rows. Returns the number of residents written.
    """
    today = today or timezone.localdate()
    columns = roster_columns(doses=campaign.doses, age_unit=campaign.age_unit, full_values=full_values)
    age_unit = campaign.age_unit if full_values else "years"
    with translation.override("zh-hans"):
        cells = roster_cells(
            roster_rows(residents=residents, doses=campaign.doses),
            doses=campaign.doses,
            full_values=full_values,
            age_unit=age_unit,
            today=today,
        )
        return write_titled_sheet(
            target,
            sheet_name=SHEET_TITLE,
            columns=columns,
            rows=cells,
            title=title,
            note=note,
            freeze_columns=FROZEN_COLUMNS,
            progress=progress,
            progress_every=PROGRESS_EVERY,
        )
