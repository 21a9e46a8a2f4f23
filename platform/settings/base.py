"""Base settings, every value from the environment with a development default (`.env.example`).

Meta pages:
- media: https://developers.facebook.com/documentation/business-messaging/whatsapp/business-phone-numbers/media/
"""

from __future__ import annotations

from datetime import timedelta

from csp.constants import NONCE, NONE, SELF
from kombu import Exchange, Queue

from saas_platform.env import (
    BASE_DIR,
    DEV_SECRET_KEY,
    DEV_TOKEN_ENCRYPTION_KEY,
    DEV_WHATSAPP_APP_SECRET,
    DEV_WHATSAPP_VERIFY_TOKEN,
    env,
    refuse_dev_secrets,
)
from saas_platform.logs import logging_config
from saas_platform.sentry import sentry_init

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=DEV_SECRET_KEY)

# Hosts: the public host (signup portal, console, shared webhook) is BASE_DOMAIN; each
# organization gets `<slug>.<BASE_DOMAIN>`. PUBLIC_EXTRA_HOSTS also reach the public schema
# (127.0.0.1 so that the sandbox and load balancers' health checks can call by address).
BASE_DOMAIN = env.str("BASE_DOMAIN", default="localhost")
PUBLIC_EXTRA_HOSTS = env.list("PUBLIC_EXTRA_HOSTS", default=["127.0.0.1"])
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[BASE_DOMAIN, f".{BASE_DOMAIN}", *PUBLIC_EXTRA_HOSTS]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Tenancy (django-tenants) -------------------------------------------------------------
SHARED_APPS = [
    "django_tenants",
    "tenants",
    "billing_stub",
    "whatsapp.webhooks",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
    "csp",
    # Staff's second factor on the superadmin console (TOTP devices live in the public schema).
    "django_otp",
    "django_otp.plugins.otp_totp",
]
TENANT_APPS = [
    "whatsapp",
    "whatsapp.message_templates",
    "whatsapp.numbers",
    "whatsapp.chatbot",
    "whatsapp.campaigns",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Organization"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
PUBLIC_SCHEMA_URLCONF = "saas_platform.urls_public"
ROOT_URLCONF = "saas_platform.urls_tenant"
# New organizations clone this fully migrated template schema instead of replaying every
# migration (see tenants.services.onboarding and benchmarks/schema_creation.py).
TENANT_BASE_SCHEMA = "tenant_template"
TENANT_CREATION_FAKES_MIGRATIONS = env.bool("TENANT_CREATION_FAKES_MIGRATIONS", default=True)
# Schemas cloned ahead of signup (tenants.services.schemas): signup renames one instead of
# cloning, and beat tops the pool up to this size (0: every signup clones its own).
TENANT_SCHEMA_POOL_SIZE = env.int("TENANT_SCHEMA_POOL_SIZE", default=10)
# Offboarding (tenants.services.offboarding): days between a deletion request and the drop of
# the organization's schema and media, during which its export can be downloaded.
TENANT_DELETION_GRACE_DAYS = env.int("TENANT_DELETION_GRACE_DAYS", default=14)
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
# Set search_path once per connection and tenant switch, not before every query: half the
# statements of an inbound message were `SET search_path` (benchmarks/webhook_ingest.py).
# django-tenants forgets the setting on rollback, savepoint rollback, close and tenant change.
TENANT_LIMIT_SET_CALLS = env.bool("TENANT_LIMIT_SET_CALLS", default=True)

# Host -> organization lookups are cached per process for this many seconds (bounded LRU); a
# change is seen at once by the process that made it, within this delay by the others.
TENANT_HOST_CACHE_SECONDS = env.float("TENANT_HOST_CACHE_SECONDS", default=5.0)
TENANT_HOST_CACHE_MAX_ENTRIES = env.int("TENANT_HOST_CACHE_MAX_ENTRIES", default=1024)

MIDDLEWARE = [
    # Request counts and latencies by view (django-prometheus' names), around everything else.
    "saas_platform.request_metrics.RequestMetricsMiddleware",
    "saas_platform.logs.RequestIdMiddleware",
    # /healthz and /readyz on any Host (probes send the pod IP); before the host checks.
    "tenants.health.HealthProbeMiddleware",
    "tenants.middleware.CachedTenantMainMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Meta's webhook POST is answered here, past the browser layers below (its module says why).
    "whatsapp.webhooks.middleware.WebhookEdgeMiddleware",
    # Static files (the web app's CSS, htmx, Chart.js) from every process, no CDN.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "saas_platform.content_security.DocumentCSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tenants.middleware.TenantMembershipMiddleware",
    # `request.user.is_verified()`: the session passed a TOTP check (whatsapp/console).
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: turns a locked-out sign-in into the lockout page (django-axes).
    "axes.middleware.AxesMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "frontend_templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenants.webapp.context_processors.webapp",
                "billing_stub.web.context_processors.billing",
            ],
        },
    },
]

