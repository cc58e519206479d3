"""The site team's workstation: scan (登记), pre-screening (预检), the shot (接种), observation (留观).

Every view of the team takes the site from the user's profile, never from the
request, so one site's team cannot act at another site. The rules live in
sites.services; these views call them and show what they say.

htmx requests get the changed panel back, with an `HX-Trigger: site-changed`
header that refreshes the counters and lists; plain requests are redirected
after a change (post/redirect/get), so reloading a page never submits twice.
"""

import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from appointments.daily.selectors import Row
from appointments.models import Appointment
from appointments.services import BookingRefused
from campaign.lib.access import role_required
from campaign.lib.idnumber import normalize_id_number
from campaign.lib.masking import mask_document_number
from campaign.lib.params import id_param
from campaign.models import Campaign
from campaign.roles import Role, role_of
from campaign.scope import in_working_campaign, own_site, working_campaign
from residents.forms import ResidentForm
from residents.models import Resident
from residents.services import (
    AlreadyRegistered,
    age_range_text,
    age_text,
    duplicate_message,
    reason_labels,
    resident_register,
)
from sites.dose_record import (
    DoseRecordRefused,
    dose_history,
    may_keep_dose_record,
    shift_end,
    shift_pick,
    shift_picked_id,
    shift_vaccinator,
    site_vaccinators,
    vaccinator_add,
    vaccinator_set_active,
)
from sites.forms import (
    AdverseEventForm,
    DoseCorrectionForm,
    DoseVoidForm,
    ScanForm,
    ScreeningForm,
    ShiftForm,
    ShotForm,
    VaccinatorForm,
)
from sites.models import AdverseEvent, PreScreening, Site, Vaccination, VaccinationVoid, Vaccinator
from sites.selectors import (
    adverse_events_for_user,
    adverse_events_to_open,
    registration_answers,
    site_day_live,
    site_waiting,
)
from sites.services import (
    adverse_event_open,
    adverse_event_report,
    observation_release,
    site_checkin,
    site_checkin_booked,
    site_prescreen,
    site_scan,
    site_shot,
    vaccination_correct,
    vaccination_void,
)
from sites.supply.selectors import shot_lots

# Roles that may watch any site's day, read-only.
WATCHERS = (Role.OFFICE, Role.SUPERVISION, Role.LEADERSHIP)
SCREENING_PASSED = (PreScreening.Outcome.CLEARED, PreScreening.Outcome.OVERRIDDEN)


def _own_site(request) -> Site:
    """The site bound to the user's profile in the campaign the page works in (the site of that name,
    campaign.scope), with its campaign (one query); 403 when the campaign has none of that name."""
    return own_site(request)


def _questions_campaign(appointment) -> Campaign:
    """The appointment's campaign, for its screening questions: the row when it is read already,
    else a stand-in by id (the questions are one query; the campaign's row is not needed for them)."""
    resident = appointment.resident
    if Resident.campaign.is_cached(resident):
        return resident.campaign
    return Campaign(pk=resident.campaign_id)


def _own_appointment(request, pk) -> Appointment:
    """An appointment at the user's own site in the page's campaign, with the site and the resident (one query).

    The site comes from the user's profile in the same query (the site named as theirs, in this
    campaign), so another site's appointment, or another campaign's, is a 404.
    The campaign is not joined: the screening and the shot form do not read it, and its fifteen
    columns were a sixth of this query's Python cost (the rare panel that needs it reads it).
    """
    try:
        return Appointment.objects.select_related("resident__village", "site").get(
            in_working_campaign(request, "site__campaign"),
            pk=pk,
            site__name__in=Site.objects.filter(team__user=request.user).values("name"),
        )
    except Appointment.DoesNotExist:
        _own_site(request)  # 403 for a user bound to no site
        raise Http404 from None


def _site_for(request, site_pk=None) -> Site:
    """The team's own site; a watcher (office, supervision, leadership) names the site in the URL."""
    if role_of(request.user) == Role.SITE_TEAM:
        site = _own_site(request)
        if site_pk is not None and site_pk != site.pk:
            raise PermissionDenied
        return site
    if site_pk is None:
        raise PermissionDenied
    return get_object_or_404(Site.objects.select_related("campaign"), pk=site_pk, campaign=working_campaign(request))


