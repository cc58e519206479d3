"""Who is on the public pages: SMS codes, the verified phone's session, its family, and finding a resident.

The one place these rules live; the public views, and the booking and registration pages built on
them, call these functions. Nothing here says whether a person is registered before their phone
is verified: the views look a document up only after code_verify (the enumeration rule).
"""

import datetime
import functools
import hashlib
import hmac
import re
import secrets
import unicodedata

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.http import Http404
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from appointments.messaging.models import Kind
from appointments.messaging.services import message_queue
from appointments.public.models import FamilyMember, PhoneAccount, PhoneCode
from campaign.lib.documents import parse_document
from residents.models import Resident
from residents.services import normalize_name

CODE_DIGITS = 6
# The session's keys: the verified phone and when it was verified (a Unix time); the campaign chosen.
SESSION_PHONE = "public_phone"
SESSION_VERIFIED_AT = "public_verified_at"
SESSION_CAMPAIGN = "public_campaign"


class CodeRefused(Exception):
    """A code was not sent: a limit was reached. `message` is for the person (Chinese by default),
    `wait` the seconds after which asking again can succeed (None: not said)."""

    def __init__(self, message: str, wait: int | None = None):
        super().__init__(message)
        self.message = message
        self.wait = wait


class FamilyFull(Exception):
    """The phone manages settings.PUBLIC_FAMILY_MAX people already."""

    def __init__(self, limit: int):
        super().__init__(limit)
        self.limit = limit
        self.message = _("One phone can book for at most %(count)d people.") % {"count": limit}


class NameMismatch(Exception):
    """The document is registered, under another name: the person is told only that the two disagree."""

    message = gettext_lazy("The name does not match the document number. Check them, or contact your village's cadre.")


# --- codes ---------------------------------------------------------------------------------


def _keyed_hash(text: str) -> str:
    """An HMAC-SHA256 with the SECRET_KEY: the table alone cannot rebuild a code or a client."""
    return hmac.new(settings.SECRET_KEY.encode(), text.encode(), hashlib.sha256).hexdigest()


def code_hash(*, phone: str, code: str) -> str:
    # The phone is in the hashed text: one code sent to two phones leaves two different hashes.
    return _keyed_hash(f"code:{phone}:{code}")


def client_hash(*, address: str | None, device: str) -> str:
    """What PhoneCode.client holds for an address and a device cookie (never either in clear)."""
    return _keyed_hash(f"client:{address or ''}:{device}")


