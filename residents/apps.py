from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResidentsConfig(AppConfig):
    name = "residents"
    verbose_name = _("Residents")

    def ready(self):
        # Registers the tasks in every process (web, shell, commands), not only in a worker: the
        # import services start the reading by its registered name (residents.tasks imports them).
        from residents import tasks  # noqa: F401