def _htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _changed(response):
    response["HX-Trigger"] = "site-changed"
    return response


def _home_url(appointment=None) -> str:
    url = reverse("sites:workstation")
    return f"{url}?a={appointment.pk}" if appointment is not None else url


# What the screens show ----------------------------------------------------


def _card(resident: Resident, dose: int, today):
    return {
        "resident": resident,
        "masked_id": mask_document_number(resident.document_type, resident.id_number),
        # Beside the masked number, the age in whole years (campaign.lib.masking), a child's too.
        "age": age_text(None, resident.birth_date, full=False, on=today),
        "dose": dose,
        # A name search's pick list shows the open appointment here (dose, day) it found.
        "booked": getattr(resident, "booked", None),
    }


def _slip_url(appointment):
    # The slip page comes with the daily list (/daily/); until it is there, no link.
    try:
        return reverse("daily:slip", args=[appointment.pk])
    except NoReverseMatch:
        return None


_UNKNOWN = object()


def _person_context(
    request,
    site,
    appointment,
    *,
    warnings=(),
    form=None,
    confirm=False,
    error="",
    screening=_UNKNOWN,
    vaccination=_UNKNOWN,
    held=_UNKNOWN,
):
    """The panel for one arrival: who it is, and the step they are at.

    A view that has just recorded the screening or the shot passes what the service
    returned, so the panel is drawn without asking the database again.
    """
    if vaccination is _UNKNOWN:
        vaccination = (
            Vaccination.objects.filter(appointment=appointment).select_related("vaccinator", "given_by").first()
        )
    context = {
        "site": site,
        "appointment": appointment,
        "card": _card(appointment.resident, appointment.dose_number, timezone.localdate()),
        "warnings": warnings,
        "vaccination": vaccination,
        "error": error,
    }
    if vaccination is not None:
        if held is _UNKNOWN:
            held = (
                Appointment.objects.open()
                .filter(resident_id=appointment.resident_id, dose_number=appointment.dose_number + 1)
                .select_related("site")
                .first()
            )
        context.update(step="done", held=held, slip_url=_slip_url(held) if held else None)
        return context
    if screening is _UNKNOWN:
        screening = appointment.screenings.order_by("-screened_at").first()
        if screening and appointment.status == Appointment.Status.ARRIVED and _day(screening.screened_at) != _day():
            screening = None  # a screening holds for its own day: ask the questions again
    context["screening"] = screening
    if appointment.status == Appointment.Status.ARRIVED and screening is None:
        # Registered on the spot minutes ago: the six answers are not asked a second time.
        answered = registration_answers(appointment=appointment, on=_day()) if form is None else None
        context.update(
            step="screen",
            form=form or ScreeningForm(campaign=_questions_campaign(appointment), answers=answered),
            confirm=confirm,
            answered_at_registration=answered is not None or bool(request.POST.get("answered_at_registration")),
        )
        if confirm:
            context["positive_labels"] = reason_labels(form.positives(), form.campaign)
            context["would_exclude"] = form.would_exclude()
            context["can_override"] = request.user.has_perm("sites.override_screening")
    elif appointment.status == Appointment.Status.ARRIVED and screening.outcome in SCREENING_PASSED:
        lots = shot_lots(site=site, on=_day())
        initial = {"lot_number": site.current_lot, "lot": lots[0].pk if lots else None}
        context.update(step="shot", form=form or ShotForm(initial=initial), lots=lots)
        context.update(_shift_context(request, site))
    elif screening is not None and screening.outcome not in SCREENING_PASSED:
        context.update(step="stopped", reasons=reason_labels(screening.reasons, _questions_campaign(appointment)))
    else:
        context["step"] = "closed"
    return context


