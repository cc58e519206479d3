"""One settings module for every environment, driven by environment variables.

Unset, it runs embedded: SQLite in the project folder and Celery tasks
in-process, so `make run` needs no service. Production sets DATABASE_URL,
REDIS_URL, SECRET_KEY, DEBUG=0, ALLOWED_HOSTS and HTTPS_ONLY (see README.md).
"""

from datetime import time, timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from campaign.lib.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
DEVELOPMENT_SECRET_KEY = "django-insecure-embedded-default-change-me"
SECRET_KEY = env_str("SECRET_KEY", DEVELOPMENT_SECRET_KEY)
# Sessions, CSRF tokens and password-reset links are signed with it: a key published in the
# repository must never sign them on a server. Tests get a key of their own (campaign/testing.py).
if not DEBUG and SECRET_KEY in ("", DEVELOPMENT_SECRET_KEY):
    raise ImproperlyConfigured(
        "SECRET_KEY is not set: with DEBUG=0 the built-in development key is refused. "
        "Set SECRET_KEY to 50+ random characters (or DEBUG=1 on a development machine)."
    )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_filters",
    "simple_history",
    "axes",
    "csp",
    # The public booking's captcha (appointments/public/): images drawn here with Pillow and the font it ships.
    "captcha",
    # Only for its system checks of the cache (the limits themselves are decorators on the public views).
    "django_ratelimit",
    # Country names in Chinese and ISO 3166 alpha-3 / numeric codes for nationalities (campaign.lib.documents).
    "django_countries",
    "campaign",
    "sites",
    "residents",
    "appointments",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below WhiteNoise: static files keep their long caching and need no policy of their own.
    "campaign.middleware.NoStoreMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "campaign.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # request.campaign: the campaign the page works in (campaign.scope).
    "campaign.scope.CampaignMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "campaign.accounts.middleware.PasswordChangeRequiredMiddleware",
    "campaign.middleware.BadParameterMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A rate limit hit on a public page (django-ratelimit) becomes RATELIMIT_VIEW's page, status 429.
    "django_ratelimit.middleware.RatelimitMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Axes must be last: it turns a lockout into its own response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "campaign.urls"
WSGI_APPLICATION = "campaign.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "campaign.context_processors.role",
                "campaign.context_processors.adverse_events",
            ],
        },
    },
]

# Database: DATABASE_URL (postgres://user:pass@host:5432/name) or an embedded SQLite file.
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            # Persistent connections: a new connection per request costs ~8x throughput here.
            conn_max_age=env_int("CONN_MAX_AGE", 600),
            conn_health_checks=True,
        )
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": BASE_DIR / "db.sqlite3",
            "OPTIONS": {
                # Writers queue instead of failing with "database is locked".
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: Celery's broker and result backend and Django's cache. Unset: tasks run in-process.
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            # A dead Redis is an empty cache, not an error (campaign/lib/cache.py); short timeouts
            # so that a Redis that hangs delays a request by at most a second.
            "BACKEND": "campaign.lib.cache.TolerantRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis gives a task whose worker died before acknowledging it to another worker after this many
# seconds (kombu's default, an hour: longer than any task's time limit). Tests of a killed worker lower it.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
    # A request that queues a task while Redis is unreachable gives up quickly (campaign/lib/queue.py).
    "socket_connect_timeout": 2,
}
# Messages have their own queue, so a slow SMS provider never delays bookings, progress or exports:
# `make worker` consumes both queues, `make worker-messages` starts a worker for messages alone.
CELERY_TASK_ROUTES = {
    "appointments.send_messages": {"queue": "messages"},
    "appointments.sweep_messages": {"queue": "messages"},
}
# Tests only: seconds the weekly report waits inside its transaction, so a test can kill its worker there.
WEEKLY_REPORT_TEST_PAUSE = env_int("WEEKLY_REPORT_TEST_PAUSE", 0)
# Every periodic job is listed here and nowhere else (times are Asia/Shanghai, CELERY_TIMEZONE).
CELERY_BEAT_SCHEDULE: dict = {
    "mark-no-shows-at-end-of-day": {
        "task": "appointments.mark_no_shows",
        "schedule": crontab(hour=23, minute=30),
    },
    "cleanup-exports": {"task": "reports.cleanup_exports", "schedule": crontab(hour=3, minute=30)},
    # Exports not queued (Redis was down) or whose worker died: queued again, or failed visibly.
    "sweep-exports": {"task": "reports.sweep_exports", "schedule": crontab(minute="*/2")},
    # Quota progress: today and yesterday every 30 seconds, so that no page finds the figures more than a
    # minute old and computes them itself (reports.progress.FRESH_FOR); every day once after midnight.
    # A message not taken within 25 seconds is dropped: the next one does the same work.
    "progress-in-the-day": {"task": "reports.compute_progress", "schedule": 30.0, "options": {"expires": 25}},
    "progress-after-midnight": {
        "task": "reports.compute_progress",
        "schedule": crontab(hour=0, minute=15),
        "kwargs": {"full": True},
    },
    # Messages left in flight by a dead worker, or queued and never taken (Redis was down, quiet hours over,
    # a retry's back-off passed): sent on (appointments.messaging.services.messages_sweep).
    "sweep-messages": {"task": "appointments.sweep_messages", "schedule": 60.0, "options": {"expires": 55}},
    # The weekly supervision report (周调度通报) for the week before, on Monday morning.
    "weekly-supervision-report": {
        "task": "reports.weekly_report",
        "schedule": crontab(hour=8, minute=0, day_of_week="mon"),
    },
    # Vaccine supply: the vials still open at night are discarded, the rest of their doses wasted (sites.supply).
    "discard-open-vials": {"task": "sites.discard_open_vials", "schedule": crontab(hour=22, minute=0)},
    # (And tomorrow's SMS reminders, "queue-tomorrows-reminders": added in the Messages block, after its hour.)
}
# Vaccine supply alerts (sites.supply.selectors.supply_alerts): a lot in stock expiring within this many
# days, and a site whose stock lasts fewer days than this at its bookings.
SUPPLY_EXPIRY_ALERT_DAYS = env_int("SUPPLY_EXPIRY_ALERT_DAYS", 14)
SUPPLY_LOW_DAYS = env_int("SUPPLY_LOW_DAYS", 3)

