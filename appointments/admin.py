from django.contrib import admin

from appointments.models import Appointment
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
