"""Killing the import process mid-file leaves no partial records (issue 4): the whole
file is one transaction, so SIGKILL in the middle rolls everything back, and importing
the file again afterwards completes.

Runs against a real database that other processes can see: on the SQLite pass a
temporary database file, on the PostgreSQL pass a temporary database on the same server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[3]
KILL_AFTER = 150  # items imported (uncommitted) before the kill
TIMEOUT = 240


def _child(env: dict[str, str], *args: str, timeout: int = TIMEOUT) -> str:
    done = subprocess.run(  # noqa: S603  (our own interpreter and module)
        [sys.executable, "-m", "phiwarden.billing.tests.import_child", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=True,
    )  # fmt: skip
    return done.stdout


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A fresh database of the vendor this test pass runs on."""
    if connection.vendor != "postgresql":
        yield f"sqlite:///{tmp_path / 'kill.sqlite3'}"
        return
    import psycopg

    settings = connection.settings_dict
    name = f"phiwarden_kill_{uuid.uuid4().hex[:8]}"
    admin = (
        f"host={settings['HOST'] or '127.0.0.1'} port={settings['PORT'] or 5432} "
        f"user={settings['USER']} dbname=postgres"
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        host, port = settings["HOST"] or "127.0.0.1", settings["PORT"] or 5432
        yield f"postgres://{settings['USER']}@{host}:{port}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.django_db
def test_a_killed_import_leaves_nothing_and_a_rerun_completes(database_url, tmp_path):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": database_url,
        "PHIWARDEN_VAR_DIR": str(tmp_path / "var"),
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT, env=env, check=True, timeout=TIMEOUT, capture_output=True,
    )  # fmt: skip
    _child(env, "seed", str(tmp_path))

    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "phiwarden.billing.tests.import_child", "import", str(tmp_path)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        for line in process.stdout:
            if line.startswith("progress") and int(line.split()[1]) >= KILL_AFTER:
                break
        assert process.poll() is None, "the import finished before it could be killed"
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=30)

    after_kill = json.loads(_child(env, "count", str(tmp_path)))
    assert after_kill == dict.fromkeys(after_kill, 0)

    assert "done" in _child(env, "import", str(tmp_path))
    after_rerun = json.loads(_child(env, "count", str(tmp_path)))
    assert after_rerun["files"] == 1
    assert after_rerun["claims"] == after_rerun["claim_events"] > 0
