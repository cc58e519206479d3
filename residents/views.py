from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import ProtectedError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campaign.lib.access import role_required
from campaign.lib.documents import (
    DOCUMENT_KINDS,
    DocumentType,
    nationality_name,
    normalize_document_number,
    parse_document,
)
from campaign.lib.idnumber import age_on
from campaign.lib.masking import mask_document_number, mask_phone, shown_birth_date, shown_id_number, shown_phone
from campaign.roles import Role, role_of
from campaign.scope import own_village, working_campaign
from residents.filters import ResidentFilter, search_problem
from residents.forms import RefuseForm, ResidentEditForm, ResidentForm, ReviewRefuseForm, villages_for
from residents.models import FullValueView, Resident
from residents.selectors import resident_history, reviews_pending, village_summary, with_progress
from residents.services import (
    AlreadyRegistered,
    ReviewClosed,
    age_range_text,
    age_text,
    answers_of,
    duplicate_message,
    reason_labels,
    record_full_view,
    resident_delete,
    resident_register,
    resident_review_confirm,
    resident_review_correct,
    resident_review_refuse,
    resident_set_refused,
    resident_update,
    screening_positives,
    screening_shown,
    sees_full_values,
)

READERS = (Role.CADRE, Role.OFFICE, Role.SUPERVISION, Role.LEADERSHIP)
WRITERS = (Role.CADRE, Role.OFFICE)


def _scoped(request):
    return Resident.objects.for_user(request.user).filter(campaign=working_campaign(request))


def _resident_or_404(request, pk):
    # Another village's resident is simply not there for a cadre: 404, never 403.
    return get_object_or_404(_scoped(request).select_related("village__site", "responsible_cadre"), pk=pk)


@role_required(*READERS)
def village_home(request):
    """The cadre's village: its numbers and the resident list; the office and readers pick a village."""
    campaign = working_campaign(request)
    role = role_of(request.user)
    villages = None if role == Role.CADRE else villages_for(campaign)
    village = own_village(request) if role == Role.CADRE else None
    full = sees_full_values(request.user)
    filters = ResidentFilter(request.GET or None, queryset=_scoped(request), villages=villages, full=full)
    if villages is not None and filters.is_bound and filters.is_valid():
        village = filters.form.cleaned_data.get("village")
    queryset = filters.qs if filters.is_bound else filters.queryset
    if not request.GET.get("ordering"):
        queryset = queryset.order_by("-registered_at", "-id")
    page = Paginator(with_progress(queryset.select_related("village", "responsible_cadre")), 25).get_page(
        request.GET.get("page")
    )
    rows = [_row(resident, campaign=campaign, full=full) for resident in page]
    context = {
        "campaign": campaign,
        "village": village,
        "summary": village_summary(village=village) if village else None,
        "filters": filters,
        "page": page,
        "rows": rows,
        "can_write": role in WRITERS,
        "query": _query_without_page(request),
        "search_problem": search_problem(request.GET.get("q", ""), full=full),
    }
    if request.headers.get("HX-Request"):
        return render(request, "residents/village_home_rows.html", context)
    return render(request, "residents/village_home.html", context)


def _query_without_page(request):
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _row(resident, *, campaign, full):
    return {
        "resident": resident,
        "masked_id": mask_document_number(resident.document_type, resident.id_number),
        "masked_phone": mask_phone(resident.phone),
        "age": age_text(campaign, resident.birth_date, full=full),
        "reasons": "、".join(reason_labels(resident.status_reasons, campaign)),
    }


