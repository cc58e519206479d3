"""Benchmark: 72,000 day-before reminders queued and sent through the local Alibaba stand-in by real Celery
workers on Redis, one worker killed (SIGKILL) in the middle; then the outbox and the provider's log compared.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/v_outbox_bench REDIS_URL=redis://127.0.0.1:6379/6 \\
        flock /tmp/bench.lock .venv/bin/python bench/messages.py [--people 72000] [--port 18120]

The database named by DATABASE_URL is dropped and made again (it must be the bench's own), and the Redis
database is emptied. In order:

1. set-up: one campaign, 10 sites with a village each, --people residents each with their own phone and
   an appointment (dose 1) for tomorrow, written in bulk;
2. the anchor, measured in the same run: the provider stand-in alone, one client (the Alibaba backend in
   this process, one thread: the signed request and its answer) and then 8 threads, on a second stand-in
   process of its own;
3. the nightly job: tomorrow's reminders queued (appointments.messaging.triggers.reminders_queue when it
   is there, else the bench's own selection through messages_queue_many), with no worker running: the
   send tasks wait in Redis;
4. the re-check: --changed appointments vaccinated (their status, as the shot leaves it) and as many
   cancelled (appointment_cancel) after queueing and before sending;
5. two workers (prefork, --concurrency children each, queue "messages") start; when half the reminders are
   sent, one worker and its children are killed (SIGKILL: nothing acknowledged, rows left in flight) and a
   new one started; this process runs the sweep every 10 s (beat does it every minute; the in-flight
   timeout is 30 s here, 300 by default) until nothing is queued or in flight;
6. the outbox and the provider's log (one JSON line per message it took) compared: every person still
   booked reminded exactly once, nobody vaccinated or cancelled reminded, nothing taken twice.

Quiet hours are off for the run (it may run at night); the rate limit is the default (SMS_RATE_PER_SECOND).
"""

import argparse
import datetime
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campaign.settings")
# A bench is no server: a key of its own (with DEBUG=0 the settings refuse the development key).
os.environ.setdefault("SECRET_KEY", "bench-only-key-never-used-to-sign-anything-on-a-server")

from campaign.tests import sms_providers  # noqa: E402  (no Django in it)

KINDS = ("confirmation", "reminder", "dose_due", "missed", "plan_published", "adverse_event", "code")
IN_FLIGHT_TIMEOUT = 30
SWEEP_EVERY = 10


def configure(port: int) -> dict:
    """The settings of this process and of the workers (through the environment): the Alibaba stand-in."""
    env = {
        "SMS_BACKEND": "campaign.lib.sms.alibaba.AlibabaBackend",
        "SMS_ALIBABA_ACCESS_KEY_ID": sms_providers.ALIBABA_KEY_ID,
        "SMS_ALIBABA_ACCESS_KEY_SECRET": sms_providers.ALIBABA_SECRET,
        "SMS_ALIBABA_ENDPOINT": f"http://127.0.0.1:{port}",
        # An approved template id for each kind (the backend asks for them all).
        **{f"SMS_TEMPLATE_{kind.upper()}": f"SMS_48000000{n}" for n, kind in enumerate(KINDS)},
        "SMS_QUIET_HOURS": "",
        "SMS_IN_FLIGHT_TIMEOUT": str(IN_FLIGHT_TIMEOUT),
        # A killed worker's reserved tasks go back to the queue after this many seconds (Redis).
        "CELERY_VISIBILITY_TIMEOUT": "30",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    return env


def fresh_database(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name.startswith(("v_", "bench", "vaccination_bench")):
        sys.exit(f"refusing to drop {name!r}: give the bench a database of its own (v_..._bench)")
    args = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432), "-U", parts.username or "postgres"]
    subprocess.run(["dropdb", "--if-exists", "--force", *args, name], check=True)
    subprocess.run(["createdb", *args, name], check=True)


def provider_process(port: int, log: str | None, work: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "campaign.tests.sms_providers", "alibaba", "--port", str(port)]
    if log:
        command += ["--log", log]
    # Its errors (the connections of the killed worker, reset) go to a file of their own.
    errors = open(Path(work) / f"provider-{port}.err", "w")  # noqa: SIM115 - kept open with the process
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=errors, text=True)
    process.stdout.readline()  # "alibaba stand-in on ...": listening
    return process


