"""Time the residents roster export against the Excel writers alone, in one run (run on demand, not a test).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vaccination_export \\
        flock /tmp/bench.lock .venv/bin/python bench/export_roster.py [--residents 100000] [--repeat 2]

Migrates and loads the Meishan demo with --residents residents into an empty database (a database
loaded by an earlier run is reused as it is: loading 100,000 takes a while), then, each in a fresh
child process:

1. the writers alone: the whole town's roster cells are read and prepared first, in memory (the
   cells the export writes: masked, labels in Chinese, dates), then each writer writes those same
   cells in the roster's layout, timed alone: rust_xlsxwriter (rustpy-xlsxwriter, the export's
   writer, with the export's options: formats, title, frozen header, print set-up, filter),
   XlsxWriter in constant_memory mode (one format per column, as the export's) and openpyxl in
   write-only mode (values appended as they are). rust_xlsxwriter runs --repeat times.
2. the export of one village and of the whole town, as the office asks for them, through the real
   build service (export_build, in-process: the query, the cells, the writer, the stored file);
   the whole town --repeat times. The ratio printed is the whole town's build over the fastest
   writer alone, both from this run.

Peak memory is the child's own high-water mark (VmHWM, reset when the build starts), so the one
village and the whole town compare like for like. With --trace the whole town is also built under
tracemalloc for the peak of Python allocations (several times slower: not a time to quote). The
export rows and files it makes are deleted at the end.
"""

import argparse
import contextlib
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
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


def _high_water_mb() -> float | None:
    """This process's peak resident memory since the last reset (Linux), in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def _reset_high_water() -> None:
    # A child inherits its parent's peak through fork and exec; "5" resets it to the current size.
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _timed(function) -> tuple[float, float]:
    started, cpu_started = time.perf_counter(), time.process_time()
    function()
    return round(time.perf_counter() - started, 2), round(time.process_time() - cpu_started, 2)


def build_child(village: str | None, trace: bool) -> dict:
    """Request and build one export in this process; return its figures."""
    _setup()
    from django.contrib.auth.models import User

    from campaign.models import Campaign
    from reports.models import Export
    from reports.services import export_build

    campaign = Campaign.objects.default()
    office = User.objects.get(username="office")
    params = {"village": str(campaign.villages.get(name=village).pk)} if village else {}
    # The row export_request would make, without enqueueing its build: this process builds it, timed.
    export = Export.objects.create(
        kind=Export.Kind.RESIDENTS, campaign=campaign, parameters=params, requested_by=office
    )
    _reset_high_water()
    rss_before = _high_water_mb()
    if trace:
        tracemalloc.start()
    seconds, cpu_seconds = _timed(lambda: export_build(export_id=export.pk))
    traced_peak = tracemalloc.get_traced_memory()[1] if trace else None
    rss_after = _high_water_mb()
    export.refresh_from_db()
    result = {
        "village": village or "全镇",
        "status": export.status,
        "rows": export.row_count,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "file_mb": round(export.file.size / 1e6, 1) if export.file else None,
        "peak_rss_mb_before": rss_before,
        "peak_rss_mb_after": rss_after,
        "traced_peak_mb": round(traced_peak / 1e6, 1) if trace else None,
        "error": export.error,
    }
    if export.file:
        export.file.storage.delete(export.file.name)
    export.delete()
    return result


def writers_child(repeat: int) -> dict:
    """Prepare the whole town's roster cells in memory, then time each writer alone writing them."""
    _setup()
    import xlsxwriter
    from django.contrib.auth.models import User
    from django.utils import timezone, translation
    from openpyxl import Workbook
    from rustpy_xlsxwriter import write_worksheet

    from campaign.lib.excel import DATE_FORMAT, DATETIME_FORMAT, FONT_NAME, TEXT_FORMAT
    from campaign.lib.xlsx import DATE, DATETIME, TEXT, sheet_options
    from campaign.models import Campaign
    from reports.roster import FROZEN_COLUMNS, SHEET_TITLE, roster_cells, roster_columns
    from reports.selectors import roster_rows
    from reports.services import roster_residents

    campaign = Campaign.objects.default()
    office = User.objects.get(username="office")
    residents = roster_residents(user=office, campaign=campaign, parameters={})
    columns = roster_columns(doses=campaign.doses, age_unit=campaign.age_unit, full_values=False)
    headers = [column.header for column in columns]
    title, note = f"{campaign.name} · 全镇居民花名册", "筛选条件：全部村（社区）"
    with translation.override("zh-hans"):
        rows = roster_cells(
            roster_rows(residents=residents, doses=campaign.doses),
            doses=campaign.doses,
            full_values=False,
            age_unit="years",
            today=timezone.localdate(),
        )
        cells = [list(row) for row in rows]
    records = [dict(zip(headers, row, strict=True)) for row in cells]
    options = sheet_options(
        sheet_name=SHEET_TITLE, columns=columns, title=title, note=note, freeze_columns=FROZEN_COLUMNS, landscape=True
    )
    results = {"rows": len(cells), "rust_xlsxwriter": []}
    folder = tempfile.mkdtemp(prefix="bench-writers-")

    def rust():
        write_worksheet(records, os.path.join(folder, "rust.xlsx"), **options)

    def xlsx_writer():
        workbook = xlsxwriter.Workbook(
            os.path.join(folder, "xlsxwriter.xlsx"),
            {"constant_memory": True, "remove_timezone": True, "default_format_properties": {"font_name": FONT_NAME}},
        )
        ws = workbook.add_worksheet(SHEET_TITLE)
        number_formats = {TEXT: TEXT_FORMAT, DATE: DATE_FORMAT, DATETIME: DATETIME_FORMAT}
        formats = [
            workbook.add_format({"num_format": number_formats[c.kind]}) if c.kind in number_formats else None
            for c in columns
        ]
        ws.merge_range(0, 0, 0, len(columns) - 1, title)
        ws.merge_range(1, 0, 1, len(columns) - 1, note)
        ws.write_row(2, 0, headers)
        ws.freeze_panes(3, FROZEN_COLUMNS)
        write_string, write_number, write_datetime = ws.write_string, ws.write_number, ws.write_datetime
        for number, row in enumerate(cells, 3):
            for index, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, str):  # never a formula, as in the export
                    write_string(number, index, value, formats[index])
                elif isinstance(value, datetime.date):
                    write_datetime(number, index, value, formats[index])
                else:
                    write_number(number, index, value, formats[index])
        ws.autofilter(2, 0, 2 + len(cells), len(columns) - 1)
        workbook.close()

    def openpyxl():
        workbook = Workbook(write_only=True)
        ws = workbook.create_sheet(SHEET_TITLE)
        ws.append([title])
        ws.append([note])
        ws.append(headers)
        for row in naive:
            ws.append(row)
        workbook.save(os.path.join(folder, "openpyxl.xlsx"))

    for _ in range(repeat):
        results["rust_xlsxwriter"].append(_timed(rust))
    results["xlsxwriter"] = _timed(xlsx_writer)
    # openpyxl refuses datetimes with a time zone: the same wall-clock times, naive, made before timing.
    naive = [[v.replace(tzinfo=None) if getattr(v, "tzinfo", None) else v for v in row] for row in cells]
    results["openpyxl"] = _timed(openpyxl)
    results["file_mb"] = round(os.path.getsize(os.path.join(folder, "rust.xlsx")) / 1e6, 1)
    for name in os.listdir(folder):
        os.remove(os.path.join(folder, name))
    os.rmdir(folder)
    return results


