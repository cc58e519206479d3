"""The public pages' guards against automated use: the device cookie, rate limits (django-ratelimit on
the shared cache) and when the captcha is asked for.

The limits counted in the database (how many codes a phone or a client may ask for) are in
appointments.public.identity; these are the request rates in front of them.
"""

import functools
import re
import secrets

from django.conf import settings
from django_ratelimit.core import get_usage

from appointments.public.forms import form_age
from campaign.lockout import client_ip

DEVICE_COOKIE = "bk_device"
DEVICE_COOKIE_YEARS = 2
_DEVICE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
# The session remembers that this visitor was asked for the captcha: it stays until they leave.
SESSION_CAPTCHA = "public_captcha"
CODE_REQUEST = "public:code-request"
CODE_VERIFY = "public:code-verify"


def with_device(view):
    """Give the browser a long-lived random device cookie (HttpOnly, SameSite=Lax) if it has none.

    Sets request.public_device (the cookie's value) and request.public_device_new (True when the
    request came without one: a form posted without it was never shown in this browser).
    """

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        device = request.COOKIES.get(DEVICE_COOKIE, "")
        request.public_device_new = not _DEVICE.match(device)
        if request.public_device_new:
            device = secrets.token_urlsafe(24)
        request.public_device = device
        response = view(request, *args, **kwargs)
        if request.public_device_new:
            response.set_cookie(
                DEVICE_COOKIE,
                device,
                max_age=DEVICE_COOKIE_YEARS * 365 * 24 * 3600,
                httponly=True,
                samesite="Lax",
                secure=settings.HTTPS_ONLY,
            )
        return response

    return wrapped


def address(request) -> str:
    return client_ip(request) or ""


# Keys (django-ratelimit's `key` callables take the group and the request).


def address_key(group, request) -> str:
    return address(request)


def device_key(group, request) -> str:
    # A request without the cookie counts against its address's cookieless bucket.
    if getattr(request, "public_device_new", True):
        return f"none:{address(request)}"
    return request.public_device


def phone_key(group, request) -> str:
    """The phone a code request or a verification is about: typed in the form, else the pending one."""
    from residents.services import normalize_phone

    typed = request.POST.get("phone", "")
    try:
        phone = normalize_phone(typed)
    except Exception:  # noqa: BLE001 - an unreadable phone is its own bucket
        phone = typed[:20]
    if not phone:
        phone = (request.session.get("public_pending") or {}).get("phone", "")
    return f"phone:{phone}"


def verified_phone_key(group, request) -> str:
    from appointments.public.identity import verified_phone

    return f"phone:{verified_phone(request) or ''}"


# Rates (read at each request, so that tests and the environment can change them).


def _setting(name):
    return lambda group, request: getattr(settings, name)


code_address_rate = _setting("PUBLIC_RATE_CODE_ADDRESS")
code_device_rate = _setting("PUBLIC_RATE_CODE_DEVICE")
code_phone_rate = _setting("PUBLIC_RATE_CODE_PHONE")
verify_address_rate = _setting("PUBLIC_RATE_VERIFY_ADDRESS")
verify_device_rate = _setting("PUBLIC_RATE_VERIFY_DEVICE")
verify_phone_rate = _setting("PUBLIC_RATE_VERIFY_PHONE")
add_phone_rate = _setting("PUBLIC_RATE_ADD_PHONE")


# The captcha ------------------------------------------------------------------------------


def _captcha_counts(request, *, increment: bool) -> bool:
    """Whether the device or the address has asked for as many codes as the captcha's thresholds
    ("2/h": the third code asked for within the hour needs the captcha)."""
    reached = False
    for group, key, rate in (
        ("public:captcha-device", device_key, settings.PUBLIC_CAPTCHA_DEVICE_AFTER),
        ("public:captcha-address", address_key, settings.PUBLIC_CAPTCHA_ADDRESS_AFTER),
    ):
        usage = get_usage(request, group=group, key=key, rate=rate, increment=increment)
        reached |= usage is not None and usage["count"] >= usage["limit"]
    return reached


def code_requested(request) -> None:
    """Count a code request towards the captcha's thresholds (after it was asked for)."""
    _captcha_counts(request, increment=True)


def captcha_needed(request, *, stamp: str | None = None) -> bool:
    """Whether this code request must come with the captcha: the visitor was asked for it before
    in this session, the device or address asked for many codes this hour, the form came back
    faster than a person fills it (or with no stamp of when it was shown), or without the device cookie.

    `stamp` is the form's "shown" field on a POST (None on a GET: only the counts are looked at).
    """
    if request.session.get(SESSION_CAPTCHA):
        return True
    automated = _captcha_counts(request, increment=False)
    if stamp is not None:
        age = form_age(stamp)
        automated |= age is None or age < settings.PUBLIC_CAPTCHA_MIN_SECONDS
        automated |= request.public_device_new
    if automated:
        request.session[SESSION_CAPTCHA] = True
    return automated
