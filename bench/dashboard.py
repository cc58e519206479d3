"""Time the progress dashboard at county scale on the configured database (run on demand, not a test).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vaccination_1m \
        .venv/bin/python bench/dashboard.py [--residents 1000000] [--requests 300] [--stale 20]

Loads the Meishan demo up to --residents (idempotent; skip with --no-load on a loaded database),
times a full `progress_compute` (what beat runs after midnight) and the run of every 30 seconds
(today and yesterday), then requests pages as the office through Django's test client in this
process: each request goes through the whole middleware stack, the view and the template, with the
database on loopback. Server time is the wall clock of each request.

- fresh: --requests dashboard requests while a thread of this process runs the beat task every 30
  seconds (as beat and a worker would, on the same machine), each request followed by one of
  /health/ (the same stack and one query): the anchor measured in the same run, so that a loaded
  machine shows in both figures; the CPU time of the requesting thread is reported beside the wall
  clock (it varies less with the load);
- stale: --stale dashboard requests that each find the figures more than a minute old (no beat,
  Redis down), so the request computes them itself (reports.progress.progress_fresh);
- a dose recorded through the site's services, a minute later, moves the page's headline by one.

It reports p50, p95 and max, the queries per request, and checks the page's headline and villages
against the raw tables (people with dose 1 and fully vaccinated counted directly).
"""

import argparse
import datetime
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campaign.settings")
# A bench is no server: a key of its own (with DEBUG=0 the settings refuse the development key).
os.environ.setdefault("SECRET_KEY", "bench-only-key-never-used-to-sign-anything-on-a-server")


