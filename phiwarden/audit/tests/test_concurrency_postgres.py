"""Several processes write audit events while sealers run: nothing lost, nothing sealed twice.

PostgreSQL only: SQLite serialises every writer on one file lock, so there is no race to
test there. The test runs on a committed database (`transaction=True`) because the other
processes must see its rows; each child is a fresh `python -m` of this module, pointed at
the test database by DATABASE_URL.

Writers mix single-event transactions, many-event transactions, transactions held open
while the sealers run (so an event with a low id commits after events with higher ids
were sealed) and transactions that roll back. Two sealers loop at once, with small
batches, so that the advisory lock is contended. Afterwards every committed event has
exactly one leaf, each log's sequence numbers run 0..n-1 without gaps, rolled-back events
are absent, no pending marker is left, and the full verification passes.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection

WRITERS = 4
TRANSACTIONS_PER_WRITER = 36
SEALERS = 2
SEAL_BATCH = 25
CHILD_TIMEOUT = 60

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite serialises writers on one file lock, so there is "
        "no concurrent sealing to test (run with DATABASE_URL=postgres://...)",
    ),
]


# --- Children (run as `python -m phiwarden.audit.tests.test_concurrency_postgres ...`) ----


def _child_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")
    import django

    django.setup()


class _RollBack(Exception):
    """Raised inside a writer's transaction to undo it."""


def _writer(writer: int, org_ids: list[int], actor_id: int, seed: int) -> dict[str, Any]:
    from django.db import transaction

    from phiwarden.accounts.models import Organization, User
    from phiwarden.audit.codes import EventCode, Outcome
    from phiwarden.audit.services import audit_event_record

    rng = random.Random(seed)  # noqa: S311 - a test's shuffle, not a secret
    organizations = [Organization.objects.get(pk=pk) for pk in org_ids]
    actor = User.objects.get(pk=actor_id)
    committed: list[int] = []
    rolled_back: list[int] = []

    def one(txn: int, i: int, *, doomed: bool) -> int:
        organization = rng.choice([*organizations, None])
        event = audit_event_record(
            actor=actor if organization is not None else None,
            organization=organization,
            event_code=EventCode.ACCESS_DENIED if organization else EventCode.LOGIN_FAILED,
            outcome=Outcome.DENIED,
            target_type="accounts.client",
            target_id=str(i),
            purpose="payment",
            data={"writer": writer, "txn": txn, "i": i, "doomed": doomed},
            patient_ids=[rng.randrange(1, 10_000)] if organization and i % 2 else [],
            fields_disclosed=["member_id"] if i % 2 else [],
        )
        return event.pk

    for txn in range(TRANSACTIONS_PER_WRITER):
        kind = rng.choice(["single", "single", "many", "many", "held", "rollback"])
        size = 1 if kind == "single" else rng.randrange(2, 12)
        doomed = kind == "rollback"
        ids: list[int] = []
        try:
            with transaction.atomic():
                for i in range(size):
                    ids.append(one(txn, i, doomed=doomed))
                    if kind == "held" and i == 0:
                        # Hold the transaction open: later ids commit (and are sealed) first.
                        time.sleep(rng.uniform(0.05, 0.25))
                if doomed:
                    raise _RollBack
        except _RollBack:
            rolled_back += ids
        else:
            committed += ids
        time.sleep(rng.uniform(0, 0.01))
    return {"writer": writer, "committed": committed, "rolled_back": rolled_back}


def _sealer(stop_file: str) -> dict[str, Any]:
    from phiwarden.audit.sealing import seal_all

    runs = sealed = 0
    while not Path(stop_file).exists():
        sealed += sum(result.sealed for result in seal_all(batch_size=SEAL_BATCH))
        runs += 1
        time.sleep(0.01)
    return {"runs": runs, "sealed": sealed}


def _child_main(argv: list[str]) -> None:
    _child_setup()
    role, payload = argv[0], json.loads(argv[1])
    result = _writer(**payload) if role == "writer" else _sealer(**payload)
    print(json.dumps(result))  # noqa: T201 - the parent reads this line


# --- The test -------------------------------------------------------------------------


