"""Semantic search: documents and the query as sentence embeddings, ranked by cosine similarity.

    index = SemanticIndex.build([Document("a", "A dog runs on the beach."), Document("b", "Stocks fell.")])
    index.search("a puppy playing by the sea", k=10)   -> [Hit(name='a', score=0.6...), ...]

The embeddings are all-MiniLM-L6-v2's (mean-pooled, L2-normalised: the cosine is a dot product), the model
sentence-transformers ships for this. Unlike BM25, a document can match without sharing a word with the query.
The model reads at most 256 pieces, so a long document is cut into passages of ``passage_words`` words and scored
by its best passage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from seqlab.text.tools.files import Document
from seqlab.text.tools.search import Hit


def passages(text: str, words_per_passage: int) -> list[str]:
    words = text.split()
    return [" ".join(words[i : i + words_per_passage]) for i in range(0, len(words), words_per_passage)]


@dataclass
class SemanticIndex:
    names: list[str]  # document id -> name
    owners: np.ndarray  # (P,) passage -> document id
    vectors: np.ndarray  # (P, D) unit-length passage embeddings
    encoder: object  # seqlab.models.bert.SentenceEncoder

    @classmethod
    def build(cls, documents: Sequence[Document], *, encoder=None, passage_words: int = 150,
              batch_size: int = 64) -> SemanticIndex:
        from seqlab.models.bert import load_sentence_encoder

        encoder = encoder or load_sentence_encoder()
        texts, owners = [], []
        for doc_id, doc in enumerate(documents):
            for passage in passages(doc.text, passage_words):
                texts.append(passage)
                owners.append(doc_id)
        vectors = encoder.encode(texts, batch_size=batch_size) if texts else np.zeros((0, encoder.dim), np.float32)
        return cls([d.name for d in documents], np.array(owners, dtype=np.int64), vectors, encoder)

    def search(self, query: str, *, k: int = 10) -> list[Hit]:
        """The k documents most similar to ``query`` (their best passage's cosine), best first."""
        if not len(self.vectors):
            return []
        scores = self.vectors @ self.encoder.encode(query)  # (P,)
        best = np.full(len(self.names), -np.inf)
        np.maximum.at(best, self.owners, scores)
        order = np.argsort(-best, kind="stable")[:k]
        return [Hit(self.names[i], float(best[i])) for i in order if np.isfinite(best[i])]
