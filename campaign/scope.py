"""Which campaign a page works in, and what a user's binding means in it.

Several campaigns run at once (Campaign.is_open). Each staff page works within one: the one the
user chose in the top bar (kept in the session and in Profile.last_campaign, so the next login
starts there), else the default (Campaign.objects.default(): the open campaign that has run
longest). CampaignMiddleware puts it on `request.campaign` (lazily: one query, only when used).

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


def open_campaigns(request) -> list[Campaign]:
    """The open campaigns, the default first (Campaign.objects.in_default_order): one query per request
    (the top bar's choice reads the same list)."""
    found = getattr(request, "_open_campaigns", None)
    if found is None:
        from django.db.models import Exists, OuterRef, Value

        from campaign.models import Profile

        campaigns = Campaign.objects.in_default_order()
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # Whether it is the one the user last worked in (Profile.last_campaign), in the same query.
            last = Profile.objects.filter(user_id=user.pk, last_campaign=OuterRef("pk"))
            found = list(campaigns.annotate(is_last=Exists(last)))
        else:
            found = list(campaigns.annotate(is_last=Value(False)))
        request._open_campaigns = found
    return found


def campaign_for(request) -> Campaign | None:
    """The campaign this request works in (see the module's docstring), or None when none is open."""
    open_ = {campaign.pk: campaign for campaign in open_campaigns(request)}
    if not open_:
        return None
    chosen = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    if chosen in open_:
        return open_[chosen]
    last = next((campaign for campaign in open_.values() if campaign.is_last), None)
    # Else the default: the open campaign that has run longest (Campaign.objects.default()).
    return last or next(iter(open_.values()))


def _campaign_id_in_sql(request):
    """campaign_for's choice as an SQL expression (a subquery of the query it goes into, no query of its
    own): the session's choice while open, else the user's last campaign while open, else the default
    (Campaign.objects.in_default_order). None when there is no signed-in user to choose for."""
    from django.db.models import IntegerField, Subquery, Value
    from django.db.models.functions import Coalesce

    from campaign.models import Profile

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    choices = []
    chosen = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    if isinstance(chosen, int):
        choices.append(Subquery(Campaign.objects.open().filter(pk=chosen).values("pk")[:1]))
    choices.append(
        Subquery(Profile.objects.filter(user=user, last_campaign__is_open=True).values("last_campaign_id")[:1])
    )
    choices.append(Subquery(Campaign.objects.in_default_order().values("pk")[:1]))
    return Coalesce(*choices, Value(None), output_field=IntegerField())


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
    ("site__campaign"), that costs no query of its own while request.campaign is not read yet."""
    if _campaign_not_read_yet(request):
        expression = _campaign_id_in_sql(request)
        if expression is not None:
            return Q(**{f"{path}_id": expression})
    return Q(**{path: working_campaign(request)})


def own_site(request):
    """A site team's site in the campaign the page works in, with its campaign; 403 when they have
    none there. One query on the workstation's busy pages: the site is read with the campaign
    (in_working_campaign), which becomes request.campaign."""
    from django.core.exceptions import PermissionDenied

    from sites.models import Site

    if _campaign_not_read_yet(request):
        site = (
            Site.objects.filter(
                in_working_campaign(request),
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
