import datetime
import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from campaign.lib.excel import ERROR_FILL
from campaign.roles import Role
from campaign.tests.factories import user_with_role
from residents.importing import services as importing
from residents.importing.limits import ImportFileError, limits
from residents.importing.rows import EXAMPLE_ID_NUMBER
from residents.importing.services import import_apply, import_preview
from residents.importing.template import template_workbook
from residents.models import ImportBatch, Resident
from residents.services import normalize_name, normalize_phone, registration_check
from residents.tests.factories import ResidentFactory, id_number_for
from residents.tests.sheets import person, with_check, xlsx

pytestmark = pytest.mark.django_db


def preview(data, village, user):
    return import_preview(data=data, file_name="名单.xlsx", campaign=village.campaign, village=village, user=user)


def rows_by_number(batch):
    return {row["row"]: row for row in batch.rows}


def service_message(call, *args, **kwargs) -> str:
    with pytest.raises(ValidationError) as caught:
        call(*args, **kwargs)
    return " ".join(caught.value.messages)


def test_a_clean_file_previews_every_row_as_new_and_imports_them_for_the_uploader(cadre_qingshan, qingshan):
    batch = preview(xlsx([person(n) for n in range(5)]), qingshan, cadre_qingshan)

    assert (batch.new_count, batch.update_count, batch.unchanged_count, batch.error_count) == (5, 0, 0, 0)
    assert Resident.objects.count() == 0  # nothing before confirm

    import_apply(batch=batch, user=cadre_qingshan)

    residents = Resident.objects.filter(village=qingshan)
    assert residents.count() == 5
    resident = residents.get(id_number=id_number_for(0))
    assert resident.name == person(0)["姓名"]
    assert resident.registered_by == cadre_qingshan
    assert resident.responsible_cadre == cadre_qingshan  # the uploading cadre, as on the form
    assert resident.history.get().history_user == cadre_qingshan
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.APPLIED


def test_a_mixed_file_shows_new_update_unchanged_and_error_rows(cadre_qingshan, qingshan):
    ResidentFactory(village=qingshan, id_number=id_number_for(1), name="李四", phone="13900000001")
    ResidentFactory(village=qingshan, id_number=id_number_for(2), name="王五", phone="13900000002")
    data = xlsx(
        [
            person(0),
            person(1, 姓名="李四", 手机号码="13900000009"),  # phone differs
            person(2, 姓名="王五", 手机号码="13900000002", 纳入依据="", 重点人群=""),  # same
            person(3, 手机号码="12345"),
        ]
    )
    batch = preview(data, qingshan, cadre_qingshan)
    rows = rows_by_number(batch)

    assert [rows[n]["action"] for n in (2, 3, 4, 5)] == ["new", "update", "unchanged", "error"]
    assert rows[3]["changes"] == ["phone"]
    assert rows[5]["errors"] == {"phone": service_message(normalize_phone, "12345")}

    import_apply(batch=batch, user=cadre_qingshan)

    assert Resident.objects.get(id_number=id_number_for(1)).phone == "13900000009"
    assert Resident.objects.get(id_number=id_number_for(1)).history.first().history_user == cadre_qingshan
    assert not Resident.objects.filter(id_number=id_number_for(3)).exists()
    assert Resident.objects.count() == 3


def test_each_mistake_is_explained_at_its_cell_with_the_services_messages(cadre_qingshan, qingshan, campaign):
    today = timezone.localdate()
    young = id_number_for(5, birth_date=today.replace(year=today.year - 10))
    wrong_check = id_number_for(6)[:-1] + ("1" if id_number_for(6)[-1] != "1" else "2")
    data = xlsx(
        [
            person(5, 身份证号码=young),
            person(6, 身份证号码=wrong_check),
            person(7, 身份证号码=with_check("34152419850230123")),
            person(8, 手机号码="0551-1234567"),
            person(9, 姓名="  "),
        ]
    )
    rows = rows_by_number(preview(data, qingshan, cadre_qingshan))

    def registration(number):
        return service_message(registration_check, campaign=campaign, id_number=number, answers={})

    assert rows[2]["errors"] == {"id_number": registration(young)}
    assert "年龄" in rows[2]["errors"]["id_number"] or "Age" in rows[2]["errors"]["id_number"]
    assert rows[3]["errors"] == {"id_number": registration(wrong_check)}
    assert rows[4]["errors"] == {"id_number": registration(with_check("34152419850230123"))}
    assert rows[5]["errors"] == {"phone": service_message(normalize_phone, "0551-1234567")}
    assert rows[6]["errors"] == {"name": service_message(normalize_name, "")}
    assert all(row["action"] == "error" for row in rows.values())


