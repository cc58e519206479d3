"""gunicorn's settings for production (`make serve`; README.md, "Production").

Every value can be changed by an environment variable, so one file serves a laptop trial and a
county server. gunicorn reads this file itself: `gunicorn -c gunicorn.conf.py campaign.wsgi`.
"""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Processes x threads. Requests spend most of their time waiting on PostgreSQL and Redis, so each
# process serves several at once in threads (gthread); each thread keeps its own database connection
# (CONN_MAX_AGE), so workers x threads must stay below PostgreSQL's max_connections with the Celery
# workers' connections added.
workers = _int("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 9))
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 4)

# A request may take this long (seconds) before its worker is restarted. Long work (exports,
# imports) runs as jobs, so a page never needs more; a hung one must not hold a worker for long.
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Workers are replaced now and then, so a slow leak never grows for weeks; jitter keeps them apart.
max_requests = _int("GUNICORN_MAX_REQUESTS", 5000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 500)

# Behind a reverse proxy (nginx) on the same host: the addresses whose X-Forwarded-* headers are
# believed. Django itself reads the scheme only when BEHIND_PROXY=1 (campaign/settings.py).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
proxy_allow_ips = forwarded_allow_ips

# Logs to stdout/stderr (the service manager keeps them). The access log names the path without
# its query string: a search typed into a page (a name, a phone) must never reach a log file.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
