"""Accounts made and kept by the office: create, change, reset a password, deactivate, reactivate.

Every change writes one AccountEvent (who, what, when). Which binding a role needs is
campaign.services.user_assign_role's rule; the rules of who may change which account are here.
Refusals are ValidationErrors with a message for the office.
"""

import re
import secrets

from axes.utils import reset as axes_reset
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaign.lib.text import refuse_unsafe
from campaign.models import AccountEvent, Profile
from campaign.roles import SITE_DOCTOR_GROUP, Role, role_from_groups
from campaign.services import user_assign_role

# Lower case letters and digits without look-alikes (0/o, 1/l/i): read aloud or typed from a note.
TEMPORARY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
TEMPORARY_GROUPS, TEMPORARY_GROUP_LENGTH = 3, 4  # about 59 bits
PHONE = re.compile(r"1[0-9]{10}")


class Kind(models.TextChoices):
    """What the office picks for an account: a role, with the site doctor apart from the site team."""

    CADRE = "cadre", gettext_lazy("village cadre")
    SITE_TEAM = "site_team", gettext_lazy("site team member")
    SITE_DOCTOR = "site_doctor", gettext_lazy("site doctor")
    OFFICE = "office", gettext_lazy("campaign office")
    SUPERVISION = "supervision", gettext_lazy("supervision group")
    LEADERSHIP = "leadership", gettext_lazy("leadership")


def kind_role(kind: str) -> Role:
    """The role group of an account kind (a site doctor is a site team member)."""
    return Role.SITE_TEAM if kind == Kind.SITE_DOCTOR else Role(kind)


def kind_from_groups(group_names, *, is_superuser: bool = False) -> str | None:
    """The account kind that these group names give, or None for a user without a role."""
    role = role_from_groups(group_names, is_superuser=is_superuser)
    if role == Role.SITE_TEAM and SITE_DOCTOR_GROUP in group_names:
        return Kind.SITE_DOCTOR.value
    return role


def kind_of(user) -> str | None:
    return kind_from_groups({group.name for group in user.groups.all()}, is_superuser=user.is_superuser)


def describe(kind: str | None, village=None, site=None) -> str:
    """'village cadre · 青山社区': the kind and its binding, as the record and the list show them."""
    label = str(Kind(kind).label) if kind in Kind.values else _("no role")
    binding = village or site
    return f"{label} · {binding}" if binding else label


def temporary_password() -> str:
    """A random password for the office to hand over once, such as 'k7mq-2wxa-p9fd'."""
    return "-".join(
        "".join(secrets.choice(TEMPORARY_ALPHABET) for _i in range(TEMPORARY_GROUP_LENGTH))
        for _g in range(TEMPORARY_GROUPS)
    )


def _record(*, user, action: str, by, detail: str = "") -> AccountEvent:
    return AccountEvent.objects.create(user=user, action=action, by=by, detail=detail[:200])


def _refuse_unmanaged(user) -> None:
    # A superuser holds every permission: handing the office its password would hand over the admin.
    if user.is_superuser:
        raise ValidationError(_("A superuser's account is kept in the Django admin, not here."))


def _check_details(*, full_name: str, phone: str) -> None:
    refuse_unsafe(full_name)
    if not full_name.strip():
        raise ValidationError(_("Give the person's name."))
    if phone and not PHONE.fullmatch(phone):
        raise ValidationError(_("A phone number has 11 digits and starts with 1."))


def _check_kind(kind: str) -> None:
    if kind not in Kind.values:
        raise ValidationError(_("Choose a role."))


def _set_kind(*, user, kind: str, village, site) -> Profile:
    role = kind_role(kind)
    profile = user_assign_role(user=user, role=role, village=village, site=site)
    doctors = Group.objects.get(name=SITE_DOCTOR_GROUP)
    if kind == Kind.SITE_DOCTOR:
        user.groups.add(doctors)
    else:
        user.groups.remove(doctors)
    # The office may open the Django admin for its rare needs; no other role sees it.
    is_staff = role == Role.OFFICE
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])
    return profile


