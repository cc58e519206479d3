from django.conf import settings
from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.db import models
from django.db.models import F, Q
from django.dispatch import receiver
from django.utils import timezone
from django.utils.functional import LazyObject, empty
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from campaign.lib.jobs import JobProgress, progress_constraint


class ExportQuerySet(models.QuerySet):
    def for_user(self, user):
        """The exports a user may see and download: the office all of them, everyone else their own."""
        from campaign.roles import Role, role_of

        if role_of(user) == Role.OFFICE:
            return self
        if user is None or not user.is_authenticated:
            return self.none()
        return self.filter(requested_by=user)


class ExportStorage(LazyObject):
    """The "exports" storage of STORAGES (a local folder, or a shared object store), looked up when first used.

    Lazy, as Django's default_storage: a FileField keeps the storage it was given when the model
    class is made, before a test (or a later settings change) has chosen the storage.
    """

    def _setup(self):
        self._wrapped = storages["exports"]


exports_storage = ExportStorage()


@receiver(setting_changed, dispatch_uid="reports.exports_storage")
def _forget_exports_storage(setting, **kwargs):
    if setting in ("STORAGES", "MEDIA_ROOT"):
        exports_storage._wrapped = empty


def export_storage():
    return exports_storage


class Export(JobProgress):
    """A file built in the background, and the record of who exported what, when, with which filter.

    While it is built, the rows written so far (JobProgress: progress_done of progress_total) move
    the bar on its page.
    """

    class Kind(models.TextChoices):
        RESIDENTS = "residents", _("resident roster")

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting")
        RUNNING = "running", _("being built")
        DONE = "done", _("ready")
        FAILED = "failed", _("failed")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    campaign = models.ForeignKey(
        "campaign.Campaign", on_delete=models.PROTECT, related_name="exports", verbose_name=_("campaign")
    )
    # The list's query parameters as the user sent them (q, status, village, ordering);
    # a cadre's always carry their village. The builder rebuilds the list's filter from them.
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    full_values = models.BooleanField(_("full ID numbers and phones"), default=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="exports", verbose_name=_("requested by")
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now, db_index=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    row_count = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    file = models.FileField(_("file"), upload_to="exports/", storage=export_storage, blank=True, max_length=200)
    # The name the user downloads, e.g. 青山社区居民花名册_20210512-0930.xlsx (the stored name is opaque).
    filename = models.CharField(_("file name"), max_length=200, blank=True)
    file_deleted_at = models.DateTimeField(_("file deleted at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    # Builds started: a worker that died mid-build leaves the export running, and another build takes it up.
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)

    objects = ExportQuerySet.as_manager()

    progress_waiting_text = _("Waiting to be built…")

    # The errors of a lost job, stored as they are shown (reports.services.export_sweep and export_build).
    LOST_WORKER = "文件生成过程中后台处理程序多次中断，未能完成。请点击“重新导出”再试；如仍失败，请联系领导小组办公室。"
    NO_WORKER = "一小时内后台处理程序未能开始生成文件（可能暂时停止运行）。请点击“重新导出”再试。"

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "running", "done", "failed"]), name="reports_export_status"
            ),
            models.CheckConstraint(condition=Q(kind__in=["residents"]), name="reports_export_kind"),
            models.CheckConstraint(
                condition=~Q(status="done") | Q(finished_at__isnull=False, row_count__isnull=False),
                name="reports_export_done_has_count",
            ),
            models.CheckConstraint(
                condition=~Q(status="failed") | (Q(finished_at__isnull=False) & ~Q(error="")),
                name="reports_export_failed_has_error",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "failed"]) | Q(started_at__isnull=False),
                name="reports_export_started",
            ),
            progress_constraint("reports_export_progress_within_total"),
        ]
        indexes = [models.Index(fields=["status", "requested_at"], name="reports_export_status_time")]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def progress_waiting(self) -> bool:
        return self.status == self.Status.PENDING

    @property
    def progress_finished(self) -> bool:
        return self.is_finished

    @property
    def error_for_user(self) -> str:
        """The reason of a failure when it is written for the user (a lost job); other errors are technical."""
        return self.error if self.error in (self.LOST_WORKER, self.NO_WORKER) else ""

    @property
    def can_download(self) -> bool:
        return self.status == self.Status.DONE and bool(self.file)


