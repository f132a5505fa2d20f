"""Reten settings. Everything an operator tunes comes from the environment (SPEC section 9)."""
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

from reten.env import check_choice, env_bool, env_float, env_int, env_list, env_rate, env_str
from reten.keyring import parse_key_entries

BASE_DIR = Path(__file__).resolve().parent.parent
# A git-ignored .env fills in what the real environment does not set.
load_dotenv(os.environ.get("RETEN_ENV_FILE", BASE_DIR / ".env"), override=False)

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
RETEN_CREDENTIALS_KEYS = env_str("RETEN_CREDENTIALS_KEYS", "")
if not DEBUG:
    missing = [name for name, value in (("SECRET_KEY", SECRET_KEY),
                                        ("RETEN_CREDENTIALS_KEYS", RETEN_CREDENTIALS_KEYS)) if not value]
    if missing:
        raise ImproperlyConfigured(
            f"{', '.join(missing)} must be set when DEBUG is false (see README, Configuration)."
        )
if not SECRET_KEY:
    SECRET_KEY = "insecure-development-key-only-used-with-debug-and-no-secret-key-set-0123456789"
if RETEN_CREDENTIALS_KEYS:
    parse_key_entries(RETEN_CREDENTIALS_KEYS)  # a malformed key ring stops start-up, not the first encryption

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
for host in ALLOWED_HOSTS:
    if "/" in host or " " in host:
        raise ImproperlyConfigured(f"ALLOWED_HOSTS holds host names (reten.example.com, .example.com), got {host!r}")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # django-unfold styles the console (SPEC 7); it must come before the admin. The admin app is Django's with
    # the console's site (membership-based entry and tenant scope, tenants/console.py).
    "unfold.apps.BasicAppConfig",  # the console's own site replaces admin.site, not unfold's default one
    "unfold.contrib.import_export",  # unfold's templates for the import and export pages (before import_export)
    "tenants.console_app.ConsoleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "django_fsm",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "django_prometheus",
    "auditlog",
    "import_export",
    "reten",
    "tenants",
    "commerces",
    "dispatch",
    "activities",
    "webhooks",
]

MIDDLEWARE = [
    # First and last: request counts and latencies for django-prometheus (GET /metrics, SPEC 14).
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "reten.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The admin's session user as the actor of audit entries; API callers are set by the tenancy step.
    "auditlog.middleware.AuditlogMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "reten.middleware.ConsoleCSPMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "reten.urls"
WSGI_APPLICATION = "reten.wsgi.application"

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

# PostgreSQL in production from DATABASE_URL; an SQLite file when it is unset.
try:
    DATABASES = {
        "default": dj_database_url.config(
            env="DATABASE_URL",
            default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
            conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0),
            conn_health_checks=True,
        )
    }
except ValueError as exc:  # an unknown scheme or a malformed URL
    raise ImproperlyConfigured(f"DATABASE_URL is not a usable database URL: {exc}") from None
if DATABASES["default"]["ENGINE"] not in ("django.db.backends.postgresql", "django.db.backends.sqlite3"):
    raise ImproperlyConfigured("DATABASE_URL must be a postgres:// or sqlite:// URL")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for a concurrent writer instead of failing at once (web server + dispatcher loop).
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["CONN_MAX_AGE"] = 0
# The same backends wrapped by django-prometheus, which counts queries, errors and connections (GET /metrics).
DATABASES["default"]["ENGINE"] = DATABASES["default"]["ENGINE"].replace("django.db.backends.",
                                                                        "django_prometheus.db.backends.")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "tenants.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Security (production defaults; `manage.py check --deploy` runs clean with DEBUG=false) ---
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
REFRESH_COOKIE_SECURE = env_bool("REFRESH_COOKIE_SECURE", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
# GET /metrics (SPEC 14) needs `Authorization: Bearer $METRICS_TOKEN`; without a token it is open with DEBUG only.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
PROMETHEUS_EXPORT_MIGRATIONS = False
# A body over this many bytes is refused with 413 before it is read (SPEC 10, Input limits).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2621440, minimum=1024)

# --- Content-Security-Policy (django-csp 4.x; SPEC 10, Headers) ---
# Everything is served from this origin: the admin, and Swagger UI / ReDoc from drf-spectacular-sidecar (the
# Swagger UI init script is a separate same-origin file, so no inline script is allowed anywhere). An inline
# <style> needs the request's nonce (the Swagger UI page uses it); reten/urls.py relaxes styles for ReDoc only.
# Workers come from blob: (ReDoc's search).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", NONCE],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- REST API ---
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["reten.api.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["reten.api.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenants.api.authentication.ApiKeyAuthentication",
        "tenants.api.authentication.BearerAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tenants.api.permissions.TenantPermission"],
    "DEFAULT_PAGINATION_CLASS": "reten.api.pagination.PageNumberPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "reten.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "reten.api.exceptions.exception_handler",
    "DATETIME_FORMAT": None,  # the renderer writes UTC with milliseconds and Z
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Throttle counters live in the shared cache (CACHES below); see reten/api/throttling.py.
    "DEFAULT_THROTTLE_RATES": {},  # filled in below from the *_THROTTLE_RATE settings
    "NUM_PROXIES": None,  # set below from NUM_PROXIES
}

