"""Long jobs: the share done that a job reports as it works, its page's progress bar, and running it without a broker.

A long job (an export of 100,000 residents, the preview of a big imported sheet) is a model row
with a status. While it works it writes on that row how many of its rows it has done and out of
how many; any process (the web process polling for the page, a shell) reads them back from the
database, so the bar needs no Redis and shows the share the job itself reports, not a spinner.
pretix's AsyncAction and asynctask.js were the model (read, not copied): a POST starts the job, the
page polls a JSON status and ends on the result.

How a job uses it (the roster export, reports.models.Export, is the worked example):

1. The model: subclass `JobProgress` (abstract: the fields progress_done, progress_total,
   progress_at), add `progress_constraint("<app>_<model>_progress_within_total")` to its
   Meta.constraints, make the migration, and say when the job is waiting and when it is finished:

       class ImportBatch(JobProgress):
           progress_waiting_text = _("Waiting to be read…")  # the line shown before it starts
           @property
           def progress_waiting(self): return self.status == self.Status.PENDING
           @property
           def progress_finished(self): return self.status in (self.Status.PREVIEWED, self.Status.FAILED)

   When a run (re)starts, its claiming UPDATE resets the count with `**PROGRESS_RESET`.

2. The work reports as it goes, through a `ProgressReporter` over the queryset of its own row
   (narrow it so that a run given up for dead cannot write over a later run):

       report = ProgressReporter(ImportBatch.objects.filter(pk=batch_id, status="reading"))
       report(0, total)                      # as soon as the total is known (a count, the sheet's rows)
       for done, row in enumerate(rows, 1):
           ...
           if done % 500 == 0:
               report(done, total)           # cheap: it writes at most every WRITE_EVERY seconds
       report(total, total)                  # the last call is always written

   The reporter writes with an UPDATE of its own, so call it outside the job's own
   `transaction.atomic()`: inside one, no other process sees the count before the commit (build
   the rows first, then write the result in a short transaction, as the export does).
   `ProgressReporter(rows, also=callable)` also hands every call to `callable` (a command's line).

3. The JSON status: a view that finds the job in the user's scope (someone else's job is a 404,
   never a 403) and returns `progress_response(job, status=job.status)`, under @never_cache.

4. The page: while the job is not finished, the element that shows it carries the JSON status's
   URL (and, optionally, the URL of the HTML that replaces it once finished), includes the bar,
   and the page loads the script (templates/reports/export_status.html and export_detail.html):

       <div id="import-status" data-progress-url="{% url 'residents:import_progress' batch.pk %}"
            data-progress-result="{% url 'residents:import_status' batch.pk %}">
         {% include "campaign/job_progress.html" with job=batch label=_("Reading the sheet") %}
       </div>
       {% block scripts %}<script src="{% static 'js/job_progress.js' %}"></script>{% endblock %}

   static/js/job_progress.js reads the status every second and moves the bar (role=progressbar,
   aria-valuenow, the width, 已完成 45%（45,000 / 100,000 行）); once the job is finished it swaps
   in the HTML at data-progress-result (an element with the same id), or reloads the page when
   there is none (for a page whose view shows the result once the job is finished, e.g. the
   import preview). Without JavaScript: `<noscript><meta http-equiv="refresh" content="5"></noscript>`
   in the page's head block while unfinished, and a plain link to reload the page.

5. A management command shows the same share on stderr: pass `TerminalProgress(self.stderr)`
   as the `also=` callable, or call it directly (`reports/management/commands/export_residents.py`).

6. Starting the job: `enqueue_or_run_here(task, job.pk)` after commit (`transaction.on_commit`).

Without Redis, the job runs in this process and the page still ends on its result:

- No broker configured (the embedded default, and the tests: CELERY_TASK_ALWAYS_EAGER): Celery runs
  the task in the request that queued it, synchronously, and the page opens on the result (as
  README.md has promised: "the page is ready at once"). The job still reports its rows (a
  command shows them), but no page can show them: the request is busy with the job. Kept so
  because the embedded default is the trial and the test setup, where a job that is done when
  its request returns is what every test and the demo rely on; the cost is a request that lasts
  as long as the job (a village's roster takes a second or two; a whole town of 20,000 residents
  took 13 s with the openpyxl writer of the time). Production configures Redis, and gets the bar.
- A broker configured but down (Redis stopped or not answering): `enqueue_or_run_here` runs the task
  in a thread of this process, and the request returns at once; the page polls the row and shows
  the bar as it would for a worker. Not in the request itself: a 100,000-row build would hold the
  request for many seconds with no bar, and a WSGI server's timeout (gunicorn's 30 s) could kill
  the worker process with the job half done. The thread is not a daemon: a server shutting down
  gracefully lets it finish. If the process dies anyway, the row stays running, and the job's own
  recovery takes it up again when the broker is back (for exports: reports.services.export_sweep
  after LEASE). The thread closes its database connections when it ends.
"""

