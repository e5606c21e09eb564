from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from phiwarden.audit import merkle


def reference_root(leaves):
    """RFC 6962 §2.1 MTH, written the obvious recursive way."""
    if not leaves:
        return merkle.EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return merkle.node_hash(reference_root(leaves[:k]), reference_root(leaves[k:]))


def leaves_of(n):
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def test_known_answer_for_empty_and_single_leaf():
    assert merkle.root_of([]).hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    # RFC 6962 leaf hash of the empty string: SHA-256(0x00)
    assert merkle.leaf_hash(b"").hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )


@given(st.integers(min_value=1, max_value=300))
def test_frontier_root_matches_rfc6962(n):
    assert merkle.root_of(leaves_of(n)) == reference_root(leaves_of(n))


@given(st.integers(min_value=1, max_value=200), st.data())
def test_frontier_survives_json_round_trip_mid_tree(n, data):
    cut = data.draw(st.integers(min_value=0, max_value=n))
    leaves = leaves_of(n)
    first = merkle.Frontier()
    first.extend(leaves[:cut])
    resumed = merkle.Frontier.from_json(first.to_json())
    resumed.extend(leaves[cut:])
    assert resumed.root() == reference_root(leaves)


@given(st.integers(min_value=1, max_value=130), st.data())
def test_inclusion_proofs_verify_and_reject_other_leaves(n, data):
    leaves = leaves_of(n)
    root = merkle.root_of(leaves)
    index = data.draw(st.integers(min_value=0, max_value=n - 1))
    proof = merkle.inclusion_proof(leaves, index)
    assert merkle.verify_inclusion(leaves[index], index, n, proof, root)
    assert not merkle.verify_inclusion(merkle.leaf_hash(b"forged"), index, n, proof, root)


@given(st.integers(min_value=1, max_value=130), st.data())
def test_consistency_proofs_verify_and_reject_a_rewritten_past(n, data):
    leaves = leaves_of(n)
    old = data.draw(st.integers(min_value=1, max_value=n))
    proof = merkle.consistency_proof(leaves, old)
    old_root = merkle.root_of(leaves[:old])
    assert merkle.verify_consistency(old, n, old_root, merkle.root_of(leaves), proof)
    rewritten = [merkle.leaf_hash(b"rewritten"), *leaves[1:old]]
    if old < n:
        assert not merkle.verify_consistency(
            old, n, merkle.root_of(rewritten), merkle.root_of(leaves), proof
        )
