"""Sparse text representations: one-hot vectors, n-grams, bag-of-words counts and TF-IDF.

    bow = BagOfWords(ngram_range=(1, 2), min_df=2)
    counts = bow.fit_transform(texts)            # (N, V) int64, torch sparse CSR; bow.vocabulary: term -> column
    weights = TfIdf(sublinear_tf=True).fit_transform(counts)   # (N, V) float64, rows of unit L2 norm

The numbers are scikit-learn's (CountVectorizer / TfidfTransformer, same settings, same term order:
tests compare them entry by entry):

    tfidf(t, d) = tf(t, d) * idf(t),   idf(t) = ln((1 + n) / (1 + df(t))) + 1   (smooth_idf)
                                              = ln(n / df(t)) + 1               (otherwise)
    tf = 1 + ln(count) with sublinear_tf, else the count; each row then scaled to unit L2 (or L1) norm.

Why it is fast: texts are tokenised without the regex engine where the pattern allows (``WordRuns``),
every token is looked up once through C-level ``map`` calls (no per-token Python loop, no Counter), and
the CSR matrix is built with one integer sort over (document, term) keys in numpy.
"""

from __future__ import annotations

import re
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain, repeat
from typing import Literal, NamedTuple

import numpy as np
import torch

Tokenizer = Callable[[str], list[str]]
TOKEN_PATTERN = r"(?u)\b\w\w+\b"  # scikit-learn's default: words of two or more word characters

_WORD_CHAR = re.compile(r"\w")


class _NonWordToSpace(dict):
    """str.translate table mapping every non-word character (re's \\W) to a space, filled on first sight
    of each character, so any alphabet works without a table of all of Unicode."""

    def __missing__(self, code: int) -> int:
        self[code] = code if _WORD_CHAR.match(chr(code)) else 32
        return self[code]


_NON_WORD_TO_SPACE = _NonWordToSpace()


@dataclass(frozen=True)
class WordRuns:
    r"""Maximal runs of word characters with at least ``min_len`` of them, the same list as
    ``re.findall(r"\b\w{min_len,}\b", text)`` (min_len=2 is scikit-learn's default pattern \b\w\w+\b),
    found with str.translate and str.split instead of the regex engine: about twice as fast."""

    min_len: int = 2

    def __call__(self, text: str) -> list[str]:
        runs = self.runs(text)
        return runs if self.min_len <= 1 else [run for run in runs if len(run) >= self.min_len]

    @staticmethod
    def runs(text: str) -> list[str]:
        """All maximal runs of word characters, however short."""
        return text.translate(_NON_WORD_TO_SPACE).split()


@dataclass(frozen=True)
class RegexTokenizer:
    """Tokens are the matches of a regular expression (scikit-learn's ``token_pattern``)."""

    pattern: str = TOKEN_PATTERN

    def __call__(self, text: str) -> list[str]:
        return re.findall(self.pattern, text)


def ngrams(tokens: Sequence[str], ngram_range: tuple[int, int] = (1, 1)) -> list[str]:
    """All n-grams for n in [lo, hi], joined by spaces: (["a", "b", "c"], (1, 2)) -> a b c "a b" "b c"."""
    lo, hi = ngram_range
    terms = list(tokens) if lo == 1 else []
    for n in range(max(lo, 2), hi + 1):
        terms += map(" ".join, zip(*(tokens[i:] for i in range(n)), strict=False))  # shorter tails end it
    return terms


def one_hot(ids: torch.Tensor | Sequence[int], vocab_size: int) -> torch.Tensor:
    """One-hot vectors as a sparse COO tensor: ids (*S) -> (*S, V) float32, for any vocabulary size."""
    ids = torch.as_tensor(ids, dtype=torch.long)
    if ids.numel() and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(f"ids must lie in [0, {vocab_size})")
    positions = torch.stack(torch.meshgrid(*(torch.arange(n) for n in ids.shape), indexing="ij")).reshape(ids.dim(), -1)
    indices = torch.cat([positions, ids.reshape(1, -1)])  # (ndim + 1, numel)
    return torch.sparse_coo_tensor(indices, torch.ones(ids.numel()), (*ids.shape, vocab_size),
                                   check_invariants=True).coalesce()