WSGI_APPLICATION = "saas_platform.wsgi.application"
ASGI_APPLICATION = "saas_platform.asgi.application"

DATABASES = {
    "default": env.db_url(
        "DATABASE_URL",
        default="postgres://postgres@127.0.0.1:54329/saas_platform",
        engine="django_tenants.postgresql_backend",
    )
}
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
# Before reusing a connection, a request or task pings it (one `SELECT 1` round trip), so a
# connection PostgreSQL dropped while idle is replaced instead of failing that request/task.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DB_CONN_HEALTH_CHECKS", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth ----------------------------------------------------------------------------------
# Users live in the public schema; an organization's people reach it through a Membership
# (README, "Where users live"). The backend refuses anyone who is not a member of the host's org.
AUTHENTICATION_BACKENDS = [
    # First: refuses any sign-in while its (email, address) pair is locked out.
    "axes.backends.AxesStandaloneBackend",
    "tenants.auth.TenantMembershipBackend",
]
# Sign-in throttling (django-axes; attempts are rows of the public schema, so every web process
# and every host counts the same attempts): after AXES_FAILURE_LIMIT failures for one email from
# one address, that pair is refused for AXES_COOLOFF_MINUTES, on every host and the API's token
# endpoint alike. A success resets the count.
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "tenants.auth.attempt_username"
AXES_LOCKOUT_TEMPLATE = "webapp/locked_out.html"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login/"
# The superadmin console (/console/ on the public host, whatsapp/console): staff must pass a TOTP
# check after their password. Always with DEBUG off; in development only when this says so, or
# when the staff user has a TOTP device (the demo's has one: `make run` prints its secret).
CONSOLE_OTP_REQUIRED = True if not DEBUG else env.bool("CONSOLE_OTP_REQUIRED", default=False)
# The console's tenant list keeps each organization's message counts this long (per process).
CONSOLE_MESSAGE_COUNTS_SECONDS = env.float("CONSOLE_MESSAGE_COUNTS_SECONDS", default=60.0)
# The issuer name authenticator apps show next to the account.
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="WhatsApp SaaS console")
LOGIN_REDIRECT_URL = "/"

# E-mail (invitations, password reset): printed to the console unless EMAIL_URL names an SMTP
# server, e.g. `smtp+tls://user:password@smtp.example.com:587` (django-environ's email_url).
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="WhatsApp SaaS <no-reply@localhost>")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Without `collectstatic` (make run, the suite) whitenoise serves from the apps' static dirs.
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=DEBUG)


STATIC_ROOT = env.path("STATIC_ROOT", default=str(BASE_DIR / ".data" / "static"))

# --- Content-Security-Policy (django-csp) ---------------------------------------------------
# One policy for every page: scripts only from our own origin (or an inline <script> carrying
# `nonce="{{ request.csp_nonce }}"`), no plugins, no framing, forms post to ourselves. Inline
# <style> blocks are allowed (base.html and Swagger UI use them; styles cannot run code).
# Enforced when DEBUG is off (production.py); report-only in development, so a page that breaks
# it logs the violation in the browser console instead of silently losing its script.
# https://developer.mozilla.org/docs/Web/HTTP/Headers/Content-Security-Policy
CSP_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}
if DEBUG:
    CONTENT_SECURITY_POLICY = None
    CONTENT_SECURITY_POLICY_REPORT_ONLY = CSP_POLICY
