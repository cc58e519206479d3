"""Signals only invalidate caches: a user's cached role and fields are forgotten when their account or groups change."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import receiver

from campaign.auth import user_forget
from campaign.roles import role_forget

User = get_user_model()


@receiver(post_save, sender=User, dispatch_uid="campaign.role.user_saved")
@receiver(post_delete, sender=User, dispatch_uid="campaign.role.user_deleted")
def forget_role_of_user(sender, instance, **kwargs):
    # is_superuser may have changed; a new user may reuse the primary key of a deleted one.
    role_forget(instance.pk)
    user_forget(instance.pk)  # the cached user: its password, is_active, names


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="campaign.role.groups_changed")
def forget_role_on_groups_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if not action.startswith("post_") and action != "pre_clear":
        return
    if not reverse:  # user.groups.add(...)
        role_forget(instance.pk)
    elif pk_set:  # group.user_set.add(...)
        role_forget(*pk_set)
    elif action == "pre_clear":  # group.user_set.clear()
        role_forget(*instance.user_set.values_list("pk", flat=True))


@receiver(pre_delete, sender=Group, dispatch_uid="campaign.role.group_deleted")
def forget_role_of_group_members(sender, instance, **kwargs):
    role_forget(*instance.user_set.values_list("pk", flat=True))
