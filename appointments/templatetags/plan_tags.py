from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext, pgettext

from appointments.planning.selectors import village_places

register = template.Library()


@register.simple_tag
def village_plan_places(village, limit=7):
    """The village's next places in published plans (see appointments.planning.selectors.village_places)."""
    if village is None:
        return []
    return village_places(village=village, since=timezone.localdate(), limit=limit)


@register.filter
def later_doses(campaign) -> str:
    """The campaign's later doses as the booking and plan pages say them: "dose 2 14+ days after dose 1;
    dose 3 60+ days after dose 2" ("" for a one-dose campaign)."""
    return pgettext("list separator", "; ").join(
        gettext("dose %(dose)s %(days)s+ days after dose %(previous)s")
        % {"dose": dose, "days": campaign.interval_before(dose), "previous": dose - 1}
        for dose in campaign.dose_numbers[1:]
    )


@register.filter
def weekday_short(day) -> str:
    """周一 … 周日 in Chinese, Mon … Sun in English."""
    names = [
        pgettext("weekday", "Mon"),
        pgettext("weekday", "Tue"),
        pgettext("weekday", "Wed"),
        pgettext("weekday", "Thu"),
        pgettext("weekday", "Fri"),
        pgettext("weekday", "Sat"),
        pgettext("weekday", "Sun"),
    ]
    return names[day.weekday()]


@register.filter
def day_label(day) -> str:
    """A day as people read it: 2026年12月5日 周六 in Chinese, Dec. 5, 2026 Sat in English."""
    return f"{date_format(day, 'DATE_FORMAT')} {weekday_short(day)}"
