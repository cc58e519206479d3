"""Benchmark: concurrent clients booking dose pairs on PostgreSQL until the days are full.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vaccination_bench .venv/bin/python bench/booking.py [--clients 50]

Creates its own campaign (not current), one site and one village with eligible residents,
then starts N threads, each with its own database connection, booking the next waiting
resident on a random day through appointments.services.appointment_book_pair (taking the
offered next day when a day is full) until no pair fits. Prints pair bookings a second and
checks that no site-day is over capacity and that the counters match the appointments.
Bounded: stops when the days are full, the residents run out, or after --seconds.

It also reports the CPU the client process itself used (all its threads, in cores) and,
on Linux, how busy the whole machine was, so that a harness that eats the cores the
database needs shows. --step-by-step books through the portable path that other
databases use, for comparison with the one-statement path PostgreSQL uses.
"""

import argparse
import datetime
import os
import queue
import random
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campaign.settings")
# A bench is no server: a key of its own (with DEBUG=0 the settings refuse the development key).
os.environ.setdefault("SECRET_KEY", "bench-only-key-never-used-to-sign-anything-on-a-server")

import django  # noqa: E402

django.setup()

from django.db import connection, connections  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.utils import timezone  # noqa: E402

from appointments import services  # noqa: E402
from appointments.models import Appointment  # noqa: E402
from appointments.services import DayFull, appointment_book_pair  # noqa: E402
from campaign.lib.idnumber import make_id_number  # noqa: E402
from campaign.lib.pinyin import name_initials  # noqa: E402
from campaign.models import Campaign, Village  # noqa: E402
from residents.models import Resident  # noqa: E402
from sites.capacity import site_days_ensure  # noqa: E402
from sites.models import Site, SiteDay  # noqa: E402


