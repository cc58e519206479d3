"""The office's page for the self-booking rules of each campaign (appointments.public.booking reads them)."""

import datetime

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from appointments.public import booking
from appointments.public.models import SelfBookingRules
from campaign.lib.access import role_required
from campaign.lib.text import CleanTextMixin
from campaign.roles import Role
from campaign.scope import working_campaign


class RulesForm(CleanTextMixin, forms.ModelForm):
    """The rules with their bounds; every message in the user's language (Chinese by default)."""

    share_percent = forms.IntegerField(
        label=gettext_lazy("Share of each village's plan places open to self-booking (%)"),
        min_value=0,
        max_value=100,
        error_messages={
            "min_value": gettext_lazy("The share is a percentage from 0 to 100."),
            "max_value": gettext_lazy("The share is a percentage from 0 to 100."),
        },
    )
    open_days_before = forms.IntegerField(
        label=gettext_lazy("Each week's places open this many days before its Monday"),
        min_value=0,
        max_value=28,
        error_messages={
            "min_value": gettext_lazy("Open the week 0 to 28 days before its Monday."),
            "max_value": gettext_lazy("Open the week 0 to 28 days before its Monday."),
        },
    )
    open_time = forms.TimeField(
        label=gettext_lazy("at (time of day)"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"invalid": gettext_lazy("Enter a time of day such as 08:00.")},
    )
    changes_allowed = forms.IntegerField(
        label=gettext_lazy("Changes of day allowed per person"),
        min_value=0,
        max_value=20,
        error_messages={
            "min_value": gettext_lazy("Allow 0 to 20 changes per person."),
            "max_value": gettext_lazy("Allow 0 to 20 changes per person."),
        },
    )
    cutoff_hours = forms.IntegerField(
        label=gettext_lazy("Booking, changes and cancelling close this many hours before the day begins"),
        min_value=0,
        max_value=168,
        error_messages={
            "min_value": gettext_lazy("The cutoff is 0 to 168 hours (a week) before the day."),
            "max_value": gettext_lazy("The cutoff is 0 to 168 hours (a week) before the day."),
        },
    )

    class Meta:
        model = SelfBookingRules
        fields = ["enabled", "share_percent", "open_days_before", "open_time", "changes_allowed", "cutoff_hours"]
        labels = {"enabled": gettext_lazy("Residents may book themselves online")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.required = name != "enabled"
            css = "form-check-input" if name == "enabled" else "form-control"
            field.widget.attrs.setdefault("class", css)


def _example(rules: SelfBookingRules) -> dict:
    """What the rules mean for next week, said in dates: when its places open and when Monday's close."""
    today = timezone.localdate()
    monday = today + datetime.timedelta(days=7 - today.weekday())
    return {
        "monday": monday,
        "opens_at": booking.week_opens_at(rules, monday),
        "closes_at": booking.changes_close_at(rules, monday),
        "share_of_100": booking.self_share(rules, 100),
    }


@role_required(Role.OFFICE)
def rules(request):
    """Show and change the self-booking rules of the campaign the page works in (the office only)."""
    campaign = working_campaign(request)
    current = booking.rules_for(campaign)
    form = RulesForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        saved = form.save(commit=False)
        saved.campaign = campaign
        saved.updated_at = timezone.now()
        saved.updated_by = request.user
        saved.save()
        # The days shown to residents follow at once, not after their cache expires.
        booking.self_days_forget(villages=campaign.villages.all(), campaign=campaign)
        messages.success(request, _("The self-booking rules were saved."))
        return redirect("public:office_rules")
    return render(
        request,
        "public/office_rules.html",
        {"form": form, "campaign": campaign, "rules": current, "example": _example(current)},
    )