def test_messages_are_in_chinese_by_default(cadre_qingshan, qingshan):
    rows = rows_by_number(preview(xlsx([person(1, 手机号码="123"), person(2, 发热="也许")]), qingshan, cadre_qingshan))

    assert "手机号" in rows[2]["errors"]["phone"]
    assert "“是”或“否”" in rows[3]["errors"]["fever"] or "是" in rows[3]["errors"]["fever"]


def test_the_same_id_number_twice_in_a_file_makes_both_rows_errors_naming_the_other(cadre_qingshan, qingshan):
    data = xlsx([person(1), person(2), person(3, 身份证号码=id_number_for(1)), person(4, 身份证号码=id_number_for(1))])
    batch = preview(data, qingshan, cadre_qingshan)
    rows = rows_by_number(batch)

    assert rows[3]["action"] == "new"
    for number, others in [(2, "4、5"), (4, "2、5"), (5, "2、4")]:
        assert rows[number]["action"] == "error"
        assert others in rows[number]["errors"]["id_number"]
    import_apply(batch=batch, user=cadre_qingshan)
    assert list(Resident.objects.values_list("id_number", flat=True)) == [id_number_for(2)]


def test_an_id_number_registered_in_another_village_is_an_error_naming_no_village_for_a_cadre(
    cadre_qingshan, office, qingshan, honghe
):
    ResidentFactory(village=honghe, id_number=id_number_for(1), name="赵六", phone="13911112222")
    batch = preview(xlsx([person(1)]), qingshan, cadre_qingshan)
    (row,) = batch.rows

    assert row["action"] == "error"
    message = row["errors"]["id_number"]
    assert "已登记" in message and "红河社区" not in message
    assert "赵六" not in message and "13911112222" not in message
    # The office may look anyone up: its preview says where.
    (office_row,) = preview(xlsx([person(1)]), qingshan, office).rows
    assert "红河社区" in office_row["errors"]["id_number"]
    import_apply(batch=batch, user=cadre_qingshan)
    assert Resident.objects.get().village == honghe


def test_the_same_file_imported_twice_changes_nothing_the_second_time(cadre_qingshan, qingshan):
    data = xlsx([person(n, 发热="是" if n == 1 else "") for n in range(4)] + [person(9, 手机号码="1")])
    import_apply(batch=preview(data, qingshan, cadre_qingshan), user=cadre_qingshan)
    history = Resident.history.count()

    again = preview(data, qingshan, cadre_qingshan)

    assert (again.new_count, again.update_count, again.unchanged_count, again.error_count) == (0, 0, 4, 1)
    import_apply(batch=again, user=cadre_qingshan)
    assert Resident.history.count() == history


def test_a_title_row_shuffled_columns_and_alternate_header_names_are_read(cadre_qingshan, qingshan):
    headers = ["序号", "联系电话", "公民身份号码", "名字", "类别", "是否发热", "包保干部", "备注"]
    data = xlsx(
        [
            [1, "13800000001", id_number_for(1), "王芳", "常住", "有", "cadre_qingshan", "三组"],
            [2, "13800000002", id_number_for(2), "李强", "工作", "无", "", ""],
        ],
        headers=headers,
        title_rows=["梅山镇青山社区新冠疫苗接种摸排登记表", "填表日期：2021年4月"],
    )
    batch = preview(data, qingshan, cadre_qingshan)

    assert batch.header_row == 3
    assert batch.new_count == 2
    import_apply(batch=batch, user=cadre_qingshan)
    wang = Resident.objects.get(id_number=id_number_for(1))
    assert (wang.name, wang.phone, wang.basis, wang.fever) == ("王芳", "13800000001", "residence", True)
    assert wang.status == Resident.Status.DEFERRED
    assert Resident.objects.get(id_number=id_number_for(2)).basis == "workplace"


@pytest.mark.parametrize(
    "header",
    ["身份证号", "身份证号码", "公民身份号码", "身份证", " 身份证号码（必填）", "身份证号码*"],
)
def test_every_usual_name_of_the_id_column_is_recognised(cadre_qingshan, qingshan, header):
    data = xlsx([["张伟", id_number_for(1)]], headers=["姓名", header])
    assert preview(data, qingshan, cadre_qingshan).new_count == 1


