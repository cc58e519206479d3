"""Exports as jobs: asking for a file, building it in the background, dropping old files.

The export views, the Celery tasks and the `cleanup_exports` and `export_residents` commands all
call these functions. A build reports the rows it has written on its row (campaign.lib.jobs), which
the export's page shows as a progress bar; without a reachable broker it runs in this process.
"""

import datetime
import logging
import secrets
import tempfile

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation

from campaign.celery import app as celery_app
from campaign.lib.jobs import PROGRESS_RESET, ProgressReporter, enqueue_or_run_here
from campaign.lib.queue import enqueue
from campaign.models import Campaign, Village
from campaign.roles import Role, role_of
from campaign.scope import bound_village
from reports.models import Export
from reports.roster import write_roster
from reports.selectors import describe_filter
from residents.filters import ResidentFilter
from residents.models import Resident
from residents.services import sees_full_values

logger = logging.getLogger(__name__)

# The resident list's query parameters an export keeps; anything else (page, csrf token) is dropped.
FILTER_KEYS = ("q", "status", "village", "ordering")
EXPORT_ROLES = {Role.CADRE, Role.OFFICE, Role.SUPERVISION, Role.LEADERSHIP}
# Unmasked ID numbers and phones leave the system only for the office (PIPL: the least that is needed).
FULL_VALUE_ROLES = {Role.OFFICE}
# An export is a job with a status row; the row, not the broker's message, is what must finish.
# The build task's hard time limit (reports.tasks.build_export): a build running longer is dead.
BUILD_TIME_LIMIT = datetime.timedelta(minutes=5)
# A running export whose build started longer ago than this has lost its worker: another build takes it.
LEASE = BUILD_TIME_LIMIT + datetime.timedelta(minutes=1)
# Builds started before an export is failed (a file that kills its worker every time).
MAX_ATTEMPTS = 3
# A pending export not started after this was probably never queued (Redis was down): queue it again.
REQUEUE_AFTER = datetime.timedelta(minutes=2)
# A pending export not started after this has no worker to build it: failed, the user asks again.
GIVE_UP_AFTER = datetime.timedelta(hours=1)
# The Celery task that builds an export's file (reports.tasks.build_export), by its registered name.
BUILD_EXPORT_TASK = "reports.build_export"


def export_villages(*, user, campaign):
    """The villages a user may name in an export's filter: a cadre's own, all for the other exporters."""
    villages = Village.objects.filter(campaign=campaign)
    if role_of(user) == Role.CADRE:
        own = bound_village(user, campaign)  # her village's namesake in this campaign (campaign.scope)
        return villages.filter(pk=own.pk if own else None)
    return villages


def roster_residents(*, user, campaign, parameters: dict):
    """The residents a roster export holds: the user's scope, filtered exactly as the resident list filters.

    Rebuilds the list's ResidentFilter from the saved parameters; with no sort chosen, the list's
    default order (newest registered first). Raises Village.DoesNotExist when the filter names a
    village outside the user's scope, and ValidationError for any other invalid parameter.
    """
    residents = Resident.objects.for_user(user).filter(campaign=campaign)
    # A search by digits goes no further in a file than on the user's list (residents.filters.search_problem).
    filters = ResidentFilter(
        parameters,
        queryset=residents,
        villages=export_villages(user=user, campaign=campaign),
        full=sees_full_values(user),
    )
    if not filters.is_valid():
        if "village" in filters.errors:
            # Another village is simply not there for this user: the caller answers 404, never 403.
            raise Village.DoesNotExist(f"village {parameters.get('village')!r} is outside the user's scope")
        raise ValidationError(filters.errors.as_text())
    queryset = filters.qs
    if not parameters.get("ordering"):
        queryset = queryset.order_by("-registered_at", "-id")
    return queryset


def _roster_parameters(*, user, campaign, params) -> dict:
    parameters = {}
    for key in FILTER_KEYS:
        value = params.get(key)
        if value is not None and str(value).strip() != "":
            parameters[key] = str(value).strip()
    if role_of(user) == Role.CADRE and "village" not in parameters:
        own = bound_village(user, campaign)
        if own is not None:
            parameters["village"] = str(own.pk)  # a cadre's roster is always their village's
    return parameters


