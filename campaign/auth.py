"""The authentication backend: Django's ModelBackend, with the user of each request read from the cache.

Every request reads its user; with sessions and roles already in Redis, that SELECT on the user
table was the last query a workstation step made before doing its own work. The user's fields
(the password hash included: Django checks the session against it) are kept in the cache beside
the role, read together in one round trip, and forgotten by campaign.signals whenever the user
is saved or deleted, so a changed password, a deactivation or a new role takes effect on the next
request. Entries expire after ROLE_CACHE_SECONDS in any case.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.db import router

from campaign.roles import ROLE_CACHE_SECONDS, role_cache_key, role_preset


def user_cache_key(user_pk) -> str:
    return f"campaign:user:{user_pk}"


class CachedModelBackend(ModelBackend):
    def get_user(self, user_id):
        model = get_user_model()
        key, role_key = user_cache_key(user_id), role_cache_key(user_id)
        found = cache.get_many([key, role_key])
        values = found.get(key)
        if values is None:
            user = super().get_user(user_id)
            if user is None:
                return None
            names = [field.attname for field in model._meta.concrete_fields]
            cache.set(key, {name: getattr(user, name) for name in names}, ROLE_CACHE_SECONDS)
        else:
            user = model.from_db(router.db_for_read(model), list(values), list(values.values()))
        role_preset(user, found.get(role_key))
        return user if self.user_can_authenticate(user) else None


def user_forget(*user_pks) -> None:
    cache.delete_many([user_cache_key(pk) for pk in user_pks])
