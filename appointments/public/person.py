"""One person's page on the public pages: who, their status, appointments and doses, the electronic
slip, and booking, moving and cancelling their own appointment (appointments.public.booking).

Only the verified phone that manages the person reaches it (identity.member_for: 404 for anyone
else's). The days shown come from booking.self_days (cached for a few seconds); every action is
decided by the booking services in the database.
"""

import datetime

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_ratelimit.decorators import ratelimit

from appointments.daily.selectors import slips_for
from appointments.models import OPEN_STATUSES, Appointment
from appointments.public import booking, identity, limits
from appointments.public.models import SelfChange
from appointments.public.selectors import resident_status_line
from appointments.services import AlreadyBooked, BookingRefused, booking_refusal
from campaign.lib.masking import mask_document_number
from residents.selectors import self_registration_status


def _rate(name):
    from django.conf import settings

    return lambda group, request: getattr(settings, name)


def _limited(view):
    """The booking actions' request rates: per verified phone, per device and per address."""
    group = "public:book"
    view = ratelimit(group=group, key=limits.verified_phone_key, rate=_rate("PUBLIC_RATE_BOOK_PHONE"), method="POST")(
        view
    )
    view = ratelimit(group=group, key=limits.device_key, rate=_rate("PUBLIC_RATE_BOOK_DEVICE"), method="POST")(view)
    view = ratelimit(group=group, key=limits.address_key, rate=_rate("PUBLIC_RATE_BOOK_ADDRESS"), method="POST")(view)
    return limits.with_device(view)


def _day(raw: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(raw or "")
    except ValueError:
        return None


def _can_cancel(rules, appointment, now, *, earlier_open: int | None) -> bool:
    try:
        booking.check_cancel(rules=rules, appointment=appointment, now=now, earlier_open=earlier_open)
    except BookingRefused:
        return False
    return True


def _page(request, member, *, busy: bool = False, done: str = "", status: int = 200):
    resident = member.resident
    campaign = resident.campaign
    now = timezone.now()
    rules = booking.rules_shown(campaign)
    appointments = list(
        Appointment.objects.filter(resident=resident).select_related("site").order_by("dose_number", "-booked_at")
    )
    open_ones = [item for item in appointments if item.status in OPEN_STATUSES]
    vaccinations = list(resident.vaccinations.select_related("site").order_by("dose_number"))
    given = {item.dose_number for item in vaccinations}
    # The slip to show: the next open appointment (it carries the later doses held after it).
    upcoming = sorted(open_ones, key=lambda item: (item.date, item.dose_number))
    slip = slips_for([upcoming[0]], open_appointments=open_ones)[0] if upcoming else None
    dose1 = next((item for item in open_ones if item.dose_number == 1), None)
    can_book = booking_refusal(resident) is None and 1 not in given and dose1 is None
    days = booking.self_days(village=resident.village, campaign=campaign) if (can_book or dose1) else []
    offered = [{"day": day, "state": day.state(now)} for day in days]
    soon = [row for row in offered if row["state"] == "soon"]
    changeable = dose1 is not None and dose1.status == Appointment.Status.BOOKED
    # Counted only where a change can be offered (the move itself counts again, under its lock).
    used = SelfChange.objects.filter(resident=resident, kind__in=SelfChange.COUNTED).count() if changeable else 0
    lowest_open = min((item.dose_number for item in open_ones), default=None)
    cancellable = [item for item in open_ones if _can_cancel(rules, item, now, earlier_open=lowest_open)]
    return render(
        request,
        "public/person_page.html",
        {
            "member": member,
            "resident": resident,
            "masked_document": mask_document_number(resident.document_type, resident.id_number),
            # From the appointments and doses read above: the line adds no query.
            "status_line": resident_status_line(
                resident, doses=campaign.doses, appointments=appointments, vaccinations=vaccinations
            ),
            # A self-registration's standing with the cadre (待村干部确认, or refused with the reason).
            "review": self_registration_status(resident),
            "appointments": [item for item in appointments if item.status != Appointment.Status.VACCINATED],
            "vaccinations": vaccinations,
            "slip": slip,
            "next_day": upcoming[0] if upcoming else None,
            "can_book": can_book and rules.enabled,
            "closed": (can_book or changeable) and not rules.enabled,
            "offered": offered,
            "opens_at": soon[0]["day"].opens_at if soon and not any(r["state"] == "open" for r in offered) else None,
            "dose1": dose1,
            "can_move": changeable
            and rules.enabled
            and used < rules.changes_allowed
            and now < booking.changes_close_at(rules, dose1.date),
            "move_days": [row for row in offered if row["state"] == "open" and dose1 and row["day"].date != dose1.date],
            "changes_left": max(rules.changes_allowed - used, 0),
            "cancellable": {item.pk for item in cancellable},
            "rules": rules,
            "busy": busy,
            "done": done,
            "footer_campaign": campaign,
        },
        status=status,
    )


@identity.phone_required
@limits.with_device
def person(request, member_id: int):
    """The person's page: status, appointments, doses, the slip, and the days they can book."""
    member = identity.member_for(request, member_id)
    return _page(request, member)


def _refused(request, member, refused: BookingRefused):
    if isinstance(refused, booking.Busy):
        # Nothing was taken: the page says so and offers the same choice again.
        return _page(request, member, busy=True)
    messages.error(request, refused.message)
    return redirect("public:person", member.pk)


@identity.phone_required
@require_POST
@_limited
def book(request, member_id: int):
    """Book dose 1 on the chosen day and hold the later doses (booking.self_book)."""
    member = identity.member_for(request, member_id)
    day = _day(request.POST.get("day"))
    if day is None:
        messages.error(request, _("Choose a day."))
        return redirect("public:person", member.pk)
    try:
        booking.self_book(resident=member.resident, day=day, account=member.account)
    except AlreadyBooked as refused:
        # A reload of the page that answered the booking posts again: nothing is booked twice, and the
        # page with the first booking's slip is shown with a note, not an error.
        messages.info(request, refused.message)
        return redirect("public:person", member.pk)
    except BookingRefused as refused:
        return _refused(request, member, refused)
    # The page itself answers the POST (status 200), not a redirect to it: one request less per person
    # at the rush. A reload posts again, and harmlessly: self_book refuses a second booking (AlreadyBooked)
    # and that refusal redirects to the page, which shows the slip of the first.
    return _page(request, member, done=_("Booked. Show the code below when you come."))


@identity.phone_required
@require_POST
@_limited
def move(request, member_id: int, appointment_id: int):
    """Move the booked dose 1 to another offered day (booking.self_move)."""
    member = identity.member_for(request, member_id)
    appointment = get_object_or_404(Appointment, pk=appointment_id, resident=member.resident)
    day = _day(request.POST.get("day"))
    if day is None:
        messages.error(request, _("Choose a day."))
        return redirect("public:person", member.pk)
    try:
        booking.self_move(appointment=appointment, day=day, account=member.account)
    except BookingRefused as refused:
        return _refused(request, member, refused)
    messages.success(request, _("The day was changed. The code stays the same."))
    return redirect("public:person", member.pk)


@identity.phone_required
@require_POST
@_limited
def cancel(request, member_id: int, appointment_id: int):
    """Cancel the booking (booking.self_cancel): the places go back to the village and the site."""
    member = identity.member_for(request, member_id)
    appointment = get_object_or_404(Appointment, pk=appointment_id, resident=member.resident)
    try:
        booking.self_cancel(appointment=appointment, account=member.account)
    except BookingRefused as refused:
        return _refused(request, member, refused)
    messages.success(request, _("The booking was cancelled."))
    return redirect("public:person", member.pk)
