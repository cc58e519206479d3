from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy as _

from campaign.lib.text import CleanTextModelForm
from campaign.models import Campaign, Profile, Village

admin.site.site_header = _("Vaccination campaign administration")
admin.site.site_title = _("Vaccination campaign")
admin.site.index_title = _("Campaign configuration and records")


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CleanTextModelForm
    list_display = ["name", "vaccine", "start_date", "end_date", "first_dose_deadline", "target_people", "is_open"]
    list_filter = ["is_open"]
    search_fields = ["name", "vaccine"]


@admin.register(Village)
class VillageAdmin(admin.ModelAdmin):
    form = CleanTextModelForm
    list_display = ["name", "kind", "site", "population", "quota"]
    list_filter = ["campaign", "site", "kind"]
    list_select_related = ["site", "campaign"]
    search_fields = ["name"]


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    autocomplete_fields = ["village"]


admin.site.unregister(User)


@admin.register(User)
class CampaignUserAdmin(UserAdmin):
    inlines = [ProfileInline]
    list_display = ["username", "first_name", "is_active", "is_staff", "role", "binding"]
    list_filter = ["groups", "is_active", "is_staff"]
    list_select_related = ["profile__village", "profile__site"]

    @admin.display(description=_("role"))
    def role(self, user):
        return ", ".join(group.name for group in user.groups.all())

    @admin.display(description=_("village or site"))
    def binding(self, user):
        profile = getattr(user, "profile", None)
        return (profile.village or profile.site or "") if profile else ""

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")
