from django.shortcuts import get_object_or_404, render

from campaign.lib.access import role_required
from campaign.models import Campaign, Village
from campaign.roles import Role, role_of
from residents.selectors import village_summary


@role_required(Role.CADRE, Role.OFFICE, Role.SUPERVISION, Role.LEADERSHIP)
def village_home(request):
    """The cadre's village page; the office and readers pick a village with ?village=<id>."""
    campaign = Campaign.objects.current()
    if role_of(request.user) == Role.CADRE:
        village = request.user.profile.village
    else:
        villages = campaign.villages.all()
        village = (
            get_object_or_404(villages, pk=request.GET["village"]) if "village" in request.GET else villages.first()
        )
    summary = village_summary(village=village)
    return render(
        request,
        "residents/village_home.html",
        {
            "campaign": campaign,
            "village": village,
            "summary": summary,
            "villages": Village.objects.filter(campaign=campaign),
        },
    )
