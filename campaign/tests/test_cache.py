"""The cache tolerates a dead Redis: misses instead of errors, and nothing stale once it is back."""

import time

import pytest
from django.core.cache.backends.redis import RedisCache

from campaign.lib import cache as tolerant
from campaign.lib.cache import TolerantRedisCache
from campaign.tests.redis_server import redis_server

OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 1}

pytestmark = pytest.mark.redis


@pytest.fixture
def server():
    with redis_server() as server:
        yield server


@pytest.fixture
def short_pause(monkeypatch):
    monkeypatch.setattr(tolerant, "PAUSE", 1.5)


def cache_on(server, backend=TolerantRedisCache):
    return backend(server.url, {"OPTIONS": OPTIONS})


def test_django_redis_cache_raises_on_a_dead_redis_which_is_why_ours_exists(server):
    plain = cache_on(server, RedisCache)
    server.stop()
    with pytest.raises(Exception, match="Connection refused|Error 111"):
        plain.get("anything")


def test_a_dead_redis_is_an_empty_cache_and_writes_are_skipped(server):
    cache = cache_on(server)
    cache.set("role", "office")
    assert cache.get("role") == "office"
    server.stop()
    assert cache.get("role") is None
    assert cache.get("role", "default") == "default"
    assert cache.get_many(["role", "user"]) == {}
    assert cache.has_key("role") is False
    cache.set("role", "cadre")
    cache.set_many({"a": 1, "b": 2})
    cache.delete("role")
    cache.delete_many(["a", "b"])
    assert cache.get_or_set("computed", lambda: 42) == 42
    with pytest.raises(ValueError):
        cache.incr("counter")


def test_a_hanging_redis_costs_one_timeout_per_pause_not_one_per_call(server):
    cache = cache_on(server)
    cache.set("k", 1)
    server.freeze()
    started = time.monotonic()
    assert cache.get("k") is None  # one socket timeout (1 s)
    for _ in range(50):  # a request makes several cache calls: none waits again
        assert cache.get("k") is None
    assert time.monotonic() - started < 2.5


def test_a_key_written_while_redis_hung_is_deleted_when_it_answers_again(server, short_pause):
    """A password changed during the outage: the cached user with the old hash must not come back."""
    cache = cache_on(server)
    cache.set("campaign:user:1", {"password": "old hash"})
    cache.set("campaign:role:1", "cadre")
    server.freeze()  # the data stays in Redis, unreachable
    assert cache.get("campaign:user:1") is None  # times out: the cache works without Redis for a pause
    cache.delete("campaign:user:1")  # the user's save tries to forget the cached user: not sent
    cache.set("campaign:role:1", "office")  # not sent: Redis keeps the older role
    server.thaw()
    time.sleep(1.6)  # past the pause
    assert cache.get("campaign:user:1") is None
    assert cache.get("campaign:role:1") is None
    cache.set("campaign:role:1", "office")
    assert cache.get("campaign:role:1") == "office"


def test_the_project_cache_is_the_tolerant_one_with_short_timeouts(monkeypatch):
    import subprocess
    import sys

    from campaign.tests.test_settings import A_KEY, BARE, ROOT

    probe = (
        "import django, json; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.CACHES['default']))"
    )
    env = {
        **BARE,
        "DJANGO_SETTINGS_MODULE": "campaign.settings",
        "SECRET_KEY": A_KEY,
        "REDIS_URL": "redis://cache.internal:6379/2",
    }
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    import json

    config = json.loads(out.stdout)
    assert config["BACKEND"] == "campaign.lib.cache.TolerantRedisCache"
    assert config["OPTIONS"]["socket_timeout"] <= 1 and config["OPTIONS"]["socket_connect_timeout"] <= 1