def _shift_context(request, site) -> dict:
    """Who gives the shots at this workstation (picked once per shift), or the site's names to pick from.

    `shift` is the pick; without one, `vaccinators` lists the site's active names (the shot form
    asks for one first); a site without a list records the shot under the account alone.
    """
    shift = shift_vaccinator(request.session, site)
    if shift is not None:
        return {"shift": shift}
    return {"shift": None, "vaccinators": list(site_vaccinators(site))}


def _day(moment=None):
    return timezone.localdate(moment) if moment else timezone.localdate()


def _person(request, site, appointment, **kwargs):
    return render(request, "sites/workstation_person.html", _person_context(request, site, appointment, **kwargs))


def _page(request, site, *, person=None, scan_result=None):
    """The whole workstation, with the person panel filled in when there is one."""
    today = timezone.localdate()
    context = {
        "site": site,
        "today": today,
        "live": site_day_live(site=site, day=today),
        "waiting": site_waiting(site=site, day=today),
        "scan_form": ScanForm(),
        "observing": _observing(site, today),
        "events": _events_today(site, today),
        "now": timezone.now(),
        "panel": "person" if person else "scan" if scan_result else None,
    }
    # The panel's own keys (card, warnings, form, step...) sit beside the page's.
    context.update(person or scan_result or {})
    return render(request, "sites/workstation.html", context)


# Who still shows in the observation list: anyone not released, up to this long after the shot
# (a plain time window, so nobody drops off the list at midnight).
OBSERVATION_LIST_HOURS = 12


def _observing(site, day):
    """The doses at the site whose person is not released yet, longest waiting first."""
    since = timezone.now() - datetime.timedelta(hours=OBSERVATION_LIST_HOURS)
    return list(
        Vaccination.objects.filter(site=site, vaccinated_at__gte=since, released_at__isnull=True)
        .select_related("resident__village")
        .order_by("observation_until", "id")
    )


def _events_today(site, day):
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    return list(
        AdverseEvent.objects.filter(vaccination__site=site, reported_at__gte=start)
        .select_related("vaccination__resident", "reported_by")
        .order_by("-reported_at")[:20]
    )


def _appointment(site, pk):
    return get_object_or_404(
        Appointment.objects.filter(site=site).select_related("resident__village", "site__campaign"), pk=pk
    )


def _vaccination(site, pk):
    return get_object_or_404(Vaccination.objects.filter(site=site).select_related("resident__village"), pk=pk)


# The workstation ------------------------------------------------------------


@role_required(Role.SITE_TEAM)
def workstation(request):
    """The site's screen for today; `?a=` opens one arrival's panel (after a plain, non-htmx action)."""
    site = _own_site(request)
    if pk := id_param(request.GET, "a"):
        appointment = _appointment(site, pk)
        return _page(request, site, person=_person_context(request, site, appointment))
    return _page(request, site)


@require_POST
@role_required(Role.SITE_TEAM)
def scan(request):
    """A scan, an ID number or its last 6 digits with the name: find the person and check them in (登记)."""
    form = ScanForm(request.POST)
    form.is_valid()
    query = form.cleaned_data.get("q", "")
    site = _own_site(request)
    try:
        result = site_scan(site=site, query=query, pick=form.cleaned_data.get("pick"), checked_in_by=request.user)
    except Resident.DoesNotExist:
        raise Http404 from None
    if result.appointment is not None:
        if _htmx(request):
            known = {"screening": None, "vaccination": None} if result.arrived_now else {}
            return _changed(_person(request, site, result.appointment, warnings=result.warnings, **known))
        for _level, message in result.warnings:
            messages.warning(request, message)
        return redirect(_home_url(result.appointment))
    today = timezone.localdate()
    context = {
        "site": site,
        "today": today,
        "query": query,
        "found": result,
        "warnings": result.warnings,
        "error": result.refused,
    }
    if result.resident is not None:
        context["card"] = _card(result.resident, result.dose_number, today)
    if result.candidates:
        context["candidates"] = [_card(r, None, today) for r in result.candidates]
        context["by_name"] = result.by_name
    if query and result.resident is None and not result.candidates:
        context["register_url"] = reverse("sites:register") + _register_query(request, query)
    if _htmx(request):
        return render(request, "sites/workstation_scan.html", context)
    return _page(request, site, scan_result=context)