def percentiles(times: list[float]) -> str:
    times = sorted(times)
    p95 = times[max(int(0.95 * len(times)) - 1, 0)]
    return f"p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, max {times[-1]:.1f} ms"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--stale", type=int, default=20, help="requests that find the figures a minute old")
    parser.add_argument("--no-load", action="store_true", help="use the database as it is")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.db.models import Count, F
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.utils import timezone

    from appointments.models import Appointment
    from campaign.models import Campaign
    from reports import views as reports_views
    from reports.models import DailyProgress, VillageProgress
    from reports.progress import FRESH_FOR, progress_compute, progress_compute_open
    from residents.models import Resident
    from sites.models import Vaccination
    from sites.services import site_checkin, site_prescreen, site_vaccinate

    settings.ALLOWED_HOSTS = ["testserver", *settings.ALLOWED_HOSTS]
    if not args.no_load:
        call_command("migrate", verbosity=0)
        call_command("load_demo", residents=args.residents)
    campaign = Campaign.objects.default()
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    print(f"residents: {Resident.objects.filter(campaign=campaign).count():,}")
    print(f"vaccinations: {Vaccination.objects.filter(resident__campaign=campaign).count():,}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE") if connection.vendor == "postgresql" else None

    def a_minute_passes():
        earlier = F("computed_at") - (FRESH_FOR + datetime.timedelta(seconds=1))
        VillageProgress.objects.filter(campaign=campaign).update(computed_at=earlier)
        DailyProgress.objects.filter(campaign=campaign).update(computed_at=earlier)

    started = time.perf_counter()
    full = progress_compute(campaign=campaign)
    print(f"progress_compute, every day: {time.perf_counter() - started:.2f} s ({full['days']} day rows)")
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        progress_compute_open()
        runs.append(time.perf_counter() - started)
    print(
        f"progress_compute, today and yesterday (beat, every 30 s), 5 runs: "
        f"{' '.join(f'{t:.2f}' for t in runs)} s; median {statistics.median(runs):.2f} s"
    )

    setup_test_environment()  # keeps response.context and lets the client count nothing extra
    client = Client()
    from django.contrib.auth.models import User

    client.force_login(User.objects.get(username="office"))
    for _ in range(5):  # warm up: templates compiled, connection open
        assert client.get("/reports/").status_code == 200
        assert client.get("/health/").status_code == 200

    settings.DEBUG = True  # count queries
    reset_queries()
    response = client.get("/reports/")
    queries = len(connection.queries)
    settings.DEBUG = False

    progress_compute_open()  # fresh, as beat keeps them
    stop = threading.Event()
    beat_runs = []

    def beat():
        while not stop.wait(30):
            started = time.perf_counter()
            progress_compute_open()
            beat_runs.append(time.perf_counter() - started)
        connection.close()

    beat_thread = threading.Thread(target=beat, daemon=True)
    beat_thread.start()
    dashboard, anchor, dashboard_cpu, anchor_cpu = [], [], [], []
    computed_in_a_request = []
    fresh = reports_views.progress_fresh

    def counted_fresh(**kwargs):  # the view's own call, counted: were the figures computed during the request?
        asked_at = timezone.now()
        computed_at = fresh(**kwargs)
        computed_in_a_request.append(computed_at >= asked_at)
        return computed_at

    reports_views.progress_fresh = counted_fresh
    for _ in range(args.requests):
        started, cpu = time.perf_counter(), time.thread_time()
        response = client.get("/reports/")
        dashboard.append((time.perf_counter() - started) * 1000)
        dashboard_cpu.append((time.thread_time() - cpu) * 1000)
        assert response.status_code == 200
        started, cpu = time.perf_counter(), time.thread_time()
        assert client.get("/health/").status_code == 200
        anchor.append((time.perf_counter() - started) * 1000)
        anchor_cpu.append((time.thread_time() - cpu) * 1000)
    stop.set()
    beat_thread.join()
    reports_views.progress_fresh = fresh
    print(f"dashboard, fresh figures, {args.requests} requests: {percentiles(dashboard)}; {queries} queries a request")
    print(f"  its thread's CPU: {percentiles(dashboard_cpu)}")
    print(f"  anchor /health/, the same run, {args.requests} requests: {percentiles(anchor)}")
    print(f"  its thread's CPU: {percentiles(anchor_cpu)}")
    print(
        f"  beat runs during them: {len(beat_runs)} ({' '.join(f'{t:.2f}' for t in beat_runs)} s); "
        f"requests that computed the figures themselves: {sum(computed_in_a_request)}"
    )
    p95 = sorted(dashboard)[int(0.95 * len(dashboard)) - 1]

    stale = []
    for _ in range(args.stale):
        a_minute_passes()
        started = time.perf_counter()
        assert client.get("/reports/").status_code == 200
        stale.append((time.perf_counter() - started) * 1000)
    print(f"dashboard, figures a minute old (computed in the request), {args.stale} requests: {percentiles(stale)}")

    # A dose through the site's services; a minute later the headline has moved by one.
    before = client.get("/reports/").context["figures"]["dose1"]
    today = timezone.localdate()
    booked = (
        Appointment.objects.filter(date=today, dose_number=1, status="booked", site__campaign=campaign)
        .select_related("resident", "site")
        .first()
    )
    if booked is None:
        print("no dose-1 appointment booked today: the dose check is skipped")
    else:
        nurse = User.objects.filter(profile__site=booked.site).first()
        arrived = site_checkin(site=booked.site, resident=booked.resident, checked_in_by=nurse)
        site_prescreen(appointment=arrived, answers={}, temperature="36.5", consent=True, screened_by=nurse)
        from sites.supply.selectors import lots_usable

        lots = lots_usable(site=booked.site)  # the demo tracks its lots: the shot comes from the stock
        site_vaccinate(appointment=arrived, lot=lots[0] if lots else None, lot_number="BENCH01", vaccinator=nurse)
        a_minute_passes()
        after = client.get("/reports/").context["figures"]["dose1"]
        moved = "moved" if after == before + 1 else "DID NOT MOVE"
        print(f"a dose recorded, a minute later: people with dose 1 {before} -> {after} ({moved})")

    response = client.get("/reports/")
    figures = response.context["figures"]
    given = Vaccination.objects.filter(resident__campaign=campaign)
    raw = {"dose1": given.filter(dose_number=1).count(), "completed": given.filter(dose_number=campaign.doses).count()}
    shown = {"dose1": figures["dose1"], "completed": figures["completed"]}
    print(f"headline {shown}; raw tables {raw}: {'agree' if shown == raw else 'DISAGREE'}")
    villages = {v["village"].name: v for v in figures["villages"]}
    raw_village = dict(
        Resident.objects.filter(campaign=campaign, vaccinations__dose_number=1)
        .values_list("village__name")
        .annotate(n=Count("id"))
    )
    mismatched = [name for name, v in villages.items() if v["dose1"] != raw_village.get(name, 0)]
    print(f"village dose-1 counts against the raw tables: {mismatched or 'agree'}")
    print(f"target: p95 under 50 ms with fresh figures: {'met' if p95 < 50 else 'NOT met'}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
