"""Time the residents roster export on the configured database (run on demand, not a test).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vaccination_export \
        .venv/bin/python bench/export_roster.py [--residents 100000]

Migrates, loads the Meishan demo up to --residents residents (idempotent: bulk inserts,
only what is missing), then builds exports as the office through the real build service
(export_build, in-process): one village and the whole town. Each build runs
in a fresh child process, so its peak memory (ru_maxrss) is the build's own and not the
loader's; a further run of the whole-town build under tracemalloc gives the peak of Python
allocations (with --trace: tracemalloc slows it down several times, so its time is not the one
to quote). The export rows and files it makes are deleted at the end.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campaign.settings")
# A bench is no server: a key of its own (with DEBUG=0 the settings refuse the development key).
os.environ.setdefault("SECRET_KEY", "bench-only-key-never-used-to-sign-anything-on-a-server")


def _setup():
    import django

    django.setup()


def build_child(village: str | None, trace: bool) -> dict:
    """Request and build one export in this process; return its figures."""
    _setup()
    from django.contrib.auth.models import User

    from campaign.models import Campaign
    from reports.models import Export
    from reports.services import export_build

    campaign = Campaign.objects.current()
    office = User.objects.get(username="office")
    params = {"village": str(campaign.villages.get(name=village).pk)} if village else {}
    # The row export_request would make, without enqueueing its build: this process builds it, timed.
    export = Export.objects.create(
        kind=Export.Kind.RESIDENTS, campaign=campaign, parameters=params, requested_by=office
    )
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if trace:
        tracemalloc.start()
    started, cpu_started = time.perf_counter(), time.process_time()
    export_build(export_id=export.pk)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    traced_peak = tracemalloc.get_traced_memory()[1] if trace else None
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    export.refresh_from_db()
    result = {
        "village": village or "全镇",
        "status": export.status,
        "rows": export.row_count,
        "seconds": round(seconds, 2),
        "rows_per_second": round((export.row_count or 0) / seconds),
        "cpu_seconds": round(cpu_seconds, 2),
        "file_mb": round(export.file.size / 1e6, 1) if export.file else None,
        "peak_rss_mb_before": round(rss_before / 1024, 1),
        "peak_rss_mb_after": round(rss_after / 1024, 1),
        "traced_peak_mb": round(traced_peak / 1e6, 1) if trace else None,
        "error": export.error,
    }
    if export.file:
        export.file.storage.delete(export.file.name)
    export.delete()
    return result


def run_child(*args) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--child", *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--village", default="青山社区", help="the village of the one-village export")
    parser.add_argument(
        "--trace", action="store_true", help="also build the whole town under tracemalloc (several times slower)"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--town", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        figures = build_child(None if args.town else args.village, args.trace)
        print(json.dumps(figures, ensure_ascii=False))
        return

    _setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from campaign import demo
    from residents.models import Resident

    if connection.vendor != "postgresql":
        print(f"warning: running on {connection.vendor}; the figures to quote are PostgreSQL's (set DATABASE_URL)")
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    today = timezone.localdate()
    campaign = demo.load_campaign(today=today)
    demo.load_users(campaign=campaign)
    loaded = demo.load_residents(campaign=campaign, count=args.residents, today=today)
    total = Resident.objects.filter(campaign=campaign).count()
    print(
        f"database: {connection.vendor} {connection.settings_dict['NAME']}; residents: {total:,} "
        f"({loaded.residents_created:,} added in {time.perf_counter() - started:.0f} s)"
    )
    runs = [("one village", ["--village", args.village]), ("whole town", ["--town"])]
    if args.trace:
        runs.append(("whole town, tracemalloc", ["--town", "--trace"]))
    print(f"load average before the builds: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    for label, extra in runs:
        figures = run_child(*extra)
        if figures["status"] != "done":
            raise SystemExit(f"{label}: export {figures['status']}: {figures['error']}")
        line = (
            f"{label:<24} {figures['rows']:>7,} rows in {figures['seconds']:>6.2f} s = "
            f"{figures['rows_per_second']:>6,} rows/s ({figures['cpu_seconds']:.1f} s of this process's CPU), "
            f"file {figures['file_mb']} MB, "
            f"peak RSS {figures['peak_rss_mb_before']} -> {figures['peak_rss_mb_after']} MB"
        )
        if figures["traced_peak_mb"] is not None:
            line += f", Python allocations peak {figures['traced_peak_mb']} MB (time slowed by tracemalloc)"
        print(line)


if __name__ == "__main__":
    main()