@role_required(*WRITERS)
def resident_new(request):
    """Register a resident: one screen, usable on a phone."""
    campaign = working_campaign(request)
    is_cadre = role_of(request.user) == Role.CADRE
    village = own_village(request) if is_cadre else None
    form_kwargs = {"campaign": campaign, "village": village, "villages": None if is_cadre else villages_for(campaign)}
    form = ResidentForm(
        request.POST or None, initial={"responsible_cadre": request.user if is_cadre else None}, **form_kwargs
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        target = village or data["village"]
        try:
            resident = resident_register(
                campaign=campaign,
                village=target,
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
                duplicate_message(village=duplicate.village, user=request.user, document_type=duplicate.document_type),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("%(name)s is registered: %(status)s.")
                % {"name": resident.name, "status": resident.get_status_display()},
            )
            if resident.document_note:
                messages.info(request, resident.document_note)
            if "add_another" in request.POST:
                return redirect("residents:new")
            return redirect("residents:detail", pk=resident.pk)
    return render(
        request,
        "residents/resident_form.html",
        {"form": form, "campaign": campaign, "village": village, "age_range": age_range_text(campaign)},
    )


# The site team registers people on the spot with the same form (sites.views.register).
# POST: the number typed must not travel in a URL (access logs, proxies, browser history).
@require_POST
@role_required(*WRITERS, Role.SITE_TEAM)
def id_preview(request):
    """What the server reads from a document number as it is typed: birth date, age and sex where
    the number holds them, a converted number or changed type, or the problem."""
    raw = request.POST.get("id_number", "")
    document_type = request.POST.get("document_type") or DocumentType.ID_CARD
    number = normalize_document_number(raw)
    kind = DOCUMENT_KINDS.get(document_type, DOCUMENT_KINDS[DocumentType.ID_CARD])
    context = {"typed": len(number), "expected": kind.preview_lengths[-1]}
    # A number is judged once it has one of its type's lengths (or more): not while it is typed.
    if len(number) in kind.preview_lengths or len(number) > kind.preview_lengths[-1]:
        campaign = working_campaign(request)
        try:
            parsed = parse_document(kind.type, number)
        except ValidationError as error:
            context["error"] = error.messages[0]
        else:
            context.update(parsed=parsed, campaign=campaign)
            if parsed.nationality:
                context["nationality"] = nationality_name(parsed.nationality)
            if parsed.birth_date:
                age = age_on(parsed.birth_date, timezone.localdate(), campaign.age_unit)
                context.update(
                    age=age,
                    age_label=age_text(campaign, parsed.birth_date, full=True),
                    sex=Resident.Sex(parsed.sex).label,
                    in_range=campaign.min_age <= age <= campaign.max_age,
                    over_max=age > campaign.max_age,
                )
    return HttpResponse(render_to_string("residents/id_preview.html", context, request))


@role_required(*READERS)
def resident_detail(request, pk):
    resident = _resident_or_404(request, pk)
    role = role_of(request.user)
    full = sees_full_values(request.user)
    appointments = list(resident.appointments.select_related("site").order_by("dose_number", "date"))
    vaccinations = list(resident.vaccinations.select_related("site__campaign", "given_by").order_by("dose_number"))
    correctable = _doses_correctable(request.user, vaccinations)
    given = {v.dose_number for v in vaccinations}
    open_doses = {a.dose_number for a in appointments if a.status in ("booked", "arrived")}
    if full:
        record_full_view(user=request.user, kind=FullValueView.Kind.PAGE, resident=resident)
    return render(
        request,
        "residents/resident_detail.html",
        {
            "resident": resident,
            "full": full,
            "id_number": shown_id_number(resident.id_number, full=full, document_type=resident.document_type),
            "nationality": nationality_name(resident.nationality) if resident.nationality else "",
            "phone": shown_phone(resident.phone, full=full),
            "birth_date": shown_birth_date(resident.birth_date, full=full),
            "age": age_text(resident.campaign, resident.birth_date, full=full),
            "reasons": reason_labels(resident.status_reasons, resident.campaign),
            "screening": screening_shown(resident.campaign, resident),
            "guardian_id_number": shown_id_number(
                resident.guardian_id_number, full=full, document_type=resident.guardian_document_type
            ),
            "history": resident_history(resident, full=full),
            "appointments": appointments,
            "vaccinations": vaccinations,
            "correctable": correctable,
            "voided_doses": resident.voided_doses.select_related("voided_by").order_by("voided_at"),
            "can_book": resident.status == Resident.Status.ELIGIBLE and 1 not in given and 1 not in open_doses,
            # The next dose after the last given, when the campaign has one and it is neither given nor held.
            "needs_next_dose": bool(given)
            and max(given) < resident.campaign.doses
            and max(given) + 1 not in open_doses,
            "next_dose": max(given, default=0) + 1,
            "today": timezone.localdate(),
            # Every dose of the campaign given (one for a one-dose campaign): 已完成全程接种.
            "complete": set(resident.campaign.dose_numbers) <= given,
            "can_write": role in WRITERS,
            "can_delete": role == Role.OFFICE,
            "refuse_form": RefuseForm(),
            "can_review": role in WRITERS and resident.channel == Resident.Channel.SELF,
            **_sms_of(request, resident),
        },
    )


def _doses_correctable(user, vaccinations) -> set[int]:
    """The doses `user` may correct or void (the site's doctor, the office): sites.dose_record decides."""
    from sites.dose_record import may_keep_dose_record

    sites = {v.site_id: v.site for v in vaccinations}
    allowed = {pk for pk, site in sites.items() if may_keep_dose_record(user, site)}
    return {v.pk for v in vaccinations if v.site_id in allowed}


def _sms_of(request, resident) -> dict:
    """The messages that went to the resident (newest first), and whether their phone opted out."""
    from appointments.messaging.selectors import resident_messages, shown_text
    from appointments.messaging.services import phone_opted_out

    sent = resident_messages(resident=resident)
    return {
        # The phone is shown only where the message went to another number than the one on record now.
        "sms_rows": [
            (
                message,
                shown_text(message, user=request.user),
                "" if message.phone == resident.phone else mask_phone(message.phone),
            )
            for message in sent
        ],
        "sms_opted_out": bool(resident.phone) and phone_opted_out(resident.phone),
    }


@role_required(*WRITERS)
def resident_edit(request, pk):
    resident = _resident_or_404(request, pk)
    form = ResidentEditForm(request.POST or None, instance=resident)
    if request.method == "POST" and form.is_valid():
        before = resident.status
        changes = form.changes()
        if "confirm" in request.POST and resident.channel == Resident.Channel.SELF:
            # The review's "correct, then confirm" (待确认的自助登记).
            try:
                resident_review_correct(resident=resident, reviewed_by=request.user, **changes)
            except ReviewClosed as closed:
                messages.error(request, closed.message)
                return redirect("residents:detail", pk=resident.pk)
            messages.success(request, _("Corrected and confirmed: %(name)s.") % {"name": form.cleaned_data["name"]})
            return redirect("residents:reviews")
        try:
            resident_update(resident=Resident.objects.get(pk=resident.pk), changed_by=request.user, **changes)
        except ValidationError as error:
            form.add_error(None, error)
            return render(
                request,
                "residents/resident_edit.html",
                {"form": form, "resident": resident, "campaign": resident.campaign},
            )
        resident.refresh_from_db()
        if before != resident.status:
            messages.success(
                request, _("Saved. Status is now: %(status)s.") % {"status": resident.get_status_display()}
            )
        else:
            messages.success(request, _("Saved."))
        return redirect("residents:detail", pk=resident.pk)
    return render(
        request, "residents/resident_edit.html", {"form": form, "resident": resident, "campaign": resident.campaign}
    )


@require_POST
@role_required(*WRITERS)
def resident_refuse(request, pk):
    resident = _resident_or_404(request, pk)
    if request.POST.get("withdraw"):
        resident_set_refused(resident=resident, refused=False, changed_by=request.user)
        messages.success(
            request,
            _("The refusal is withdrawn. Status is now: %(status)s.") % {"status": resident.get_status_display()},
        )
        return redirect("residents:detail", pk=pk)
    form = RefuseForm(request.POST)
    if form.is_valid():
        resident_set_refused(
            resident=resident, refused=True, reason=form.cleaned_data["reason"], changed_by=request.user
        )
        messages.success(request, _("Recorded as refused."))
    else:
        messages.error(request, _("Say why the resident refuses."))
    return redirect("residents:detail", pk=pk)


@require_POST
@role_required(Role.OFFICE)
def resident_remove(request, pk):
    resident = _resident_or_404(request, pk)
    if not request.user.has_perm("residents.delete_resident"):
        raise PermissionDenied
    try:
        resident_delete(resident=resident, deleted_by=request.user)
    except ProtectedError:
        messages.error(request, _("This resident has appointments or doses on record and cannot be deleted."))
        return redirect("residents:detail", pk=pk)
    messages.success(request, _("The registration of %(name)s is deleted.") % {"name": resident.name})
    return redirect("residents:village_home")


@role_required(Role.OFFICE)
def full_value_views(request):
    """The office's list of every view of full ID numbers or phones (and of searches by number): who, whose, when."""
    views = FullValueView.objects.select_related("user", "resident__village")
    kind = request.GET.get("kind", "")
    if kind in FullValueView.Kind.values:
        views = views.filter(kind=kind)
    who = request.GET.get("user", "").strip()
    if who:
        views = views.filter(user__username=who)
    page = Paginator(views, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "residents/full_value_views.html",
        {
            "page": page,
            "kinds": FullValueView.Kind.choices,
            "kind": kind,
            "who": who,
            "query": _query_without_page(request),
        },
    )


# --- the review of self-registrations (待确认的自助登记) --------------------------------------------


@role_required(*WRITERS)
def review_list(request):
    """The self-registrations of the cadre's village (every village for the office) waiting for review."""
    campaign = working_campaign(request)
    pending = with_progress(reviews_pending(request.user, campaign=campaign).select_related("village"))
    page = Paginator(pending, 25).get_page(request.GET.get("page"))
    rows = []
    for resident in page:
        row = _row(resident, campaign=campaign, full=sees_full_values(request.user))
        row["answers"] = "、".join(reason_labels(screening_positives(campaign, answers_of(resident)), campaign))
        rows.append(row)
    return render(
        request,
        "residents/review_list.html",
        {
            "page": page,
            "rows": rows,
            "all_villages": role_of(request.user) != Role.CADRE,
            "refuse_form": ReviewRefuseForm(),
        },
    )


def _after_review(request, pk):
    # Back where the action was taken: the list, or the resident's page. Never a URL from the form.
    if request.POST.get("back") == "detail":
        return redirect("residents:detail", pk=pk)
    return redirect("residents:reviews")


@require_POST
@role_required(*WRITERS)
def review_confirm(request, pk):
    resident = _resident_or_404(request, pk)
    try:
        resident_review_confirm(resident=resident, reviewed_by=request.user)
    except ReviewClosed as closed:
        messages.error(request, closed.message)
    else:
        messages.success(request, _("The registration of %(name)s is confirmed.") % {"name": resident.name})
    return _after_review(request, pk)


@require_POST
@role_required(*WRITERS)
def review_refuse(request, pk):
    resident = _resident_or_404(request, pk)
    form = ReviewRefuseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the registration is refused."))
        return _after_review(request, pk)
    try:
        cancelled = resident_review_refuse(
            resident=resident, reason=form.cleaned_data["reason"], reviewed_by=request.user
        )
    except ReviewClosed as closed:
        messages.error(request, closed.message)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(
            request,
            _("The registration of %(name)s is refused; %(count)d appointments cancelled.")
            % {"name": resident.name, "count": len(cancelled)},
        )
    return _after_review(request, pk)
