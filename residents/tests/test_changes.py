import pytest
from django.urls import reverse

from appointments.tests.factories import AppointmentFactory
from residents.models import Resident
from residents.tests.factories import ResidentFactory

pytestmark = pytest.mark.django_db


def edit(client, resident, **changes):
    data = {
        "name": resident.name,
        "phone": resident.phone,
        "basis": resident.basis,
        "priority_group": resident.priority_group,
    }
    data.update(changes)
    return client.post(reverse("residents:edit", args=[resident.pk]), data)


def test_a_deferred_resident_becomes_eligible_once_the_fever_has_passed(client, cadre_qingshan, qingshan):
    resident = ResidentFactory(village=qingshan, status="deferred", fever=True, status_reasons=["fever"])
    client.force_login(cadre_qingshan)
    edit(client, resident)  # fever left unticked
    resident.refresh_from_db()
    assert (resident.status, resident.status_reasons) == ("eligible", [])


def test_a_new_contraindication_excludes(client, cadre_qingshan, qingshan):
    resident = ResidentFactory(village=qingshan)
    client.force_login(cadre_qingshan)
    edit(client, resident, severe_allergy="on")
    resident.refresh_from_db()
    assert resident.status == "excluded"


def test_a_refusal_needs_a_reason_and_is_kept_until_withdrawn(client, cadre_qingshan, qingshan):
    resident = ResidentFactory(village=qingshan)
    client.force_login(cadre_qingshan)
    client.post(reverse("residents:refuse", args=[resident.pk]), {"reason": ""})
    resident.refresh_from_db()
    assert resident.status == "eligible"
    client.post(reverse("residents:refuse", args=[resident.pk]), {"reason": "担心副作用"})
    resident.refresh_from_db()
    assert (resident.status, resident.status_note) == ("refused", "担心副作用")
    edit(client, resident, phone="13600000000")
    resident.refresh_from_db()
    assert resident.status == "refused"
    client.post(reverse("residents:refuse", args=[resident.pk]), {"withdraw": "1"})
    resident.refresh_from_db()
    assert (resident.status, resident.status_note) == ("eligible", "")


def test_the_history_says_who_changed_what_and_when(client, cadre_qingshan, qingshan):
    resident = ResidentFactory(village=qingshan, phone="13811112222")
    client.force_login(cadre_qingshan)
    edit(client, resident, phone="13933334444")
    page = client.get(reverse("residents:detail", args=[resident.pk])).content.decode()
    assert "13811112222 → 13933334444" in page
    assert resident.history.first().history_user == cadre_qingshan


def test_only_the_office_deletes(client, cadre_qingshan, office, qingshan):
    resident = ResidentFactory(village=qingshan)
    client.force_login(cadre_qingshan)
    assert client.post(reverse("residents:delete", args=[resident.pk])).status_code == 403
    client.force_login(office)
    client.post(reverse("residents:delete", args=[resident.pk]))
    assert not Resident.objects.filter(pk=resident.pk).exists()


def test_a_resident_with_an_appointment_is_not_deleted(client, office, qingshan):
    appointment = AppointmentFactory(resident=ResidentFactory(village=qingshan))
    client.force_login(office)
    client.post(reverse("residents:delete", args=[appointment.resident.pk]))
    assert Resident.objects.filter(pk=appointment.resident.pk).exists()


def test_the_id_number_cannot_be_edited(client, cadre_qingshan, qingshan):
    resident = ResidentFactory(village=qingshan)
    client.force_login(cadre_qingshan)
    edit(client, resident, id_number="11010519491231002X")
    resident.refresh_from_db()
    assert resident.id_number != "11010519491231002X"
