"""For management commands: the campaign a command works in (--campaign), or a clear error.

Several campaigns run at once (Campaign.objects.open()): a command that works within one campaign
takes `--campaign` (its name or id); without it, the default campaign (the open one that has run longest).
"""

from django.core.management.base import CommandError

from campaign.models import Campaign


def add_campaign_argument(parser) -> None:
    parser.add_argument(
        "--campaign", help="the campaign, by name or id (default: the open campaign that has run longest)"
    )


def command_campaign(value: str | int | None = None) -> Campaign:
    """The campaign named (or numbered) `value`; without one, the default campaign. CommandError if none."""
    if value is None or str(value).strip() == "":
        campaign = Campaign.objects.default()
        if campaign is None:
            raise CommandError("No campaign is open (load_demo, or open one in the office's campaign pages).")
        return campaign
    value = str(value).strip()
    found = Campaign.objects.filter(name=value).first()
    if found is None and value.isdigit():
        found = Campaign.objects.filter(pk=int(value)).first()
    if found is None:
        known = "; ".join(f"{c.pk} {c.name}" for c in Campaign.objects.order_by("pk"))
        raise CommandError(f"No campaign {value!r}. Campaigns: {known or 'none'}.")
    return found


def current_campaign() -> Campaign:
    """Transitional (other branches may still call it): command_campaign() without --campaign."""
    return command_campaign()
