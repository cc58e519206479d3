from django import template

register = template.Library()


@register.filter
def with_labels(counts, labels):
    """Pair each dose's count with its header: {% for label, count in v.doses|with_labels:dose_labels %}."""
    return list(zip(labels, counts, strict=False))