def _wait_text(seconds: int) -> str:
    if seconds < 120:
        return _("%(count)d seconds") % {"count": seconds}
    minutes = -(-seconds // 60)
    if minutes < 120:
        return _("%(count)d minutes") % {"count": minutes}
    return _("%(count)d hours") % {"count": -(-minutes // 60)}


def _refuse_until(oldest_counted: datetime.datetime, period: datetime.timedelta, now: datetime.datetime) -> int:
    """Seconds until the oldest counted request leaves the period."""
    return max(1, int((oldest_counted + period - now).total_seconds()) + 1)


def _check_limit(rows, *, limit: int, period: datetime.timedelta, now, message: str) -> None:
    """Raise CodeRefused when `rows` (PhoneCode, newest first) hold `limit` or more within `period`."""
    if limit <= 0:
        return
    recent = list(rows.filter(created_at__gt=now - period).values_list("created_at", flat=True)[:limit])
    if len(recent) >= limit:
        wait = _refuse_until(recent[-1], period, now)
        raise CodeRefused(message % {"wait": _wait_text(wait)}, wait)


def code_request(*, phone: str, client: str, now: datetime.datetime | None = None, campaign=None) -> PhoneCode:
    """Send a new SMS code to `phone` (an 11-digit mainland mobile number) for `client` (client_hash).

    Returns the PhoneCode row; the code itself is on the returned object only, as `.code`, and in
    the outbox's message (never in this table), which counts in `campaign` (the one the page was opened
    for; None: the default campaign). Raises CodeRefused when the phone asked less than
    PUBLIC_CODE_INTERVAL_SECONDS ago, or the phone or the client reached its count for the hour
    or the day (PUBLIC_CODE_*). A new code replaces the phone's earlier ones (code_verify reads
    the newest only).
    """
    now = now or timezone.now()
    hour, day = datetime.timedelta(hours=1), datetime.timedelta(days=1)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Two requests for one phone at once must not both pass the limits: they take turns.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"phonecode:{phone}"])
        by_phone = PhoneCode.objects.filter(phone=phone).order_by("-created_at")
        interval = datetime.timedelta(seconds=settings.PUBLIC_CODE_INTERVAL_SECONDS)
        _check_limit(
            by_phone, limit=1, period=interval, now=now, message=_("A code was just sent. Ask again in %(wait)s.")
        )
        _check_limit(
            by_phone,
            limit=settings.PUBLIC_CODE_PER_HOUR,
            period=hour,
            now=now,
            message=_("This phone has asked for many codes in the last hour. Ask again in %(wait)s."),
        )
        _check_limit(
            by_phone,
            limit=settings.PUBLIC_CODE_PER_DAY,
            period=day,
            now=now,
            message=_("This phone has asked for many codes today. Ask again in %(wait)s."),
        )
        by_client = PhoneCode.objects.filter(client=client).order_by("-created_at")
        _check_limit(
            by_client,
            limit=settings.PUBLIC_CODE_CLIENT_PER_HOUR,
            period=hour,
            now=now,
            message=_("Many codes were asked for from this device. Ask again in %(wait)s."),
        )
        _check_limit(
            by_client,
            limit=settings.PUBLIC_CODE_CLIENT_PER_DAY,
            period=day,
            now=now,
            message=_("Many codes were asked for from this device today. Ask again in %(wait)s."),
        )
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        minutes = settings.PUBLIC_CODE_MINUTES
        row = PhoneCode.objects.create(
            phone=phone,
            code_hash=code_hash(phone=phone, code=code),
            created_at=now,
            expires_at=now + datetime.timedelta(minutes=minutes),
            client=client,
        )
        from campaign.models import Campaign

        # A code ignores opt-outs and quiet hours (appointments.messaging.kinds); sent after commit.
        message_queue(
            kind=Kind.CODE,
            phone=phone,
            params={"code": code, "minutes": minutes},
            campaign=campaign if campaign is not None else Campaign.objects.default(),
        )
    row.code = code
    return row


def _clean_code(raw) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(raw or "")))


def code_verify(*, phone: str, code: str, now: datetime.datetime | None = None) -> bool:
    """Whether `code` is the phone's newest code, unexpired, unused, and tried fewer than
    PUBLIC_CODE_ATTEMPTS times. Every try counts as an attempt; a right code is used up at once."""
    now = now or timezone.now()
    typed = _clean_code(code)
    with transaction.atomic():
        # Two tries at once each count, and a right code is used by one of them only.
        row = PhoneCode.objects.select_for_update().filter(phone=phone).order_by("-created_at", "-id").first()
        if row is None or row.used_at is not None or row.expires_at <= now:
            return False
        if row.attempts >= settings.PUBLIC_CODE_ATTEMPTS:
            return False
        row.attempts += 1
        right = hmac.compare_digest(row.code_hash, code_hash(phone=phone, code=typed))
        if right:
            row.used_at = now
        row.save(update_fields=["attempts", "used_at"])
    return right


def code_wait(*, phone: str, now: datetime.datetime | None = None) -> int:
    """Seconds before the phone may ask for another code (0: now); for the page's countdown."""
    now = now or timezone.now()
    last = PhoneCode.objects.filter(phone=phone).order_by("-created_at").values_list("created_at", flat=True).first()
    if last is None:
        return 0
    left = last + datetime.timedelta(seconds=settings.PUBLIC_CODE_INTERVAL_SECONDS) - now
    return max(0, int(left.total_seconds()) + 1) if left.total_seconds() > 0 else 0


# --- the session ---------------------------------------------------------------------------


