"""DATABASE_URL parsing: engines, credentials and the typed statement options."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import PREPARE_THRESHOLD, database_from_url


def test_postgres_url_names_server_credentials_and_prepares_statements_by_default() -> None:
    config = database_from_url("postgres://app:s%40cret@db.internal:6543/phiwarden?sslmode=require")

    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["NAME"], config["USER"], config["PASSWORD"]) == ("phiwarden", "app", "s@cret")
    assert (config["HOST"], config["PORT"]) == ("db.internal", "6543")
    assert config["OPTIONS"] == {
        "sslmode": "require",
        "server_side_binding": True,
        "prepare_threshold": PREPARE_THRESHOLD,
    }


@pytest.mark.parametrize(
    ("query", "binding", "threshold"),
    [
        ("prepare_threshold=none", True, None),
        ("prepare_threshold=off", True, None),
        ("prepare_threshold=0", True, 0),
        ("prepare_threshold=12", True, 12),
        ("server_side_binding=false", False, None),
        ("server_side_binding=off&prepare_threshold=3", False, None),
    ],
)
def test_statement_options_are_typed(query: str, binding: bool, threshold: int | None) -> None:
    options = database_from_url(f"postgres://app@db/phiwarden?{query}")["OPTIONS"]

    assert options == {"server_side_binding": binding, "prepare_threshold": threshold}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("prepare_threshold=often", "prepare_threshold must be a whole number or none"),
        ("prepare_threshold=-1", "prepare_threshold must not be negative"),
        ("server_side_binding=maybe", "server_side_binding must be true or false"),
    ],
)
def test_bad_statement_options_refuse_to_start(query: str, message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=message):
        database_from_url(f"postgres://app@db/phiwarden?{query}")


def test_sqlite_url_takes_no_statement_options() -> None:
    assert database_from_url("sqlite:///var/x.sqlite3") == {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": "/var/x.sqlite3",
    }


def test_unknown_scheme_is_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match="'mysql' is not supported"):
        database_from_url("mysql://app@db/phiwarden")
