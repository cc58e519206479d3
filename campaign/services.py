"""Users and their roles."""

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from campaign.models import Profile
from campaign.roles import Role


@transaction.atomic
def user_assign_role(*, user, role: str, village=None, site=None) -> Profile:
    """Put a user in exactly one role group and bind them to their village or site.

    Raises ValidationError when the binding does not fit the role: a cadre needs a
    village, a site team member a site, and the other roles neither.
    """
    role = Role(role)
    if role == Role.CADRE and (village is None or site is not None):
        raise ValidationError(_("A village cadre is bound to one village."))
    if role == Role.SITE_TEAM and (site is None or village is not None):
        raise ValidationError(_("A site team member is bound to one site."))
    if role not in (Role.CADRE, Role.SITE_TEAM) and (village is not None or site is not None):
        raise ValidationError(_("Only cadres and site teams are bound to a village or site."))
    user.groups.remove(*Group.objects.filter(name__in=Role.values))
    user.groups.add(Group.objects.get(name=role.value))
    profile, _created = Profile.objects.update_or_create(user=user, defaults={"village": village, "site": site})
    user._campaign_role = role.value
    return profile
