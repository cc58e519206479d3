"""Every identity document through the importer: a 证件类型 column, 证件号码 as the number's header,
and 出生日期, 性别 and 国籍 for the documents whose number does not say them."""

import datetime
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from campaign.lib.documents import DocumentType, make_document_number
from residents.importing import services as importing
from residents.importing.services import import_apply, import_preview
from residents.importing.template import template_workbook
from residents.models import Resident
from residents.tests.factories import ResidentFactory, id_number_for
from residents.tests.sheets import xlsx

pytestmark = pytest.mark.django_db

HEADERS = ["姓名", "证件类型", "证件号码", "出生日期", "性别", "国籍"]
BORN = datetime.date(1990, 3, 8)


def preview(data, village, user):
    return import_preview(data=data, file_name="名单.xlsx", campaign=village.campaign, village=village, user=user)


def rows_by_number(batch):
    return {row["row"]: row for row in batch.rows}


def imported(rows, village, user, headers=HEADERS):
    batch = preview(xlsx(rows, headers=headers), village, user)
    assert batch.error_count == 0, batch.rows
    import_apply(batch=batch, user=user)
    return batch


@pytest.mark.parametrize(
    "written, document_type, number, entered, nationality",
    [
        ("居民身份证", DocumentType.ID_CARD, id_number_for(1), False, ""),
        ("", DocumentType.ID_CARD, id_number_for(1), False, ""),
        ("身份证", DocumentType.ID_CARD, id_number_for(1), False, ""),
        ("港澳台居民居住证", DocumentType.HMT_RESIDENCE_PERMIT, make_document_number("hmt_residence_permit"), False,
         ""),
        ("外国人永久居留身份证", DocumentType.FOREIGN_PERMANENT_RESIDENCE,
         make_document_number("foreign_permanent_residence"), False, "JPN"),
        ("永居证", DocumentType.FOREIGN_PERMANENT_RESIDENCE, "KAZ110090123105", True, "KAZ"),
        ("护照", DocumentType.PASSPORT, "E12345678", True, "JPN"),
        ("回乡证", DocumentType.HK_MO_TRAVEL_PERMIT, "H12345678", True, ""),
        ("港澳居民来往内地通行证", DocumentType.HK_MO_TRAVEL_PERMIT, "M1234567801", True, ""),
        ("台胞证", DocumentType.TW_TRAVEL_PERMIT, "12345678", True, ""),
        ("出生证", DocumentType.BIRTH_CERTIFICATE, "X123456789", True, ""),
        ("出生医学证明", DocumentType.BIRTH_CERTIFICATE, "P123456789", True, ""),
    ],
    ids=["id-card", "id-card-by-default", "id-card-short", "hmt-permit", "foreign-card-2023", "foreign-card-old",
         "passport", "hk-mo-short", "hk-mo-with-issue-count", "tw-short", "birth-certificate-short",
         "birth-certificate"],
)  # fmt: skip
def test_each_document_type_imports_with_what_its_number_says_or_what_the_sheet_enters(
    cadre_qingshan, qingshan, written, document_type, number, entered, nationality
):
    # Birth date and sex are entered for every row: used where the number does not say them.
    row = ["王芳", written, number, "1990-03-08", "女", "日本" if document_type == DocumentType.PASSPORT else ""]
    imported([row], qingshan, cadre_qingshan)

    resident = Resident.objects.get()
    assert (resident.document_type, resident.id_number, resident.nationality) == (document_type, number, nationality)
    if entered:
        assert (resident.birth_date, resident.sex) == (BORN, "F")
    else:
        assert resident.birth_date != BORN  # the number's, not the column's


def test_a_sheet_with_only_the_id_number_column_imports_as_before(cadre_qingshan, qingshan):
    permit = make_document_number("hmt_residence_permit", sequence=7)
    batch = imported([["张伟", id_number_for(1)], ["陈美玲", permit]], qingshan, cadre_qingshan, ["姓名", "身份证号码"])

    rows = rows_by_number(batch)
    assert "warnings" not in rows[2]
    assert "港澳台居民居住证" in rows[3]["warnings"]["id_number"]  # told it is recorded as the permit
    assert dict(Resident.objects.values_list("id_number", "document_type")) == {
        id_number_for(1): DocumentType.ID_CARD,
        permit: DocumentType.HMT_RESIDENCE_PERMIT,
    }