@role_required(Role.SITE_TEAM)
def arrival(request, pk):
    """One arrival's panel, opened from the waiting list (已到场待接种)."""
    site = _own_site(request)
    appointment = _appointment(site, pk)
    if _htmx(request):
        return _person(request, site, appointment)
    return redirect(_home_url(appointment))


@require_POST
@role_required(Role.SITE_TEAM)
def check_in(request, pk):
    """签到 from the daily list: check in one booked row, as scanning its slip would."""
    site = _own_site(request)
    try:
        result = site_checkin_booked(site=site, pk=pk, checked_in_by=request.user)
    except Appointment.DoesNotExist:
        raise Http404 from None
    if result.appointment is not None:
        # Checked in: with what the team must still read (a wrong day, screen again).
        notes = [_("%(name)s is checked in.") % {"name": result.resident.name}]
        notes += [str(message) for _level, message in result.warnings]
        note, level = " ".join(notes), "warning" if result.warnings else "success"
    else:
        note, level = result.refused or next((message for _l, message in result.warnings), ""), "error"
    if _htmx(request):
        appointment = result.appointment or _appointment(site, pk)
        number = id_param(request.POST, "number") or 0
        return _changed(
            render(
                request,
                "appointments/daily_list_row.html",
                {
                    "row": Row(number, appointment),
                    "uses_slots": request.POST.get("slots") == "1",
                    "can_check_in": appointment.date == timezone.localdate(),
                    "can_see_slips": True,  # a site team may open its slips
                    "note": note,
                    "note_level": level,
                },
            )
        )
    # Checked in is a success, even with a caveat to read; only a refusal is an error.
    (messages.success if result.appointment is not None else messages.error)(request, note)
    day = (result.appointment.date if result.appointment else timezone.localdate()).isoformat()
    return redirect(f"{reverse('daily:list')}?site={site.pk}&date={day}#row-{pk}")


REGISTER_SESSION_KEY = "site_register_id_number"


def _register_query(request, query: str) -> str:
    """Carry a whole ID number that found nobody to the registration form in the session, never in the URL."""
    number = normalize_id_number(query)
    if len(number) == 18:
        request.session[REGISTER_SESSION_KEY] = number
    return ""


def _after_action(request, site, appointment, **known):
    if _htmx(request):
        return _changed(_person(request, site, appointment, **known))
    return redirect(_home_url(appointment))


def _again(request, site, appointment, **kwargs):
    """Show the panel again with the form and its problem (nothing was recorded)."""
    if _htmx(request):
        return _person(request, site, appointment, **kwargs)
    return _page(request, site, person=_person_context(request, site, appointment, **kwargs))


@require_POST
@role_required(Role.SITE_TEAM)
def screen(request, pk):
    """预检: record the screening; a positive answer is shown first, to confirm or (a doctor) to override."""
    appointment = _own_appointment(request, pk)
    form = ScreeningForm(request.POST, campaign=_questions_campaign(appointment))
    site = appointment.site
    if not form.is_valid():
        shown = "confirm_shown" in request.POST and bool(form.positives())
        return _again(request, site, appointment, form=form, confirm=shown)
    data = form.cleaned_data
    positives = form.positives()
    overriding = positives and data["override"]
    if "edit" in request.POST:
        return _again(request, site, appointment, form=form)
    if positives and not (data["confirm"] or overriding):
        return _again(request, site, appointment, form=form, confirm=True)
    try:
        screening = site_prescreen(
            appointment=appointment,
            answers=form.answers(),
            temperature=data["temperature"],
            consent=data["consent"],
            screened_by=request.user,
            override_reason=data["override_reason"] if overriding else "",
        )
    except BookingRefused as refused:
        return _again(request, site, appointment, form=form, confirm=bool(positives), error=refused.message)
    return _after_action(request, site, appointment, screening=screening, vaccination=None)


