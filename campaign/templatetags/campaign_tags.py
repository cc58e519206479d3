from django import template

register = template.Library()

STATUS_CLASSES = {
    "eligible": "text-bg-success",
    "deferred": "text-bg-warning",
    "excluded": "text-bg-danger",
    "out_of_age": "text-bg-secondary",
    "refused": "text-bg-dark",
}


@register.filter
def status_class(status: str) -> str:
    """Bootstrap badge colours for a resident's status."""
    return STATUS_CLASSES.get(status, "text-bg-light")
