"""Ranked retrieval over an inverted index: TF-IDF cosine and Okapi BM25.

    index = InvertedIndex.build([Document("a", "the cat sat"), Document("b", "a dog")])
    index.search("cat", method="bm25", k=10)   -> [Hit(name='a', score=0.98...)]

Terms are the lower-cased word tokens of ``word_tokenize`` that hold a letter or digit. With N documents,
df(t) of them containing t, tf(t, d) the count of t in d, |d| the length of d and avgdl the mean length:

  TF-IDF  w(t, d) = tf(t, d) * idf(t),  idf(t) = ln((1 + N) / (1 + df(t))) + 1   (scikit-learn's smoothed idf:
          never zero, so a term in every document still counts); documents and the query are L2-normalised
          and scored by their dot product, the cosine.
  BM25    score(q, d) = sum over distinct query terms t of
              idf(t) * tf(t, d) * (k1 + 1) / (tf(t, d) + k1 * (1 - b + b * |d| / avgdl)),
          idf(t) = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))    (the Lucene form, never negative).
          k1 sets how fast repeated terms saturate, b how much long documents are discounted.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from seqlab.text.tokenize import normalise, word_tokenize
from seqlab.text.tools.files import Document

METHODS = ("bm25", "tfidf")


def terms(text: str) -> list[str]:
    return [tok for tok in word_tokenize(normalise(text, lowercase=True)) if any(ch.isalnum() for ch in tok)]


@dataclass(frozen=True)
class Hit:
    name: str
    score: float


@dataclass
class InvertedIndex:
    names: list[str]  # document id -> name
    postings: dict[str, dict[int, int]]  # term -> {document id: tf(term, document)}
    lengths: list[int]  # document id -> number of terms
    tfidf_norms: list[float] = field(init=False, repr=False)  # document id -> L2 norm of its TF-IDF vector

    def __post_init__(self) -> None:
        squares = [0.0] * len(self.names)
        for term, docs in self.postings.items():
            idf = self.tfidf_idf(term)
            for doc_id, tf in docs.items():
                squares[doc_id] += (tf * idf) ** 2
        self.tfidf_norms = [math.sqrt(s) for s in squares]

    @classmethod
    def build(cls, documents: Sequence[Document]) -> InvertedIndex:
        postings: dict[str, dict[int, int]] = defaultdict(dict)
        lengths = []
        for doc_id, doc in enumerate(documents):
            counts = Counter(terms(doc.text))
            for term, tf in counts.items():
                postings[term][doc_id] = tf
            lengths.append(sum(counts.values()))
        return cls([doc.name for doc in documents], dict(postings), lengths)

    @property
    def n_documents(self) -> int:
        return len(self.names)

    def tfidf_idf(self, term: str) -> float:
        return math.log((1 + self.n_documents) / (1 + len(self.postings[term]))) + 1

    def bm25_idf(self, term: str) -> float:
        df = len(self.postings[term])
        return math.log(1 + (self.n_documents - df + 0.5) / (df + 0.5))

    def tfidf_scores(self, query: str) -> dict[int, float]:
        """Cosine between the TF-IDF vectors of the query and of each document sharing a term with it."""
        query_weights = {t: tf * self.tfidf_idf(t) for t, tf in Counter(terms(query)).items() if t in self.postings}
        query_norm = math.sqrt(sum(w * w for w in query_weights.values()))
        dots: dict[int, float] = defaultdict(float)
        for term, q_weight in query_weights.items():  # walk only the postings of the query terms
            for doc_id, tf in self.postings[term].items():
                dots[doc_id] += q_weight * tf * self.tfidf_idf(term)
        return {doc_id: dot / (query_norm * self.tfidf_norms[doc_id]) for doc_id, dot in dots.items()}

    def bm25_scores(self, query: str, *, k1: float = 1.5, b: float = 0.75) -> dict[int, float]:
        avgdl = sum(self.lengths) / self.n_documents
        scores: dict[int, float] = defaultdict(float)
        for term in set(terms(query)) & self.postings.keys():
            idf = self.bm25_idf(term)
            for doc_id, tf in self.postings[term].items():
                length_norm = 1 - b + b * self.lengths[doc_id] / avgdl
                scores[doc_id] += idf * tf * (k1 + 1) / (tf + k1 * length_norm)
        return dict(scores)

    def search(self, query: str, *, method: str = "bm25", k: int = 10, k1: float = 1.5,
               b: float = 0.75) -> list[Hit]:
        """The ``k`` best documents with a positive score, best first (ties by name)."""
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}: choose from {', '.join(METHODS)}")
        scores = self.bm25_scores(query, k1=k1, b=b) if method == "bm25" else self.tfidf_scores(query)
        hits = [Hit(self.names[doc_id], score) for doc_id, score in scores.items() if score > 0]
        return sorted(hits, key=lambda hit: (-hit.score, hit.name))[:k]