def test_an_old_15_digit_id_number_is_converted_and_the_row_says_so(cadre_qingshan, qingshan):
    eighteen = id_number_for(3, birth_date=datetime.date(1975, 4, 2))
    fifteen = eighteen[:6] + eighteen[8:17]
    batch = imported([["张伟", fifteen], ["李强", int(fifteen[:6] + "750403" + "005")]], qingshan, cadre_qingshan,
                     ["姓名", "身份证号码"])  # fmt: skip

    rows = rows_by_number(batch)
    note = rows[2]["warnings"]["id_number"]
    assert "15位" in note and "18位" in note
    assert fifteen not in note and eighteen not in note  # the page shows numbers masked
    assert rows[3]["action"] == "new"  # a 15-digit number cell keeps every digit
    assert Resident.objects.filter(id_number=eighteen).exists()


@pytest.mark.parametrize(
    "row, field, words",
    [
        (["王芳", "护照", "E1", "1990-03-08", "女", "日本"], "id_number", "护照号码"),
        (["王芳", "回乡证", "X12345678", "1990-03-08", "女", ""], "id_number", "H"),
        (["王芳", "台胞证", "1234", "1990-03-08", "女", ""], "id_number", "8"),
        (["王芳", "出生证", "123456789", "1990-03-08", "女", ""], "id_number", "字母"),
        (["王芳", "港澳台居民居住证", id_number_for(1), "", "", ""], "id_number", "810000"),
        (["王芳", "外国人永久居留身份证", "ZZZ110090123105", "1990-03-08", "女", ""], "id_number", "ZZZ"),
        (["王芳", "驾驶证", "E12345678", "1990-03-08", "女", ""], "document_type", "驾驶证"),
        (["王芳", "护照", "E12345678", "", "女", "日本"], "birth_date", "出生日期"),
        (["王芳", "护照", "E12345678", "1990-03", "女", "日本"], "birth_date", "年、月、日"),
        (["王芳", "护照", "E12345678", "三月八日", "女", "日本"], "birth_date", "三月八日"),
        (["王芳", "护照", "E12345678", "1990-03-08", "", "日本"], "sex", "性别"),
        (["王芳", "护照", "E12345678", "1990-03-08", "不详", "日本"], "sex", "不详"),
        (["王芳", "护照", "E12345678", "1990-03-08", "女", ""], "nationality", "国籍"),
        (["王芳", "护照", "E12345678", "1990-03-08", "女", "火星"], "nationality", "火星"),
        (["王芳", "护照", "E12345678", "1990-03-08", "男", "日本"], None, None),
    ],
    ids=["passport", "hk-mo", "tw", "birth-certificate", "permit-prefix", "foreign-country", "unknown-type",
         "no-birth-date", "month-only", "unreadable-date", "no-sex", "unreadable-sex", "no-nationality",
         "unknown-nationality", "all-right"],
)  # fmt: skip
def test_each_document_mistake_is_an_error_at_its_field_in_chinese(cadre_qingshan, qingshan, row, field, words):
    (judged,) = preview(xlsx([row], headers=HEADERS), qingshan, cadre_qingshan).rows
    if field is None:
        assert judged["action"] == "new"
        return
    assert judged["action"] == "error"
    assert list(judged["errors"]) == [field]
    assert words in judged["errors"][field]


def test_a_passport_without_a_birth_date_column_is_an_error_the_page_and_the_report_name(
    client, cadre_qingshan, qingshan
):
    batch = preview(xlsx([["王芳", "护照", "E12345678"]], headers=HEADERS[:3]), qingshan, cadre_qingshan)
    (row,) = batch.rows
    assert set(row["errors"]) == {"birth_date", "sex", "nationality"}

    client.force_login(cadre_qingshan)
    page = client.get(reverse("residents:import_preview", args=[batch.pk])).content.decode()
    assert "出生日期：请填写出生日期" in page and "性别：" in page and "国籍：" in page
    report = load_workbook(io.BytesIO(importing.error_report(batch))).active
    reason = report["D2"].value
    assert "出生日期：" in reason and "性别：" in reason and "国籍：" in reason


