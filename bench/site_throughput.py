"""Benchmark: the site workstation over HTTP on PostgreSQL, beside a bare one-insert Django view.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vaccination_bench REDIS_URL=redis://127.0.0.1:6379/5 \
        .venv/bin/python bench/site_throughput.py [--clients 16] [--seconds 20] [--people 6000]

With REDIS_URL set, sessions and cached roles live in Redis as in production (both the bare
view and the workstation read the session from it); without it, in the server's own memory.

Creates its own campaign (not current), one site, one village, residents booked for
dose 1 today, and one site-team user per client. Starts a threaded WSGI server (the
one `manage.py runserver` uses, without the reloader, DEBUG off, persistent database
connections as in production) on 127.0.0.1 in a child process, serving the project's
URLs plus a bare view that inserts one row. Then, from this process, N client threads
with keep-alive connections, each logged in as its own site-team user:

  1. bare:  POST /bench/bare/ (one INSERT), for --seconds;
  2. site:  for each person, the three workstation requests an htmx page sends:
            scan the slip (check-in, 登记) → pre-screening (预检) → the shot (接种),
            until the people run out or --seconds pass;
  3. with --floor, a reference step: one locked read and one audited write through the ORM
     and a small template, the least a workstation step does (no rule checked);
  4. bare again, so a drift of the machine shows.

Prints requests a second for both and people a second for the site, the latency of each
step (median and 95th percentile, client side, with all the clients busy), and checks that
every person got exactly one dose and that the site-day counter is unchanged.
Loopback only; bounded in time and in people.
"""

import argparse
import collections
import datetime
import http.client
import os
import queue
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campaign.settings")
# A bench is no server: a key of its own (with DEBUG=0 the settings refuse the development key).
os.environ.setdefault("SECRET_KEY", "bench-only-key-never-used-to-sign-anything-on-a-server")

import django  # noqa: E402

django.setup()

from django.contrib.auth.decorators import login_not_required  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.urls import include, path  # noqa: E402

BARE_TABLE = "bench_site_bare_insert"


@login_not_required
def bare_insert(request):
    """The baseline: a Django view that inserts one row, through the same middleware (CSRF check included)."""
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {BARE_TABLE} (at) VALUES (now())")
    return HttpResponse("ok")


def floor(request, pk):
    """A reference, not a workstation page: the least one workstation step does with the ORM.

    It finds an appointment at the user's site, locks it, changes it with its history row
    and draws the person's card: one locked read and one audited write, no rule checked.
    """
    from django.db import transaction
    from django.shortcuts import render

    from appointments.models import Appointment

    with transaction.atomic():
        appointment = (
            Appointment.objects.select_for_update(of=("self",))
            .select_related("resident__village", "site__campaign")
            .get(pk=pk, site__team__user=request.user)
        )
        appointment.slot = "" if appointment.slot else "am"
        appointment._history_user = request.user
        appointment.save(update_fields=["slot"])
    card = {"resident": appointment.resident, "masked_id": "", "age": 0, "dose": appointment.dose_number}
    return render(request, "sites/workstation_card.html", {"card": card, "appointment": appointment})


# The server's URLs: the project's, plus the bare view and the reference step.
urlpatterns = [
    path("bench/bare/", bare_insert),
    path("bench/floor/<int:pk>/", floor),
    path("", include("campaign.urls")),
]


def serve(port: int) -> None:
    """The child process: what `manage.py runserver --noreload` runs, with the bare view added."""
    import logging

    from django.conf import settings
    from django.core.servers.basehttp import WSGIServer, get_internal_wsgi_application, run

    class NoDelayServer(WSGIServer):
        # wsgiref writes the headers and the body in two sends: without TCP_NODELAY, Nagle and
        # delayed ACKs add ~40 ms to every keep-alive response (production servers set it too).
        def get_request(self):
            sock, address = super().get_request()
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock, address

    logging.getLogger("django.server").setLevel(logging.WARNING)  # no line per request
    settings.ROOT_URLCONF = "bench.site_throughput"
    settings.DEBUG = False
    run("127.0.0.1", port, get_internal_wsgi_application(), threading=True, server_cls=NoDelayServer)


# Set-up ----------------------------------------------------------------------


