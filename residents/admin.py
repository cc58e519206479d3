from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from campaign.lib.text import CleanTextModelForm
from residents.models import FullValueView, Resident


@admin.register(Resident)
class ResidentAdmin(SimpleHistoryAdmin):
    form = CleanTextModelForm
    list_display = ["name", "masked_id", "sex", "birth_date", "village", "status", "registered_at"]
    list_filter = [
        "status",
        "channel",
        "review",
        "document_type",
        "village__site",
        "village",
        "basis",
        "priority_group",
    ]
    list_select_related = ["village"]
    search_fields = ["name", "=name_initials"]
    # How the person registered, the review and the consent change only through residents.services.
    readonly_fields = [
        "birth_date",
        "sex",
        "nationality",
        "registered_at",
        "updated_at",
        "channel",
        "review",
        "review_reason",
        "reviewed_by",
        "reviewed_at",
        "consent_at",
        "consent_version",
    ]
    autocomplete_fields = ["village", "responsible_cadre", "registered_by"]
    show_full_result_count = False
    list_per_page = 50

    @admin.display(description=_("document number"), ordering="id_number")
    def masked_id(self, resident):
        from campaign.lib.masking import mask_document_number

        return mask_document_number(resident.document_type, resident.id_number)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip().upper()
        # Digits search the end of the document number through its reversed, indexed copy.
        if term and len(term) <= 20 and term.rstrip("X").isdigit():
            return queryset.filter(id_number_reversed__startswith=term[::-1]), False
        return super().get_search_results(request, queryset, search_term)

    def save_model(self, request, obj, form, change):
        from residents.services import resident_fill_derived

        resident_fill_derived(obj)
        super().save_model(request, obj, form, change)


@admin.register(FullValueView)
class FullValueViewAdmin(admin.ModelAdmin):
    """The record of views of full values: read-only, for the office (it is evidence, never edited)."""

    form = CleanTextModelForm  # read-only here, but every admin form applies the text rule

    list_display = ["viewed_at", "user", "kind", "subject", "people"]
    list_filter = ["kind", "viewed_at"]
    list_select_related = ["user"]
    search_fields = ["user__username", "subject"]
    date_hierarchy = "viewed_at"
    readonly_fields = ["viewed_at", "user", "kind", "resident", "subject", "people"]

    def _is_office(self, request):
        from campaign.roles import Role, role_of

        return request.user.is_active and (request.user.is_superuser or role_of(request.user) == Role.OFFICE)

    def has_module_permission(self, request):
        return self._is_office(request)

    def has_view_permission(self, request, obj=None):
        return self._is_office(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
