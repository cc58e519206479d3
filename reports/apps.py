from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports")

    def ready(self):
        # Registers the tasks in every process (web, shell, commands), not only in a worker:
        # services enqueue the export build by its registered name (reports.tasks imports them).
        from reports import tasks  # noqa: F401