@require_POST
@role_required(Role.SITE_TEAM)
def shift(request, pk):
    """The nurse picks her name for the shift (kept on this workstation until 换人 or the day's end); or 换人."""
    appointment = _own_appointment(request, pk)
    site = appointment.site
    if "change" in request.POST:
        shift_end(request.session, site)
        return _after_action(request, site, appointment)
    form = ShiftForm(request.POST, site=site)
    if not form.is_valid():
        return _again(request, site, appointment, error=_("Pick your name from the list."))
    try:
        shift_pick(request.session, site, form.cleaned_data["vaccinator"])
    except DoseRecordRefused as refused:
        return _again(request, site, appointment, error=refused.message)
    return _after_action(request, site, appointment)


@require_POST
@role_required(Role.SITE_TEAM)
def vaccinate(request, pk):
    """接种: record the dose (lot number, injection site) by this user and the shift's vaccinator, now."""
    form = ShotForm(request.POST)
    if not form.is_valid():
        appointment = _own_appointment(request, pk)
        return _again(request, appointment.site, appointment, form=form)
    picked = shift_picked_id(request.session)
    # The nurses of the team's site, named alike in every campaign (sites.dose_record.site_vaccinators).
    team_sites = Site.objects.filter(team__user=request.user).values("name")
    names = Vaccinator.objects.filter(site__name__in=team_sites, is_active=True).select_related("site")
    given_by = names.filter(pk=picked).first() if picked else None
    # The one picked on this desk has left the list: pick again. (Nobody picked while the site keeps a
    # list: site_shot refuses the shot, a rule of the service.)
    if picked and given_by is None:
        appointment = _own_appointment(request, pk)
        shift_end(request.session, appointment.site)
        return _again(request, appointment.site, appointment, form=form, error=_("Pick your name first."))
    try:
        result = site_shot(
            pk=pk,
            lot=form.cleaned_data["lot"],
            lot_number=form.cleaned_data["lot_number"],
            injection_site=form.cleaned_data["injection_site"],
            given_by=given_by,
            vaccinator=request.user,
        )
    except Appointment.DoesNotExist:
        _own_site(request)  # 403 for a user bound to no site
        raise Http404 from None
    appointment = result.appointment
    if result.refused is not None:
        return _again(request, appointment.site, appointment, form=form, error=result.refused.message)
    return _after_action(request, appointment.site, appointment, vaccination=result.vaccination, held=result.held)


@require_POST
@role_required(Role.SITE_TEAM)
def release(request, pk):
    """离开: the person leaves the observation area."""
    site = _own_site(request)
    vaccination = _vaccination(site, pk)
    observation_release(vaccination=vaccination, released_by=request.user)
    if _htmx(request):
        return _changed(HttpResponse(status=204))
    messages.success(request, _("%(name)s has left the observation area.") % {"name": vaccination.resident.name})
    return redirect(_home_url())


@role_required(Role.SITE_TEAM)
def adverse(request, pk):
    """不良反应: report a reaction of someone vaccinated here; the office sees it at once."""
    site = _own_site(request)
    vaccination = _vaccination(site, pk)
    form = AdverseEventForm(request.POST or None)
    context = {"site": site, "vaccination": vaccination, "form": form, "card": _adverse_card(vaccination)}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            event = adverse_event_report(
                vaccination=vaccination,
                onset=data["onset"],
                symptoms=data["symptoms"],
                severity=data["severity"],
                action_taken=data["action_taken"],
                referred=data["referred_to_hospital"],
                reported_by=request.user,
            )
        except BookingRefused as refused:
            form.add_error(None, refused.message)
        else:
            if _htmx(request):
                return _changed(render(request, "sites/adverse_event_done.html", {**context, "event": event}))
            messages.success(request, _("The adverse event is reported to the office."))
            return redirect(_home_url())
    if _htmx(request):
        return render(request, "sites/adverse_event_form.html", context)
    return render(request, "sites/adverse_event.html", context)


def _adverse_card(vaccination):
    return _card(vaccination.resident, vaccination.dose_number, timezone.localdate())