COUNTS = (
    "registered",
    "booked",
    "arrived",
    "dose1",
    "completed",
    "no_shows",
    "deferrals",
    "adverse_events",
)


class DailyProgress(models.Model):
    """One day's numbers for one village at one site, computed from the raw records.

    Written only by `reports.progress.progress_compute` (a rerun replaces the same rows with the
    same numbers); the dashboard and the reports read these rows, never the raw tables.
    """

    campaign = models.ForeignKey(
        "campaign.Campaign", on_delete=models.CASCADE, related_name="+", verbose_name=_("campaign")
    )
    date = models.DateField(_("date"))
    site = models.ForeignKey("sites.Site", on_delete=models.CASCADE, related_name="+", verbose_name=_("site"))
    village = models.ForeignKey(
        "campaign.Village", on_delete=models.CASCADE, related_name="+", verbose_name=_("village")
    )
    # Residents registered that day (their village's site).
    registered = models.PositiveIntegerField(_("registered"), default=0)
    # Appointments for that day that were not cancelled, and those checked in (arrived or vaccinated).
    booked = models.PositiveIntegerField(_("booked"), default=0)
    arrived = models.PositiveIntegerField(_("arrived"), default=0)
    # Doses given that day, by dose number: {"1": 40, "2": 12} (a dose none was given is left out;
    # only the campaign's doses, 1 to campaign.doses). `dose1` repeats doses["1"] as a column of its
    # own: the first doses are what the quotas, the first-dose deadline and the rankings count.
    # `completed` counts the doses that completed a course (the campaign's last dose).
    doses = models.JSONField(_("doses given"), default=dict, blank=True)
    dose1 = models.PositiveIntegerField(_("dose 1 given"), default=0)
    completed = models.PositiveIntegerField(_("courses completed"), default=0)
    no_shows = models.PositiveIntegerField(_("no-shows"), default=0)
    # Pre-screenings that deferred or excluded the person that day.
    deferrals = models.PositiveIntegerField(_("deferred or excluded"), default=0)
    adverse_events = models.PositiveIntegerField(_("adverse events"), default=0)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("daily progress")
        verbose_name_plural = _("daily progress")
        ordering = ["date", "site", "village"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "date", "site", "village"], name="reports_dailyprogress_one_row_per_day"
            ),
            models.CheckConstraint(
                condition=Q(arrived__lte=F("booked")), name="reports_dailyprogress_arrived_le_booked"
            ),
        ]

    def __str__(self):
        return f"{self.date} {self.site_id}/{self.village_id}"


class VillageProgress(models.Model):
    """Where a village stands now: its people, not its days (registered, eligible, booked, doses)."""

    campaign = models.ForeignKey(
        "campaign.Campaign", on_delete=models.CASCADE, related_name="+", verbose_name=_("campaign")
    )
    village = models.ForeignKey(
        "campaign.Village", on_delete=models.CASCADE, related_name="+", verbose_name=_("village")
    )
    registered = models.PositiveIntegerField(_("registered"), default=0)
    eligible = models.PositiveIntegerField(_("eligible"), default=0)
    # People whose dose 1 is booked (still open) or given.
    booked = models.PositiveIntegerField(_("booked"), default=0)
    # People with each dose, by dose number ({"1": 300, "2": 120}, as DailyProgress.doses);
    # dose1 and completed repeat its first and the campaign's last dose (fully vaccinated).
    doses = models.JSONField(_("people with each dose"), default=dict, blank=True)
    dose1 = models.PositiveIntegerField(_("people with dose 1"), default=0)
    completed = models.PositiveIntegerField(_("fully vaccinated"), default=0)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("village progress")
        verbose_name_plural = _("village progress")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "village"], name="reports_villageprogress_one_per_village"),
        ]

    def __str__(self):
        return f"{self.village_id}: {self.dose1}/{self.completed}"


