"""Settings for the expansion signals product, read from the environment.

Defaults run on one laptop with nothing else installed: a SQLite file and a filesystem Celery
broker under ``var/``. Set ``DATABASE_URL=postgres://...`` and ``CELERY_BROKER_URL=redis://...``
to run on PostgreSQL with a fleet of Celery workers; no code changes.
"""

import datetime as dt
import hashlib
import hmac
import os
import re
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("EXPANSION_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Off unless asked for: a forgotten variable never serves debug pages. `make run` and the test suite
# (pytest's env in pyproject.toml) set DJANGO_DEBUG=true.
DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. In production set it to a long random value (see .env.example); "
            "on a development machine set DJANGO_DEBUG=true instead (`make run` does)."
        )
    SECRET_KEY = "insecure-development-key-only-for-debug-mode"
# The key of the split-credit log's HMAC chain and of its signed heads (routing/attribution/rules.py).
# From the environment only: never in the database, never logged (anchors carry its fingerprint).
# Whoever holds it can rewrite the log undetected, so keep it with the other production secrets.
ATTRIBUTION_CHAIN_KEY = os.environ.get("ATTRIBUTION_CHAIN_KEY", "")
if not ATTRIBUTION_CHAIN_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "ATTRIBUTION_CHAIN_KEY must be set when DJANGO_DEBUG is off: it signs Finance's split-credit "
            'log. Generate one with: python -c "import secrets; print(secrets.token_hex(32))"'
        )
    # Development and tests only: derived from the secret key, so a laptop's log verifies on that laptop.
    ATTRIBUTION_CHAIN_KEY = hmac.new(
        SECRET_KEY.encode(), b"attribution-chain-dev", hashlib.sha256
    ).hexdigest()
elif len(ATTRIBUTION_CHAIN_KEY) < 32:
    raise ImproperlyConfigured(
        "ATTRIBUTION_CHAIN_KEY is too short: use at least 32 random characters, e.g. the output of "
        'python -c "import secrets; print(secrets.token_hex(32))"'
    )
# Signed heads of the log, one JSON line each, append-only. Keep it on persistent storage and copy it
# off the host (or ship the "attribution_anchor" log lines): it is the evidence a deletion is checked by.
ATTRIBUTION_ANCHOR_FILE = Path(
    os.environ.get("ATTRIBUTION_ANCHOR_FILE") or VAR_DIR / "attribution-anchors.jsonl"
)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "simple_history",
    "django_celery_beat",
    "django_celery_results",
    "expansion",
    "scoring",
    "routing",
    "routing.crm",
    "dashboards",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "expansion.errors.NotFoundPageMiddleware",
]

ROOT_URLCONF = "expansion.urls"
WSGI_APPLICATION = "expansion.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'expansion.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the scoring pass writes.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "expansion.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "inbox"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- How amounts and dates read on the pages ------------------------------------------------------
# The currency every amount is in and shown with ("$74,398"; a code without a symbol in the
# formatter's map is written after the amount: "74,398 CHF"). JSON, CSV and the API keep plain
# numbers and ISO dates. One date format across the app, used by the `when` template filter:
# "4 Dec 2025" and "4 Dec 2025, 14:05" (local time). The locale's own formats (en-us: "Dec. 4, 2025")
# are not used for display.
REPORTING_CURRENCY = (os.environ.get("REPORTING_CURRENCY", "") or "USD").strip().upper()
DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
# -----------------------------------------------------------------------------------------------------

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed names for far-future caching; gzip/brotli copies too unless STATIC_COMPRESS=false (a CDN
        # that compresses, or a quick collectstatic: compressing plotly takes about 40 s on two cores).
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_COMPRESS", True)
            else "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
        )
    },
}

