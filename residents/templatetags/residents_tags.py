from django import template

from residents.selectors import reviews_pending_count

register = template.Library()


@register.simple_tag
def reviews_to_confirm(user) -> int:
    """The number on the navigation's "to confirm" link: self-registrations waiting for the user's review."""
    return reviews_pending_count(user)
