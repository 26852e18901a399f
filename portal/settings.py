"""Launchpad settings: every value from an environment variable, with embedded defaults that need no server.

Embedded: SQLite, a filesystem Celery broker (portal/broker.py), the local emulator started by `make run`.
Production: DATABASE_URL (PostgreSQL), CELERY_BROKER_URL (Redis or RabbitMQ), real AWS (no AWS_ENDPOINT_URL).
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("LAUNCHPAD_DATA_DIR", BASE_DIR / ".launchpad")).resolve()


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} must be true or false.")


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and os.environ.get("LAUNCHPAD_ALLOW_DEV_SECRET") != "1":
        raise ImproperlyConfigured("SECRET_KEY must be set (make run generates one for local use).")
    SECRET_KEY = "launchpad-local-development-only-" + "x" * 32
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

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
    "portal.accounts",
    "portal.environments",
    "portal.runs",
    "portal.activity",
    "portal.dashboards",
    "portal.notifications",
    "portal.audit",
    "portal.jobs",
    "django_filters",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "portal.http_errors.RejectNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # POST/PUT/PATCH/DELETE in one transaction, rolled back when the answer is an error (a 500 never commits).
    "portal.atomic_requests.AtomicUnsafeRequestsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A refused action (portal/refusals.py) raised by a page view: a page with its status (409, 400) and sentence.
    "portal.http_errors.RefusalMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
            ]
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'launchpad.sqlite3'}",
        conn_max_age=60,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    # Worker, beat and web share the file: wait for a lock instead of failing at once. Transactions take the
    # write lock when they begin (IMMEDIATE): one that read and then wrote could not wait, SQLite refused it at
    # once with "database is locked" (a worker's claim of a run was lost under concurrent requests), and they
    # now exclude each other as select_for_update (a no-op on SQLite) makes them do on PostgreSQL.
    DATABASES["default"].setdefault("OPTIONS", {}).update(timeout=30, transaction_mode="IMMEDIATE")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
# The web UI's own CSS and JavaScript (portal/static/launchpad/), served locally: no CDN at run time.
STATICFILES_DIRS = [BASE_DIR / "portal" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGIN_URL = "/accounts/login/"

# --- Caches -------------------------------------------------------------------------------------
# "default" keeps the dashboards' and audit browsers' AWS reads; "signin" the sign-in limit's failure counts
# (portal/accounts/throttling.py), which every web process must share: counted per gunicorn worker, the limit
# of 10 let 10 guesses through each worker. CACHE_URL=redis://host:6379/1 in production serves both (shared by
# every web process). Embedded (unset): the reads stay in each process's memory, the counts go to the database.
CACHE_URL = os.environ.get("CACHE_URL", "")
SIGNIN_CACHE_TABLE = "launchpad_signin_cache"  # made by portal/accounts/migrations/0003_signin_cache_table.py
if CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL},
        "signin": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL},
    }
elif CACHE_URL:
    raise ImproperlyConfigured(f"CACHE_URL={CACHE_URL!r} must be a redis:// URL (or unset for a per-process cache).")
else:
    CACHES = {
        # Room for a fleet of environments: a summary and the charts of each window per environment.
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "launchpad",
            "OPTIONS": {"MAX_ENTRIES": 5000},
        },
        # The database rather than files in LAUNCHPAD_DATA_DIR: every process that reaches the database shares it
        # (worker, web, on any host), add() is atomic through the table's primary key and incr() holds the row's
        # lock; Django's file cache reads then writes a file with no lock between processes. Room for two keys
        # (address, username) per failed attempt of a minute's window before the oldest are culled.
        "signin": {
            "BACKEND": "portal.accounts.counter_cache.DatabaseCounterCache",
            "LOCATION": SIGNIN_CACHE_TABLE,
            "OPTIONS": {"MAX_ENTRIES": 20000},
        },
    }
# Seconds an environment's status (ECS, alarms, queues, charts) is served from the cache before AWS is read again.
LAUNCHPAD_STATUS_TTL = int(os.environ.get("LAUNCHPAD_STATUS_TTL", "30"))

# --- Celery -------------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "filesystem://"
# The embedded broker (no server): kombu's filesystem transport made safe for several processes (portal/broker.py).
EMBEDDED_BROKER = CELERY_BROKER_URL.startswith("filesystem://")
if EMBEDDED_BROKER:
    CELERY_BROKER_TRANSPORT = "portal.broker:Transport"
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(DATA_DIR / "broker"),
        "data_folder_out": str(DATA_DIR / "broker"),
        "processed_folder": str(DATA_DIR / "broker-processed"),
        "control_folder": str(DATA_DIR / "broker-control"),
        "rejected_folder": str(DATA_DIR / "broker-rejected"),
        "store_processed": False,
        # The worker lists the folder this often (kombu's default, 1 s, is half a second of every run's wait).
        "polling_interval": 0.1,
    }
    if EMBEDDED_BROKER
    else {"visibility_timeout": 3600}
)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = False
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True

# --- Launchpad ----------------------------------------------------------------------------------
AWS_ENDPOINT_URL = os.environ.get("AWS_ENDPOINT_URL") or None


def aws_max_retries() -> int:
    value = os.environ.get("LAUNCHPAD_AWS_MAX_RETRIES") or "25"
    if not (value.isascii() and value.isdigit()) or int(value) > 100:
        raise ImproperlyConfigured(f"LAUNCHPAD_AWS_MAX_RETRIES={value!r} must be a whole number from 0 to 100.")
    return int(value)


LAUNCHPAD = {
    # Where run workspaces and plan files live; shared by all workers (a shared volume in compose).
    "WORK_DIR": Path(os.environ.get("LAUNCHPAD_WORK_DIR", DATA_DIR / "work")),
    "STATE_BUCKET": os.environ.get("LAUNCHPAD_STATE_BUCKET", ""),
    "LOCK_TABLE": os.environ.get("LAUNCHPAD_LOCK_TABLE", ""),
    # Without those two, each region's state store is created and named <prefix>-launchpad-tfstate-<region> and
    # <prefix>-launchpad-tflock (provisioning.engine.ensure_state_store's name_prefix).
    "NAME_PREFIX": os.environ.get("LAUNCHPAD_NAME_PREFIX", "spotmusic"),
    # A run whose worker has not reported for this long is taken as lost.
    "HEARTBEAT_TIMEOUT_SECONDS": int(os.environ.get("LAUNCHPAD_HEARTBEAT_TIMEOUT", "60")),
    # How often a failing AWS call is retried (with exponential backoff) before the run fails: Terraform's
    # provider (the aws_max_retries variable) and, at most 5 times, Launchpad's own boto3 calls (provisioning/aws.py).
    "AWS_MAX_RETRIES": aws_max_retries(),
    # A queued run no worker took for this long, with nothing else under way for its environment, is sent again.
    "REDISPATCH_AFTER_SECONDS": int(os.environ.get("LAUNCHPAD_REDISPATCH_AFTER_SECONDS", "60")),
}


# --- Networks: the VPC blocks environments get when their definition names none ---------------
def network_block_prefix() -> int:
    value = os.environ.get("LAUNCHPAD_NETWORK_BLOCK_PREFIX") or "16"
    if not (value.isascii() and value.isdigit()) or not 16 <= int(value) <= 24:
        raise ImproperlyConfigured(f"LAUNCHPAD_NETWORK_BLOCK_PREFIX={value!r} must be a whole number from 16 to 24.")
    return int(value)


def network_pools(block_prefix: int) -> dict[str, list[str]]:
    """LAUNCHPAD_NETWORK_POOLS: comma-separated "region=CIDR" pairs ("*": every region not named), like an IPAM
    pool per region; a region may have several. Each pool is carved into blocks of ``block_prefix``."""
    value = os.environ.get("LAUNCHPAD_NETWORK_POOLS") or "*=10.0.0.0/8"
    pools: dict[str, list[str]] = {}
    for entry in value.split(","):
        region, _, cidr = (part.strip() for part in entry.partition("="))
        try:
            network = ipaddress.IPv4Network(cidr, strict=True)
        except ValueError:
            network = None
        if not region or network is None or network.prefixlen > block_prefix:
            raise ImproperlyConfigured(
                f"LAUNCHPAD_NETWORK_POOLS: {entry.strip()!r} must be region=CIDR (or *=CIDR), a network of "
                f"/{block_prefix} or larger, such as eu-west-1=10.0.0.0/9."
            )
        pools.setdefault(region, []).append(str(network))
    return pools


LAUNCHPAD_NETWORK_BLOCK_PREFIX = network_block_prefix()
LAUNCHPAD_NETWORK_POOLS = network_pools(LAUNCHPAD_NETWORK_BLOCK_PREFIX)


# --- Approvals: who may apply what alone, per tier (docs/lifecycle.md, used by portal/runs/approval.py) --------
# "every_change": a second person approves every plan that changes a resource.
# "data_loss_by_owner" / "data_loss_by_others": which losses of data (a plan destroying or replacing a resource
# that holds data: provisioning.engine.STATEFUL_RESOURCE_TYPES) wait for a second person when the environment's owner
# asks for the plan, and when someone else does: "any", "shared" (only LAUNCHPAD_SHARED_DATA_TYPES) or "none".
def approval_policy(policy: dict, tiers: tuple[str, ...]) -> dict:
    """LAUNCHPAD_APPROVAL_POLICY, checked when the settings load: a policy that says nothing clear about a tier
    stops Launchpad at its start, rather than a plan later (or the destroy page) failing, or going unreviewed."""
    kinds = {"every_change": bool, "data_loss_by_owner": str, "data_loss_by_others": str}
    scopes = ("any", "shared", "none")
    if set(policy) != set(tiers):
        raise ImproperlyConfigured(f"LAUNCHPAD_APPROVAL_POLICY must name the tiers {', '.join(tiers)}, and only them.")
    for tier, entry in policy.items():
        if (
            not isinstance(entry, dict)
            or set(entry) != set(kinds)
            or not all(isinstance(entry[key], kind) for key, kind in kinds.items())
            or not {entry["data_loss_by_owner"], entry["data_loss_by_others"]} <= set(scopes)
        ):
            raise ImproperlyConfigured(
                f"LAUNCHPAD_APPROVAL_POLICY[{tier!r}] must be {{'every_change': true or false, 'data_loss_by_owner' "
                f"and 'data_loss_by_others': one of {', '.join(scopes)}}}."
            )
    return policy


# The tiers are portal.environments.choices.Tier's (tests/runs/test_approval.py checks that they agree).
LAUNCHPAD_APPROVAL_POLICY = approval_policy(
    {
        "dev": {"every_change": False, "data_loss_by_owner": "shared", "data_loss_by_others": "any"},
        "staging": {"every_change": True, "data_loss_by_owner": "any", "data_loss_by_others": "any"},
        "prod": {"every_change": True, "data_loss_by_owner": "any", "data_loss_by_others": "any"},
    },
    tiers=("dev", "staging", "prod"),
)
# Shared data: stores other people and services read, not only the environment's owner: its databases and tables
# (a sandbox has none: its services point at a shared database). Queues, secrets, parameters and buckets of a dev
# environment are its owner's to lose.
LAUNCHPAD_SHARED_DATA_TYPES = ("aws_db_instance", "aws_rds_cluster", "aws_dynamodb_table")

# --- Lifecycle: drift, expiry, notifications (docs/lifecycle.md) --------------
# Every ready environment gets a refresh-only plan this often (it never applies anything).
LAUNCHPAD_DRIFT_INTERVAL_SECONDS = int(os.environ.get("LAUNCHPAD_DRIFT_INTERVAL_SECONDS", "3600"))
# The lifetime an environment gets when its owner names none, per blueprint (none for blueprints not named).
LAUNCHPAD_DEFAULT_LIFETIME_HOURS = {"sandbox": int(os.environ.get("LAUNCHPAD_SANDBOX_LIFETIME_HOURS", "72"))}
# The owner is warned this long before the end of the lifetime (once).
LAUNCHPAD_EXPIRY_WARNING_HOURS = float(os.environ.get("LAUNCHPAD_EXPIRY_WARNING_HOURS", "12"))
# How often expiries are looked at (warnings sent, expired environments destroyed).
LAUNCHPAD_EXPIRY_CHECK_SECONDS = float(os.environ.get("LAUNCHPAD_EXPIRY_CHECK_SECONDS", "300"))
# Webhook deliveries: attempts, and the first wait between them (doubled after each failure).
LAUNCHPAD_WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("LAUNCHPAD_WEBHOOK_MAX_ATTEMPTS", "5"))
LAUNCHPAD_WEBHOOK_BACKOFF_SECONDS = float(os.environ.get("LAUNCHPAD_WEBHOOK_BACKOFF_SECONDS", "30"))
LAUNCHPAD_WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("LAUNCHPAD_WEBHOOK_TIMEOUT_SECONDS", "10"))
# Hosts and networks (comma-separated: "hooks.internal,10.8.0.0/16") webhooks may reach although they are
# loopback, link-local or private; everything else must resolve to public addresses only.
LAUNCHPAD_OUTBOUND_ALLOWLIST = [
    entry.strip() for entry in os.environ.get("LAUNCHPAD_OUTBOUND_ALLOWLIST", "").split(",") if entry.strip()
]
# Links in e-mails and webhook payloads point here. Unset: the web server on this machine at PORT, the port
# `make run` gives every process it starts (the worker and beat, which send the e-mails, as the web server), so
# the links go where the portal listens. Behind a proxy (production, docker compose) set it to what users open.
LAUNCHPAD_BASE_URL = (
    os.environ.get("LAUNCHPAD_BASE_URL") or f"http://127.0.0.1:{os.environ.get('PORT') or '8000'}"
).rstrip("/")

# E-mail through Django's mail backend: the console by default (make run prints mails); SMTP in production
# (EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend with EMAIL_HOST...). Tests use locmem.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Launchpad <launchpad@spotmusic.invalid>")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.accounts.authentication.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "portal.api_schema.LaunchpadAutoSchema",
    # DRF's parsers; JSON nested deeper than Python parses is a 400 (portal/api_parsers.py), not a 500.
    "DEFAULT_PARSER_CLASSES": [
        "portal.api_parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_RATES": {"login": os.environ.get("LAUNCHPAD_LOGIN_RATE", "10/min")},
    # Throttles (and the sign-in limit) count by REMOTE_ADDR: a client-sent X-Forwarded-For is not trusted. Behind
    # N proxies that each append to X-Forwarded-For, LAUNCHPAD_NUM_PROXIES=N counts by the address they saw.
    "NUM_PROXIES": int(os.environ.get("LAUNCHPAD_NUM_PROXIES", "0")),
    "EXCEPTION_HANDLER": "portal.api_errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Launchpad API",
    "DESCRIPTION": "Spotmusic environments: blueprints, environments, runs and their events.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs page loads Redoc from Launchpad's static files, never from a CDN.
    "REDOC_DIST": "SIDECAR",
    # Choice sets used under several field names get one schema name each.
    "ENUM_NAME_OVERRIDES": {
        "NotificationEventEnum": "portal.notifications.choices.Event",
        "DeliveryStatusEnum": "portal.notifications.choices.DeliveryStatus",
        "DriftCheckStatusEnum": "portal.environments.choices.DriftCheckStatus",
        "EnvironmentStatusEnum": "portal.environments.choices.EnvironmentStatus",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# --- Security (docs/security.md) ----------------------------------------------
# Production is HTTPS only, behind a TLS-terminating proxy that sets X-Forwarded-Proto (replacing any value a
# client sent) and is the only way to the web port. `make run` (plain http on 127.0.0.1) sets SECURE_COOKIES and
# SECURE_SSL_REDIRECT to false; DEBUG=true drops the HTTPS-only settings. `manage.py check --deploy` is clean.
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # The container's health check asks over plain http from inside: it is answered, not redirected.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    # A year of HSTS, subdomains included: after one visit browsers refuse plain http to the host.
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Content-Security-Policy (django-csp): the UI has no inline script, style or event handler and loads nothing from
# elsewhere (Chart.js and Redoc are served from /static/), so injected markup can run or style nothing. The API docs
# page alone widens it for Redoc (portal/api_urls.py). tests/security/test_csp.py keeps the templates clean.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# How often beat looks for runs whose worker died and for queued runs whose message was lost.
SWEEP_SECONDS = float(os.environ.get("LAUNCHPAD_SWEEP_SECONDS", "30"))
CELERY_BEAT_SCHEDULE = {
    # The security audit of the whole account (portal/audit), daily unless LAUNCHPAD_AUDIT_SCHEDULE_SECONDS says.
    "audit-account": {
        "task": "portal.audit.tasks.run_scheduled_audit",
        "schedule": float(os.environ.get("LAUNCHPAD_AUDIT_SCHEDULE_SECONDS", "86400")),
    },
    # Runs, drift checks and audits whose worker died are failed within HEARTBEAT_TIMEOUT + 30 s (under 2 minutes).
    "reap-lost-jobs": {"task": "portal.jobs.tasks.reap_lost_jobs", "schedule": SWEEP_SECONDS},
    # Queued runs whose message was lost (web killed between commit and enqueue) go within REDISPATCH_AFTER + 30 s.
    "redispatch-stalled-runs": {"task": "portal.runs.tasks.redispatch_stalled_runs", "schedule": SWEEP_SECONDS},
    # A refresh-only plan of every ready environment (drift found → status "drifted", owners told).
    "check-drift": {
        "task": "portal.environments.tasks.schedule_drift_checks",
        "schedule": float(LAUNCHPAD_DRIFT_INTERVAL_SECONDS),
    },
    # Warnings before the end of a lifetime; expired non-prod environments destroyed through a destroy run.
    "expire-environments": {
        "task": "portal.environments.tasks.expire_environments",
        "schedule": LAUNCHPAD_EXPIRY_CHECK_SECONDS,
    },
    # Webhook deliveries whose retry is due (a worker lost with a retry in hand is caught up here).
    "deliver-due-webhooks": {"task": "portal.notifications.tasks.deliver_due_webhooks", "schedule": 60.0},
    # Findings whose suppression ran out are open again within a minute (the audit pages only read).
    "release-expired-suppressions": {"task": "portal.audit.tasks.release_expired_suppressions", "schedule": 60.0},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
