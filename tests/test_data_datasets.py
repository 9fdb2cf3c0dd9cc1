"""Every dataset against the counts in shared/data/MANIFEST.md, read from the real files once."""

import gzip
import hashlib
from collections import Counter

import pytest

from seqlab.data import dataset_names, describe, load
from seqlab.data.checksums import CHECKSUMS
from seqlab.data.datasets import BABI_TASKS, UCR_LOCAL, UCR_SIZES
from seqlab.data.formats import tags_to_spans
from seqlab.errors import SeqlabError

ALL = ("train", "validation", "test")


def counts(name, data_dir, splits=ALL, **options):
    return {split: len(load(name, split, data_dir=data_dir, **options)) for split in splits}


def test_registry_describes_every_dataset():
    assert set(dataset_names()) >= {"multi30k", "tinyshakespeare", "wikitext-2", "sst2", "imdb", "conll2003",
                                    "ud-english-ewt", "ucr", "google-analogy", "wordsim353", "simlex999", "babi",
                                    "text8"}
    for name in dataset_names():
        info = describe(name)
        assert info.splits and info.url.startswith("http") and info.license and info.description
    assert describe("WikiText2").name == "wikitext-2"  # names match without case or punctuation


def test_bad_names_splits_and_options_are_one_line_errors(data_dir):
    with pytest.raises(SeqlabError, match="unknown dataset 'mnist'"):
        load("mnist")
    with pytest.raises(SeqlabError, match=r"imdb has the split\(s\) train, test; got 'validation'"):
        load("imdb", "validation", data_dir=data_dir)
    with pytest.raises(SeqlabError, match="sst2 has no option task"):
        load("sst2", task=1, data_dir=data_dir)
    with pytest.raises(SeqlabError, match="bAbI tasks are numbered 1 to 20"):
        load("babi", task=21, data_dir=data_dir)
    with pytest.raises(SeqlabError, match="ucr needs a dataset name"):
        load("ucr", data_dir=data_dir)
    with pytest.raises(SeqlabError, match="letters and digits"):
        load("ucr", name="../sst2", data_dir=data_dir)


def test_checksums_table_matches_the_files(data_dir):
    for rel, expected in CHECKSUMS.items():
        path = data_dir / rel
        data = path.read_bytes() if path.is_file() else gzip.decompress((data_dir / f"{rel}.gz").read_bytes())
        assert hashlib.sha256(data).hexdigest() == expected, rel


def test_multi30k(data_dir):
    assert counts("multi30k", data_dir) == {"train": 29000, "validation": 1014, "test": 1000}
    first = load("multi30k", "val", data_dir=data_dir)[0]
    assert set(first.texts) == {"en", "de", "fr"}
    assert first.texts["en"] == "A group of men are loading cotton onto a truck"
    assert set(load("multi30k", "test", data_dir=data_dir, langs="de,en")[0].texts) == {"de", "en"}


def test_tinyshakespeare_splits_characters_90_10(data_dir):
    [train] = load("tinyshakespeare", "train", data_dir=data_dir)
    [valid] = load("tinyshakespeare", "valid", data_dir=data_dir)
    assert len(train.text) + len(valid.text) == 1115394
    assert len(train.text) == int(1115394 * 0.9)
    assert len(set(train.text + valid.text)) == 65


def test_wikitext2_lines_and_published_token_counts(data_dir):
    splits = {split: load("wikitext-2", split, data_dir=data_dir) for split in ALL}
    assert {s: len(lines) for s, lines in splits.items()} == {"train": 36718, "validation": 3760, "test": 4358}
    with_eos = {s: sum(len(line.text.split()) + 1 for line in lines) for s, lines in splits.items()}
    assert with_eos == {"train": 2088628, "validation": 217646, "test": 245569}


def test_sst2(data_dir):
    splits = {split: load("sst2", split, data_dir=data_dir) for split in ALL}
    assert {s: len(rows) for s, rows in splits.items()} == {"train": 67349, "validation": 872, "test": 1821}
    assert Counter(r.label for r in splits["train"]) == {1: 37569, 0: 29780}
    assert Counter(r.label for r in splits["validation"]) == {1: 444, 0: 428}
    assert {r.label for r in splits["test"]} == {None}
    assert splits["validation"][0].text == "it 's a charming and often affecting journey ."


