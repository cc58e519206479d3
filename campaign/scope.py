"""Which campaign a page works in, and what a user's binding means in it.

Several campaigns run at once (Campaign.is_open). Each staff page works within one: the one the
user chose in the top bar (kept in the session and in Profile.last_campaign, so the next login
starts there), else the default (Campaign.objects.default(): the open campaign that started
last). CampaignMiddleware puts it on `request.campaign` (lazily: one query, only when used).

Bindings hold across campaigns: a cadre's Profile.village and a site team's Profile.site point
at one campaign's row; in another campaign the binding is that campaign's row with the same
name (a township's villages and sites keep their names from one campaign to the next).
"""

from django.utils.functional import SimpleLazyObject

from campaign.models import Campaign, Village

SESSION_KEY = "campaign_id"


def campaign_for(request) -> Campaign | None:
    """The campaign this request works in (see the module's docstring), or None when none is open."""
    open_ = Campaign.objects.open()
    chosen = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    if chosen:
        found = open_.filter(pk=chosen).first()
        if found is not None:
            return found
    user = getattr(request, "user", None)
    profile = getattr(user, "profile", None) if user is not None and user.is_authenticated else None
    if profile is not None and profile.last_campaign_id:
        found = open_.filter(pk=profile.last_campaign_id).first()
        if found is not None:
            return found
    return Campaign.objects.default()


def campaign_choose(request, campaign: Campaign) -> None:
    """Work in `campaign` from now on: this session, and the user's next login."""
    request.session[SESSION_KEY] = campaign.pk
    profile = getattr(request.user, "profile", None)
    if profile is not None and profile.last_campaign_id != campaign.pk:
        profile.last_campaign = campaign
        profile.save(update_fields=["last_campaign"])
    request.campaign = campaign


class CampaignMiddleware:
    """Sets request.campaign (lazily; test it with `if not request.campaign`)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.campaign = SimpleLazyObject(lambda: campaign_for(request))
        return self.get_response(request)


def bound_village(user, campaign) -> Village | None:
    """The cadre's village in `campaign`: the row named as the village they are bound to."""
    profile = getattr(user, "profile", None)
    if profile is None or not profile.village_id or campaign is None:
        return None
    if profile.village.campaign_id == campaign.pk:
        return profile.village
    return Village.objects.filter(campaign=campaign, name=profile.village.name).select_related("site").first()


def bound_site(user, campaign):
    """The site team's site in `campaign`: the row named as the site they are bound to."""
    from sites.models import Site

    profile = getattr(user, "profile", None)
    if profile is None or not profile.site_id or campaign is None:
        return None
    if profile.site.campaign_id == campaign.pk:
        return profile.site
    return Site.objects.filter(campaign=campaign, name=profile.site.name).first()
