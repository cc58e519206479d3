from django import template
from django.conf import settings

register = template.Library()


@register.inclusion_tag("public/footer.html", takes_context=True)
def public_footer(context):
    """The public pages' footer: the campaign's name (the page's, or the one chosen on this device, or the
    only open one; none when several are open and none is chosen) and the help phone.

    A page that has its campaign in its context as `footer_campaign` saves the query."""
    from appointments.public.identity import campaign_chosen

    campaign = context.get("footer_campaign") or campaign_chosen(context.get("request"))
    return {"campaign": campaign, "help_phone": settings.PUBLIC_HELP_PHONE}