class CadreProgress(models.Model):
    """The people a cadre answers for (包保) and how far they have come."""

    campaign = models.ForeignKey(
        "campaign.Campaign", on_delete=models.CASCADE, related_name="+", verbose_name=_("campaign")
    )
    cadre = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("cadre")
    )
    village = models.ForeignKey(
        "campaign.Village", on_delete=models.CASCADE, related_name="+", verbose_name=_("village")
    )
    assigned = models.PositiveIntegerField(_("people assigned"), default=0)
    eligible = models.PositiveIntegerField(_("eligible"), default=0)
    booked = models.PositiveIntegerField(_("booked"), default=0)
    # As VillageProgress.doses: the cadre's people with each dose.
    doses = models.JSONField(_("people with each dose"), default=dict, blank=True)
    dose1 = models.PositiveIntegerField(_("people with dose 1"), default=0)
    completed = models.PositiveIntegerField(_("fully vaccinated"), default=0)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("cadre progress")
        verbose_name_plural = _("cadre progress")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "cadre", "village"], name="reports_cadreprogress_one_per_cadre_village"
            ),
        ]

    def __str__(self):
        return f"{self.cadre_id}@{self.village_id}"


class SupervisionThresholds(models.Model):
    """How far behind the expected % a village may fall before the weekly report proposes a level.

    Gaps are percentage points of quota below the % expected by the report's date:
    from `notice_gap` on 通报, from `talk_gap` on 约谈, from `deduct_gap` on 扣分.
    """

    campaign = models.OneToOneField(
        "campaign.Campaign", on_delete=models.CASCADE, related_name="supervision_thresholds", verbose_name=_("campaign")
    )
    notice_gap = models.PositiveSmallIntegerField(_("notice (通报) from a gap of (points)"), default=5)
    talk_gap = models.PositiveSmallIntegerField(_("formal talk (约谈) from a gap of (points)"), default=10)
    deduct_gap = models.PositiveSmallIntegerField(_("point deduction (扣分) from a gap of (points)"), default=20)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("updated by"),
    )
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("supervision thresholds")
        verbose_name_plural = _("supervision thresholds")
        constraints = [
            models.CheckConstraint(
                condition=Q(notice_gap__gte=1, talk_gap__gt=F("notice_gap"), deduct_gap__gt=F("talk_gap")),
                name="reports_thresholds_increasing",
            ),
        ]

    def __str__(self):
        return f"{self.notice_gap}/{self.talk_gap}/{self.deduct_gap}"


class WeeklyReport(models.Model):
    """The weekly supervision report (周调度通报) of one ISO week: one row per campaign and week.

    `data` is the snapshot of the numbers when the report was made (villages, sites, levels), so a
    past report reads the same later; making it again replaces the snapshot of the same row.
    """

    campaign = models.ForeignKey(
        "campaign.Campaign", on_delete=models.PROTECT, related_name="weekly_reports", verbose_name=_("campaign")
    )
    week_start = models.DateField(_("week starting (Monday)"))
    data = models.JSONField(_("figures"), default=dict)
    made_at = models.DateTimeField(_("made at"), default=timezone.now)
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("made by"),
    )

    class Meta:
        verbose_name = _("weekly supervision report")
        verbose_name_plural = _("weekly supervision reports")
        ordering = ["-week_start"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "week_start"], name="reports_weeklyreport_one_per_week"),
        ]

    def __str__(self):
        iso = self.week_start.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"


class SupervisionFinding(models.Model):
    """What the supervision group found in a village in a week, and the level and points it decided."""

    class Level(models.TextChoices):
        NONE = "", _("none")
        NOTICE = "notice", _("notice (通报)")
        TALK = "talk", _("formal talk (约谈)")
        DEDUCT = "deduct", _("point deduction (扣分)")

    campaign = models.ForeignKey(
        "campaign.Campaign", on_delete=models.PROTECT, related_name="+", verbose_name=_("campaign")
    )
    village = models.ForeignKey(
        "campaign.Village", on_delete=models.PROTECT, related_name="supervision_findings", verbose_name=_("village")
    )
    week_start = models.DateField(_("week starting (Monday)"))
    level = models.CharField(_("level"), max_length=10, choices=Level.choices, default="", blank=True)
    points_deducted = models.PositiveSmallIntegerField(_("points deducted"), default=0)
    text = models.TextField(_("findings"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("supervision finding")
        verbose_name_plural = _("supervision findings")
        ordering = ["-week_start", "village", "-recorded_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(level__in=["", "notice", "talk", "deduct"]), name="reports_finding_level"
            ),
            models.CheckConstraint(
                condition=Q(points_deducted=0) | Q(level="deduct"), name="reports_finding_points_only_with_deduction"
            ),
        ]
        indexes = [models.Index(fields=["campaign", "week_start"], name="reports_finding_week")]

    def __str__(self):
        return f"{self.village} {self.week_start}: {self.get_level_display()}"