def public_sign_in(request, *, phone: str) -> PhoneAccount:
    """Remember on this device that `phone` was verified now (for PUBLIC_SESSION_HOURS); returns its account.

    The staff login in the same session, if any, is left as it is (and so is its shorter expiry).
    """
    now = timezone.now()
    account, _created = PhoneAccount.objects.get_or_create(phone=phone, defaults={"created_at": now})
    PhoneAccount.objects.filter(pk=account.pk).update(last_verified_at=now)
    # A new session key: one planted before the verification is worth nothing after it.
    request.session.cycle_key()
    request.session[SESSION_PHONE] = phone
    request.session[SESSION_VERIFIED_AT] = int(now.timestamp())
    if not request.user.is_authenticated:
        request.session.set_expiry(settings.PUBLIC_SESSION_HOURS * 3600)
    return account


def public_sign_out(request) -> None:
    """Forget the verified phone on this device (a staff login in the same session stays)."""
    request.session.pop(SESSION_PHONE, None)
    request.session.pop(SESSION_VERIFIED_AT, None)


def verified_phone(request) -> str | None:
    """The phone verified on this device within PUBLIC_SESSION_HOURS, or None."""
    session = getattr(request, "session", None)
    if session is None:
        return None
    phone, at = session.get(SESSION_PHONE), session.get(SESSION_VERIFIED_AT)
    if not phone or not at:
        return None
    if timezone.now().timestamp() - at > settings.PUBLIC_SESSION_HOURS * 3600:
        public_sign_out(request)
        return None
    return phone


def phone_required(view):
    """A public view for a verified phone only: others are sent to the start page. Sets request.public_phone."""

    @login_not_required
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        phone = verified_phone(request)
        if phone is None:
            return redirect("public:start")
        request.public_phone = phone
        return view(request, *args, **kwargs)

    return wrapped


def account_for(request) -> PhoneAccount:
    """The verified phone's account; Http404 when no phone is verified on this device."""
    phone = verified_phone(request)
    if phone is None:
        raise Http404("no verified phone")
    account, _created = PhoneAccount.objects.get_or_create(phone=phone)
    return account


def member_for(request, member_id: int) -> FamilyMember:
    """The verified phone's family member `member_id`, with its resident; Http404 for anyone else's."""
    phone = verified_phone(request)
    member = (
        FamilyMember.objects.select_related("resident", "resident__village", "resident__campaign", "account")
        .filter(pk=member_id, account__phone=phone)
        .first()
        if phone
        else None
    )
    if member is None:
        raise Http404("not this phone's family member")
    return member


# --- the campaign ---------------------------------------------------------------------------
#
# Several campaigns run at once. A poster's QR code carries its campaign: a village's poster by its
# village (/book/v/<village>/), the campaign's poster as /book/?c=<campaign>; the start page
# remembers it in the session. What a person finds and books is in their own registration's campaign
# (a family spans campaigns); the chosen campaign is where a self-registration goes and what the start
# page shows. Without a choice: the only open campaign, else the start page lists the open ones, and
# the pages that need one take the default campaign (old posters without ?c keep working).


def open_campaigns():
    from campaign.models import Campaign

    return Campaign.objects.in_default_order()


def campaign_choose(request, campaign) -> None:
    """Remember on this device that the pages were opened for `campaign` (a poster's QR code)."""
    request.session[SESSION_CAMPAIGN] = campaign.pk


def campaign_forget(request) -> None:
    request.session.pop(SESSION_CAMPAIGN, None)


def campaign_chosen(request):
    """The open campaign chosen on this device (a poster, the start page's list), or the only open one; None."""
    session = getattr(request, "session", None)
    chosen = session.get(SESSION_CAMPAIGN) if session is not None else None
    campaigns = list(open_campaigns())
    if chosen is not None:
        for campaign in campaigns:
            if campaign.pk == chosen:
                return campaign
    return campaigns[0] if len(campaigns) == 1 else None


def campaign_for(request):
    """The campaign a page works in: the chosen one, else the default campaign; Http404 when none is open."""
    from campaign.models import Campaign

    campaign = campaign_chosen(request) or Campaign.objects.default()
    if campaign is None:
        raise Http404("no open campaign")
    return campaign


