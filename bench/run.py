"""`make bench`: run every bench/bench_*.py against its peers and print the ratios.

Each benchmark module has a `run()` that returns a list of results, one per comparison:

    {"name": str, "n": int, "ours_seconds": float, "peer_name": str, "peer_seconds": float}

The runner sets Django up itself (config.test_settings, a throwaway SQLite database in a
temporary directory), migrates, runs the modules in name order, prints one table and
writes bench/results/latest.json (git-ignored). Figures worth keeping go into
docs/benchmarks.md by hand, with the machine and the date.

    python bench/run.py                 # every benchmark
    python bench/run.py audit_write     # only modules whose name contains a word
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import TypedDict

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"


class Result(TypedDict):
    name: str
    n: int
    ours_seconds: float
    peer_name: str
    peer_seconds: float


RESULT_KEYS = frozenset(Result.__annotations__)


def _setup_django(var_dir: Path) -> None:
    """Point the settings at an empty SQLite file under `var_dir`, then migrate.

    config.test_settings reads the environment when it is imported, so the variables are
    set first; DATABASE_URL is dropped so that the default SQLite file (WAL) is used.
    """
    os.environ["PHIWARDEN_VAR_DIR"] = str(var_dir)
    os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.test_settings"
    for path in (str(ROOT), str(BENCH_DIR)):
        if path not in sys.path:
            sys.path.insert(0, path)

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def _discover(words: list[str]) -> list[str]:
    names = sorted(path.stem for path in BENCH_DIR.glob("bench_*.py"))
    if words:
        names = [name for name in names if any(word in name for word in words)]
    return names


def _check(module: str, results: object) -> list[Result]:
    if not isinstance(results, list):
        raise TypeError(f"{module}.run() must return a list of results")
    for result in results:
        if not isinstance(result, dict) or set(result) != RESULT_KEYS:
            keys = sorted(RESULT_KEYS)
            raise TypeError(f"{module}.run() returned {result!r}; its keys must be {keys}")
    return results


def _machine() -> dict[str, object]:
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
        "database": f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL)",
    }


def _print_table(results: list[Result]) -> None:
    header = (
        f"{'benchmark':<34} {'n':>6} {'ours s':>9} {'ours /s':>10}  "
        f"{'peer':<32} {'peer s':>9} {'peer /s':>10} {'ours/peer':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        ratio = r["ours_seconds"] / r["peer_seconds"] if r["peer_seconds"] else float("inf")
        print(
            f"{r['name']:<34} {r['n']:>6} {r['ours_seconds']:>9.4f} "
            f"{r['n'] / r['ours_seconds']:>10,.0f}  {r['peer_name']:<32} "
            f"{r['peer_seconds']:>9.4f} {r['n'] / r['peer_seconds']:>10,.0f} {ratio:>8.2f}x"
        )
    print("ours/peer is time over time: below 1 ours is faster, above 1 the peer is.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("words", nargs="*", help="run only modules whose name contains one")
    args = parser.parse_args(argv)

    names = _discover(args.words)
    if not names:
        print("No benchmark matched.", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="phiwarden-bench-") as tmp:
        _setup_django(Path(tmp))
        results: list[Result] = []
        for name in names:
            print(f"== {name}", flush=True)
            module = importlib.import_module(name)
            results.extend(_check(name, module.run()))

        from django.db import connections

        machine = _machine()
        connections.close_all()  # before the temporary database file goes away

    print()
    _print_table(results)
    RESULTS_DIR.mkdir(exist_ok=True)
    report = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python bench/run.py", *args.words]),
        "machine": machine,
        "results": [
            {**r, "ratio_ours_over_peer": round(r["ours_seconds"] / r["peer_seconds"], 3)}
            for r in results
        ],
    }
    out = RESULTS_DIR / "latest.json"
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nWrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