# Imports: an upload larger than this is refused before it is read.
IMPORT_MAX_UPLOAD_BYTES = int(os.environ.get("IMPORT_MAX_UPLOAD_BYTES", str(512 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": os.environ.get("API_RATE_LIMIT", "6000/hour"),
        "anon": os.environ.get("API_ANON_RATE_LIMIT", "60/minute"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Expansion Qualified Leads API",
    "DESCRIPTION": "EQL records, lifecycle events, warehouse import and the split-credit log.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from this app's static files, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# A shared cache (login throttling, API rate limits) when Redis is configured; per process otherwise.
REDIS_CACHE_URL = os.environ.get("REDIS_CACHE_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_CACHE_URL}
        if REDIS_CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Celery: a filesystem queue by default so the hourly job runs with no server installed.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "filesystem://"
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_queue_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "queue"),
        "data_folder_out": str(_queue_dir / "queue"),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
# Tasks are acknowledged when they end: a pool process killed mid-task (the OOM killer) puts its
# message back on the queue at once and another process runs it again (a chunk commits whole, so a
# rerun gives the same EQLs). A whole worker lost keeps its unacknowledged messages in Redis until the
# visibility timeout (Redis's default hour, kept: retries waiting for their ETA on a worker would run
# twice under a shorter one); the scoring watchdog has rerun such a pass long before.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Synced into django-celery-beat's tables at start; RevOps can change times in admin.
CELERY_BEAT_SCHEDULE = {
    # Sync the warehouse sources (none configured: nothing to read), then the scoring pass.
    "hourly-scoring-pass": {"task": "dashboards.tasks.sync_then_score", "schedule": crontab(minute=5)},
    "weekly-digests": {
        "task": "routing.jobs.weekly_digests",
        "schedule": crontab(minute=0, hour=7, day_of_week="mon"),
    },
    "scoring-watchdog": {"task": "scoring.tasks.pass_watchdog", "schedule": crontab(minute="*")},
    "review-windows-and-sla": {
        "task": "routing.jobs.review_windows_sweep",
        "schedule": crontab(minute="*/15"),
    },
    # Lifecycle steps taken in the app reach the CRM within 15 minutes; read-back runs with it.
    "crm-sync": {"task": "routing.crm.tasks.crm_sync_all", "schedule": crontab(minute="*/15")},
}
SCORING_CHUNK_SIZE = int(os.environ.get("SCORING_CHUNK_SIZE", "50000"))
# auto: signals compiled to one SQL query run with DuckDB where the usage lives (a score-in-place
# source, or the local usage store); off: the engine over snapshots read from the database.
SCORING_PUSHDOWN = os.environ.get("SCORING_PUSHDOWN", "auto").strip().lower() or "auto"
if SCORING_PUSHDOWN not in ("auto", "off"):
    raise ImproperlyConfigured(f"SCORING_PUSHDOWN={SCORING_PUSHDOWN!r}: use auto or off")
#: Memory the pass's signal query may hold in DuckDB before it spills to disk (under var/duckdb-tmp).
SCORING_QUERY_MEMORY = os.environ.get("SCORING_QUERY_MEMORY", "1500MB").strip() or "1500MB"
if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)", SCORING_QUERY_MEMORY, re.IGNORECASE):
    raise ImproperlyConfigured(
        f"SCORING_QUERY_MEMORY={SCORING_QUERY_MEMORY!r}: use a size such as 1500MB or 2GB"
    )
# A running pass with no heartbeat for this long lost its worker or broker: the watchdog (every
# minute) marks it failed and reruns it. A running chunk beats every sixth of this (20 s), however long
# it takes; a chunk of 50,000 accounts takes about 15 s. A worker or broker lost mid-pass is back to a
# completed pass within this + 1 min + one pass (about 3.5 min with the defaults).
SCORING_PASS_STALE_SECONDS = float(os.environ.get("SCORING_PASS_STALE_SECONDS", "120"))

# Notifications
# Without an SMTP host, mail is written to files under var/sent-mail (inspectable, never lost, and
# the laptop demo's terminal stays readable); set EMAIL_HOST to send for real.
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if os.environ.get("EMAIL_HOST")
    else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = str(VAR_DIR / "sent-mail")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "eql@example.com")
# CRM write-back (routing.crm). Secrets only from the environment; the mapping lives in admin.
# Salesforce: an access token with its instance, or the OAuth client-credentials trio (the token is
# then fetched, and fetched again once when it expires). SALESFORCE_DOMAIN is the My Domain host
# ("mycompany.my" for https://mycompany.my.salesforce.com) or a full https:// URL.
SALESFORCE_INSTANCE_URL = os.environ.get("SALESFORCE_INSTANCE_URL", "").rstrip("/")
SALESFORCE_ACCESS_TOKEN = os.environ.get("SALESFORCE_ACCESS_TOKEN", "")
SALESFORCE_CLIENT_ID = os.environ.get("SALESFORCE_CLIENT_ID", "")
SALESFORCE_CLIENT_SECRET = os.environ.get("SALESFORCE_CLIENT_SECRET", "")
SALESFORCE_DOMAIN = os.environ.get("SALESFORCE_DOMAIN", "")
SALESFORCE_API_VERSION = os.environ.get("SALESFORCE_API_VERSION", "62.0")
# HubSpot: a private-app token (or an OAuth refresh token with its app's id and secret).
HUBSPOT_ACCESS_TOKEN = os.environ.get("HUBSPOT_ACCESS_TOKEN", "")
HUBSPOT_API_BASE = os.environ.get("HUBSPOT_API_BASE", "https://api.hubapi.com").rstrip("/")
HUBSPOT_CLIENT_ID = os.environ.get("HUBSPOT_CLIENT_ID", "")
HUBSPOT_CLIENT_SECRET = os.environ.get("HUBSPOT_CLIENT_SECRET", "")
HUBSPOT_REFRESH_TOKEN = os.environ.get("HUBSPOT_REFRESH_TOKEN", "")
HUBSPOT_PORTAL_ID = os.environ.get("HUBSPOT_PORTAL_ID", "")
HUBSPOT_APP_URL = os.environ.get("HUBSPOT_APP_URL", "https://app.hubspot.com").rstrip("/")
CRM_TIMEOUT_SECONDS = float(os.environ.get("CRM_TIMEOUT_SECONDS", "30"))
# A 429 asking to wait at most this long is waited out (three times at most); longer, the run stops
# and the next one resumes where it left off.
CRM_MAX_RETRY_WAIT_SECONDS = float(os.environ.get("CRM_MAX_RETRY_WAIT_SECONDS", "30"))
CRM_BULK_POLL_SECONDS = float(os.environ.get("CRM_BULK_POLL_SECONDS", "2"))
CRM_BULK_TIMEOUT_SECONDS = float(os.environ.get("CRM_BULK_TIMEOUT_SECONDS", "600"))
SLACK_WEBHOOK_URL = os.environ.get("SLACK_WEBHOOK_URL", "")
SLACK_TIMEOUT_SECONDS = float(os.environ.get("SLACK_TIMEOUT_SECONDS", "5"))
# Slack app mode (direct messages with buttons, updated in place): the bot token (xoxb-...) and the
# app's signing secret, from the environment only; without a token the webhook mode above is used.
SLACK_BOT_TOKEN = os.environ.get("SLACK_BOT_TOKEN", "")
SLACK_SIGNING_SECRET = os.environ.get("SLACK_SIGNING_SECRET", "")
SLACK_API_BASE = os.environ.get("SLACK_API_BASE", "https://slack.com/api/")
# Most Slack alerts one person gets per day unless their preference sets another number.
SLACK_DAILY_CAP_DEFAULT = int(os.environ.get("SLACK_DAILY_CAP_DEFAULT", "20"))
WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "10"))
# Webhook URLs on loopback, private, link-local (cloud metadata), multicast or reserved addresses are
# refused in admin and at send time; true allows them (a CRM on the internal network, local testing).
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", False)
# First retry of a failed email/Slack/webhook delivery after this many seconds, doubling each time.
DELIVERY_RETRY_BASE_SECONDS = float(os.environ.get("DELIVERY_RETRY_BASE_SECONDS", "30"))
APP_BASE_URL = os.environ.get("APP_BASE_URL", "http://127.0.0.1:8000")

