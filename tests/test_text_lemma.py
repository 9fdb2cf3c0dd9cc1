import sys

import pytest

from seqlab.errors import SeqlabError
from seqlab.text import lemma


def test_lemmas_from_the_lectures():
    pytest.importorskip("spacy_lookups_data")
    assert lemma.lemmatize(["am", "are", "is"]) == ["be", "be", "be"]
    assert lemma.lemmatize(["dog", "dogs", "dog's", "dogs'", "Dogs"]) == ["dog"] * 5
    assert lemma.lemmatize(["mice", "running", "blorf"]) == ["mouse", "run", "blorf"]  # unknown: itself


def test_missing_tables_say_what_to_install(monkeypatch):
    lemma.english_lemma_table.cache_clear()
    monkeypatch.setitem(sys.modules, "spacy_lookups_data", None)  # as if not installed
    try:
        with pytest.raises(SeqlabError, match=r'pip install "seqlab\[text\]"'):
            lemma.lemmatize(["dogs"])
    finally:
        lemma.english_lemma_table.cache_clear()