else:
    CONTENT_SECURITY_POLICY = CSP_POLICY

# --- Storage (django-storages) ---------------------------------------------------------------
# Filesystem by default; `STORAGE_BACKEND=s3` switches media to any S3-compatible store.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(BASE_DIR / ".data" / "media"))
MEDIA_URL = "/media/"
STORAGE_BACKEND = env.str("STORAGE_BACKEND", default="filesystem")
if STORAGE_BACKEND == "s3":
    _media_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default=None),
            "region_name": env.str("AWS_S3_REGION_NAME", default=None),
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": env.int("AWS_QUERYSTRING_EXPIRE", default=300),
            "file_overwrite": False,
            # Credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the instance role.
            "signature_version": "s3v4",
            "addressing_style": env.str("AWS_S3_ADDRESSING_STYLE", default="path"),
        },
    }
else:
    _media_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
# Download links (POST /api/v1/media/<id>/link/) live at most this long; on S3 they redirect
# to a pre-signed URL that expires with them (whatsapp.services.media_links).
MEDIA_LINK_TTL_SECONDS = env.int("MEDIA_LINK_TTL_SECONDS", default=300)
STORAGES = {
    "default": _media_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Celery ----------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="redis://127.0.0.1:63790/0")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=None) or None
# Graceful shutdown and lost workers: a task is acknowledged only once it returned, so a worker
# killed mid-task (or a pod evicted) hands it back to the broker instead of losing it; on SIGTERM
# a worker stops taking tasks and finishes the ones in hand (Kubernetes waits
# terminationGracePeriodSeconds, longer than CELERY_TASK_TIME_LIMIT). The outbound workers run
# with `--prefetch-multiplier=1` (deploy/): a send task holds up to WHATSAPP_SEND_BATCH_SIZE
# messages, and a prefetched one would sit behind the task in hand instead of going to an idle
# worker. https://docs.celeryq.dev/en/stable/userguide/optimizing.html#prefetch-limits
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 4
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# One queue per kind of work, so a campaign's backlog of sends never delays inbound webhooks and
# a slow media download never holds either (`campaigns`: the campaign feature's fan-out tasks).
# Every queue is declared, so a plain `celery worker` consumes them all; `-Q inbound` etc.
# dedicates workers (deploy/README.md).
CELERY_TASK_DEFAULT_QUEUE = "celery"
# Each queue with its own exchange and routing key, spelled out (kombu's defaults for a bare
# Queue(name) are the same, but the worker's banner then shows `celery` for every binding).
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name), routing_key=name)
    for name in (CELERY_TASK_DEFAULT_QUEUE, "inbound", "outbound", "media", "campaigns")
]
CELERY_TASK_ROUTES = {
    "whatsapp.tasks.inbound.pending_status_reconcile_task": {"queue": "inbound"},
    "whatsapp.tasks.inbound.media_download_task": {"queue": "media"},
    "whatsapp.tasks.outbound.send_message_task": {"queue": "outbound"},
    "whatsapp.campaigns.tasks.campaign_dispatch_task": {"queue": "campaigns"},
    "whatsapp.campaigns.tasks.campaigns_watch_task": {"queue": "campaigns"},
    "whatsapp.campaigns.tasks.campaigns_watch_tenant_task": {"queue": "campaigns"},
}
# Every periodic job, in one place (seconds). Each fans out per tenant itself when it needs to.
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    # Long-lived tokens expiring within WHATSAPP_TOKEN_REFRESH_DAYS_AHEAD days are renewed.
    "refresh-expiring-tokens": {
        "task": "whatsapp.tasks.tokens.refresh_expiring_tokens_task",
        "schedule": 3600.0,
    },
    # Re-enqueues lost `queued` sends and fails unconfirmed ones (WHATSAPP_SEND_*_AFTER).
    "whatsapp-outbound-sweep": {
        "task": "whatsapp.tasks.outbound.outbound_sweep_task",
        "schedule": 60.0,
    },
    # Clones the template into spare schemas so that signup only renames one.
    "tenants-schema-pool-refill": {
        "task": "tenants.tasks.schema_pool_refill_task",
        "schedule": 30.0,
    },
    # Drops organizations whose deletion grace period is over.
    "tenants-deletions-due": {
        "task": "tenants.tasks.organization_deletions_due_task",
        "schedule": 3600.0,
    },
    # The number doctor: re-checks every connected number (WHATSAPP_NUMBER_CHECK_SECONDS).
    "whatsapp-number-checkups": {
        "task": "whatsapp.numbers.tasks.number_checkups_task",
        "schedule": env.float("WHATSAPP_NUMBER_CHECK_SECONDS", default=6 * 3600.0),
    },
    # Deletes settled raw webhook events older than WHATSAPP_WEBHOOK_RETENTION_DAYS.
    "whatsapp-webhook-prune": {
        "task": "whatsapp.webhooks.tasks.webhook_events_prune_task",
        "schedule": 24 * 3600.0,
    },
    # Restarts lost campaign dispatcher chains, starts scheduled campaigns that are due.
    "whatsapp-campaigns-watch": {
        "task": "whatsapp.campaigns.tasks.campaigns_watch_task",
        "schedule": 15.0,
    },
    # Every organization's templates as Meta has them (webhooks keep them current between).
    "whatsapp-templates-sync": {
        "task": "whatsapp.message_templates.tasks.templates_sync_all_task",
        "schedule": 24 * 3600.0,
    },
    # Closes every subscription whose period ended: invoice, charge, next period.
    "billing-periods-close": {
        "task": "billing_stub.tasks.billing_periods_close_task",
        "schedule": 3600.0,
    },
}
# Redis for things shared by all workers (send rate limiter, locks).
REDIS_URL = env.str("REDIS_URL", default=CELERY_BROKER_URL)

