from django import template
from django.conf import settings

from campaign.models import Campaign

register = template.Library()


@register.inclusion_tag("public/footer.html", takes_context=True)
def public_footer(context):
    """The public pages' footer: the current campaign's name and the help phone.

    A page that has the current campaign in its context as `footer_campaign` saves the query."""
    campaign = context.get("footer_campaign") or Campaign.objects.current_or_none()
    return {"campaign": campaign, "help_phone": settings.PUBLIC_HELP_PHONE}