class _CSR(NamedTuple):
    """A compressed-sparse-row matrix as numpy arrays (row r's entries are crow[r]:crow[r+1])."""

    crow: np.ndarray
    col: np.ndarray
    val: np.ndarray
    shape: tuple[int, int]

    @classmethod
    def from_torch(cls, matrix: torch.Tensor) -> _CSR:
        matrix = matrix if matrix.layout == torch.sparse_csr else matrix.to_sparse_csr()
        return cls(matrix.crow_indices().numpy(), matrix.col_indices().numpy(), matrix.values().numpy(),
                   tuple(matrix.shape))

    def to_torch(self) -> torch.Tensor:
        with warnings.catch_warnings():  # "sparse CSR support is in beta": we only store and read it
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            return torch.sparse_csr_tensor(torch.from_numpy(self.crow), torch.from_numpy(self.col),
                                           torch.from_numpy(self.val), self.shape, check_invariants=False)

    def row_ids(self) -> np.ndarray:
        return np.repeat(np.arange(self.shape[0]), np.diff(self.crow))


def _count_pairs(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> _CSR:
    """Counts of each (row, col) pair, as CSR with sorted columns: one sort of row * n_cols + col keys."""
    keys = rows * shape[1] + cols
    keys.sort()
    first = np.empty(keys.size, dtype=bool)  # True where a new (row, col) pair starts
    first[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    counts = np.diff(starts, append=keys.size).astype(np.int64)
    row, col = np.divmod(keys[starts], shape[1])
    crow = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(row, minlength=shape[0]), out=crow[1:])
    return _CSR(crow, col, counts, shape)


def _keep_columns(matrix: _CSR, keep: np.ndarray) -> _CSR:
    """Drop the columns where ``keep`` is False; kept columns keep their order, so rows stay sorted."""
    new_col = np.cumsum(keep) - 1
    entries = keep[matrix.col]
    crow = np.zeros_like(matrix.crow)
    np.cumsum(np.bincount(matrix.row_ids()[entries], minlength=matrix.shape[0]), out=crow[1:])
    return _CSR(crow, new_col[matrix.col[entries]], matrix.val[entries], (matrix.shape[0], int(keep.sum())))


def _ids_and_rows(term_lists: list[list[str]], lookup: Callable[..., int], *extra: Iterable
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Flatten the documents' terms and map each through ``lookup`` (a C-level dict method, so the
    per-token work never runs Python bytecode); also the document (row) of every token."""
    lengths = np.fromiter(map(len, term_lists), dtype=np.int64, count=len(term_lists))
    total = int(lengths.sum())
    ids = np.fromiter(map(lookup, chain.from_iterable(term_lists), *extra), dtype=np.int64, count=total)
    return ids, np.repeat(np.arange(len(term_lists)), lengths)


@dataclass
class BagOfWords:
    """Document-term counts over a vocabulary fitted on the corpus (scikit-learn's CountVectorizer).

    Documents are strings (lower-cased if ``lowercase``, then tokenised) or lists of tokens (used as
    they are). Stop words are removed before n-grams are formed. The vocabulary keeps terms in at least
    ``min_df`` documents, then the ``max_features`` most frequent (ties: alphabetical); columns are in
    alphabetical (code-point) order.
    """

    tokenizer: Tokenizer = field(default_factory=WordRuns)
    lowercase: bool = True
    stop_words: frozenset[str] = frozenset()
    ngram_range: tuple[int, int] = (1, 1)
    min_df: int = 1
    max_features: int | None = None
    binary: bool = False
    vocabulary: dict[str, int] = field(default_factory=dict)

    def analyze(self, doc: str | Sequence[str]) -> list[str]:
        """One document -> its terms (tokens and n-grams)."""
        if isinstance(doc, str):
            doc = self.tokenizer(doc.lower() if self.lowercase else doc)
        if self.stop_words:
            doc = [tok for tok in doc if tok not in self.stop_words]
        return ngrams(doc, self.ngram_range) if self.ngram_range != (1, 1) else list(doc)

    def _analyze_all(self, docs: Iterable[str | Sequence[str]]) -> tuple[list[list[str]], int]:
        """Every document's terms, and the shortest term to count. Fast path: for plain WordRuns unigrams
        the too-short runs stay in the lists and are dropped once per distinct term, not once per token."""
        docs = list(docs)
        runs = self.tokenizer
        if (isinstance(runs, WordRuns) and self.ngram_range == (1, 1) and not self.stop_words
                and all(isinstance(doc, str) for doc in docs)):
            return [runs.runs(doc.lower() if self.lowercase else doc) for doc in docs], runs.min_len
        return [self.analyze(doc) for doc in docs], 0

    def fit(self, docs: Iterable[str | Sequence[str]]) -> BagOfWords:
        self.fit_transform(docs)
        return self

    def fit_transform(self, docs: Iterable[str | Sequence[str]]) -> torch.Tensor:
        """Learn the vocabulary and return the counts (N, V), int64 sparse CSR."""
        term_lists, min_len = self._analyze_all(docs)
        first_seen: defaultdict[str, int] = defaultdict()
        first_seen.default_factory = first_seen.__len__  # a new term's id is the number of terms before it
        ids, rows = _ids_and_rows(term_lists, first_seen.__getitem__)  # one hash lookup per token, in C
        terms = sorted(first_seen)  # columns in alphabetical (code-point) order, as scikit-learn's
        alphabetical = np.empty(len(terms), dtype=np.int64)
        alphabetical[np.fromiter(map(first_seen.__getitem__, terms), np.int64, len(terms))] = np.arange(len(terms))
        counts = _count_pairs(rows, alphabetical[ids], (len(term_lists), len(terms)))
        keep = self._select_terms(counts, terms, min_len)
        self.vocabulary = {terms[i]: j for j, i in enumerate(np.flatnonzero(keep).tolist())}
        return self._finish(counts if keep.all() else _keep_columns(counts, keep))

    def _select_terms(self, counts: _CSR, terms: list[str], min_len: int = 0) -> np.ndarray:
        """Mask of the kept columns: at least ``min_len`` long and in ``min_df`` documents or more, then the
        ``max_features`` most frequent (ties: alphabetically first; scikit-learn's unstable sort: arbitrary)."""
        keep = np.bincount(counts.col, minlength=len(terms)) >= self.min_df
        if min_len > 1:
            keep &= np.fromiter(map(len, terms), np.int64, len(terms)) >= min_len
        if self.max_features is not None and keep.sum() > self.max_features:
            total = np.bincount(counts.col, weights=counts.val, minlength=len(terms))
            candidates = np.flatnonzero(keep)
            top = candidates[np.argsort(-total[candidates], kind="stable")[: self.max_features]]
            keep = np.zeros(len(terms), dtype=bool)
            keep[top] = True
        return keep

    def transform(self, docs: Iterable[str | Sequence[str]]) -> torch.Tensor:
        """Counts (N, V) over the fitted vocabulary; unknown terms are ignored."""
        term_lists, min_len = self._analyze_all(docs)
        ids, rows = _ids_and_rows(term_lists, self.vocabulary.get, repeat(-1))
        known = ids >= 0
        if min_len > 1:  # runs the fast path left in: count them only if the tokenizer would have kept them
            term_len = np.zeros(len(self.vocabulary), dtype=np.int64)
            term_len[list(self.vocabulary.values())] = list(map(len, self.vocabulary))
            known[known] = term_len[ids[known]] >= min_len
        return self._finish(_count_pairs(rows[known], ids[known], (len(term_lists), len(self.vocabulary))))

    def _finish(self, counts: _CSR) -> torch.Tensor:
        if self.binary:
            counts = counts._replace(val=np.ones_like(counts.val))
        return counts.to_torch()


@dataclass
class TfIdf:
    """TF-IDF weighting of bag-of-words counts (scikit-learn's TfidfTransformer), float64."""

    smooth_idf: bool = True  # add one document containing every term: no zero division, no zero idf
    sublinear_tf: bool = False  # tf = 1 + ln(count): the 20th "great" says less than the 2nd
    norm: Literal["l2", "l1"] | None = "l2"
    idf: torch.Tensor | None = None  # (V,) learnt by fit

    def fit(self, counts: torch.Tensor) -> TfIdf:
        matrix = _CSR.from_torch(counts)
        n_docs, n_terms = matrix.shape
        df = np.bincount(matrix.col, minlength=n_terms).astype(np.float64)
        n = float(n_docs)
        if self.smooth_idf:
            df, n = df + 1, n + 1
        self.idf = torch.from_numpy(np.log(n / df) + 1)
        return self

    def transform(self, counts: torch.Tensor) -> torch.Tensor:
        if self.idf is None:
            raise RuntimeError("TfIdf.transform before fit")
        matrix = _CSR.from_torch(counts)
        tf = matrix.val.astype(np.float64)
        if self.sublinear_tf:
            tf = np.log(tf) + 1
        values = tf * self.idf.numpy()[matrix.col]
        if self.norm is not None:
            size = values * values if self.norm == "l2" else np.abs(values)
            row_norm = np.bincount(matrix.row_ids(), weights=size, minlength=matrix.shape[0])
            row_norm = np.sqrt(row_norm) if self.norm == "l2" else row_norm
            row_norm[row_norm == 0] = 1  # empty documents stay zero
            values = values / np.repeat(row_norm, np.diff(matrix.crow))
        return matrix._replace(val=values).to_torch()

    def fit_transform(self, counts: torch.Tensor) -> torch.Tensor:
        return self.fit(counts).transform(counts)
