"""Django settings. Everything deploy-specific comes from the environment (see README)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import dj_database_url

from haoka.core import logs

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = Path(os.environ.get("HAOKA_HOME", Path.cwd()))


def _load_dotenv(path: Path) -> None:
    """Read KEY=VALUE lines from .env without overriding the real environment."""
    if not path.is_file():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        os.environ.setdefault(key.strip(), value.strip().strip('"').strip("'"))


_load_dotenv(PROJECT_DIR / ".env")

SANDBOX = os.environ.get("HAOKA_SANDBOX", "0") == "1"
DEBUG = os.environ.get("HAOKA_DEBUG", "0") == "1"
#: Sandbox, debug and the test suite may run on throwaway secrets; a deployment may not.
#: Whether sponsors' webhooks may point at loopback, private or link-local addresses (the
#: worker would otherwise be a way into the operator's own network): only in a sandbox.
WEBHOOK_ALLOW_PRIVATE = (
    os.environ.get("HAOKA_WEBHOOK_ALLOW_PRIVATE", "1" if SANDBOX else "0") == "1"
)
THROWAWAY_SECRETS_ALLOWED = SANDBOX or DEBUG or bool(os.environ.get("HAOKA_TESTING"))
#: Secrets a deployment must set (README, "Configuration"): without them the process stops at
#: start instead of signing and checking with a secret that anyone who read the code knows.
REQUIRED_SECRETS = (
    "HAOKA_SECRET_KEY",
    "HAOKA_PII_KEYS",
    "HAOKA_PII_HASH_KEY",
    "HAOKA_PAYMENT_GATEWAY_SECRET",
    "HAOKA_CARRIER_API_SECRET",
    "HAOKA_COURIER_API_SECRET",
)
_missing = [name for name in REQUIRED_SECRETS if not os.environ.get(name)]
if _missing and not THROWAWAY_SECRETS_ALLOWED:
    raise RuntimeError(
        f"{', '.join(_missing)} must be set outside sandbox/debug mode (see README, Configuration)"
    )
SECRET_KEY = os.environ.get("HAOKA_SECRET_KEY") or "insecure-dev-only-key"

ALLOWED_HOSTS = [
    h for h in os.environ.get("HAOKA_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("HAOKA_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "haoka.core",
    "haoka.accounts",
    "haoka.catalog",
    "haoka.numbers",
    "haoka.kyc",
    "haoka.payments",
    "haoka.carriers",
    "haoka.logistics",
    "haoka.notices",
    "haoka.lines",
    "haoka.sponsors",
    "haoka.charging",
    "haoka.orders",
    "haoka.distribution",
    "haoka.web",
]

MIDDLEWARE = [
    "haoka.core.middleware.RequestIdMiddleware",
    "haoka.core.middleware.InputGuardMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "haoka.accounts.middleware.BearerTokenMiddleware",
    "haoka.core.idempotency.IdempotencyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
#: The REST API's chain (served by haoka.core.handlers.ApiHandler): callers are named by bearer
#: tokens, never by session cookies, so sessions, CSRF, language, messages and frame options
#: have nothing to do there.
API_MIDDLEWARE = [
    "haoka.core.middleware.RequestIdMiddleware",
    "haoka.core.middleware.InputGuardMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "haoka.accounts.middleware.BearerTokenMiddleware",
    "haoka.core.idempotency.IdempotencyMiddleware",
]

#: Request bodies: at most REQUEST_MAX_BYTES (Django's usual 2.5 MB), more on the paths below;
#: InputGuardMiddleware answers 413 (request_too_large) to a larger Content-Length and stops
#: reading past the limit. 实名 takes three ID photos of up to 5 MB each
#: (kyc.domain.MAX_PHOTO_BYTES): base64 in the API's JSON (orders.api.MAX_PHOTO_B64 each),
#: files in the page's form.
REQUEST_MAX_BYTES = 2_621_440
REQUEST_MAX_BYTES_BY_PATH = (
    (r"^/api/v1/orders/[^/]+/kyc$", 3 * 7_000_000 + 64 * 1024),
    (r"^/orders/[^/]+/kyc/$", 16 * 1024 * 1024),
)
#: Django's own cap is the largest of them: the middleware holds every other path to its own.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(REQUEST_MAX_BYTES, *(n for _, n in REQUEST_MAX_BYTES_BY_PATH))

ROOT_URLCONF = "haoka.urls"
WSGI_APPLICATION = "haoka.wsgi.application"
ASGI_APPLICATION = "haoka.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "haoka.web.context.site",
            ],
            "builtins": ["haoka.web.templatetags.haoka"],
        },
    }
]

_default_sqlite = f"sqlite:///{PROJECT_DIR / 'haoka.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or _default_sqlite,
        conn_max_age=int(os.environ.get("HAOKA_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes; IMMEDIATE avoids lock upgrades
    # (the "database is locked" failure mode of deferred transactions under concurrency).
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif os.environ.get("HAOKA_PG_SERVER_BINDING", "1") == "1":
    # Parameters sent apart from the statement (not interpolated by the client), so psycopg
    # prepares statements a connection repeats: the charging hot path runs the same dozen
    # statements for every request.
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
    # A statement a connection has run this many times is prepared on the server (parsed and
    # planned once): the hot paths are fixed, written-out statements (haoka.core.rows), and
    # this takes about a third off PostgreSQL's CPU per checkout. "0" turns it off (behind a
    # transaction-pooling PgBouncer, say). After a migration that changes a table, restart
    # the processes (their prepared statements describe the old table).
    _prepare_after = int(os.environ.get("HAOKA_PG_PREPARE_AFTER", "2"))
    if _prepare_after > 0:
        DATABASES["default"]["OPTIONS"]["prepare_threshold"] = _prepare_after
#: Bearer tokens kept in each process's memory, forgotten on the database's NOTIFY when a
#: token or user changes (haoka.accounts.tokencache; PostgreSQL only). LISTEN needs a direct
#: connection: turn this off behind a transaction-pooling PgBouncer.
TOKEN_CACHE = os.environ.get("HAOKA_TOKEN_CACHE", "1") == "1"
#: Paid orders go to their carrier through the worker's submission pump (it polls for due
#: orders); "1" makes each submission right after its payment commits, in-process (the test
#: suite, as its tasks run in-process). SUBMIT_CALLS: carrier calls a pump makes at once.
SUBMIT_INLINE = os.environ.get("HAOKA_SUBMIT_INLINE", "0") == "1"
SUBMIT_CALLS = int(os.environ.get("HAOKA_SUBMIT_CALLS", "8"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

TASKS = {
    "default": {
        "BACKEND": os.environ.get("HAOKA_TASKS_BACKEND", "haoka.core.taskqueue.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = PROJECT_DIR / "var" / "static"
STATIC_ROOT.mkdir(
    parents=True, exist_ok=True
)  # WhiteNoise expects it even when serving via finders
# Charging data records (TS 32.298), one JSON Lines file per UTC hour; the name the CHF
# writes into them as recordingNetworkFunctionID.
CDR_DIR = Path(os.environ.get("HAOKA_CDR_DIR", PROJECT_DIR / "var" / "cdr"))
CHF_NAME = os.environ.get("HAOKA_CHF_NAME", "haoka-chf")
# The SBI is HTTP/2: haoka calls other network functions (the CHF's notifications) over h2c
# with prior knowledge; HAOKA_SBI_HTTP1=1 for a peer that only speaks HTTP/1.1.
SBI_HTTP1 = os.environ.get("HAOKA_SBI_HTTP1", "") == "1"
# When a line's money runs out mid-session: REDIRECT its web traffic to the top-up page, or
# RESTRICT_ACCESS to the top-up site by IPFilterRules (";"-separated, RFC 6733) and/or filters
# the SMF knows by name (","-separated), or TERMINATE (charging.checks checks the set).
CHF_FINAL_UNIT_ACTION = os.environ.get("HAOKA_CHF_FINAL_UNIT_ACTION", "REDIRECT")
CHF_RESTRICTION_RULES = tuple(
    r.strip() for r in os.environ.get("HAOKA_CHF_RESTRICTION_RULES", "").split(";") if r.strip()
)
CHF_RESTRICTION_FILTER_IDS = tuple(
    f.strip()
    for f in os.environ.get("HAOKA_CHF_RESTRICTION_FILTER_IDS", "").split(",")
    if f.strip()
)
NODE_MODULES = Path(os.environ.get("HAOKA_NODE_MODULES", PROJECT_DIR / "node_modules"))
# Front-end packages come from the npm registry at install time (package.json), never the repo.
STATICFILES_DIRS = [
    (f"vendor/{name}", NODE_MODULES / package / "dist")
    for name, package in (("htmx", "htmx.org"), ("echarts", "echarts"))
    if (NODE_MODULES / package / "dist").is_dir()
]
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

LOGIN_URL = "/login/"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Personal data: Fernet keys (comma-separated, newest first) and a keyed-hash secret.
PII_KEYS = [k for k in os.environ.get("HAOKA_PII_KEYS", "").split(",") if k]
PII_HASH_KEY = os.environ.get("HAOKA_PII_HASH_KEY", "")

OTP_SECRET = os.environ.get("HAOKA_OTP_SECRET", SECRET_KEY)
#: Reverse proxies whose X-Forwarded-For names the client (IPs or CIDRs; haoka.core.clientip).
TRUSTED_PROXIES = [
    p.strip() for p in os.environ.get("HAOKA_TRUSTED_PROXIES", "").split(",") if p.strip()
]

# Outside systems (docs/integrations.md). In sandbox mode they are the simulators.
#: The simulators' shared secret: the default of every integration's secret in sandbox/debug only
#: (outside, each integration's own secret is required above).
SIM_SECRET = os.environ.get("HAOKA_SIM_SECRET", "sandbox-secret")
#: haoka's port; the simulators' default ports are beside it (haoka.simulate.SIMULATORS).
_PORT = int(os.environ.get("HAOKA_PORT") or "8000")
PAYMENT_GATEWAY_URL = os.environ.get("HAOKA_PAYMENT_GATEWAY_URL", f"http://127.0.0.1:{_PORT + 101}")
PAYMENT_GATEWAY_SECRET = os.environ.get("HAOKA_PAYMENT_GATEWAY_SECRET", SIM_SECRET)
#: Payouts to agents (commission withdrawals); in sandbox the payment simulator pays them.
PAYOUT_URL = os.environ.get("HAOKA_PAYOUT_URL", PAYMENT_GATEWAY_URL)
PAYOUT_SECRET = os.environ.get("HAOKA_PAYOUT_SECRET", PAYMENT_GATEWAY_SECRET)
#: Seconds haoka waits for the payout provider's answer before asking it what happened.
PAYOUT_READ_TIMEOUT = float(os.environ.get("HAOKA_PAYOUT_READ_TIMEOUT", "10"))
CARRIER_API_URL = os.environ.get("HAOKA_CARRIER_API_URL", f"http://127.0.0.1:{_PORT + 102}")
CARRIER_API_SECRET = os.environ.get("HAOKA_CARRIER_API_SECRET", SIM_SECRET)
#: Seconds haoka waits for a carrier's answer before retrying (fault tests shorten it).
CARRIER_READ_TIMEOUT = float(os.environ.get("HAOKA_CARRIER_READ_TIMEOUT", "5"))
COURIER_API_URL = os.environ.get("HAOKA_COURIER_API_URL", f"http://127.0.0.1:{_PORT + 103}")
COURIER_API_SECRET = os.environ.get("HAOKA_COURIER_API_SECRET", SIM_SECRET)
#: Where outside systems reach haoka (callbacks), and the base of every absolute URL haoka
#: hands out (haoka.core.links: shop links, Nchf's Location), never the request's Host.
PUBLIC_BASE_URL = os.environ.get("HAOKA_PUBLIC_BASE_URL", f"http://127.0.0.1:{_PORT}")
#: The NRF (3GPP TS 29.510; docs/integrations.md "NRF"): none by default. With ``NRF_URL``
#: ``haoka serve`` registers the CHF there (haoka.charging.nrf); with ``NRF_PUBLIC_KEY`` (a PEM
#: file: the NRF's token-signing public key or certificate) and ``NRF_INSTANCE_ID`` (the NRF's
#: nfInstanceId, the tokens' issuer) Nchf accepts the access tokens it issues.
NRF_URL = os.environ.get("HAOKA_NRF_URL", "").rstrip("/")
NRF_PUBLIC_KEY = os.environ.get("HAOKA_NRF_PUBLIC_KEY", "")
NRF_INSTANCE_ID = os.environ.get("HAOKA_NRF_INSTANCE_ID", "")
#: This CHF's nfInstanceId (a UUID), stable across restarts: derived from the public URL
#: unless set.
NF_INSTANCE_ID = os.environ.get("HAOKA_NF_INSTANCE_ID") or str(
    uuid.uuid5(uuid.NAMESPACE_URL, PUBLIC_BASE_URL)
)
SMS_PROVIDER = os.environ.get("HAOKA_SMS_PROVIDER", "haoka.accounts.sms.SandboxSmsProvider")
#: Name/ID verification (公安二要素); the sandbox verifier refuses to run outside sandbox/debug.
KYC_PROVIDER = os.environ.get("HAOKA_KYC_PROVIDER", "haoka.kyc.providers.SandboxVerifier")

# Charging: days a line may stay in arrears after the monthly fee before it is suspended, and
# the wallet balance (fen) below which the owner is told it is low.
ARREARS_GRACE_DAYS = int(os.environ.get("HAOKA_ARREARS_GRACE_DAYS", "3"))
# 流量控: the most a line may give away (转赠), bank and withdraw in a Beijing month, in MB.
DATA_GIFT_MONTHLY_MAX_MB = int(os.environ.get("HAOKA_DATA_GIFT_MONTHLY_MAX_MB", "5120"))
DATA_BANK_DEPOSIT_MONTHLY_MAX_MB = int(
    os.environ.get("HAOKA_DATA_BANK_DEPOSIT_MONTHLY_MAX_MB", "10240")
)
DATA_BANK_WITHDRAWAL_MONTHLY_MAX_MB = int(
    os.environ.get("HAOKA_DATA_BANK_WITHDRAWAL_MONTHLY_MAX_MB", "10240")
)
LOW_BALANCE_FEN = int(os.environ.get("HAOKA_LOW_BALANCE_FEN", "500"))

#: structlog through the standard handlers (``core.logs``): console lines, or JSON per line.
LOGGING = logs.configure(
    level=os.environ.get("HAOKA_LOG_LEVEL", "INFO"),
    fmt=os.environ.get("HAOKA_LOG_FORMAT", "console"),
)
