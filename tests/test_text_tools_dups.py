from itertools import combinations

import numpy as np
import pytest

from seqlab.text.tools.dups import (
    MinHasher,
    choose_bands,
    find_duplicates,
    jaccard,
    lsh_candidates,
    minhash_similarity,
    shingles,
    tf_cosine,
)
from seqlab.text.tools.files import Document
from seqlab.text.tools.search import terms

BASE = terms("the committee met on tuesday to discuss the budget for the coming year and agreed to raise spending "
        "on schools roads and hospitals while cutting the cost of administration by ten percent")


def test_shingles_and_jaccard():
    assert shingles(["a", "b", "c", "d"], 2) == {"a b", "b c", "c d"}
    assert shingles(["a"], 3) == {"a"} and shingles([], 3) == set()
    assert jaccard({"x", "y"}, {"y", "z"}) == pytest.approx(1 / 3)
    assert jaccard(set(), set()) == 0.0


def test_tf_cosine():
    from collections import Counter

    assert tf_cosine(Counter("aab"), Counter("aab")) == pytest.approx(1.0)
    assert tf_cosine(Counter("ab"), Counter("cd")) == 0.0
    assert tf_cosine(Counter({"a": 1, "b": 1}), Counter({"a": 1})) == pytest.approx(1 / np.sqrt(2))


@pytest.mark.parametrize("shift", [0, 10, 30, 60, 90])
def test_minhash_estimates_jaccard(shift):
    a = {f"shingle {i}" for i in range(100)}
    b = {f"shingle {i}" for i in range(shift, shift + 100)}  # Jaccard (100 - shift) / (100 + shift)
    exact = jaccard(a, b)
    estimates = []
    for seed in range(8):
        hasher = MinHasher(num_perm=256, seed=seed)
        estimates.append(minhash_similarity(hasher.signature(a), hasher.signature(b)))
    # one estimate has standard error sqrt(J (1 - J) / 256) <= 0.031: 0.1 is over three of them;
    # the mean of 8 independent ones is unbiased with error <= 0.011
    assert max(abs(e - exact) for e in estimates) <= 0.1
    assert abs(np.mean(estimates) - exact) <= 0.035


def test_minhash_is_deterministic_and_exact_for_identical_sets():
    sig = MinHasher(64, seed=3).signature({"a b c", "b c d"})
    assert sig.shape == (64,) and sig.dtype == np.uint64
    np.testing.assert_array_equal(sig, MinHasher(64, seed=3).signature({"b c d", "a b c"}))
    with pytest.raises(ValueError):
        MinHasher(8).signature(set())


def test_choose_bands_keeps_recall_at_threshold():
    for threshold in (0.5, 0.8, 0.9):
        bands, rows = choose_bands(128, threshold)
        assert bands * rows == 128 and 1 - (1 - threshold**rows) ** bands >= 0.99
        if 128 // (rows * 2) >= 1 and 128 % (rows * 2) == 0:  # the next more selective banding loses recall
            assert 1 - (1 - threshold ** (rows * 2)) ** (bands // 2) < 0.99


def test_lsh_candidates_share_a_band():
    signatures = np.array([[1, 2, 3, 4], [1, 2, 9, 9], [7, 7, 3, 4], [5, 6, 7, 8]], dtype=np.uint64)
    assert lsh_candidates(signatures, bands=2, rows=2) == {(0, 1), (0, 2)}


def test_find_duplicates():
    near = list(BASE)
    near[10] = "plan"  # one word changed
    reordered = BASE[15:] + BASE[:15]
    documents = [Document("a.txt", " ".join(BASE)), Document("b.txt", " ".join(near).upper()),
                 Document("c.txt", " ".join(reordered)), Document("d.txt", "something else entirely"),
                 Document("e.txt", "")]
    sets = [shingles(terms(d.text), 3) for d in documents]
    for threshold in (0.5, 0.8, 0.85):
        brute_force = {(documents[i].name, documents[j].name) for i, j in combinations(range(len(documents)), 2)
                       if jaccard(sets[i], sets[j]) >= threshold}
        pairs = find_duplicates(documents, threshold=threshold)
        assert {(p.a, p.b) for p in pairs} == brute_force and len(pairs) == len(brute_force)
    pairs = find_duplicates(documents, threshold=0.8)
    assert [(p.a, p.b) for p in pairs] == [("a.txt", "c.txt"), ("a.txt", "b.txt")]  # most similar first
    top = pairs[0]
    assert top.jaccard == pytest.approx(jaccard(shingles(BASE, 3), shingles(reordered, 3)))
    assert top.cosine == pytest.approx(1.0)  # same words, other order
    assert abs(top.minhash - top.jaccard) < 0.15
    assert find_duplicates(documents, threshold=1.0) == []
    with pytest.raises(ValueError):
        find_duplicates(documents, threshold=0)