@pytest.mark.parametrize("header", ["手机", "手机号", "手机号码", "联系电话", "电话"])
def test_every_usual_name_of_the_phone_column_is_recognised(cadre_qingshan, qingshan, header):
    data = xlsx([["张伟", id_number_for(1), "13812345678"]], headers=["姓名", "身份证号", header])
    batch = preview(data, qingshan, cadre_qingshan)
    import_apply(batch=batch, user=cadre_qingshan)
    assert Resident.objects.get().phone == "13812345678"


def test_stray_spaces_and_full_width_characters_are_cleaned(cadre_qingshan, qingshan):
    number = id_number_for(1)
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in number)
    data = xlsx([[" 张 伟 ", f" {full_width[:6]} {full_width[6:]} ", "１３８ 1234 5678", " 户籍地 ", "　是　"]],
                headers=["姓名", "身份证号", "手机", "纳入依据", "孕妇"])  # fmt: skip
    batch = preview(data, qingshan, cadre_qingshan)

    assert batch.new_count == 1, batch.rows
    import_apply(batch=batch, user=cadre_qingshan)
    resident = Resident.objects.get()
    assert (resident.name, resident.id_number, resident.phone, resident.pregnant) == (
        "张伟",
        number,
        "13812345678",
        True,
    )


@pytest.mark.parametrize(
    "spelling, expected",
    [("是", True), ("有", True), ("√", True), ("Y", True), ("y", True), (1, True), ("1", True), (True, True),
     ("否", False), ("无", False), ("N", False), (0, False), ("0", False), (False, False), (None, False), ("", False)],
)  # fmt: skip
def test_screening_answers_accept_the_usual_spellings(cadre_qingshan, qingshan, spelling, expected):
    data = xlsx([["张伟", id_number_for(1), spelling]], headers=["姓名", "身份证号", "发热"])
    import_apply(batch=preview(data, qingshan, cadre_qingshan), user=cadre_qingshan)
    assert Resident.objects.get().fever is expected


@pytest.mark.parametrize(
    "spelling, expected",
    [("户籍地", "household"), ("户籍", "household"), ("居住地", "residence"), ("常住", "residence"),
     ("工作地", "workplace"), ("工作", "workplace")],
)  # fmt: skip
def test_eligibility_basis_accepts_the_usual_spellings(cadre_qingshan, qingshan, spelling, expected):
    data = xlsx([["张伟", id_number_for(1), spelling]], headers=["姓名", "身份证号", "纳入依据"])
    import_apply(batch=preview(data, qingshan, cadre_qingshan), user=cadre_qingshan)
    assert Resident.objects.get().basis == expected


def test_the_responsible_cadre_is_found_by_full_name_or_username_among_the_villages_users(
    cadre_qingshan, cadre_honghe, qingshan
):
    colleague = user_with_role(Role.CADRE, village=qingshan, username="wangfang", first_name="王芳（青山社区）")
    data = xlsx(
        [
            ["甲", id_number_for(1), "王芳"],
            ["乙", id_number_for(2), "wangfang"],
            ["丙", id_number_for(3), "cadre_honghe"],
        ],
        headers=["姓名", "身份证号", "包保干部"],
    )
    batch = preview(data, qingshan, cadre_qingshan)
    rows = rows_by_number(batch)

    assert rows[4]["action"] == "error"
    assert "cadre_honghe" in rows[4]["errors"]["responsible_cadre"]
    import_apply(batch=batch, user=cadre_qingshan)
    assert set(Resident.objects.values_list("responsible_cadre", flat=True)) == {colleague.pk}


def test_empty_cells_keep_what_is_recorded_but_contraindication_columns_mean_no(cadre_qingshan, qingshan):
    recorded = ResidentFactory(
        village=qingshan,
        id_number=id_number_for(1),
        name="张伟",
        phone="13900000001",
        basis="workplace",
        fever=True,
        status=Resident.Status.DEFERRED,
    )
    data = xlsx([["张伟", id_number_for(1), "", "", ""]], headers=["姓名", "身份证号", "手机", "纳入依据", "发热"])
    batch = preview(data, qingshan, cadre_qingshan)

    assert batch.rows[0]["changes"] == ["fever"]
    import_apply(batch=batch, user=cadre_qingshan)
    recorded.refresh_from_db()
    assert (recorded.phone, recorded.basis, recorded.fever, recorded.status) == (
        "13900000001",
        "workplace",
        False,
        Resident.Status.ELIGIBLE,
    )


