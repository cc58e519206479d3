"""The office's QR posters: the list, one village's, the campaign's, and every village's in one print."""

from django.conf import settings
from django.shortcuts import get_object_or_404, render

from appointments.posters.selectors import campaign_poster, public_url, village_posters
from campaign.lib.access import role_required
from campaign.models import Village
from campaign.roles import Role
from campaign.scope import working_campaign


@role_required(Role.OFFICE)
def poster_list(request):
    """The campaign's villages, each with its poster, the campaign's poster and a print of all."""
    campaign = working_campaign(request)
    context = {
        "campaign": campaign,
        "posters": village_posters(request=request, campaign=campaign),
        "campaign_poster": campaign_poster(request=request, campaign=campaign),
        "public_base": public_url(request=request, path="/"),
        "base_configured": bool(settings.PUBLIC_BASE_URL),
    }
    return render(request, "appointments/posters/list.html", context)


@role_required(Role.OFFICE)
def poster_village(request, pk):
    campaign = working_campaign(request)
    village = get_object_or_404(Village, pk=pk, campaign=campaign)
    posters = village_posters(request=request, campaign=campaign, villages=Village.objects.filter(pk=village.pk))
    return _print(request, campaign=campaign, posters=posters, title=village.name)


@role_required(Role.OFFICE)
def poster_campaign(request):
    campaign = working_campaign(request)
    return _print(request, campaign=campaign, posters=[campaign_poster(request=request, campaign=campaign)], title="")


@role_required(Role.OFFICE)
def poster_all(request):
    """Every village's poster, one A4 page each."""
    campaign = working_campaign(request)
    posters = village_posters(request=request, campaign=campaign)
    return _print(request, campaign=campaign, posters=posters, title="", every_village=True)


def _print(request, *, campaign, posters, title, every_village=False):
    context = {"campaign": campaign, "posters": posters, "title": title, "every_village": every_village}
    return render(request, "appointments/posters/print.html", context)
