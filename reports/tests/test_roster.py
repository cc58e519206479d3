"""The roster file: its layout, masking, text safety and dose columns."""

import datetime
import io
from unittest import mock

from django.utils import timezone

from appointments.models import Appointment
from appointments.tests.factories import AppointmentFactory
from reports.roster import write_roster
from reports.services import roster_residents
from reports.tests.helpers import column, open_roster
from residents.models import Resident
from residents.tests.factories import ResidentFactory
from sites.tests.factories import VaccinationFactory

HEADERS = [
    "序号",
    "姓名",
    "性别",
    "年龄",
    "证件类型",
    "证件号码",
    "手机号码",
    "村（社区）",
    "纳入依据",
    "重点人群",
    "状态",
    "原因",
    "包保干部",
    "第一剂",
    "第二剂",
    "登记时间",
]


def test_the_roster_has_a_chinese_title_headers_frozen_and_widths(export_now, office, qingshan):
    resident = ResidentFactory(village=qingshan, name="张三丰")
    export = export_now(office, {"village": str(qingshan.pk)})
    sheet, title, note, headers, rows = open_roster(export)
    assert headers == HEADERS
    assert title == f"{qingshan.campaign.name} · 青山社区居民花名册"
    assert "筛选条件：青山社区" in note
    assert "导出人：" in note and "导出时间：" in note
    assert sheet.freeze_panes == "C4"
    assert sheet.column_dimensions["F"].width >= 20  # an 18-character ID number fits
    assert [cell.value for cell in rows[0][:3]] == [1, "张三丰", "男" if resident.sex == "M" else "女"]
    assert export.filename.startswith("青山社区居民花名册_") and export.filename.endswith(".xlsx")


def test_a_roster_of_all_villages_says_so(export_now, office, qingshan, honghe):
    ResidentFactory(village=qingshan)
    ResidentFactory(village=honghe)
    export = export_now(office)
    _sheet, title, _note, headers, rows = open_roster(export)
    assert title.endswith("全镇居民花名册")
    assert sorted(cell.value for cell in column(headers, rows, "村（社区）")) == ["红河社区", "青山社区"]


def test_id_numbers_and_phones_are_masked_by_default(export_now, office, qingshan):
    resident = ResidentFactory(village=qingshan, phone="13812345678")
    export = export_now(office)
    _sheet, _title, note, headers, rows = open_roster(export)
    (id_cell,) = column(headers, rows, "证件号码")
    (phone_cell,) = column(headers, rows, "手机号码")
    assert id_cell.value == resident.id_number[:6] + "********" + resident.id_number[-4:]
    assert phone_cell.value == "138****5678"
    assert "已部分隐藏" in note


def test_full_values_show_id_numbers_as_text_with_all_18_digits(export_now, office, qingshan):
    resident = ResidentFactory(village=qingshan, phone="13812345678")
    export = export_now(office, full_values=True)
    _sheet, _title, note, headers, rows = open_roster(export)
    (id_cell,) = column(headers, rows, "证件号码")
    (phone_cell,) = column(headers, rows, "手机号码")
    assert id_cell.value == resident.id_number and len(id_cell.value) == 18
    assert id_cell.data_type == "s" and id_cell.number_format == "@"
    assert phone_cell.value == "13812345678" and phone_cell.data_type == "s"
    assert "完整信息" in note


def test_formula_like_text_comes_back_as_text_and_never_runs(export_now, office, qingshan):
    ResidentFactory(village=qingshan, name="=1+1", status=Resident.Status.REFUSED, status_note="@SUM(A1)")
    ResidentFactory(village=qingshan, name="@SUM(A1)")
    ResidentFactory(village=qingshan, name="+86 138", status=Resident.Status.REFUSED, status_note="-2+3")
    export = export_now(office, {"ordering": "registered"})
    _sheet, _title, _note, headers, rows = open_roster(export)
    names = column(headers, rows, "姓名")
    assert [cell.value for cell in names] == ["=1+1", "@SUM(A1)", "+86 138"]
    assert all(cell.data_type == "s" for cell in names)
    reasons = column(headers, rows, "原因")
    assert reasons[0].value == "@SUM(A1)" and reasons[0].data_type == "s"
    assert reasons[2].value == "-2+3" and reasons[2].data_type == "s"


def test_status_reasons_and_labels_are_in_chinese(export_now, office, qingshan):
    ResidentFactory(
        village=qingshan,
        status=Resident.Status.DEFERRED,
        status_reasons=["fever", "pregnant"],
        fever=True,
        pregnant=True,
        basis=Resident.Basis.WORKPLACE,
        priority_group=Resident.PriorityGroup.EDUCATION,
    )
    export = export_now(office)
    _sheet, _title, _note, headers, rows = open_roster(export)
    row = {header: cell.value for header, cell in zip(headers, rows[0], strict=True)}
    assert row["状态"] == "暂缓接种"
    assert row["原因"] == "发热、孕妇"
    assert row["纳入依据"] == "工作地"
    assert row["重点人群"] == "学校教职员工"