@pytest.mark.parametrize("stored", [float(id_number_for(1)), int(id_number_for(1)), "3.41524E+17", "3.41524e17"])
def test_an_id_number_stored_as_a_number_is_refused_because_its_last_digits_are_lost(cadre_qingshan, qingshan, stored):
    (row,) = preview(xlsx([["张伟", stored]], headers=["姓名", "身份证号"]), qingshan, cadre_qingshan).rows
    assert row["action"] == "error"
    assert "15" in row["errors"]["id_number"]


def test_a_formula_cell_is_refused_and_formula_like_text_is_refused_as_a_name(cadre_qingshan, qingshan):
    data = xlsx(
        [
            ['=HYPERLINK("http://example.com","张伟")', id_number_for(1)],  # a formula cell
            ["李强", "=A2"],
        ],
        headers=["姓名", "身份证号"],
    )
    rows = rows_by_number(preview(data, qingshan, cadre_qingshan))
    assert "公式" in rows[2]["errors"]["name"] or "formula" in rows[2]["errors"]["name"]
    assert rows[2]["cells"]["name"] == '=HYPERLINK("http://example.com","张伟")'
    assert "id_number" in rows[3]["errors"]

    # The same text typed as text (Excel's quote prefix) is still refused as a name, by the service.
    with pytest.raises(ValidationError):
        normalize_name('=HYPERLINK("http://example.com","张伟")')


def test_the_error_report_holds_the_wrong_rows_as_uploaded_with_reasons_and_red_cells(cadre_qingshan, qingshan):
    formula = '=HYPERLINK("http://example.com","张伟")'
    data = xlsx(
        [person(1), person(2, 姓名=formula), person(3, 手机号码="123", 身份证号码=float(id_number_for(3)))],
        title_rows=["青山社区摸排表"],
    )
    batch = preview(data, qingshan, cadre_qingshan)

    sheet = load_workbook(io.BytesIO(importing.error_report(batch))).active
    rows = list(sheet.iter_rows(values_only=False))
    assert [c.value for c in rows[0]][-1] == "错误原因"
    assert [c.value for c in rows[0]][:-1] == list(data_headers())
    assert len(rows) == 3
    name_cell = rows[1][0]
    assert name_cell.value == formula and name_cell.data_type == "s"  # written back as text, never run
    assert name_cell.fill.fgColor.rgb.endswith(ERROR_FILL.fgColor.rgb[-6:])
    assert rows[1][1].fill.fgColor.rgb != name_cell.fill.fgColor.rgb  # the ID cell was fine
    assert rows[2][1].data_type == "s" and rows[2][1].fill.fgColor.rgb == name_cell.fill.fgColor.rgb
    assert rows[2][2].fill.fgColor.rgb == name_cell.fill.fgColor.rgb
    assert "姓名" in rows[1][-1].value
    assert "身份证号码" in rows[2][-1].value and "手机号码" in rows[2][-1].value

    # Fixed and uploaded again, the report reads like any sheet.
    again = preview(importing.error_report(batch), qingshan, cadre_qingshan)
    assert again.error_count == 2


def data_headers():
    from residents.tests.sheets import TEMPLATE_HEADERS

    return TEMPLATE_HEADERS


def zip_without_workbook() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "content, words",
    [
        (b"", "空"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "损坏"),
        (bytes(range(256)) * 8, ".xlsx"),
        (zip_without_workbook(), ".xlsx"),
        (xlsx([person(1)])[:3000], "损坏"),
        (b"PK\x03\x04" + b"\0" * 100, "损坏"),
    ],
    ids=["empty", "damaged-xls", "random-bytes", "docx-like-zip", "truncated", "bad-zip"],
)
def test_a_file_that_is_not_a_readable_sheet_is_refused_in_chinese_and_nothing_is_kept(
    cadre_qingshan, qingshan, content, words
):
    with pytest.raises(ImportFileError) as refused:
        preview(content, qingshan, cadre_qingshan)
    assert words in str(refused.value)
    assert ImportBatch.objects.count() == 0


