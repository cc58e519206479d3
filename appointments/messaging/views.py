"""The outbox's pages: the office's list of messages, the opt-outs, the kinds on and off; the providers' callback."""

import logging

from django.contrib import messages as notices
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from appointments.messaging import kinds, services
from appointments.messaging.forms import OptOutForm, OutboxFilterForm, PhoneSearchForm
from appointments.messaging.models import Kind, Message, OptOut
from appointments.messaging.selectors import (
    STATUS_ORDER,
    kind_switches,
    opt_outs,
    outbox_figures,
    outbox_messages,
    shown_text,
    with_addressee,
)
from campaign.lib import sms
from campaign.lib.access import role_required
from campaign.lib.masking import mask_phone
from campaign.models import Village
from campaign.roles import Role, role_of
from campaign.scope import working_campaign

logger = logging.getLogger(__name__)

# Who reads the outbox: the office, and read-only those who see the whole town's progress.
READERS = (Role.OFFICE, Role.SUPERVISION, Role.LEADERSHIP)
PER_PAGE = 50


def _recipient_name(user) -> str:
    return (user.get_full_name() or user.username) if user else ""


class Row:
    """One message as the outbox page shows it: to whom, the phone masked, the text as the user may read it."""

    def __init__(self, message: Message, *, user):
        self.message = message
        self.phone = mask_phone(message.phone)
        self.text = shown_text(message, user=user)
        resident, recipient = message.resident, message.recipient
        self.resident = resident
        self.village = resident.village.name if resident else ""
        self.staff = _recipient_name(recipient)
        if recipient and not self.village:
            profile = getattr(recipient, "profile", None)
            self.village = profile.village.name if profile and profile.village_id else ""
        if message.status == Message.Status.SKIPPED:
            self.reason = message.skip_reason
        elif message.status == Message.Status.FAILED or message.error_code:
            self.reason = " ".join(filter(None, [message.error_code, message.error_message]))
        else:
            self.reason = ""


def _query_without(request, *names) -> str:
    query = request.GET.copy()
    for name in ("page", *names):
        query.pop(name, None)
    return query.urlencode()


@role_required(*READERS)
def outbox(request):
    """Every message of the campaign, newest first, with the counts, reasons and cost of the filtered set."""
    campaign = working_campaign(request)
    villages = Village.objects.filter(campaign=campaign).order_by("site_id", "pk")
    form = OutboxFilterForm(request.GET, villages=villages)
    form.is_valid()  # a filter that cannot be read is left out (and said so); the others still apply
    filters = {name: form.cleaned_data.get(name) or None for name in form.fields}
    status = filters.pop("status")
    rows = outbox_messages(campaign=campaign, **filters)
    figures = outbox_figures(rows)
    listed = rows.filter(status=status) if status else rows
    paginator = Paginator(with_addressee(listed), PER_PAGE)
    # The figures counted the filtered rows already: the paginator need not count them again.
    paginator.count = figures.counts[status] if status else figures.total
    page = paginator.get_page(request.GET.get("page"))
    without_status = _query_without(request, "status")
    return render(
        request,
        "appointments/messaging/outbox.html",
        {
            "campaign": campaign,
            "form": form,
            "figures": figures,
            "statuses": [(str(s), Message.Status(s).label, figures.counts[str(s)]) for s in STATUS_ORDER],
            "status": status or "",
            "page": page,
            "rows": [Row(message, user=request.user) for message in page.object_list],
            "query": _query_without(request),
            "query_without_status": without_status,
            # The reasons go with the messages listed: those that failed, those not sent.
            "show_failures": bool(figures.failures) and status in (None, Message.Status.FAILED),
            "show_skips": bool(figures.skips) and status in (None, Message.Status.SKIPPED),
            "is_office": role_of(request.user) == Role.OFFICE,
        },
    )


