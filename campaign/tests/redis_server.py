"""A Redis server of the test's own, on its own port, that the test stops, freezes and starts again."""

import os
import shutil
import signal
import socket
import subprocess
import time
from contextlib import contextmanager

import pytest
import redis

# The ports a test's own servers may use (one machine runs several test sessions side by side).
PORTS = range(16400, 16410)


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            # As redis-server does: a port whose last connections are in TIME_WAIT is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS}")


class RedisServer:
    def __init__(self, port: int):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def stop(self):
        """Kill the server (its data is gone, as after a crash): connections are refused."""
        self.process.kill()
        self.process.wait(timeout=10)

    def freeze(self):
        """Stop the process without closing its port: connections hang, as with a Redis that no longer answers."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self):
        os.kill(self.process.pid, signal.SIGCONT)


@contextmanager
def redis_server(port: int | None = None):
    """A fresh redis-server on `port` (or a free port of PORTS); stopped at the end whatever happened."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (apt-get install redis-server)", pytrace=False)
    server = RedisServer(port or free_port())
    server.start()
    try:
        yield server
    finally:
        if server.process.poll() is None:
            server.thaw()
            server.stop()


@contextmanager
def project_on_own_redis(settings, port: int | None = None):
    """The project's cache and Celery broker on a redis-server of the test's own; all restored afterwards."""
    from campaign.celery import app

    with redis_server(port) as server:
        settings.CACHES = {
            "default": {
                "BACKEND": "campaign.lib.cache.TolerantRedisCache",
                "LOCATION": server.url,
                "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1},
            }
        }
        previous = app.conf.broker_url, app.conf.task_always_eager
        app.conf.broker_url, app.conf.task_always_eager = server.url, False
        _forget_broker_connections(app)
        try:
            yield server
        finally:
            app.conf.broker_url, app.conf.task_always_eager = previous
            _forget_broker_connections(app)


def _forget_broker_connections(app):
    # Celery keeps its broker connections and producers per app: new ones for the new broker URL.
    app._pool = None
    app.amqp._producer_pool = None
