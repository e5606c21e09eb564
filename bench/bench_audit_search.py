"""Search latency for one member's events in a time window, at 1 and 10 million events.

PostgreSQL only (the runner gives this module a throwaway database of its own). Rows are
made on the server with `INSERT ... SELECT generate_series`, the way a log fills over
time: one event every STEP seconds, so 1 million events span about six months and
10 million about five years (inside the six-year retention). The 10 million case adds
9 million *older* events to the same database, so the searched windows hold exactly the
same rows at both sizes: an index-bound search costs the same, a scan-bound one grows
with the table. That is what the 10M/1M time ratio shows; it should stay near 1.

The data: 20 organizations; the searched one holds half of all events. Of its events, one
member (the "active" member) has 10 %, one (the "rare" member) 0.1 %, 5 % have no actor
(system events), and 48 other members share the rest. What is timed is the app's own
search, `audit.selectors.audit_events_search` (first page, 50 events, newest first, the
keyset query on (occurred_at, id)), as a privacy officer runs it: best of ROUNDS after a
warm-up, so the figures are warm-cache latencies, ORM included. For each search the
exact SQL it ran is EXPLAINed with (ANALYZE, BUFFERS) into
bench/results/audit_search_explain.txt, which shows whether it is index-bound.

For the load the non-unique indexes of the event table are dropped and rebuilt with the
same definitions afterwards, and foreign-key triggers are skipped
(`session_replication_role = replica`): the rows are consistent by construction, and
rebuilding an index is much faster than growing it row by row. VACUUM ANALYZE follows.

PHIWARDEN_BENCH_LARGE=1 adds the 10 million case (about 5 more minutes here). Without
it, the 1 million figures are compared with the 20th page of the same search (the
keyset cursor should make deep pages cost what the first costs).

PHIWARDEN_BENCH_SEARCH_INDEX, if set, is an index definition (the part after
`ON audit_auditevent`) created temporarily at the end to measure a proposal; the rows
"with the proposed index" show its effect. The database is thrown away afterwards.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from phiwarden.accounts.models import Membership, Organization, User
from phiwarden.accounts.roles import Role
from phiwarden.audit.selectors import AuditFilters, audit_events_search

DATABASES = ("postgresql",)

SMALL = 1_000_000
LARGE = 10_000_000
STEP_SECONDS = 15.552  # one event every STEP: 1M events in 180 days
END = datetime(2026, 11, 1, tzinfo=UTC)
ROUNDS = 15
ORGANIZATIONS = 20
OTHER_MEMBERS = 48
EXPLAIN_FILE = Path(__file__).resolve().parent / "results" / "audit_search_explain.txt"
CODES = [
    "accounts.login.succeeded",
    "billing.claim.viewed",
    "billing.patient.viewed",
    "billing.remit.viewed",
    "core.access.denied",
    "accounts.logout",
]


@dataclass(frozen=True)
class People:
    organization: Organization
    officer: Membership
    active: User
    rare: User
    members: list[int]  # other members of the searched organization
    outsiders: list[int]  # members of the other organizations
    other_orgs: list[int]


def _people() -> People:
    orgs = [
        Organization(name=f"Bench Search {n} (synthetic)", slug=f"bench-search-{n}")
        for n in range(ORGANIZATIONS)
    ]
    Organization.objects.bulk_create(orgs)
    organization, others = orgs[0], orgs[1:]
    users = [
        User(email=f"member{n}@example.test", full_name=f"Synthetic Member {n}")
        for n in range(3 + OTHER_MEMBERS + 200)
    ]
    for user in users:
        user.set_unusable_password()
    User.objects.bulk_create(users)
    officer = Membership.objects.create(
        user=users[0], organization=organization, role=Role.PRIVACY_OFFICER
    )
    return People(
        organization=organization,
        officer=officer,
        active=users[1],
        rare=users[2],
        members=[u.pk for u in users[3 : 3 + OTHER_MEMBERS]],
        outsiders=[u.pk for u in users[3 + OTHER_MEMBERS :]],
        other_orgs=[o.pk for o in others],
    )


INSERT = """
INSERT INTO audit_auditevent (
    occurred_at, actor_label, api_token_prefix, event_code, outcome, target_type, target_id,
    purpose, request_id, ip_address, via, data, actor_id, organization_id, fields_disclosed
)
SELECT
    %(end)s::timestamptz - make_interval(secs => (g + r_time) * %(step)s),
    CASE WHEN actor IS NULL THEN '' ELSE 'member' || actor END,
    '',
    (%(codes)s::text[])[1 + g %% 6],
    CASE WHEN g %% 10 = 0 THEN 'denied' ELSE 'allowed' END,
    'billing.claim',
    g::text,
    'payment',
    md5(g::text),
    '192.0.2.10'::inet,
    'web',
    jsonb_build_object('client_id', g %% 40),
    actor,
    org,
    '[]'::jsonb
