"""The follow-up list (待联系人员) and the page where a call to one person is logged."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.follow_up.forms import CallForm, FollowUpFilterForm
from appointments.follow_up.selectors import follow_up_cadres, follow_up_list, last_calls, last_messages
from appointments.follow_up.services import CALLERS, call_log_record, come_on_window
from campaign.lib.access import role_required
from campaign.lib.masking import shown_phone
from campaign.roles import Role, role_of
from campaign.scope import own_village, working_campaign
from residents.models import FullValueView, Resident
from residents.services import record_full_view, sees_full_values

PER_PAGE = 50


class Row:
    """One person on the list as the page shows them: the phone as the user's role sees it, the last call."""

    def __init__(self, resident, *, full: bool, last_call=None, last_sms=None):
        self.resident = resident
        self.last_sms = last_sms
        # Why SMS cannot reach the person, if it cannot ("" when it can, as far as we know).
        if not resident.phone:
            self.sms_problem = _("no phone")
        elif getattr(resident, "sms_opted_out", False):
            self.sms_problem = _("opted out")
        elif last_sms is not None and last_sms.status == last_sms.Status.FAILED:
            self.sms_problem = _("last SMS failed")
        else:
            self.sms_problem = ""
        self.phone = shown_phone(resident.phone, full=full)
        self.tel = resident.phone if full else ""  # a tel: link only where the number is shown whole
        self.last_call = last_call
        cadre = resident.responsible_cadre
        self.cadre = (cadre.get_full_name() or cadre.username) if cadre else ""


@role_required(*CALLERS)
def follow_up(request):
    """The town's people to call back: the office sees every village, a cadre their own."""
    campaign = working_campaign(request)
    is_cadre = role_of(request.user) == Role.CADRE
    villages = None if is_cadre else campaign.villages.select_related("site")
    form = FollowUpFilterForm(
        request.GET,
        villages=villages,
        cadres=None if is_cadre else follow_up_cadres(campaign=campaign),
    )
    form.is_valid()  # a filter that cannot be read is left out; the others still apply
    filters = form.cleaned_data
    today = timezone.localdate()
    village = own_village(request) if is_cadre else filters.get("village")
    rows = follow_up_list(
        user=request.user,
        campaign=campaign,
        village=village,
        cadre=filters.get("cadre"),
        reason=filters.get("reason") or None,
        last_result=filters.get("last_result") or None,
        due_by=today if filters.get("due") else None,
        sms=filters.get("sms") or None,
        ordering=filters.get("ordering") or "due",
    )
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    full = sees_full_values(request.user)
    calls = last_calls(page.object_list)
    texts = last_messages(page.object_list)
    shown = [
        Row(resident, full=full, last_call=calls.get(resident.pk), last_sms=texts.get(resident.pk))
        for resident in page.object_list
    ]
    with_phone = sum(1 for row in shown if row.tel)
    if with_phone:
        # The phones of the people to call are shown whole: a view of full values, recorded.
        record_full_view(
            user=request.user,
            kind=FullValueView.Kind.FOLLOW_UP,
            subject=f"{village.name if village else '全镇'}：待联系人员（第{page.number}页）",
            people=with_phone,
        )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "appointments/follow_up.html",
        {
            "village": village,
            "form": form,
            "page": page,
            "rows": shown,
            "query": query.urlencode(),
            "today": today,
        },
    )


def _back(request) -> str:
    """The list as the user left it: its own address with the filters they had (only a query string is kept)."""
    back = QueryDict(request.POST.get("back") or request.GET.get("back") or "").urlencode()
    return reverse("appointments:follow_up") + (f"?{back}" if back else "")


@role_required(*CALLERS)
def call_log(request, pk):
    """Log a call to one person: what came of it, the day they will come, the next try; their earlier calls."""
    residents = Resident.objects.for_user(request.user).filter(campaign=working_campaign(request))
    resident = get_object_or_404(residents.select_related("campaign", "village", "responsible_cadre"), pk=pk)
    campaign = resident.campaign
    today = timezone.localdate()
    form = CallForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            call = call_log_record(resident=resident, called_by=request.user, today=today, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("Call to %(name)s recorded: %(result)s.")
                % {"name": resident.name, "result": call.get_result_display()},
            )
            return redirect(_back(request))
    full = sees_full_values(request.user)
    if full and resident.phone and request.method == "GET":
        record_full_view(user=request.user, kind=FullValueView.Kind.FOLLOW_UP, resident=resident)
    on_list = follow_up_list(user=request.user, campaign=campaign).filter(pk=resident.pk).first()
    first, last = come_on_window(resident=resident, today=today)
    return render(
        request,
        "appointments/call_log.html",
        {
            "resident": resident,
            "row": Row(on_list, full=full) if on_list else None,
            "phone": shown_phone(resident.phone, full=full),
            "tel": resident.phone if full else "",
            "calls": resident.call_attempts.select_related("called_by")[:20],
            "form": form,
            "back": QueryDict(request.POST.get("back") or request.GET.get("back") or "").urlencode(),
            "back_url": _back(request),
            "come_on_first": first,
            "come_on_last": last,
        },
    )