# Accounts
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend, reading each request's user from the cache (campaign/auth.py).
    "campaign.auth.CachedModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# A session lasts one working day.
SESSION_COOKIE_AGE = env_int("SESSION_HOURS", 10) * 3600
# Sessions are read from the cache (Redis) and written through to the database, so a request does not
# query the session table and a restart of Redis logs nobody out.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
# Wrong passwords lock the user name they were typed for, not the address (campaign/lockout.py):
# a whole office shares one address.
AXES_LOCKOUT_PARAMETERS = ["username"]
# axes.W006 asks for ip_address against attackers who rotate User-Agents or cookies; a lock on the
# user name alone cannot be side-stepped that way, and an address lock is what we must not have.
SILENCED_SYSTEM_CHECKS = [
    "axes.W006",
    # django-ratelimit knows Django's RedisCache only by name: TolerantRedisCache is one (an atomic INCR).
    "django_ratelimit.W001",
]
if not REDIS_URL:
    # The embedded run is one process: its local-memory cache is the one every request sees.
    SILENCED_SYSTEM_CHECKS.append("django_ratelimit.E003")
AXES_RESET_ON_SUCCESS = True
# The lock ends at the time the page gives; retrying during it does not push that time back.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "campaign.lockout.locked_out"
# Behind a reverse proxy the client's address is the proxy's X-Forwarded-For entry (for the access log).
AXES_CLIENT_IP_CALLABLE = "campaign.lockout.client_ip"
AXES_VERBOSE = False

# Security. HTTPS_ONLY=1 in production behind TLS; an intranet without TLS leaves it off.
HTTPS_ONLY = env_bool("HTTPS_ONLY", False)
SECURE_SSL_REDIRECT = HTTPS_ONLY
SESSION_COOKIE_SECURE = HTTPS_ONLY
CSRF_COOKIE_SECURE = HTTPS_ONLY
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if HTTPS_ONLY else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS_ONLY
SECURE_HSTS_PRELOAD = HTTPS_ONLY
# BEHIND_PROXY=1: a reverse proxy sets X-Forwarded-Proto and appends the client to X-Forwarded-For.
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts, styles, images, fonts and requests from this site only.
# No inline script and no on...= handler runs (static/js/app.js holds the small behaviours), and
# htmx is told not to eval (templates/base.html). Style attributes stay allowed (style-src-attr):
# progress bars carry their width in one, and so do the admin and ECharts' drawing; an attribute
# cannot run script, and what it could load is held to this site by img-src and font-src.
# <style> elements are refused (page styles are files under static/css/).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],  # Bootstrap draws its icons (selects, ticks) as data: SVG
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# A refused form token gets a page in the site's layout and language, not Django's English one.
CSRF_FAILURE_VIEW = "campaign.views.csrf_failure"

