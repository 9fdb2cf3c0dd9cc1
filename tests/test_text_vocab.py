import json

import pytest

from seqlab.errors import SeqlabError
from seqlab.text.vocab import (
    ALL_SPECIALS,
    SPECIALS,
    UNK,
    UNK_BUCKETS,
    CharVocab,
    Vocab,
    load_vocab,
    unk_bucket,
)

CORPUS = [["the", "cat", "sat"], ["the", "dog", "sat"], ["the", "cat", "ran"], ["a", "dog"]]


def test_specials_first_in_a_fixed_order():
    vocab = Vocab.build(CORPUS)
    assert vocab.tokens[:7] == list(ALL_SPECIALS) == ["<pad>", "<bos>", "<eos>", "<unk>", "<mask>", "[CLS]", "[SEP]"]
    assert (vocab.pad_id, vocab.bos_id, vocab.eos_id, vocab.unk_id, vocab.mask_id, vocab.cls_id, vocab.sep_id) == (
        0, 1, 2, 3, 4, 5, 6)
    custom = Vocab.build(CORPUS, specials=["[PAD]", "<unk>"])
    assert custom.tokens[:2] == ["[PAD]", "<unk>"] and custom.unk_id == 1
    with pytest.raises(KeyError):
        _ = custom.bos_id


def test_frequency_order_min_freq_max_size_deterministic_ties():
    vocab = Vocab.build(CORPUS, specials=SPECIALS)
    assert vocab.tokens[4:] == ["the", "cat", "dog", "sat", "a", "ran"]  # by count, ties alphabetical
    assert Vocab.build(reversed(CORPUS), specials=SPECIALS).tokens == vocab.tokens  # order of reading is irrelevant
    assert Vocab.build(CORPUS, specials=SPECIALS, min_freq=2).tokens[4:] == ["the", "cat", "dog", "sat"]
    assert Vocab.build(CORPUS, specials=SPECIALS, max_size=6).tokens == [*SPECIALS, "the", "cat"]


def test_encode_decode_unknown():
    vocab = Vocab.build(CORPUS, min_freq=2)
    ids = vocab.encode(["the", "zebra"], add_bos=True, add_eos=True)
    assert ids == [vocab.bos_id, vocab["the"], vocab.unk_id, vocab.eos_id]
    assert vocab.decode(ids) == ["the"]  # specials, <unk> included, are dropped by default
    assert vocab.decode(ids, skip_specials=False) == ["<bos>", "the", "<unk>", "<eos>"]


def test_rare_word_buckets_from_the_lecture():
    assert unk_bucket("sneaky") == "<unk-y>"
    assert unk_bucket("1984") == "<unk-num>"
    assert unk_bucket("Paris") == "<unk-cap>"
    assert unk_bucket("NASA") == "<unk-caps>"
    assert unk_bucket("blorfing") == "<unk-ing>" and unk_bucket("quickly") == "<unk-ly>"
    assert unk_bucket("§§") == "<unk-punct>" and unk_bucket("xyz") == UNK
    vocab = Vocab.build(CORPUS, unk_buckets=True)
    assert vocab.tokens[len(ALL_SPECIALS) : len(ALL_SPECIALS) + len(UNK_BUCKETS)] == list(UNK_BUCKETS)
    assert vocab.decode(vocab.encode(["the", "sneaky", "Paris", "1984", "xyz"])) == [
        "the", "<unk-y>", "<unk-cap>", "<unk-num>"]  # plain <unk> is a special, dropped by decode


def test_json_round_trip(tmp_path):
    vocab = Vocab.build(CORPUS, min_freq=1, unk_buckets=True, specials=["<pad>", "<unk>", "<mask>"])
    vocab.save(tmp_path / "vocab.json")
    data = json.loads((tmp_path / "vocab.json").read_text())
    assert data["type"] == "word" and data["tokens"] == vocab.tokens
    assert Vocab.load(tmp_path / "vocab.json") == vocab
    assert load_vocab(tmp_path / "vocab.json") == vocab
    with pytest.raises(SeqlabError, match="not a seqlab char vocabulary"):
        CharVocab.load(tmp_path / "vocab.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(SeqlabError):
        Vocab.load(tmp_path / "bad.json")


def test_char_vocab_is_a_vocab_with_the_old_api(tmp_path):
    vocab = CharVocab.build(["Hello", "héllo"], lowercase=True)
    assert isinstance(vocab, Vocab) and vocab.tokens[:4] == list(SPECIALS)
    assert (vocab.pad_id, vocab.bos_id, vocab.eos_id, vocab.unk_id) == (0, 1, 2, 3)
    ids = vocab.encode("HÉ!", add_bos=True, add_eos=True)
    assert ids == [1, vocab.index["h"], vocab.index["é"], 3, 2]
    assert vocab.decode(vocab.encode("héllo")) == "héllo"
    vocab.save(tmp_path / "v.json")
    assert CharVocab.load(tmp_path / "v.json") == vocab and load_vocab(tmp_path / "v.json") == vocab
    # files written before the general Vocab existed have no "specials" key
    (tmp_path / "old.json").write_text(json.dumps({"type": "char", "lowercase": True, "tokens": vocab.tokens}))
    assert CharVocab.load(tmp_path / "old.json") == vocab


def test_char_vocab_keeps_whitespace_unless_asked_to_collapse():
    from seqlab.text import CharVocab

    text = "First Citizen:\nBefore we proceed  any further"
    vocab = CharVocab.build([text])
    assert vocab.decode(vocab.encode(text)) == text
    folding = CharVocab.build([text], collapse_whitespace=True)
    assert folding.decode(folding.encode(text)) == "First Citizen: Before we proceed any further"
    assert CharVocab.from_dict(folding.to_dict()).collapse_whitespace
