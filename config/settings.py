"""Tally's settings: every deploy-time value comes from the environment.

With nothing set, Tally runs the embedded default: a SQLite file under var/ and Celery tasks
run in-process. DATABASE_URL and REDIS_URL switch to PostgreSQL and a real broker.
"""

import ipaddress
import os
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {raw!r}")


def env_int(name: str, default: int, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEBUG = env_bool("TALLY_DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when TALLY_DEBUG is off")
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production"  # noqa: S105 (debug only)
# Respondent tokens are stored only as HMACs under this key; rotating SECRET_KEY alone must
# not turn returning respondents into new ones, so it can be set on its own.
TALLY_HASH_KEY = env_str("TALLY_HASH_KEY") or SECRET_KEY

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
# The public address (scheme://host[:port]) of absolute links a page hands out to be pasted
# elsewhere (a poll's embed snippet); unset, they use the address the request came to.
SITE_URL = env_str("SITE_URL", "").strip().rstrip("/")
if SITE_URL and not re.fullmatch(r"https?://[^/\s?#]+", SITE_URL):
    raise ImproperlyConfigured(
        f"SITE_URL must be scheme://host[:port] with no path, like https://tally.example, "
        f"not {SITE_URL!r}"
    )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "survey",
    "results",
    "signals",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # 503 when the database is down, 413 for oversize bodies, Retry-After on 429s.
    "survey.middleware.ResilienceMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
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
                "django.template.context_processors.csp",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'var' / 'tally.sqlite3'}"
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
except (ValueError, dj_database_url.UnknownSchemeError) as error:
    raise ImproperlyConfigured(
        f"DATABASE_URL is not a database URL Tally can use: {error}"
    ) from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A new connection per request measured 7x slower here: pool them (or keep them open).
    # A database that does not answer costs a request a few seconds and a 503, not a hang:
    # connecting gives up after TALLY_DB_CONNECT_TIMEOUT, waiting for a pooled connection
    # after TALLY_DB_POOL_TIMEOUT, and a pooled connection is checked before it is lent (a
    # restarted server leaves dead ones behind).
    DATABASES["default"]["OPTIONS"] = {
        "connect_timeout": env_int("TALLY_DB_CONNECT_TIMEOUT", 3, minimum=1)
    }
# After a request found the database down, a process answers 503 at once for this long
# (survey/middleware.py), then tries the database again.
TALLY_DB_BREAKER_SECONDS = env_int("TALLY_DB_BREAKER_SECONDS", 2, minimum=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    if env_bool("TALLY_DB_POOL", True):
        from psycopg_pool import ConnectionPool

        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": 1,
            "max_size": env_int("TALLY_DB_POOL_SIZE", 10, minimum=1),
            "timeout": env_int("TALLY_DB_POOL_TIMEOUT", 4, minimum=1),
            "check": ConnectionPool.check_connection,
        }
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 600, minimum=0)
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    # The embedded default under concurrent respondents: WAL lets readers run beside the one
    # writer, IMMEDIATE takes the write lock when a transaction begins (a deferred one that
    # reads first cannot upgrade once another writer committed: "database is locked"), and
    # writers queue behind each other for up to the busy timeout instead of failing.
    _sqlite_wait = env_int("TALLY_SQLITE_TIMEOUT", 20, minimum=1)
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": _sqlite_wait,
            "transaction_mode": "IMMEDIATE",
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                f"PRAGMA busy_timeout={_sqlite_wait * 1000}"
            ),
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # A Redis that does not answer must not hold a request: limits then fall back
            # to per-process counters (survey/limits.py).
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
# cells.csv of each snapshot, kept once written (a per-host cache: results/exportstore.py).
TALLY_EXPORT_DIR = env_str("TALLY_EXPORT_DIR") or str(BASE_DIR / "var" / "exports")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# Nothing is loaded from elsewhere and no page has inline script or style.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("TALLY_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# HTTPS deploys (`check --deploy` is clean with these set): HSTS, redirecting plain HTTP, and
# the header the TLS-terminating proxy sets, e.g. TALLY_PROXY_SSL_HEADER=X-Forwarded-Proto:https
SECURE_HSTS_SECONDS = env_int("TALLY_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("TALLY_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("TALLY_HSTS_PRELOAD", True)
SECURE_SSL_REDIRECT = env_bool("TALLY_SSL_REDIRECT", False)
# /healthz is probed over plain HTTP inside the deploy's network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
_proxy_ssl = env_str("TALLY_PROXY_SSL_HEADER")
if _proxy_ssl:
    _header, _, _value = _proxy_ssl.partition(":")
    if not _header.strip() or not _value.strip():
        raise ImproperlyConfigured(
            f"TALLY_PROXY_SSL_HEADER must be Header-Name:value, e.g. X-Forwarded-Proto:https, "
            f"not {_proxy_ssl!r}"
        )
    SECURE_PROXY_SSL_HEADER = (
        "HTTP_" + _header.strip().upper().replace("-", "_"),
        _value.strip(),
    )
# Survey forms carry large matrices; hostile posts with more fields than this get a 400.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 500,
    "DEFAULT_THROTTLE_RATES": {"submit": env_str("TALLY_API_SUBMIT_RATE", "30/hour")},
    # Throttles key on survey.limits.client_ip; this covers any that use DRF's own get_ident.
    "NUM_PROXIES": env_int("TALLY_TRUSTED_PROXY_HOPS", 0, minimum=0),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tally API",
    "DESCRIPTION": "Published, disclosure-controlled aggregates and survey definitions.",
    "VERSION": "1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
}

