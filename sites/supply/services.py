"""Recording supply: deliveries, transfers, the vial a shot draws from, discarding vials (see sites.supply).

Everything that changes a site's stock of a lot locks that lot's row first (select_for_update),
so two nurses drawing the last dose, or a transfer racing a shot, are served one after the other
and each sees what the other did.
"""

import datetime
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appointments.services import BookingRefused
from campaign.lib.text import clean_text
from sites.models import Delivery, Lot, Transfer, Vial
from sites.supply.selectors import campaign_tracks_lots, stock_of

MAX_VIALS = 100_000
# A delivery may be recorded ahead of its arrival (an expected one), this far at most.
EXPECTED_WITHIN = datetime.timedelta(days=90)


class SupplyRefused(BookingRefused):
    """A supply record or a draw the rules do not allow; `message` says why."""

    code = "supply_refused"


class OutOfStock(SupplyRefused):
    code = "out_of_stock"


def _lock(lot) -> Lot:
    return Lot.objects.select_for_update().get(pk=lot.pk if isinstance(lot, Lot) else lot)


def delivery_record(
    *, site, manufacturer, number, expiry_date, doses_per_vial, vials, recorded_by, date=None
) -> Delivery:
    """到货: `vials` of lot `number` of `manufacturer` arrive at `site` on `date` (today).

    The lot is the campaign's lot of that manufacturer and number, created on its first delivery;
    a lot already known with another expiry date or doses per vial is refused (a typing error on
    one side or the other), and so is an expired lot.
    """
    today = timezone.localdate()
    date = date or today
    manufacturer = clean_text(manufacturer or "").strip()
    number = clean_text(number or "").strip().upper()
    if not manufacturer or not number:
        raise SupplyRefused(_("Enter the manufacturer and the lot number."))
    if not 1 <= (doses_per_vial or 0) <= 20:
        raise SupplyRefused(_("Doses per vial must be between 1 and 20."))
    if not 1 <= (vials or 0) <= MAX_VIALS:
        raise SupplyRefused(_("Enter the number of vials (at least 1)."))
    if date > today + EXPECTED_WITHIN:
        raise SupplyRefused(_("The date of arrival is too far ahead."))
    if expiry_date < max(date, today):
        raise SupplyRefused(
            _("Lot %(lot)s expired on %(date)s: it cannot be received."), lot=number, date=f"{expiry_date:%Y-%m-%d}"
        )
    with transaction.atomic():
        try:
            with transaction.atomic():
                lot, _created = Lot.objects.get_or_create(
                    campaign_id=site.campaign_id,
                    manufacturer=manufacturer[:100],
                    number=number[:40],
                    defaults={"expiry_date": expiry_date, "doses_per_vial": doses_per_vial},
                )
        except IntegrityError:
            lot = Lot.objects.get(campaign_id=site.campaign_id, manufacturer=manufacturer[:100], number=number[:40])
        if lot.expiry_date != expiry_date or lot.doses_per_vial != doses_per_vial:
            raise SupplyRefused(
                _(
                    "Lot %(lot)s of %(manufacturer)s is already recorded with expiry date %(date)s and "
                    "%(doses)s doses per vial: check the label."
                ),
                lot=lot.number,
                manufacturer=lot.manufacturer,
                date=f"{lot.expiry_date:%Y-%m-%d}",
                doses=lot.doses_per_vial,
            )
        return Delivery.objects.create(
            site=site, lot=lot, date=date, vials=vials, doses=vials * lot.doses_per_vial, recorded_by=recorded_by
        )


def transfer_record(*, lot, from_site, to_site, vials, recorded_by, date=None) -> Transfer:
    """调拨: `vials` sealed vials of `lot` go from one site to another; never more than the sender has."""
    date = date or timezone.localdate()
    if from_site.pk == to_site.pk:
        raise SupplyRefused(_("Choose two different sites."))
    if not (from_site.campaign_id == to_site.campaign_id == lot.campaign_id):
        raise SupplyRefused(_("The sites and the lot must belong to the same campaign."))
    if not 1 <= (vials or 0) <= MAX_VIALS:
        raise SupplyRefused(_("Enter the number of vials (at least 1)."))
    if date > timezone.localdate():
        raise SupplyRefused(_("A transfer cannot be dated in the future."))
    with transaction.atomic():
        lot = _lock(lot)
        if lot.expiry_date < date:
            raise SupplyRefused(_("Lot %(lot)s has expired: it cannot be transferred."), lot=lot.number)
        sealed = stock_of(site=from_site, lot=lot).sealed_vials
        if vials > sealed:
            raise OutOfStock(
                _("%(site)s has %(n)s sealed vials of lot %(lot)s: it cannot send %(vials)s."),
                site=from_site.name,
                n=sealed,
                lot=lot.number,
                vials=vials,
            )
        return Transfer.objects.create(
            lot=lot,
            from_site=from_site,
            to_site=to_site,
            date=date,
            vials=vials,
            doses=vials * lot.doses_per_vial,
            recorded_by=recorded_by,
        )


def _open_vials(*, site, lot):
    return (
        Vial.objects.filter(site=site, lot=lot, discarded_at__isnull=True)
        .annotate(drawn=Count("vaccinations"))
        .order_by("opened_at", "pk")
    )


