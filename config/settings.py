"""PHI Warden settings, read from the environment (see `.env.example`).

Secure by default: DEBUG is off unless set, and outside DEBUG the process
refuses to start without a real SECRET_KEY and PHI master key.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config.env import database_from_url, env_bool, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PHIWARDEN_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", default=False)

# --- Secrets -------------------------------------------------------------

SECRET_KEY = env_secret("SECRET_KEY")
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure"):
    raise ImproperlyConfigured(
        "SECRET_KEY (or SECRET_KEY_FILE) must be set to a random value of at least 50 characters"
    )


def _decode_32_byte_key(name: str, encoded: str, *, length_note: str = "") -> bytes:
    """A key given as URL-safe base64 of 32 bytes; the messages name the variable only."""
    try:
        key = base64.urlsafe_b64decode(encoded.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError) as error:
        raise ImproperlyConfigured(f"{name} must be URL-safe base64") from error
    if len(key) != 32:
        raise ImproperlyConfigured(f"{name} must decode to exactly 32 bytes{length_note}")
    return key


def _read_master_key(encoded: str, name: str = "PHI_MASTER_KEY") -> bytes:
    """The PHI master key wraps the per-organization data keys (DESIGN.md, field encryption).

    It is never derived from SECRET_KEY: the two are rotated and guarded separately.
    """
    return _decode_32_byte_key(name, encoded, length_note=" (AES-256)")


PHI_MASTER_KEY = _read_master_key(env_secret("PHI_MASTER_KEY"))
# During a master-key rotation only: the old key, so `rotate_keys --rewrap` can unwrap the
# data keys it wrapped (docs/operations/keys.md). Unset it once the rewrap has finished.
_previous_master_key = env_secret("PHI_MASTER_KEY_PREVIOUS")
PHI_MASTER_KEY_PREVIOUS = (
    _read_master_key(_previous_master_key, "PHI_MASTER_KEY_PREVIOUS")
    if _previous_master_key
    else None
)


def _read_audit_signing_key(encoded: str) -> str:
    """Ed25519 seed that signs audit tree heads (45 CFR 164.312(b), 164.312(c)(1))."""
    if not encoded:
        raise ImproperlyConfigured(
            "AUDIT_SIGNING_KEY (or AUDIT_SIGNING_KEY_FILE) must be set: URL-safe base64 of "
            "32 random bytes"
        )
    _decode_32_byte_key("AUDIT_SIGNING_KEY", encoded)
    return encoded


AUDIT_SIGNING_KEY = _read_audit_signing_key(env_secret("AUDIT_SIGNING_KEY"))
AUDIT_TREE_HEAD_SINKS = env_list("AUDIT_TREE_HEAD_SINKS", default=[])
# Base64 Ed25519 public keys of rotated-out signing keys, so old tree heads still verify.
AUDIT_RETIRED_PUBLIC_KEYS = env_list("AUDIT_RETIRED_PUBLIC_KEYS", default=[])
# 45 CFR 164.316(b)(2)(i): keep documentation six years; the floor cannot be lowered.
AUDIT_RETENTION_DAYS = max(env_int("AUDIT_RETENTION_DAYS", default=6 * 366), 6 * 366)

# --- Hosts and HTTPS -----------------------------------------------------

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", default=[])


def _read_site_url(value: str) -> str:
    """The address people reach us at, for links in e-mails (invitations, incident alerts).
    In production it must be an https:// URL: a relative or plain-http link in an e-mail
    would send people's credentials or tokens the wrong way."""
    value = value.rstrip("/")
    if DEBUG:
        return value or "http://127.0.0.1:8000"
    if not value.startswith("https://"):
        raise ImproperlyConfigured(
            "SITE_URL must be set to the https:// address people use to reach PHI Warden"
        )
    return value