def setup(capacity: int, days: int, residents: int) -> tuple[Campaign, list[Resident]]:
    today = timezone.localdate()
    stamp = f"{time.time():.0f}"
    campaign = Campaign.objects.create(
        name=f"压测活动-{stamp}",
        vaccine="压测疫苗",
        min_age=18,
        max_age=59,
        doses=2,
        dose_intervals=[14],
        start_date=today,
        end_date=today + datetime.timedelta(days=days - 1),
        first_dose_deadline=today + datetime.timedelta(days=days - 16),
        target_people=residents,
        daily_floor_per_site=0,
        is_open=False,
    )
    site = Site.objects.create(
        campaign=campaign, name=f"压测接种点-{stamp}", short_name="压测", address="-", daily_capacity=capacity
    )
    village = Village.objects.create(
        campaign=campaign, name=f"压测村-{stamp}", kind="village", population=residents, quota=residents, site=site
    )
    site_days_ensure(campaign=campaign)
    people = []
    for i in range(residents):
        number = make_id_number(
            "341524", datetime.date(1980, 1, 1) + datetime.timedelta(days=i // 400), i % 400 * 2 + 1
        )
        people.append(
            Resident(
                campaign=campaign,
                village=village,
                name=f"压测{i}",
                name_initials=name_initials("压测"),
                id_number=number,
                id_number_reversed=number[::-1],
                birth_date=datetime.date(1980, 1, 1) + datetime.timedelta(days=i // 400),
                sex="M",
                status="eligible",
            )
        )
    Resident.objects.bulk_create(people, batch_size=2000)
    # As a page does: the resident with campaign, village and site in one query.
    return campaign, list(Resident.objects.filter(campaign=campaign).select_related("campaign", "village__site"))


def machine_busy_and_total() -> tuple[int, int]:
    """Busy and total CPU ticks of the whole machine since boot (Linux), or zeros elsewhere."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(n) for n in stat.readline().split()[1:]]
    except OSError:
        return 0, 0
    idle = ticks[3] + ticks[4]  # idle and iowait
    return sum(ticks) - idle, sum(ticks)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--capacity", type=int, default=400, help="places per site-day")
    parser.add_argument("--days", type=int, default=45, help="campaign window in days")
    parser.add_argument("--residents", type=int, default=12000)
    parser.add_argument("--seconds", type=float, default=120, help="stop after this long in any case")
    parser.add_argument("--step-by-step", action="store_true", help="book through the portable path")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run on PostgreSQL: set DATABASE_URL.")
    if args.step_by_step:
        services.ONE_STATEMENT_VENDORS = set()
    load = os.getloadavg()[0]

    campaign, people = setup(args.capacity, args.days, args.residents)
    connection.close()
    waiting = queue.Queue()
    for person in people:
        waiting.put(person)
    deadline_days = (campaign.first_dose_deadline - campaign.start_date).days
    stop = threading.Event()
    counts = {"booked": 0, "full": 0, "other": 0}
    lock = threading.Lock()
    busy_before, total_before = machine_busy_and_total()
    cpu_before = time.process_time()
    started_at = time.monotonic()

    def client(seed):
        rng = random.Random(seed)
        try:
            while not stop.is_set() and time.monotonic() - started_at < args.seconds:
                try:
                    person = waiting.get_nowait()
                except queue.Empty:
                    return
                day = campaign.start_date + datetime.timedelta(days=rng.randint(0, deadline_days))
                for _attempt in range(3):
                    try:
                        appointment_book_pair(resident=person, day=day)
                        with lock:
                            counts["booked"] += 1
                        break
                    except DayFull as full:
                        with lock:
                            counts["full"] += 1
                        if not full.suggestions:
                            stop.set()  # no pair fits anywhere: the days are full
                            break
                        day = full.suggestions[0][0]
                    except Exception:
                        with lock:
                            counts["other"] += 1
                        raise
        finally:
            connections.close_all()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started_at
    client_cores = (time.process_time() - cpu_before) / elapsed
    busy_after, total_after = machine_busy_and_total()
    machine_busy = (busy_after - busy_before) / max(1, total_after - total_before)

    days = list(SiteDay.objects.filter(site__campaign=campaign))
    over = [d for d in days if d.booked > d.capacity]
    actual = dict(
        Appointment.objects.filter(site__campaign=campaign)
        .exclude(status="cancelled")
        .values_list("date")
        .annotate(n=Count("id"))
    )
    mismatched = [d for d in days if actual.get(d.date, 0) != d.booked]
    pairs = Appointment.objects.filter(site__campaign=campaign, dose_number=1).count()
    seconds = Appointment.objects.filter(site__campaign=campaign, dose_number=2).count()
    booked_ids = Appointment.objects.filter(site__campaign=campaign).values("id")
    without_history = booked_ids.exclude(
        id__in=Appointment.history.filter(history_type="+", site__campaign=campaign).values("id")
    ).count()
    dose1_capacity = sum(d.capacity for d in days if d.date <= campaign.first_dose_deadline)
    path = "step by step" if args.step_by_step else "one statement"
    print(
        f"clients: {args.clients} threads, one process, {path}; capacity {args.capacity}/day over {args.days} days, "
        f"{args.residents} residents; load average before: {load:.2f} on {os.cpu_count()} cores"
    )
    print(f"pair bookings: {counts['booked']} in {elapsed:.1f} s = {counts['booked'] / elapsed:.0f} pairs/s")
    print(
        f"client process CPU: {client_cores:.2f} cores of {os.cpu_count()}; "
        f"whole machine busy: {machine_busy:.0%} of all cores (this client, PostgreSQL and anything else running)"
    )
    print(f"day-full refusals retried: {counts['full']}, errors: {counts['other']}")
    print(
        f"places taken: {sum(d.booked for d in days)} of {sum(d.capacity for d in days)}; "
        f"dose-1 days capacity {dose1_capacity}"
    )
    print(f"dose 1 appointments {pairs}, dose 2 appointments {seconds}")
    print(f"site-days over capacity: {len(over)}; counters not matching appointments: {len(mismatched)}")
    print(f"appointments without their history row: {without_history}")
    if over or mismatched or pairs != seconds or counts["other"] or without_history:
        sys.exit("FAILED: capacity or pairing broken")
    print("OK: no site-day over capacity, every dose 1 holds its dose 2, every appointment has its history")


if __name__ == "__main__":
    main()
