"""The public booking pages' identity part: the QR entry, the start page, the SMS code, the family.

Until a phone's code is verified, every answer is the same whatever the document typed: no page
looks a person up before code_verify (appointments.public.identity, the enumeration rule).
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_ratelimit.decorators import ratelimit

from appointments.public import identity, limits
from appointments.public.forms import AddForm, CodeForm, StartForm, form_stamp
from appointments.public.models import FamilyMember
from appointments.public.selectors import family_rows
from campaign.lib.masking import mask_name, mask_phone
from campaign.lib.params import BadParameter, id_param
from campaign.models import Village

# The session's keys: the village chosen by a QR code, what the start page took until the code is
# verified, and (for the registration page) the document of a verified person not found. The
# campaign chosen is identity.SESSION_CAMPAIGN (identity.campaign_chosen).
SESSION_VILLAGE = "public_village"
SESSION_PENDING = "public_pending"
SESSION_UNREGISTERED = "public_unregistered"
# The start page's query parameter naming the campaign: the campaign's poster is /book/?c=<id>.
CAMPAIGN_PARAM = "c"


def _villages(campaign):
    return Village.objects.filter(campaign=campaign).order_by("name")


def _searched_campaigns(request):
    """Where a typed document is looked for: the chosen campaign first, then the other open ones."""
    chosen = identity.campaign_for(request)
    return [chosen, *(c for c in identity.open_campaigns() if c.pk != chosen.pk)]


def _choose_from_query(request) -> None:
    """/book/?c=<id> (the campaign's poster): remember that open campaign; a village of another one is let go.

    A `c` naming no open campaign (a closed campaign's poster, the start page's "another campaign"
    link) forgets the choice: with several campaigns open the start page lists them."""
    if CAMPAIGN_PARAM not in request.GET:
        return
    try:
        wanted = id_param(request.GET, CAMPAIGN_PARAM)
    except BadParameter:
        wanted = None  # a torn or mistyped poster address: the list, not an error page
    campaign = identity.open_campaigns().filter(pk=wanted).first() if wanted else None
    if campaign is None:
        identity.campaign_forget(request)
        return
    identity.campaign_choose(request, campaign)
    village_id = request.session.get(SESSION_VILLAGE)
    if village_id is not None and not Village.objects.filter(pk=village_id, campaign=campaign).exists():
        request.session.pop(SESSION_VILLAGE, None)


@login_not_required
def rate_limited(request, exception=None):
    """RATELIMIT_VIEW: too many requests, in the public layout, status 429."""
    return render(request, "public/rate_limited.html", status=429)


@login_not_required
@limits.with_device
def village(request, village_id: int):
    """The QR poster's entry: remembers the village, and its campaign, and opens the start page."""
    chosen = get_object_or_404(Village.objects.select_related("campaign"), pk=village_id, campaign__is_open=True)
    request.session[SESSION_VILLAGE] = chosen.pk
    identity.campaign_choose(request, chosen.campaign)
    return redirect("public:start")


def _code_request(request, phone: str) -> str | None:
    """Ask for a code for `phone` from this client; returns the refusal's message, or None when sent."""
    client = identity.client_hash(address=limits.address(request), device=request.public_device)
    try:
        identity.code_request(phone=phone, client=client, campaign=identity.campaign_chosen(request))
    except identity.CodeRefused as refused:
        return refused.message
    finally:
        limits.code_requested(request)
    return None


@login_not_required
@limits.with_device
@ratelimit(group=limits.CODE_REQUEST, key=limits.address_key, rate=limits.code_address_rate, method="POST")
@ratelimit(group=limits.CODE_REQUEST, key=limits.device_key, rate=limits.code_device_rate, method="POST")
@ratelimit(group=limits.CODE_REQUEST, key=limits.phone_key, rate=limits.code_phone_rate, method="POST")
def start(request):
    """Name, document and phone; a code is sent to the phone. Nothing is looked up here.

    Opened for a campaign (?c=<id>, a village's poster) or with one campaign open, it shows that
    campaign; with several open and none chosen, it lists them to choose from first.
    """
    if request.method == "GET":
        _choose_from_query(request)
    if request.method == "GET" and identity.verified_phone(request):
        return redirect("public:family")
    campaign = identity.campaign_chosen(request)
    if campaign is None:
        campaigns = list(identity.open_campaigns())
        if not campaigns:
            raise Http404("no open campaign")
        if request.method == "GET":
            return render(request, "public/campaigns.html", {"campaigns": campaigns, "param": CAMPAIGN_PARAM})
        campaign = identity.campaign_for(request)
    villages = _villages(campaign)
    refusal = None
    if request.method == "POST":
        captcha = limits.captcha_needed(request, stamp=request.POST.get("shown", ""))
        form = StartForm(request.POST, villages=villages, captcha=captcha)
        if captcha and "captcha_1" not in request.POST:
            # Asked for the first time: one message, not the field's "required" under a picture not yet seen.
            form.add_error(None, _("Please type the digits in the picture, then send again."))
            form.errors.pop("captcha", None)
        elif form.is_valid():
            data = form.cleaned_data
            chosen = data.get("village")
            request.session[SESSION_PENDING] = {
                "name": data["name"],
                "document_type": data["document_type"],
                "id_number": data["id_number"],
                "phone": data["phone"],
                "village": chosen.pk if chosen else request.session.get(SESSION_VILLAGE),
            }
            refusal = _code_request(request, data["phone"])
            # Asked again within the minute: the code sent then is still good, so go and type it.
            if refusal is None or identity.code_wait(phone=data["phone"]) > 0:
                if refusal is not None:
                    messages.info(request, refusal)
                return redirect("public:code")
    else:
        pending = request.session.get(SESSION_PENDING) or {}
        initial = {key: pending[key] for key in ("name", "document_type", "id_number", "phone") if key in pending}
        initial["village"] = pending.get("village") or request.session.get(SESSION_VILLAGE)
        form = StartForm(initial=initial, villages=villages, captcha=limits.captcha_needed(request))
    chosen_village = villages.filter(pk=request.session.get(SESSION_VILLAGE)).first()
    return render(
        request,
        "public/start.html",
        {
            "form": form,
            "refusal": refusal,
            "campaign": campaign,
            "footer_campaign": campaign,
            "chosen_village": chosen_village,
            "other_campaigns": identity.open_campaigns().exclude(pk=campaign.pk).exists(),
        },
    )


def _pending(request) -> dict | None:
    pending = request.session.get(SESSION_PENDING)
    return pending if pending and pending.get("phone") else None


def _after_verification(request, pending: dict) -> None:
    """Now that the phone is verified: find the person typed on the start page, in every open campaign,
    and add them to its family, with the children this phone is the guardian's phone of."""
    account = identity.public_sign_in(request, phone=pending["phone"])
    try:
        try:
            residents = identity.residents_find(
                campaigns=_searched_campaigns(request),
                document_type=pending["document_type"],
                id_number=pending["id_number"],
                name=pending["name"],
            )
        except identity.NameMismatch as mismatch:
            messages.error(request, mismatch.message)
            return
        except ValidationError:
            residents = []
        if not residents:
            request.session[SESSION_UNREGISTERED] = {
                key: pending.get(key) for key in ("name", "document_type", "id_number", "village")
            }
            messages.warning(request, _("No registration was found for this document."))
            return
        try:
            for resident in residents:
                identity.family_add(account=account, resident=resident, relation=FamilyMember.Relation.SELF)
        except identity.FamilyFull as full:
            messages.error(request, full.message)
    finally:
        identity.guardian_children_add(account=account)


@login_not_required
@limits.with_device
@ratelimit(group=limits.CODE_VERIFY, key=limits.address_key, rate=limits.verify_address_rate, method="POST")
@ratelimit(group=limits.CODE_VERIFY, key=limits.device_key, rate=limits.verify_device_rate, method="POST")
@ratelimit(group=limits.CODE_VERIFY, key=limits.phone_key, rate=limits.verify_phone_rate, method="POST")
def code(request):
    """Type the SMS code; a right one signs the phone in on this device, then the person is looked up."""
    pending = _pending(request)
    if pending is None:
        return redirect("public:start")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if identity.code_verify(phone=pending["phone"], code=form.cleaned_data["code"]):
            request.session.pop(SESSION_PENDING, None)
            _after_verification(request, pending)
            return redirect("public:family")
        form.add_error("code", _("The code is wrong or has expired. Check the SMS, or ask for a new code."))
    return render(
        request,
        "public/code.html",
        {
            "form": form,
            "masked_phone": mask_phone(pending["phone"]),
            "wait": identity.code_wait(phone=pending["phone"]),
            "minutes": settings.PUBLIC_CODE_MINUTES,
            "stamp": form_stamp(),
        },
    )


@login_not_required
@require_POST
@limits.with_device
@ratelimit(group=limits.CODE_REQUEST, key=limits.address_key, rate=limits.code_address_rate, method="POST")
@ratelimit(group=limits.CODE_REQUEST, key=limits.device_key, rate=limits.code_device_rate, method="POST")
@ratelimit(group=limits.CODE_REQUEST, key=limits.phone_key, rate=limits.code_phone_rate, method="POST")
def resend(request):
    """Send the pending phone a new code (the page counts down the minute first)."""
    pending = _pending(request)
    if pending is None:
        return redirect("public:start")
    if limits.captcha_needed(request, stamp=request.POST.get("shown", "")):
        # The start page asks for the captcha, with what was typed still in place.
        return redirect("public:start")
    refusal = _code_request(request, pending["phone"])
    if refusal:
        messages.error(request, refusal)
    else:
        messages.success(request, _("A new code was sent."))
    return redirect("public:code")


@identity.phone_required
def family(request):
    """The verified phone's people, each with one line of status, and what can be done next.

    A family spans campaigns (a mother in the COVID campaign, her child in the measles one): each row
    is in its own campaign, named when the family has people in more than one."""
    account = identity.account_for(request)
    rows = family_rows(account=account)
    return render(
        request,
        "public/family.html",
        {
            "rows": rows,
            "masked_phone": mask_phone(account.phone),
            "can_add": len(rows) < settings.PUBLIC_FAMILY_MAX,
            "family_max": settings.PUBLIC_FAMILY_MAX,
            "unregistered": request.session.get(SESSION_UNREGISTERED),
            "several_campaigns": len({row.member.resident.campaign_id for row in rows}) > 1,
        },
    )


@identity.phone_required
@ratelimit(group="public:add", key=limits.verified_phone_key, rate=limits.add_phone_rate, method="POST")
def add(request):
    """Add another person by name and document, as the cadre recorded them (in any open campaign)."""
    account = identity.account_for(request)
    form = AddForm(request.POST or None)
    not_found = False
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            found = identity.residents_find(
                campaigns=_searched_campaigns(request),
                document_type=data["document_type"],
                id_number=data["id_number"],
                name=data["name"],
            )
        except identity.NameMismatch as mismatch:
            form.add_error(None, mismatch.message)
        else:
            if not found:
                not_found = True
                request.session[SESSION_UNREGISTERED] = {
                    "name": data["name"],
                    "document_type": data["document_type"],
                    "id_number": data["id_number"],
                    "village": request.session.get(SESSION_VILLAGE),
                }
            else:
                try:
                    for resident in found:
                        identity.family_add(account=account, resident=resident, relation=data["relation"])
                except identity.FamilyFull as full:
                    form.add_error(None, full.message)
                else:
                    messages.success(request, _("%(name)s was added.") % {"name": mask_name(found[0].name)})
                    return redirect("public:family")
    return render(
        request, "public/add.html", {"form": form, "not_found": not_found, "family_max": settings.PUBLIC_FAMILY_MAX}
    )


@login_not_required
@require_POST
def signout(request):
    identity.public_sign_out(request)
    request.session.pop(SESSION_UNREGISTERED, None)
    messages.info(request, _("You have signed out on this phone."))
    return redirect("public:start")
