"""Vaccine supply (sites.supply): deliveries, transfers, vials, the stock computed from them, the shot's lot."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment
from appointments.services import appointment_book_pair
from campaign.tests.concurrency import at_once
from residents.tests.factories import ResidentFactory
from sites.capacity import site_days_ensure
from sites.models import Delivery, Lot, Transfer, Vaccination, Vial
from sites.services import (
    site_checkin,
    site_prescreen,
    site_shot,
    site_vaccinate,
    vaccination_correct,
    vaccination_void,
)
from sites.supply.selectors import (
    booked_vs_stock,
    days_of_stock,
    lots_usable,
    stock_by_site_lot,
    stock_of,
    supply_alerts,
    wastage_rate,
)
from sites.supply.services import (
    OutOfStock,
    SupplyRefused,
    delivery_record,
    transfer_record,
    vial_discard,
    vials_discard_end_of_day,
)
from sites.tests.factories import DeliveryFactory, LotFactory, VaccinationFactory

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


@pytest.fixture
def nurse(site_team_centre):
    return site_team_centre


@pytest.fixture
def arrive(qingshan, today, nurse):
    """A resident of the centre's village, booked today, checked in and cleared for the shot."""
    site_days_ensure(campaign=qingshan.campaign)

    def arrive(**resident):
        first, _second = appointment_book_pair(resident=ResidentFactory(village=qingshan, **resident), day=today)
        arrived = site_checkin(site=first.site, resident=first.resident, checked_in_by=nurse)
        site_prescreen(appointment=arrived, answers={}, temperature="36.6", consent=True, screened_by=nurse)
        return arrived

    return arrive


def deliver(site, office, *, number="202612A01", vials=10, per_vial=1, expiry=None, date=None, maker="北京科兴中维"):
    return delivery_record(
        site=site,
        manufacturer=maker,
        number=number,
        expiry_date=expiry or timezone.localdate() + 120 * DAY,
        doses_per_vial=per_vial,
        vials=vials,
        recorded_by=office,
        date=date,
    )


# Deliveries and lots


def test_a_delivery_creates_the_lot_once_and_counts_doses_per_vial(site_centre, site_jiangdian, office):
    first = deliver(site_centre, office, number=" 202612a01 ", vials=10, per_vial=2)
    again = deliver(site_jiangdian, office, number="202612A01", vials=5, per_vial=2)
    assert first.lot == again.lot and Lot.objects.count() == 1
    assert (first.lot.number, first.doses, again.doses) == ("202612A01", 20, 10)


def test_a_lot_already_known_with_another_expiry_or_vial_size_is_refused(site_centre, office):
    known = deliver(site_centre, office, per_vial=2)
    with pytest.raises(SupplyRefused, match="已登记"):
        deliver(site_centre, office, per_vial=2, expiry=known.lot.expiry_date + DAY)
    with pytest.raises(SupplyRefused, match="已登记"):
        deliver(site_centre, office, per_vial=1, expiry=known.lot.expiry_date)
    assert Delivery.objects.count() == 1


def test_an_expired_lot_is_not_received(site_centre, office, today):
    with pytest.raises(SupplyRefused, match="过期"):
        deliver(site_centre, office, expiry=today - DAY)
    assert not Lot.objects.exists()


# Stock arithmetic


def test_stock_over_deliveries_transfers_doses_and_wastage(site_centre, site_jiangdian, office, nurse, today):
    lot = deliver(site_centre, office, vials=10, per_vial=2).lot  # 20 doses
    transfer_record(lot=lot, from_site=site_centre, to_site=site_jiangdian, vials=3, recorded_by=office)  # -6
    vial = Vial.objects.create(site=site_centre, lot=lot, opened_by=nurse)
    VaccinationFactory(site=site_centre, lot=lot, vial=vial, lot_number=lot.number)
    second = Vial.objects.create(site=site_centre, lot=lot, opened_by=nurse)
    VaccinationFactory(site=site_centre, lot=lot, vial=second, lot_number=lot.number)
    assert vial_discard(vial=vial) == 1
    centre = stock_of(site=site_centre, lot=lot)
    assert (centre.received, centre.given, centre.wasted, centre.on_hand) == (14, 2, 1, 11)
    assert (centre.sealed_vials, centre.in_open_vials) == (5, 1)
    assert centre.wastage_rate == Decimal("33.3")
    other = stock_of(site=site_jiangdian, lot=lot)
    assert (other.received, other.on_hand, other.sealed_vials) == (6, 6, 3)
    rows = stock_by_site_lot(campaign=site_centre.campaign)
    assert [(r.site, r.on_hand) for r in rows] == [(site_jiangdian, 6), (site_centre, 11)] or [
        (r.site, r.on_hand) for r in rows
    ] == [(site_centre, 11), (site_jiangdian, 6)]
    assert wastage_rate(site=site_centre) == Decimal("33.3")