# --- WhatsApp / Meta Graph API -------------------------------------------------------------
WHATSAPP_APP_ID = env.str("WHATSAPP_APP_ID", default="100000000000001")
WHATSAPP_APP_SECRET = env.str("WHATSAPP_APP_SECRET", default=DEV_WHATSAPP_APP_SECRET)
WHATSAPP_VERIFY_TOKEN = env.str("WHATSAPP_VERIFY_TOKEN", default=DEV_WHATSAPP_VERIFY_TOKEN)
# Meta: https://graph.facebook.com ; sandbox mode: the simulator started by `make run`.
WHATSAPP_GRAPH_URL = env.str("WHATSAPP_GRAPH_URL", default="http://127.0.0.1:8090")
WHATSAPP_GRAPH_VERSION = env.str("WHATSAPP_GRAPH_VERSION", default="v25.0")
WHATSAPP_GRAPH_TIMEOUT = env.float("WHATSAPP_GRAPH_TIMEOUT", default=10.0)
WHATSAPP_DEFAULT_MESSAGES_PER_SECOND = env.int("WHATSAPP_DEFAULT_MESSAGES_PER_SECOND", default=80)
# Long-lived tokens last ~60 days; beat renews those expiring within this many days.
WHATSAPP_TOKEN_REFRESH_DAYS_AHEAD = env.int("WHATSAPP_TOKEN_REFRESH_DAYS_AHEAD", default=7)
WHATSAPP_WEBHOOK_MAX_BODY_BYTES = env.int(
    "WHATSAPP_WEBHOOK_MAX_BODY_BYTES", default=3 * 1024 * 1024
)

