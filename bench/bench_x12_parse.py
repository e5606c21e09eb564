"""How fast our X12 reader and 837 parser are against pyx12, on the same synthetic file.

The file is a generated 5,000-claim 837P (seed 1, ~2 MB, ISA15 = T). Comparisons:

* `x12_parse_837p` (the row the >= 20x goal refers to): reading the 837 into its loop
  structure. Ours: `parse_837` (segments, the loop hierarchy billing provider -> subscriber
  -> patient -> claim -> line, typed values). pyx12's way to read an 837's structure is its
  `X12ContextReader`, which walks the X222A1 map to place every segment in its loop; it is
  run with the null error handler, so it writes no 997, HTML or JSON. pyx12 checks each
  segment against the map as it walks (it cannot walk without the map), so it does some
  work we do not; we build typed claims, which it does not.
* `x12_segments_837p`: tokenising only. Our `read_segments` (decode, split, envelope checks:
  ISA/IEA, GS/GE, ST/SE counts and control numbers) against pyx12's `X12Reader`, its plain
  segment reader, which does the same job. About 10x: the bare CPython floor (read,
  decode, `str.split` into segments and elements, nothing else) is only about 22x
  (docs/x12.md has the profile), so this row cannot reach 20x without a C tokenizer.
* `x12_claims_837p`: our full typed parse against the same `X12Reader` pass (we do strictly
  more work than the peer: a conservative bound).
* `x12_validate_837p`: our full typed parse against pyx12's `x12n_document` (map-driven
  validation with its reports, what the tests use pyx12 for): what validating every import
  with pyx12 would cost.

Timings are the best of ROUNDS rounds, ours and pyx12 interleaved within each round so that
load from other processes hits both alike (one round for the two slow map-driven peers).
The ratios are reported as they are (docs/benchmarks.md has the figures).
"""

from __future__ import annotations

import io
import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyx12.error_handler  # type: ignore[import-untyped]
import pyx12.params  # type: ignore[import-untyped]
import pyx12.x12context  # type: ignore[import-untyped]
import pyx12.x12file  # type: ignore[import-untyped]
import pyx12.x12n_document  # type: ignore[import-untyped]

from phiwarden.billing.synthetic import generate_batch
from phiwarden.billing.x12 import parse_837, read_segments

N_CLAIMS = 5000
ROUNDS = 5


def _seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _best(fn: Callable[[], object], rounds: int = ROUNDS) -> float:
    return min(_seconds(fn) for _ in range(rounds))


def run() -> list[dict[str, object]]:
    logging.getLogger("pyx12").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory(prefix="phiwarden-x12-bench-") as tmp:
        path = Path(tmp) / "synthetic-837p.x12"
        batch = generate_batch(1, claims=N_CLAIMS, institutional_share=0.0, hospitals=0)
        with path.open("wb") as f:
            claims = batch.write_837p(f)
        print(f"   {claims} claims, {path.stat().st_size:,} bytes")

        def ours_segments() -> int:
            with path.open("rb") as f:
                return sum(1 for _ in read_segments(f))

        def ours_claims() -> int:
            with path.open("rb") as f:
                return sum(1 for _ in parse_837(f))

        def pyx12_segments() -> int:
            with path.open(encoding="ascii") as f:
                return sum(1 for _ in pyx12.x12file.X12Reader(f))

        def pyx12_structure() -> int:
            params = pyx12.params.params()
            with path.open(encoding="ascii") as f:
                reader = pyx12.x12context.X12ContextReader(
                    params, pyx12.error_handler.errh_null(), f
                )
                # 2300 loops come back whole, every other segment one by one
                return sum(1 for node in reader.iter_segments("2300") if node.id == "2300")

        def pyx12_validate() -> bool:
            params = pyx12.params.params()
            return bool(
                pyx12.x12n_document.x12n_document(
                    param=params,
                    src_file=str(path),
                    fd_997=None,
                    fd_html=None,
                    fd_json=io.StringIO(),
                )
            )

        assert ours_segments() == pyx12_segments()
        assert ours_claims() == pyx12_structure() == claims  # both found every claim
        ours_claims()  # warm: imports, caches
        ours_seg = peer_seg = ours_claim = float("inf")
        for _ in range(ROUNDS):
            ours_seg = min(ours_seg, _seconds(ours_segments))
            peer_seg = min(peer_seg, _seconds(pyx12_segments))
            ours_claim = min(ours_claim, _seconds(ours_claims))
        peer_structure = _best(pyx12_structure, rounds=1)
        peer_valid = _best(pyx12_validate, rounds=1)
    return [
        {
            "name": "x12_parse_837p",
            "n": claims,
            "ours_seconds": ours_claim,
            "peer_name": "pyx12 X12ContextReader",
            "peer_seconds": peer_structure,
        },
        {
            "name": "x12_segments_837p",
            "n": claims,
            "ours_seconds": ours_seg,
            "peer_name": "pyx12 X12Reader",
            "peer_seconds": peer_seg,
        },
        {
            "name": "x12_claims_837p",
            "n": claims,
            "ours_seconds": ours_claim,
            "peer_name": "pyx12 X12Reader (segments only)",
            "peer_seconds": peer_seg,
        },
        {
            "name": "x12_validate_837p",
            "n": claims,
            "ours_seconds": ours_claim,
            "peer_name": "pyx12 x12n_document",
            "peer_seconds": peer_valid,
        },
    ]