# Language and time
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# Static files: vendor packages come from node_modules (installed by `make`), served by whitenoise.
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", BASE_DIR / "node_modules/bootstrap/dist"),
    ("vendor/htmx", BASE_DIR / "node_modules/htmx.org/dist"),
    ("vendor/echarts", BASE_DIR / "node_modules/echarts/dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Generated files (exports): MEDIA_ROOT by default; a shared object store when several hosts
    # run the web and the workers (README.md, "Generated files").
    "exports": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Not the manifest variant: pages must render before collectstatic has run (embedded run, tests).
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# EXPORTS_BUCKET puts generated files in an S3-compatible object store (Alibaba OSS, MinIO, AWS S3)
# that every web and worker host reaches; it needs django-storages with boto3 installed (README.md).
EXPORTS_BUCKET = env_str("EXPORTS_BUCKET")
if EXPORTS_BUCKET:
    STORAGES["exports"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": EXPORTS_BUCKET,
            "endpoint_url": env_str("EXPORTS_ENDPOINT_URL") or None,
            "region_name": env_str("EXPORTS_REGION") or None,
            "access_key": env_str("EXPORTS_ACCESS_KEY") or None,
            "secret_key": env_str("EXPORTS_SECRET_KEY") or None,
            # Alibaba OSS answers only virtual-hosted addresses; MinIO usually wants "path".
            "addressing_style": env_str("EXPORTS_ADDRESSING_STYLE") or None,
            "location": env_str("EXPORTS_PREFIX", "vaccination"),
            # Personal data: private objects, never a public URL; downloads go through the app.
            "default_acl": "private",
            "file_overwrite": False,
        },
    }
MEDIA_ROOT = BASE_DIR / env_str("MEDIA_DIR", "media")
MEDIA_URL = "media/"
# Export files (MEDIA_ROOT/exports/) are deleted this many days after they were asked for;
# their rows stay as the record of who exported what.
EXPORT_KEEP_DAYS = env_int("EXPORT_KEEP_DAYS", 7)

# Limits of an Excel import of residents (docs/IMPORT.md, residents/importing/limits.py): an upload past
# any of them is refused with a message before it can fill the web process's memory.
IMPORT_MAX_UPLOAD_MB = env_int("IMPORT_MAX_UPLOAD_MB", 10)
IMPORT_MAX_UNPACKED_MB = env_int("IMPORT_MAX_UNPACKED_MB", 64)  # a 20,000-row sheet unpacks to about 15 MB
IMPORT_MAX_CELL_CHARS = env_int("IMPORT_MAX_CELL_CHARS", 200)
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 20_000)

# Messages (SMS; campaign.lib.sms, appointments.messaging, README.md "Messages"). The embedded default writes
# each message to a file under SMS_FILE_DIR and to the outbox page: nothing leaves the machine.
SMS_BACKEND = env_str("SMS_BACKEND", "campaign.lib.sms.file.FileBackend")
SMS_FILE_DIR = BASE_DIR / env_str("SMS_FILE_DIR", "var/sms")
# The sign (签名) the provider approved; shown as 【...】 at the start of every message.
SMS_SIGN_NAME = env_str("SMS_SIGN_NAME", "梅山镇疫苗接种")
# Each kind's template id as the provider approved it (Alibaba "SMS_123456789", Tencent "1234567"); the
# approved texts must read as appointments/messaging/kinds.py's (docs/MESSAGES.md, "Providers").
SMS_TEMPLATES = {
    kind: env_str(f"SMS_TEMPLATE_{kind.upper()}")
    for kind in ("confirmation", "reminder", "dose_due", "missed", "plan_published", "adverse_event", "code")
}
# Alibaba Cloud SMS (dysmsapi 2017-05-25; campaign.lib.sms.alibaba). The endpoint is a host (https) or a URL.
SMS_ALIBABA_ACCESS_KEY_ID = env_str("SMS_ALIBABA_ACCESS_KEY_ID")
SMS_ALIBABA_ACCESS_KEY_SECRET = env_str("SMS_ALIBABA_ACCESS_KEY_SECRET")
SMS_ALIBABA_ENDPOINT = env_str("SMS_ALIBABA_ENDPOINT", "dysmsapi.aliyuncs.com")
# Tencent Cloud SMS (2021-01-11; campaign.lib.sms.tencent).
SMS_TENCENT_SECRET_ID = env_str("SMS_TENCENT_SECRET_ID")
SMS_TENCENT_SECRET_KEY = env_str("SMS_TENCENT_SECRET_KEY")
SMS_TENCENT_SDK_APP_ID = env_str("SMS_TENCENT_SDK_APP_ID")
SMS_TENCENT_REGION = env_str("SMS_TENCENT_REGION", "ap-guangzhou")
SMS_TENCENT_ENDPOINT = env_str("SMS_TENCENT_ENDPOINT", "sms.tencentcloudapi.com")
# Seconds to connect to and to wait for a provider; a timeout is a transient error (retried later).
SMS_CONNECT_TIMEOUT = env_int("SMS_CONNECT_TIMEOUT", 3)
SMS_READ_TIMEOUT = env_int("SMS_READ_TIMEOUT", 10)
# Neither provider signs its HTTP callbacks (delivery reports, replies): the URL registered with the
# provider carries this secret as ?token=... (or the header X-Sms-Callback-Token); empty: callbacks refused.
SMS_CALLBACK_TOKEN = env_str("SMS_CALLBACK_TOKEN")
# The hour (0-23, Asia/Shanghai) the nightly job queues tomorrow's reminders: they go out that evening,
# before quiet hours.
SMS_REMINDER_HOUR = env_int("SMS_REMINDER_HOUR", 16)
if not 0 <= SMS_REMINDER_HOUR <= 23:
    raise ImproperlyConfigured(f"SMS_REMINDER_HOUR must be an hour from 0 to 23, got {SMS_REMINDER_HOUR}")
