"""The five roles of DOMAIN.md as Django groups with model permissions.

A user's role is the group they belong to; their Profile binds cadres to a
village and site teams to a site.
"""

from django.apps import apps as global_apps
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CADRE = "cadre", _("village cadre")
    SITE_TEAM = "site_team", _("site team")
    OFFICE = "office", _("campaign office")
    SUPERVISION = "supervision", _("supervision group")
    LEADERSHIP = "leadership", _("leadership")


_ALL = ["add", "change", "delete", "view"]
_MODELS = {
    "campaign": ["campaign", "village", "profile"],
    "sites": ["site", "vaccination", "adverseevent", "prescreening"],
    "residents": ["resident"],
    "appointments": ["appointment"],
}

# Permissions per role, as {app_label: {model: [actions]}}.
ROLE_PERMISSIONS = {
    Role.OFFICE: {app: dict.fromkeys(models_, _ALL) for app, models_ in _MODELS.items()},
    Role.CADRE: {
        "campaign": {"campaign": ["view"], "village": ["view"]},
        "sites": {"site": ["view"], "vaccination": ["view"]},
        "residents": {"resident": ["add", "change", "view"]},
        "appointments": {"appointment": ["add", "change", "view"]},
    },
    Role.SITE_TEAM: {
        "campaign": {"campaign": ["view"], "village": ["view"]},
        "sites": {
            "site": ["view"],
            "vaccination": ["add", "change", "view"],
            "adverseevent": ["add", "view"],
            "prescreening": ["add", "view"],
        },
        "residents": {"resident": ["add", "change", "view"]},
        "appointments": {"appointment": ["add", "change", "view"]},
    },
    Role.SUPERVISION: {app: {model: ["view"] for model in models_} for app, models_ in _MODELS.items()},
    Role.LEADERSHIP: {app: {model: ["view"] for model in models_} for app, models_ in _MODELS.items()},
}


# Not a role of its own: a site team member who is also a doctor may override a positive pre-screening.
SITE_DOCTOR_GROUP = "site_doctor"


def ensure_role_groups(apps=None, using="default", **kwargs):
    """Create (or bring up to date) one group per role with its permissions. Idempotent."""
    from django.contrib.auth.management import create_permissions

    # Our post_migrate handler may run before auth has made the permissions of later apps.
    for label in _MODELS:
        create_permissions(global_apps.get_app_config(label), verbosity=0, using=using)
    for role, grants in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.using(using).get_or_create(name=role.value)
        wanted = []
        for app_label, model_actions in grants.items():
            for model, actions in model_actions.items():
                codenames = [f"{action}_{model}" for action in actions]
                wanted += list(
                    Permission.objects.using(using).filter(
                        content_type__app_label=app_label, content_type__model=model, codename__in=codenames
                    )
                )
        group.permissions.set(wanted)
    doctors, _created = Group.objects.using(using).get_or_create(name=SITE_DOCTOR_GROUP)
    doctors.permissions.set(
        Permission.objects.using(using).filter(content_type__app_label="sites", codename="override_screening")
    )


# A user's role is kept in the cache, so that a request does not read the user's groups again;
# campaign.signals forgets it whenever the user or their groups change.
ROLE_CACHE_SECONDS = 600
_NO_ROLE = ""


def role_cache_key(user_pk) -> str:
    return f"campaign:role:{user_pk}"


def role_from_groups(group_names, *, is_superuser: bool = False) -> str | None:
    """The role (a Role value) that these group names give, or None: a superuser is the office."""
    if is_superuser:
        return Role.OFFICE.value
    return next((r.value for r in Role if r.value in group_names), None)


def role_of(user) -> str | None:
    """The user's role (a Role value), or None for a user without one."""
    if not user or not user.is_authenticated:
        return None
    cached = getattr(user, "_campaign_role", False)
    if cached is not False:
        return cached
    role = cache.get(role_cache_key(user.pk))
    if role is None:
        names = () if user.is_superuser else set(user.groups.values_list("name", flat=True))
        role = role_from_groups(names, is_superuser=user.is_superuser) or _NO_ROLE
        cache.set(role_cache_key(user.pk), role, ROLE_CACHE_SECONDS)
    user._campaign_role = role or None
    return user._campaign_role


def role_preset(user, cached) -> None:
    """Give `user` the role value read from the cache along with it (None: not in the cache)."""
    if cached is not None:
        user._campaign_role = cached or None


def role_forget(*user_pks) -> None:
    """Forget the cached role of these users (their groups or their account changed)."""
    cache.delete_many([role_cache_key(pk) for pk in user_pks])