def run_child(*args) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--child", *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def _load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--village", default="青山社区", help="the village of the one-village export")
    parser.add_argument("--repeat", type=int, default=2, help="whole-town builds and rust_xlsxwriter writes")
    parser.add_argument(
        "--trace", action="store_true", help="also build the whole town under tracemalloc (several times slower)"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--town", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--writers", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.writers:
            figures = writers_child(args.repeat)
        else:
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
    total = Resident.objects.filter(campaign=campaign).count()
    added = 0
    if not total:  # the demo loads into an empty campaign; a database loaded by an earlier run is reused
        added = demo.load_residents(campaign=campaign, count=args.residents, today=today).residents_created
        total = Resident.objects.filter(campaign=campaign).count()
    elif total != args.residents:
        print(f"warning: the campaign already has {total:,} residents, not {args.residents:,}: measuring those")
    print(
        f"database: {connection.vendor} {connection.settings_dict['NAME']}; residents: {total:,} "
        f"({added:,} added in {time.perf_counter() - started:.0f} s); "
        f"{os.cpu_count()} CPUs; {time.strftime('%Y-%m-%d %H:%M %Z')}"
    )

    print(f"[load {_load()}] the writers alone, the whole town's cells prepared in memory first:")
    writers = run_child("--writers", "--repeat", str(args.repeat))
    for seconds, cpu in writers["rust_xlsxwriter"]:
        print(f"  rust_xlsxwriter (rustpy-xlsxwriter)  {writers['rows']:,} rows in {seconds:6.2f} s ({cpu:.2f} s CPU)")
    for name, label in (("xlsxwriter", "XlsxWriter constant_memory"), ("openpyxl", "openpyxl write-only")):
        seconds, cpu = writers[name]
        print(f"  {label:<35} {writers['rows']:,} rows in {seconds:6.2f} s ({cpu:.2f} s CPU)")

    runs = [("one village", ["--village", args.village])] + [("whole town", ["--town"])] * args.repeat
    if args.trace:
        runs.append(("whole town, tracemalloc", ["--town", "--trace"]))
    town = []
    for label, extra in runs:
        load = _load()
        figures = run_child(*extra)
        if figures["status"] != "done":
            raise SystemExit(f"{label}: export {figures['status']}: {figures['error']}")
        line = (
            f"[load {load}] export, {label:<24} {figures['rows']:>7,} rows in {figures['seconds']:>6.2f} s "
            f"({figures['cpu_seconds']:.2f} s CPU), file {figures['file_mb']} MB, "
            f"peak RSS {figures['peak_rss_mb_before']} -> {figures['peak_rss_mb_after']} MB"
        )
        if figures["traced_peak_mb"] is not None:
            line += f", Python allocations peak {figures['traced_peak_mb']} MB (time slowed by tracemalloc)"
        else:
            town += [figures] if label == "whole town" else []
        print(line)

    fastest = min(writers["rust_xlsxwriter"])
    build_wall = statistics.median(f["seconds"] for f in town)
    build_cpu = statistics.median(f["cpu_seconds"] for f in town)
    print(
        f"whole-town export (median of {len(town)}) over the fastest writer alone (rust_xlsxwriter, best of "
        f"{len(writers['rust_xlsxwriter'])}): {build_wall:.2f} / {fastest[0]:.2f} s = {build_wall / fastest[0]:.2f}x "
        f"wall clock, {build_cpu:.2f} / {fastest[1]:.2f} s = {build_cpu / fastest[1]:.2f}x CPU; "
        f"against XlsxWriter alone {build_wall / writers['xlsxwriter'][0]:.2f}x, "
        f"against openpyxl alone {build_wall / writers['openpyxl'][0]:.2f}x"
    )


if __name__ == "__main__":
    main()