def test_an_expected_delivery_counts_from_its_date(site_centre, office, today):
    lot = deliver(site_centre, office, vials=5, date=today + 2 * DAY).lot
    assert stock_of(site=site_centre, lot=lot).on_hand == 0
    assert stock_of(site=site_centre, lot=lot, on=today + 2 * DAY).on_hand == 5
    assert booked_vs_stock(site=site_centre, days=3).expected == 5


def test_a_transfer_of_more_than_the_sender_has_sealed_is_refused(site_centre, site_jiangdian, office, nurse):
    lot = deliver(site_centre, office, vials=2, per_vial=2).lot
    Vial.objects.create(site=site_centre, lot=lot, opened_by=nurse)
    with pytest.raises(OutOfStock):
        transfer_record(lot=lot, from_site=site_centre, to_site=site_jiangdian, vials=2, recorded_by=office)
    with pytest.raises(SupplyRefused):
        transfer_record(lot=lot, from_site=site_centre, to_site=site_centre, vials=1, recorded_by=office)
    transfer_record(lot=lot, from_site=site_centre, to_site=site_jiangdian, vials=1, recorded_by=office)
    assert Transfer.objects.count() == 1


def test_end_of_day_discards_open_vials_and_counts_the_rest_as_wasted(site_centre, office, nurse, arrive):
    lot = deliver(site_centre, office, vials=3, per_vial=5).lot
    site_vaccinate(appointment=arrive(), lot=lot, vaccinator=nurse)
    site_vaccinate(appointment=arrive(), lot=lot, vaccinator=nurse)
    assert Vial.objects.filter(discarded_at__isnull=True).count() == 1
    assert vials_discard_end_of_day(site=site_centre) == {"vials": 1, "wasted": 3}
    assert vials_discard_end_of_day() == {"vials": 0, "wasted": 0}
    stock = stock_of(site=site_centre, lot=lot)
    assert (stock.given, stock.wasted, stock.on_hand, stock.sealed_vials) == (2, 3, 10, 2)


def test_the_discard_job_is_in_the_beat_schedule(settings):
    assert settings.CELERY_BEAT_SCHEDULE["discard-open-vials"]["task"] == "sites.discard_open_vials"


# The shot


def test_the_shot_draws_from_an_open_vial_and_copies_the_lot(site_centre, office, nurse, arrive):
    lot = deliver(site_centre, office, vials=2, per_vial=2, maker="国药中生北京").lot
    one, _ = site_vaccinate(appointment=arrive(), lot=lot, vaccinator=nurse)
    two, _ = site_vaccinate(appointment=arrive(), lot=lot.pk, vaccinator=nurse)
    three, _ = site_vaccinate(appointment=arrive(), lot_number=lot.number, vaccinator=nurse)
    assert (one.lot, one.lot_number, one.manufacturer) == (lot, lot.number, "国药中生北京")
    assert one.vial == two.vial != three.vial
    one.vial.refresh_from_db()
    assert one.vial.discarded_at is not None and one.vial.wasted_doses == 0  # emptied
    assert site_centre.__class__.objects.get(pk=site_centre.pk).current_lot == lot.number


def test_the_shot_offers_lots_in_stock_by_expiry_current_first_never_expired(
    site_centre, site_jiangdian, office, today
):
    late = deliver(site_centre, office, number="LATE", expiry=today + 200 * DAY).lot
    soon = deliver(site_centre, office, number="SOON", expiry=today + 20 * DAY).lot
    deliver(site_jiangdian, office, number="ELSEWHERE")
    expired = LotFactory(campaign=site_centre.campaign, number="OLD", expiry_date=today - DAY)
    DeliveryFactory(site=site_centre, lot=expired, date=today - 30 * DAY)
    assert lots_usable(site=site_centre) == [soon, late]
    site_centre.current_lot = "LATE"
    assert lots_usable(site=site_centre) == [late, soon]


