"""Time the progress dashboard at county scale on the configured database (run on demand, not a test).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vaccination_1m \
        .venv/bin/python bench/dashboard.py [--residents 1000000] [--requests 300]

Loads the Meishan demo up to --residents (idempotent; skip with --no-load on a loaded database),
times a full `progress_compute` (what beat runs after midnight) and the 10-minute one (today and
yesterday), then requests the dashboard page --requests times as the office through Django's
test client in this process: each request goes through the whole middleware stack, the view and
the template, with the database on loopback. Server time is the wall clock of each request; the
report gives p50, p95 and max, the queries per request, and checks the page's headline against
the raw tables (people with dose 1 and fully vaccinated counted directly).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campaign.settings")
# A bench is no server: a key of its own (with DEBUG=0 the settings refuse the development key).
os.environ.setdefault("SECRET_KEY", "bench-only-key-never-used-to-sign-anything-on-a-server")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--no-load", action="store_true", help="use the database as it is")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import setup_test_environment

    from campaign.models import Campaign
    from reports.progress import progress_compute
    from residents.models import Resident
    from sites.models import Vaccination

    settings.ALLOWED_HOSTS = ["testserver", *settings.ALLOWED_HOSTS]
    if not args.no_load:
        call_command("migrate", verbosity=0)
        call_command("load_demo", residents=args.residents)
    campaign = Campaign.objects.current()
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    print(f"residents: {Resident.objects.filter(campaign=campaign).count():,}")
    print(f"vaccinations: {Vaccination.objects.filter(resident__campaign=campaign).count():,}")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE") if connection.vendor == "postgresql" else None

    started = time.perf_counter()
    full = progress_compute(campaign=campaign)
    print(f"progress_compute, every day: {time.perf_counter() - started:.2f} s ({full['days']} day rows)")
    started = time.perf_counter()
    from reports.progress import progress_compute_current

    progress_compute_current()
    print(f"progress_compute, today and yesterday: {time.perf_counter() - started:.2f} s")

    setup_test_environment()  # keeps response.context and lets the client count nothing extra
    client = Client()
    from django.contrib.auth.models import User

    client.force_login(User.objects.get(username="office"))
    for _ in range(5):  # warm up: templates compiled, connection open
        assert client.get("/reports/").status_code == 200

    settings.DEBUG = True  # count queries
    reset_queries()
    response = client.get("/reports/")
    queries = len(connection.queries)
    settings.DEBUG = False

    times = []
    for _ in range(args.requests):
        started = time.perf_counter()
        response = client.get("/reports/")
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    times.sort()
    p95 = times[int(0.95 * len(times)) - 1]
    print(
        f"dashboard, {args.requests} requests: p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, "
        f"max {times[-1]:.1f} ms; {queries} queries a request (session and user included)"
    )

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
    print(f"target: p95 under 50 ms: {'met' if p95 < 50 else 'NOT met'}")


if __name__ == "__main__":
    main()