# --- Throttles (SPEC 10): rates are "<count>/<s|min|hour|day>" ---
# Login attempts per client address, and per account (whatever address they come from).
LOGIN_THROTTLE_RATE = env_rate("LOGIN_THROTTLE_RATE", "30/min")
LOGIN_ACCOUNT_THROTTLE_RATE = env_rate("LOGIN_ACCOUNT_THROTTLE_RATE", "10/min")
# reset-my-password attempts per user (each one checks the current password).
PASSWORD_CHANGE_THROTTLE_RATE = env_rate("PASSWORD_CHANGE_THROTTLE_RATE", "10/hour")
# How many reverse proxies in front of the app append to X-Forwarded-For (0-10). 0: the client
# address is REMOTE_ADDR and X-Forwarded-For is ignored (anyone can send one).
NUM_PROXIES = env_int("NUM_PROXIES", 0, minimum=0, maximum=10)
REST_FRAMEWORK["NUM_PROXIES"] = NUM_PROXIES
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    "login": LOGIN_THROTTLE_RATE,
    "login_account": LOGIN_ACCOUNT_THROTTLE_RATE,
    "password_change": PASSWORD_CHANGE_THROTTLE_RATE,
}

# Keys whose values are caller data: never re-cased on the way in or out.
JSON_CAMEL_CASE = {
    "JSON_UNDERSCOREIZE": {
        "no_underscore_before_number": True,
        "ignore_fields": ("metadata", "raw_payload", "rawPayload", "payload", "settings", "credentials",
                          "value", "config", "details", "fallback"),
        "ignore_keys": None,
    }
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env_int("JWT_ACCESS_TOKEN_SECONDS", 900, minimum=1, maximum=86400)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=7),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "SIGNING_KEY": env_str("JWT_SIGNING_KEY", SECRET_KEY),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "sub",
}
REFRESH_COOKIE_NAME = "refreshToken"
REFRESH_COOKIE_PATH = "/api/auth"

SPECTACULAR_SETTINGS = {
    "TITLE": "Reten API",
    "DESCRIPTION": """Multi-tenant back office for retention work with commerces: activities resolved to their
targets, dispatched to providers and closed by results. Guides: `docs/` in the repository.

## How to authenticate

1. **Log in**: `POST /api/auth/login` with `{"identifier": "<e-mail or username>", "password": "..."}`. The
   answer holds `accessToken` (valid `JWT_ACCESS_TOKEN_SECONDS`, 15 minutes by default) and sets the HttpOnly
   `refreshToken` cookie; `POST /api/auth/refresh` trades the cookie for a new access token.
2. **Find your tenant id**: `GET /api/auth/me` with `Authorization: Bearer <accessToken>` answers `tenantIds`
   (and `GET /api/tenant/mine` their names).
3. **Send both headers** on every tenant route: `Authorization: Bearer <accessToken>` and
   `x-tenant-id: <tenant id>`. Without the tenant header a tenant route is a 400; a tenant you do not belong to
   is a 403. In this page: **Authorize** with the token under `bearerAuth`, and fill the `x-tenant-id`
   parameter of each tenant operation.
4. **Or use an API key** (machines): `x-api-key: rtn_sk_...` alone (`POST /api/api-keys` creates one; the tenant
   comes from the key). `/api/integration/...` routes take API keys only.

Errors are always `{"statusCode", "message", "error", "details"?}`; unknown body fields are refused (400 naming
them); lists are paginated with `page` and `per_page` (at most 100).""",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and ReDoc from local static files (drf-spectacular-sidecar), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # <id:...> path parameters (reten.api.converters) are UUIDs in the schema.
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "string", "format": "uuid"}},
    "COMPONENT_SPLIT_REQUEST": True,
    "CAMELIZE_NAMES": False,
    # One component name per choice set that several fields share (or whose field names collide).
    "ENUM_NAME_OVERRIDES": {
        "CommerceUserRoleEnum": "commerces.models.CommerceUserRole",
        "RouteOperatorRoleEnum": "commerces.models.RouteOperatorRole",
        "OperatorTypeEnum": "commerces.models.OperatorType",
        "ContactTypeEnum": "commerces.models.ContactType",
        "DirectorySourceEnum": "commerces.models.Source",
        "TenantRoleEnum": "tenants.roles.TENANT_ROLES",
        "ActivityTypeEnum": "activities.models.ActivityType",
        "ActivityStatusEnum": "activities.models.ActivityStatus",
        "TaskResultStatusEnum": "activities.models.TaskResultStatus",
        "ContactDirectionEnum": "activities.models.ContactDirection",
        "DeliveryReceiptStatusEnum": "activities.models.ReceiptStatus",
        "CriterionTypeEnum": "activities.models.CriterionType",
        "IntegrationTaskStatusEnum": "activities.api.result_serializers.INTEGRATION_STATUS_CHOICES",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "reten.api.schema.camelize_response_components",
    ],
}