@transaction.atomic
def account_create(*, by, username: str, full_name: str, kind: str, village=None, site=None, phone: str = ""):
    """Make an account with a temporary password that must be changed at the first login.

    Returns (user, temporary password); the password is stored only hashed, so it is shown once.
    Raises ValidationError: a user name taken (in any letter case) or not valid, no name, a phone
    that is not one, or a binding that does not fit the kind (a cadre needs a village, a site
    team member or doctor a site, the others neither).
    """
    username = username.strip()
    User.username_validator(username)
    _check_details(full_name=full_name, phone=phone)
    _check_kind(kind)
    # Django compares user names exactly; 'Cadre_x' beside 'cadre_x' would only confuse people.
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError(_("The user name %(username)s is taken.") % {"username": username})
    password = temporary_password()
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, password=password, first_name=full_name.strip())
    except IntegrityError:  # taken between the look-up and the insert
        raise ValidationError(_("The user name %(username)s is taken.") % {"username": username}) from None
    profile = _set_kind(user=user, kind=kind, village=village, site=site)
    profile.phone = phone
    profile.must_change_password = True
    profile.save(update_fields=["phone", "must_change_password"])
    _record(user=user, action=AccountEvent.Action.CREATED, by=by, detail=describe(kind, village, site))
    return user, password


@transaction.atomic
def account_change(*, by, user, full_name: str, kind: str, village=None, site=None, phone: str = "") -> bool:
    """Change an account's name, phone, role or binding; returns whether anything changed.

    Raises ValidationError as account_create does, for a superuser, and when the office would
    take away its own office role (nobody would be left to undo it).
    """
    _refuse_unmanaged(user)
    _check_details(full_name=full_name, phone=phone)
    _check_kind(kind)
    if user.pk == by.pk and kind_role(kind) != Role.OFFICE:
        raise ValidationError(_("You cannot take away your own office role."))
    profile, _created = Profile.objects.get_or_create(user=user)
    # A binding is compared by name: the same village or site of another campaign is no change (campaign.scope).
    before = (
        user.first_name,
        profile.phone,
        kind_of(user),
        profile.village.name if profile.village_id else None,
        profile.site.name if profile.site_id else None,
    )
    after = (full_name.strip(), phone, kind, getattr(village, "name", None), getattr(site, "name", None))
    if before == after:
        return False
    if before[2:] != after[2:]:
        profile = _set_kind(user=user, kind=kind, village=village, site=site)
    if user.first_name != after[0]:
        user.first_name = after[0]
        user.save(update_fields=["first_name"])
    if profile.phone != phone:
        profile.phone = phone
        profile.save(update_fields=["phone"])
    detail = f"{describe(kind, village, site)} · {after[0]}"
    _record(user=user, action=AccountEvent.Action.CHANGED, by=by, detail=detail)
    return True


@transaction.atomic
def account_reset_password(*, by, user) -> str:
    """Give the account a new temporary password (returned, shown once) to change at the next login.

    The user's open sessions end (Django checks each against the password), and a lockout after
    wrong passwords is lifted. Raises ValidationError for one's own account (use the password
    change page) and for a superuser.
    """
    _refuse_unmanaged(user)
    if user.pk == by.pk:
        raise ValidationError(_("Change your own password on the password page, not here."))
    password = temporary_password()
    user.set_password(password)
    user.save(update_fields=["password"])
    Profile.objects.update_or_create(user=user, defaults={"must_change_password": True})
    axes_reset(username=user.username)
    _record(user=user, action=AccountEvent.Action.PASSWORD_RESET, by=by)
    return password


@transaction.atomic
def account_deactivate(*, by, user) -> None:
    """Stop the account: it can no longer log in, and its open sessions end on their next request.

    Raises ValidationError for one's own account, a superuser, or an account already stopped.
    """
    _refuse_unmanaged(user)
    if user.pk == by.pk:
        raise ValidationError(_("You cannot deactivate your own account."))
    if not user.is_active:
        raise ValidationError(_("This account is already deactivated."))
    user.is_active = False
    user.save(update_fields=["is_active"])  # campaign.signals forgets the cached user: its sessions end
    _record(user=user, action=AccountEvent.Action.DEACTIVATED, by=by)


@transaction.atomic
def account_reactivate(*, by, user) -> None:
    """Let a deactivated account log in again (with its old password). Raises ValidationError when active."""
    _refuse_unmanaged(user)
    if user.is_active:
        raise ValidationError(_("This account is active."))
    user.is_active = True
    user.save(update_fields=["is_active"])
    _record(user=user, action=AccountEvent.Action.REACTIVATED, by=by)


@transaction.atomic
def account_password_changed(*, user) -> None:
    """The user chose a new password (the password page saved it): no change is asked for any more."""
    Profile.objects.filter(user=user, must_change_password=True).update(must_change_password=False)
    _record(user=user, action=AccountEvent.Action.PASSWORD_CHANGED, by=user)


def must_change_password(user) -> bool:
    """Whether the user still has to replace a temporary password."""
    return Profile.objects.filter(user=user, must_change_password=True).exists()