# --- the family ----------------------------------------------------------------------------


def family_add(*, account: PhoneAccount, resident: Resident, relation: str) -> FamilyMember:
    """Add `resident` to the phone's family; returns the member (the existing one if already there).

    Raises FamilyFull when the family has PUBLIC_FAMILY_MAX people.
    """
    limit = settings.PUBLIC_FAMILY_MAX
    with transaction.atomic():
        # Counting and adding under the account's lock: two adds at once cannot both take the last place.
        PhoneAccount.objects.select_for_update().filter(pk=account.pk).get()
        existing = FamilyMember.objects.filter(account=account, resident=resident).first()
        if existing is not None:
            return existing
        if FamilyMember.objects.filter(account=account).count() >= limit:
            raise FamilyFull(limit)
        try:
            with transaction.atomic():
                return FamilyMember.objects.create(account=account, resident=resident, relation=relation)
        except IntegrityError:
            return FamilyMember.objects.get(account=account, resident=resident)


def family_of(account: PhoneAccount):
    """The phone's family members with their residents, in the order they were added."""
    return FamilyMember.objects.filter(account=account).select_related("resident", "resident__village")


def guardian_children_add(*, account: PhoneAccount) -> list[FamilyMember]:
    """Add to the phone's family the children it is the guardian's phone of, in every open campaign.

    A registration with a guardian (a child's) carries the guardian's phone as its own
    (Resident.phone): the verified phone finds them, as it finds no adult by phone alone (a cadre may
    have typed their own phone for people without one). Stops quietly at PUBLIC_FAMILY_MAX. Returns
    the members added now. Call only after the phone is verified.
    """
    children = (
        Resident.objects.filter(phone=account.phone, campaign__is_open=True)
        .exclude(guardian_name="")
        .exclude(family_links__account=account)
        .order_by("campaign_id", "pk")
    )
    added = []
    for child in children:
        try:
            added.append(family_add(account=account, resident=child, relation=FamilyMember.Relation.CHILD))
        except FamilyFull:
            break
    return added


# --- finding a resident --------------------------------------------------------------------

# What people type between the parts of a name, or leave out: spaces and the middle dots of
# transcribed names (阿卜杜·热合曼 written 阿卜杜热合曼).
_NAME_SEPARATORS = re.compile(r"[\s·•・.\-]")


def _name_key(raw) -> str:
    try:
        text = normalize_name(raw)
    except ValidationError:
        return ""
    return _NAME_SEPARATORS.sub("", text).casefold()


def names_match(typed, recorded) -> bool:
    """Whether a typed name is the recorded one, by the rules a cadre's record is written with."""
    typed_key = _name_key(typed)
    return bool(typed_key) and typed_key == _name_key(recorded)


def residents_find(*, campaigns, document_type: str, id_number: str, name: str) -> list[Resident]:
    """The person with this document in each of `campaigns` (one resident per campaign), when the name
    agrees; [] when there is none. Raises as resident_find does (NameMismatch when any of them is
    registered under another name). Call only after the phone is verified."""
    found = []
    for campaign in campaigns:
        resident = resident_find(campaign=campaign, document_type=document_type, id_number=id_number, name=name)
        if resident is not None:
            found.append(resident)
    return found


def resident_find(*, campaign, document_type: str, id_number: str, name: str) -> Resident | None:
    """The campaign's resident with this document, when the name agrees; None when there is none.

    The number is read as registration reads it (campaign.lib.documents.parse_document: full-width
    digits, spaces, a 15-digit ID converted to 18, an ID number that is really a permit), so what a
    person types finds what the cadre recorded. Raises ValidationError for a number that cannot be
    one of that type (checked before any lookup), NameMismatch when the document is registered under
    another name. Call only after the phone is verified: the answer says who is registered.
    """
    parsed = parse_document(document_type, id_number)
    resident = (
        Resident.objects.select_related("village")
        .filter(campaign=campaign, document_type=parsed.type, id_number=parsed.number)
        .first()
    )
    if resident is None:
        return None
    if not names_match(name, resident.name):
        raise NameMismatch()
    return resident
