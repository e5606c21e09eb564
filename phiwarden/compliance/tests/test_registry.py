"""The checklist registry's shared facts: computed once per measurement, never kept."""

from __future__ import annotations

from phiwarden.compliance.registry import one_measurement, shared_fact


def test_a_shared_fact_is_computed_once_per_measurement_and_then_forgotten():
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert (shared_fact("k", compute), shared_fact("k", compute)) == (1, 2)  # not measuring
    with one_measurement():
        assert (shared_fact("k", compute), shared_fact("k", compute)) == (3, 3)
    with one_measurement():
        assert shared_fact("k", compute) == 4
