from django.contrib import admin

from campaign.lib.text import CleanTextModelForm
from sites.models import Site


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    form = CleanTextModelForm
    list_display = ["name", "short_name", "address", "daily_capacity", "campaign"]
    list_filter = ["campaign"]
    search_fields = ["name", "short_name", "address"]