@role_required(*READERS)
def opt_out_list(request):
    """The phones that get no messages but the codes they ask for; the office takes one off or puts it back."""
    is_office = role_of(request.user) == Role.OFFICE
    form = OptOutForm(request.POST or None)
    if request.method == "POST":
        if not is_office:
            raise PermissionDenied
        if form.is_valid():
            phone = form.cleaned_data["phone"]
            created = services.opt_out_record(
                phone=phone, source=OptOut.Source.OFFICE, by=request.user, note=form.cleaned_data["note"]
            )
            if created:
                notices.success(
                    request,
                    _("%(phone)s gets no more messages (but codes it asks for).") % {"phone": mask_phone(phone)},
                )
            else:
                notices.info(request, _("%(phone)s was off already.") % {"phone": mask_phone(phone)})
            return redirect("messaging:opt_outs")
    search = PhoneSearchForm(request.GET)
    phone_end = search.cleaned_data["phone_end"] if search.is_valid() else ""
    rows = opt_outs(phone_end=phone_end)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "appointments/messaging/opt_outs.html",
        {
            "form": form,
            "page": page,
            "rows": [(opt_out, mask_phone(opt_out.phone)) for opt_out in page.object_list],
            "search": search,
            "is_office": is_office,
            "query": _query_without(request),
        },
    )


@require_POST
@role_required(Role.OFFICE)
def opt_out_remove(request, pk):
    """Put a phone back on (the person asked): the row's id travels, never the phone."""
    opt_out = get_object_or_404(OptOut, pk=pk)
    services.opt_out_remove(phone=opt_out.phone)
    notices.success(request, _("%(phone)s gets messages again.") % {"phone": mask_phone(opt_out.phone)})
    return redirect("messaging:opt_outs")


@role_required(*READERS)
def kind_list(request):
    """Each kind of message, its text with sample values, and whether the campaign sends it."""
    campaign = working_campaign(request)
    return render(
        request,
        "appointments/messaging/kinds.html",
        {
            "campaign": campaign,
            "rows": kind_switches(campaign=campaign),
            "is_office": role_of(request.user) == Role.OFFICE,
            "sign": kinds.sign(),
        },
    )


@require_POST
@role_required(Role.OFFICE)
def kind_switch(request, kind):
    """Turn one kind of message on or off for the campaign the page works in."""
    if kind not in Kind.values:
        raise Http404
    choice = request.POST.get("enabled")
    if choice not in ("0", "1"):
        # A form that says neither on nor off changes nothing (no switch is turned off by a stray POST).
        notices.error(request, _("Choose on or off."))
        return redirect("messaging:kinds")
    enabled = choice == "1"
    kinds.kind_switch_set(campaign=working_campaign(request), kind=kind, enabled=enabled, changed_by=request.user)
    label = Kind(kind).label
    if enabled:
        notices.success(request, _("“%(kind)s” messages are sent again.") % {"kind": label})
    else:
        notices.warning(request, _("“%(kind)s” messages are no longer sent.") % {"kind": label})
    return redirect("messaging:kinds")


@csrf_exempt
@login_not_required
@require_POST
def callback(request, provider):
    """A provider's delivery reports and replies (回复TD退订), verified by the configured backend.

    A provider other than the configured backend: 404. Without the callback token, not the provider's
    documented body, or a backend that takes no callbacks (the embedded ones): 403, nothing applied.
    Otherwise the reports update the outbox, the replies record opt-outs, and the provider gets the
    answer it documents (the backend's `callback_answer`; anything else and it sends the same reports again).
    """
    backend = sms.get_backend()
    if provider != backend.name:
        raise Http404
    try:
        received = backend.parse_callback(request)
    except sms.CallbackRefused as refused:
        logger.warning("SMS callback refused (%s): %s", provider, refused)
        return HttpResponse("refused", status=403, content_type="text/plain; charset=utf-8")
    changed = services.delivery_reports_apply(provider=backend.name, reports=received.reports)
    opted_out = services.replies_apply(replies=received.replies)
    logger.info(
        "SMS callback (%s): %d reports, %d messages changed; %d replies, %d opted out",
        provider,
        len(received.reports),
        changed,
        len(received.replies),
        opted_out,
    )
    return JsonResponse(backend.callback_answer, json_dumps_params={"ensure_ascii": False})
