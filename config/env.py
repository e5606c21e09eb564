"""Tiny typed readers for environment settings.

Secrets can come from the variable itself or from a file named by
``<NAME>_FILE`` (the Docker/Kubernetes secrets convention), so that keys need
not sit in the process environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, *, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {raw!r}")


def env_int(name: str, *, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as error:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from error


def env_list(name: str, *, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_secret(name: str) -> str:
    """Read a secret from ``NAME`` or from the file named by ``NAME_FILE``."""
    value = os.environ.get(name, "")
    file_name = os.environ.get(f"{name}_FILE", "")
    if value and file_name:
        raise ImproperlyConfigured(f"Set {name} or {name}_FILE, not both")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ImproperlyConfigured(f"{name}_FILE cannot be read: {error.strerror}") from error
    return value.strip()


# Server-side parameter binding lets psycopg prepare a statement on the server once it has
# run PREPARE_THRESHOLD times on a connection; after that PostgreSQL neither parses nor
# plans it again. Planning the audited claim-detail read (a six-table join) took longer
# than running it (0.9 ms against 0.2 ms), so this is most of the difference between
# PostgreSQL and SQLite on the hot reads (docs/benchmarks.md, ADR 0007). Behind PgBouncer
# in transaction mode, set max_prepared_statements (PgBouncer >= 1.21) or turn it off with
# `?prepare_threshold=none` in DATABASE_URL.
PREPARE_THRESHOLD = 5


def _statement_options(options: dict[str, object]) -> dict[str, object]:
    """Typed `server_side_binding` and `prepare_threshold` from the URL's text options."""
    binding_text = str(options.get("server_side_binding", "true")).strip().lower()
    if binding_text not in _TRUE | _FALSE:
        raise ImproperlyConfigured(
            f"DATABASE_URL server_side_binding must be true or false, not {binding_text!r}"
        )
    server_side_binding = binding_text in _TRUE
    threshold_text = str(options.get("prepare_threshold", PREPARE_THRESHOLD)).strip().lower()
    threshold: int | None
    if threshold_text in {"none", "off", ""}:
        threshold = None
    else:
        try:
            threshold = int(threshold_text)
        except ValueError as error:
            raise ImproperlyConfigured(
                "DATABASE_URL prepare_threshold must be a whole number or none, "
                f"not {threshold_text!r}"
            ) from error
        if threshold < 0:
            raise ImproperlyConfigured("DATABASE_URL prepare_threshold must not be negative")
    if not server_side_binding:
        threshold = None  # psycopg prepares only server-bound statements
    return {"server_side_binding": server_side_binding, "prepare_threshold": threshold}


def database_from_url(url: str) -> dict[str, object]:
    """Turn ``postgres://user:pass@host:port/name?opt=v`` into a DATABASES entry.

    Only PostgreSQL and SQLite are supported: those are the two databases
    PHI Warden is tested on.
    """
    parts = urlsplit(url)
    options: dict[str, object] = dict(parse_qsl(parts.query))
    if parts.scheme in {"postgres", "postgresql", "pgsql"}:
        options.update(_statement_options(options))
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "OPTIONS": options,
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }
    if parts.scheme == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": unquote(parts.path)}
    raise ImproperlyConfigured(
        f"DATABASE_URL scheme {parts.scheme!r} is not supported (use postgres:// or sqlite://)"
    )
