import re

import pytest

from seqlab.text.stem import measure, porter_stem

# Examples from the paper (Porter 1980), step by step.
PAPER = {
    "caresses": "caress", "ponies": "poni", "ties": "ti", "caress": "caress", "cats": "cat",
    "feed": "feed", "agreed": "agre", "plastered": "plaster", "bled": "bled", "motoring": "motor", "sing": "sing",
    "conflated": "conflat", "troubled": "troubl", "sized": "size", "hopping": "hop", "tanned": "tan",
    "falling": "fall", "hissing": "hiss", "fizzed": "fizz", "failing": "fail", "filing": "file",
    "happy": "happi", "sky": "sky", "relational": "relat", "conditional": "condit", "rational": "ration",
    "generalizations": "gener", "oscillators": "oscil", "formative": "form", "hopeful": "hope",
    "goodness": "good", "revival": "reviv", "adjustment": "adjust", "adoption": "adopt", "controll": "control",
    "roll": "roll", "probate": "probat", "rate": "rate", "cease": "ceas",
}


def test_measure_examples_from_the_paper():
    assert [measure(w) for w in ("tr", "ee", "tree", "y", "by")] == [0] * 5
    assert [measure(w) for w in ("trouble", "oats", "trees", "ivy")] == [1] * 4
    assert [measure(w) for w in ("troubles", "private", "oaten", "orrery")] == [2] * 4


@pytest.mark.parametrize(("word", "stem"), PAPER.items())
def test_paper_examples(word, stem):
    assert porter_stem(word) == stem


def _words(path, limit_lines=None):
    words = set()
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if limit_lines is not None and i >= limit_lines:
                break
            words.update(re.findall(r"[a-z]+", line.lower()))
    return words


def test_parity_with_nltk_original_algorithm_on_real_words(data_dir):
    nltk_porter = pytest.importorskip("nltk.stem.porter")
    reference = nltk_porter.PorterStemmer(mode=nltk_porter.PorterStemmer.ORIGINAL_ALGORITHM)
    words = sorted(_words(data_dir / "sst2" / "dev.tsv") | _words(data_dir / "multi30k" / "val.en"))
    assert len(words) > 4000
    mismatches = [(w, porter_stem(w), reference.stem(w)) for w in words if porter_stem(w) != reference.stem(w)]
    assert mismatches == []
