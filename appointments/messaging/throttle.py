"""A per-provider rate limit shared by every worker: at most SMS_RATE_PER_SECOND messages a second.

One Redis counter per provider and clock second (INCR, expiring after two seconds): a worker that
finds the second's count full waits for the next second. The workers of one deployment share a
clock closely enough for a one-second window. Without Redis (the embedded default: one process
sends) the count is kept in the process. A library (`limits`) would do this too; it is a new
dependency for twenty lines, so not here.
"""

import logging
import threading
import time

from django.conf import settings
from redis import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

_local = threading.local()
_counts: dict[tuple[str, int], int] = {}
_lock = threading.Lock()


def _redis() -> Redis | None:
    if not settings.REDIS_URL:
        return None
    client = getattr(_local, "redis", None)
    if client is None or _local.url != settings.REDIS_URL:
        client = _local.redis = Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
        _local.url = settings.REDIS_URL
    return client


def _count(provider: str, second: int) -> int:
    """How many messages to `provider` this clock second, this one included."""
    client = _redis()
    if client is not None:
        key = f"sms-rate:{provider}:{second}"
        try:
            pipe = client.pipeline()
            pipe.incr(key)
            pipe.expire(key, 2)
            return pipe.execute()[0]
        except RedisError as error:
            # A Redis that is down limits each process on its own rather than stopping the sending.
            logger.warning("SMS rate counter unreachable, counting in this process: %s", error)
    with _lock:
        for old in [key for key in _counts if key[1] < second]:
            del _counts[old]
        _counts[provider, second] = _counts.get((provider, second), 0) + 1
        return _counts[provider, second]


def wait_turn(provider: str) -> None:
    """Return when one more message may go to `provider` (at once, or at the start of a later second)."""
    limit = settings.SMS_RATE_PER_SECOND
    if limit <= 0:
        return
    while True:
        now = time.time()
        if _count(provider, int(now)) <= limit:
            return
        time.sleep(int(now) + 1 - now)
