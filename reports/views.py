from django.shortcuts import render
from django.utils import timezone

from campaign.lib.access import role_required
from campaign.models import Campaign
from campaign.roles import Role
from reports.selectors import campaign_overview


@role_required(Role.OFFICE, Role.SUPERVISION, Role.LEADERSHIP)
def dashboard(request):
    """Progress of the current campaign for the office, supervision and leadership."""
    campaign = Campaign.objects.current()
    today = timezone.localdate()
    return render(
        request,
        "reports/dashboard.html",
        {"campaign": campaign, "today": today, "overview": campaign_overview(campaign=campaign, on=today)},
    )
