from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User

from campaign.models import Campaign, Profile, Village


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "vaccine", "start_date", "end_date", "first_dose_deadline", "target_people", "is_current"]
    list_filter = ["is_current"]
    search_fields = ["name", "vaccine"]


@admin.register(Village)
class VillageAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "site", "population", "quota", "campaign"]
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

    @admin.display(description="role / 角色")
    def role(self, user):
        return ", ".join(group.name for group in user.groups.all())

    @admin.display(description="village or site / 村居或接种点")
    def binding(self, user):
        profile = getattr(user, "profile", None)
        return (profile.village or profile.site or "") if profile else ""

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")