FROM (
    SELECT g, r_time, org,
        CASE
            WHEN org <> %(org)s THEN (%(outsiders)s::bigint[])[1 + (g * 7919) %% %(n_outsiders)s]
            WHEN r_actor < 0.10 THEN %(active)s
            WHEN r_actor < 0.101 THEN %(rare)s
            WHEN r_actor >= 0.95 THEN NULL
            ELSE (%(members)s::bigint[])[1 + (g * 7919) %% %(n_members)s]
        END AS actor
    FROM (
        SELECT g, random() AS r_time, random() AS r_actor,
            CASE WHEN random() < 0.5 THEN %(org)s
                 ELSE (%(other_orgs)s::bigint[])[1 + g %% %(n_other_orgs)s] END AS org
        FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g
    ) AS drawn
) AS assigned
"""


def _execute(sql: str, params: dict[str, Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _load(people: People, first: int, last: int) -> float:
    """Insert events number first..last (number g happened g * STEP seconds before END)."""
    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'audit_auditevent' "
            "AND indexname <> 'audit_auditevent_pkey'"
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SET session_replication_role = replica")  # no FK triggers: see above
        cursor.execute("SELECT setseed(%s)", [first / (LARGE + 1)])
        cursor.execute(
            INSERT,
            {
                "end": END,
                "step": STEP_SECONDS,
                "codes": CODES,
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
            },
        )
        cursor.execute("SET session_replication_role = DEFAULT")
        cursor.execute("SET maintenance_work_mem = '1GB'")
        for _name, definition in indexes:
            cursor.execute(definition)
        cursor.execute("VACUUM (ANALYZE) audit_auditevent")
    return time.perf_counter() - start


@dataclass(frozen=True)
class Search:
    label: str
    user: Callable[[People], User]
    days: int


SEARCHES = [
    Search("active member, 7 days", lambda p: p.active, 7),
    Search("rare member, 30 days", lambda p: p.rare, 30),
]


def _filters(people: People, search: Search) -> AuditFilters:
    until = END - timedelta(days=1)
    return AuditFilters(
        actor_id=search.user(people).pk, since=until - timedelta(days=search.days), until=until
    )


def _timed(people: People, filters: AuditFilters, cursor: str | None = None) -> float:
    def once() -> int:
        page = audit_events_search(
            membership=people.officer, filters=filters, cursor=cursor, limit=50
        )
        return len(page.events)

    once()  # warm-up
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        once()
        best = min(best, time.perf_counter() - start)
    return best


def _explain(
    people: People, filters: AuditFilters, title: str, out: list[str], cursor: str | None = None
) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) the exact statement the search runs; return its summary."""
    with CaptureQueriesContext(connection) as captured:
        audit_events_search(membership=people.officer, filters=filters, cursor=cursor, limit=50)
    sql = next(q["sql"] for q in captured.captured_queries if "audit_auditevent" in q["sql"])
    with connection.cursor() as db:
        db.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        plan = [row[0] for row in db.fetchall()]
    out += [f"== {title}", sql, "", *plan, ""]
    scans = [line.strip() for line in plan if "Scan" in line]
    timing = [line.strip() for line in plan if line.startswith("Execution Time")]
    buffers = next((line.strip() for line in plan if "Buffers:" in line), "")
    return f"{scans[0] if scans else plan[0]} | {buffers} | {timing[0] if timing else ''}"


def _measure(people: People, size: str, explain: list[str]) -> dict[str, float]:
    """First-page latency of every search at the current table size."""
    figures: dict[str, float] = {}
    for search in SEARCHES:
        filters = _filters(people, search)
        figures[search.label] = _timed(people, filters)
        summary = _explain(people, filters, f"{search.label}, {size}", explain)
        print(f"   {size} {search.label}: {figures[search.label] * 1000:.2f} ms  [{summary}]")
    return figures


def _deep_page(people: People, search: Search, page: int, explain: list[str]) -> float:
    filters = _filters(people, search)
    cursor = None
    for _ in range(page - 1):
        result = audit_events_search(
            membership=people.officer, filters=filters, cursor=cursor, limit=50
        )
        cursor = result.next_cursor
        assert cursor is not None, "the search has fewer pages than asked"
    seconds = _timed(people, filters, cursor)
    summary = _explain(people, filters, f"{search.label}, page {page}", explain, cursor)
    print(f"   page {page} of {search.label}: {seconds * 1000:.2f} ms  [{summary}]")
    return seconds


def run() -> list[dict[str, object]]:
    people = _people()
    explain: list[str] = []
    large = os.environ.get("PHIWARDEN_BENCH_LARGE") == "1"
    proposed = os.environ.get("PHIWARDEN_BENCH_SEARCH_INDEX", "").strip()

    print(f"   loading {SMALL:,} events ... {_load(people, 1, SMALL):.0f} s")
    small = _measure(people, "1M", explain)
    active = SEARCHES[0]
    page_20 = _deep_page(people, active, 20, explain)
    results: list[dict[str, object]] = [
        {
            "name": f"audit search 1M, {active.label}",
            "n": 1,
            "ours_seconds": small[active.label],
            "peer_name": "its 20th page (keyset cursor), 1M",
            "peer_seconds": page_20,
        }
    ]
    final, final_size = small, "1M"
    if large:
        print(f"   loading {LARGE - SMALL:,} older events ... ", end="", flush=True)
        print(f"{_load(people, SMALL + 1, LARGE):.0f} s")
        final = _measure(people, "10M", explain)
        final_size = "10M"
        results += [
            {
                "name": f"audit search 10M, {search.label}",
                "n": 1,
                "ours_seconds": final[search.label],
                "peer_name": "the same search at 1M events",
                "peer_seconds": small[search.label],
            }
            for search in SEARCHES
        ]
    if proposed:
        _execute(f"CREATE INDEX bench_proposed ON audit_auditevent {proposed}")
        _execute("ANALYZE audit_auditevent")
        print(f"   with the proposed index {proposed}:")
        with_index = _measure(people, f"{final_size} + proposed index", explain)
        results += [
            {
                "name": f"audit search {final_size} + index, {search.label}",
                "n": 1,
                "ours_seconds": with_index[search.label],
                "peer_name": f"the same search, schema's indexes, {final_size}",
                "peer_seconds": final[search.label],
            }
            for search in SEARCHES
        ]
        _execute("DROP INDEX bench_proposed")
    EXPLAIN_FILE.parent.mkdir(exist_ok=True)
    EXPLAIN_FILE.write_text("\n".join(explain) + "\n", encoding="utf-8")
    print(f"   plans: {EXPLAIN_FILE}")
    return results