def test_imdb(data_dir):
    for split in ("train", "test"):
        reviews = load("imdb", split, data_dir=data_dir)
        assert [r.label for r in reviews] == [0] * 12500 + [1] * 12500


def test_conll2003_counts_entities_and_schemes(data_dir):
    expected = {  # docs, sentences, tokens, entities LOC / MISC / ORG / PER, B- tags (IOB1)
        "train": (946, 14041, 203621, {"LOC": 7140, "MISC": 3438, "ORG": 6321, "PER": 6600}, 72),
        "validation": (216, 3250, 51362, {"LOC": 1837, "MISC": 922, "ORG": 1341, "PER": 1842}, 4),
        "test": (231, 3453, 46435, {"LOC": 1668, "MISC": 702, "ORG": 1661, "PER": 1617}, 20),
    }
    for split, (docs, n_sentences, n_tokens, entities, n_b) in expected.items():
        sentences = load("conll2003", split, data_dir=data_dir)
        assert (sentences[-1].doc + 1, len(sentences), sum(len(s.tokens) for s in sentences)) == (
            docs, n_sentences, n_tokens)
        assert all(len(s.tokens) == len(s.pos) == len(s.chunk) == len(s.ner) for s in sentences)
        assert Counter(kind for s in sentences for kind, _, _ in tags_to_spans(s.ner, "iob1")) == entities
        assert sum(tag.startswith("B-") for s in sentences for tag in s.ner) == n_b
    iob2 = load("conll2003", "test", data_dir=data_dir, scheme="iob2")
    assert sum(tag.startswith("B-") for s in iob2 for tag in s.ner) == sum(entities.values())


def test_ud_english_ewt(data_dir):
    expected = {"train": (12544, 204577), "validation": (2001, 25147), "test": (2077, 25094)}
    for split, (n_sentences, n_words) in expected.items():
        sentences = load("ud-english-ewt", split, data_dir=data_dir)
        assert (len(sentences), sum(len(s.tokens) for s in sentences)) == (n_sentences, n_words)
    first = sentences[0]
    assert len(first.upos) == len(first.xpos) == len(first.lemmas) == len(first.heads) == len(first.deprels)
    assert first.heads.count(0) == 1 and first.sent_id and first.text


@pytest.mark.parametrize("name", UCR_LOCAL)
def test_ucr(data_dir, name):
    import csv

    with open(data_dir / "ucr" / "DataSummary.csv") as f:  # the archive's own table of every set
        lengths = {row["Name"]: row["Length"] for row in csv.DictReader(f)}
    train, test = (load("ucr", split, data_dir=data_dir, name=name) for split in ("train", "test"))
    assert (len(train), len(test)) == UCR_SIZES[name]
    assert {len(s.values) for s in train + test} == {int(lengths[name])}
    if name == "ECG200":
        assert Counter(s.label for s in train) == {-1: 31, 1: 69}


def test_word_similarity_sets(data_dir):
    analogies = load("google-analogy", "test", data_dir=data_dir)
    sections = Counter(a.section for a in analogies)
    assert len(analogies) == 19544 and len(sections) == 14
    assert sum(n for s, n in sections.items() if not s.startswith("gram")) == 8869
    assert counts("wordsim353", data_dir, ("test",)) == {"test": 353}
    simlex = load("simlex999", "test", data_dir=data_dir)
    assert len(simlex) == 999 and all(0 <= p.score <= 10 for p in simlex)


def test_babi_1k_and_10k(data_dir):
    for task in range(1, len(BABI_TASKS) + 1):
        assert counts("babi", data_dir, ("train", "test"), task=task) == {"train": 1000, "test": 1000}
        if task != 3:  # en-10k qa3 train is missing from shared/data (see MANIFEST.md)
            assert counts("babi", data_dir, ("train",), task=task, size="10k") == {"train": 10000}
    lists = load("babi", "test", data_dir=data_dir, task=8)
    assert any(len(q.answers) > 1 for q in lists)
    for question in load("babi", "train", data_dir=data_dir, task=2)[:50]:
        assert len(question.supporting) == 2 and all(0 <= i < len(question.story) for i in question.supporting)