def test_a_file_over_10_mb_is_refused(cadre_qingshan, qingshan):
    with pytest.raises(ImportFileError) as refused:
        preview(b"PK\x03\x04" + b"\0" * limits().upload_bytes, qingshan, cadre_qingshan)
    assert "10 MB" in str(refused.value)


def test_a_sheet_longer_than_the_limit_is_refused(cadre_qingshan, qingshan, settings):
    settings.IMPORT_MAX_ROWS = 3
    with pytest.raises(ImportFileError) as refused:
        preview(xlsx([person(n) for n in range(4)]), qingshan, cadre_qingshan)
    assert "3" in str(refused.value)
    assert ImportBatch.objects.count() == 0


def test_a_sheet_without_the_id_and_name_headers_is_refused(cadre_qingshan, qingshan):
    with pytest.raises(ImportFileError) as refused:
        preview(xlsx([["张伟", "x"]], headers=["名称", "号码"]), qingshan, cadre_qingshan)
    assert "表头" in str(refused.value) and "身份证号码" in str(refused.value)


def test_two_columns_read_as_the_same_field_are_refused(cadre_qingshan, qingshan):
    with pytest.raises(ImportFileError) as refused:
        preview(xlsx([], headers=["姓名", "身份证号", "身份证号码"]), qingshan, cadre_qingshan)
    assert "B" in str(refused.value) and "C" in str(refused.value)


def test_confirm_writes_nothing_when_the_data_changed_since_the_preview(cadre_qingshan, qingshan, honghe):
    batch = preview(xlsx([person(n) for n in range(3)]), qingshan, cadre_qingshan)
    ResidentFactory(village=honghe, id_number=id_number_for(2))  # another cadre was quicker

    with pytest.raises(importing.PreviewChanged):
        import_apply(batch=batch, user=cadre_qingshan)

    assert Resident.objects.filter(village=qingshan).count() == 0
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PREVIEWED
    assert (batch.new_count, batch.error_count) == (2, 1)  # the user sees the new state
    import_apply(batch=batch, user=cadre_qingshan)
    assert Resident.objects.filter(village=qingshan).count() == 2


def test_confirm_is_all_or_nothing_when_one_write_fails(cadre_qingshan, qingshan, monkeypatch):
    first = ResidentFactory(village=qingshan, id_number=id_number_for(8), phone="13900000008")
    second = ResidentFactory(village=qingshan, id_number=id_number_for(9), phone="13900000009")
    batch = preview(xlsx([*(person(n) for n in range(4)), person(8), person(9)]), qingshan, cadre_qingshan)
    assert (batch.new_count, batch.update_count) == (4, 2)
    real = importing.resident_update

    def fail_on_the_second(*, resident, **kwargs):
        if resident.pk == second.pk:
            raise RuntimeError("disk full")
        return real(resident=resident, **kwargs)

    monkeypatch.setattr(importing, "resident_update", fail_on_the_second)
    with pytest.raises(RuntimeError):
        import_apply(batch=batch, user=cadre_qingshan)

    assert Resident.objects.count() == 2  # the four new ones were rolled back
    first.refresh_from_db()
    assert first.phone == "13900000008"  # and so was the first update
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PREVIEWED


def test_a_number_registered_between_the_check_and_the_insert_writes_nothing(
    cadre_qingshan, qingshan, honghe, monkeypatch
):
    batch = preview(xlsx([person(n) for n in range(3)]), qingshan, cadre_qingshan)
    real = importing.build_preview

    def judged_then_raced(**kwargs):
        judged = real(**kwargs)
        if kwargs.get("lock"):
            ResidentFactory(village=honghe, id_number=id_number_for(2))  # the race no lock can prevent
        return judged

    monkeypatch.setattr(importing, "build_preview", judged_then_raced)
    with pytest.raises(importing.PreviewChanged):
        import_apply(batch=batch, user=cadre_qingshan)

    assert Resident.objects.filter(village=qingshan).count() == 0


def test_a_batch_is_imported_once(cadre_qingshan, qingshan):
    batch = preview(xlsx([person(1)]), qingshan, cadre_qingshan)
    import_apply(batch=batch, user=cadre_qingshan)
    with pytest.raises(importing.AlreadyImported):
        import_apply(batch=batch, user=cadre_qingshan)
    assert Resident.objects.count() == 1