def export_request(*, user, kind: str, params, full_values: bool = False, queue: bool = True, campaign=None) -> Export:
    """Record that `user` asks for an export and enqueue its build once the row is committed.

    `params` are the resident list's query parameters (a QueryDict or a dict); only the
    filter's own keys are kept. When the broker cannot be reached the build runs in a thread of
    this process instead (campaign.lib.jobs.enqueue_or_run_here); with `queue=False` nothing is
    started and the caller builds it (export_build). The roster is of `campaign` (the page's; without
    one, the default open campaign). Returns the pending Export. Raises PermissionDenied when
    the user's role may not export, or asks for full values without being the office;
    Village.DoesNotExist when the filter names a village outside the user's scope (a cadre
    asking for another village); ValidationError for other invalid parameters.
    """
    role = role_of(user)
    if role not in EXPORT_ROLES:
        raise PermissionDenied("this role may not export")
    if full_values and role not in FULL_VALUE_ROLES:
        raise PermissionDenied("full ID numbers and phones are exported for the office only")
    if kind != Export.Kind.RESIDENTS:
        raise ValueError(f"unknown export kind {kind!r}")
    campaign = campaign or Campaign.objects.default()
    if campaign is None:
        raise ValidationError("no campaign is open")
    parameters = _roster_parameters(user=user, campaign=campaign, params=params)
    roster_residents(user=user, campaign=campaign, parameters=parameters)  # refuses a bad filter now, not later
    # The task by its registered name, not by import: reports.tasks imports this module (each task
    # calls one service here). ReportsConfig.ready() registers it in every process; a wrong name is a KeyError.
    build_export = celery_app.tasks[BUILD_EXPORT_TASK]

    with transaction.atomic():
        export = Export.objects.create(
            kind=kind, campaign=campaign, parameters=parameters, full_values=full_values, requested_by=user
        )
        if not queue:
            return export

        def queue_build():
            # A broker that is down must not undo the request, nor leave the page waiting for
            # Redis: the build runs in this process (and if that fails, export_sweep queues it later).
            enqueue_or_run_here(build_export, export.pk)

        # robust: whatever goes wrong in queueing, the saved export is not turned into a 500. A named
        # function, not a functools.partial: Django logs a robust callback's failure by its __qualname__.
        transaction.on_commit(queue_build, robust=True)
    return export


def export_retry(*, export: Export, user) -> Export:
    """Ask again for a failed export: a new export of the same filter, by `user` (the record stays)."""
    if export.status != Export.Status.FAILED:
        raise ValidationError("only a failed export is asked for again")
    return export_request(
        user=user,
        kind=export.kind,
        params=export.parameters,
        full_values=export.full_values,
        campaign=export.campaign,
    )


def _claimable(*, now, redelivered: bool) -> Q:
    lost = Q(status=Export.Status.RUNNING, started_at__lt=now - LEASE)
    if redelivered:
        # The broker hands a message out again only when the worker that had it was lost
        # (acks_late, reject_on_worker_lost): the export it was building is not being built.
        lost = Q(status=Export.Status.RUNNING)
    return Q(status=Export.Status.PENDING) | lost


def export_build(*, export_id: int, redelivered: bool = False, progress=None) -> bool:
    """Build the file of a pending export and mark it done (or failed, with the error).

    The build writes on the row how many residents it has written out of how many (for the bar on
    the export's page); `progress`, a callable(done, total), receives the same figures as they come
    (the export_residents command prints them).

    A running export is built again when its build is known dead: `redelivered` (the broker gave
    this message out again after losing its worker), or started more than LEASE ago. Returns False
    when there was nothing to do: the export is gone, finished, or being built by a live worker (a
    conditional UPDATE claims it, so a task that is delivered twice builds one file). After
    MAX_ATTEMPTS builds the export is failed with a message for the user. A failure is recorded on
    the row and not raised: retrying would not help, the user asks again.
    """
    now = timezone.now()
    claimable = Export.objects.filter(_claimable(now=now, redelivered=redelivered), pk=export_id)
    claimed = claimable.filter(attempts__lt=MAX_ATTEMPTS).update(
        status=Export.Status.RUNNING, started_at=now, attempts=F("attempts") + 1, **PROGRESS_RESET
    )
    if not claimed:
        claimable.update(status=Export.Status.FAILED, finished_at=now, error=Export.LOST_WORKER)
        return False
    export = Export.objects.select_related("requested_by", "campaign").get(pk=export_id)
    # This build's own row: a build that was given up for dead must not overwrite a later one.
    mine = Export.objects.filter(pk=export_id, status=Export.Status.RUNNING, attempts=export.attempts)
    stored = ""
    try:
        stored, filename, count = _build_roster(export, progress=ProgressReporter(mine, also=progress))
        finished = mine.update(
            status=Export.Status.DONE, file=stored, filename=filename, row_count=count, finished_at=timezone.now()
        )
        if not finished:
            raise RuntimeError("the export was no longer this build's when its file was ready")
    # Any error fails this one export, with the reason on its row: the worker carries on.
    except Exception as error:
        logger.exception("export %s failed", export_id)
        if stored:
            export.file.storage.delete(stored)
        mine.update(
            status=Export.Status.FAILED,
            finished_at=timezone.now(),
            error=(f"{type(error).__name__}: {error}")[:2000],
        )
    return True


