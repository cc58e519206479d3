"""A per-provider rate limit shared by every worker: at most SMS_RATE_PER_SECOND messages a second.

django-ratelimit (already used by the public pages) counts on the shared cache: one counter per
provider and clock second, in Redis when REDIS_URL is set, so every worker counts against the same
figure; without Redis (the embedded default: one process sends) in the process. A worker that finds
the second's count full waits for the next second. With Redis down the count fails open
(RATELIMIT_FAIL_OPEN): the provider's own throttling answers RateLimited, which backs off.
"""

import time

from django.conf import settings
from django_ratelimit.core import get_usage

GROUP = "sms:send"


def wait_turn(provider: str) -> None:
    """Return when one more message may go to `provider` (at once, or at the start of a later second)."""
    limit = settings.SMS_RATE_PER_SECOND
    if limit <= 0:
        return
    while True:
        # No request here (method ALL never looks at it): the counter's key is the provider's name.
        usage = get_usage(None, group=GROUP, key=lambda group, request: provider, rate=f"{limit}/s", increment=True)
        if usage is None or not usage["should_limit"]:
            return
        now = time.time()
        time.sleep(int(now) + 1 - now)