# --- Outbound sending (whatsapp.services.outbound, issue #5) ---------------------------------
# Attempts per message (transient errors and rate limits) before it fails `retries_exhausted`;
# backoff with jitter between them (whatsapp.graph.retry.RetryPolicy), never below Meta's
# retry-after.
WHATSAPP_SEND_MAX_ATTEMPTS = env.int("WHATSAPP_SEND_MAX_ATTEMPTS", default=8)
WHATSAPP_SEND_RETRY_BASE_DELAY = env.float("WHATSAPP_SEND_RETRY_BASE_DELAY", default=1.0)
WHATSAPP_SEND_RETRY_MAX_DELAY = env.float("WHATSAPP_SEND_RETRY_MAX_DELAY", default=60.0)
# A send that timed out after the request was written stays `sending` for a status webhook;
# the sweeper fails it `send_unconfirmed` after this many seconds (never re-sent).
WHATSAPP_SEND_UNCONFIRMED_AFTER = env.int("WHATSAPP_SEND_UNCONFIRMED_AFTER", default=900)
# A `sending` message claimed this long ago whose request was never written (its worker died
# before the slot came; the wire fence tells) goes back to `queued` (sweeper, campaign ticks).
WHATSAPP_SEND_RECLAIM_AFTER = env.int("WHATSAPP_SEND_RECLAIM_AFTER", default=20)
# A `queued` message untouched this long lost its task: the sweeper enqueues it again.
WHATSAPP_SEND_REQUEUE_AFTER = env.int("WHATSAPP_SEND_REQUEUE_AFTER", default=600)
# Ids per sending task (messages_enqueue): one Celery message per batch, claimed in chunks.
WHATSAPP_SEND_BATCH_SIZE = env.int("WHATSAPP_SEND_BATCH_SIZE", default=500)
# Per-number limiter (whatsapp.services.ratelimit): a sliding 1 s window of the requests' answer
# times keeps every 1 s window at Meta within the tier; RESERVED_SHARE (0..1) of the tier is left
# for inbound traffic and live replies (Meta counts both directions); slots are reserved at most
# MAX_WAIT ahead, else the task is re-scheduled.
WHATSAPP_RATE_LIMIT_RESERVED_SHARE = env.float("WHATSAPP_RATE_LIMIT_RESERVED_SHARE", default=0.1)
WHATSAPP_RATE_LIMIT_MAX_WAIT = env.float("WHATSAPP_RATE_LIMIT_MAX_WAIT", default=2.0)
# Concurrent requests per worker process (whatsapp.services.outbound.pool), over one HTTP pool.
WHATSAPP_SEND_CONCURRENCY = env.int("WHATSAPP_SEND_CONCURRENCY", default=8)

# --- Secrets at rest -------------------------------------------------------------------------
# Fernet keys, comma-separated: the first encrypts, all decrypt (rotation: prepend a new key,
# run `manage.py rotate_token_keys`, then drop the old one).
TOKEN_ENCRYPTION_KEYS = env.list("TOKEN_ENCRYPTION_KEYS", default=[DEV_TOKEN_ENCRYPTION_KEY])

