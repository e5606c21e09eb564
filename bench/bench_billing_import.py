"""The full X12 import (parse, encrypt, store, audit) in claims per second, and its memory.

`phiwarden.billing.imports.x12_import` is run on a generated 837P (seed 1, ISA15 = T) by a
real owner membership of a fresh synthetic organization, for one of its clients, in the
bench's fresh database: spool and hash the upload, store the original as an encrypted blob,
then in one transaction parse every claim, encrypt its PHI (patient, subscriber, account
number, ...), write patients, coverages, claims and service lines, and one audit event per
claim plus the file's own event.

Rows (one per size):

* `billing_import_837p_5k` (and `_50k` with PHIWARDEN_BENCH_LARGE=1, or only the sizes in
  PHIWARDEN_BENCH_IMPORT_SIZES, e.g. `50000`): the import against a
  pure parse of the same file (`parse_837`, every claim into dataclasses, nothing stored).
  The peer is our own parser on purpose: the ratio is the cost of encrypt + store + audit
  per claim over the cost of reading it, and `ours /s` is the import rate in claims per
  second. There is no external peer that does the same job.

Memory is printed, not returned (the runner's rows carry times only): the tracemalloc
peak of the import (Python allocations, measured in a second import of the same size on a
fresh organization, since tracing slows the code down) and the growth of the process's
maximum resident set size (`ru_maxrss`) over the timed import (the file is generated in a
subprocess, so before the import the process holds Django, the app and three pure parses
of the file). "Memory should barely grow": compare the 5,000 and 50,000 figures.

The encrypted originals go to a FileSystemStorage in the bench's temporary directory, as in
production (a directory under VAR_DIR). The test settings' in-memory storage would keep
every imported file's ciphertext in the process and count it in the import's peak
(before 2026-11-27 evening it did: most of the 10,000 -> 50,000 growth was that).

One timed round per size: an import of 5,000 claims takes tens of seconds.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from django.conf import settings
from django.test import override_settings

from phiwarden.accounts.models import Client, Membership, Organization, User
from phiwarden.accounts.roles import Role
from phiwarden.billing.imports import x12_import
from phiwarden.billing.x12 import parse_837

DATABASES = ("sqlite", "postgresql")

SIZES: tuple[int, ...] = (5_000, 50_000) if os.environ.get("PHIWARDEN_BENCH_LARGE") else (5_000,)
if os.environ.get("PHIWARDEN_BENCH_IMPORT_SIZES"):  # e.g. "50000": one size only
    SIZES = tuple(int(n) for n in os.environ["PHIWARDEN_BENCH_IMPORT_SIZES"].split(","))
ROOT = Path(__file__).absolute().parent.parent
_runs = 0


def _owner_and_client() -> tuple[Membership, Client]:
    """A fresh organization each time: importing the same file twice is a duplicate."""
    global _runs
    _runs += 1
    organization = Organization.objects.create(
        name=f"Synthetic Import Bench {_runs}",
        slug=f"synthetic-import-bench-{_runs}",
        is_synthetic=True,
        mfa_required=False,
    )
    user = User.objects.create_user(
        f"import-bench-{_runs}@example.test", None, full_name="Synthetic Owner"
    )
    owner = Membership.objects.create(user=user, organization=organization, role=Role.OWNER)
    client = Client.objects.create(organization=organization, name="Synthetic Family Practice")
    return owner, client


def _import(path: Path) -> int:
    owner, client = _owner_and_client()
    with path.open("rb") as f:
        result = x12_import(actor=owner, client=client, stream=f, filename=path.name)
    assert not result.duplicate
    return result.claims


def _generate(path: Path, size: int) -> int:
    """Write the file in a subprocess, so that the generator's reference data (Faker,
    ICD-10-CM) does not raise this process's maximum resident set size before the import."""
    code = (
        "import sys; from phiwarden.billing.synthetic import generate_batch; "
        "batch = generate_batch(1, claims=int(sys.argv[1]), institutional_share=0.0, "
        "hospitals=0); f = open(sys.argv[2], 'wb'); print(batch.write_837p(f)); f.close()"
    )
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code, str(size), str(path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return int(done.stdout.strip())


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _parse(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in parse_837(f))


def _blob_directory(tmp: str) -> dict[str, object]:
    location = Path(tmp) / "blobs"
    location.mkdir(mode=0o700)
    return {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(location), "file_permissions_mode": 0o600},
    }


def run() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    assert not settings.DEBUG  # DEBUG keeps every query in connection.queries
    with (
        tempfile.TemporaryDirectory(prefix="phiwarden-import-bench-") as tmp,
        override_settings(STORAGES={**settings.STORAGES, "phi_blobs": _blob_directory(tmp)}),
    ):
        for size in SIZES:
            path = Path(tmp) / f"synthetic-837p-{size}.x12"
            claims = _generate(path, size)
            print(f"   {claims:,} claims, {path.stat().st_size:,} bytes", flush=True)

            parse_seconds = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                assert _parse(path) == claims
                parse_seconds = min(parse_seconds, time.perf_counter() - start)

            rss_before = _max_rss_mb()
            start = time.perf_counter()
            imported = _import(path)
            import_seconds = time.perf_counter() - start
            rss_growth = _max_rss_mb() - rss_before
            assert imported == claims, (imported, claims)

            tracemalloc.start()
            try:
                _import(path)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            print(
                f"   import of {claims:,} claims: {import_seconds:.1f} s "
                f"({claims / import_seconds:,.0f} claims/s); tracemalloc peak "
                f"{peak / 2**20:.1f} MiB; ru_maxrss grew {rss_growth:.1f} MiB "
                f"(to {_max_rss_mb():.0f} MiB)",
                flush=True,
            )
            rows.append(
                {
                    "name": f"billing_import_837p_{size // 1000}k",
                    "n": claims,
                    "ours_seconds": import_seconds,
                    "peer_name": "parse_837 only (same file)",
                    "peer_seconds": parse_seconds,
                }
            )
    return rows