# Celery: without a broker, tasks run in-process (the embedded default of `make run`).
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The broker queue web processes send to and workers read: deployments (or test runs) that
# share one Redis keep apart by naming their own.
CELERY_TASK_DEFAULT_QUEUE = env_str("TALLY_CELERY_QUEUE", "celery") or "celery"
CELERY_TASK_TIME_LIMIT = env_int("TALLY_TASK_TIME_LIMIT", 1800, minimum=10)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 5
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 60}
TALLY_REFRESH_SECONDS = env_int("TALLY_REFRESH_SECONDS", 60, minimum=1)
CELERY_BEAT_SCHEDULE = {
    "refresh-reports": {"task": "results.refresh", "schedule": float(TALLY_REFRESH_SECONDS)},
}
# A poll's results move once k votes arrived, or at most this often when fewer did.
TALLY_POLL_REFRESH_SECONDS = env_int("TALLY_POLL_REFRESH_SECONDS", 900, minimum=1)
# A running rebuild job whose heartbeat (every fifth of this) is older is requeued.
TALLY_JOB_STALE_SECONDS = env_int("TALLY_JOB_STALE_SECONDS", 30, minimum=2)

# Survey defences, all overridable per deploy.
TALLY_SUBMIT_RATE_PER_HOUR = env_int("TALLY_SUBMIT_RATE_PER_HOUR", 30, minimum=1)
TALLY_DRAFT_RATE_PER_HOUR = env_int("TALLY_DRAFT_RATE_PER_HOUR", 100, minimum=1)
TALLY_DRAFT_RATE_PER_SESSION = env_int("TALLY_DRAFT_RATE_PER_SESSION", 10, minimum=1)
# Identical API bodies within this many seconds are flagged as duplicates.
TALLY_DUPLICATE_WINDOW_SECONDS = env_int("TALLY_DUPLICATE_WINDOW_SECONDS", 86400, minimum=1)
# Who the client is behind proxies: the number of proxies in front of the app (each appends
# to X-Forwarded-For), or the addresses/networks of the trusted ones. Neither: REMOTE_ADDR.
TALLY_TRUSTED_PROXY_HOPS = env_int("TALLY_TRUSTED_PROXY_HOPS", 0, minimum=0)
try:
    TALLY_TRUSTED_PROXIES = [
        ipaddress.ip_network(item, strict=False) for item in env_list("TALLY_TRUSTED_PROXIES", "")
    ]
except ValueError as error:
    raise ImproperlyConfigured(
        f"TALLY_TRUSTED_PROXIES must be comma-separated addresses or networks: {error}"
    ) from None
if TALLY_TRUSTED_PROXY_HOPS and TALLY_TRUSTED_PROXIES:
    raise ImproperlyConfigured("Set TALLY_TRUSTED_PROXY_HOPS or TALLY_TRUSTED_PROXIES, not both")
TALLY_COOKIE_MAX_AGE = 60 * 60 * 24 * 400

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
