from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ExportQuerySet(models.QuerySet):
    def for_user(self, user):
        """The exports a user may see and download: the office all of them, everyone else their own."""
        from campaign.roles import Role, role_of

        if role_of(user) == Role.OFFICE:
            return self
        if user is None or not user.is_authenticated:
            return self.none()
        return self.filter(requested_by=user)


class Export(models.Model):
    """A file built in the background, and the record of who exported what, when, with which filter."""

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
    file = models.FileField(_("file"), upload_to="exports/", blank=True, max_length=200)
    # The name the user downloads, e.g. 青山社区居民花名册_20210512-0930.xlsx (the stored name is opaque).
    filename = models.CharField(_("file name"), max_length=200, blank=True)
    file_deleted_at = models.DateTimeField(_("file deleted at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    objects = ExportQuerySet.as_manager()

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
        ]
        indexes = [models.Index(fields=["status", "requested_at"], name="reports_export_status_time")]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def can_download(self) -> bool:
        return self.status == self.Status.DONE and bool(self.file)
