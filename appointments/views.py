from django.shortcuts import render
from django.utils import timezone

from appointments.selectors import site_day_summary
from campaign.lib.access import role_required
from campaign.roles import Role


@role_required(Role.SITE_TEAM)
def site_home(request):
    """The site team's page for today."""
    site = request.user.profile.site
    today = timezone.localdate()
    return render(
        request,
        "appointments/site_home.html",
        {"site": site, "today": today, "summary": site_day_summary(site=site, day=today)},
    )