def test_an_expired_lot_or_one_not_at_the_site_is_refused_at_the_shot(
    site_centre, site_jiangdian, office, nurse, arrive, today
):
    deliver(site_centre, office, number="GOOD")
    expired = LotFactory(campaign=site_centre.campaign, number="OLD", expiry_date=today - DAY)
    DeliveryFactory(site=site_centre, lot=expired, date=today - 30 * DAY)
    elsewhere = deliver(site_jiangdian, office, number="ELSEWHERE").lot
    arrived = arrive()
    expired_shot = site_shot(pk=arrived.pk, lot=expired.pk, vaccinator=nurse, injection_site="left_arm")
    assert "过期" in expired_shot.refused.message
    assert (
        "没有批号 ELSEWHERE"
        in site_shot(pk=arrived.pk, lot=elsewhere, vaccinator=nurse, injection_site="left_arm").refused.message
    )
    assert site_shot(pk=arrived.pk, lot_number="OLD", vaccinator=nurse, injection_site="left_arm").refused is not None
    assert not Vaccination.objects.exists() and not Vial.objects.exists()
    assert Appointment.objects.get(pk=arrived.pk).status == "arrived"


def test_a_campaign_without_lots_keeps_the_typed_lot_number(nurse, arrive):
    vaccination, _ = site_vaccinate(appointment=arrive(), lot_number="L1", vaccinator=nurse)
    assert (vaccination.lot, vaccination.vial, vaccination.lot_number) == (None, None, "L1")


# Days of stock, bookings against stock, alerts


def test_days_of_stock_and_booked_vs_stock(site_centre, office, qingshan, today, settings):
    site_days_ensure(campaign=site_centre.campaign)
    deliver(site_centre, office, vials=7)
    for _ in range(14):
        appointment_book_pair(resident=ResidentFactory(village=qingshan), day=today)  # dose 2 falls after the 7 days
    assert days_of_stock(site=site_centre) == Decimal("3.5")
    ahead = booked_vs_stock(site=site_centre, days=7)
    assert (ahead.booked_ahead, ahead.on_hand, ahead.short) == (14, 7, 7)
    settings.SUPPLY_LOW_DAYS = 4
    assert [a.kind for a in supply_alerts(campaign=site_centre.campaign)] == ["low"]


def test_alerts_for_lots_expiring_and_doses_given_from_a_lot_not_received(
    site_centre, site_jiangdian, office, today, settings
):
    settings.SUPPLY_EXPIRY_ALERT_DAYS = 14
    deliver(site_centre, office, number="SOON", expiry=today + 10 * DAY)
    deliver(site_centre, office, number="LATER", expiry=today + 100 * DAY)
    stray = LotFactory(campaign=site_centre.campaign, number="STRAY")
    VaccinationFactory(site=site_jiangdian, lot=stray, lot_number="STRAY")
    kinds = {(a.kind, a.site, a.lot and a.lot.number) for a in supply_alerts(campaign=site_centre.campaign)}
    assert kinds == {
        ("expiring", site_centre, "SOON"),
        ("not_received", site_jiangdian, "STRAY"),
        ("low", site_jiangdian, None),  # it gave a dose this week and has none
    }


# Races, with real connections


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_nurses_drawing_the_last_dose_one_gets_it(site_centre, office, nurse, arrive):
    lot = deliver(site_centre, office, vials=1, per_vial=1).lot
    pending = [arrive(), arrive()]
    results, errors = at_once(
        2, lambda: site_shot(pk=pending.pop().pk, lot=lot, vaccinator=nurse, injection_site="left_arm")
    )
    assert errors == []
    refused = [r.refused for r in results if r.refused is not None]
    assert len(refused) == 1 and isinstance(refused[0], OutOfStock)
    assert Vaccination.objects.count() == 1 and Vial.objects.count() == 1
    assert stock_of(site=site_centre, lot=lot).on_hand == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_transfers_never_send_more_than_the_site_has(site_centre, site_jiangdian, office):
    lot = deliver(site_centre, office, vials=5).lot
    results, errors = at_once(
        4, lambda: transfer_record(lot=lot, from_site=site_centre, to_site=site_jiangdian, vials=2, recorded_by=office)
    )
    assert len(results) == 2 and len(errors) == 2 and all(isinstance(e, OutOfStock) for e in errors)
    assert stock_of(site=site_centre, lot=lot).sealed_vials == 1


# The pages


def _delivery_data(site, **over):
    return {
        "site": site.pk,
        "date": timezone.localdate().isoformat(),
        "manufacturer": "国药中生北京",
        "number": "202612B07",
        "expiry_date": (timezone.localdate() + 90 * DAY).isoformat(),
        "doses_per_vial": 2,
        "vials": 30,
        **over,
    }


def test_the_office_records_a_delivery_and_sees_the_stock(client, office, site_centre):
    client.force_login(office)
    response = client.post(reverse("sites:supply_delivery"), _delivery_data(site_centre))
    assert response.status_code == 302
    page = client.get(reverse("sites:supply"))
    (row,) = page.context["stocks"]
    assert (row.site, row.lot.number, row.on_hand) == (site_centre, "202612B07", 60)
    assert "202612B07" in page.content.decode()


