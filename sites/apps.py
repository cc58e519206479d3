from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SitesConfig(AppConfig):
    # Label "sites" like django.contrib.sites, which this project does not install.
    name = "sites"
    verbose_name = _("Vaccination sites")