# --- Inbound pipeline (webhook processing, media download; issue #4) --------------------------
# Attempts (with the shared RetryPolicy backoff) before a webhook change stays FAILED for
# `manage.py replay_webhooks`, before a media download is marked failed, and how long a status
# receipt that arrived before its message row keeps looking for it (~6 minutes at 10).
WHATSAPP_WEBHOOK_MAX_ATTEMPTS = env.int("WHATSAPP_WEBHOOK_MAX_ATTEMPTS", default=5)
WHATSAPP_WEBHOOK_RETRY_BASE_DELAY = env.float("WHATSAPP_WEBHOOK_RETRY_BASE_DELAY", default=2.0)
WHATSAPP_WEBHOOK_RETRY_MAX_DELAY = env.float("WHATSAPP_WEBHOOK_RETRY_MAX_DELAY", default=300.0)
# The webhook worker (`manage.py webhook_worker`): events claimed per batch, and how long it
# waits for a NOTIFY before polling anyway (the fallback if a notification is missed).
WHATSAPP_WEBHOOK_BATCH_SIZE = env.int("WHATSAPP_WEBHOOK_BATCH_SIZE", default=100)
WHATSAPP_WEBHOOK_POLL_SECONDS = env.float("WHATSAPP_WEBHOOK_POLL_SECONDS", default=1.0)
# After a batch that was not full, the worker lingers this long before claiming again, so the
# next batch gathers more events: a batch's fixed cost (claim, schema switches, per-tenant
# statements) is shared by more messages, at the price of this much latency. 0 disables it.
WHATSAPP_WEBHOOK_LINGER_SECONDS = env.float("WHATSAPP_WEBHOOK_LINGER_SECONDS", default=0.02)
# Dispatch by the change's `field`: the one registry of webhook handlers (dotted paths, resolved
# at call time; contract in whatsapp/webhooks/handlers.py). A field without an entry is kept as
# `no_handler` and replayed once a handler is registered.
WHATSAPP_WEBHOOK_HANDLERS = {
    # The core handler, then the chatbot's task for the batch's inbound messages.
    "messages": "whatsapp.chatbot.handler.messages_handler",
    "phone_number_quality_update": "whatsapp.webhooks.fields.phone_number_quality_handler",
    # Recorded as AccountEvent rows, then Embedded Signup runs waiting for it are finished.
    "account_update": "whatsapp.numbers.webhooks.account_update_handler",
    "business_capability_update": "whatsapp.webhooks.fields.account_event_handler",
    "message_template_status_update": "whatsapp.message_templates.services.webhooks.status_handler",
    "message_template_quality_update": (
        "whatsapp.message_templates.services.webhooks.quality_handler"
    ),
    "template_category_update": "whatsapp.message_templates.services.webhooks.category_handler",
}
# Called with (template=, status=, previous=) after a `message_template_status_update` changed
# a stored template: campaigns pause on PAUSED/DISABLED and resume on UNPAUSE/REINSTATED.
WHATSAPP_TEMPLATE_STATUS_HOOKS = ["whatsapp.campaigns.services.hooks.template_status_hook"]
# Campaigns (whatsapp.campaigns): the dispatcher's tick and how many seconds of sends it keeps
# queued ahead (pause holds them); a running campaign whose tick is older than the stall
# time is restarted by beat. CAMPAIGN_RESERVED_SHARE (default: the limiter's reserved share)
# is the number's throughput campaigns leave to live conversations; CAMPAIGN_RATE_TABLE names
# another cost table than the newest whatsapp/campaigns/data/rates-*.json.
CAMPAIGN_TICK_SECONDS = env.float("CAMPAIGN_TICK_SECONDS", default=1.0)
CAMPAIGN_LOOKAHEAD_SECONDS = env.float("CAMPAIGN_LOOKAHEAD_SECONDS", default=5.0)
CAMPAIGN_STALL_SECONDS = env.float("CAMPAIGN_STALL_SECONDS", default=15.0)
CAMPAIGN_RATE_TABLE = env.str("CAMPAIGN_RATE_TABLE", default="")
CAMPAIGN_RESERVED_SHARE = env.float(
    "CAMPAIGN_RESERVED_SHARE", default=WHATSAPP_RATE_LIMIT_RESERVED_SHARE
)
# Templates asked of Meta per page when syncing (GET /{waba}/message_templates `limit`).
WHATSAPP_TEMPLATE_SYNC_PAGE_SIZE = env.int("WHATSAPP_TEMPLATE_SYNC_PAGE_SIZE", default=100)
# Seconds a template sync waits after Meta's call budget errors (codes 4, 80007) before retrying.
WHATSAPP_TEMPLATE_RATE_LIMIT_WAIT = env.float("WHATSAPP_TEMPLATE_RATE_LIMIT_WAIT", default=300.0)
# --- Connecting numbers (whatsapp.numbers) -------------------------------------------------
# Embedded Signup: the Facebook Login for Business configuration id the page hands Meta's SDK
# (production). In sandbox mode (the Graph URL is not graph.facebook.com) the page opens the
# sandbox's stand-in popup instead.
WHATSAPP_EMBEDDED_SIGNUP_CONFIG_ID = env.str("WHATSAPP_EMBEDDED_SIGNUP_CONFIG_ID", default="")
WHATSAPP_SANDBOX_MODE = env.bool(
    "WHATSAPP_SANDBOX_MODE", default="graph.facebook.com" not in WHATSAPP_GRAPH_URL
)
# Where onboarded WABAs send their webhooks (subscribed_apps' override_callback_uri): the
# public host's shared webhook as Meta reaches it.
WHATSAPP_WEBHOOK_CALLBACK_URL = env.str(
    "WHATSAPP_WEBHOOK_CALLBACK_URL", default=f"http://{BASE_DOMAIN}:8000/webhooks/whatsapp/"
)
# The number doctor re-checks every connected number this often (Celery beat).
WHATSAPP_NUMBER_CHECK_SECONDS = env.float("WHATSAPP_NUMBER_CHECK_SECONDS", default=6 * 3600.0)
# Called with (message=, user=) after a person's own outgoing message is created (API with a
# signed-in user, the inbox): the chatbot's human-takeover lock listens here.
WHATSAPP_OUTBOUND_USER_HOOKS = ["whatsapp.chatbot.services.member_reply_hook"]
# The external chatbot webhook (whatsapp.chatbot.external): attempts and first retry delay (s).
CHATBOT_EXTERNAL_MAX_ATTEMPTS = env.int("CHATBOT_EXTERNAL_MAX_ATTEMPTS", default=5)
CHATBOT_EXTERNAL_RETRY_BASE_DELAY = env.float("CHATBOT_EXTERNAL_RETRY_BASE_DELAY", default=5.0)
WHATSAPP_MEDIA_MAX_ATTEMPTS = env.int("WHATSAPP_MEDIA_MAX_ATTEMPTS", default=6)
WHATSAPP_MEDIA_RETRY_BASE_DELAY = env.float("WHATSAPP_MEDIA_RETRY_BASE_DELAY", default=2.0)
WHATSAPP_MEDIA_RETRY_MAX_DELAY = env.float("WHATSAPP_MEDIA_RETRY_MAX_DELAY", default=600.0)
# A parked status looks for its row after ~BASE_DELAY s, then doubling up to MAX_DELAY.
WHATSAPP_PENDING_STATUS_MAX_ATTEMPTS = env.int("WHATSAPP_PENDING_STATUS_MAX_ATTEMPTS", default=10)
WHATSAPP_PENDING_STATUS_RETRY_BASE_DELAY = env.float(
    "WHATSAPP_PENDING_STATUS_RETRY_BASE_DELAY", default=1.0
)
WHATSAPP_PENDING_STATUS_RETRY_MAX_DELAY = env.float(
    "WHATSAPP_PENDING_STATUS_RETRY_MAX_DELAY", default=120.0
)
# Meta's hard ceiling for any media file (Meta: media).
WHATSAPP_MEDIA_MAX_BYTES = env.int("WHATSAPP_MEDIA_MAX_BYTES", default=100 * 1024 * 1024)
# Settled raw webhook events are deleted after this many days (at least 8: Meta redelivers for
# 7 and the body hash dedupes); events with work still open are kept until replayed.
WHATSAPP_WEBHOOK_RETENTION_DAYS = env.int("WHATSAPP_WEBHOOK_RETENTION_DAYS", default=30)

