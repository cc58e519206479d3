from django.contrib import admin

from appointments.admin import ResidentLookupMixin
from campaign.lib.text import CleanTextModelForm
from sites.models import AdverseEvent, Site, Vaccination


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    form = CleanTextModelForm
    list_display = ["name", "short_name", "address", "daily_capacity", "campaign"]
    list_filter = ["campaign"]
    search_fields = ["name", "short_name", "address"]


@admin.register(Vaccination)
class VaccinationAdmin(ResidentLookupMixin, admin.ModelAdmin):
    form = CleanTextModelForm
    list_display = ["resident", "dose_number", "site", "vaccinated_at", "lot_number", "vaccinator"]
    list_filter = ["site", "dose_number", "resident__village"]
    list_select_related = ["resident", "site", "vaccinator"]
    search_fields = ["resident__name", "lot_number"]
    raw_id_fields = ["resident", "appointment", "vaccinator"]
    show_full_result_count = False


@admin.register(AdverseEvent)
class AdverseEventAdmin(admin.ModelAdmin):
    form = CleanTextModelForm
    list_display = ["vaccination", "onset", "severity", "referred_to_hospital", "reported_by", "reported_at"]
    list_filter = ["severity", "referred_to_hospital", "vaccination__site"]
    list_select_related = ["vaccination__resident", "reported_by"]
    search_fields = ["vaccination__resident__name", "symptoms"]
    raw_id_fields = ["vaccination", "reported_by"]
