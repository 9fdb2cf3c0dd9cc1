import itertools
import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

from seqlab.text import ENGLISH_STOP_WORDS, BagOfWords, RegexTokenizer, TfIdf, WordRuns, ngrams, one_hot, word_tokenize

DOCS = ["The cat sat on the mat.", "The dog sat; the dog ran!", "A cat, a dog and a café.", "",
        "naïve Ünïcode_words 42"]


@pytest.fixture(scope="module")
def sst2(data_dir):
    lines = (data_dir / "sst2" / "dev.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return [line.split("\t")[0] for line in lines]


def test_one_hot_any_shape():
    dense = one_hot([2, 0], 3).to_dense()
    assert torch.equal(dense, torch.tensor([[0.0, 0, 1], [1, 0, 0]]))
    big = one_hot(torch.tensor([[1, 999_999]]), 1_000_000)  # sparse: no 1e6-wide dense rows
    assert big.shape == (1, 2, 1_000_000) and big._nnz() == 2
    with pytest.raises(ValueError):
        one_hot([3], 3)


def test_ngrams():
    assert ngrams(["a", "b", "c"], (1, 2)) == ["a", "b", "c", "a b", "b c"]
    assert ngrams(["a", "b", "c"], (3, 3)) == ["a b c"]
    assert ngrams(["a"], (2, 3)) == []


def test_word_runs_equal_the_default_regex(sst2):
    regex = RegexTokenizer()
    for text in [*DOCS, *sst2, "x_y a1 ___ ½ ²³ 東京 e\u0301t\u00e9"]:
        assert WordRuns()(text) == regex(text) == re.findall(r"(?u)\b\w\w+\b", text)
    assert WordRuns(1)("a bc") == ["a", "bc"]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=40), st.integers(1, 3))
def test_word_runs_equal_the_regex_on_any_text(text, min_len):
    assert WordRuns(min_len)(text) == re.findall(rf"\b\w{{{min_len},}}\b", text)


SETTINGS = [{}, {"lowercase": False}, {"ngram_range": (1, 3)}, {"min_df": 3}, {"binary": True},
            {"lowercase": False, "ngram_range": (2, 2)}]


@pytest.mark.parametrize("settings", SETTINGS)
def test_counts_equal_count_vectorizer(settings, sst2):
    ours = BagOfWords(**settings)
    counts = ours.fit_transform(sst2)
    reference = CountVectorizer(**settings)
    expected = reference.fit_transform(sst2)
    assert ours.vocabulary == reference.vocabulary_
    assert counts.layout == torch.sparse_csr and counts.dtype == torch.int64
    assert np.array_equal(counts.to_dense().numpy(), expected.toarray())
    unseen = [*sst2[:20], "zzzunknown words only"]
    assert np.array_equal(ours.transform(unseen).to_dense().numpy(), reference.transform(unseen).toarray())


def test_our_tokenizer_and_stop_words_equal_count_vectorizer():
    ours = BagOfWords(tokenizer=word_tokenize, stop_words=ENGLISH_STOP_WORDS, ngram_range=(1, 2))
    reference = CountVectorizer(tokenizer=word_tokenize, token_pattern=None, stop_words="english", ngram_range=(1, 2))
    expected = reference.fit_transform(DOCS).toarray()
    assert np.array_equal(ours.fit_transform(DOCS).to_dense().numpy(), expected)
    assert ours.vocabulary == reference.vocabulary_


def test_pre_tokenised_documents():
    tokens = [["b", "a", "b"], ["c"]]
    bow = BagOfWords()
    counts = bow.fit_transform(tokens).to_dense()
    assert torch.equal(counts, torch.tensor([[1, 2, 0], [0, 0, 1]]))
    assert bow.transform(["a b", ["a", "b"]]).to_dense().tolist() == [[0, 0, 0], [1, 1, 0]]  # texts: 2+ chars


def test_max_features_keeps_the_most_frequent(sst2):
    reference = CountVectorizer().fit(sst2)
    totals = np.sort(np.asarray(reference.transform(sst2).sum(axis=0)).ravel())[::-1]
    k = next(k for k in range(200, 400) if totals[k - 1] > totals[k])  # a cut between two frequencies: no ties
    ours = BagOfWords(max_features=k)
    counts = ours.fit_transform(sst2)
    limited = CountVectorizer(max_features=k)
    assert ours.vocabulary == limited.fit(sst2).vocabulary_
    assert np.array_equal(counts.to_dense().numpy(), limited.transform(sst2).toarray())


def test_max_features_ties_break_alphabetically():
    ours = BagOfWords(max_features=2)
    ours.fit(["bb aa cc dd", "dd"])
    assert ours.vocabulary == {"aa": 0, "dd": 1}


@pytest.mark.parametrize(("smooth_idf", "sublinear_tf", "norm"),
                         list(itertools.product([True, False], [True, False], ["l2", "l1", None])))
def test_tfidf_equals_tfidf_transformer(smooth_idf, sublinear_tf, norm, sst2):
    docs = [*sst2[:300], ""]  # an empty document stays a zero row
    counts = BagOfWords().fit_transform(docs)
    ours = TfIdf(smooth_idf=smooth_idf, sublinear_tf=sublinear_tf, norm=norm).fit_transform(counts)
    reference = TfidfTransformer(smooth_idf=smooth_idf, sublinear_tf=sublinear_tf, norm=norm)
    expected = reference.fit_transform(CountVectorizer().fit_transform(docs))
    assert ours.dtype == torch.float64
    np.testing.assert_allclose(ours.to_dense().numpy(), expected.toarray(), rtol=1e-12, atol=0)
    np.testing.assert_allclose(TfIdf(smooth_idf=smooth_idf).fit(counts).idf.numpy(),
                               TfidfTransformer(smooth_idf=smooth_idf).fit(expected).idf_, rtol=1e-12)