def export_sweep(*, now: datetime.datetime | None = None) -> dict:
    """Finish what was left behind: queue again the exports that were never queued or lost their worker.

    Pending exports older than REQUEUE_AFTER (Redis was down when they were asked for) and running
    ones older than LEASE (their worker died) are queued again; a second message for an export that
    is built meanwhile does nothing (the build's claim). Pending ones older than GIVE_UP_AFTER are
    failed with a message, as are running ones that used up MAX_ATTEMPTS. Returns the counts.
    """
    now = now or timezone.now()
    gave_up = Export.objects.filter(status=Export.Status.PENDING, requested_at__lt=now - GIVE_UP_AFTER).update(
        status=Export.Status.FAILED, finished_at=now, error=Export.NO_WORKER
    )
    lost = Q(status=Export.Status.RUNNING, started_at__lt=now - LEASE)
    worn_out = Export.objects.filter(lost, attempts__gte=MAX_ATTEMPTS).update(
        status=Export.Status.FAILED, finished_at=now, error=Export.LOST_WORKER
    )
    build_export = celery_app.tasks[BUILD_EXPORT_TASK]  # by name: reports.tasks imports this module

    again = Q(status=Export.Status.PENDING, requested_at__lt=now - REQUEUE_AFTER) | lost
    queued = 0
    for export_id in Export.objects.filter(again).values_list("pk", flat=True).order_by("pk")[:500]:
        if not enqueue(build_export, export_id):
            break  # the broker is still down: the next sweep tries again
        queued += 1
    return {"queued": queued, "failed": gave_up + worn_out}


def _build_roster(export: Export, *, progress) -> tuple[str, str, int]:
    user = export.requested_by
    # The rights are those of the build's moment: a role may have changed since the request.
    if role_of(user) not in EXPORT_ROLES:
        raise PermissionDenied("the requester may no longer export")
    if export.full_values and role_of(user) not in FULL_VALUE_ROLES:
        raise PermissionDenied("the requester is no longer allowed full ID numbers and phones")
    campaign = export.campaign
    residents = roster_residents(user=user, campaign=campaign, parameters=export.parameters)
    now = timezone.localtime()
    village_id = export.parameters.get("village")  # within the user's scope: roster_residents checked it
    village_names = dict(campaign.villages.filter(pk=village_id).values_list("pk", "name")) if village_id else {}
    village_names = {str(pk): name for pk, name in village_names.items()}
    with translation.override("zh-hans"):
        scope = village_names.get(village_id, "全镇")
        title = f"{campaign.name} · {scope}居民花名册"
        who = user.get_full_name() or user.username
        privacy = (
            "身份证号码、手机号码为完整信息，请妥善保管" if export.full_values else "身份证号码、手机号码已部分隐藏"
        )
        note = (
            f"筛选条件：{describe_filter(export.parameters, village_names)}　｜　"
            f"导出人：{who}　｜　导出时间：{now:%Y-%m-%d %H:%M}　｜　{privacy}"
        )
        status = export.parameters.get("status")
        status_part = f"_{Resident.Status(status).label}" if status in Resident.Status.values else ""
        filename = f"{scope}居民花名册{status_part}_{now:%Y%m%d-%H%M}.xlsx"
    storage = export.file.storage
    name = f"exports/{now:%Y/%m}/roster-{export.pk}-{secrets.token_hex(8)}.xlsx"
    total = residents.count()  # one COUNT before the rows: the bar's 100%
    progress(0, total)

    def written(done: int, _total: int | None = None) -> None:
        progress(done, total)  # the count above, whatever the writer knows of the total

    with tempfile.TemporaryFile(suffix=".xlsx") as target:
        count = write_roster(
            target=target,
            campaign=campaign,
            residents=residents,
            title=title,
            note=note,
            full_values=export.full_values,
            today=now.date(),
            progress=written,
        )
        progress(count, count)  # every row is in the file; what is left is storing it
        target.seek(0)
        stored = storage.save(name, File(target, name=name))
    return stored, filename, count


def export_cleanup(*, now: datetime.datetime | None = None, keep_days: int | None = None) -> dict:
    """Delete the files of exports asked for more than `keep_days` ago (lost jobs: export_sweep).

    The rows stay: they are the record of who exported what, when, with which filter.
    Returns {"files_deleted": n}; running it twice deletes nothing more.
    """
    now = now or timezone.now()
    keep_days = settings.EXPORT_KEEP_DAYS if keep_days is None else keep_days
    cutoff = now - datetime.timedelta(days=keep_days)
    deleted = 0
    for export in Export.objects.filter(requested_at__lt=cutoff).exclude(file="").only("pk", "file").iterator():
        export.file.storage.delete(export.file.name)
        deleted += Export.objects.filter(pk=export.pk).update(file="", file_deleted_at=now)
    return {"files_deleted": deleted}
