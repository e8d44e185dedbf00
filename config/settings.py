"""Hydra Watch settings: one module, configured from the environment.

With no environment set the app runs embedded (SQLite file under var/, Celery
tasks executed in-process) for the one-command demo. Production sets
DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (Redis or RabbitMQ).
"""

from __future__ import annotations

import secrets
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("HYDRA_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", default=False)
DATABASE_URL = env_str("DATABASE_URL")
EMBEDDED = not DATABASE_URL


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        return key
    if DEBUG or EMBEDDED:
        # The embedded demo keeps a generated key in var/ so sessions survive restarts.
        path = VAR_DIR / "secret_key"
        if not path.exists():
            VAR_DIR.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(50))
        return path.read_text().strip()
    raise ImproperlyConfigured("SECRET_KEY is required when DATABASE_URL is set and DEBUG is off")


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", default=[])
SECURE_COOKIES = env_bool("SECURE_COOKIES", default=False)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_AGE = 12 * 3600
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

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
    "django_htmx",
    "template_partials",
    "csp",
    "axes",
    "accounts",
    "ingest",
    "investigations",
    "investigations.detection",
    "investigations.enforcement",
    "investigations.sharing",
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
    "csp.middleware.CSPMiddleware",
    "config.middleware.UserTimezoneMiddleware",
    # Last, so that lockouts apply after authentication has run.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "investigations.context_processors.roles",
            ],
        },
    }
]

if EMBEDDED:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "hydra.sqlite3",
            "OPTIONS": {
                # WAL lets the web server read while the in-process ingest writes.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
            },
        }
    }
else:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", default=60))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# Login throttling (django-axes): lock a username+IP pair after repeated failures.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", default=8)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Finders serve files straight from the apps and packages, so the demo needs no collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Uploads stream to disk; batches can be gigabytes.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
INGEST_MAX_UPLOAD_BYTES = env_int("INGEST_MAX_UPLOAD_BYTES", default=20 * 1024**3)

# Content-Security-Policy: no inline scripts, no third-party origins. Plotly and
# htmx set style attributes, so inline styles stay allowed.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_RATES": {"anon": "60/min"},
}

# Celery. Without a broker the embedded mode runs tasks in-process, eagerly.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", default=25 * 60)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 300}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# ---- Hydra Watch ----------------------------------------------------------------
# Lines per ingest chunk: one Celery task loads one chunk.
INGEST_CHUNK_LINES = env_int("INGEST_CHUNK_LINES", default=200_000)
# An unfinished batch with no progress for this long is resumed by the sweeper task.
INGEST_STALE_SECONDS = env_int("INGEST_STALE_SECONDS", default=600)
CELERY_BEAT_SCHEDULE = {
    "ingest-resume-stale": {"task": "ingest.tasks.ingest_resume_stale", "schedule": 120.0},
    "sharing-poll-partners": {"task": "investigations.sharing.tasks.poll_partners", "schedule": 900.0},
    # Safety net for gateway delivery: picks up changes a dead worker leased, if no retry is scheduled.
    "enforcement-deliver": {"task": "investigations.enforcement.tasks.deliver_changes", "schedule": 60.0},
    # Runs after a batch refresh the cases it touched; the nightly full run re-derives everything
    # (the scores of untouched cases follow the all-accounts baseline as it drifts).
    "detection-full-nightly": {
        "task": "investigations.detection.tasks.detect_full",
        "schedule": crontab(hour=env_int("DETECTION_FULL_HOUR_UTC", default=3), minute=0),
    },
}
# Four-eyes rule: an analyst's enforcement action on more accounts waits for a lead.
ENFORCEMENT_APPROVAL_THRESHOLD = env_int("ENFORCEMENT_APPROVAL_THRESHOLD", default=25)
# ... counted over everything one person changed directly in this rolling window, so 40 requests of 25 need a lead too.
ENFORCEMENT_APPROVAL_WINDOW_HOURS = env_int("ENFORCEMENT_APPROVAL_WINDOW_HOURS", default=24)
ENFORCEMENT_WEBHOOK_URL = env_str("ENFORCEMENT_WEBHOOK_URL")
ENFORCEMENT_WEBHOOK_SECRET = env_str("ENFORCEMENT_WEBHOOK_SECRET")
# Gateway delivery: retry delay doubles per failed attempt from BASE up to MAX; a claimed change is
# leased for LEASE seconds, after which another worker may re-send it (same idempotency key).
ENFORCEMENT_RETRY_BASE_MS = env_int("ENFORCEMENT_RETRY_BASE_MS", default=2_000)
ENFORCEMENT_RETRY_MAX_MS = env_int("ENFORCEMENT_RETRY_MAX_MS", default=10 * 60 * 1000)
ENFORCEMENT_DELIVERY_LEASE_SECONDS = env_int("ENFORCEMENT_DELIVERY_LEASE_SECONDS", default=60)
ENFORCEMENT_WEBHOOK_TIMEOUT_SECONDS = env_int("ENFORCEMENT_WEBHOOK_TIMEOUT_SECONDS", default=10)

# Indicator sharing (investigations.sharing). Community keys: JSON {"key id": "secret"} for the keyed
# hashes of e-mails and payment fingerprints. Signing key: Ed25519, PEM or base64 of the 32 raw bytes;
# when empty, embedded/DEBUG mode generates one under VAR_DIR (see sharing.signing), production refuses to sign.
SHARING_COMMUNITY_KEYS = env_str("SHARING_COMMUNITY_KEYS")
SHARING_SIGNING_KEY = env_str("SHARING_SIGNING_KEY")
SHARING_PRODUCER_NAME = env_str("SHARING_PRODUCER_NAME", "Hydra Watch Trust & Safety")
SHARING_MAX_BUNDLE_BYTES = env_int("SHARING_MAX_BUNDLE_BYTES", default=64 * 1024 * 1024)
SHARING_INDICATOR_VALIDITY_DAYS = env_int("SHARING_INDICATOR_VALIDITY_DAYS", default=30)
