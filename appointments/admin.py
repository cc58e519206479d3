from django.contrib import admin

from appointments.models import AdverseEvent, Appointment, Vaccination
from campaign.lib.text import CleanTextModelForm


class ResidentLookupMixin:
    """Search by resident name or by the last digits of the ID number."""

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip().upper()
        if term and term.rstrip("X").isdigit():
            return queryset.filter(resident__id_number_reversed__startswith=term[::-1]), False
        return super().get_search_results(request, queryset, search_term)


@admin.register(Appointment)
class AppointmentAdmin(ResidentLookupMixin, admin.ModelAdmin):
    form = CleanTextModelForm
    list_display = ["resident", "dose_number", "site", "date", "status", "walk_in"]
    list_filter = ["status", "site", "dose_number", "resident__village", "date"]
    list_select_related = ["resident", "site"]
    search_fields = ["resident__name"]
    raw_id_fields = ["resident", "booked_by"]
    date_hierarchy = "date"
    show_full_result_count = False


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