# --- Credentials encryption (AES-256-GCM key ring: "keyid:base64,keyid:base64", first encrypts) ---
# (read above with the other secrets)

# --- Outbound URLs (SPEC 10): tenant-configured URLs must reach public addresses over https ---
# Lift the address checks (loopback, private, link-local...) for development; never in production.
RETEN_ALLOW_PRIVATE_URLS = env_bool("RETEN_ALLOW_PRIVATE_URLS", False)
# Allow plain http outside DEBUG (with DEBUG it is always allowed).
RETEN_ALLOW_INSECURE_URLS = env_bool("RETEN_ALLOW_INSECURE_URLS", False)
# Outbound calls made inside an API request (config test, dispatch now): timeout, and how many one tenant may
# have in flight at once across every worker (429 beyond).
OUTBOUND_REQUEST_TIMEOUT_SECONDS = env_float("OUTBOUND_REQUEST_TIMEOUT_SECONDS", 5.0, minimum=0.1, maximum=60)
OUTBOUND_REQUESTS_PER_TENANT = env_int("OUTBOUND_REQUESTS_PER_TENANT", 2, minimum=1, maximum=100)

# --- Resolution: CLIENT_HOOK attribute resolvers (SPEC 4.5: 5 s) ---
ATTRIBUTE_HOOK_TIMEOUT_SECONDS = env_float("ATTRIBUTE_HOOK_TIMEOUT_SECONDS", 5.0, minimum=0.1, maximum=300)

# --- Dispatcher ---
DISPATCH_LEAD_SECONDS = env_int("DISPATCH_LEAD_SECONDS", 0, minimum=0)
DISPATCH_BATCH_SIZE = env_int("DISPATCH_BATCH_SIZE", 100, minimum=1, maximum=10000)
DISPATCH_LEASE_SECONDS = env_int("DISPATCH_LEASE_SECONDS", 120, minimum=1)
DISPATCH_MAX_ATTEMPTS = env_int("DISPATCH_MAX_ATTEMPTS", 3, minimum=1, maximum=100)
DISPATCH_BACKOFF_SECONDS = env_int("DISPATCH_BACKOFF_SECONDS", 30, minimum=1)
DISPATCH_HTTP_TIMEOUT = env_float("DISPATCH_HTTP_TIMEOUT", 10.0, minimum=0.1, maximum=600)
DISPATCH_INTERVAL_SECONDS = env_int("DISPATCH_INTERVAL_SECONDS", 30, minimum=1)
# Provider calls in flight at once within one pass (threads; the database work stays on the pass's thread).
DISPATCH_CONCURRENCY = env_int("DISPATCH_CONCURRENCY", 8, minimum=1, maximum=256)
# A provider's Retry-After (429/503) never pushes the next attempt further than this (SPEC 11.2).
DISPATCH_MAX_RETRY_AFTER_SECONDS = env_int("DISPATCH_MAX_RETRY_AFTER_SECONDS", 3600, minimum=1, maximum=7 * 24 * 3600)
if DISPATCH_LEASE_SECONDS <= DISPATCH_HTTP_TIMEOUT:
    # A claim would expire while its provider call may still be running: another pass would send it again.
    raise ImproperlyConfigured(f"DISPATCH_LEASE_SECONDS ({DISPATCH_LEASE_SECONDS}) must be longer than "
                               f"DISPATCH_HTTP_TIMEOUT ({DISPATCH_HTTP_TIMEOUT})")

