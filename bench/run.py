"""`make bench`: run every bench/bench_*.py against its peers and print the ratios.

Each benchmark module has a `run()` that returns a list of results, one per comparison:

    {"name": str, "n": int, "ours_seconds": float, "peer_name": str, "peer_seconds": float}

and may declare, at module level:

    DATABASES = ("sqlite", "postgresql")   # where it runs; default ("sqlite",)
    EXTRA_APPS = ("auditlog",)             # apps added to INSTALLED_APPS for its run only

The runner runs each (database, module) pair in a child process of its own, on a fresh
throwaway database: SQLite in a temporary directory, or a PostgreSQL database created for
that module and dropped afterwards (`phiwarden_bench` on the local server by default).
The child sets Django up itself (config.test_settings plus the module's EXTRA_APPS),
migrates, calls `run()` and hands the results back. The parent prints one table, with
the database of each row, and writes bench/results/latest.json (git-ignored). Figures
worth keeping go into docs/benchmarks.md by hand, with the machine and the date.

    python bench/run.py                            # every benchmark, on every database
    python bench/run.py audit_write                # modules whose name contains a word
    python bench/run.py --databases sqlite audit   # only the SQLite pass

PostgreSQL: PHIWARDEN_BENCH_POSTGRES_URL (default
postgres://postgres@127.0.0.1:5432/phiwarden_bench) names the server and the throwaway
database, which must not already exist. If the server cannot be reached the PostgreSQL
pass is skipped with a message, unless PHIWARDEN_REQUIRE_POSTGRES is set.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypedDict
from urllib.parse import urlsplit, urlunsplit

BENCH_DIR = Path(__file__).absolute().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
ALL_DATABASES = (SQLITE, POSTGRESQL)
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/phiwarden_bench"
# Never benchmark in (and so never drop) the names the app and its tests use.
RESERVED_NAMES = frozenset({"phiwarden", "test_phiwarden", "postgres", "template0", "template1"})


class Result(TypedDict):
    name: str
    n: int
    ours_seconds: float
    peer_name: str
    peer_seconds: float


class Row(Result):
    database: str


RESULT_KEYS = frozenset(Result.__annotations__)


# --- Child: one module on one fresh database --------------------------------------------


def _setup_django(database: str, extra_apps: tuple[str, ...]) -> None:
    """Configure config.test_settings for the child's database, add the module's apps,
    then migrate. The settings read the environment when imported, so it is set first."""
    if database == SQLITE:
        os.environ.pop("DATABASE_URL", None)  # the default SQLite file (WAL) under VAR_DIR
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.test_settings"
    for path in (str(ROOT), str(BENCH_DIR)):
        if path not in sys.path:
            sys.path.insert(0, path)

    import django
    from django.conf import settings
    from django.core.management import call_command

    settings.INSTALLED_APPS = [
        *settings.INSTALLED_APPS,
        *(app for app in extra_apps if app not in settings.INSTALLED_APPS),
    ]
    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def _database_version() -> str:
    from django.db import connection

    if connection.vendor == "sqlite":
        return f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL)"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute("SHOW synchronous_commit")
        sync = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        buffers = cursor.fetchone()[0]
    return f"PostgreSQL {version} (synchronous_commit={sync}, shared_buffers={buffers})"


def _child(database: str, name: str, out: Path) -> int:
    extra_apps = _declared(name, "EXTRA_APPS", ())
    _setup_django(database, extra_apps)
    module = importlib.import_module(name)  # after set-up: modules import models
    results = _check(name, module.run())
    from django.db import connections

    report = {"results": results, "database_version": _database_version()}
    connections.close_all()  # before the database goes away
    out.write_text(json.dumps(report), encoding="utf-8")
    return 0


# --- Parent: discover, make databases, run children, report -----------------------------


def _discover(words: list[str]) -> list[str]:
    names = sorted(path.stem for path in BENCH_DIR.glob("bench_*.py"))
    if words:
        names = [name for name in names if any(word in name for word in words)]
    return names


def _declared(name: str, variable: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """A module-level tuple of strings, read without importing the module (which may
    import models, so only after Django is set up)."""
    import ast

    tree = ast.parse((BENCH_DIR / f"{name}.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id == variable:
            return tuple(str(item) for item in ast.literal_eval(value))
    return default


def _declared_databases(name: str) -> tuple[str, ...]:
    databases = _declared(name, "DATABASES", (SQLITE,))
    unknown = set(databases) - set(ALL_DATABASES)
    if unknown:
        raise ValueError(f"{name}.DATABASES names unknown databases {sorted(unknown)}")
    return databases


def _check(module: str, results: object) -> list[Result]:
    if not isinstance(results, list):
        raise TypeError(f"{module}.run() must return a list of results")
    for result in results:
        if not isinstance(result, dict) or set(result) != RESULT_KEYS:
            keys = sorted(RESULT_KEYS)
            raise TypeError(f"{module}.run() returned {result!r}; its keys must be {keys}")
    return results


def _postgres_admin(url: str) -> Any:
    """A psycopg connection to the server's maintenance database, or None if unreachable."""
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    try:
        return psycopg.connect(admin, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError:
        return None


@contextmanager
def _fresh_postgres(url: str) -> Iterator[str]:
    """Create the throwaway database named in `url`, yield its URL, drop it afterwards."""
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    if not name or name in RESERVED_NAMES:
        raise SystemExit(f"refusing to benchmark in the database {name!r}: name a throwaway one")
    admin = _postgres_admin(url)
    if admin is None:
        raise SystemExit(f"PostgreSQL at {url} is not reachable")
    with admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists:
            raise SystemExit(
                f"the database {name!r} already exists: drop it, or name another one in "
                "PHIWARDEN_BENCH_POSTGRES_URL (the runner only drops databases it created)"
            )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield url
        finally:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextmanager
def _fresh_database(database: str, postgres_url: str) -> Iterator[dict[str, str]]:
    """The environment of a child: a fresh database of the given kind."""
    with tempfile.TemporaryDirectory(prefix="phiwarden-bench-") as tmp:
        env = {**os.environ, "PHIWARDEN_VAR_DIR": tmp}
        env.pop("DATABASE_URL", None)
        if database == SQLITE:
            yield env
        else:
            with _fresh_postgres(postgres_url) as url:
                yield {**env, "DATABASE_URL": url}


def _run_child(database: str, name: str, postgres_url: str) -> dict[str, Any] | None:
    """The child's report, or None if it failed (its traceback is already on stderr)."""
    with _fresh_database(database, postgres_url) as env, tempfile.TemporaryDirectory() as out:
        result_file = Path(out) / "result.json"
        command = [sys.executable, str(BENCH_DIR / "run.py")]
        command += ["--child", database, name, str(result_file)]
        completed = subprocess.run(command, env=env, cwd=ROOT, check=False)  # noqa: S603
        if completed.returncode != 0:
            print(f"!! {name} on {database} failed (exit {completed.returncode})", file=sys.stderr)
            return None
        report: dict[str, Any] = json.loads(result_file.read_text(encoding="utf-8"))
        return report


def _machine(database_versions: dict[str, str]) -> dict[str, object]:
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu_model = platform.processor()

    import django

    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "databases": database_versions,
        "load_average": os.getloadavg(),
    }


