"""Django's Redis cache, for a Redis that may be down: an unreachable Redis is an empty cache.

The cache only saves queries here (sessions are written through to the database, users and roles
are read again from it), so a dead Redis must cost speed, never a page. Django's RedisCache raises
on every call; this one logs, answers a read with a miss and skips a write. After an error it
leaves Redis alone for `PAUSE` seconds, so a Redis that hangs costs one timeout per process per
pause, not one per cache call of every request.

A write or delete that could not reach Redis may leave an old value there (a password changed,
a role taken away, a session ended during the outage), so its keys are remembered and deleted
first thing when Redis answers again.
"""

import logging
import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

ERRORS = (RedisError, OSError)
PAUSE = 5.0
# Keys waiting to be deleted: beyond this, an outage has outlasted every cached value's purpose.
MAX_STALE = 50_000


class TolerantRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._stale: set[tuple[str, int | None]] = set()

    @property
    def is_down(self) -> bool:
        return time.monotonic() < self._down_until

    def _call(self, miss, method, *args, keys=(), version=None, **kwargs):
        """Run `method`; on a Redis error, or while paused after one, return `miss`.

        `keys` are those the call writes: on failure they are remembered as stale.
        """
        if not self.is_down:
            try:
                self._delete_stale()
                return method(*args, **kwargs)
            except ERRORS as error:
                with self._lock:
                    first = not self.is_down
                    self._down_until = time.monotonic() + PAUSE
                if first:
                    logger.warning("Redis cache unreachable, working without it for %ss: %s", PAUSE, error)
        self._remember(keys, version)
        return miss

    def _remember(self, keys, version):
        if not keys:
            return
        with self._lock:
            if len(self._stale) + len(keys) > MAX_STALE:
                logger.error("Redis cache: more than %s keys written during the outage; some may stay stale", MAX_STALE)
                return
            self._stale.update((key, version) for key in keys)

    def _delete_stale(self):
        if not self._stale:
            return
        with self._lock:
            stale, self._stale = self._stale, set()
        try:
            by_version: dict = {}
            for key, version in stale:
                by_version.setdefault(version, []).append(key)
            for version, keys in by_version.items():
                super().delete_many(keys, version=version)
        except ERRORS:
            with self._lock:
                self._stale |= stale
            raise
        logger.info("Redis cache is back: %s keys written during the outage deleted", len(stale))

    # Reads: a miss.
    def get(self, key, default=None, version=None):
        return self._call(default, super().get, key, default, version)

    def get_many(self, keys, version=None):
        return self._call({}, super().get_many, keys, version)

    def has_key(self, key, version=None):
        return self._call(False, super().has_key, key, version)

    # Writes: skipped, and the key remembered as stale.
    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._call(None, super().set, key, value, timeout, version, keys=[key], version=version)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(False, super().add, key, value, timeout, version, keys=[key], version=version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        self._call([], super().set_many, data, timeout, version, keys=list(data), version=version)
        return []

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(False, super().touch, key, timeout, version)

    def incr(self, key, delta=1, version=None):
        # A counter cannot be guessed: like a missing key, Django's contract is ValueError.
        missing = object()
        value = self._call(missing, super().incr, key, delta, version, keys=[key], version=version)
        if value is missing:
            raise ValueError(f"Key '{key}' not found (the cache is unreachable)")
        return value

    def delete(self, key, version=None):
        return self._call(False, super().delete, key, version, keys=[key], version=version)

    def delete_many(self, keys, version=None):
        keys = list(keys)
        self._call(None, super().delete_many, keys, version, keys=keys, version=version)

    def clear(self):
        return self._call(False, super().clear)