def test_dose_columns_show_the_day_given_or_the_day_booked(export_now, office, qingshan, cadre_qingshan):
    given_day = timezone.localdate() - datetime.timedelta(days=20)
    booked_day = timezone.localdate() + datetime.timedelta(days=3)
    both = ResidentFactory(village=qingshan, name="两剂", responsible_cadre=cadre_qingshan)
    VaccinationFactory(
        resident=both,
        dose_number=1,
        vaccinated_at=timezone.make_aware(datetime.datetime.combine(given_day, datetime.time(23, 30))),
    )
    AppointmentFactory(resident=both, dose_number=2, date=booked_day)
    AppointmentFactory(resident=both, dose_number=2, date=given_day, status=Appointment.Status.CANCELLED)
    ResidentFactory(village=qingshan, name="未约")
    export = export_now(office, {"ordering": "registered"})
    _sheet, _title, _note, headers, rows = open_roster(export)
    first, second = column(headers, rows, "第一剂"), column(headers, rows, "第二剂")
    # The day in Meishan, not in UTC: 23:30 local stays on its day.
    assert first[0].value == datetime.datetime.combine(given_day, datetime.time())
    assert first[0].number_format == "yyyy-mm-dd"
    assert second[0].value == f"已预约 {booked_day:%Y-%m-%d}"
    assert first[1].value is None and second[1].value is None
    assert column(headers, rows, "包保干部")[0].value == "测试用户"
    assert len(rows) == 2  # the cancelled booking adds no row


def test_the_roster_is_read_in_one_query_however_many_doses(office, qingshan, django_assert_max_num_queries):
    for _ in range(30):
        resident = ResidentFactory(village=qingshan)
        VaccinationFactory(resident=resident)
        AppointmentFactory(resident=resident, dose_number=2)
    residents = roster_residents(user=office, campaign=qingshan.campaign, parameters={})
    with django_assert_max_num_queries(1):
        count = write_roster(
            target=io.BytesIO(), campaign=qingshan.campaign, residents=residents, title="t", note="n", full_values=False
        )
    assert count == 30


def test_a_one_dose_campaign_has_one_dose_column(export_now, office, qingshan):
    campaign = qingshan.campaign
    campaign.doses, campaign.dose_intervals = 1, []
    campaign.save()
    ResidentFactory(village=qingshan)
    _sheet, _title, _note, headers, _rows = open_roster(export_now(office))
    assert "第一剂" in headers and "第二剂" not in headers


def test_only_a_file_with_full_values_has_the_birth_date_a_masked_one_gives_the_age(export_now, office, qingshan):
    resident = ResidentFactory(village=qingshan)
    _sheet, _title, _note, masked_headers, masked_rows = open_roster(export_now(office))
    assert "出生日期" not in masked_headers
    assert resident.birth_date not in [cell.value for cell in masked_rows[0]]
    _sheet, _title, _note, headers, rows = open_roster(export_now(office, full_values=True))
    (birth,) = column(headers, rows, "出生日期")
    assert birth.value.date() == resident.birth_date


def test_the_registration_time_is_the_wall_clock_time_in_meishan(export_now, office, qingshan):
    late = datetime.datetime(2021, 6, 1, 15, 30, tzinfo=datetime.UTC)  # 23:30 in Meishan, still 1 June
    ResidentFactory(village=qingshan, registered_at=late)
    _sheet, _title, _note, headers, rows = open_roster(export_now(office))
    (registered,) = column(headers, rows, "登记时间")
    assert registered.value == datetime.datetime(2021, 6, 1, 23, 30)
    assert registered.number_format == "yyyy-mm-dd hh:mm"


def test_a_roster_of_nobody_still_has_its_title_headers_and_filter(export_now, office, qingshan):
    export = export_now(office, {"village": str(qingshan.pk)})
    sheet, title, _note, headers, rows = open_roster(export)
    assert export.row_count == 0
    assert title.endswith("青山社区居民花名册") and headers == HEADERS
    assert sheet.auto_filter.ref == "A3:P4" and not any(cell.value for row in rows for cell in row)


def test_the_rows_written_are_reported_as_the_file_is_written(office, qingshan):
    for _ in range(3):
        ResidentFactory(village=qingshan)
    residents = roster_residents(user=office, campaign=qingshan.campaign, parameters={})
    calls = []
    with mock.patch("reports.roster.PROGRESS_EVERY", 2):
        count = write_roster(
            target=io.BytesIO(),
            campaign=qingshan.campaign,
            residents=residents,
            title="t",
            note="n",
            full_values=False,
            progress=lambda done, total: calls.append((done, total)),
        )
    assert count == 3 and calls == [(2, None)]
