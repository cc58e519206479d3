"""Login throttling with django-axes: who a run of wrong passwords locks, and what they are told.

A wrong password counts against the user name it was typed for (AXES_LOCKOUT_PARAMETERS), never
against the address it came from: the cadres of a town hall, or every site's tablets, leave
through one address, and locking that address would let one mistyped (or hostile) login lock
them all out. A user name that does not exist locks only that name, so nobody real.
"""

import ipaddress

from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.shortcuts import render
from django.utils import timezone


def client_ip(request) -> str | None:
    """The client's address (AXES_CLIENT_IP_CALLABLE), for the access log.

    Behind a reverse proxy (BEHIND_PROXY=1) REMOTE_ADDR is the proxy; the proxy appends the address
    it saw to X-Forwarded-For. Only that right-most entry is trusted: whatever stands left of it
    came from the client and may be forged.
    """
    remote = request.META.get("REMOTE_ADDR")
    if not settings.BEHIND_PROXY:
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
    try:
        return str(ipaddress.ip_address(forwarded))
    except ValueError:
        return remote


def locked_until(username: str | None):
    """When a locked user name may log in again (aware datetime), or None when it is not locked."""
    last_failure = (
        AccessAttempt.objects.filter(username=username, failures_since_start__gte=settings.AXES_FAILURE_LIMIT)
        .order_by("-attempt_time")
        .values_list("attempt_time", flat=True)
        .first()
    )
    return last_failure + get_cool_off() if last_failure else None


def locked_out(request, original_response=None, credentials=None):
    """The lockout page (AXES_LOCKOUT_CALLABLE): in Chinese, with the time to try again."""
    username = get_client_username(request, credentials)
    until = locked_until(username) or timezone.now() + get_cool_off()
    minutes = max(1, -(-int((until - timezone.now()).total_seconds()) // 60))
    until = timezone.localtime(until)
    context = {"username": username, "until": until, "today": timezone.localdate(), "minutes": minutes}
    return render(request, "registration/locked_out.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)
