"""Time the default demo (`make run`'s load) and check what it shows (run on demand, not a test).

    .venv/bin/python bench/demo_load.py                       # a fresh SQLite file under /tmp
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vb_demo .venv/bin/python bench/demo_load.py

Empties the database (flush), migrates, and times `load_demo` at the seed's scale (wall clock and
this process's CPU), then a second `load_demo` (which keeps the demo). Then checks the loader's
counters against recounts (site-day places, progress rows) and prints what a newcomer sees: each
past week's report (expected % of quota, the town's %, the levels proposed, the sites' averages
against the floor), the dashboard's forecast, and today at each site.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campaign.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-key-never-used-to-sign-anything-on-a-server")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=None, help="default: the seed's scale (72,000)")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp(prefix='demo-bench-')}/db.sqlite3"

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count
    from django.utils import timezone

    from appointments.models import Appointment
    from campaign.models import Campaign
    from reports.models import COUNTS, DailyProgress, WeeklyReport
    from reports.progress import progress_compute
    from reports.selectors import dashboard_figures
    from sites.models import SiteDay

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    for run in ("first load", "second load"):
        wall, cpu = time.monotonic(), time.process_time()
        call_command("load_demo", residents=args.residents, stdout=open(os.devnull, "w"))  # noqa: SIM115
        print(f"{run}: {time.monotonic() - wall:.1f} s wall, {time.process_time() - cpu:.1f} s CPU of this process")
    campaign = Campaign.objects.default()

    taken = {
        (r["site"], r["date"]): r["n"]
        for r in Appointment.objects.exclude(status="cancelled").values("site", "date").annotate(n=Count("id"))
    }
    wrong = [
        d for d in SiteDay.objects.filter(site__campaign=campaign) if d.booked != taken.get((d.site_id, d.date), 0)
    ]

    def rows():
        return sorted(DailyProgress.objects.filter(campaign=campaign).values_list("date", "site", "village", *COUNTS))

    before = rows()
    progress_compute(campaign=campaign)
    print(f"site-days off their recount: {len(wrong)}; progress rows changed by a recompute: {before != rows()}")

    for report in WeeklyReport.objects.filter(campaign=campaign).order_by("week_start"):
        data = report.data
        averages = " / ".join(f"{s['week_average']:.0f}" for s in data["sites"])
        print(
            f"{data['week']}: expected {data['expected_percent']}%, town {data['totals']['percent']}%, "
            f"levels {data['levels']}, none {sum(not v['level'] for v in data['villages'])}; sites a day {averages}"
        )
    today = timezone.localdate()
    figures = dashboard_figures(campaign=campaign, today=today)
    print(
        f"day {figures['day_number']}: dose 1 {figures['dose1']:,} ({figures['dose1_percent']}%), "
        f"fully {figures['completed']:,}; 7-day rate {figures['rate_7d']} vs needed {figures['rate_needed']}; "
        f"forecast {figures['reached_on']} (end {campaign.end_date})"
    )
    for site in figures["sites"]:
        print(f"  today {site['site'].short_name}: booked {site['booked']}, arrived {site['arrived']}, "
              f"vaccinated {site['vaccinated']}")  # fmt: skip


if __name__ == "__main__":
    main()
