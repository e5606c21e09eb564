"""Breach scoping of one member over 90 days, at 1 and 10 million audit events.

PostgreSQL only (the runner gives this module a throwaway database of its own). The
events come from the audit search benchmark's generator (`bench_audit_search`: 20
organizations, the searched one holding half of all events; one "active" member with
10 % of its events, 48 others sharing the rest, 5 % system events; one event every
15.552 s, so 1 million events span 180 days and the 10 million case adds 9 million
*older* events). Two things are added for scoping:

* 200,000 synthetic patients in the searched organization (no PHI: a one-byte name
  ciphertext, a random blind index), spread over 40 clients and 12 states;
* the audit trail's patient index (`audit_auditeventpatient`): every allowed
  `billing.*.viewed` event touches one patient and lists the fields it disclosed, as the
  PHI door writes them. Half of all events are such views, so the index grows with the
  log (0.45 million rows at 1M events, 4.5 million at 10M).

What is timed is `phiwarden.incidents.scoping.breach_scope` for the active member over
the last 90 days, as a privacy officer runs it: about 22,000 events and 11,000 distinct
patients in scope at both sizes (the window holds the same rows). Two figures:

* "query part": the same call with its closing audit write replaced by a no-op, i.e. the
  event count, the patient-index read, the disclosed-field classes and the client/state
  facts of each patient;
* "whole call": including the audit event that names every patient in scope (one index
  row per patient, so ~11,000 rows written per call).

Best of ROUNDS after a warm-up (warm cache, ORM included). The ratio 10M/1M is what
matters: near 1 means index-bound. Every query of the query part is EXPLAINed with
(ANALYZE, BUFFERS) into bench/results/incident_scoping_explain.txt.

PHIWARDEN_BENCH_LARGE=1 adds the 10 million case. Without it, the 1 million whole call
is compared with its query part. PHIWARDEN_BENCH_SCOPING_INDEX, if set, is an index
definition (the part after `ON audit_auditevent`) created at the end to measure a
proposal.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import bench_audit_search as generator
from django.db import connection
from django.test.utils import CaptureQueriesContext

from phiwarden.incidents import scoping
from phiwarden.incidents.scoping import ScopeQuery, ScopeResult, breach_scope

DATABASES = ("postgresql",)

SMALL = generator.SMALL
LARGE = generator.LARGE
WINDOW_DAYS = 90
ROUNDS = 5
PATIENTS = 200_000
CLIENTS = 40
STATES = ["CA", "TX", "FL", "NY", "PA", "IL", "OH", "GA", "NC", "MI", "NJ", "VA"]
EXPLAIN_FILE = Path(__file__).resolve().parent / "results" / "incident_scoping_explain.txt"

# The PHI fields each kind of view discloses (what the PHI door records).
FIELDS = """CASE g %% 6
        WHEN 1 THEN '["patient.name", "claim.account_number", "claim.diagnoses",
                      "claim.service_dates", "claim.amounts"]'::jsonb
        WHEN 2 THEN '["patient.name", "patient.birth_date", "patient.address"]'::jsonb
        WHEN 3 THEN '["patient.name", "claim.amounts", "payment.adjustments"]'::jsonb
        ELSE '[]'::jsonb
    END
"""
INSERT = generator.INSERT.replace("'[]'::jsonb\n", FIELDS, 1)
assert INSERT != generator.INSERT, "the audit search generator changed: adapt FIELDS"

VIEWS = ["billing.claim.viewed", "billing.patient.viewed", "billing.remit.viewed"]
PATIENT_INDEX = """
INSERT INTO audit_auditeventpatient (event_id, organization_id, patient_id)
SELECT id, organization_id, %(base)s + (id * 7919) %% %(patients)s
FROM audit_auditevent
WHERE id > %(after)s AND outcome = 'allowed' AND event_code = ANY(%(views)s)
"""


def _patients(people: generator.People) -> int:
    """Make the synthetic patients and return the first id (ids are consecutive)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO accounts_client (created_at, updated_at, organization_id, name, "
            "is_active) SELECT now(), now(), %s, 'Bench Client ' || c || ' (synthetic)', true "
            "FROM generate_series(1, %s) AS c",
            [people.organization.pk, CLIENTS],
        )
        cursor.execute(
            "SELECT array_agg(id ORDER BY id) FROM accounts_client WHERE organization_id = %s",
            [people.organization.pk],
        )
        clients = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO billing_patient (created_at, updated_at, organization_id, client_id, "
            "row_key, name_ct, name_dob_bidx, state, is_synthetic) "
            "SELECT now(), now(), %(org)s, (%(clients)s::bigint[])[1 + g %% %(n_clients)s], "
            "md5('patient' || g)::uuid, '\\x00'::bytea, left(md5('bidx' || g), 16), "
            "(%(states)s::text[])[1 + (g * 31) %% %(n_states)s], true "
            "FROM generate_series(1, %(patients)s) AS g ORDER BY g",
            {
                "org": people.organization.pk,
                "clients": clients,
                "n_clients": len(clients),
                "states": STATES,
                "n_states": len(STATES),
                "patients": PATIENTS,
            },
        )
        cursor.execute("VACUUM (ANALYZE) billing_patient")
        cursor.execute(
            "SELECT min(id), max(id) FROM billing_patient WHERE organization_id = %s",
            [people.organization.pk],
        )
        first, last = cursor.fetchone()
    assert last - first + 1 == PATIENTS, "patient ids are not consecutive"
    return int(first)