SITE_URL = _read_site_url(env_str("SITE_URL", ""))

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
if env_bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 0 if DEBUG else env_int("SECURE_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = False  # preload is an operator's decision about their whole domain
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_NAME = "phiwarden_session"
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# The cookie never outlives the longest absolute lifetime an organization may choose;
# SessionPolicyMiddleware enforces each organization's shorter idle and absolute limits.
SESSION_COOKIE_AGE = 24 * 60 * 60
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# Content Security Policy: no inline script anywhere; nonces where a script tag is ours.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}

# --- Applications --------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "csp",
    "ninja",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_tasks",
    "django_tasks_db",
    "phiwarden.core",
    "phiwarden.audit",
    "phiwarden.accounts",
    "phiwarden.vault",
    "phiwarden.billing",
    "phiwarden.partners",
    "phiwarden.incidents",
    "phiwarden.compliance",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "phiwarden.core.middleware.RequestContextMiddleware",
    "phiwarden.core.middleware.AuditUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Before the two policy middlewares below: they tell the person why with a message.
    "django.contrib.messages.middleware.MessageMiddleware",
    "phiwarden.accounts.middleware.SessionPolicyMiddleware",
    "phiwarden.accounts.middleware.MfaRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "phiwarden" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "phiwarden.accounts.context_processors.navigation",
            ],
        },
    },
]

# --- Database ------------------------------------------------------------

_database_url = env_str("DATABASE_URL")
if _database_url:
    DATABASES = {"default": database_from_url(_database_url)}
else:
    VAR_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "phiwarden.sqlite3",
            # WAL lets readers and the task worker proceed while one writer commits;
            # IMMEDIATE transactions avoid "database is locked" on lock upgrades.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": {
        # A database cache is shared by every worker process (login throttles must be),
        # and needs no extra service.
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "phiwarden_cache",
    }
}

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

# --- Authentication ------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "phiwarden.accounts.backends.LockoutAwareEmailBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# NIST SP 800-63B 5.1.1.2: at least 8 (we ask 12), long passphrases allowed, no composition
# rules, and refuse passwords that are common, breached-looking, repetitive, sequential or
# specific to this service.
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "phiwarden.accounts.passwords.MaximumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {
        # Our User has `email` and `full_name`, not Django's default username/first/last name.
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "full_name")},
    },
    {"NAME": "phiwarden.accounts.passwords.BreachedLookingPasswordValidator"},
]

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_ADAPTER = "phiwarden.accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"  # membership starts from an invitation sent to the address
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
ACCOUNT_REAUTHENTICATION_TIMEOUT = env_int("REAUTHENTICATION_TIMEOUT_SECONDS", default=300)
# Per-address lockout with an audit event lives in LockoutAwareEmailBackend; allauth adds
# a per-IP throttle in front of it.
ACCOUNT_RATE_LIMITS = {"login_failed": "30/m/ip", "reset_password": "5/m/ip,3/m/key"}
LOGIN_LOCKOUT_THRESHOLD = env_int("LOGIN_LOCKOUT_THRESHOLD", default=5)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", default=15)

# TOTP secrets and recovery-code seeds are encrypted under a key derived from the master key.
MFA_ADAPTER = "phiwarden.vault.mfa.SecretEncryptingMFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_TOTP_ISSUER = "PHI Warden"
MFA_PASSKEY_LOGIN_ENABLED = False
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG

API_TOKEN_MAX_DAYS = env_int("API_TOKEN_MAX_DAYS", default=365)
INVITATION_VALID_DAYS = env_int("INVITATION_VALID_DAYS", default=7)

# --- Email ---------------------------------------------------------------

EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", default=587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "PHI Warden <phiwarden@localhost>")

# --- Internationalization and static files -------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Encrypted blobs (X12 files, signed BAAs): ciphertext only, files mode 600 (vault/blobs.py).
    "phi_blobs": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": VAR_DIR / "blobs",
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Logging: identifiers only, never PHI --------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "phiwarden.core.logging.RequestContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_context"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# Trust X-Forwarded-For only when a known number of proxies sits in front of us.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", default=0)
