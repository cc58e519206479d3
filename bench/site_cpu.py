"""Benchmark: Python CPU per workstation request, in-process, beside the bare one-insert view.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vaccination_bench REDIS_URL=redis://127.0.0.1:6379/5 \
        .venv/bin/python bench/site_cpu.py [--people 300] [--profile scan|screening|shot|bare]

The HTTP bench (site_throughput.py) runs one threaded server process, so its throughput follows
the Python CPU each request costs (the GIL serialises the threads). This script measures that
cost directly with Django's test client on the same URLs, middleware, session engine and cache:
the bare view, then each step for every person in turn (scan, pre-screening, shot) as a queue
moves, then the bare view again. It prints the median CPU milliseconds of each step and the
workstation's expected share of the bare view (3 bare requests' CPU over one person's three steps).
With --profile STEP it prints the top functions of that step by cumulative time.
"""

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from bench import site_throughput as http_bench  # noqa: E402  (sets Django up)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--profile", choices=["bare", "scan", "screening", "shot"])
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run on PostgreSQL: set DATABASE_URL.")

    from django.contrib.auth.models import User
    from django.test import Client as TestClient
    from django.test.utils import override_settings

    from sites.models import Vaccination

    print(f"setting up {args.people} people…")
    campaign, site, firsts, _cookies = http_bench.setup(args.people + 20, 1)
    client = TestClient(HTTP_HOST="127.0.0.1", HTTP_HX_REQUEST="true")
    client.force_login(User.objects.filter(profile__site=site).first())
    times = {"bare": [], "scan": [], "screening": [], "shot": []}
    profiler = cProfile.Profile(time.process_time) if args.profile else None  # CPU, not waiting

    def timed(name, url, data, expect):
        if profiler and name == args.profile:
            profiler.enable()
        started = time.process_time()
        response = client.post(url, data)
        spent = time.process_time() - started
        if profiler and name == args.profile:
            profiler.disable()
        if response.status_code != 200 or expect not in response.content:
            raise SystemExit(f"{name}: HTTP {response.status_code} {response.content[:300]!r}")
        times[name].append(spent * 1000)

    with override_settings(ROOT_URLCONF="bench.site_throughput", MIDDLEWARE=settings.MIDDLEWARE, DEBUG=False):
        client.get("/appointments/site/")
        people = firsts[: args.people + 10]
        # Each step for everyone in turn, as a queue moves (a bare phase before and after): a step
        # then pays for its own garbage collection, not for the one its neighbour left behind.
        phases = [
            ("bare", lambda pk, token: ("/bench/bare/", {}, b"ok")),
            ("scan", lambda pk, token: ("/appointments/site/scan/", {"q": token}, b'data-step="screen"')),
            (
                "screening",
                lambda pk, token: (
                    f"/appointments/site/arrival/{pk}/screen/",
                    {"temperature": "36.5", "consent": "on"},
                    b'data-step="shot"',
                ),
            ),
            (
                "shot",
                lambda pk, token: (
                    f"/appointments/site/arrival/{pk}/vaccinate/",
                    {"lot_number": "BENCH01", "injection_site": "left_arm"},
                    b'data-step="done"',
                ),
            ),
            ("bare", lambda pk, token: ("/bench/bare/", {}, b"ok")),
        ]
        warmed = set()
        for name, request in phases:
            for pk, token in people:
                timed(name, *request(pk, token))
            if name not in warmed:  # the first ten warmed up imports, templates, connections
                del times[name][:10]
                warmed.add(name)

    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        mean = statistics.mean(times[name])
        print(f"{name:10} {value:6.2f} ms CPU (median of {len(times[name])}; mean {mean:.2f})")
    person = medians["scan"] + medians["screening"] + medians["shot"]
    share = 3 * medians["bare"] / person
    print(f"one person's three steps: {person:.2f} ms; expected share of the bare view: {share:.0%}")
    given = Vaccination.objects.filter(site=site).count()
    print(f"doses recorded: {given} for {len(times['shot'])} people measured and 10 warm-up")
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
        stats.print_stats(45)
        stats.print_callees("sites/views.py.*\\((scan|screen|vaccinate)\\)")
        print(out.getvalue())


if __name__ == "__main__":
    main()
