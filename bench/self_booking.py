"""Benchmark: the moment a week's places open to self-booking, against the production server.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/v_pbook_bench REDIS_URL=redis://127.0.0.1:18170/1 \
        flock /tmp/bench.lock .venv/bin/python bench/self_booking.py [--phones 2000] [--members 3] \
        [--clients 200] [--bots 5] [--port 18171]

Needs PostgreSQL and Redis (sessions, the display cache and the rate limits live in Redis as in
production). Use a database of its own: the bench makes its campaign the current one (the public
pages book in the current campaign) and leaves it so.

Set-up: a campaign with 2 sites and 10 villages; published weekly plans giving each village 200
places on each of 5 days, half of them open to self-booking (the office's share, 50%): 5,000
self-booking places. One site-day has less capacity than its villages' self-booking places (300
for 500), so the site's own limit is hit too. --phones phones, each managing --members residents of
one village (3 x 2,000 = 6,000 people for the 5,000 places; the family links written directly), each
with its own device cookie and its own address (X-Forwarded-For: the server runs with BEHIND_PROXY=1,
as behind nginx, so the per-address limits are the shipped ones).

Then gunicorn is started with gunicorn.conf.py (as `make serve` does; DEBUG off, persistent
connections) on --port, serving the project plus a bare view that inserts one row, and:
  0. sign-in: every phone (the bots too), --clients at a time, opens the start page, takes --think
     seconds to type, posts name, document and phone, reads its SMS code from the outbox (the newest
     appointments.messaging Message of kind "code" for that phone, read from the database), opens the
     code page, posts the code and follows the redirect to its family page: one code per phone;
  1. bare: the client threads POST /bench/bare/ for --bare-seconds (the anchor);
  2. the release: --clients threads take the phones from a queue, all released at once; for each
     of its people a phone opens the person's page, picks one of the open days shown and books it
     (POST: the answer is the page with the slip); a day refused as full (a redirect to the page)
     is replaced by another open day (at most 3 tries); a busy answer is tried again.
     Meanwhile --bots phones hammer the booking POST without pause (each with one person, already
     booked after its first try), and one bot on one address asks for codes for made-up phones
     without pause: the rate limits and the captcha should refuse them;
  3. bare again, so a drift of the machine shows.
Prints bookings a second (people booked / the release's wall time) and the share of the bare
view's requests a second, latency percentiles of the real phones' requests (and of the booking
POSTs alone), status counts (5xx, 429, busy), the bots' requests refused, and the checks: no
village's self-booking share exceeded (and each counter equal to its open self-bookings), no
site-day over capacity (and each counter equal to its appointments), no person booked twice,
every booking made for a person of the phone's family. Loopback only; bounded in phones and time.
"""

import argparse
import collections
import datetime
import http.client
import os
import queue
import random
import re
import secrets
import socket
import subprocess
import sys
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

BARE_TABLE = "bench_self_booking_bare"
VILLAGES, DAYS, PLACES, SHARE = 10, 5, 200, 50


@login_not_required
def bare_insert(request):
    """The anchor: a Django view that inserts one row, through the same middleware (CSRF check included)."""
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {BARE_TABLE} (at) VALUES (now())")  # noqa: S608 - a constant
    return HttpResponse("ok")


urlpatterns = [path("bench/bare/", bare_insert), path("", include("campaign.urls"))]


def _server_app():
    """What gunicorn serves: the project's WSGI application with the bare view's URL added."""
    from django.conf import settings

    settings.ROOT_URLCONF = "bench.self_booking"
    from campaign.wsgi import application

    return application


# Set-up ----------------------------------------------------------------------


