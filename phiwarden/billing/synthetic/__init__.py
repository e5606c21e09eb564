"""Seeded synthetic billing data and X12 files; everything it makes is marked synthetic.

    batch = generate_batch(seed=1, claims=500)
    with open("claims.837", "wb") as f:
        batch.write_837p(f)

Marker: ISA06 sender id PHIWSYNTH and ISA15 = T in every file; see docs/x12.md.
"""

from phiwarden.billing.synthetic.generator import (
    SYNTHETIC_SENDER_ID,
    SyntheticBatch,
    generate_batch,
)

__all__ = ["SYNTHETIC_SENDER_ID", "SyntheticBatch", "generate_batch"]
