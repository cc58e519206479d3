from django import template
from django.template.defaulttags import CsrfTokenNode

register = template.Library()

STATUS_CLASSES = {
    "eligible": "text-bg-success",
    "deferred": "text-bg-warning",
    "excluded": "text-bg-danger",
    "out_of_age": "text-bg-secondary",
    "refused": "text-bg-dark",
}


@register.filter
def document_short(document_type: str) -> str:
    """A document type's short name (身份证, 护照, 回乡证 ...) for a list or a badge."""
    from campaign.lib.documents import document_short_label

    return document_short_label(document_type)


@register.filter
def status_class(status: str) -> str:
    """Bootstrap badge colours for a resident's status."""
    return STATUS_CLASSES.get(status, "text-bg-light")


@register.filter
def query_pairs(query, leave_out: str = ""):
    """(name, value) pairs of a QueryDict, without the names listed (comma-separated).

    A template cannot say `request.GET.lists`: the template engine first tries `request.GET["lists"]`,
    so `?lists=abc` would hand the loop a string (a 500).
    """
    skipped = set(leave_out.split(","))
    return [(key, value) for key, values in query.lists() if key not in skipped for value in values]


@register.simple_tag(takes_context=True)
def form_csrf(context):
    """The CSRF field of a form: in a full page, the hidden input; in a fragment htmx fetched, nothing.

    htmx sends the page's token with every request it makes (the X-CSRFToken header set on
    <body> in base.html), so a form htmx swapped in needs no field of its own. Drawing a
    token is not free: Django masks each one afresh with ~33 reads of the system's random
    source, each letting go of the GIL, which cost a busy threaded server about a third of a
    millisecond per workstation step (docs/PERFORMANCE.md).
    """
    request = context.get("request")
    if request is not None and request.headers.get("HX-Request") == "true":
        return ""
    return CsrfTokenNode().render(context)