def test_the_same_document_twice_in_a_file_is_an_error_but_one_number_under_two_types_is_two_documents(
    cadre_qingshan, qingshan
):
    rows = [
        ["王芳", "护照", "E12345678", "1990-03-08", "女", "日本"],
        ["王芳", "护照", "e12345678", "1990-03-08", "女", "日本"],  # the same, lowercased
        ["陈美玲", "台胞证", "12345678", "1990-03-08", "女", ""],
        ["林志明", "护照", "12345678", "1991-01-01", "男", "新加坡"],
    ]
    judged = rows_by_number(preview(xlsx(rows, headers=HEADERS), qingshan, cadre_qingshan))

    assert [judged[n]["action"] for n in (2, 3, 4, 5)] == ["error", "error", "new", "new"]
    assert judged[2]["errors"]["id_number"] == "与本文件第 3 行的护照号码重复。"


def test_a_document_registered_already_is_found_by_its_type_and_number(cadre_qingshan, qingshan, honghe, office):
    ResidentFactory(
        village=qingshan,
        name="王芳",
        phone="",
        document_type=DocumentType.PASSPORT,
        id_number="E12345678",
        id_number_reversed="87654321E",
        nationality="JPN",
        birth_date=BORN,
        sex="F",
    )
    ResidentFactory(
        village=honghe,
        document_type=DocumentType.TW_TRAVEL_PERMIT,
        id_number="12345678",
        id_number_reversed="87654321",
        birth_date=BORN,
        sex="M",
    )
    rows = [
        ["王芳", "护照", "E12345678", "1991-01-01", "女", "日本"],  # the record's identity stays
        ["陈美玲", "台胞证", "12345678", "1990-03-08", "女", ""],
    ]
    batch = preview(xlsx(rows, headers=HEADERS), qingshan, office)
    judged = rows_by_number(batch)

    assert judged[2]["action"] == "unchanged"
    assert judged[3]["action"] == "error" and "红河社区" in judged[3]["errors"]["id_number"]
    assert "台湾居民来往大陆通行证" in judged[3]["errors"]["id_number"]


def test_the_preview_shows_a_documents_type_beside_its_masked_number(client, cadre_qingshan, qingshan):
    batch = preview(xlsx([["王芳", "护照", "E12345678", "1990-03-08", "女", "日本"]], headers=HEADERS), qingshan,
                    cadre_qingshan)  # fmt: skip
    client.force_login(cadre_qingshan)
    page = client.get(reverse("residents:import_preview", args=[batch.pk]) + "?show=all").content.decode()
    assert 'data-testid="document-type">护照<' in page
    assert "E12345678" not in page and "E****5678" in page


def test_the_template_has_the_document_columns_with_a_drop_down_and_imports_a_passport(cadre_qingshan, qingshan):
    workbook = load_workbook(io.BytesIO(template_workbook()))
    sheet = workbook.worksheets[0]
    headers = [cell.value for cell in sheet[1]]
    assert headers[-8:-4] == ["证件类型", "出生日期", "性别", "国籍"]
    assert headers[-4:] == ["监护人姓名", "与受种者关系", "监护人证件类型", "监护人证件号码"]
    lists = {str(v.sqref).split(":")[0]: v.formula1 for v in sheet.data_validations.dataValidation}
    type_column = chr(ord("A") + headers.index("证件类型"))
    assert lists[f"{type_column}2"] == (
        '"居民身份证,港澳台居民居住证,外国人永久居留身份证,护照,港澳居民来往内地通行证,台湾居民来往大陆通行证,出生医学证明"'
    )
    notes = " ".join(str(row[0].value) for row in workbook["填写说明"].iter_rows())
    assert "证件类型" in notes and "国籍" in notes and "15位" in notes

    values = dict.fromkeys(headers, "")
    values.update({"姓名": "王芳", "身份证号码": "E12345678", "证件类型": "护照", "出生日期": "1990-03-08"})
    values.update({"性别": "女", "国籍": "日本"})
    sheet.append([values[header] for header in headers])
    buffer = io.BytesIO()
    workbook.save(buffer)
    batch = preview(buffer.getvalue(), qingshan, cadre_qingshan)

    assert [(row["row"], row["action"]) for row in batch.rows] == [(3, "new")]
    import_apply(batch=batch, user=cadre_qingshan)
    assert Resident.objects.get().document_type == DocumentType.PASSPORT