def setup(people: int) -> datetime.date:
    from django.core.management import call_command
    from django.utils import timezone

    from appointments.models import Appointment
    from campaign.lib.idnumber import make_id_number
    from campaign.lib.pinyin import name_initials
    from campaign.models import Campaign, Village
    from residents.models import Resident
    from sites.models import Site

    call_command("migrate", verbosity=0)
    today = timezone.localdate()
    tomorrow = today + datetime.timedelta(days=1)
    campaign = Campaign.objects.create(
        name="短信压测",
        vaccine="压测疫苗",
        min_age=18,
        max_age=59,
        doses=2,
        dose_intervals=[14],
        start_date=today - datetime.timedelta(days=7),
        end_date=today + datetime.timedelta(days=60),
        first_dose_deadline=today + datetime.timedelta(days=40),
        target_people=people,
        daily_floor_per_site=0,
        is_open=True,
    )
    villages = []
    for n in range(10):
        site = Site.objects.create(
            campaign=campaign,
            name=f"压测接种点{n}",
            short_name=f"压测点{n}",
            address=f"梅山路{n}号",
            daily_capacity=people,
        )
        villages.append(
            Village.objects.create(
                campaign=campaign, name=f"压测村{n}", kind="village", population=people, quota=people, site=site
            )
        )
    residents = []
    for i in range(people):
        born = datetime.date(1970, 1, 1) + datetime.timedelta(days=i // 400)
        number = make_id_number("341524", born, i % 400 * 2 + 1)
        residents.append(
            Resident(
                campaign=campaign,
                village=villages[i % 10],
                name=f"压测{i}",
                name_initials=name_initials("压测"),
                id_number=number,
                id_number_reversed=number[::-1],
                birth_date=born,
                sex="M",
                status="eligible",
                phone=f"139{i:08d}",
            )
        )
    Resident.objects.bulk_create(residents, batch_size=5000)
    rows = Resident.objects.filter(campaign=campaign).values_list("pk", "village__site_id")
    Appointment.objects.bulk_create(
        [Appointment(resident_id=pk, site_id=site_id, dose_number=1, date=tomorrow) for pk, site_id in rows],
        batch_size=5000,
    )
    return tomorrow


def queue_reminders(day: datetime.date) -> tuple[int, str]:
    """Tomorrow's reminders queued as the nightly job does; returns (how many, by what)."""
    try:
        from appointments.messaging.triggers import reminders_queue
    except ImportError:
        reminders_queue = None
    if reminders_queue is not None:
        return reminders_queue(day=day), "triggers.reminders_queue"

    from appointments.messaging import kinds
    from appointments.messaging.models import Kind, Message
    from appointments.messaging.services import messages_queue_many
    from appointments.models import Appointment

    params = dict(kinds.KINDS[Kind.REMINDER].longest)
    rows = Appointment.objects.filter(date=day, status="booked").values_list(
        "pk", "resident_id", "resident__phone", "resident__campaign_id"
    )
    messages = [
        Message(
            kind=Kind.REMINDER,
            campaign_id=campaign_id,
            resident_id=resident_id,
            appointment_id=pk,
            day=day,
            phone=phone,
            params=params,
        )
        for pk, resident_id, phone, campaign_id in rows
    ]
    return messages_queue_many(messages=messages), "messages_queue_many (the bench's own selection)"


def anchor(port: int, count: int, threads: int) -> float:
    """Messages a second the provider stand-in takes from `threads` clients of the Alibaba backend."""
    from campaign.lib import sms
    from campaign.lib.sms.alibaba import AlibabaBackend

    backend = AlibabaBackend()
    backend.url = f"http://127.0.0.1:{port}/"
    per_thread = count // threads

    def client(offset):
        for i in range(per_thread):
            n = offset + i
            backend.send(
                sms.Sms(phone=f"138{n:08d}", template="reminder", params={"date": "1"}, text="", reference=f"a{n}")
            )

    workers = [threading.Thread(target=client, args=(t * per_thread,)) for t in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return per_thread * threads / (time.perf_counter() - started)


def worker_process(name: str, concurrency: int, log_dir: str) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "campaign",
        "worker",
        "-Q",
        "messages",
        "--pool=prefork",
        f"--concurrency={concurrency}",
        f"--hostname={name}@%h",
        "--loglevel=WARNING",
        "--without-heartbeat",
        "--without-mingle",
        "--without-gossip",
    ]
    log = open(Path(log_dir) / f"{name}.log", "w")  # noqa: SIM115 - the worker's own output, kept open with it
    # Its own process group: killed with its children at once.
    return subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def statuses() -> Counter:
    from django.db.models import Count

    from appointments.messaging.models import Message

    return Counter(dict(Message.objects.values_list("status").annotate(n=Count("pk")).order_by()))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=72_000)
    parser.add_argument("--changed", type=int, default=300, help="vaccinated, and as many cancelled, after queueing")
    parser.add_argument("--concurrency", type=int, default=4, help="children of each worker")
    parser.add_argument("--port", type=int, default=18120, help="the provider stand-in; the anchor's takes port+1")
    parser.add_argument("--anchor", type=int, default=8000, help="messages of the anchor (one thread, then 8)")
    parser.add_argument("--minutes", type=float, default=12, help="give up after this long")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres") or not os.environ.get("REDIS_URL"):
        sys.exit("Set DATABASE_URL (PostgreSQL, the bench's own database) and REDIS_URL.")
    configure(args.port)
    fresh_database(url)
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()

    import django

    django.setup()
    from django.db import connection

    from appointments.messaging.models import Message
    from appointments.messaging.services import messages_sweep
    from appointments.models import Appointment
    from appointments.services import appointment_cancel

    work = tempfile.mkdtemp(prefix="bench-messages-")
    provider_log = str(Path(work) / "provider.jsonl")
    provider = provider_process(args.port, provider_log, work)
    anchor_provider = provider_process(args.port + 1, None, work)
    workers = []
    try:
        started = time.perf_counter()
        day = setup(args.people)
        print(f"set-up: {args.people:,} residents booked for {day} in {time.perf_counter() - started:.0f} s")

        one = anchor(args.port + 1, args.anchor // 4, 1)
        eight = anchor(args.port + 1, args.anchor, 8)
        anchor_provider.terminate()
        print(
            f"anchor (same run): the provider stand-in alone takes {one:,.0f} messages/s from one client "
            f"(72,000 in {72_000 / one:.0f} s), {eight:,.0f}/s from 8 threads"
        )

        t0 = time.perf_counter()
        queued, how = queue_reminders(day)
        t_queued = time.perf_counter() - t0
        print(f"queued: {queued:,} reminders in {t_queued:.1f} s by {how}; send tasks waiting in Redis")

        booked = list(Appointment.objects.filter(date=day, status="booked").values_list("pk", flat=True))
        changed = random.Random(16).sample(booked, 2 * args.changed)
        vaccinated, cancelled = changed[: args.changed], changed[args.changed :]
        Appointment.objects.filter(pk__in=vaccinated).update(status=Appointment.Status.VACCINATED)
        for appointment in Appointment.objects.filter(pk__in=cancelled):
            appointment_cancel(appointment=appointment, reason="压测：改期")
        print(f"re-check: {len(vaccinated)} vaccinated and {len(cancelled)} cancelled after queueing")
        connection.close()

        t1 = time.perf_counter()
        workers = [worker_process(f"bench{n}", args.concurrency, work) for n in (1, 2)]
        killed_at = None
        last_sweep = time.perf_counter()
        sweeps = Counter()
        deadline = t1 + args.minutes * 60
        while True:
            time.sleep(1)
            counts = statuses()
            done = counts["sent"] + counts["skipped"] + counts["failed"]
            if killed_at is None and counts["sent"] >= queued // 2:
                victim = workers[0]
                os.killpg(victim.pid, signal.SIGKILL)
                victim.wait()
                killed_at = time.perf_counter() - t1
                in_flight = counts["in_flight"]
                workers[0] = worker_process("bench3", args.concurrency, work)
                print(
                    f"killed worker bench1 (SIGKILL, with its children) at {killed_at:.0f} s, {counts['sent']:,} sent, "
                    f"about {in_flight} in flight; started bench3"
                )
            if time.perf_counter() - last_sweep >= SWEEP_EVERY:
                sweeps.update(messages_sweep())
                last_sweep = time.perf_counter()
            if counts["queued"] + counts["in_flight"] == 0 and done >= queued:
                break
            if time.perf_counter() > deadline:
                print(f"gave up after {args.minutes} minutes: {dict(counts)}")
                break
        t_sent = time.perf_counter() - t1
        total = time.perf_counter() - t0
        counts = statuses()
        print(
            f"sent: {counts['sent']:,} sent, {counts['skipped']:,} skipped, {counts['failed']:,} failed in "
            f"{t_sent:.0f} s from the workers' start = {counts['sent'] / t_sent:,.0f} messages/s"
        )
        print(f"total (queueing to the last message settled): {total:.0f} s = {total / 60:.1f} min")
        print(f"sweeps: {dict(sweeps)}")

        # The outbox against the provider's log.
        with open(provider_log, encoding="utf-8") as lines:
            taken = [json.loads(line) for line in lines]
        by_reference = Counter(record["reference"] for record in taken)
        outbox = dict(Message.objects.values_list("pk", "status"))
        reasons = Counter(Message.objects.filter(status="skipped").values_list("skip_reason", flat=True))
        still_booked = set(Appointment.objects.filter(date=day, status="booked").values_list("pk", flat=True))
        appointment_of = dict(Message.objects.values_list("pk", "appointment_id"))
        reminded = Counter(appointment_of.get(int(ref)) for ref in by_reference.elements())
        phones = Counter(record["phone"] for record in taken)
        problems = {
            "taken twice": sum(1 for n in by_reference.values() if n > 1),
            "phones reminded twice": sum(1 for n in phones.values() if n > 1),
            "taken but not sent in the outbox": sum(1 for ref in by_reference if outbox.get(int(ref)) != "sent"),
            "sent in the outbox but not taken": sum(
                1 for pk, s in outbox.items() if s == "sent" and str(pk) not in by_reference
            ),
            "still booked, not reminded": len(still_booked - set(reminded)),
            "vaccinated, reminded": len(set(vaccinated) & set(reminded)),
            "cancelled, reminded": len(set(cancelled) & set(reminded)),
            "failed": counts["failed"],
        }
        print(f"provider's log: {len(taken):,} messages taken, {len(by_reference):,} distinct")
        print(f"skipped: {dict(reasons)}")
        print(f"checks: {problems}")
        print(
            "OK: every person still booked reminded exactly once, nobody vaccinated or cancelled"
            if not any(problems.values())
            else "FAILED"
        )
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(timeout=30)
        provider.terminate()
        anchor_provider.terminate()
        provider.wait()
        print(f"(logs in {work})")


if __name__ == "__main__":
    main()