def _load(people: generator.People, first: int, last: int, patient_base: int) -> float:
    """Events first..last (the generator's numbering), with their patient index rows."""
    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM audit_auditevent")
        after = cursor.fetchone()[0]
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN "
            "('audit_auditevent', 'audit_auditeventpatient') AND indexdef NOT LIKE '%UNIQUE%'"
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SET session_replication_role = replica")  # no FK or seal triggers
        cursor.execute("SELECT setseed(%s)", [first / (LARGE + 1)])
        people_params = {
            "end": generator.END,
            "step": generator.STEP_SECONDS,
            "codes": generator.CODES,
            "org": people.organization.pk,
            "other_orgs": people.other_orgs,
            "n_other_orgs": len(people.other_orgs),
            "active": people.active.pk,
            "rare": people.rare.pk,
            "members": people.members,
            "n_members": len(people.members),
            "outsiders": people.outsiders,
            "n_outsiders": len(people.outsiders),
            "first": first,
            "last": last,
        }
        cursor.execute(INSERT, people_params)
        cursor.execute(
            PATIENT_INDEX,
            {"base": patient_base, "patients": PATIENTS, "after": after, "views": VIEWS},
        )
        cursor.execute("SET session_replication_role = DEFAULT")
        cursor.execute("SET maintenance_work_mem = '1GB'")
        for _name, definition in indexes:
            cursor.execute(definition)
        cursor.execute("VACUUM (ANALYZE) audit_auditevent")
        cursor.execute("VACUUM (ANALYZE) audit_auditeventpatient")
    return time.perf_counter() - start


def _query(people: generator.People) -> ScopeQuery:
    until = generator.END - timedelta(days=1)
    return ScopeQuery(
        actor_ids=[people.active.pk], since=until - timedelta(days=WINDOW_DAYS), until=until
    )


def _scope(people: generator.People, *, write: bool) -> ScopeResult:
    if write:
        return breach_scope(membership=people.officer, query=_query(people))
    with mock.patch.object(scoping, "audit_event_record"):
        return breach_scope(membership=people.officer, query=_query(people))


def _timed(people: generator.People, *, write: bool) -> tuple[float, ScopeResult]:
    result = _scope(people, write=write)  # warm-up
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        _scope(people, write=write)
        best = min(best, time.perf_counter() - start)
    return best, result


def _explain(people: generator.People, title: str, out: list[str]) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) every statement of the query part."""
    with CaptureQueriesContext(connection) as captured:
        _scope(people, write=False)
    statements = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith("SELECT") and ("audit_" in q["sql"] or "billing_patient" in q["sql"])
    ]
    for number, sql in enumerate(statements, 1):
        if "billing_patient" in sql and "billing_patient" in statements[number - 2]:
            continue  # the next chunk of the same patient lookup
        with connection.cursor() as db:
            db.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = [row[0] for row in db.fetchall()]
        timing = next((line for line in plan if line.startswith("Execution Time")), "")
        out += [f"== {title}, statement {number}: {timing}", sql[:2000], "", *plan, ""]


def _measure(people: generator.People, size: str, explain: list[str]) -> dict[str, float]:
    query_s, result = _timed(people, write=False)
    whole_s, _ = _timed(people, write=True)
    _explain(people, size, explain)
    print(
        f"   {size}: {result.events:,} events, {result.individuals:,} individuals, "
        f"{len(result.by_client)} clients, {len(result.by_state)} states; "
        f"query part {query_s * 1000:.1f} ms, whole call {whole_s * 1000:.1f} ms"
    )
    return {"query": query_s, "whole": whole_s}


def run() -> list[dict[str, object]]:
    people = generator._people()
    explain: list[str] = []
    large = os.environ.get("PHIWARDEN_BENCH_LARGE") == "1"
    proposed = os.environ.get("PHIWARDEN_BENCH_SCOPING_INDEX", "").strip()

    base = _patients(people)
    print(f"   loading {SMALL:,} events ... {_load(people, 1, SMALL, base):.0f} s", flush=True)
    small = _measure(people, "1M", explain)
    results: list[dict[str, Any]] = [
        {
            "name": "breach scope 1M, 90 days, whole call",
            "n": 1,
            "ours_seconds": small["whole"],
            "peer_name": "its query part (no audit write), 1M",
            "peer_seconds": small["query"],
        }
    ]
    final, final_size = small, "1M"
    if large:
        print(f"   loading {LARGE - SMALL:,} older events ... ", end="", flush=True)
        print(f"{_load(people, SMALL + 1, LARGE, base):.0f} s", flush=True)
        final, final_size = _measure(people, "10M", explain), "10M"
        results += [
            {
                "name": f"breach scope 10M, 90 days, {part}",
                "n": 1,
                "ours_seconds": final[key],
                "peer_name": "the same at 1M events",
                "peer_seconds": small[key],
            }
            for key, part in (("query", "query part"), ("whole", "whole call"))
        ]
    if proposed:
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE INDEX bench_proposed ON audit_auditevent {proposed}")
            cursor.execute("ANALYZE audit_auditevent")
        print(f"   with the proposed index {proposed}:")
        with_index = _measure(people, f"{final_size} + proposed index", explain)
        results.append(
            {
                "name": f"breach scope {final_size} + index, query part",
                "n": 1,
                "ours_seconds": with_index["query"],
                "peer_name": f"the same, schema's indexes, {final_size}",
                "peer_seconds": final["query"],
            }
        )
    EXPLAIN_FILE.parent.mkdir(exist_ok=True)
    EXPLAIN_FILE.write_text("\n".join(explain) + "\n", encoding="utf-8")
    print(f"   plans: {EXPLAIN_FILE}")
    return results
