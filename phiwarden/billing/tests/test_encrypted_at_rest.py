"""Encrypted at rest (issue 4; 45 CFR 164.312(a)(2)(iv)): after `seed_demo`, the raw
database holds none of the seeded patients' names, dates of birth, member ids or SSNs in
plain text.

The test suite's own SQLite database lives in memory, so each half seeds a real database
in a subprocess (`manage.py migrate` then `seed_demo`, with the production settings) and
scans its bytes: the SQLite file with its -wal and -shm files (and the encrypted blob
directory), and a `pg_dump` of a scratch PostgreSQL database. The PostgreSQL half is
skipped when PostgreSQL or pg_dump is unavailable, unless PHIWARDEN_REQUIRE_POSTGRES is set.

The values searched for come from the synthetic generator with the seeds seed_demo uses.
A positive control (payer and client names, which are stored in clear) proves the scan
reads the data, so the test cannot pass by scanning nothing.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from phiwarden.billing.synthetic.people import SyntheticPerson
from phiwarden.compliance.management.commands.seed_demo import (
    CLIENT_NAMES,
    billing_batches,
)

ROOT = Path(__file__).resolve().parents[3]
SEED = 2026  # seed_demo's default
# Births this recent can share a date with a service, payment or BAA date stored in
# clear, so only older ones are searched (the generator puts ~5% of patients there).
RECENT_YEARS = 3

TEST_KEYS = {
    "SECRET_KEY": "at-rest-test-only-" + "z" * 60,
    "PHI_MASTER_KEY": "dGVzdC1vbmx5LXBoaS1tYXN0ZXIta2V5LTMyYnl0ZXM=",
    "AUDIT_SIGNING_KEY": "dGVzdC1vbmx5LWF1ZGl0LXNpZ25pbmcta2V5LTMyYnk=",
}


def _name_forms(person: SyntheticPerson) -> set[str]:
    """The ways a name would show if stored in clear: X12 (LAST*FIRST), adjacent columns
    in a SQLite record (LASTFIRST) or a dump (LAST<tab>FIRST), and as people write it."""
    last, first = person.name.last, person.name.first
    return {
        f"{last}*{first}",
        f"{last}{first}",
        f"{last}\t{first}",
        f"{first} {last}",
        f"{last}, {first}",
        f"{last} {first}",
    }


def _date_forms(day: dt.date) -> set[str]:
    return {day.isoformat(), day.strftime("%Y%m%d")}


def seeded_phi() -> dict[str, set[str]]:
    """Every patient's and subscriber's identifiers in the batches seed_demo imports."""
    phi: dict[str, set[str]] = {"names": set(), "birth_dates": set(), "ids": set()}
    for _client, batch in billing_batches(SEED):
        newest_birth = batch.as_of.replace(year=batch.as_of.year - RECENT_YEARS)
        for patient in batch.patients:
            phi["ids"].add(patient.member_id)
            for person in filter(None, (patient.person, patient.subscriber)):
                phi["names"] |= _name_forms(person)
                if person.birth_date < newest_birth:
                    phi["birth_dates"] |= _date_forms(person.birth_date)
                ssn = person.ssn
                phi["ids"] |= {ssn, f"{ssn[:3]}-{ssn[3:5]}-{ssn[5:]}"}
    return phi


def stored_in_clear() -> list[str]:
    """Values that are not PHI and are stored in clear: the scan must find them."""
    _client, batch = billing_batches(SEED)[0]
    return [CLIENT_NAMES[0], *(payer.name for payer in batch.payers[:2])]


def found_in(haystack: bytes, needles: set[str]) -> list[str]:
    """Needles present in the bytes, case-insensitively (UTF-8 and UTF-16 text).

    An all-digit needle (a date as YYYYMMDD, an SSN) must not sit inside a longer run of
    hex digits: the database holds megabytes of hex (hashes, digests, row keys), where an
    eight-digit date turns up by chance now and then. PHI stored in clear would stand
    between delimiters (X12 `*`/`~`, record headers, punctuation), which this still finds.
    """
    lowered = haystack.lower()
    hits = []
    for needle in sorted(needles):
        text = needle.lower()
        if text.isdigit():
            pattern = rb"(?<![0-9a-f])" + re.escape(text.encode()) + rb"(?![0-9a-f])"
            if re.search(pattern, lowered) or text.encode("utf-16-le") in lowered:
                hits.append(needle)
        elif text.encode() in lowered or text.encode("utf-16-le") in lowered:
            hits.append(needle)
    return hits


def assert_no_phi(raw: bytes) -> None:
    # the positive control: clear-text facts are there, so the scan reads real data
    assert found_in(raw, set(stored_in_clear())) == sorted(stored_in_clear())
    phi = seeded_phi()
    assert len(phi["names"]) > 100
    assert len(phi["birth_dates"]) > 50
    assert len(phi["ids"]) > 100
    # print only which kind leaked and how many: the values themselves stay out of logs
    leaks = {kind: len(found_in(raw, values)) for kind, values in phi.items()}
    assert leaks == {"names": 0, "birth_dates": 0, "ids": 0}


def _seed_with(database_url: str, var_dir: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
        **TEST_KEYS,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "PHIWARDEN_VAR_DIR": str(var_dir),
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    for command in (["migrate", "--noinput", "-v", "0"], ["seed_demo"]):
        done = subprocess.run(  # noqa: S603 -- our own manage.py with fixed arguments
            [sys.executable, str(ROOT / "manage.py"), *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]


def _files_under(path: Path) -> Iterator[Path]:
    return (p for p in sorted(path.rglob("*")) if p.is_file())


def test_sqlite_file_holds_no_plain_phi(tmp_path):
    database = tmp_path / "phiwarden.sqlite3"
    var_dir = tmp_path / "var"

    _seed_with(f"sqlite:///{database}", var_dir)

    files = [database, *(Path(f"{database}{s}") for s in ("-wal", "-shm"))]
    raw = b"".join(p.read_bytes() for p in files if p.exists())
    assert_no_phi(raw)
    # the encrypted originals of the imported X12 files hold no plain PHI either
    blobs = list(_files_under(var_dir / "blobs"))
    assert len(blobs) >= 5
    blob_bytes = b"".join(p.read_bytes() for p in blobs)
    assert found_in(blob_bytes, set().union(*seeded_phi().values())) == []
    assert b"ISA*" not in blob_bytes


def _postgres_admin_url() -> str:
    """The server of DATABASE_URL when it is PostgreSQL (else the local one), through its
    `postgres` maintenance database, where a scratch database can be created."""
    parts = urlsplit(os.environ.get("DATABASE_URL", ""))
    if parts.scheme not in {"postgres", "postgresql"}:
        parts = urlsplit("postgres://postgres@127.0.0.1:5432/")
    return urlunsplit(parts._replace(scheme="postgresql", path="/postgres", query=""))


def _postgres_or_skip(admin_url: str) -> None:
    reason = ""
    if shutil.which("pg_dump") is None:
        reason = "pg_dump is not installed"
    else:
        try:
            import psycopg

            psycopg.connect(admin_url, connect_timeout=3, autocommit=True).close()
        except Exception as error:  # any failure means "no PostgreSQL here"
            reason = f"PostgreSQL is unavailable ({type(error).__name__})"
    if reason:
        if os.environ.get("PHIWARDEN_REQUIRE_POSTGRES"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.mark.postgres
def test_postgresql_dump_holds_no_plain_phi(tmp_path):
    import psycopg
    from psycopg import sql

    admin_url = _postgres_admin_url()
    _postgres_or_skip(admin_url)
    name = f"phiwarden_at_rest_{uuid.uuid4().hex[:12]}"
    parts = urlsplit(admin_url)
    scratch_url = urlunsplit(parts._replace(path=f"/{name}", query=""))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        _seed_with(scratch_url, tmp_path / "var")
        dump = subprocess.run(  # noqa: S603 -- pg_dump of our scratch database
            ["pg_dump", "--no-owner", "--dbname", scratch_url],  # noqa: S607
            capture_output=True,
            timeout=300,
            check=True,
        ).stdout
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    assert_no_phi(dump)


def test_the_scan_finds_digits_between_delimiters_but_not_inside_hex():
    assert found_in(b"DMG*D8*19650312*F~", {"19650312"}) == ["19650312"]
    assert found_in(b"\x05\x0119650312\x00", {"19650312"}) == ["19650312"]
    assert found_in(b"a3f19650312bc0", {"19650312"}) == []
    assert found_in(b"born 1965-03-12.", {"1965-03-12"}) == ["1965-03-12"]
