"""The resident list's search, filters and sort: one definition for the page and the export."""

import re
import unicodedata

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from campaign.lib.documents import DOCUMENT_NUMBER_MAX_LENGTH
from campaign.lib.masking import MASKED_HIDDEN_MIN, MASKED_SEARCH_DIGITS
from campaign.models import Village
from residents.models import Resident

# A role with the full view finds a person by the last 6 digits of the ID number, as the site does;
# a whole number is not searched for here: it would go into the URL and the access logs.
FULL_VIEW_SEARCH_ID_DIGITS = 6
PHONE_DIGITS = 11


def _digits(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or "")).upper()


def search_problem(text: str, *, full: bool) -> str:
    """Why a search by digits is not run, or "" when it is fine.

    Without the full view, digits match only the part of a number that the list shows
    (campaign.lib.masking.MASKED_SEARCH_DIGITS): a longer run would confirm hidden digits one
    at a time. With it, at most the last 6 digits of an ID number, or a phone.
    """
    value = _digits(text)
    if not (value and value.rstrip("X").isdigit()):
        return ""
    if not full and len(value) > MASKED_SEARCH_DIGITS:
        return str(
            _("To protect personal information, search by at most the last %(digits)s digits, or by the name.")
            % {"digits": MASKED_SEARCH_DIGITS}
        )
    if full and len(value) > FULL_VIEW_SEARCH_ID_DIGITS and not (value.isdigit() and len(value) <= PHONE_DIGITS):
        return str(
            _("Search by the last %(digits)s digits of the ID number with the list, never the whole number.")
            % {"digits": FULL_VIEW_SEARCH_ID_DIGITS}
        )
    return ""


def search_residents(queryset, text: str, *, full: bool = False):
    """Name, pinyin initials ("zsf"), the last digits of the document number (any type), or a phone.

    Digits are searched only as far as search_problem allows (nothing is found otherwise):
    without the full view, the last 4 digits that the masked values show.
    """
    value = _digits(text)
    if not value:
        return queryset
    upper = value
    if upper.rstrip("X").isdigit() and len(upper) <= DOCUMENT_NUMBER_MAX_LENGTH:
        if search_problem(upper, full=full):
            return queryset.none()
        condition = Q(id_number_reversed__startswith=upper[::-1]) if len(upper) <= FULL_VIEW_SEARCH_ID_DIGITS else Q()
        if condition and not full:
            # Only numbers whose masked form shows the digits searched (a short passport shows fewer).
            condition &= Q(id_number__regex=rf"^.{{{MASKED_SEARCH_DIGITS + MASKED_HIDDEN_MIN},}}$")
        if upper.isdigit():
            phone = Q(phone=upper) if len(upper) == PHONE_DIGITS else Q(phone__endswith=upper)
            condition = condition | phone if condition else phone
        return queryset.filter(condition) if condition else queryset.none()
    value = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))
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
        # Each direction has its own words: django-filter's default, "姓名 (descending)", is half English.
        # The ascending label is keyed by the model field, the descending one by "-" and the parameter.
        field_labels={
            "name_initials": _("name, A to Z (pinyin)"),
            "-name": _("name, Z to A (pinyin)"),
            "registered_at": _("registered, oldest first"),
            "-registered": _("registered, newest first"),
            "birth_date": _("age, oldest first"),
            "-birth_date": _("age, youngest first"),
            "status": _("status"),
            "-status": _("status, reverse order"),
        },
        label=_("sort"),
        empty_label=_("Newest registered first"),
    )

    class Meta:
        model = Resident
        fields = ["q", "status", "village"]

    def __init__(self, *args, villages=None, full=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.full = full  # whether the user sees full values: how far a search by digits may go
        if villages is None:
            del self.filters["village"]
        else:
            self.filters["village"].queryset = villages

    def filter_search(self, queryset, name, value):
        return search_residents(queryset, value, full=self.full)
