"""How many places each site has on each day and how many are taken.

The guarded `UPDATE ... SET booked = booked + 1 WHERE booked < capacity` is the capacity
rule itself (zero rows updated = full); the check constraint `booked <= capacity` backs it.
"""

import datetime

from django.db import connection, transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from sites.models import SiteDay


class CapacityBelowBooked(ValueError):
    """A day's capacity set below the places already taken; `message` says why in the user's language."""

    def __init__(self, *, booked: int, day: datetime.date):
        self.booked = booked
        self.day = day
        message = _("%(booked)s places are already taken on %(day)s; the capacity cannot be lower.")
        super().__init__(str(message) % {"booked": booked, "day": day.isoformat()})

    @property
    def message(self):
        return str(self)


def site_days_ensure(*, campaign, sites=None) -> int:
    """Create the missing site-day rows of the campaign's window at each site's daily capacity. Idempotent."""
    sites = list(sites if sites is not None else campaign.sites.all())
    days = (campaign.end_date - campaign.start_date).days + 1
    rows = [
        SiteDay(site=site, date=campaign.start_date + datetime.timedelta(days=offset), capacity=site.daily_capacity)
        for site in sites
        for offset in range(days)
    ]
    before = SiteDay.objects.filter(site__in=sites).count()
    SiteDay.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    return SiteDay.objects.filter(site__in=sites).count() - before


def site_day_set_capacity(*, site, day: datetime.date, capacity: int) -> SiteDay:
    """The office changes one day's capacity; raises CapacityBelowBooked below the places already taken."""
    with transaction.atomic():
        # Lock the row: a booking must not slip in between the check and the change.
        site_day = SiteDay.objects.select_for_update().filter(site=site, date=day).first()
        if site_day is None:
            site_day = SiteDay.objects.create(site=site, date=day, capacity=capacity)
            return site_day
        if capacity < site_day.booked:
            raise CapacityBelowBooked(booked=site_day.booked, day=day)
        site_day.capacity = capacity
        site_day.save(update_fields=["capacity"])
        return site_day


def take_place(site_id: int, day: datetime.date) -> bool:
    """Take one place if the day has room. Zero rows updated means full (or no such day)."""
    return (
        SiteDay.objects.filter(site_id=site_id, date=day, booked__lt=F("capacity")).update(booked=F("booked") + 1) == 1
    )


def release_place(site_id: int, day: datetime.date) -> None:
    """Give one place back (a cancelled or moved appointment, a walk-in's day changed)."""
    SiteDay.objects.filter(site_id=site_id, date=day, booked__gt=0).update(booked=F("booked") - 1)


def take_first_place(site_id: int, first: datetime.date, last: datetime.date) -> datetime.date | None:
    """Take a place on the first day in [first, last] with room; None when every day is full.

    One statement finds and takes the place; when another booking fills that day
    between the two, the guarded update matches nothing and the search runs again.
    """
    table = SiteDay._meta.db_table
    sql = (
        f"UPDATE {table} SET booked = booked + 1 WHERE booked < capacity AND id = ("  # noqa: S608 - no user input
        f"SELECT id FROM {table} WHERE site_id = %s AND date >= %s AND date <= %s AND booked < capacity "
        "ORDER BY date LIMIT 1) RETURNING date"
    )
    while True:
        with connection.cursor() as cursor:
            cursor.execute(sql, [site_id, first, last])
            row = cursor.fetchone()
        if row is not None:
            day = row[0]
            return datetime.date.fromisoformat(day) if isinstance(day, str) else day
        if not SiteDay.objects.filter(site_id=site_id, date__range=(first, last), booked__lt=F("capacity")).exists():
            return None
