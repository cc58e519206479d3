"""Which campaign a page works in, and what a user's binding means in it.

Several campaigns run at once (Campaign.is_open). Each staff page works within one: the one the
user chose in the top bar (kept in the session and in Profile.last_campaign, so the next login
starts there), else the default (Campaign.objects.default(): the open campaign that started
last). CampaignMiddleware puts it on `request.campaign` (lazily: one query, only when used).

Bindings hold across campaigns: a cadre's Profile.village and a site team's Profile.site point
at one campaign's row; in another campaign the binding is that campaign's row with the same
name (a township's villages and sites keep their names from one campaign to the next).
"""

from django.db.models import Q
from django.shortcuts import render
from django.utils.functional import SimpleLazyObject, empty

from campaign.models import Campaign, Village

SESSION_KEY = "campaign_id"


class NoOpenCampaign(Exception):
    """A page that works within a campaign was asked for while none is open (CampaignMiddleware
    answers it with a page that says so)."""


def campaign_for(request) -> Campaign | None:
    """The campaign this request works in (see the module's docstring), or None when none is open."""
    open_ = Campaign.objects.open()
    chosen = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    if chosen:
        found = open_.filter(pk=chosen).first()
        if found is not None:
            return found
    user = getattr(request, "user", None)
    found = None
    profile = getattr(user, "profile", None) if user is not None and user.is_authenticated else None
    if profile is not None and profile.last_campaign_id:
        found = open_.filter(pk=profile.last_campaign_id).first()
    found = found or Campaign.objects.default()
    if found is not None and user is not None and user.is_authenticated and hasattr(request, "session"):
        # Kept for the session: the next pages need not look for it again (and the workstation's
        # pages find it with their site, in one query: own_site).
        request.session[SESSION_KEY] = found.pk
    return found


def campaign_choose(request, campaign: Campaign) -> None:
    """Work in `campaign` from now on: this session, and the user's next login."""
    request.session[SESSION_KEY] = campaign.pk
    profile = getattr(request.user, "profile", None)
    if profile is not None and profile.last_campaign_id != campaign.pk:
        profile.last_campaign = campaign
        profile.save(update_fields=["last_campaign"])
    request.campaign = campaign


def working_campaign(request) -> Campaign:
    """request.campaign itself (no longer lazy), for a page that cannot work without one: raises
    NoOpenCampaign when no campaign is open."""
    campaign = request.campaign
    if isinstance(campaign, SimpleLazyObject):
        if campaign._wrapped is empty:
            campaign._setup()
        campaign = campaign._wrapped
        request.campaign = campaign
    if campaign is None:
        raise NoOpenCampaign
    return campaign


class CampaignMiddleware:
    """Sets request.campaign (lazily; test it with `if not request.campaign`, or call
    working_campaign(request)), and answers NoOpenCampaign with a page that says no campaign is open."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.campaign = SimpleLazyObject(lambda: campaign_for(request))
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, NoOpenCampaign):
            return render(request, "campaign/no_campaign.html")
        return None


def bound_village(user, campaign) -> Village | None:
    """The cadre's village in `campaign`: the row named as the village they are bound to (one query,
    with its site and campaign), or None (no binding, or no village of that name in `campaign`)."""
    if campaign is None or user is None or not user.is_authenticated:
        return None
    bound_names = Village.objects.filter(cadres__user=user).values("name")
    return Village.objects.filter(campaign=campaign, name__in=bound_names).select_related("site", "campaign").first()


def bound_site(user, campaign):
    """The site team's site in `campaign`: the row named as the site they are bound to (one query,
    with its campaign), or None."""
    from sites.models import Site

    if campaign is None or user is None or not user.is_authenticated:
        return None
    bound_names = Site.objects.filter(team__user=user).values("name")
    return Site.objects.filter(campaign=campaign, name__in=bound_names).select_related("campaign").first()


def own_village(request) -> Village:
    """A cadre's village in the campaign the page works in; 403 when she has none there."""
    from django.core.exceptions import PermissionDenied

    village = bound_village(request.user, working_campaign(request))
    if village is None:
        raise PermissionDenied
    return village


def _campaign_not_read_yet(request) -> bool:
    campaign = getattr(request, "campaign", None)
    return isinstance(campaign, SimpleLazyObject) and campaign._wrapped is empty


def in_working_campaign(request, path: str = "campaign") -> Q:
    """A filter for rows of the campaign the page works in, `path` leading to the campaign
    ("site__campaign"), that costs no query of its own when the session holds the choice: it is
    the choice while that campaign is open, which is what request.campaign would read. Raises
    NoOpenCampaign as working_campaign does."""
    chosen = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    if chosen and _campaign_not_read_yet(request):
        return Q(**{f"{path}_id": chosen, f"{path}__is_open": True})
    return Q(**{path: working_campaign(request)})


def own_site(request):
    """A site team's site in the campaign the page works in, with its campaign; 403 when they have
    none there. One query on the workstation's busy pages: the site is read with the campaign
    chosen in the session, which becomes request.campaign."""
    from django.core.exceptions import PermissionDenied

    from sites.models import Site

    chosen = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    if chosen and _campaign_not_read_yet(request):
        site = (
            Site.objects.filter(
                campaign_id=chosen,
                campaign__is_open=True,
                name__in=Site.objects.filter(team__user=request.user).values("name"),
            )
            .select_related("campaign")
            .first()
        )
        if site is not None:
            request.campaign = site.campaign
            return site
    site = bound_site(request.user, working_campaign(request))
    if site is None:
        raise PermissionDenied
    return site


def bound_to_village(village, prefix: str = "") -> Q:
    """The users bound to `village` in its campaign: their profile's village has its name (in any
    campaign). `prefix` leads to the user ("recipient__" for a message's recipient)."""
    return Q(**{f"{prefix}profile__village__name": village.name})


def bound_to_site(site, prefix: str = "") -> Q:
    """The users bound to `site` in its campaign: their profile's site has its name (in any campaign)."""
    return Q(**{f"{prefix}profile__site__name": site.name})
