"""Reads for the office's campaign set-up: the campaigns, and what the township knows from earlier ones."""

from django.db.models import Count

from campaign.models import Campaign, Village
from campaign.services import SiteSpec, VillageSpec
from sites.models import Site


def campaign_list():
    """Every campaign, open ones first, newest first, with its numbers of sites and villages."""
    return Campaign.objects.annotate(
        site_count=Count("sites", distinct=True), village_count=Count("villages", distinct=True)
    ).order_by("-is_open", "-start_date", "-id")


def township_sites() -> list[SiteSpec]:
    """The sites of earlier campaigns, one per name, as the newest campaign had them."""
    found = {}
    for site in Site.objects.order_by("-campaign__start_date", "-campaign_id", "id"):
        found.setdefault(site.name, SiteSpec(site.name, site.daily_capacity, site.address, site.short_name))
    return list(found.values())


def township_villages() -> list[VillageSpec]:
    """The villages of earlier campaigns, one per name with its population and site as last set (no quota)."""
    found = {}
    rows = Village.objects.select_related("site").order_by("-campaign__start_date", "-campaign_id", "site_id", "id")
    for village in rows:
        found.setdefault(
            village.name, VillageSpec(village.name, village.population, None, village.site.name, village.kind)
        )
    return list(found.values())


def township_village_sites() -> dict[str, str]:
    """{village name: the name of the site that served it last}."""
    return {village.name: village.site_name for village in township_villages()}