def setup(phones: int, members: int, bots: int):
    from django.contrib.auth.models import User
    from django.utils import timezone

    from appointments.models import PlanAllocation, WeeklyPlan
    from appointments.public.booking import self_days_forget
    from appointments.public.models import FamilyMember, PhoneAccount, SelfBookingRules
    from campaign.lib.idnumber import make_id_number
    from campaign.lib.pinyin import name_initials
    from campaign.models import Campaign, Village
    from residents.models import Resident
    from sites.capacity import site_days_ensure
    from sites.models import Site, SiteDay

    today = timezone.localdate()
    stamp = f"{time.time():.0f}"
    Campaign.objects.filter(is_open=True).update(is_open=False)
    campaign = Campaign.objects.create(
        name=f"自助预约压测-{stamp}",
        vaccine="压测疫苗",
        min_age=18,
        max_age=59,
        doses=2,
        dose_intervals=[14],
        start_date=today - datetime.timedelta(days=1),
        end_date=today + datetime.timedelta(days=60),
        first_dose_deadline=today + datetime.timedelta(days=40),
        target_people=phones * members,
        daily_floor_per_site=0,
        is_open=True,
    )
    SelfBookingRules.objects.create(campaign=campaign, share_percent=SHARE, open_days_before=28)
    sites = [
        Site.objects.create(
            campaign=campaign, name=f"压测接种点{n}-{stamp}", short_name=f"压测{n}", address="-", daily_capacity=600
        )
        for n in range(2)
    ]
    villages = [
        Village.objects.create(
            campaign=campaign,
            name=f"压测村{n}-{stamp}",
            kind="village",
            population=10000,
            quota=10000,
            site=sites[n % 2],
        )
        for n in range(VILLAGES)
    ]
    site_days_ensure(campaign=campaign)
    days = [today + datetime.timedelta(days=1 + n) for n in range(DAYS)]
    # The site's own limit binds on one day: 300 places where its villages have 500 self-booking places.
    SiteDay.objects.filter(site=sites[0], date=days[2]).update(capacity=300)
    office, _created = User.objects.get_or_create(username=f"bench_office_{stamp}")
    plans = {}
    for day in days:
        monday = day - datetime.timedelta(days=day.weekday())
        if monday not in plans:
            plans[monday] = WeeklyPlan.objects.create(
                campaign=campaign,
                week_start=monday,
                status="published",
                published_at=timezone.now(),
                created_by=office,
                published_by=office,
            )
    PlanAllocation.objects.bulk_create(
        PlanAllocation(
            plan=plans[day - datetime.timedelta(days=day.weekday())],
            site=village.site,
            village=village,
            date=day,
            places=PLACES,
        )
        for village in villages
        for day in days
    )
    self_days_forget(villages=villages)

    total = (phones + bots) * members
    residents = []
    for i in range(phones * members + bots):
        birth = datetime.date(1970, 1, 1) + datetime.timedelta(days=i // 400)
        number = make_id_number("341524", birth, i % 400 * 2 + 1)
        residents.append(
            Resident(
                campaign=campaign,
                village=villages[(i // members) % VILLAGES] if i < phones * members else villages[0],
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
    accounts = PhoneAccount.objects.bulk_create(
        PhoneAccount(phone=f"13{int(stamp) % 100:02d}{n:07d}") for n in range(phones + bots)
    )
    links = []
    for n, account in enumerate(accounts):
        people = (
            residents[n * members : (n + 1) * members] if n < phones else [residents[phones * members + n - phones]]
        )
        links += [
            FamilyMember(account=account, resident=person, relation="self" if k == 0 else "other")
            for k, person in enumerate(people)
        ]
    links = FamilyMember.objects.bulk_create(links, batch_size=2000)
    by_account = collections.defaultdict(list)
    for link in links:
        by_account[link.account_id].append(link.pk)

    clients = []
    firsts = {link.account_id: link.resident_id for link in links if link.relation == "self"}
    by_pk = {person.pk: person for person in residents}
    for n, account in enumerate(accounts):
        person = by_pk[firsts[account.pk]]
        csrf = secrets.token_hex(16)  # 32 characters: Django accepts it unmasked, cookie and header alike
        device = secrets.token_urlsafe(24)  # each phone its own device cookie (limits.DEVICE_COOKIE)
        clients.append(
            {
                "account": account.pk,
                "phone": account.phone,
                "name": person.name,
                "id_number": person.id_number,
                "members": by_account[account.pk],
                "cookies": {"csrftoken": csrf, "bk_device": device},
                "csrf": csrf,
                # Each phone its own address, as the reverse proxy appends it (BEHIND_PROXY=1).
                "address": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}",
            }
        )

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {BARE_TABLE}")
        cursor.execute(f"CREATE TABLE {BARE_TABLE} (id bigserial PRIMARY KEY, at timestamptz NOT NULL)")
        cursor.execute("ANALYZE")
    print(
        f"set up: {len(villages)} villages, {len(sites)} sites, {DAYS} days, "
        f"{VILLAGES * DAYS * PLACES * SHARE // 100} self-booking places, {phones} phones x {members} people"
        f" + {bots} bots ({total} residents)",
        flush=True,
    )
    return campaign, clients[:phones], clients[phones:]


# Clients ---------------------------------------------------------------------


class Client:
    """One phone's browser: a keep-alive connection and its cookies."""

    def __init__(self, port, phone):
        self.port = port
        self.connection = None
        self.cookies = phone["cookies"]  # shared with the phone: its session outlives this connection
        self.headers = {
            "X-CSRFToken": phone["csrf"],
            "X-Forwarded-For": phone["address"],
            "Content-Type": "application/x-www-form-urlencoded",
        }

    def _connect(self):
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        self.connection.connect()
        self.connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def request(self, method, url, data=None):
        """(status, body, seconds); a dropped keep-alive connection is opened again once."""
        for attempt in range(2):
            if self.connection is None:
                self._connect()
            started = time.perf_counter()
            try:
                headers = dict(self.headers, Cookie="; ".join(f"{k}={v}" for k, v in self.cookies.items()))
                self.connection.request(method, url, body=urlencode(data) if data else None, headers=headers)
                response = self.connection.getresponse()
                body = response.read()
                for header in response.headers.get_all("Set-Cookie") or []:
                    name, _sep, rest = header.partition("=")
                    self.cookies[name.strip()] = rest.split(";", 1)[0]
            except (http.client.HTTPException, OSError):
                self.connection.close()
                self.connection = None
                if attempt:
                    raise
                continue
            if response.getheader("Connection", "").lower() == "close":
                self.connection.close()
                self.connection = None
            return response.status, body.decode("utf-8", "replace"), time.perf_counter() - started
        raise RuntimeError("unreachable")


BOOK_DAY = re.compile(r'action="/book/p/\d+/book/">.*?name="day" value="(\d{4}-\d\d-\d\d)"', re.S)


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency = collections.defaultdict(list)
        self.status = collections.Counter()
        self.outcomes = collections.Counter()
        self.last_booking = 0.0

    def add(self, kind, status, seconds):
        with self.lock:
            self.latency[kind].append(seconds)
            self.status[status] += 1

    def outcome(self, name):
        with self.lock:
            self.outcomes[name] += 1
            if name == "booked":
                self.last_booking = time.perf_counter()


SHOWN = re.compile(r'name="shown" value="([^"]+)"')


class Outbox:
    """The SMS a phone receives: the newest message of kind "code" for it in the outbox, read from the
    database (one connection of the bench's own, shared under a lock)."""

    def __init__(self):
        import psycopg2
        from django.conf import settings

        from appointments.messaging.models import Message

        self.table = Message._meta.db_table
        self.lock = threading.Lock()
        db = settings.DATABASES["default"]
        self.db = psycopg2.connect(
            dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"], host=db["HOST"], port=db["PORT"] or 5432
        )
        self.db.autocommit = True

    def code(self, phone):
        with self.lock, self.db.cursor() as cursor:
            cursor.execute(
                f"SELECT params->>'code' FROM {self.table} WHERE phone = %s AND kind = 'code' ORDER BY id DESC LIMIT 1",  # noqa: S608
                [phone],
            )
            row = cursor.fetchone()
        return row[0] if row else None


def phone_signs_in(port, phone, stats, outbox, think):
    """The start page, name/document/phone posted after `think` seconds of typing, the SMS code read
    from the outbox and posted, then the family page the redirect leads to. True when signed in."""
    client = Client(port, phone)
    status, html, seconds = client.request("GET", "/book/")
    stats.add("sign-in", status, seconds)
    shown = SHOWN.search(html)
    typed_at = time.perf_counter() + think
    time.sleep(max(0.0, typed_at - time.perf_counter()))
    form = {
        "name": phone["name"],
        "document_type": "id_card",
        "id_number": phone["id_number"],
        "phone": phone["phone"],
        "shown": shown.group(1) if shown else "",
    }
    status, html, seconds = client.request("POST", "/book/", form)
    stats.add("sign-in", status, seconds)
    if status != 302:
        stats.outcome(f"start answered {status}" + (" (captcha)" if "captcha" in html else ""))
        return False
    code = outbox.code(phone["phone"])
    status, html, seconds = client.request("GET", "/book/code/")
    stats.add("sign-in", status, seconds)
    status, html, seconds = client.request("POST", "/book/code/", {"code": code or ""})
    stats.add("sign-in", status, seconds)
    if status != 302:
        stats.outcome(f"code answered {status}")
        return False
    status, html, seconds = client.request("GET", "/book/me/")
    stats.add("sign-in", status, seconds)
    stats.outcome("signed in")
    return status == 200


def phone_books(port, phone, stats):
    client = Client(port, phone)
    for member in phone["members"]:
        page_url = f"/book/p/{member}/"
        status, html, seconds = client.request("GET", page_url)
        stats.add("page", status, seconds)
        tries = 0
        while True:
            days = BOOK_DAY.findall(html)
            if not days:
                stats.outcome("no day open" if tries == 0 else "refused: no day left")
                break
            status, html, seconds = client.request("POST", f"/book/p/{member}/book/", {"day": random.choice(days)})
            stats.add("book", status, seconds)
            if status == 200 and 'data-testid="busy"' in html:
                stats.outcome("busy (tried again)")
                time.sleep(random.uniform(0.2, 1.0))  # as a person taps again after a moment
                continue
            if status == 302:  # refused (the day full, say): the page says why
                status, html, seconds = client.request("GET", page_url)
                stats.add("page", status, seconds)
            elif status != 200:
                stats.outcome(f"book answered {status}")
                break
            if 'data-testid="slip"' in html:
                stats.outcome("booked")
                break
            tries += 1
            if tries == 3:
                stats.outcome("refused 3 times")
                break


def bot_hammers(port, phone, stats, stop):
    client = Client(port, phone)
    member = phone["members"][0]
    day = None
    while not stop.is_set():
        if day is None:
            status, html, _seconds = client.request("GET", f"/book/p/{member}/")
            days = BOOK_DAY.findall(html)
            day = days[0] if days else (datetime.date.today() + datetime.timedelta(days=1)).isoformat()
        status, _html, seconds = client.request("POST", f"/book/p/{member}/book/", {"day": day})
        with stats.lock:
            stats.status[f"bot {status}"] += 1
            stats.latency["bot"].append(seconds)


def bot_asks_codes(stats, port, stop):
    """A bot on one address asking for codes for one made-up phone after another, without pause."""
    phone = {
        "cookies": {"csrftoken": "b" * 32, "bk_device": secrets.token_urlsafe(24)},
        "csrf": "b" * 32,
        "address": "10.255.255.1",
    }
    client = Client(port, phone)
    while not stop.is_set():
        form = {"name": "压测", "document_type": "id_card", "id_number": "110101199003077777"}
        form["phone"] = f"137{random.randrange(10**8):08d}"
        status, _html, seconds = client.request("POST", "/book/", form)
        with stats.lock:
            stats.status[f"code bot {'sent' if status == 302 else 'refused'}"] += 1


def sign_in(port, phones, threads, think):
    """Every phone (the bots too) signs in through the start page and its SMS code, --clients at a time."""
    stats, outbox, work = Stats(), Outbox(), queue.Queue()
    for phone in phones:
        work.put(phone)

    def run():
        while True:
            try:
                phone = work.get_nowait()
            except queue.Empty:
                return
            try:
                phone["signed_in"] = phone_signs_in(port, phone, stats, outbox, think)
            except Exception as error:  # noqa: BLE001 - counted, the run goes on
                stats.outcome(f"client error {type(error).__name__}")

    started = time.perf_counter()
    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return stats, time.perf_counter() - started


def bare(port, phones, threads, seconds):
    count, stop = [0], time.perf_counter() + seconds
    lock = threading.Lock()
    latencies = []

    def run(phone):
        client = Client(port, phone)
        while time.perf_counter() < stop:
            status, _body, took = client.request("POST", "/bench/bare/", {"x": "1"})
            assert status == 200, status
            with lock:
                count[0] += 1
                latencies.append(took)

    started = time.perf_counter()
    workers = [threading.Thread(target=run, args=(phones[n],)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return count[0] / (time.perf_counter() - started), percentiles(latencies)


def percentiles(values):
    values = sorted(values)
    if not values:
        return {}
    return {p: values[min(len(values) - 1, int(len(values) * p / 100))] * 1000 for p in (50, 95, 99)}


def release(port, phones, bots, threads):
    stats = Stats()
    work = queue.Queue()
    for phone in phones:
        work.put(phone)
    barrier = threading.Barrier(threads + 1)

    def run():
        barrier.wait()
        while True:
            try:
                phone = work.get_nowait()
            except queue.Empty:
                return
            try:
                phone_books(port, phone, stats)
            except Exception as error:  # noqa: BLE001 - counted, the run goes on
                stats.outcome(f"client error {type(error).__name__}")

    stop = threading.Event()
    bot_threads = [threading.Thread(target=bot_hammers, args=(port, bot, stats, stop)) for bot in bots]
    bot_threads += [threading.Thread(target=bot_asks_codes, args=(stats, port, stop)) for _ in bots[:1]]
    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for bot in bot_threads:
        bot.start()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - started
    stop.set()
    for bot in bot_threads:
        bot.join()
    booking_wall = (stats.last_booking - started) if stats.last_booking else wall
    return stats, wall, booking_wall


# Checks ----------------------------------------------------------------------


def checks(campaign):
    from django.db.models import Count, F

    from appointments.models import Appointment, PlanAllocation
    from appointments.public.models import FamilyMember
    from sites.models import SiteDay

    found = {}
    over_share = wrong_share = 0
    for allocation in PlanAllocation.objects.filter(plan__campaign=campaign):
        share = allocation.places * SHARE // 100
        held = Appointment.objects.filter(self_place=allocation, status__in=["booked", "arrived"]).count()
        over_share += allocation.self_booked > share
        wrong_share += allocation.self_booked != held
    found["village shares exceeded"] = over_share
    found["share counters not equal to their bookings"] = wrong_share
    site_days = SiteDay.objects.filter(site__campaign=campaign)
    found["site-days over capacity"] = site_days.filter(booked__gt=F("capacity")).count()
    rows = (
        Appointment.objects.filter(site__campaign=campaign)
        .exclude(status="cancelled")
        .values("site_id", "date")
        .annotate(n=Count("id"))
    )
    counts = {(row["site_id"], row["date"]): row["n"] for row in rows}
    found["site-day counters not equal to their appointments"] = sum(
        day.booked != counts.get((day.site_id, day.date), 0) for day in site_days
    )
    found["people booked twice (dose 1)"] = (
        Appointment.objects.filter(site__campaign=campaign, dose_number=1, status__in=["booked", "arrived"])
        .values("resident_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    managed = set(FamilyMember.objects.filter(resident__campaign=campaign).values_list("resident_id", flat=True))
    booked = set(
        Appointment.objects.filter(site__campaign=campaign, channel="self").values_list("resident_id", flat=True)
    )
    found["self-bookings for people of no phone's family"] = len(booked - managed)
    found["dose 1 without its dose 2"] = (
        Appointment.objects.filter(site__campaign=campaign, dose_number=1, status="booked").count()
        - Appointment.objects.filter(site__campaign=campaign, dose_number=2, status="booked").count()
    )
    people = Appointment.objects.filter(site__campaign=campaign, dose_number=1, status="booked").count()
    return found, people


# Main ------------------------------------------------------------------------


def start_server(port):
    env = dict(os.environ)
    env.update(
        {
            "DEBUG": "0",
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_ACCESS_LOG": "/dev/null",
            # Behind nginx as in production: each phone's address comes in X-Forwarded-For.
            "BEHIND_PROXY": "1",
            "PYTHONPATH": str(ROOT),
        }
    )
    log = open(Path("/tmp") / f"bench_self_booking_{port}.log", "w")  # noqa: SIM115 - closed with the server
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "-c",
            str(ROOT / "gunicorn.conf.py"),
            "bench.self_booking:_server_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            connection_ = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection_.request("GET", "/book/")
            connection_.getresponse().read()
            return server, log
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise SystemExit("gunicorn did not start; see the log in /tmp")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phones", type=int, default=2000)
    parser.add_argument("--members", type=int, default=3)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--bots", type=int, default=5)
    parser.add_argument("--bare-seconds", type=float, default=8)
    parser.add_argument("--port", type=int, default=18171)
    parser.add_argument("--think", type=float, default=3.5, help="seconds a person takes to fill the start page")
    args = parser.parse_args()
    if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
        raise SystemExit("set DATABASE_URL to PostgreSQL and REDIS_URL to Redis")

    setup_started = time.perf_counter()
    campaign, phones, bots = setup(args.phones, args.members, args.bots)
    print(f"set-up took {time.perf_counter() - setup_started:.0f} s", flush=True)
    connection.close()
    server, log = start_server(args.port)
    try:
        from django.conf import settings

        print(
            f"server: gunicorn -c gunicorn.conf.py, workers {os.environ.get('WEB_CONCURRENCY', 'default')},"
            f" threads {os.environ.get('GUNICORN_THREADS', '4')}; lock timeout {settings.PUBLIC_LOCK_TIMEOUT_MS} ms,"
            f" display cache {settings.PUBLIC_DAYS_CACHE_SECONDS} s",
            flush=True,
        )
        signed, sign_wall = sign_in(args.port, phones + bots, args.clients, args.think)
        p = percentiles(signed.latency["sign-in"])
        print(
            f"sign-in: {signed.outcomes['signed in']} of {len(phones) + len(bots)} phones in {sign_wall:.0f} s"
            f" ({dict(signed.outcomes)}); statuses {dict(signed.status)};"
            f" latency p50 {p[50]:.0f} ms, p95 {p[95]:.0f} ms, p99 {p[99]:.0f} ms",
            flush=True,
        )
        load_before = os.getloadavg()[0]
        bare_before, bare_lat_before = bare(args.port, phones, min(args.clients, 50), args.bare_seconds)
        print(f"bare view: {bare_before:.0f} requests/s (load average before {load_before:.1f})", flush=True)
        stats, wall, booking_wall = release(args.port, phones, bots, args.clients)
        bare_after, _lat = bare(args.port, phones, min(args.clients, 50), args.bare_seconds)
    finally:
        server.terminate()
        server.wait(30)
        log.close()

    found, people = checks(campaign)
    bookings_per_second = stats.outcomes["booked"] / booking_wall
    real = stats.latency["page"] + stats.latency["book"]
    print(f"bare view again: {bare_after:.0f} requests/s")
    print(f"release: {len(phones)} phones, {args.clients} client threads, {wall:.1f} s wall")
    print(
        f"people booked: {stats.outcomes['booked']} (in the database: {people}) in {booking_wall:.1f} s = "
        f"{bookings_per_second:.0f} bookings/s = {100 * bookings_per_second / bare_before:.0f}% of the bare view"
    )
    print(f"outcomes: {dict(stats.outcomes)}")
    print(f"statuses: {dict(sorted(stats.status.items(), key=str))}")
    for name, values in (("all real requests", real), ("booking POSTs", stats.latency["book"])):
        p = percentiles(values)
        print(f"latency of {name} ({len(values)}): p50 {p[50]:.0f} ms, p95 {p[95]:.0f} ms, p99 {p[99]:.0f} ms")
    print(f"latency of the bare view: p50 {bare_lat_before[50]:.0f} ms, p95 {bare_lat_before[95]:.0f} ms")
    bot_total = sum(n for status, n in stats.status.items() if str(status).startswith("bot"))
    print(f"bots: {bot_total} booking requests, {stats.status['bot 429']} refused by the rate limits (429)")
    asked = stats.status["code bot sent"] + stats.status["code bot refused"]
    print(f"code bot (one address): {asked} code requests, {stats.status['code bot refused']} refused")
    errors = sum(n for status, n in stats.status.items() if str(status)[-3:].startswith("5"))
    errors += sum(n for status, n in signed.status.items() if str(status).startswith("5"))
    print(f"5xx answers: {errors}")
    for name, value in found.items():
        print(f"check: {name}: {value}")
    if any(found.values()) or errors:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