# --- Webhooks to tenants (SPEC 13) ---
WEBHOOK_HTTP_TIMEOUT = env_float("WEBHOOK_HTTP_TIMEOUT", 10.0, minimum=0.1, maximum=120)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 8, minimum=1, maximum=50)
WEBHOOK_DISABLE_AFTER_FAILURES = env_int("WEBHOOK_DISABLE_AFTER_FAILURES", 50, minimum=1, maximum=100000)
WEBHOOK_BATCH_SIZE = env_int("WEBHOOK_BATCH_SIZE", 200, minimum=1, maximum=10000)
WEBHOOK_CONCURRENCY = env_int("WEBHOOK_CONCURRENCY", 8, minimum=1, maximum=256)
# Deliver right after the commit that wrote them (Celery with a broker, else a small in-process pool).
WEBHOOK_DELIVER_ON_COMMIT = env_bool("WEBHOOK_DELIVER_ON_COMMIT", True)
WEBHOOK_LEASE_SECONDS = env_int("WEBHOOK_LEASE_SECONDS", 60, minimum=1, maximum=3600)
if WEBHOOK_LEASE_SECONDS <= WEBHOOK_HTTP_TIMEOUT:
    raise ImproperlyConfigured(f"WEBHOOK_LEASE_SECONDS ({WEBHOOK_LEASE_SECONDS}) must be longer than "
                               f"WEBHOOK_HTTP_TIMEOUT ({WEBHOOK_HTTP_TIMEOUT})")

# --- Celery (optional scale-out; without a broker everything runs in-process) ---
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "")
BROKER_SCHEMES = ("redis", "rediss", "amqp", "amqps", "pyamqp", "sqs", "memory")
if CELERY_BROKER_URL and CELERY_BROKER_URL.partition("://")[0] not in BROKER_SCHEMES:
    raise ImproperlyConfigured(f"CELERY_BROKER_URL must be a {', '.join(BROKER_SCHEMES)} URL (scheme://...)")
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_IGNORE_RESULT = True
# Celery's Django fixup closes every database connection before and after each task unless this is set; then it
# does so once per this many tasks, and reten/celery.py closes only what CONN_MAX_AGE or an error says (issue 15:
# a new PostgreSQL connection per task cost more than the dispatch itself).
CELERY_DB_REUSE_MAX = 1000
# Publishing gives up within about half a second when the broker is down (an HTTP response may be
# publishing on commit); the activity is then sent in-process and the broker rested for a few seconds
# (dispatch/services/enqueue.py).
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
# Beat (run exactly one) fans out one dispatch pass per tenant with due work; see dispatch/tasks.py.
CELERY_BEAT_SCHEDULE = {
    "dispatch-due-tenants": {
        "task": "dispatch.due_tenants",
        "schedule": float(DISPATCH_INTERVAL_SECONDS),
        "options": {"expires": DISPATCH_INTERVAL_SECONDS},
    },
    "webhooks-deliver-due": {
        "task": "webhooks.deliver_due",
        "schedule": float(DISPATCH_INTERVAL_SECONDS),
        "options": {"expires": DISPATCH_INTERVAL_SECONDS},
    },
}

# --- Cache: shared by every worker and machine (throttle counters must add up across them) ---
# Redis when REDIS_URL (or a redis:// Celery broker) names one, else the database cache (its table is created
# by `migrate`, tenants/migrations/0004).
REDIS_URL = env_str("REDIS_URL", "")
CACHE_REDIS_URL = REDIS_URL or (CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://"))
                                else "")
if CACHE_REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "reten_cache"}}

# --- Logging: one JSON object per line with LOG_FORMAT=json ---
LOG_FORMAT = env_str("LOG_FORMAT", "text", choices=("text", "json"))
LOG_LEVEL = check_choice("LOG_LEVEL", env_str("LOG_LEVEL", "INFO").upper(),
                         ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "reten.logging.RequestContextFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(tenant_id)s %(activity_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [tenant=%(tenant_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "text",
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# The back-office console (SPEC 7): django-unfold, branded Reten; its home page is the dashboard.
UNFOLD = {
    "SITE_TITLE": "Reten console",
    "SITE_HEADER": "Reten",
    "SITE_SUBHEADER": "Back office",
    "SITE_SYMBOL": "campaign",
    "SITE_URL": "/admin/",
    "SHOW_VIEW_ON_SITE": False,
    "DASHBOARD_CALLBACK": "dispatch.dashboard.dashboard_callback",
    "SIDEBAR": {"show_search": True, "show_all_applications": True},
}
# The console's login page posts to itself; without a `next` it lands on the dashboard (not /accounts/profile/).
LOGIN_REDIRECT_URL = "/admin/"
LOGIN_URL = "/admin/login/"