def _print_table(rows: list[Row]) -> None:
    header = (
        f"{'benchmark':<40} {'db':<10} {'n':>8} {'ours s':>9} {'ours /s':>11}  "
        f"{'peer':<36} {'peer s':>9} {'peer /s':>11} {'ours/peer':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        ratio = r["ours_seconds"] / r["peer_seconds"] if r["peer_seconds"] else float("inf")
        print(
            f"{r['name']:<40} {r['database']:<10} {r['n']:>8} {r['ours_seconds']:>9.4f} "
            f"{r['n'] / r['ours_seconds']:>11,.0f}  {r['peer_name']:<36} "
            f"{r['peer_seconds']:>9.4f} {r['n'] / r['peer_seconds']:>11,.0f} {ratio:>8.2f}x"
        )
    print("ours/peer is time over time: below 1 ours is faster, above 1 the peer is.")


def _postgres_wanted(databases: list[str], postgres_url: str) -> bool:
    if POSTGRESQL not in databases:
        return False
    admin = _postgres_admin(postgres_url)
    if admin is not None:
        admin.close()
        return True
    message = f"PostgreSQL at {postgres_url} is not reachable"
    if os.environ.get("PHIWARDEN_REQUIRE_POSTGRES"):
        raise SystemExit(message)
    print(f"{message}: skipped the PostgreSQL pass", file=sys.stderr)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("words", nargs="*", help="run only modules whose name contains one")
    parser.add_argument(
        "--databases",
        default=",".join(ALL_DATABASES),
        help="comma-separated: sqlite, postgresql (default: both)",
    )
    parser.add_argument("--child", nargs=3, metavar=("DB", "MODULE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        database, name, out = args.child
        return _child(database, name, Path(out))

    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    unknown = set(databases) - set(ALL_DATABASES)
    if unknown:
        parser.error(f"unknown databases {sorted(unknown)}")
    postgres_url = os.environ.get("PHIWARDEN_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    if not _postgres_wanted(databases, postgres_url):
        databases = [d for d in databases if d != POSTGRESQL]

    names = _discover(args.words)
    plan = [(db, name) for db in databases for name in names if db in _declared_databases(name)]
    if not plan:
        print("No benchmark matched.", file=sys.stderr)
        return 2

    rows: list[Row] = []
    failed: list[str] = []
    versions: dict[str, str] = {}
    started = time.perf_counter()
    for database, name in plan:
        print(f"== {name} on {database}", flush=True)
        report = _run_child(database, name, postgres_url)
        if report is None:
            failed.append(f"{name} on {database}")
            continue
        versions[database] = report["database_version"]
        rows += [
            Row(
                name=r["name"],
                n=r["n"],
                ours_seconds=r["ours_seconds"],
                peer_name=r["peer_name"],
                peer_seconds=r["peer_seconds"],
                database=database,
            )
            for r in report["results"]
        ]
    elapsed = time.perf_counter() - started

    print()
    _print_table(rows)
    RESULTS_DIR.mkdir(exist_ok=True)
    report_out = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python bench/run.py", *(sys.argv[1:] if argv is None else argv)]),
        "elapsed_seconds": round(elapsed, 1),
        "machine": _machine(versions),
        "results": [
            {**r, "ratio_ours_over_peer": round(r["ours_seconds"] / r["peer_seconds"], 3)}
            for r in rows
        ],
        "failed": failed,
    }
    out = RESULTS_DIR / "latest.json"
    out.write_text(json.dumps(report_out, indent=2) + "\n", encoding="utf-8")
    print(f"\nWrote {out.relative_to(ROOT)} ({elapsed:.0f} s)")
    if failed:
        print(f"Failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