# Read here, after the hour: tomorrow's reminders (appointments.tasks.queue_reminders).
CELERY_BEAT_SCHEDULE["queue-tomorrows-reminders"] = {
    "task": "appointments.queue_reminders",
    "schedule": crontab(hour=SMS_REMINDER_HOUR, minute=0),
}


# Sending (appointments.messaging.services, docs/MESSAGES.md "Sending").
def _quiet_hours(raw: str) -> tuple[time, time] | None:
    if not raw.strip():
        return None
    try:
        start, end = (time.fromisoformat(part.strip()) for part in raw.split("-"))
    except ValueError:
        raise ImproperlyConfigured(f"SMS_QUIET_HOURS must read like 21:00-08:00 (or be empty), got {raw!r}") from None
    return start, end


# No SMS in the quiet hours (Asia/Shanghai; "" for none): what falls due then waits until they end;
# codes are never held back.
SMS_QUIET_HOURS = _quiet_hours(env_str("SMS_QUIET_HOURS", "21:00-08:00"))
# Messages a second to one provider, shared by every worker (counted in Redis: messaging/throttle.py): below
# the provider's own limit for the account (Alibaba and Tencent both throttle per second; an excess is refused).
SMS_RATE_PER_SECOND = env_int("SMS_RATE_PER_SECOND", 500)
# Tries before a message that meets only transient errors (timeouts, throttling) is failed.
SMS_MAX_ATTEMPTS = env_int("SMS_MAX_ATTEMPTS", 5)
# Seconds after which a message still in flight is taken for lost (its worker died). A worker gives back
# what it has not sent within half of it, so a live worker's messages are never taken from it.
SMS_IN_FLIGHT_TIMEOUT = env_int("SMS_IN_FLIGHT_TIMEOUT", 300)