def setup(people: int, clients: int):
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.utils import timezone

    from appointments.models import Appointment
    from appointments.services import site_days_recount
    from campaign.lib.idnumber import make_id_number
    from campaign.lib.pinyin import name_initials
    from campaign.models import Campaign, Village
    from campaign.roles import Role, ensure_role_groups
    from campaign.services import user_assign_role
    from residents.models import Resident
    from sites.models import Site

    today = timezone.localdate()
    stamp = f"{time.time():.0f}"
    campaign = Campaign.objects.create(
        name=f"现场压测-{stamp}",
        vaccine="压测疫苗",
        min_age=18,
        max_age=59,
        doses=2,
        dose_intervals=[14],
        start_date=today - datetime.timedelta(days=1),
        end_date=today + datetime.timedelta(days=60),
        first_dose_deadline=today + datetime.timedelta(days=40),
        target_people=people,
        daily_floor_per_site=600,
        is_open=False,
    )
    site = Site.objects.create(
        campaign=campaign,
        name=f"压测接种点-{stamp}",
        short_name="压测",
        address="-",
        daily_capacity=people + 100,
        current_lot="BENCH01",
    )
    village = Village.objects.create(
        campaign=campaign, name=f"压测村-{stamp}", kind="village", population=people, quota=people, site=site
    )
    residents = []
    for i in range(people):
        birth = datetime.date(1975, 1, 1) + datetime.timedelta(days=i // 400)
        number = make_id_number("341524", birth, i % 400 * 2 + 1)
        residents.append(
            Resident(
                campaign=campaign,
                village=village,
                name=f"压测{i}",
                name_initials=name_initials("压测"),
                id_number=number,
                id_number_reversed=number[::-1],
                birth_date=birth,
                sex="M",
                status="eligible",
            )
        )
    residents = Resident.objects.bulk_create(residents, batch_size=2000)
    appointments = []
    for resident in residents:
        appointments.append(Appointment(resident=resident, dose_number=1, site=site, date=today))
        appointments.append(
            Appointment(resident=resident, dose_number=2, site=site, date=today + datetime.timedelta(days=14))
        )
    Appointment.objects.bulk_create(appointments, batch_size=4000)
    site_days_recount(campaign=campaign)
    firsts = list(
        Appointment.objects.filter(site=site, dose_number=1).order_by("id").values_list("pk", "token", flat=False)
    )

    ensure_role_groups()
    cookies = []
    for n in range(clients):
        user = User.objects.create_user(username=f"bench_{stamp}_{n}", first_name=f"压测{n}")
        user_assign_role(user=user, role=Role.SITE_TEAM, site=site)
        session = import_module(settings.SESSION_ENGINE).SessionStore()  # the engine the server uses
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]  # what a login records
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        csrf = secrets.token_hex(16)  # 32 characters: Django accepts it unmasked, cookie and header alike
        cookies.append((f"sessionid={session.session_key}; csrftoken={csrf}", csrf))

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {BARE_TABLE}")
        cursor.execute(f"CREATE TABLE {BARE_TABLE} (id bigserial PRIMARY KEY, at timestamptz NOT NULL)")
        # Statistics for the rows just loaded, as autovacuum keeps them on a production server.
        cursor.execute("ANALYZE")
    return campaign, site, firsts, cookies


# Clients -----------------------------------------------------------------------


class Client:
    """One workstation: a keep-alive connection and a logged-in session."""

    def __init__(self, port, cookie, csrf):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.connection.connect()
        self.connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.headers = {
            "Cookie": cookie,
            "X-CSRFToken": csrf,
            "HX-Request": "true",
            "Content-Type": "application/x-www-form-urlencoded",
        }

    def post(self, url, data=None, expect=None, step=None):
        body = urlencode(data or {})
        started = time.perf_counter()
        self.connection.request("POST", url, body=body, headers=self.headers)
        response = self.connection.getresponse()
        content = response.read()
        if step is not None:
            LATENCIES[step].append(time.perf_counter() - started)
        if response.status != 200 or (expect and expect not in content):
            raise RuntimeError(f"{url}: HTTP {response.status} {content[:300]!r}")
        return content

    def close(self):
        self.connection.close()


# Seconds each measured request took, by step (list.append is atomic under the GIL).
LATENCIES = collections.defaultdict(list)


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# The server's process id, for the CPU each phase costs it (set once the server runs).
SERVER_PID = None
_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds():
    """CPU seconds so far of the server process, of all PostgreSQL processes, and of this (the clients') process."""

    def of(pid):
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK

    postgres = 0.0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as comm:
                    if comm.read().strip() == "postgres":
                        postgres += of(entry)
            except OSError:
                pass  # gone meanwhile
    return of(SERVER_PID) if SERVER_PID else 0.0, postgres, sum(os.times()[:2])