@role_required(Role.SITE_TEAM)
def register(request):
    """On-the-spot registration (现场登记) of someone not registered yet, then their check-in."""
    site = _own_site(request)
    campaign = site.campaign
    villages = site.villages.filter(campaign=campaign).select_related("site")
    # The number the workstation found nobody for comes in the session (a number never goes in a URL).
    initial = {"id_number": request.session.pop(REGISTER_SESSION_KEY, "") if request.method == "GET" else ""}
    form = ResidentForm(request.POST or None, initial=initial, campaign=campaign, villages=villages)
    form.fields["village"].widget.attrs["autofocus"] = True  # the keyboard starts at the first field
    # The team may name a cadre of the villages it serves, or leave it to the village.
    form.fields["responsible_cadre"].queryset = form.fields["responsible_cadre"].queryset.filter(
        profile__village__name__in=villages.values("name")
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                resident = resident_register(
                    campaign=campaign,
                    village=data["village"],
                    name=data["name"],
                    **form.document_fields(),
                    registered_by=request.user,
                    responsible_cadre=data["responsible_cadre"],
                    **{field: data[field] for field in ["phone", "basis", "priority_group"]},
                    **form.guardian_fields(),
                    **form.answer_fields(),
                )
        except AlreadyRegistered as duplicate:
            form.add_error(
                "id_number",
                duplicate_message(village=duplicate.village, user=request.user, document_type=duplicate.document_type)
                + " "
                + _("Scan it at the workstation instead."),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if resident.document_note:
                messages.info(request, resident.document_note)
            return _check_in_registered(request, site, resident)
    return render(
        request,
        "sites/register.html",
        {"site": site, "form": form, "campaign": campaign, "age_range": age_range_text(campaign)},
    )


def _check_in_registered(request, site, resident):
    registered = _("%(name)s is registered: %(status)s.") % {
        "name": resident.name,
        "status": resident.get_status_display(),
    }
    if resident.status != Resident.Status.ELIGIBLE:
        messages.warning(request, registered + " " + _("Not checked in: the screening answers do not allow the shot."))
        return redirect(_home_url())
    try:
        appointment = site_checkin(site=site, resident=resident, checked_in_by=request.user)
    except BookingRefused as refused:
        messages.error(request, registered + " " + refused.message)
        return redirect(_home_url())
    messages.success(request, registered + " " + _("Checked in as a walk-in."))
    return redirect(_home_url(appointment))


# Live parts, for the team and for watchers ---------------------------------


@role_required(Role.SITE_TEAM, *WATCHERS)
def live(request, site_pk=None):
    """The day's counters against the floor; polled by the page."""
    site = _site_for(request, site_pk)
    return render(
        request,
        "sites/workstation_live.html",
        {"site": site, "live": site_day_live(site=site, day=timezone.localdate())},
    )


@role_required(Role.SITE_TEAM, *WATCHERS)
def observation(request, site_pk=None):
    """People under observation with their time left, and today's adverse events; polled by the page."""
    site = _site_for(request, site_pk)
    today = timezone.localdate()
    return render(
        request,
        "sites/workstation_observation.html",
        {
            "site": site,
            "observing": _observing(site, today),
            "events": _events_today(site, today),
            "now": timezone.now(),
            "read_only": role_of(request.user) != Role.SITE_TEAM,
        },
    )


@role_required(Role.SITE_TEAM, *WATCHERS)
def waiting(request, site_pk=None):
    """Who has arrived and waits for the shot, with the minutes waited; polled by the page."""
    site = _site_for(request, site_pk)
    return render(
        request,
        "sites/workstation_waiting.html",
        {
            "waiting": site_waiting(site=site, day=timezone.localdate()),
            "read_only": role_of(request.user) != Role.SITE_TEAM,
        },
    )


@role_required(*WATCHERS)
def watch(request, site_pk):
    """A read-only live view of one site's day for the office."""
    site = _site_for(request, site_pk)
    today = timezone.localdate()
    return render(
        request,
        "sites/watch.html",
        {
            "site": site,
            "today": today,
            "sites": Site.objects.filter(campaign=site.campaign),
            "live": site_day_live(site=site, day=today),
            "observing": _observing(site, today),
            "waiting": site_waiting(site=site, day=today),
            "events": _events_today(site, today),
            "now": timezone.now(),
            "read_only": True,
        },
    )


@role_required(*WATCHERS)
def adverse_recent(request):
    """The latest adverse events of the campaign, newest first, for the office's dashboard."""
    campaign = working_campaign(request)
    events = (
        AdverseEvent.objects.filter(vaccination__site__campaign=campaign)
        .select_related("vaccination__resident__village", "vaccination__site")
        .order_by("-reported_at")[:10]
    )
    return render(
        request,
        "sites/adverse_events.html",
        {"events": events, "sites": Site.objects.filter(campaign=campaign), "today": timezone.localdate()},
    )


@role_required(Role.SITE_TEAM, *WATCHERS)
def adverse_inbox(request):
    """The adverse events the user may read, those waiting to be opened first: where the top bar's badge leads."""
    campaign = working_campaign(request)
    events = adverse_events_for_user(request.user, campaign=campaign)
    waiting = list(adverse_events_to_open(request.user, campaign=campaign).values_list("pk", flat=True)[:100])
    return render(
        request,
        "sites/adverse_inbox.html",
        {
            "waiting": events.filter(pk__in=waiting),
            "recent": events.exclude(pk__in=waiting)[:30],
        },
    )


@role_required(Role.SITE_TEAM, *WATCHERS)
def adverse_event_detail(request, pk):
    """One adverse event; opening it marks it seen when the top bar shows it to this user (who and when)."""
    event = get_object_or_404(adverse_events_for_user(request.user, campaign=working_campaign(request)), pk=pk)
    if adverse_event_open(event=event, user=request.user):
        event.refresh_from_db(fields=["seen_at", "seen_by"])
    resident = event.vaccination.resident
    return render(
        request,
        "sites/adverse_event_detail.html",
        {
            "event": event,
            "resident": resident,
            "id_number": mask_document_number(resident.document_type, resident.id_number),
        },
    )


# The dose record: vaccinators, the site's doses, corrections and voids ----------------------


@role_required(Role.SITE_TEAM, *WATCHERS)
def vaccinators(request, site_pk=None):
    """接种人员: the site's list of the people who give its shots; the site's doctor or the office keeps it."""
    site = _site_for(request, site_pk)
    can_edit = may_keep_dose_record(request.user, site)
    form = VaccinatorForm(request.POST or None)
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        try:
            if pk := id_param(request.POST, "vaccinator"):
                vaccinator = get_object_or_404(Vaccinator, pk=pk, site=site)
                active = request.POST.get("active") == "1"
                vaccinator_set_active(vaccinator=vaccinator, active=active, by=request.user)
                messages.success(
                    request,
                    (_("%(name)s is back on the list.") if active else _("%(name)s no longer gives shots here."))
                    % {"name": vaccinator.name},
                )
                return redirect(request.path)
            if form.is_valid():
                vaccinator = vaccinator_add(site=site, name=form.cleaned_data["name"], by=request.user)
                messages.success(request, _("%(name)s is on the list.") % {"name": vaccinator.name})
                return redirect(request.path)
        except DoseRecordRefused as refused:
            form.add_error(None, refused.message)
    return render(
        request,
        "sites/vaccinators.html",
        {
            "site": site,
            "vaccinators": site_vaccinators(site, active_only=False).annotate(doses=Count("vaccinations")),
            "form": form,
            "can_edit": can_edit,
            "doses_url": _site_url("sites:doses", site, request),
        },
    )


def _site_url(name, site, request) -> str:
    return (
        reverse(name) if role_of(request.user) == Role.SITE_TEAM else reverse(f"sites:watch_{name[6:]}", args=[site.pk])
    )


@role_required(Role.SITE_TEAM, *WATCHERS)
def doses(request, site_pk=None):
    """The site's doses of one day (?date=, today by default), each with its record (更正/作废), and the day's voids."""
    site = _site_for(request, site_pk)
    day = _date_param(request.GET.get("date")) or timezone.localdate()
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    end = start + datetime.timedelta(days=1)
    given = (
        Vaccination.objects.filter(site=site, vaccinated_at__gte=start, vaccinated_at__lt=end)
        .select_related("resident__village", "given_by", "vaccinator")
        .order_by("vaccinated_at", "pk")
    )
    voided = (
        VaccinationVoid.objects.filter(site=site, vaccinated_at__gte=start, vaccinated_at__lt=end)
        .select_related("resident", "voided_by", "given_by")
        .order_by("voided_at")
    )
    return render(
        request,
        "sites/doses.html",
        {
            "site": site,
            "day": day,
            "previous": day - datetime.timedelta(days=1),
            "next": day + datetime.timedelta(days=1) if day < timezone.localdate() else None,
            "given": given,
            "voided": voided,
            "can_correct": may_keep_dose_record(request.user, site),
            "vaccinators_url": _site_url("sites:vaccinators", site, request),
        },
    )


def _date_param(value):
    """A day from the query string; None when it is not one (or outside this era: a typing error)."""
    try:
        day = datetime.date.fromisoformat(value) if value else None
    except ValueError:
        return None
    return day if day is not None and 2000 <= day.year <= 2100 else None


def _dose_site_allowed(request, site) -> None:
    """A dose's page is for its site's team (in its campaign) and for the watchers; 404 for others."""
    role = role_of(request.user)
    if role in WATCHERS:
        return
    if role == Role.SITE_TEAM:
        from campaign.scope import bound_site

        bound = bound_site(request.user, site.campaign)
        if bound is not None and bound.pk == site.pk:
            return
    raise Http404


@role_required(Role.SITE_TEAM, *WATCHERS)
def dose_record(request, pk):
    """One dose's record: its values, its history (old → new, who, when, why), and for the site's doctor
    or the office the correction (更正) and the void (作废), each with its reason."""
    vaccination = (
        Vaccination.objects.select_related("resident__village", "site__campaign", "given_by", "vaccinator", "lot")
        .filter(pk=pk)
        .first()
    )
    if vaccination is None:
        void = get_object_or_404(
            VaccinationVoid.objects.select_related("resident", "site__campaign", "given_by", "voided_by"),
            vaccination_id=pk,
        )
        _dose_site_allowed(request, void.site)
        return render(request, "sites/dose_record.html", {"void": void, "history": dose_history(pk)})
    site = vaccination.site
    _dose_site_allowed(request, site)
    can_correct = may_keep_dose_record(request.user, site)
    correction = DoseCorrectionForm(vaccination=vaccination)
    voiding = DoseVoidForm()
    error = ""
    if request.method == "POST":
        if not can_correct:
            raise PermissionDenied
        try:
            if request.POST.get("action") == "void":
                voiding = DoseVoidForm(request.POST)
                if voiding.is_valid():
                    vaccination_void(vaccination=vaccination, by=request.user, reason=voiding.cleaned_data["reason"])
                    messages.success(
                        request,
                        _("Dose %(dose)s of %(name)s is voided.")
                        % {"dose": vaccination.dose_number, "name": vaccination.resident.name},
                    )
                    return redirect(reverse("sites:dose_record", args=[pk]))
            else:
                correction = DoseCorrectionForm(request.POST, vaccination=vaccination)
                if correction.is_valid():
                    vaccination_correct(
                        vaccination=vaccination,
                        by=request.user,
                        reason=correction.cleaned_data["reason"],
                        **correction.changes(vaccination),
                    )
                    messages.success(request, _("The dose is corrected; the old values are in its history."))
                    return redirect(reverse("sites:dose_record", args=[pk]))
        except DoseRecordRefused as refused:
            error = refused.message
    return render(
        request,
        "sites/dose_record.html",
        {
            "vaccination": vaccination,
            "resident": vaccination.resident,
            "masked_id": mask_document_number(vaccination.resident.document_type, vaccination.resident.id_number),
            "history": dose_history(pk),
            "can_correct": can_correct,
            "correction": correction,
            "voiding": voiding,
            "error": error,
            "doses_url": _site_url("sites:doses", site, request)
            + f"?date={timezone.localdate(vaccination.vaccinated_at).isoformat()}",
        },
    )
