from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from appointments.forms import BookForm, BulkBookForm, CancelForm, MoveForm
from appointments.models import Appointment
from appointments.selectors import booking_days, residents_to_book
from appointments.services import (
    BookingRefused,
    DayFull,
    appointment_book,
    appointment_cancel,
    appointment_reschedule,
    appointments_book_bulk,
    later_doses_follow,
)
from campaign.lib.access import role_required
from campaign.lib.params import id_param
from campaign.roles import Role, role_of
from campaign.scope import own_village, working_campaign
from residents.models import Resident
from sites.supply.selectors import supply_short

BOOKERS = (Role.CADRE, Role.OFFICE)


def _village(request, campaign):
    """The cadre's own village (in this campaign); the office picks one with ?village=."""
    if role_of(request.user) == Role.CADRE:
        return own_village(request)
    villages = campaign.villages.select_related("site")
    village_id = id_param(request.GET, "village")
    return get_object_or_404(villages, pk=village_id) if village_id else villages.first()


@role_required(*BOOKERS)
def booking(request):
    """Book residents onto a day: ticked ones or the next N eligible. The day is picked among the campaign's
    days on which the village's site is open; each shows the site's free places and the village's plan places."""
    campaign = working_campaign(request)
    village = _village(request, campaign)
    candidates = residents_to_book(village=village)
    today = timezone.localdate()
    form = BulkBookForm(request.POST or None, candidates=candidates, initial={"day": request.GET.get("day")})
    results = None
    if request.method == "POST" and form.is_valid():
        chosen = list(form.cleaned_data["residents"]) or list(candidates[: form.cleaned_data["next_n"]])
        results = appointments_book_bulk(residents=chosen, day=form.cleaned_data["day"], booked_by=request.user)
        booked = sum(1 for r in results if r["booked"])
        messages.info(
            request, _("%(booked)s booked, %(refused)s refused.") % {"booked": booked, "refused": len(results) - booked}
        )
    days = booking_days(campaign=campaign, village=village, today=today)
    picked = str(form["day"].value() or "")
    return render(
        request,
        "appointments/booking.html",
        {
            "campaign": campaign,
            "village": village,
            "villages": None if role_of(request.user) == Role.CADRE else campaign.villages.all(),
            "days": days,
            "picked": picked,
            # The picked day's row (after a booking: its figures now), for the summary next to the picker.
            "picked_day": next((d for d in days if d["date"].isoformat() == picked), None),
            "form": form,
            "candidates": candidates[:200],
            "candidate_count": candidates.count(),
            "results": results,
            "suggestions": _suggestions(results),
            # The site's bookings of the coming days against its vaccine stock (sites.supply).
            "supply_short": supply_short(campaign=campaign, site=village.site) if village is not None else [],
        },
    )


def _suggestions(results):
    for result in results or []:
        if not result["booked"] and result.get("suggestions"):
            return result["suggestions"]
    return None


def _resident(request, pk):
    residents = Resident.objects.for_user(request.user).filter(campaign=working_campaign(request))
    return get_object_or_404(residents.select_related("campaign", "village__site"), pk=pk)


@require_POST
@role_required(*BOOKERS)
def book_resident(request, pk):
    """Book one resident's doses from their page (dose 1 and every later dose held); a full day offers
    the next days with room."""
    resident = _resident(request, pk)
    form = BookForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a day."))
        return redirect("residents:detail", pk=pk)
    try:
        booked = appointment_book(resident=resident, day=form.cleaned_data["day"], booked_by=request.user)
    except DayFull as full:
        days = "、".join(" → ".join(f"{day:%m-%d}" for day in chain) for chain in full.suggestions) or _("none")
        messages.error(
            request,
            _("%(message)s Next days with room for every dose: %(days)s") % {"message": full.message, "days": days},
        )
    except BookingRefused as refused:
        messages.error(request, refused.message)
    else:
        first, later = booked[0], booked[1:]
        if later:
            held = "、".join(
                _("dose %(dose)s on %(day)s") % {"dose": item.dose_number, "day": item.date.isoformat()}
                for item in later
            )
            message = _("Booked: dose 1 on %(first)s; held at %(site)s: %(held)s.") % {
                "first": first.date.isoformat(),
                "site": first.site.name,
                "held": held,
            }
        else:
            message = _("Booked on %(first)s at %(site)s.") % {"first": first.date.isoformat(), "site": first.site.name}
        messages.success(request, message)
    return redirect("residents:detail", pk=pk)


def _appointment(request, pk):
    scoped = Resident.objects.for_user(request.user).filter(campaign=working_campaign(request))
    return get_object_or_404(Appointment.objects.filter(resident__in=scoped).select_related("site"), pk=pk)


@require_POST
@role_required(*BOOKERS)
def cancel(request, pk):
    appointment = _appointment(request, pk)
    form = CancelForm(request.POST)
    try:
        if not form.is_valid():
            raise BookingRefused(_("Say why the appointment is cancelled."))
        appointment_cancel(appointment=appointment, cancelled_by=request.user, reason=form.cleaned_data["reason"])
    except BookingRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("The appointment is cancelled."))
    return redirect("residents:detail", pk=appointment.resident_id)


@require_POST
@role_required(*BOOKERS)
def reschedule(request, pk):
    appointment = _appointment(request, pk)
    form = MoveForm(request.POST)
    try:
        if not form.is_valid():
            raise BookingRefused(_("Choose the new day and say why."))
        moved = appointment_reschedule(
            appointment=appointment,
            day=form.cleaned_data["day"],
            changed_by=request.user,
            reason=form.cleaned_data["reason"],
        )
    except BookingRefused as refused:
        messages.error(request, refused.message)
    else:
        for item in moved:
            messages.success(
                request, _("Dose %(dose)s moved to %(day)s.") % {"dose": item.dose_number, "day": item.date.isoformat()}
            )
    return redirect("residents:detail", pk=appointment.resident_id)


@require_POST
@role_required(*BOOKERS)
def hold_dose2(request, pk):
    """Hold the next dose's place (and the later ones') for someone with a dose given and the next one not held."""
    resident = _resident(request, pk)
    last = resident.vaccinations.order_by("-dose_number").values_list("dose_number", "vaccinated_at").first()
    if last is None:
        messages.error(request, _("Dose 1 is not given yet: book dose 1 instead."))
    elif last[0] >= resident.campaign.doses:
        messages.error(request, _("Every dose is given already."))
    elif (
        held := later_doses_follow(
            resident=resident, dose_number=last[0], given_on=timezone.localdate(last[1]), changed_by=request.user
        )
    ) is None:
        messages.error(
            request,
            _("No day until the end of the campaign has room for dose %(dose)s at this site.") % {"dose": last[0] + 1},
        )
    else:
        messages.success(
            request, _("Dose %(dose)s held on %(day)s.") % {"dose": held.dose_number, "day": held.date.isoformat()}
        )
    return redirect("residents:detail", pk=pk)
