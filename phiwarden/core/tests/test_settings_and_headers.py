"""Secure defaults: the process refuses to start without real secrets, every response carries
the security headers, and error pages reveal nothing (45 CFR 164.312(a)(1), (e)(1))."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import Client as HttpClient
from django.urls import path

import config.urls

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    """allauth's per-IP log-in rate limits live in the cache; start and leave it empty."""
    cache.clear()
    yield
    cache.clear()


BASE_DIR = Path(django_settings.BASE_DIR)
GOOD_SECRET = "s" * 20 + "-a-random-enough-secret-key-for-tests-" + "k" * 12
GOOD_MASTER = base64.urlsafe_b64encode(b"m" * 32).decode()
GOOD_AUDIT = base64.urlsafe_b64encode(b"a" * 32).decode()


# --- Starting up ---------------------------------------------------------


def import_settings(
    tmp_path: Path, variables: Mapping[str, str | None], code: str = "import config.settings"
) -> subprocess.CompletedProcess[str]:
    """Import config.settings in a fresh interpreter with only the given variables set
    (DEBUG unset, so the production defaults apply)."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PHIWARDEN_VAR_DIR": str(tmp_path / "var"),
        **{name: value for name, value in variables.items() if value is not None},
    }
    return subprocess.run(  # noqa: S603  (our own interpreter, fixed arguments)
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def refusal(result: subprocess.CompletedProcess[str]) -> str:
    """The ImproperlyConfigured message on the last line of the traceback."""
    last = result.stderr.strip().splitlines()[-1]
    prefix = "django.core.exceptions.ImproperlyConfigured: "
    assert last.startswith(prefix), result.stderr
    return last.removeprefix(prefix)


VALID = {
    "SECRET_KEY": GOOD_SECRET,
    "PHI_MASTER_KEY": GOOD_MASTER,
    "AUDIT_SIGNING_KEY": GOOD_AUDIT,
    "SITE_URL": "https://phiwarden.example.test",
}
SECRET_MESSAGE = (
    "SECRET_KEY (or SECRET_KEY_FILE) must be set to a random value of at least 50 characters"
)
MASTER_LENGTH_MESSAGE = "PHI_MASTER_KEY must decode to exactly 32 bytes (AES-256)"

REFUSED_STARTS = [
    ("no SECRET_KEY", {"SECRET_KEY": None}, SECRET_MESSAGE),
    ("empty SECRET_KEY", {"SECRET_KEY": ""}, SECRET_MESSAGE),
    ("short SECRET_KEY", {"SECRET_KEY": "x" * 49}, SECRET_MESSAGE),
    ("django-insecure SECRET_KEY", {"SECRET_KEY": "django-insecure-" + "x" * 60}, SECRET_MESSAGE),
    ("no PHI_MASTER_KEY", {"PHI_MASTER_KEY": None}, MASTER_LENGTH_MESSAGE),
    (
        "16-byte PHI_MASTER_KEY",
        {"PHI_MASTER_KEY": base64.urlsafe_b64encode(b"m" * 16).decode()},
        MASTER_LENGTH_MESSAGE,
    ),
    (
        "64-byte PHI_MASTER_KEY",
        {"PHI_MASTER_KEY": base64.urlsafe_b64encode(b"m" * 64).decode()},
        MASTER_LENGTH_MESSAGE,
    ),
    (
        "PHI_MASTER_KEY not base64",
        {"PHI_MASTER_KEY": "not-base64!"},
        "PHI_MASTER_KEY must be URL-safe base64",
    ),
    (
        "PHI_MASTER_KEY not ASCII",
        {"PHI_MASTER_KEY": "clé-maître"},
        "PHI_MASTER_KEY must be URL-safe base64",
    ),
    (
        "no AUDIT_SIGNING_KEY",
        {"AUDIT_SIGNING_KEY": None},
        "AUDIT_SIGNING_KEY (or AUDIT_SIGNING_KEY_FILE) must be set: URL-safe base64 of "
        "32 random bytes",
    ),
    (
        "no SITE_URL",
        {"SITE_URL": None},
        "SITE_URL must be set to the https:// address people use to reach PHI Warden",
    ),
    (
        "plain-http SITE_URL",
        {"SITE_URL": "http://phiwarden.example.test"},
        "SITE_URL must be set to the https:// address people use to reach PHI Warden",
    ),
    (
        "DEBUG not a boolean",
        {"DEBUG": "maybe"},
        "DEBUG must be a boolean (1/0, true/false), not 'maybe'",
    ),
]


@pytest.mark.parametrize(
    ("_case", "changes", "message"), REFUSED_STARTS, ids=[c[0] for c in REFUSED_STARTS]
)
def test_start_is_refused_with_a_message_naming_the_variable(tmp_path, _case, changes, message):
    result = import_settings(tmp_path, {**VALID, **changes})

    assert result.returncode == 1
    assert refusal(result) == message


@pytest.mark.parametrize("name", ["SECRET_KEY", "PHI_MASTER_KEY"])
def test_setting_both_a_secret_and_its_file_is_refused(tmp_path, name):
    secret_file = tmp_path / "secret"
    secret_file.write_text(VALID[name])

    result = import_settings(tmp_path, {**VALID, f"{name}_FILE": str(secret_file)})

    assert result.returncode == 1
    assert refusal(result) == f"Set {name} or {name}_FILE, not both"


def test_an_unreadable_secret_file_is_refused(tmp_path):
    variables = {**VALID, "SECRET_KEY": None, "SECRET_KEY_FILE": str(tmp_path / "missing")}

    result = import_settings(tmp_path, variables)

    assert result.returncode == 1
    assert refusal(result) == "SECRET_KEY_FILE cannot be read: No such file or directory"


READ_BACK = """
import base64, json
import config.settings as s
print(json.dumps({
    "secret_key": s.SECRET_KEY,
    "phi_master_key": base64.urlsafe_b64encode(s.PHI_MASTER_KEY).decode(),
    "debug": s.DEBUG,
    "hsts_seconds": s.SECURE_HSTS_SECONDS,
    "ssl_redirect": s.SECURE_SSL_REDIRECT,
    "session_cookie_secure": s.SESSION_COOKIE_SECURE,
    "csrf_cookie_secure": s.CSRF_COOKIE_SECURE,
    "allowed_hosts": s.ALLOWED_HOSTS,
    "site_url": s.SITE_URL,
}))
"""


def test_secrets_are_read_from_files_and_production_defaults_apply(tmp_path):
    # given the secrets in files (with the trailing newline editors add), not the environment
    secret_file, master_file = tmp_path / "secret_key", tmp_path / "phi_master_key"
    secret_file.write_text(GOOD_SECRET + "\n")
    master_file.write_text(GOOD_MASTER + "\n")

    # when the settings load with DEBUG unset
    variables = {
        "SECRET_KEY_FILE": str(secret_file),
        "PHI_MASTER_KEY_FILE": str(master_file),
        "AUDIT_SIGNING_KEY": GOOD_AUDIT,
        "SITE_URL": "https://phiwarden.example.test/",
    }
    result = import_settings(tmp_path, variables, code=READ_BACK)

    # then the files' values are used, and the production defaults are on
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "secret_key": GOOD_SECRET,
        "phi_master_key": GOOD_MASTER,
        "debug": False,
        "hsts_seconds": 31_536_000,
        "ssl_redirect": True,
        "session_cookie_secure": True,
        "csrf_cookie_secure": True,
        "allowed_hosts": [],
        "site_url": "https://phiwarden.example.test",
    }


# --- Headers -------------------------------------------------------------


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


PAGES = [
    ("log-in page", "/accounts/login/", 200),
    ("page not found", "/no-such-page/", 404),
    ("API without a token", "/api/v1/me", 401),
]


@pytest.mark.parametrize(("_case", "url", "status"), PAGES, ids=[c[0] for c in PAGES])
def test_responses_carry_the_security_headers(_case, url, status):
    response = HttpClient().get(url)

    assert response.status_code == status
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    policy = directives(response["Content-Security-Policy"])
    assert policy["default-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]


def test_scripts_run_only_from_our_origin_with_the_pages_nonce():
    response = HttpClient().get("/accounts/login/")

    script_src = directives(response["Content-Security-Policy"])["script-src"]
    assert script_src[0] == "'self'"
    [nonce_source] = script_src[1:]
    nonce = re.fullmatch(r"'nonce-([A-Za-z0-9+/=]+)'", nonce_source)
    assert nonce is not None
    script_nonces = re.findall(rb'<script [^>]*nonce="([^"]+)"', response.content)
    assert script_nonces
    assert set(script_nonces) == {nonce.group(1).encode()}
    assert b"<script>" not in response.content


def test_each_response_gets_its_own_nonce_and_request_id():
    first, second = HttpClient().get("/accounts/login/"), HttpClient().get("/accounts/login/")

    assert first["X-Request-ID"] != second["X-Request-ID"]
    assert first["Content-Security-Policy"] != second["Content-Security-Policy"]


def test_hsts_is_sent_on_secure_requests():
    secure = HttpClient().get("/accounts/login/", secure=True)
    plain = HttpClient().get("/accounts/login/")

    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "Strict-Transport-Security" not in plain


def test_session_cookie_is_secure_http_only_and_same_site(owner):
    response = HttpClient().post(
        "/accounts/login/",
        {"login": owner.user.email, "password": "correct horse battery staple 42"},
    )

    cookie = response.cookies["phiwarden_session"]
    assert (cookie["secure"], cookie["httponly"], cookie["samesite"]) == (True, True, "Lax")
    assert cookie["max-age"] == ""  # ends with the browser


# --- Error pages ---------------------------------------------------------


def boom(request, detail):
    raise RuntimeError(f"secret detail {detail} in /srv/phiwarden/app.py")


# This module doubles as a URLconf for the 500 test: the real routes plus one that fails.
urlpatterns = [path("boom/<str:detail>/", boom), *config.urls.urlpatterns]
handler400 = config.urls.handler400
handler403 = config.urls.handler403
handler404 = config.urls.handler404
handler500 = config.urls.handler500


def assert_reveals_nothing(response, *secrets: str) -> None:
    body = response.content.decode()
    for secret in secrets:
        assert secret not in body
    for tell in ("Traceback", "Exception", "Error:", 'File "', ".py"):
        assert tell not in body
    assert response["X-Request-ID"] in body


@pytest.mark.urls(__name__)
def test_500_page_reveals_nothing():
    client = HttpClient(raise_request_exception=False)

    response = client.get("/boom/patient-4242/")

    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
    assert_reveals_nothing(response, "patient-4242", "secret detail", "RuntimeError", "/boom/")


def test_404_page_reveals_nothing():
    response = HttpClient().get("/o/hidden-org-name/claims/98765/")

    assert response.status_code == 404
    assert "Not found" in response.content.decode()
    assert_reveals_nothing(response, "hidden-org-name", "98765", "claims")


def test_403_page_reveals_nothing(workforce_member, login_client):
    response = login_client(workforce_member).get("/o/synthetic-billing/settings/security/")

    assert response.status_code == 403
    assert "Not allowed" in response.content.decode()
    assert_reveals_nothing(response, "org.manage_security", "settings/security", "PermissionDenied")


def test_400_page_reveals_nothing():
    response = HttpClient().get("/", headers={"host": "attacker.example"})

    assert response.status_code == 400
    assert_reveals_nothing(response, "attacker.example", "ALLOWED_HOSTS", "DisallowedHost")
