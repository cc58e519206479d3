from functools import cache

from django.urls import reverse

from campaign.roles import Role, role_of
from campaign.scope import open_campaigns
from sites.selectors import adverse_events_to_open


def role(request):
    """The signed-in user's role, for the navigation."""
    user_role = role_of(getattr(request, "user", None))
    context = {"user_role": user_role, "Role": Role}
    if user_role is not None and hasattr(request, "campaign"):
        context["campaign_choice"] = cache(lambda: _campaign_choice(request))
    return context


def _campaign_choice(request) -> dict:
    """The top bar's campaign: the one the page works in, and the open ones to choose from (one query
    when the page has already read request.campaign). After a choice the user comes back to this page,
    or to their home when the page names a record (a plan, a site) that is one campaign's."""
    current = request.campaign
    if not current:
        return {}
    match = getattr(request, "resolver_match", None)
    back = request.path if match is not None and not match.kwargs else reverse("home")
    choices = open_campaigns(request)
    return {"current": current, "choices": choices if len(choices) > 1 else [], "next": back}


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
        campaign = getattr(request, "campaign", None)
        return adverse_events_to_open(user, campaign=campaign).count() if campaign else 0

    return {"adverse_events_to_open": count}