def run_phase(name, clients, seconds, work):
    """Run `work(client)` in a loop on every client until it returns False or time is up; count requests.

    Also prints the CPU each request cost the server, PostgreSQL and the clients (from /proc).
    """
    counts = [0] * len(clients)
    errors = []
    stop_at = time.monotonic() + seconds
    barrier = threading.Barrier(len(clients) + 1)

    def loop(index):
        barrier.wait()
        try:
            while time.monotonic() < stop_at:
                done = work(clients[index])
                if not done:
                    return
                counts[index] += done
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    barrier.wait()
    started, cpu_before = time.monotonic(), _cpu_seconds()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    spent = [after - before for after, before in zip(_cpu_seconds(), cpu_before, strict=True)]
    if not name.startswith("warm") and sum(counts):
        per = [f"{1000 * value / sum(counts):.2f}" for value in spent]
        print(f"  {name}: CPU per request (ms): server {per[0]}, PostgreSQL {per[1]}, clients {per[2]}")
    if errors:
        raise SystemExit(f"{name}: {len(errors)} client errors, first: {errors[0]}")
    return sum(counts), elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20, help="length of each phase")
    parser.add_argument(
        "--people", type=int, default=6000, help="residents booked today (the most the site phase serves)"
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also time the reference step (one locked read and one audited write with the ORM, a small template)",
    )
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.port)
        return
    if connection.vendor != "postgresql":
        sys.exit("Run on PostgreSQL: set DATABASE_URL.")

    from appointments.models import Appointment
    from sites.models import PreScreening, SiteDay, Vaccination

    print(f"setting up {args.people} people booked today and {args.clients} site-team users…")
    campaign, site, firsts, cookies = setup(args.people, args.clients)
    queries = count_queries(site, firsts[0])
    firsts = firsts[1:]
    today = Appointment.objects.get(pk=firsts[0][0]).date
    booked_before = SiteDay.objects.get(site=site, date=today).booked
    connection.close()

    port = args.port or _free_port()
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            [sys.executable, "-W", "ignore", __file__, "--serve", "--port", str(port)],
            env={**os.environ, "DEBUG": "0"},
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            _wait_for(port, server, log)
            global SERVER_PID
            SERVER_PID = server.pid
            floor_pks = [pk for pk, _token in firsts[-args.clients :]] if args.floor else []
            measured = measure(port, cookies, firsts[: len(firsts) - len(floor_pks)], args.seconds, floor_pks)
        finally:
            server.terminate()
            server.wait(timeout=10)
    (bare1, bare1_s), (site_requests, site_s), (bare2, bare2_s), warm_requests, floor_measured = measured

    bare_rates = [bare1 / bare1_s, bare2 / bare2_s]
    bare_rate = statistics.mean(bare_rates)
    site_rate = site_requests / site_s
    vaccinated = Vaccination.objects.filter(site=site).count()
    people = site_requests // 3
    duplicates = (
        Vaccination.objects.filter(site=site).values("resident").distinct().count() != vaccinated
        or PreScreening.objects.filter(appointment__site=site).count() < vaccinated
    )
    booked_after = SiteDay.objects.get(site=site, date=today).booked
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {BARE_TABLE}")

    print(
        f"PostgreSQL {connection.pg_version // 10000}, {args.clients} clients, {os.cpu_count()} CPUs, keep-alive HTTP"
    )
    print(f"bare one-insert view: {bare_rates[0]:.0f} and {bare_rates[1]:.0f} requests/s (mean {bare_rate:.0f})")
    print(
        f"site workstation:     {site_rate:.0f} requests/s = {site_rate / bare_rate:.0%} of the bare view "
        f"({site_requests} requests in {site_s:.1f} s)"
    )
    print(
        f"                      {people / site_s:.0f} people/s checked in, screened and vaccinated "
        f"({people} people; {people / site_s * 3600:.0f} an hour)"
    )
    if floor_measured:
        floor_rate = floor_measured[0] / floor_measured[1]
        print(f"reference step:       {floor_rate:.0f} requests/s = {floor_rate / bare_rate:.0%} of the bare view")
    print(f"latency with {args.clients} clients busy (ms, median / 95th percentile / max):")
    for step in ("bare", "scan", "screening", "shot"):
        values = LATENCIES[step]
        if values:
            print(
                f"  {step:10} {1000 * statistics.median(values):6.1f} / {1000 * percentile(values, 0.95):6.1f} / "
                f"{1000 * max(values):6.1f}  ({len(values)} requests)"
            )
    counted = ", ".join(f"{k} {v}" for k, v in queries.items())
    print(f"queries per request (BEGIN and COMMIT not counted): {counted}")
    print(f"one dose per person: {'yes' if not duplicates else 'NO'}; site-day places {booked_before} → {booked_after}")
    if duplicates or booked_after != booked_before or vaccinated * 3 != 3 + warm_requests + site_requests:
        sys.exit("FAILED: doses or counters are wrong")


