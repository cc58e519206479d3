"""The demo's vaccine supply: lots, deliveries, a transfer and the vials its past doses were drawn from.

Written in bulk next to the demo's vaccinations (campaign.demo.load_residents), as sites.supply's
services would have written them: each site received the first lot (expiring within days: the
alert shows) and then its own lot (the first site runs low, a delivery expected); a third lot sits
in the third site's fridge, and five vials of it went from the second site to the first. The doses
of a day at a site came from vials of that lot opened in turn, and the rest of the last vial was
wasted at the end of the day (today's last vial is still open).
"""

import collections
import datetime
import math

from django.contrib.auth.models import User
from django.utils import timezone

from campaign.roles import Role
from sites.models import Delivery, Lot, Site, Transfer, Vial

# (letter, manufacturer, doses per vial, expiry in days from today)
LOTS = [
    ("A", "北京科兴中维", 2, 8),
    ("B", "国药中生北京", 1, 150),
    ("C", "北京科兴中维", 2, 240),
]
END_OF_DAY = datetime.time(18, 0)


def lot_number(start: datetime.date, letter: str) -> str:
    return f"{start:%Y%m}{letter}01"


def lot_for(start: datetime.date, site_index: int, day: int, elapsed: int) -> str:
    """The lot a demo site draws from on campaign day `day`: the first lot, then the site's own."""
    return lot_number(start, "A" if day < elapsed // 2 else "BC"[site_index % 2])


def load_supply(*, campaign, today: datetime.date, vaccinations: list[dict], insert) -> None:
    """Lots, vials, deliveries and a transfer for the demo's `vaccinations` (dicts, not yet written): each
    gets its lot, vial and manufacturer. `insert(model, rows)` writes rows in bulk (ids into the dicts)."""
    start = campaign.start_date
    zone = timezone.get_current_timezone()
    lots = {}
    for letter, maker, per_vial, expiry in LOTS:
        lots[lot_number(start, letter)], _created = Lot.objects.get_or_create(
            campaign=campaign,
            manufacturer=maker,
            number=lot_number(start, letter),
            defaults={"expiry_date": today + datetime.timedelta(days=expiry), "doses_per_vial": per_vial},
        )
    sites = list(Site.objects.filter(campaign=campaign).order_by("pk"))
    office = User.objects.filter(groups__name=Role.OFFICE).order_by("pk").first()
    by_day = collections.defaultdict(list)
    for row in vaccinations:
        lot = lots.get(row["lot_number"]) or lots[lot_number(start, "A")]
        row["lot_number"] = lot.number
        by_day[(row["site_id"], lot.pk, timezone.localdate(row["vaccinated_at"]))].append(row)
    vials, drawn_from = [], []
    used = collections.Counter()  # (site id, lot id) -> vials opened
    for (site_id, lot_id, day), rows in sorted(by_day.items()):
        lot = next(x for x in lots.values() if x.pk == lot_id)
        rows.sort(key=lambda r: r["vaccinated_at"])
        per_vial = lot.doses_per_vial
        for first in range(0, len(rows), per_vial):
            drawn = rows[first : first + per_vial]
            full = len(drawn) == per_vial
            closed = (
                drawn[-1]["vaccinated_at"]
                if full
                else None
                if day == today
                else datetime.datetime.combine(day, END_OF_DAY, tzinfo=zone)
            )
            if closed is not None and closed < drawn[0]["vaccinated_at"]:
                closed = drawn[-1]["vaccinated_at"]
            vials.append(
                {
                    "site_id": site_id,
                    "lot_id": lot_id,
                    "opened_at": drawn[0]["vaccinated_at"],
                    "opened_by_id": drawn[0]["vaccinator_id"],
                    "discarded_at": closed,
                    "wasted_doses": 0 if closed is None else per_vial - len(drawn),
                }
            )
            drawn_from.append(drawn)
            used[(site_id, lot_id)] += 1
    insert(Vial, vials)
    for vial, drawn in zip(vials, drawn_from, strict=True):
        for row in drawn:
            row["lot_id"], row["vial_id"] = vial["lot_id"], vial["id"]
            row["manufacturer"] = next(x.manufacturer for x in lots.values() if x.pk == vial["lot_id"])
    recorder = office.pk if office is not None else (vials[0]["opened_by_id"] if vials else None)
    if recorder is None:
        return
    recent = collections.Counter(
        row["site_id"] for row in vaccinations if (today - timezone.localdate(row["vaccinated_at"])).days < 7
    )
    first, own, spare = lots[lot_number(start, "A")], lots[lot_number(start, "B")], lots[lot_number(start, "C")]
    deliveries, transfers = [], []

    def deliver(site, lot, vials_, date):
        deliveries.append(
            {
                "site_id": site.pk,
                "lot_id": lot.pk,
                "date": date,
                "vials": vials_,
                "doses": vials_ * lot.doses_per_vial,
                "recorded_by_id": recorder,
            }
        )

    for index, site in enumerate(sites):
        mine = (own, spare)[index % 2]
        daily = max(recent[site.pk] / 7, 20)
        # The first lot: what was drawn, and some vials left (they expire within days).
        deliver(site, first, used[(site.pk, first.pk)] + 10, start - datetime.timedelta(days=1))
        # The site's own lot: what was drawn and days of stock left (the first site runs low).
        days_left = 1 if index == 0 else 6 + index
        extra = 5 if index == 1 else 0  # sent on to the first site (the transfer below)
        left = math.ceil(daily * days_left / mine.doses_per_vial) + extra
        switch = start + datetime.timedelta(days=(today - start).days // 2 - 1)
        deliver(site, mine, used[(site.pk, mine.pk)] + left, min(switch, today))
        if index == 0:
            deliver(site, own, 200, today + datetime.timedelta(days=2))  # expected
        if index % 2 == 0 and index > 0:
            deliver(site, spare, 20, today - datetime.timedelta(days=1))  # a third lot, in the fridge
    if len(sites) > 1:
        transfers.append(
            {
                "lot_id": spare.pk,
                "from_site_id": sites[1].pk,
                "to_site_id": sites[0].pk,
                "date": today - datetime.timedelta(days=1),
                "vials": 5,
                "doses": 5 * spare.doses_per_vial,
                "recorded_by_id": recorder,
            }
        )
    insert(Delivery, deliveries)
    insert(Transfer, transfers)
