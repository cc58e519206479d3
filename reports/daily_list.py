"""The daily list (每日预约名单) as an Excel roster for a site team.

Built in the request (and by `manage.py export_roster`) rather than as an export job:
a site-day holds at most the site's daily capacity (hundreds of rows), which takes well
under a second to write.
The file is in Chinese whatever the user's language: it goes to the site.
"""

import io

from django.utils import formats, translation
from django.utils.translation import gettext as _
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter

from appointments.daily.selectors import DailyList
from appointments.models import Appointment
from campaign.lib.documents import document_short_label
from campaign.lib.excel import HEADER_FONT, TITLE_FONT, header_row, office_workbook, print_setup, safe_cell, set_widths
from campaign.lib.masking import mask_phone, shown_id_number

FILE_LANGUAGE = "zh-hans"


def dose_label(number: int) -> str:
    return _("Dose %(number)s") % {"number": number}


def _count(label, count: int) -> str:
    return _("%(label)s: %(count)s") % {"label": label, "count": count}


def _title(daily: DailyList) -> str:
    day = formats.date_format(daily.day, "DATE_FORMAT") + " " + formats.date_format(daily.day, "l")
    title = _("%(site)s · appointments for %(day)s") % {"site": daily.site.name, "day": day}
    if daily.village is not None:
        title += " · " + daily.village.name
    return title


def daily_list_filename(daily: DailyList, *, full: bool = False) -> str:
    """梅山镇卫生院_2021-06-01_预约名单.xlsx; a cadre's file names the village, a full one says so."""
    with translation.override(FILE_LANGUAGE):
        parts = [daily.site.short_name, daily.day.isoformat(), _("Appointment list")]
        if daily.village is not None:
            parts.append(daily.village.name)
        if full:
            parts.append(_("full ID numbers"))
    return "_".join(parts) + ".xlsx"


def daily_list_xlsx(daily: DailyList, *, full: bool = False) -> bytes:
    """The roster: title, frozen headers, one row per person, a totals row, and a sheet of totals per village.

    ID numbers and phones are masked unless `full` (the caller decides who may have them).
    """
    with translation.override(FILE_LANGUAGE):
        return _workbook(daily, full=full)


def _workbook(daily: DailyList, *, full: bool) -> bytes:
    slot_labels = dict(Appointment.Slot.choices)
    status_labels = dict(Appointment.Status.choices)
    # A one-dose campaign's list has no dose column: every row would read the same dose.
    per_dose = len(daily.doses) > 1
    headers = [_("No."), _("village or community"), _("Name"), _("document type"), _("document number"), _("phone")]
    widths = [6, 14, 12, 10, 22, 15]
    if per_dose:
        headers.append(_("dose"))
        widths.append(9)
    if daily.uses_slots:
        headers.append(_("time of day"))
        widths.append(10)
    headers.append(_("status"))
    widths.append(9)

    workbook = office_workbook()
    sheet = workbook.create_sheet(_("Appointment list"))
    set_widths(sheet, widths)
    sheet.freeze_panes = "A3"
    print_setup(sheet, landscape=False, title_rows="2:2")  # the headers again on every printed page
    sheet.merged_cells.add(f"A1:{get_column_letter(len(headers))}1")

    title = safe_cell(sheet, _title(daily), font=TITLE_FONT)
    title.alignment = Alignment(horizontal="center")
    sheet.append([title])
    sheet.append(header_row(sheet, headers))
    for row in daily.rows:
        resident, item = row.resident, row.appointment
        cells = [
            safe_cell(sheet, row.number),
            safe_cell(sheet, resident.village.name),
            safe_cell(sheet, resident.name),
            safe_cell(sheet, document_short_label(resident.document_type)),
            safe_cell(
                sheet, shown_id_number(resident.id_number, full=full, document_type=resident.document_type), text=True
            ),
            safe_cell(sheet, resident.phone if full else mask_phone(resident.phone), text=True),
        ]
        if per_dose:
            cells.append(safe_cell(sheet, dose_label(item.dose_number)))
        if daily.uses_slots:
            cells.append(safe_cell(sheet, str(slot_labels[item.slot]) if item.slot else ""))
        cells.append(safe_cell(sheet, str(status_labels[item.status])))
        sheet.append(cells)

    totals = [
        safe_cell(sheet, _("Total"), font=HEADER_FONT),
        safe_cell(sheet, ""),
        safe_cell(sheet, _("%(count)s people") % {"count": daily.total}, font=HEADER_FONT),
    ]
    if per_dose:
        totals.append(safe_cell(sheet, "，".join(_count(dose_label(d), n) for d, n in daily.by_dose.items())))
    if daily.uses_slots:
        totals.append(safe_cell(sheet, "，".join(_count(label, count) for label, count in daily.slot_totals)))
    sheet.append(totals)

    # Totals by village: a column per dose when the campaign has several, then the total.
    doses = daily.doses if per_dose else []
    summary = workbook.create_sheet(_("Totals by village"))
    set_widths(summary, [16] + [10] * (len(doses) + 1))
    summary.freeze_panes = "A2"
    print_setup(summary, landscape=False, title_rows="1:1")
    summary.append(header_row(summary, [_("village or community"), *map(dose_label, doses), _("Total")]))
    for village in daily.by_village:
        summary.append(
            [
                safe_cell(summary, village.village.name),
                *(safe_cell(summary, village.by_dose[dose]) for dose in doses),
                safe_cell(summary, village.total),
            ]
        )
    summary.append(
        [
            safe_cell(summary, _("Total"), font=HEADER_FONT),
            *(safe_cell(summary, daily.by_dose[dose], font=HEADER_FONT) for dose in doses),
            safe_cell(summary, daily.total, font=HEADER_FONT),
        ]
    )

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