# The public booking pages (appointments/public/, docs in README.md "Self-booking").
# A verified phone manages at most this many people.
PUBLIC_FAMILY_MAX = env_int("PUBLIC_FAMILY_MAX", 5)
# A phone verified on a device stays signed in there this long (a staff login keeps its own, shorter, age).
PUBLIC_SESSION_HOURS = env_int("PUBLIC_SESSION_HOURS", 24)
# Shown at the foot of every public page; empty: "ask your village's cadre".
PUBLIC_HELP_PHONE = env_str("PUBLIC_HELP_PHONE", "")
# SMS codes: how long one is good for, how many wrong tries it takes, and how often a phone or a
# client (an address with a device cookie) may ask for one. The rows of PhoneCode decide these.
PUBLIC_CODE_MINUTES = env_int("PUBLIC_CODE_MINUTES", 10)
PUBLIC_CODE_ATTEMPTS = env_int("PUBLIC_CODE_ATTEMPTS", 5)
PUBLIC_CODE_INTERVAL_SECONDS = env_int("PUBLIC_CODE_INTERVAL_SECONDS", 60)
PUBLIC_CODE_PER_HOUR = env_int("PUBLIC_CODE_PER_HOUR", 5)
PUBLIC_CODE_PER_DAY = env_int("PUBLIC_CODE_PER_DAY", 10)
PUBLIC_CODE_CLIENT_PER_HOUR = env_int("PUBLIC_CODE_CLIENT_PER_HOUR", 10)
PUBLIC_CODE_CLIENT_PER_DAY = env_int("PUBLIC_CODE_CLIENT_PER_DAY", 30)
# Request rates of the public views (django-ratelimit, "count/period" with s, m, h or d), counted in
# the shared cache per address, per device cookie and per phone. Mobile carriers put many phones
# behind one address, so the address's rates are the loosest.
PUBLIC_RATE_CODE_ADDRESS = env_str("PUBLIC_RATE_CODE_ADDRESS", "30/m")
PUBLIC_RATE_CODE_DEVICE = env_str("PUBLIC_RATE_CODE_DEVICE", "6/10m")
PUBLIC_RATE_CODE_PHONE = env_str("PUBLIC_RATE_CODE_PHONE", "6/h")
PUBLIC_RATE_VERIFY_ADDRESS = env_str("PUBLIC_RATE_VERIFY_ADDRESS", "120/m")
PUBLIC_RATE_VERIFY_DEVICE = env_str("PUBLIC_RATE_VERIFY_DEVICE", "20/10m")
PUBLIC_RATE_VERIFY_PHONE = env_str("PUBLIC_RATE_VERIFY_PHONE", "15/h")
# Adding a family member looks records up: a verified phone may not try documents one after another.
PUBLIC_RATE_ADD_PHONE = env_str("PUBLIC_RATE_ADD_PHONE", "20/d")
# The captcha is asked for once a device, or an address, has asked for this many codes in the period,
# when the form came back faster than a person fills it, or without the device cookie.
PUBLIC_CAPTCHA_DEVICE_AFTER = env_str("PUBLIC_CAPTCHA_DEVICE_AFTER", "2/h")
PUBLIC_CAPTCHA_ADDRESS_AFTER = env_str("PUBLIC_CAPTCHA_ADDRESS_AFTER", "20/h")
PUBLIC_CAPTCHA_MIN_SECONDS = env_int("PUBLIC_CAPTCHA_MIN_SECONDS", 3)
# Self-booking (appointments/public/booking.py): how long a booking waits for a lock before the phone is
# told "人多，请稍后再试" (PostgreSQL's lock_timeout, milliseconds), how many seconds the days and places
# shown are cached (the booking itself always checks the database), and the rates of the booking actions.
PUBLIC_LOCK_TIMEOUT_MS = env_int("PUBLIC_LOCK_TIMEOUT_MS", 2000)
PUBLIC_DAYS_CACHE_SECONDS = env_int("PUBLIC_DAYS_CACHE_SECONDS", 5)
PUBLIC_RATE_BOOK_PHONE = env_str("PUBLIC_RATE_BOOK_PHONE", "10/m")
PUBLIC_RATE_BOOK_DEVICE = env_str("PUBLIC_RATE_BOOK_DEVICE", "10/m")
PUBLIC_RATE_BOOK_ADDRESS = env_str("PUBLIC_RATE_BOOK_ADDRESS", "600/m")

RATELIMIT_USE_CACHE = "default"
RATELIMIT_VIEW = "appointments.public.views.rate_limited"
# The client's address as the access log sees it (behind a proxy: its X-Forwarded-For entry).
RATELIMIT_IP_META_KEY = "campaign.lockout.client_ip"
# A dead Redis (TolerantRedisCache answers every count with a miss) must not shut the public pages:
# the code limits that matter most are counted in the database (PhoneCode) and hold without it.
RATELIMIT_FAIL_OPEN = True

# Digits only: easy on a phone's number pad, for readers of any script.
CAPTCHA_CHALLENGE_FUNCT = "appointments.public.captcha.digits_challenge"
CAPTCHA_LENGTH = 4
CAPTCHA_TIMEOUT = 10  # minutes
CAPTCHA_IMAGE_SIZE = (120, 44)
CAPTCHA_FONT_SIZE = 30

# The public booking page (/book/, appointments.posters prints its QR codes). PUBLIC_BASE_URL is the address
# residents' phones reach (e.g. https://ym.example.cn), which may differ from the intranet address the office
# uses; the posters' QR codes encode it. Unset, they encode the address of the office's own request.
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL").strip().rstrip("/")
if PUBLIC_BASE_URL and not PUBLIC_BASE_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured(f"PUBLIC_BASE_URL must start with https:// or http://, got {PUBLIC_BASE_URL!r}")
# PUBLIC_HELP_PHONE (above) is also the phone a poster gives when its village's cadres have none (empty: no line).

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