import logging
import threading
import time
from collections.abc import Callable

from django.core.management.base import OutputWrapper
from django.db import connections, models
from django.db.models import F, Q
from django.http import JsonResponse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaign.lib.queue import enqueue

logger = logging.getLogger(__name__)

# A reporter writes its row at most this often (seconds); the first and the last call always.
WRITE_EVERY = 0.5
# What a claiming UPDATE sets when a run (re)starts: nothing done, the total not known yet.
PROGRESS_RESET = {"progress_done": 0, "progress_total": None, "progress_at": None}


class JobProgress(models.Model):
    """The share of a long job done, as the job last reported it: `progress_done` of `progress_total` rows.

    Abstract: a job's model subclasses it (module docstring, step 1). `progress_total` is None
    until the job knows how much there is to do.
    """

    progress_done = models.PositiveIntegerField(_("rows done"), default=0)
    progress_total = models.PositiveIntegerField(_("rows to do"), null=True, blank=True)
    progress_at = models.DateTimeField(_("progress reported at"), null=True, blank=True)

    # The line the page shows while the job waits for a worker (a model says it in its own words).
    progress_waiting_text = _("Waiting to start…")

    class Meta:
        abstract = True

    @property
    def progress_waiting(self) -> bool:
        """True while no one works on the job yet (queued, no worker has taken it)."""
        return False

    @property
    def progress_finished(self) -> bool:
        """True once the job has ended, done or failed: the page stops polling and shows the result."""
        raise NotImplementedError(f"{type(self).__name__} must say when its job is finished")

    @property
    def progress_percent(self) -> int:
        """The whole percent done, 0 to 100; 100 only when every row is done."""
        if not self.progress_total:
            return 100 if self.progress_total == 0 else 0
        return min(100, self.progress_done * 100 // self.progress_total)

    @property
    def progress_text(self) -> str:
        """The line under the bar: waiting, starting, 已完成 45%（45,000 / 100,000 行）, or finishing."""
        if self.progress_waiting:
            return str(self.progress_waiting_text)
        total = self.progress_total
        if total is None:
            return gettext("Starting…")
        if self.progress_done >= total:
            return gettext("All %(total)s rows done, finishing…") % {"total": f"{total:,}"}
        return gettext("Done %(percent)s%% (%(done)s / %(total)s rows)") % {
            "percent": self.progress_percent,
            "done": f"{self.progress_done:,}",
            "total": f"{total:,}",
        }

    @property
    def progress_state(self) -> dict:
        """What the page's script reads: finished, percent, done, total and the line to show."""
        return {
            "finished": self.progress_finished,
            "percent": self.progress_percent,
            "done": self.progress_done,
            "total": self.progress_total,
            "text": self.progress_text,
        }


def progress_constraint(name: str) -> models.CheckConstraint:
    """The database's own check of a JobProgress row: never more done than there is to do."""
    return models.CheckConstraint(
        condition=Q(progress_total__isnull=True) | Q(progress_done__lte=F("progress_total")), name=name
    )


def progress_response(job: JobProgress, **extra) -> JsonResponse:
    """The JSON the page polls: job.progress_state, plus `extra` (e.g. status="running")."""
    return JsonResponse({**job.progress_state, **extra})


class ProgressReporter:
    """`report(done, total)`: write the share done on the job's row, at most every WRITE_EVERY seconds.

    `rows` is the queryset of the job's own row (a run's own: a run given up for dead then writes
    nothing). The first call and the last one (done == total) are always written, a repeat of what
    was written never is. A total of None keeps the last one known; a total below `done` (rows
    added since they were counted) is raised to `done`. `also` receives every call as it came.
    """

    def __init__(
        self,
        rows: models.QuerySet,
        *,
        also: Callable[[int, int | None], object] | None = None,
        every: float | None = None,
    ):
        self.rows = rows
        self.also = also
        self.every = WRITE_EVERY if every is None else every
        self.total: int | None = None
        self.written: tuple[int, int | None] | None = None
        self.written_at: float | None = None

    def __call__(self, done: int, total: int | None = None) -> None:
        if total is None:
            total = self.total
        if total is not None:
            total = max(total, done)
        self.total = total
        now = time.monotonic()
        due = self.written_at is None or now - self.written_at >= self.every
        last = total is not None and done >= total
        if (due or last) and (done, total) != self.written:
            self.rows.update(progress_done=done, progress_total=total, progress_at=timezone.now())
            self.written, self.written_at = (done, total), now
        if self.also is not None:
            self.also(done, total)


class TerminalProgress:
    """A command's progress on a stream (its stderr): `[######------]  45%  45,000 / 100,000 rows`.

    On a terminal one line is rewritten in place, at most every `every` seconds; in a log file (not
    a terminal) a line is written at each tenth. The line ends when done reaches the total.
    """

    WIDTH = 30

    def __init__(self, stream, *, every: float = 0.2):
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.every = every
        self.shown_at: float | None = None
        self.tenth = -1
        self.open = False  # a line rewritten in place and not yet ended

    def _write(self, text: str) -> None:
        if isinstance(self.stream, OutputWrapper):
            # As it is: a command's stderr would colour it as an error on a terminal.
            self.stream.write(text, style_func=_as_is, ending="")
        else:
            self.stream.write(text)
        self.stream.flush()

    def line(self, done: int, total: int | None) -> str:
        if not total:
            return f"{done:,} rows"
        share = min(done, total) / total
        filled = int(share * self.WIDTH)
        return f"[{'#' * filled}{'-' * (self.WIDTH - filled)}] {int(share * 100):3d}%  {done:,} / {total:,} rows"

    def __call__(self, done: int, total: int | None = None) -> None:
        last = total is not None and done >= total
        if self.tty:
            now = time.monotonic()
            if last or self.shown_at is None or now - self.shown_at >= self.every:
                self._write(f"\r{self.line(done, total)}" + ("\n" if last else ""))
                self.shown_at, self.open = now, not last
            return
        tenth = (done * 10 // total) if total else 0
        if tenth > self.tenth or (last and self.tenth < 10):
            self._write(self.line(done, total) + "\n")
            self.tenth = 10 if last else tenth

    def close(self) -> None:
        """End a line left open (the job stopped before its total)."""
        if self.open:
            self._write("\n")
            self.open = False


def _as_is(text: str) -> str:
    return text


def enqueue_or_run_here(task, *args) -> bool:
    """Queue `task(*args)`; when the broker cannot be reached, run it in a thread of this process.

    Returns True when queued (or run, on the embedded default: Celery's eager mode runs it at
    once), False when it was started here instead. Why a thread, and what happens if this process
    dies: the module docstring.
    """
    if enqueue(task, *args):
        return True
    runner = threading.Thread(target=_run_here, args=(task, args), name=f"{task.name}{args!r}", daemon=False)
    runner.start()
    logger.warning("running %s%r in this process: the broker cannot be reached", task.name, args)
    return False


def _run_here(task, args) -> None:
    try:
        task.apply(args, throw=True)
    # A thread's exception would be printed and lost: log it with its task. The job records its own failure.
    except Exception:
        logger.exception("%s%r failed in-process", task.name, args)
    finally:
        connections.close_all()  # this thread's connections only: each thread has its own
