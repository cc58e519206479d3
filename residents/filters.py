"""The resident list's search, filters and sort: one definition for the page and the export."""

import re
import unicodedata

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from campaign.models import Village
from residents.models import Resident


def search_residents(queryset, text: str):
    """Name, pinyin initials ("zsf"), the last digits of the ID number, or a phone."""
    value = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))
    if not value:
        return queryset
    upper = value.upper()
    if upper.rstrip("X").isdigit() and len(upper) <= 18:
        condition = Q(id_number_reversed__startswith=upper[::-1])
        if upper.isdigit():
            condition |= Q(phone=upper) if len(upper) == 11 else Q(phone__endswith=upper)
        return queryset.filter(condition)
    if value.isascii() and value.isalpha():
        return queryset.filter(name_initials__startswith=value.lower())
    return queryset.filter(name__contains=value)


class ResidentFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label=_("Search"))
    status = django_filters.ChoiceFilter(
        choices=Resident.Status.choices, label=_("status"), empty_label=_("All statuses")
    )
    village = django_filters.ModelChoiceFilter(queryset=Village.objects.none(), label=_("village"))
    ordering = django_filters.OrderingFilter(
        fields=(
            ("name_initials", "name"),
            ("registered_at", "registered"),
            ("birth_date", "birth_date"),
            ("status", "status"),
        ),
        field_labels={
            "name_initials": pgettext_lazy("person", "name"),
            "registered_at": _("registered at"),
            "birth_date": _("birth date"),
            "status": _("status"),
        },
        label=_("sort"),
        empty_label=_("Newest registered first"),
    )

    class Meta:
        model = Resident
        fields = ["q", "status", "village"]

    def __init__(self, *args, villages=None, **kwargs):
        super().__init__(*args, **kwargs)
        if villages is None:
            del self.filters["village"]
        else:
            self.filters["village"].queryset = villages

    def filter_search(self, queryset, name, value):
        return search_residents(queryset, value)
