from django import template
from django.conf import settings

from campaign.models import Campaign

register = template.Library()


@register.inclusion_tag("public/footer.html")
def public_footer():
    """The public pages' footer: the current campaign's name and the help phone."""
    return {"campaign": Campaign.objects.current_or_none(), "help_phone": settings.PUBLIC_HELP_PHONE}
