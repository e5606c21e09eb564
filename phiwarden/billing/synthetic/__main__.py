"""python -m phiwarden.billing.synthetic --claims 5000 --seed 1 --out DIR

Writes DIR/synthetic-837p.x12, DIR/synthetic-837i.x12 and DIR/synthetic-835.x12.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

from tqdm import tqdm  # type: ignore[import-untyped]

from phiwarden.billing.synthetic.generator import generate_batch
from phiwarden.billing.x12.writer import write_835, write_837

T = TypeVar("T")


def _progress(items: Iterator[T], total: int, label: str) -> Iterator[T]:
    return iter(tqdm(items, total=total, desc=label, unit=" claims", file=sys.stderr))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write synthetic 837P, 837I and 835 files.")
    parser.add_argument("--claims", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    batch = generate_batch(args.seed, claims=args.claims)
    counts = {}
    with (args.out / "synthetic-837p.x12").open("wb") as f:
        counts["837P"] = write_837(_progress(batch.iter_claims("837P"), 0, "837P"), f)
    with (args.out / "synthetic-837i.x12").open("wb") as f:
        counts["837I"] = write_837(_progress(batch.iter_claims("837I"), 0, "837I"), f)
    with (args.out / "synthetic-835.x12").open("wb") as f:
        counts["835"] = write_835(_progress(batch.iter_remittance(), 0, "835"), f)
    summary = ", ".join(f"{count} {kind}" for kind, count in counts.items())
    print(f"Wrote {summary} items (synthetic, ISA15=T) to {args.out}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