# --- Billing (billing_stub; README, "Plans, quotas and billing") ------------------------------
# False: usage is metered but no limit refuses anything (the suite's default: its tests do not
# run into the free plan; tests/billing turn it on).
BILLING_ENFORCEMENT = env.bool("BILLING_ENFORCEMENT", default=True)
BILLING_TRIAL_PLAN = env.str("BILLING_TRIAL_PLAN", default="free")
BILLING_TRIAL_DAYS = env.int("BILLING_TRIAL_DAYS", default=14)
# A past-due subscription still sends for this many days, then outbound is refused.
BILLING_PAST_DUE_GRACE_DAYS = env.int("BILLING_PAST_DUE_GRACE_DAYS", default=7)
# Meta's rate table (billing_stub/data/meta_rates.json when empty).
BILLING_META_RATES_FILE = env.str("BILLING_META_RATES_FILE", default="")
BILLING_PAYMENT_PROVIDER = env.str(
    "BILLING_PAYMENT_PROVIDER", default="billing_stub.payments.StubPaymentProvider"
)
# What the stub provider answers a charge with: succeeded, failed or pending (a later
# payment webhook settles it).
BILLING_STUB_OUTCOME = env.str("BILLING_STUB_OUTCOME", default="succeeded")
# How billing counts an organization's contacts (called in its schema; billing does not
# import whatsapp).
BILLING_CONTACTS_COUNT = "whatsapp.selectors.contacts_count"
# The plan checks and hooks tenants calls (it never imports billing_stub).
TENANT_PLAN_LIMIT_CHECK = "billing_stub.quota.quota_check"
TENANT_ORGANIZATION_CREATED_HOOKS = ["billing_stub.services.subscriptions.subscription_start_trial"]

