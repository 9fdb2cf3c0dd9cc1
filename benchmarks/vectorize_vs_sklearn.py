"""Our bag-of-words and TF-IDF vs scikit-learn's CountVectorizer / TfidfVectorizer on IMDB train.

Tokenisation + vectorisation throughput (tokens/s) of the whole pipeline, raw review text in, sparse
matrix out, both sides with scikit-learn's default settings (lower-casing, token pattern
r"(?u)\\b\\w\\w+\\b", unigrams, smoothed idf, L2 norm). Each run checks that the two matrices are the
same: the same vocabulary, identical counts, TF-IDF values equal to 1e-12. Runs are interleaved
(ours, sklearn, ours, ...) and each side's best round is kept, so background load hits both alike.

Tokens are the terms counted (the sum of the count matrix: 5.68 M on the 25,000 reviews).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch
from common import DATA_DIR, check
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from seqlab.data import load
from seqlab.text.features import BagOfWords, TfIdf


def _reviews(quick: bool) -> list[str]:
    texts = [example.text for example in load("imdb", "train", data_dir=DATA_DIR)]
    return texts[:2000] if quick else texts


def _timed(fn: Callable[[], object]) -> tuple[object, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _assert_same(ours: torch.Tensor, theirs, vocab: dict[str, int], their_vocab: dict[str, int], *,
                 exact: bool) -> None:
    """Same vocabulary, same sparsity pattern, same values (exactly for counts, to 1e-12 for TF-IDF)."""
    check(vocab == their_vocab, "vocabularies differ")
    theirs.sort_indices()
    check(np.array_equal(ours.crow_indices().numpy(), theirs.indptr), "row pointers differ")
    check(np.array_equal(ours.col_indices().numpy(), theirs.indices), "columns differ")
    values, their_values = ours.values().numpy(), theirs.data
    same = np.array_equal(values, their_values) if exact else np.allclose(values, their_values, rtol=1e-12, atol=0)
    check(same, "values differ")


def _round(texts: list[str]) -> dict[str, float]:
    """One interleaved round: fit + transform of both, counts and TF-IDF, and transform-only."""
    seconds: dict[str, float] = {}
    bow = BagOfWords()
    counts, seconds["bow_ours"] = _timed(lambda: bow.fit_transform(texts))
    sk_count = CountVectorizer()
    sk_counts, seconds["bow_sklearn"] = _timed(lambda: sk_count.fit_transform(texts))
    _assert_same(counts, sk_counts, bow.vocabulary, sk_count.vocabulary_, exact=True)

    bow2 = BagOfWords()
    weights, seconds["tfidf_ours"] = _timed(lambda: TfIdf().fit_transform(bow2.fit_transform(texts)))
    sk_tfidf = TfidfVectorizer()
    sk_weights, seconds["tfidf_sklearn"] = _timed(lambda: sk_tfidf.fit_transform(texts))
    _assert_same(weights, sk_weights, bow2.vocabulary, sk_tfidf.vocabulary_, exact=False)

    again, seconds["transform_ours"] = _timed(lambda: bow.transform(texts))
    sk_again, seconds["transform_sklearn"] = _timed(lambda: sk_count.transform(texts))
    _assert_same(again, sk_again, bow.vocabulary, sk_count.vocabulary_, exact=True)
    seconds["tokens"] = float(counts.values().sum())
    return seconds


def _row(what: str, tokens: float, ours_s: float, ref_s: float) -> dict:
    ours, reference = tokens / ours_s, tokens / ref_s
    return {"benchmark": "vectorize", "what": what, "precision": "fp64", "ours": ours, "reference": reference,
            "ratio": ours / reference}


def run(quick: bool = False, force_bf16: bool = False) -> list[dict]:
    """tokens/s rows; ``force_bf16`` has no meaning here (counts are integers, TF-IDF float64)."""
    del force_bf16
    texts = _reviews(quick)
    BagOfWords().fit_transform(texts[:200]), CountVectorizer().fit_transform(texts[:200])  # warm-up, both sides
    best: dict[str, float] = {}
    for _ in range(1 if quick else 3):
        for key, secs in _round(texts).items():
            best[key] = secs if key == "tokens" else min(best.get(key, float("inf")), secs)
    rows = [
        _row("BoW fit_transform tokens/s (vs CountVectorizer)", best["tokens"], best["bow_ours"],
             best["bow_sklearn"]),
        _row("TF-IDF fit_transform tokens/s (vs TfidfVectorizer)", best["tokens"], best["tfidf_ours"],
             best["tfidf_sklearn"]),
        _row("BoW transform, fitted vocabulary, tokens/s", best["tokens"], best["transform_ours"],
             best["transform_sklearn"]),
    ]
    setup = {"data": f"IMDB train, {len(texts)} reviews, {int(best['tokens'])} tokens",
             "settings": "scikit-learn defaults (lowercase, token_pattern \\b\\w\\w+\\b, unigrams, smooth idf, l2)",
             "check": "same vocabulary; identical counts; TF-IDF equal to rtol 1e-12"}
    for row in rows:
        row["setup"] = setup
    return rows
