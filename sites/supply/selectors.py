"""Stock per site and lot, computed from the records (see sites.supply): no counter that can drift.

A handful of grouped queries per call, whatever the number of sites and lots.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from sites.models import Delivery, Lot, Site, SiteDay, Transfer, Vaccination, Vial

# Days ahead (from today) whose bookings set the daily need behind "days of stock".
NEED_DAYS = 7


@dataclass
class Stock:
    """One site's stock of one lot, in doses (see sites.supply for the arithmetic)."""

    site: Site
    lot: Lot
    received: int = 0
    given: int = 0
    wasted: int = 0
    vials_received: int = 0
    vials_opened: int = 0
    on: datetime.date | None = None

    @property
    def on_hand(self) -> int:
        return self.received - self.given - self.wasted

    @property
    def sealed_vials(self) -> int:
        return max(self.vials_received - self.vials_opened, 0)

    @property
    def in_open_vials(self) -> int:
        return max(self.on_hand - self.sealed_vials * self.lot.doses_per_vial, 0)

    @property
    def wastage_rate(self) -> Decimal | None:
        return rate(self.wasted, self.given + self.wasted)

    @property
    def expired(self) -> bool:
        return self.on is not None and self.lot.expiry_date < self.on

    @property
    def expires_in(self) -> int | None:
        return None if self.on is None else (self.lot.expiry_date - self.on).days

    @property
    def usable(self) -> bool:
        return self.on_hand > 0 and not self.expired


