"""The tree agrees with the published transparency-dev/merkle test vectors (proof/verify_test.go:
leaves, roots of sizes 1-8, inclusion and consistency proofs), and the verifiers refuse
corrupted proofs the way that suite probes them."""

from __future__ import annotations

import pytest

from zhihui.core.audit import merkle

LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f")]
ROOTS = [bytes.fromhex(h) for h in (
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")]


def h(s: str) -> bytes:
    return bytes.fromhex(s)


# (leaf number from 1, tree size, proof)
INCLUSION = [
    (1, 1, []),
    (1, 8, [h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")]),
    (6, 8, [h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]),
    (3, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (2, 5, [h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")]),
]
CONSISTENCY = [
    (1, 1, []),
    (1, 8, [h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")]),
    (6, 8, [h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]),
    (2, 5, [h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")]),
    (6, 7, [h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]),
]
SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")


@pytest.fixture(scope="module")
def nodes() -> dict[merkle.Key, bytes]:
    """Every perfect subtree of the 8-leaf tree, as the log stores them."""
    tree, store = merkle.CompactRange(), {}
    for leaf in LEAVES:
        for level, idx, value in tree.append(merkle.leaf_hash(leaf)):
            store[(level, idx)] = value
    return store


def test_the_empty_tree_hashes_to_sha256_of_nothing():
    assert merkle.root_of([]).hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_of_every_size_match_the_vectors(size, nodes):
    assert merkle.root_of(LEAVES[:size]) == ROOTS[size - 1]
    assert merkle.root_from(size, nodes) == ROOTS[size - 1]  # from stored subtrees only


@pytest.mark.parametrize("leaf,size,proof", INCLUSION)
def test_inclusion_proofs_match_the_vectors(leaf, size, proof, nodes):
    assert merkle.resolve(merkle.inclusion_plan(leaf - 1, size), nodes) == proof
    leaf_hash = merkle.leaf_hash(LEAVES[leaf - 1])
    assert merkle.verify_inclusion(leaf - 1, size, leaf_hash, proof, ROOTS[size - 1])


@pytest.mark.parametrize("first,second,proof", CONSISTENCY)
def test_consistency_proofs_match_the_vectors(first, second, proof, nodes):
    assert merkle.resolve(merkle.consistency_plan(first, second), nodes) == proof
    assert merkle.verify_consistency(first, second, ROOTS[first - 1], ROOTS[second - 1], proof)


@pytest.mark.parametrize("leaf,size,proof", [v for v in INCLUSION if v[2]])
def test_corrupted_inclusion_proofs_are_refused(leaf, size, proof):
    i, root, lh = leaf - 1, ROOTS[size - 1], merkle.leaf_hash(LEAVES[leaf - 1])
    probes = [
        (i - 1, size, lh, proof, root), (i + 1, size, lh, proof, root),
        (i ^ 2, size, lh, proof, root), (i, size * 2, lh, proof, root),
        (i, size // 2, lh, proof, root), (i, size, b"WrongLeaf", proof, root),
        (i, size, lh, proof, merkle.EMPTY_ROOT), (i, size, lh, proof, SOME_HASH),
        (i, size, lh, [*proof, b""], root), (i, size, lh, [*proof, root], root),
        (i, size, lh, [b"", *proof], root), (i, size, lh, [root, *proof], root),
        (i, size, lh, proof[:-1], root), (i, size, lh, [proof[0], SOME_HASH, *proof[1:]], root),
    ]
    for n in range(len(proof)):
        flipped = list(proof)
        flipped[n] = bytes([flipped[n][0] ^ 8]) + flipped[n][1:]
        probes.append((i, size, lh, flipped, root))
    for probe in probes:
        assert not merkle.verify_inclusion(*probe), probe[:2]


@pytest.mark.parametrize("first,second,proof", [v for v in CONSISTENCY if v[2]])
def test_corrupted_consistency_proofs_are_refused(first, second, proof):
    r1, r2 = ROOTS[first - 1], ROOTS[second - 1]
    probes = [
        (first - 1, second, r1, r2, proof), (first + 1, second, r1, r2, proof),
        (first ^ 2, second, r1, r2, proof), (first, second * 2, r1, r2, proof),
        (first, second // 2, r1, r2, proof), (first, second, b"WrongRoot", r2, proof),
        (first, second, r1, b"WrongRoot", proof), (first, second, r2, r1, proof),
        (first, second, r1, r2, []), (first, second, r1, r2, [*proof, b""]),
        (first, second, r1, r2, [*proof, r1]), (first, second, r1, r2, [*proof, r2]),
        (first, second, r1, r2, [b"", *proof]), (first, second, r1, r2, [r1, *proof]),
        (first, second, r1, r2, [r2, *proof]), (first, second, r1, r2, [proof[0], *proof]),
        (first, second, r1, r2, proof[:-1]),
    ]
    for n in range(len(proof)):
        flipped = list(proof)
        flipped[n] = bytes([flipped[n][0] ^ 16]) + flipped[n][1:]
        probes.append((first, second, r1, r2, flipped))
    for probe in probes:
        assert not merkle.verify_consistency(*probe), probe[:2]


def test_the_trivial_consistency_cases():
    assert merkle.verify_consistency(0, 0, b"x", b"x", [])
    assert merkle.verify_consistency(0, 1, b"x", b"y", [])
    assert not merkle.verify_consistency(1, 1, b"x", b"y", [])
    assert not merkle.verify_consistency(1, 0, b"x", b"y", [])
    assert not merkle.verify_consistency(1, 2, b"x", b"y", [])
    assert not merkle.verify_consistency(1, 1, merkle.EMPTY_ROOT, merkle.EMPTY_ROOT,
                                         [merkle.EMPTY_ROOT])


def test_proofs_from_stored_subtrees_verify_for_every_size_up_to_70():
    """Non-powers of two included: every index and every pair of sizes."""
    leaves = [f"entry {i}".encode() for i in range(70)]
    tree, store, roots = merkle.CompactRange(), {}, []
    for leaf in leaves:
        for level, idx, value in tree.append(merkle.leaf_hash(leaf)):
            store[(level, idx)] = value
        roots.append(tree.root())
    for n in range(1, 71):
        assert roots[n - 1] == merkle.root_of(leaves[:n]) == merkle.root_from(n, store)
        for m in range(n):
            proof = merkle.resolve(merkle.inclusion_plan(m, n), store)
            assert len(proof) <= (n - 1).bit_length()
            assert merkle.verify_inclusion(m, n, store[(0, m)], proof, roots[n - 1])
        for f in range(1, n + 1):
            proof = merkle.resolve(merkle.consistency_plan(f, n), store)
            assert merkle.verify_consistency(f, n, roots[f - 1], roots[n - 1], proof)