def test_the_template_has_chinese_headers_lists_an_example_a_frozen_header_and_a_text_id_column():
    workbook = load_workbook(io.BytesIO(template_workbook()))
    sheet = workbook.worksheets[0]
    headers = [cell.value for cell in sheet[1]]

    assert headers[:3] == ["姓名", "身份证号码", "手机号码"] and "包保责任人" in headers and "发热" in headers
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["B"].number_format == "@"
    assert sheet.column_dimensions["B"].width >= 20
    lists = {str(v.sqref).split(":")[0]: v.formula1 for v in sheet.data_validations.dataValidation}
    assert lists["D2"] == '"户籍地,居住地,工作地"'
    assert lists[f"{chr(ord('A') + headers.index('发热'))}2"] == '"是,否"'
    assert sheet["B2"].value == EXAMPLE_ID_NUMBER and sheet["B2"].data_type == "s"
    assert "填写说明" in workbook.sheetnames


def test_the_template_filled_in_imports_and_skips_its_example_row(cadre_qingshan, qingshan):
    workbook = load_workbook(io.BytesIO(template_workbook()))
    sheet = workbook.worksheets[0]
    sheet.append(
        ["张伟", id_number_for(1), "13812345678", "居住地", "外出务工人员", "", "否", "否", "否", "是", "否", "否"]
    )
    buffer = io.BytesIO()
    workbook.save(buffer)

    batch = preview(buffer.getvalue(), qingshan, cadre_qingshan)

    assert [row["row"] for row in batch.rows] == [3]
    import_apply(batch=batch, user=cadre_qingshan)
    resident = Resident.objects.get()
    assert (resident.basis, resident.priority_group, resident.fever) == ("residence", "migrant_worker", True)


def test_the_example_id_number_under_a_real_name_is_an_error(cadre_qingshan, qingshan):
    (row,) = preview(xlsx([["张伟", EXAMPLE_ID_NUMBER]], headers=["姓名", "身份证号"]), qingshan, cadre_qingshan).rows
    assert row["action"] == "error"


def test_the_preview_looks_up_the_database_in_a_fixed_number_of_queries(cadre_qingshan, qingshan):
    for n in range(0, 40, 2):
        ResidentFactory(village=qingshan, id_number=id_number_for(n))
    small = xlsx([person(n) for n in range(10)])
    large = xlsx([person(n) for n in range(400)])
    preview(small, qingshan, cadre_qingshan)  # the campaign's screening questions are read once, then kept

    with CaptureQueriesContext(connection) as few:
        preview(small, qingshan, cadre_qingshan)
    with CaptureQueriesContext(connection) as many:
        preview(large, qingshan, cadre_qingshan)

    assert len(many) == len(few)
    lookups = [q["sql"] for q in many.captured_queries if '"residents_resident"' in q["sql"] and " IN (" in q["sql"]]
    assert len(lookups) == 1


def test_an_office_import_without_a_user_from_the_shell_registers_without_a_cadre(office, qingshan):
    batch = preview(xlsx([person(1)]), qingshan, office)
    import_apply(batch=batch, user=office)
    resident = Resident.objects.get()
    assert resident.responsible_cadre is None and resident.registered_by == office


def test_a_resident_who_refused_stays_refused_when_imported_again(cadre_qingshan, qingshan):
    resident = ResidentFactory(village=qingshan, id_number=id_number_for(1), status=Resident.Status.REFUSED)
    batch = preview(xlsx([person(1, 姓名=resident.name, 手机号码=resident.phone, 发热="是")]), qingshan, cadre_qingshan)
    import_apply(batch=batch, user=cadre_qingshan)
    resident.refresh_from_db()
    assert resident.fever is True and resident.status == Resident.Status.REFUSED


def test_rows_of_an_older_person_follow_the_campaigns_relaxation(cadre_qingshan, qingshan):
    healthy = id_number_for(1, birth_date=datetime.date(1950, 3, 1))
    feverish = id_number_for(2, birth_date=datetime.date(1950, 3, 2))
    batch = preview(
        xlsx([person(1, 身份证号码=healthy), person(2, 身份证号码=feverish, 发热="是")]), qingshan, cadre_qingshan
    )
    rows = rows_by_number(batch)
    assert rows[2]["status"] == Resident.Status.ELIGIBLE
    assert rows[3]["status"] == Resident.Status.DEFERRED
