"""Text stored before the forms refused it (control and bidirectional characters) never breaks a file.

Each writer shows such a character as U+FFFD (campaign.lib.excel.safe_cell); without it openpyxl
raises IllegalCharacterError and the whole village's export, the day's roster and the weekly
report failed.
"""

import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from appointments.tests.factories import AppointmentFactory
from campaign.models import Village
from reports.models import Export
from reports.supervision.services import weekly_report_make
from reports.tests.factories import SupervisionFindingFactory, spring_2021_campaign, vaccinated
from reports.tests.helpers import column, open_roster
from residents.models import Resident
from residents.tests.factories import ResidentFactory

pytestmark = pytest.mark.django_db

ODD = "a\x07\x1b[31mb"  # a bell and a terminal colour code, as the probe stored it
SHOWN = "a\ufffd\ufffd[31mb"


def stored_as(resident, name):
    """Write a name straight to the table, as data from before the rule (or a script) would be."""
    Resident.objects.filter(pk=resident.pk).update(name=name)


def test_a_stored_name_with_control_characters_is_exported_in_the_village_roster(export_now, office, qingshan):
    stored_as(ResidentFactory(village=qingshan), ODD)
    stored_as(ResidentFactory(village=qingshan), "王\u202e五")  # a right-to-left override
    export = export_now(office, {"village": str(qingshan.pk)})
    assert export.status == Export.Status.DONE, export.error
    _sheet, _title, _note, headers, rows = open_roster(export)
    assert sorted(cell.value for cell in column(headers, rows, "姓名")) == sorted([SHOWN, "王\ufffd五"])


def test_a_stored_name_with_control_characters_is_in_the_days_roster(client, office, qingshan, site_centre):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    appointment = AppointmentFactory(resident=ResidentFactory(village=qingshan), date=tomorrow, site=site_centre)
    stored_as(appointment.resident, ODD)
    client.force_login(office)
    response = client.get(reverse("daily:roster"), {"site": site_centre.pk, "date": tomorrow.isoformat()})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert SHOWN in [cell.value for row in sheet.iter_rows() for cell in row]


class TestWeeklyReport:
    @pytest.fixture
    def campaign(self, db):
        return spring_2021_campaign(name="梅山镇新冠病毒疫苗接种")

    def test_stored_control_characters_in_a_finding_and_a_village_name_are_in_the_weekly_report(
        self, client, campaign, qingshan, honghe, leader
    ):
        Village.objects.filter(pk=qingshan.pk).update(name="青山\x1b社区")
        vaccinated(village=qingshan, dose1=datetime.date(2021, 4, 14))
        SupervisionFindingFactory(village=qingshan, text="宣传\x0b不到位\x07")
        weekly_report_make(campaign=campaign, week_start=datetime.date(2021, 4, 12))
        client.force_login(leader)
        response = client.get(reverse("reports:weekly_excel", kwargs={"week": "2021-W15"}))
        assert response.status_code == 200
        workbook = load_workbook(io.BytesIO(response.content))
        assert workbook["督查记录"]["D4"].value == "宣传\ufffd不到位\ufffd"
        assert "青山\ufffd社区" in [cell.value for row in workbook.worksheets[0].iter_rows() for cell in row]
