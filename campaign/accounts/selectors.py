"""Reads for the account pages: the users by kind and binding, and one account's record."""

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet

from campaign.accounts.services import Kind, describe, kind_from_groups
from campaign.roles import SITE_DOCTOR_GROUP, Role


def account_list(*, kind: str = "", village=None, site=None, active: bool | None = None, q: str = "") -> QuerySet:
    """Users of the product, by user name, filtered by kind, village, site, active or not, and name."""
    users = User.objects.select_related("profile__village", "profile__site").prefetch_related("groups")
    if kind == Kind.SITE_DOCTOR:
        users = users.filter(groups__name=SITE_DOCTOR_GROUP).filter(groups__name=Role.SITE_TEAM)
    elif kind == Kind.SITE_TEAM:
        users = users.filter(groups__name=Role.SITE_TEAM).exclude(groups__name=SITE_DOCTOR_GROUP)
    elif kind == Kind.OFFICE:
        users = users.filter(Q(groups__name=Role.OFFICE) | Q(is_superuser=True))
    elif kind:
        users = users.filter(groups__name=kind)
    # Bound by name: a binding holds in every campaign with a village or site of that name (campaign.scope).
    if village is not None:
        users = users.filter(profile__village__name=village.name)
    if site is not None:
        users = users.filter(profile__site__name=site.name)
    if active is not None:
        users = users.filter(is_active=active)
    if q:
        users = users.filter(Q(username__icontains=q) | Q(first_name__icontains=q) | Q(last_name__icontains=q))
    return users.distinct().order_by("username")


def account_row(user) -> dict:
    """One line of the list: the user with their kind, binding and whether a password change is due."""
    profile = getattr(user, "profile", None)
    kind = kind_from_groups({group.name for group in user.groups.all()}, is_superuser=user.is_superuser)
    village, site = (profile.village, profile.site) if profile else (None, None)
    return {
        "user": user,
        "kind": kind,
        "kind_label": describe(kind),
        "binding": village or site or "",
        "must_change_password": bool(profile and profile.must_change_password),
        "phone": profile.phone if profile else "",
    }