# Production sits behind TLS. DJANGO_HTTPS=false is only for serving the production stack on this
# machine over plain http (``make serve``); `check --deploy` is clean with the default.
if not DEBUG and env_bool("DJANGO_HTTPS", True):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True

# --- Sign-in lockout (django-axes) -----------------------------------------------------------------
# Five failed sign-ins for one email from one client address lock that pair out for 15 minutes; other
# people behind the same address, and the same person elsewhere, still sign in. Attempts live in the
# database (admin: Axes > Access attempts; `manage.py axes_reset` unlocks everyone).
INSTALLED_APPS += ["axes"]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]
AUTHENTICATION_BACKENDS = ["expansion.auth.LockoutBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = dt.timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "expansion.auth.sign_in_name"
AXES_LOCKOUT_CALLABLE = "expansion.auth.lockout_response"
# Reverse proxies in front of the web processes that append the client to X-Forwarded-For (nginx, a
# load balancer): the client is that many entries from the right. 0 = REMOTE_ADDR is the client.
_proxies = os.environ.get("TRUSTED_PROXY_COUNT", "").strip() or "0"
if not _proxies.isdigit():
    raise ImproperlyConfigured(
        f"TRUSTED_PROXY_COUNT={_proxies!r}: give the number of reverse proxies in front (0, 1, ...)."
    )
TRUSTED_PROXY_COUNT = int(_proxies)
AXES_CLIENT_IP_CALLABLE = "expansion.auth.client_ip"
# -----------------------------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