def rate(part: int, whole: int) -> Decimal | None:
    """`part` of `whole` in percent, one decimal; None when there is no whole."""
    if not whole:
        return None
    return (Decimal(100) * part / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _stocks(*, sites, lot=None, on=None) -> dict[tuple[int, int], Stock]:
    """{(site id, lot id): Stock} for `sites` (a Site queryset), as at the end of day `on` (today)."""
    on = on or timezone.localdate()
    site_ids = list(sites.values_list("pk", flat=True)) if hasattr(sites, "values_list") else [s.pk for s in sites]
    by_lot = Q(lot=lot) if lot is not None else Q()
    counts: dict[tuple[int, int], dict] = defaultdict(lambda: defaultdict(int))

    def add(rows, site_key, sign=1):
        for row in rows:
            c = counts[(row[site_key], row["lot"])]
            for name in ("doses", "vials", "given", "wasted", "opened"):
                if name in row and row[name]:
                    c[name] += sign * row[name]

    add(
        Delivery.objects.filter(by_lot, site__in=site_ids, date__lte=on)
        .values("site", "lot")
        .annotate(doses=Sum("doses"), vials=Sum("vials"))
        .order_by(),
        "site",
    )
    add(
        Transfer.objects.filter(by_lot, to_site__in=site_ids, date__lte=on)
        .values("to_site", "lot")
        .annotate(doses=Sum("doses"), vials=Sum("vials"))
        .order_by(),
        "to_site",
    )
    add(
        Transfer.objects.filter(by_lot, from_site__in=site_ids, date__lte=on)
        .values("from_site", "lot")
        .annotate(doses=Sum("doses"), vials=Sum("vials"))
        .order_by(),
        "from_site",
        sign=-1,
    )
    add(
        Vaccination.objects.filter(by_lot, site__in=site_ids, lot__isnull=False, vaccinated_at__date__lte=on)
        .values("site", "lot")
        .annotate(given=Count("pk"))
        .order_by(),
        "site",
    )
    add(
        Vial.objects.filter(by_lot, site__in=site_ids, opened_at__date__lte=on)
        .values("site", "lot")
        .annotate(
            opened=Count("pk"),
            wasted=Sum("wasted_doses", filter=Q(discarded_at__date__lte=on)),
        )
        .order_by(),
        "site",
    )
    if not counts:
        return {}
    sites_by_pk = {s.pk: s for s in Site.objects.filter(pk__in={k[0] for k in counts})}
    lots_by_pk = {x.pk: x for x in Lot.objects.filter(pk__in={k[1] for k in counts})}
    return {
        key: Stock(
            site=sites_by_pk[key[0]],
            lot=lots_by_pk[key[1]],
            received=c["doses"],
            vials_received=c["vials"],
            given=c["given"],
            wasted=c["wasted"],
            vials_opened=c["opened"],
            on=on,
        )
        for key, c in counts.items()
    }


def stock_of(*, site, lot, on=None) -> Stock:
    """One site's stock of one lot."""
    found = next(_site_lots(site=site, on=on or timezone.localdate(), only=lot), None)
    return found.stock if found is not None else Stock(site=site, lot=lot, on=on or timezone.localdate())


def stock_by_site_lot(*, campaign, on=None, site=None) -> list[Stock]:
    """Every site's stock of every lot it has had (of `campaign`; of `site` alone if given), by site then expiry."""
    sites = Site.objects.filter(campaign=campaign) if site is None else Site.objects.filter(pk=site.pk)
    rows = _stocks(sites=sites, on=on).values()
    return sorted(rows, key=lambda s: (s.site.pk, s.lot.expiry_date, s.lot.pk))


def _site_lots(*, site, on, only=None):
    """Every lot of the site's campaign with its stock at `site` on `on` (`stock`: a Stock), in one query."""

    def total(model, site_field, value, date_filter):
        rows = (
            model.objects.filter(**{site_field: site.pk}, lot=OuterRef("pk"), **date_filter)
            .values("lot")
            .annotate(total=value)
            .values("total")
            .order_by()
        )
        return Coalesce(Subquery(rows[:1]), 0)

    lots = Lot.objects.filter(campaign_id=site.campaign_id, **({"pk": only.pk} if only is not None else {})).annotate(
        delivered=total(Delivery, "site", Sum("doses"), {"date__lte": on}),
        delivered_vials=total(Delivery, "site", Sum("vials"), {"date__lte": on}),
        came=total(Transfer, "to_site", Sum("doses"), {"date__lte": on}),
        came_vials=total(Transfer, "to_site", Sum("vials"), {"date__lte": on}),
        went=total(Transfer, "from_site", Sum("doses"), {"date__lte": on}),
        went_vials=total(Transfer, "from_site", Sum("vials"), {"date__lte": on}),
        given=total(Vaccination, "site", Count("pk"), {"vaccinated_at__date__lte": on}),
        opened=total(Vial, "site", Count("pk"), {"opened_at__date__lte": on}),
        wasted=total(Vial, "site", Sum("wasted_doses"), {"discarded_at__date__lte": on}),
    )
    for lot in lots:
        lot.stock = Stock(
            site=site,
            lot=lot,
            received=lot.delivered + lot.came - lot.went,
            vials_received=lot.delivered_vials + lot.came_vials - lot.went_vials,
            given=lot.given,
            wasted=lot.wasted,
            vials_opened=lot.opened,
            on=on,
        )
        lot.on_hand = lot.stock.on_hand
        yield lot


def lots_usable(*, site, on=None) -> list[Lot]:
    """The lots a shot at `site` may come from on `on`: in stock there, not expired.

    The site's current lot (the one it used last) first, then by expiry, then by id. Each lot
    carries `on_hand` (doses at the site) and `stock`. One query.
    """
    return _usable(list(_site_lots(site=site, on=on or timezone.localdate())), site)


def _usable(lots, site):
    lots = sorted((x for x in lots if x.stock.usable), key=lambda x: (x.expiry_date, x.pk))
    return sorted(lots, key=lambda x: x.number != site.current_lot)


def campaign_tracks_lots(campaign) -> bool:
    """Whether the shot takes its lot from the stock: once a lot of the campaign is recorded.

    A campaign without any lot (one recorded before supply was tracked) keeps the typed lot number.
    """
    return Lot.objects.filter(campaign=campaign).exists()


def shot_lots(*, site, on=None) -> list[Lot] | None:
    """The lots the shot form offers at `site` (lots_usable), or None when the campaign tracks no lots. One query."""
    lots = list(_site_lots(site=site, on=on or timezone.localdate()))
    return _usable(lots, site) if lots else None


@dataclass
class SiteSupply:
    """One site's supply at a glance: usable doses, the daily need, days of stock, wastage, bookings ahead."""

    site: Site
    on_hand: int = 0
    received: int = 0
    given: int = 0
    wasted: int = 0
    need_per_day: Decimal | None = None
    booked_ahead: int = 0
    expected: int = 0
    days: int = NEED_DAYS
    lots: list = field(default_factory=list)

    @property
    def days_of_stock(self) -> Decimal | None:
        if not self.need_per_day:
            return None
        return (self.on_hand / self.need_per_day).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    @property
    def wastage_rate(self) -> Decimal | None:
        return rate(self.wasted, self.given + self.wasted)

    @property
    def low(self) -> bool:
        days = self.days_of_stock
        return days is not None and days < settings.SUPPLY_LOW_DAYS

    @property
    def short(self) -> int:
        """Doses booked in the days ahead beyond the stock on hand and the deliveries expected."""
        return max(self.booked_ahead - self.on_hand - self.expected, 0)

    @property
    def short_message(self) -> str:
        return _(
            "%(site)s: %(booked)s doses booked for the next %(days)s days, %(stock)s on hand and %(expected)s "
            "expected: %(short)s short."
        ) % {
            "site": self.site.name,
            "booked": self.booked_ahead,
            "days": self.days,
            "stock": self.on_hand,
            "expected": self.expected,
            "short": self.short,
        }


def supply_by_site(*, campaign, on=None, days=NEED_DAYS, site=None) -> list[SiteSupply]:
    """Per site of `campaign` (or `site` alone): usable stock, daily need, days of stock, wastage, bookings ahead.

    The daily need is the average of the places booked on the coming `days` days (today included:
    today's booked people not yet vaccinated); without bookings, the average given a day over the
    last `days` days. Expected deliveries are those dated after today within the days ahead.
    """
    on = on or timezone.localdate()
    if not campaign_tracks_lots(campaign if site is None else site.campaign_id):
        return [SiteSupply(site=site)] if site is not None else []
    sites = list(Site.objects.filter(campaign=campaign) if site is None else Site.objects.filter(pk=site.pk))
    result = {s.pk: SiteSupply(site=s, days=days) for s in sites}
    for stock in _stocks(sites=sites, on=on).values():
        row = result[stock.site.pk]
        row.received += stock.received
        row.given += stock.given
        row.wasted += stock.wasted
        row.lots.append(stock)
        if not stock.expired:
            row.on_hand += max(stock.on_hand, 0)
    end = on + datetime.timedelta(days=days - 1)
    booked = dict(
        SiteDay.objects.filter(site__in=result, date__range=(on, end))
        .values("site")
        .annotate(n=Sum("booked"))
        .values_list("site", "n")
        .order_by()
    )
    given_today = dict(
        Vaccination.objects.filter(site__in=result, vaccinated_at__date=on)
        .values("site")
        .annotate(n=Count("pk"))
        .values_list("site", "n")
        .order_by()
    )
    given_before = dict(
        Vaccination.objects.filter(site__in=result, vaccinated_at__date__range=(on - datetime.timedelta(days=days), on))
        .values("site")
        .annotate(n=Count("pk"))
        .values_list("site", "n")
        .order_by()
    )
    expected = dict(
        Delivery.objects.filter(site__in=result, date__gt=on, date__lte=end, lot__expiry_date__gt=on)
        .values("site")
        .annotate(n=Sum("doses"))
        .values_list("site", "n")
        .order_by()
    )
    for pk, row in result.items():
        row.booked_ahead = max((booked.get(pk) or 0) - given_today.get(pk, 0), 0)
        row.expected = expected.get(pk) or 0
        if row.booked_ahead:
            row.need_per_day = Decimal(row.booked_ahead) / days
        elif given_before.get(pk):
            row.need_per_day = Decimal(given_before[pk]) / days
    return [result[s.pk] for s in sites]


def supply_short(*, campaign, site=None, days=NEED_DAYS, on=None) -> list[SiteSupply]:
    """The sites (of `campaign`, or `site` alone) whose bookings of the coming `days` days exceed their stock
    on hand plus the deliveries expected (none while the campaign tracks no lots)."""
    return [s for s in supply_by_site(campaign=campaign, site=site, days=days, on=on) if s.short]


def days_of_stock(*, site, on=None) -> Decimal | None:
    """Days the site's usable stock lasts at its daily need (None: no need in sight)."""
    return supply_by_site(campaign=site.campaign_id, site=site, on=on)[0].days_of_stock


def booked_vs_stock(*, site, days, on=None) -> SiteSupply:
    """The doses booked at `site` on the coming `days` days against its stock and expected deliveries (.short)."""
    return supply_by_site(campaign=site.campaign_id, site=site, on=on, days=days)[0]


def wastage_rate(*, site, lot=None, on=None) -> Decimal | None:
    """Doses wasted of those used (given + wasted), in percent, at `site` (of `lot` if given)."""
    stocks = _stocks(sites=[site], lot=lot, on=on).values()
    wasted = sum(s.wasted for s in stocks)
    return rate(wasted, wasted + sum(s.given for s in stocks))


@dataclass(frozen=True)
class Alert:
    level: str  # "danger" or "warning" (Bootstrap's)
    kind: str  # "expiring", "expired", "low", "short", "not_received"
    message: str
    site: Site | None = None
    lot: Lot | None = None


def supply_alerts(*, campaign, site=None, on=None, supplies=None) -> list[Alert]:
    """What the office and the sites must act on: lots expiring soon (in stock), stock for fewer than
    SUPPLY_LOW_DAYS days, doses given from a lot the site never received (or more than it had)."""
    on = on or timezone.localdate()
    supplies = supplies if supplies is not None else supply_by_site(campaign=campaign, site=site, on=on)
    alerts = []
    soon = on + datetime.timedelta(days=settings.SUPPLY_EXPIRY_ALERT_DAYS)
    for supply in supplies:
        for stock in supply.lots:
            params = {"site": supply.site.name, "lot": stock.lot.number, "date": f"{stock.lot.expiry_date:%Y-%m-%d}"}
            if stock.on_hand < 0 or (stock.given and stock.received <= 0):
                alerts.append(
                    Alert(
                        "danger",
                        "not_received",
                        _(
                            "%(site)s: doses were given from lot %(lot)s beyond what the site received: "
                            "check the records."
                        )
                        % params,
                        supply.site,
                        stock.lot,
                    )
                )
            elif stock.on_hand > 0 and stock.expired:
                alerts.append(
                    Alert(
                        "danger",
                        "expired",
                        _("%(site)s: lot %(lot)s expired on %(date)s (%(n)s doses left): do not use it.")
                        % {**params, "n": stock.on_hand},
                        supply.site,
                        stock.lot,
                    )
                )
            elif stock.on_hand > 0 and stock.lot.expiry_date <= soon:
                alerts.append(
                    Alert(
                        "warning",
                        "expiring",
                        _("%(site)s: lot %(lot)s expires on %(date)s, %(n)s doses left: use it first.")
                        % {**params, "n": stock.on_hand},
                        supply.site,
                        stock.lot,
                    )
                )
        if supply.low:
            alerts.append(
                Alert(
                    "warning",
                    "low",
                    _("%(site)s: stock for %(days)s days only (%(n)s doses on hand).")
                    % {"site": supply.site.name, "days": supply.days_of_stock, "n": supply.on_hand},
                    supply.site,
                )
            )
    return alerts


def _number(value):
    return None if value is None else float(value)


def supply_figures(*, campaign, on) -> list[dict]:
    """Stock and wastage per site and lot as at the end of `on`, JSON-ready: the weekly and upward reports' section.

    [{"name", "received", "given", "wasted", "on_hand", "wastage_rate", "days_of_stock", "lots": [{"number",
    "manufacturer", "expiry_date", "received", "given", "wasted", "on_hand", "wastage_rate"}]}]; [] while the
    campaign tracks no lots.
    """
    return [
        {
            "name": supply.site.name,
            "received": supply.received,
            "given": supply.given,
            "wasted": supply.wasted,
            "on_hand": supply.on_hand,
            "wastage_rate": _number(supply.wastage_rate),
            "days_of_stock": _number(supply.days_of_stock),
            "lots": [
                {
                    "number": stock.lot.number,
                    "manufacturer": stock.lot.manufacturer,
                    "expiry_date": stock.lot.expiry_date.isoformat(),
                    "received": stock.received,
                    "given": stock.given,
                    "wasted": stock.wasted,
                    "on_hand": stock.on_hand,
                    "wastage_rate": _number(stock.wastage_rate),
                }
                for stock in sorted(supply.lots, key=lambda s: (s.lot.expiry_date, s.lot.pk))
            ],
        }
        for supply in supply_by_site(campaign=campaign, on=on)
    ]