def measure(port, cookies, firsts, seconds, floor_pks=()):
    """The phases against the server; returns (requests, seconds) for each and the warm-up's site requests.

    With `floor_pks` (one appointment per client), the reference step runs between the site and the second bare phase.
    """
    clients = [Client(port, cookie, csrf) for cookie, csrf in cookies]
    waiting = queue.Queue()
    for item in firsts:
        waiting.put(item)

    def bare(client):
        client.post("/bench/bare/", expect=b"ok", step="bare")
        return 1

    def person(client):
        try:
            pk, token = waiting.get_nowait()
        except queue.Empty:
            return 0
        client.post("/appointments/site/scan/", {"q": token}, expect=b'data-step="screen"', step="scan")
        client.post(
            f"/appointments/site/arrival/{pk}/screen/",
            {"temperature": "36.5", "consent": "on"},
            expect=b'data-step="shot"',
            step="screening",
        )
        client.post(
            f"/appointments/site/arrival/{pk}/vaccinate/",
            {"lot_number": "BENCH01", "injection_site": "left_arm"},
            expect=b'data-step="done"',
            step="shot",
        )
        return 3

    # Warm up both paths (imports, templates, connections) before measuring.
    run_phase("warm-up", clients, 2, bare)
    warm_requests, _seconds = run_phase("warm-up", clients[:2], 1, person)
    LATENCIES.clear()

    bare1, bare1_s = run_phase("bare", clients, seconds, bare)
    site_requests, site_s = run_phase("site", clients, seconds, person)
    floor_measured = None
    if floor_pks:
        own = dict(zip(clients, floor_pks, strict=True))

        def reference(client):
            client.post(f"/bench/floor/{own[client]}/", expect=b"person-head")
            return 1

        floor_measured = run_phase("floor", clients, seconds, reference)
    bare2, bare2_s = run_phase("bare", clients, seconds, bare)
    for client in clients:
        client.close()
    return (bare1, bare1_s), (site_requests, site_s), (bare2, bare2_s), warm_requests, floor_measured


def count_queries(site, first):
    """Database queries of one bare request and of one person's three requests, counted in-process."""
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.test import Client as TestClient
    from django.test.utils import CaptureQueriesContext, override_settings

    pk, token = first
    client = TestClient(HTTP_HOST="127.0.0.1", HTTP_HX_REQUEST="true")
    client.force_login(User.objects.filter(profile__site=site).first())
    steps = [
        ("bare", "/bench/bare/", {}),
        ("scan", "/appointments/site/scan/", {"q": token}),
        ("screening", f"/appointments/site/arrival/{pk}/screen/", {"temperature": "36.5", "consent": "on"}),
        (
            "shot",
            f"/appointments/site/arrival/{pk}/vaccinate/",
            {"lot_number": "BENCH01", "injection_site": "left_arm"},
        ),
    ]
    counts = {}
    with override_settings(ROOT_URLCONF=__name__, MIDDLEWARE=settings.MIDDLEWARE):
        client.get("/appointments/site/")  # the steady state: the session and the role are in the cache
        for name, url, data in steps:
            with CaptureQueriesContext(connection) as queries:
                client.post(url, data)
            # Not counted: BEGIN and COMMIT.
            counts[name] = sum(1 for q in queries.captured_queries if q["sql"] not in ("BEGIN", "COMMIT"))
    return counts


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(port, server, log, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log.seek(0)
            sys.exit(f"the server stopped: {log.read().decode()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit("the server did not start")


if __name__ == "__main__":
    main()
