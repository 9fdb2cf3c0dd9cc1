from collections import Counter

import pytest

from seqlab.errors import SeqlabError
from seqlab.text.tools.files import read_documents, read_text
from seqlab.text.tools.stats import most_common, paragraphs, text_stats

TEXT = """Alice met Bob in New York. Then Alice left with Mr. O'Neil's dog!

The White House said "White House staff are fine." I think so.
Did Bob agree?
"""


def test_counts():
    stats = text_stats(TEXT)
    assert stats.characters == len(TEXT)
    assert stats.non_space_characters == len("".join(TEXT.split()))
    assert stats.paragraphs == 2
    assert stats.sentences == 5
    assert stats.words["alice"] == 2 and stats.words["white"] == 2
    assert "." not in stats.words and '"' not in stats.words  # punctuation is no word


def test_proper_names_heuristic():
    names = text_stats(TEXT).names
    # "Then", "The", "Did" open sentences and are never seen inside one; "I" is the pronoun
    assert names == Counter({"Alice": 2, "Bob": 2, "White House": 2, "New York": 1, "Mr. O'Neil": 1})


def test_sentence_initial_word_counts_as_name_once_seen_inside():
    names = text_stats("Paris is big. I love Paris. Rome is old.").names
    assert names == Counter({"Paris": 2})  # Rome only ever opens a sentence: missed, as documented


def test_paragraphs_fold_lines_and_skip_blank_runs():
    assert paragraphs("a\nb\n\n  \n\nc\n") == ["a b", "c"]
    assert text_stats("").sentences == 0 and text_stats("").paragraphs == 0


def test_most_common_breaks_ties_alphabetically():
    assert most_common(Counter({"b": 2, "a": 2, "c": 5}), 2) == [("c", 5), ("a", 2)]


def test_to_dict_limits_frequency_lists():
    summary = text_stats(TEXT).to_dict(top=1)
    assert summary["sentences"] == 5 and len(summary["word_counts"]) == 1 and len(summary["name_counts"]) == 1


def test_read_text_errors_name_file_and_line(tmp_path):
    with pytest.raises(SeqlabError, match=r"missing\.txt: no such file"):
        read_text(tmp_path / "missing.txt")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine\nstill fine\nbroken \xff here\n")
    with pytest.raises(SeqlabError, match=r"bad\.txt: line 3: not UTF-8"):
        read_text(bad)
    with pytest.raises(SeqlabError, match="not a regular file"):
        read_text(tmp_path)


def test_read_documents_from_directory_or_lines(tmp_path):
    (tmp_path / "b.txt").write_text("second")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("first")
    (tmp_path / "ignored.md").write_text("not a document")
    assert [d.name for d in read_documents(tmp_path)] == ["b.txt", "sub/a.txt"]
    lines = tmp_path / "docs.txt"
    lines.write_text("one\n\ntwo\n")
    assert [(d.name, d.text) for d in read_documents(lines)] == [("line 1", "one"), ("line 3", "two")]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SeqlabError, match=r"no \.txt files"):
        read_documents(empty)


def test_words_frequent_in_lower_case_are_not_names():
    """Verse capitalises every line: "And" mid-sentence is still the word "and", while "Romeo" stays a name."""
    verse = "But soft, what light\nAnd Romeo came and went\nAnd Juliet sighed and wept,\nAnd so and so."
    names = text_stats(verse).names
    assert names == {"Romeo": 1, "Juliet": 1}