def vial_open(*, site, lot, user, at=None) -> Vial:
    """Open a sealed vial of `lot` at `site` (inside the caller's transaction, the lot locked); OutOfStock if none."""
    at = at or timezone.now()
    stock = stock_of(site=site, lot=lot, on=timezone.localdate(at))
    if stock.received <= 0:
        raise OutOfStock(_("Lot %(lot)s is not in stock at this site."), lot=lot.number)
    if stock.sealed_vials < 1:
        raise OutOfStock(_("Lot %(lot)s is used up at this site: choose another lot."), lot=lot.number)
    return Vial.objects.create(site=site, lot=lot, opened_at=at, opened_by=user)


def vial_for_shot(*, site, lot, user, at=None) -> Vial:
    """The vial the next dose of `lot` at `site` is drawn from: an open one with doses left, else a new one.

    Runs in the caller's transaction and locks the lot: of two nurses drawing the last dose, the
    second finds it drawn and gets OutOfStock. Refuses a lot of another campaign, or expired.
    """
    at = at or timezone.now()
    if lot.campaign_id != site.campaign_id:
        raise SupplyRefused(_("This lot is not one of this campaign's."))
    with transaction.atomic():
        lot = _lock(lot)
        if lot.expiry_date < timezone.localdate(at):
            raise SupplyRefused(
                _("Lot %(lot)s expired on %(date)s: it must not be used."),
                lot=lot.number,
                date=f"{lot.expiry_date:%Y-%m-%d}",
            )
        for vial in _open_vials(site=site, lot=lot):
            if vial.drawn < lot.doses_per_vial:
                vial.lot = lot
                return vial
        return vial_open(site=site, lot=lot, user=user, at=at)


def vial_close_if_empty(*, vial, at=None) -> bool:
    """After a draw: a vial whose doses are all drawn is discarded (nothing wasted). True if it was."""
    if vial.vaccinations.count() < vial.lot.doses_per_vial:
        return False
    return bool(
        Vial.objects.filter(pk=vial.pk, discarded_at__isnull=True).update(
            discarded_at=max(at or timezone.now(), vial.opened_at), wasted_doses=0
        )
    )


def vial_discard(*, vial, at=None) -> int:
    """Discard an open vial: the doses not drawn are wasted. Returns the doses wasted (0 if already discarded)."""
    at = at or timezone.now()
    with transaction.atomic():
        lot = _lock(vial.lot_id)
        locked = Vial.objects.filter(pk=vial.pk, discarded_at__isnull=True).first()
        if locked is None:
            return 0
        wasted = max(lot.doses_per_vial - locked.vaccinations.count(), 0)
        locked.discarded_at = max(at, locked.opened_at)
        locked.wasted_doses = wasted
        locked.save(update_fields=["discarded_at", "wasted_doses"])
        return wasted


def vials_discard_end_of_day(*, site=None, at=None) -> dict:
    """At the end of the day (the beat schedule, or the site's button): every open vial opened until `at`
    (of `site`, or of every site) is discarded, the rest of its doses wasted. Returns counts."""
    at = at or timezone.now()
    vials = Vial.objects.filter(discarded_at__isnull=True, opened_at__lte=at)
    if site is not None:
        vials = vials.filter(site=site)
    discarded = wasted = 0
    for vial in vials.order_by("lot_id", "pk"):
        n = vial_discard(vial=vial, at=at)
        discarded += 1
        wasted += n
    return {"vials": discarded, "wasted": wasted}


@dataclass(frozen=True)
class Drawn:
    """What the shot records of its supply: the lot, the vial and the fields copied from the lot."""

    lot: Lot | None
    vial: Vial | None
    lot_number: str
    manufacturer: str = ""


def shot_draw(*, site, lot=None, lot_number="", user, at=None) -> Drawn:
    """The supply side of a shot (sites.services._shot, inside its transaction).

    In a campaign that tracks lots, the dose comes from a lot usable at the site (given as a Lot or
    its id; or found by its number among the site's lots): never an expired lot, nor one the site
    does not have; a vial is drawn from (vial_for_shot). A campaign with no lot recorded keeps the
    typed lot number.
    """
    if not campaign_tracks_lots(site.campaign_id):
        lot_number = clean_text(lot_number or "").strip()[:40]
        if not lot_number:
            raise SupplyRefused(_("Enter the vaccine lot number."))
        return Drawn(None, None, lot_number)
    if lot is None:
        number = clean_text(lot_number or "").strip().upper()
        lot = (
            Lot.objects.filter(campaign_id=site.campaign_id, number=number, expiry_date__gte=timezone.localdate(at))
            .order_by("expiry_date", "pk")
            .first()
        )
        if lot is None:
            raise SupplyRefused(_("Choose the vaccine lot."))
    elif not isinstance(lot, Lot):
        lot = Lot.objects.filter(pk=lot, campaign_id=site.campaign_id).first()
        if lot is None:
            raise SupplyRefused(_("Choose the vaccine lot."))
    vial = vial_for_shot(site=site, lot=lot, user=user, at=at)
    return Drawn(vial.lot, vial, vial.lot.number, vial.lot.manufacturer)