def test_an_empty_or_refused_delivery_writes_nothing(client, office, site_centre, today):
    client.force_login(office)
    assert client.post(reverse("sites:supply_delivery"), {}).status_code == 200
    expired = client.post(
        reverse("sites:supply_delivery"), _delivery_data(site_centre, expiry_date=(today - DAY).isoformat())
    )
    assert expired.status_code == 200 and "过期" in expired.content.decode()
    assert not Delivery.objects.exists()


def test_a_site_team_records_only_for_its_own_site(client, nurse, site_centre, site_jiangdian):
    client.force_login(nurse)
    client.post(reverse("sites:supply_delivery"), _delivery_data(site_jiangdian))
    assert not Delivery.objects.exists()
    client.post(reverse("sites:supply_delivery"), _delivery_data(site_centre))
    assert Delivery.objects.get().site == site_centre
    page = client.get(reverse("sites:supply"))
    assert [s.site for s in page.context["supplies"]] == [site_centre]


def test_supervision_reads_the_stock_and_records_nothing(client, supervisor, site_centre):
    client.force_login(supervisor)
    assert client.get(reverse("sites:supply")).status_code == 200
    assert client.post(reverse("sites:supply_delivery"), _delivery_data(site_centre)).status_code == 403
    assert not Delivery.objects.exists()


def test_the_site_discards_its_open_vials_with_one_button(client, nurse, site_centre, office, arrive):
    lot = deliver(site_centre, office, vials=2, per_vial=5).lot
    site_vaccinate(appointment=arrive(), lot=lot, vaccinator=nurse)
    client.force_login(nurse)
    client.post(reverse("sites:supply_discard_all"))
    assert stock_of(site=site_centre, lot=lot).wasted == 4


def test_the_shot_form_offers_the_usable_lots_and_records_the_chosen_one(client, nurse, site_centre, office, arrive):
    soon = deliver(site_centre, office, number="SOON", expiry=timezone.localdate() + 20 * DAY).lot
    late = deliver(site_centre, office, number="LATE").lot
    arrived = arrive()
    client.force_login(nurse)
    panel = client.get(reverse("sites:workstation"), {"a": arrived.pk})
    assert panel.context["lots"] == [soon, late] and panel.context["form"].initial["lot"] == soon.pk
    client.post(reverse("sites:vaccinate", args=[arrived.pk]), {"lot": late.pk, "injection_site": "left_arm"})
    assert Vaccination.objects.get().lot == late


def test_the_booking_page_plan_and_dashboard_warn_when_bookings_exceed_the_stock(
    client, cadre_qingshan, office, site_centre, qingshan, today
):
    site_days_ensure(campaign=site_centre.campaign)
    deliver(site_centre, office, vials=2)
    for _ in range(3):
        appointment_book_pair(resident=ResidentFactory(village=qingshan), day=today)
    client.force_login(cadre_qingshan)
    page = client.get(reverse("appointments:booking")).content.decode()
    assert 'data-testid="supply-short"' in page and "缺 1 剂" in page
    client.force_login(office)
    assert "缺 1 剂" in client.get(reverse("plan:week")).content.decode()
    dashboard = client.get(reverse("reports:dashboard"))
    assert [s.short for s in dashboard.context["supply"]] == [1] and "days-of-stock" in dashboard.content.decode()


def test_a_voided_dose_goes_back_to_the_stock_and_a_corrected_lot_moves_it_between_lots(
    site_centre, office, nurse, arrive
):
    # The dose record's corrections (sites.services) and the stock (sites.supply) meet: the stock is counted
    # from the doses by lot, so a void and a corrected lot move it, with no counter to update.
    first = deliver(site_centre, office, number="LOTA").lot
    second = deliver(site_centre, office, number="LOTB").lot
    one, _held = site_vaccinate(appointment=arrive(), lot=first, vaccinator=nurse)
    two, _held = site_vaccinate(appointment=arrive(), lot=first, vaccinator=nurse)
    assert (stock_of(site=site_centre, lot=first).given, stock_of(site=site_centre, lot=first).on_hand) == (2, 8)

    vaccination_correct(vaccination=two, by=office, reason="批号登记错误", lot=second)
    assert (stock_of(site=site_centre, lot=first).given, stock_of(site=site_centre, lot=second).given) == (1, 1)
    assert stock_of(site=site_centre, lot=second).on_hand == 9

    vaccination_void(vaccination=one, by=office, reason="记错了人")
    assert (stock_of(site=site_centre, lot=first).given, stock_of(site=site_centre, lot=first).on_hand) == (0, 10)
    assert not Vaccination.objects.filter(pk=one.pk).exists()
