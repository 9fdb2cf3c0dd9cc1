"""Near-duplicate (plagiarism) detection: word shingles, MinHash signatures, LSH banding, then exact checks.

    pairs = find_duplicates(documents, threshold=0.8)   -> [DupPair(a, b, jaccard, minhash, cosine), ...]

1. Each document becomes the set of its k-shingles: runs of k consecutive words (lower-cased word tokens).
2. MinHash: for P random hash functions h_i(x) = (a_i x + b_i) mod p, the signature keeps min over shingles
   of h_i. Two signatures agree at position i with probability J(A, B) = |A & B| / |A | B|, so the share of
   equal positions estimates the Jaccard similarity.
3. LSH banding: the signature is cut into `bands` bands of `rows` values; documents with an identical band
   become candidate pairs. A pair of similarity s becomes a candidate with probability 1 - (1 - s^rows)^bands,
   so only similar pairs are compared instead of all N^2 / 2.
4. Candidates are checked with the exact shingle Jaccard (the threshold applies to it) and reported with the
   cosine similarity of their word-count (TF) vectors, which also sees reordered text.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from seqlab.text.tools.files import Document
from seqlab.text.tools.search import terms

# A Mersenne prime. With a, b, x < p the products a x + b < 2^62 are exact in uint64, and they wrap around p
# about 2^31 times, which mixes well (a p far above a x, such as 2^61 - 1, would leave h_i increasing in x:
# every hash function would then pick the same minimum shingle)
PRIME = (1 << 31) - 1


def shingles(words: Sequence[str], k: int = 3) -> set[str]:
    """The set of runs of k consecutive words; a document shorter than k is one shingle."""
    if len(words) < k:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + k]) for i in range(len(words) - k + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def tf_cosine(a: Counter[str], b: Counter[str]) -> float:
    """Cosine of two term-count vectors."""
    dot = sum(count * b[term] for term, count in a.items())
    norms = math.sqrt(sum(c * c for c in a.values())) * math.sqrt(sum(c * c for c in b.values()))
    return dot / norms if norms else 0.0


def shingle_id(shingle: str) -> int:
    """A stable number in [0, PRIME) for a shingle (Python's hash() of a str changes between runs)."""
    return int.from_bytes(hashlib.blake2b(shingle.encode("utf-8"), digest_size=8).digest(), "little") % PRIME


@dataclass
class MinHasher:
    num_perm: int = 128
    seed: int = 0
    a: np.ndarray = field(init=False, repr=False)  # (P,)
    b: np.ndarray = field(init=False, repr=False)  # (P,)

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        self.a = rng.integers(1, PRIME, size=self.num_perm, dtype=np.uint64)
        self.b = rng.integers(0, PRIME, size=self.num_perm, dtype=np.uint64)

    def signature(self, shingle_set: set[str]) -> np.ndarray:
        """min over shingles x of (a_i x + b_i) mod p, for each of the P hash functions: (P,)."""
        if not shingle_set:
            raise ValueError("no shingles: an empty document has no MinHash signature")
        x = np.array([shingle_id(s) for s in shingle_set], dtype=np.uint64)  # (S,)
        return ((self.a[:, None] * x[None, :] + self.b[:, None]) % np.uint64(PRIME)).min(1)  # (P, S) -> (P,)


def minhash_similarity(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """The share of equal signature positions: an unbiased estimate of the Jaccard similarity."""
    return float(np.mean(sig_a == sig_b))


def choose_bands(num_perm: int, threshold: float, recall: float = 0.99) -> tuple[int, int]:
    """(bands, rows): the most selective banding (most rows per band) under which a pair exactly at the
    threshold still becomes a candidate with probability >= recall."""
    for rows in sorted((r for r in range(1, num_perm + 1) if num_perm % r == 0), reverse=True):
        bands = num_perm // rows
        if 1 - (1 - threshold**rows) ** bands >= recall:
            return bands, rows
    return num_perm, 1


def lsh_candidates(signatures: np.ndarray, bands: int, rows: int) -> set[tuple[int, int]]:
    """Pairs of documents (rows of the (D, P) signature matrix) that share all values of some band."""
    pairs: set[tuple[int, int]] = set()
    for band in range(bands):
        buckets: dict[bytes, list[int]] = defaultdict(list)
        for doc, signature in enumerate(signatures):
            buckets[signature[band * rows : (band + 1) * rows].tobytes()].append(doc)
        for docs in buckets.values():
            pairs.update(combinations(docs, 2))
    return pairs


@dataclass(frozen=True)
class DupPair:
    a: str
    b: str
    jaccard: float  # exact, of the shingle sets
    minhash: float  # its MinHash estimate
    cosine: float  # of the word-count vectors


def find_duplicates(documents: Sequence[Document], *, threshold: float = 0.8, k: int = 3, num_perm: int = 128,
                    seed: int = 0) -> list[DupPair]:
    """Pairs of documents whose shingle Jaccard similarity is >= threshold, most similar first."""
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    words = [terms(doc.text) for doc in documents]
    keep = [i for i, w in enumerate(words) if w]  # empty documents have no shingles to compare
    sets = {i: shingles(words[i], k) for i in keep}
    hasher = MinHasher(num_perm, seed)
    signatures = np.stack([hasher.signature(sets[i]) for i in keep]) if keep else np.empty((0, num_perm))
    pairs = []
    for x, y in sorted(lsh_candidates(signatures, *choose_bands(num_perm, threshold))):
        i, j = keep[x], keep[y]
        similarity = jaccard(sets[i], sets[j])
        if similarity >= threshold:
            pairs.append(DupPair(documents[i].name, documents[j].name, similarity,
                                 minhash_similarity(signatures[x], signatures[y]),
                                 tf_cosine(Counter(words[i]), Counter(words[j]))))
    return sorted(pairs, key=lambda p: -p.jaccard)  # stable: ties stay in document order
