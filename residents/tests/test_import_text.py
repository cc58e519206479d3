"""The importer applies the forms' text rule (campaign.lib.text): control and bidirectional
characters refuse the row with a message at the cell, invisible ones are removed."""

import io

import pytest
from openpyxl import load_workbook

from residents.importing import services as importing
from residents.importing.reading import Cell, Sheet
from residents.importing.rows import ERROR, NEW, build_preview
from residents.importing.services import import_apply, import_preview
from residents.models import Resident
from residents.tests.factories import id_number_for
from residents.tests.sheets import person, xlsx

pytestmark = pytest.mark.django_db

REFUSED = "不可见的控制字符"


def preview(data, village, user, file_name="名单.xlsx"):
    return import_preview(data=data, file_name=file_name, campaign=village.campaign, village=village, user=user)


def test_a_row_with_a_bidi_override_or_a_c1_control_is_refused_with_a_message_at_the_cell(cadre_qingshan, qingshan):
    rows = [person(0), person(1, 姓名="王\u202e五"), person(2, 姓名="李\x9b31m四"), person(3, 包保责任人="王\u2067芳")]
    batch = preview(xlsx(rows), qingshan, cadre_qingshan)
    by_row = {row["row"]: row for row in batch.rows}
    assert (batch.new_count, batch.error_count) == (1, 3)
    assert REFUSED in by_row[3]["errors"]["name"] and "U+202E" in by_row[3]["errors"]["name"]
    assert REFUSED in by_row[4]["errors"]["name"] and "U+009B" in by_row[4]["errors"]["name"]
    assert REFUSED in by_row[5]["errors"]["responsible_cadre"]
    assert by_row[3]["cells"]["name"] == "王\ufffd五"  # kept for the page without the override itself

    report = load_workbook(io.BytesIO(importing.error_report(batch))).active
    assert [row[0].value for row in report.iter_rows(min_row=2)] == ["王\ufffd五", "李\ufffd31m四", person(3)["姓名"]]

    import_apply(batch=batch, user=cadre_qingshan)
    assert list(Resident.objects.values_list("name", flat=True)) == [person(0)["姓名"]]


def test_zero_width_characters_copied_along_are_removed(cadre_qingshan, qingshan):
    number = id_number_for(0)
    batch = preview(
        xlsx([person(0, 姓名="\ufeff王\u200b伟", 身份证号码=number[:9] + "\u200b" + number[9:])]),
        qingshan,
        cadre_qingshan,
    )
    assert (batch.new_count, batch.error_count) == (1, 0)
    import_apply(batch=batch, user=cadre_qingshan)
    assert Resident.objects.get().name == "王伟"
    assert Resident.objects.get().id_number == number


def test_a_row_with_c0_control_characters_is_refused(cadre_qingshan, qingshan):
    # An .xlsx cannot hold C0 controls (XML forbids them), a CSV can: judged the same whatever the reader.
    columns = {"name": 0, "id_number": 1}
    sheet = Sheet(
        title="名单",
        header_row=1,
        headers=["姓名", "身份证号码"],
        columns=columns,
        rows=[
            (2, [Cell("a\x07\x1b[31mb"), Cell(id_number_for(0))]),
            (3, [Cell("王伟"), Cell(id_number_for(1))]),
        ],
    )
    result = build_preview(sheet=sheet, campaign=qingshan.campaign, village=qingshan, user=cadre_qingshan)
    first, second = result.rows
    assert first.action == ERROR and REFUSED in first.errors["name"] and "U+0007, U+001B" in first.errors["name"]
    assert second.action == NEW


def test_a_file_name_with_control_characters_is_kept_harmless(cadre_qingshan, qingshan):
    batch = preview(xlsx([person(0)]), qingshan, cadre_qingshan, file_name="名单\x00\x1b.xlsx")
    batch.refresh_from_db()
    assert batch.file_name == "名单\ufffd\ufffd.xlsx"
