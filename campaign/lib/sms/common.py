"""What the provider backends share: their settings, the callback token, the phone's forms, the providers' times."""

import datetime
import hmac
import json
import zoneinfo
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from campaign.lib import sms

# Both providers write their times in Beijing time and count their days (Alibaba's SendDate) there.
BEIJING = zoneinfo.ZoneInfo("Asia/Shanghai")

CALLBACK_TOKEN_PARAMETER = "token"
CALLBACK_TOKEN_HEADER = "X-Sms-Callback-Token"


def required(provider: str, **values: str) -> None:
    """ImproperlyConfigured naming every setting the provider needs that is empty."""
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise ImproperlyConfigured(f"The {provider} SMS backend needs the settings {', '.join(missing)} (environment).")


def template_ids(provider: str) -> dict[str, str]:
    """Each kind's approved template id (SMS_TEMPLATES); ImproperlyConfigured naming the missing ones."""
    templates = dict(settings.SMS_TEMPLATES)
    missing = sorted(kind for kind, template_id in templates.items() if not template_id)
    if missing:
        names = ", ".join(f"SMS_TEMPLATE_{kind.upper()}" for kind in missing)
        raise ImproperlyConfigured(f"The {provider} SMS backend needs an approved template id in {names}.")
    return templates


def endpoint(value: str) -> tuple[str, str]:
    """(scheme, host[:port]) of a provider endpoint given as a host (https) or a URL (http:// for a local server)."""
    if "://" not in value:
        return "https", value.strip("/")
    parts = urlsplit(value)
    return parts.scheme, parts.netloc


def timeouts() -> tuple[float, float]:
    """(connect, read) seconds, as requests takes them."""
    return float(settings.SMS_CONNECT_TIMEOUT), float(settings.SMS_READ_TIMEOUT)


def check_callback_token(request) -> None:
    """CallbackRefused unless the request carries SMS_CALLBACK_TOKEN (?token= or the X-Sms-Callback-Token header)."""
    expected = settings.SMS_CALLBACK_TOKEN
    if not expected:
        raise sms.CallbackRefused("SMS_CALLBACK_TOKEN is not set: callbacks are refused")
    given = request.GET.get(CALLBACK_TOKEN_PARAMETER) or request.headers.get(CALLBACK_TOKEN_HEADER) or ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise sms.CallbackRefused("no or a wrong callback token")


def callback_json(request):
    """The JSON body of a callback; CallbackRefused when it is not JSON."""
    try:
        return json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise sms.CallbackRefused("the body is not JSON") from None


def local_phone(phone: str, country_code: str = "86") -> str:
    """A mainland number as we store it (13800000000); another country's as +<code><number>."""
    phone = str(phone or "").strip()
    if phone.startswith("+86"):
        return phone[3:]
    if phone.startswith("+"):
        return phone
    if country_code and str(country_code) != "86":
        return f"+{country_code}{phone}"
    return phone


def e164(phone: str) -> str:
    """+8613800000000 for a mainland number as we store it."""
    return phone if phone.startswith("+") else f"+86{phone}"


def beijing_time(value) -> datetime.datetime | None:
    """An aware datetime from the providers' "2017-01-01 08:03:04" (Beijing) or a UNIX timestamp; None when neither."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float) or str(value).isdigit():
        return datetime.datetime.fromtimestamp(int(value), tz=datetime.UTC)
    try:
        return datetime.datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
    except ValueError:
        return None
