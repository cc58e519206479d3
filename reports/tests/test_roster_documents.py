"""The roster's 证件类型 column: every document labelled, each number masked by its type's rule."""

import pytest

from reports.tests.helpers import column, open_roster
from residents.tests.factories import ResidentFactory

pytestmark = pytest.mark.django_db


def test_the_roster_names_each_document_and_masks_it_by_its_type(export_now, office, qingshan):
    ResidentFactory(village=qingshan, name="身份证持有人")
    ResidentFactory(
        village=qingshan, name="护照持有人", document_type="passport", id_number="E12345678", nationality="USA"
    )
    ResidentFactory(village=qingshan, name="回乡证持有人", document_type="hk_mo_travel_permit", id_number="H87654321")
    _sheet, _title, _note, headers, rows = open_roster(export_now(office, {"village": str(qingshan.pk)}))
    names = [cell.value for cell in column(headers, rows, "姓名")]
    documents = dict(zip(names, (cell.value for cell in column(headers, rows, "证件类型")), strict=True))
    numbers = dict(zip(names, (cell.value for cell in column(headers, rows, "证件号码")), strict=True))
    assert documents == {"身份证持有人": "身份证", "护照持有人": "护照（美国）", "回乡证持有人": "回乡证"}
    assert numbers["护照持有人"] == "E****5678" and numbers["回乡证持有人"] == "H****4321"


def test_full_values_give_every_number_whole(export_now, office, qingshan):
    ResidentFactory(village=qingshan, document_type="passport", id_number="E12345678", nationality="USA")
    _sheet, _title, _note, headers, rows = open_roster(export_now(office, {}, full_values=True))
    (cell,) = column(headers, rows, "证件号码")
    assert cell.value == "E12345678" and cell.data_type == "s"