# --- REST API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenants.api_auth.TenantJWTAuthentication",
        "tenants.api_keys.ApiKeyAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # The AutoSchema subclass documents the one error shape on every operation.
    "DEFAULT_SCHEMA_CLASS": "whatsapp.api.schema.ApiAutoSchema",
    # Keyset pagination: constant cost at any depth (whatsapp.api.pagination).
    "DEFAULT_PAGINATION_CLASS": "whatsapp.api.pagination.KeysetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "whatsapp.api.exceptions.api_exception_handler",
    # The plan's API requests per minute, per organization, shared by every process (Redis).
    "DEFAULT_THROTTLE_CLASSES": ["billing_stub.throttles.PlanRateThrottle"],
}
SIMPLE_JWT = {
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "UPDATE_LAST_LOGIN": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "WhatsApp SaaS platform API",
    "DESCRIPTION": "Per-organization API: send and list WhatsApp messages, media and contacts.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "whatsapp.api.schema.postprocess_path_ids",
    ],
    # Mapped to the authentication classes by whatsapp.api.schema.
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "jwtAuth": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "`Authorization: Bearer <access>` from /api/v1/auth/token/, "
                "valid on the organization's host only.",
            },
            "apiKeyAuth": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "`Authorization: Api-Key <key>`: a per-organization API key.",
            },
        }
    },
}

# --- Logging, metrics, error reporting (README, "Observability") --------------------------------
# JSON lines with tenant, request id, task id and wamid, secrets and message contents redacted
# (saas_platform.logs); LOG_FORMAT=console for a terminal.
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="console" if DEBUG else "json")
LOGGING = logging_config(level=LOG_LEVEL, fmt=LOG_FORMAT)
# Celery keeps the root logger configured above instead of installing its own plain handler.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# `/metrics` (saas_platform.metrics) answers a `Authorization: Bearer <METRICS_TOKEN>` request,
# or any request from METRICS_ALLOWED_NETWORKS (CIDRs of the scraper, e.g. the cluster's pod
# network); everyone else gets 401/403. Empty token and no networks: closed to all.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=[])
# Worker processes (Celery, webhook worker) serve their own counters on this port when set
# (unauthenticated: bind it to the pod network only, never a public address).
METRICS_WORKER_PORT = env.int("METRICS_WORKER_PORT", default=0)
METRICS_WORKER_ADDRESS = env.str("METRICS_WORKER_ADDRESS", default="127.0.0.1")
# Errors go to Sentry when a DSN is set (saas_platform.sentry; secrets and bodies scrubbed).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="development" if DEBUG else "production")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
sentry_init(
    dsn=SENTRY_DSN,
    environment=SENTRY_ENVIRONMENT,
    traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
)

# The secrets `refuse_dev_secrets` checks whenever DEBUG is off (here and in production.py).
CONFIGURED_SECRETS = {
    "DJANGO_SECRET_KEY": [SECRET_KEY],
    "TOKEN_ENCRYPTION_KEYS": TOKEN_ENCRYPTION_KEYS,
    "WHATSAPP_APP_SECRET": [WHATSAPP_APP_SECRET],
    "WHATSAPP_VERIFY_TOKEN": [WHATSAPP_VERIFY_TOKEN],
}
if not DEBUG:
    refuse_dev_secrets(CONFIGURED_SECRETS)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