def _database_url() -> str:
    """The test database (pytest-django renamed it), for the children."""
    settings = connection.settings_dict
    user = quote(settings["USER"] or "", safe="")
    password = quote(settings["PASSWORD"] or "", safe="")
    credentials = f"{user}:{password}@" if password else f"{user}@" if user else ""
    host = settings["HOST"] or "localhost"
    port = f":{settings['PORT']}" if settings["PORT"] else ""
    return f"postgres://{credentials}{host}{port}/{quote(settings['NAME'], safe='')}"


def _spawn(role: str, payload: dict[str, Any]) -> subprocess.Popen[str]:
    env = {**os.environ, "DATABASE_URL": _database_url()}
    env["DJANGO_SETTINGS_MODULE"] = "config.test_settings"
    env["PYTHONPATH"] = os.pathsep.join([str(Path.cwd()), env.get("PYTHONPATH", "")])
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", __name__, role, json.dumps(payload)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _result(process: subprocess.Popen[str]) -> dict[str, Any]:
    try:
        out, err = process.communicate(timeout=CHILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"a child process did not finish in {CHILD_TIMEOUT} s:\n{err[-2000:]}")
    assert process.returncode == 0, err[-3000:]
    return dict(json.loads(out.strip().splitlines()[-1]))


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_and_sealers_lose_nothing_and_seal_once(tmp_path):
    from phiwarden.accounts.models import Organization, User
    from phiwarden.audit.models import AuditEvent, PendingSeal, SealedLeaf, TreeHead
    from phiwarden.audit.sealing import seal_all
    from phiwarden.audit.verification import verify_database

    organizations = [
        Organization.objects.create(name=f"Synthetic Billing {n}", slug=f"synthetic-{n}")
        for n in range(2)
    ]
    actor = User.objects.create_user("writer@example.test", None, full_name="Synthetic Writer")
    stop_file = tmp_path / "stop"

    sealers = [_spawn("sealer", {"stop_file": str(stop_file)}) for _ in range(SEALERS)]
    writers = [
        _spawn(
            "writer",
            {
                "writer": w,
                "org_ids": [o.pk for o in organizations],
                "actor_id": actor.pk,
                "seed": 1000 + w,
            },
        )
        for w in range(WRITERS)
    ]
    try:
        written = [_result(process) for process in writers]
    finally:
        stop_file.touch()
    sealed_by_sealers = [_result(process) for process in sealers]
    seal_all()  # whatever committed after the sealers' last run

    committed = {pk for w in written for pk in w["committed"]}
    rolled_back = {pk for w in written for pk in w["rolled_back"]}
    assert committed, "the writers should commit"
    assert rolled_back, "the writers should also roll back"
    assert sum(s["sealed"] for s in sealed_by_sealers) > 0, "the sealers ran during the writes"

    # Exactly the committed events exist; the rolled-back ones left no trace.
    stored = set(AuditEvent.objects.values_list("pk", flat=True))
    assert stored == committed
    assert not AuditEvent.objects.filter(data__doomed=True).exists()

    # Every committed event sealed exactly once; nothing left pending.
    assert not PendingSeal.objects.exists()
    leaves = list(SealedLeaf.objects.values_list("event_id", "log_id", "sequence"))
    assert sorted(event_id for event_id, _, _ in leaves) == sorted(committed)

    # Each log numbers its events 0..n-1 without gaps, and agrees with its events' tenant.
    log_of = {
        pk: org_id or 0 for pk, org_id in AuditEvent.objects.values_list("pk", "organization_id")
    }
    by_log: dict[int, list[int]] = {}
    for event_id, log_id, sequence in leaves:
        assert log_of[event_id] == log_id
        by_log.setdefault(log_id, []).append(sequence)
    assert set(by_log) == {0, *(o.pk for o in organizations)}
    for log_id, sequences in by_log.items():
        assert sorted(sequences) == list(range(len(sequences))), f"log {log_id}"
        sizes = list(
            TreeHead.objects.filter(log_id=log_id)
            .order_by("tree_size")
            .values_list("tree_size", flat=True)
        )
        assert sizes[-1] == len(sequences)
        assert len(sizes) == len(set(sizes)) > 1, "several tree heads: sealed while writing"

    reports = verify_database()
    assert [r.problems for r in reports if not r.ok] == []
    assert sum(r.events for r in reports) == len(committed)


if __name__ == "__main__":
    _child_main(sys.argv[1:])
