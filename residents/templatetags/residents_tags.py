from django import template

from residents.selectors import reviews_pending_count

register = template.Library()


@register.simple_tag(takes_context=True)
def reviews_to_confirm(context, user) -> int:
    """The number on the navigation's "to confirm" link: self-registrations of the campaign the page
    works in (request.campaign) waiting for the user's review."""
    request = context.get("request")
    return reviews_pending_count(user, campaign=getattr(request, "campaign", None))
