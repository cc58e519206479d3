from functools import cache

from campaign.roles import Role, role_of
from sites.selectors import adverse_events_to_open


def role(request):
    """The signed-in user's role, for the navigation."""
    user_role = role_of(getattr(request, "user", None))
    return {"user_role": user_role, "Role": Role}


def adverse_events(request):
    """How many adverse events wait for the user to open them (the top bar's badge).

    A callable, so the count (one query) is made only by a page that shows the top bar,
    never by the htmx fragments that are rendered without it.
    """
    user = getattr(request, "user", None)
    if role_of(user) not in (Role.OFFICE, Role.SITE_TEAM):
        return {"adverse_events_to_open": 0}

    @cache
    def count():
        return adverse_events_to_open(user).count()

    return {"adverse_events_to_open": count}
