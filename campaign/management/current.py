"""For management commands: the current campaign, or a clear error when there is none."""

from django.core.management.base import CommandError

from campaign.models import Campaign


def current_campaign() -> Campaign:
    campaign = Campaign.objects.current_or_none()
    if campaign is None:
        raise CommandError("There is no current campaign (load_demo, or mark one as current in the admin).")
    return campaign
