from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AppointmentsConfig(AppConfig):
    name = "appointments"
    verbose_name = _("Appointments and vaccinations")

    def ready(self):
        # Registers the message tasks in every process (web, shell, commands), not only in a worker:
        # the messaging services queue them by their registered name (the tasks module imports them).
        from appointments.messaging import tasks  # noqa: F401
