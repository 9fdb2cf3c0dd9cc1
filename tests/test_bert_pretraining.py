"""BERT's pre-training data and task: the masking rule's statistics, the lecture's two NSP examples, sentence pairs
(50% IsNext, B really following A), WikiText documents, and a tiny pre-training run end to end (fill-mask from the
CLI, the hf/ export loading in transformers)."""

import random

import pytest
import torch
import torch.nn.functional as F

from seqlab.cli import main
from seqlab.data.collate import IGNORE_INDEX
from seqlab.data.pretraining import build_pair, make_pairs, mask_tokens, wikitext_documents
from seqlab.models.bert import BertConfig, BertForPreTraining
from seqlab.text.subword import wordpiece_from_vocab

# -- the masking rule ----------------------------------------------------------------------------------------------


def test_masking_rule_statistics_on_many_tokens():
    vocab, mask_id = 1000, 4
    ids = torch.randint(5, vocab, (256, 512), generator=torch.Generator().manual_seed(0))
    maskable = torch.ones_like(ids, dtype=torch.bool)
    maskable[:, 0] = maskable[:, -1] = False  # [CLS] and [SEP]
    inputs, labels = mask_tokens(ids, maskable, mask_id=mask_id, vocab_size=vocab,
                                 generator=torch.Generator().manual_seed(1))
    selected = labels != IGNORE_INDEX
    n = int(maskable.sum())  # 130,560 candidates
    assert abs(selected.sum().item() / n - 0.15) < 0.003
    assert not selected[~maskable].any()  # specials are never selected
    assert torch.equal(labels[selected], ids[selected])  # the label is the original piece
    assert torch.equal(inputs[~selected], ids[~selected])  # nothing else changes
    chosen = inputs[selected]
    masked = (chosen == mask_id).float().mean().item()
    unchanged = (chosen == ids[selected]).float().mean().item()
    random_piece = 1 - masked - unchanged
    assert abs(masked - 0.8) < 0.01
    assert abs(unchanged - 0.1) < 0.01  # (includes the 1/1000 random draws that hit the same piece)
    assert abs(random_piece - 0.1) < 0.01


def test_mlm_loss_counts_only_the_selected_positions():
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=40, max_positions=16, n_layers=1, n_heads=2, d_model=16, d_ff=32, dropout=0.0)
    model = BertForPreTraining.from_config(cfg).eval()
    ids = torch.randint(5, 40, (2, 10))
    mask, segments = torch.ones_like(ids), torch.zeros_like(ids)
    labels = torch.full_like(ids, IGNORE_INDEX)
    labels[0, 3], labels[1, 7] = 11, 12
    nsp = torch.tensor([1, 0])
    mlm_logits, nsp_logits = model(ids, mask, segments)
    expected = F.cross_entropy(mlm_logits.flatten(0, 1), labels.flatten()) + F.cross_entropy(nsp_logits, nsp)
    torch.testing.assert_close(model.loss(ids, mask, segments, labels, nsp), expected)
    labels_elsewhere = labels.clone()
    ids_changed = ids.clone()
    ids_changed[0, 3] = 20  # the input at a selected position changes the loss; the label elsewhere is ignored
    assert not torch.allclose(model.loss(ids_changed, mask, segments, labels_elsewhere, nsp), expected)


# -- the lecture's NSP examples --------------------------------------------------------------------------------------

LECTURE_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "man", "went", "to", "store", "he", "bought",
                 "a", "gallon", "of", "milk", "penguin", "##s", "are", "flight", "##less", "birds", "."]


@pytest.fixture
def lecture_tokenizer(tmp_path):
    (tmp_path / "vocab.txt").write_text("\n".join(LECTURE_VOCAB) + "\n")
    return wordpiece_from_vocab(tmp_path / "vocab.txt")


def _lecture_input(tokenizer, a: str, b: str, masked: list[int], is_next: bool) -> tuple[str, int, list[int]]:
    ids = lambda text: tokenizer.encode(text, add_special_tokens=False).ids  # noqa: E731
    pair = build_pair(ids(a), ids(b), cls_id=2, sep_id=3, is_next=is_next)
    for position in masked:
        pair.ids[position] = 4
    return " ".join(tokenizer.id_to_token(i) for i in pair.ids), pair.is_next, pair.segments


def test_the_lectures_two_nsp_examples_build_as_shown(lecture_tokenizer):
    text, label, segments = _lecture_input(lecture_tokenizer, "the man went to the store",
                                           "he bought a gallon of milk", masked=[5, 12], is_next=True)
    assert text == "[CLS] the man went to [MASK] store [SEP] he bought a gallon [MASK] milk [SEP]"
    assert label == 1  # IsNext
    assert segments == [0] * 8 + [1] * 7
    text, label, _ = _lecture_input(lecture_tokenizer, "the man went to the store", "penguins are flightless birds",
                                    masked=[3, 9], is_next=False)
    assert text == "[CLS] the man [MASK] to the store [SEP] penguin [MASK] are flight ##less birds [SEP]"
    assert label == 0  # NotNext


def test_the_lectures_words_split_into_wordpieces(lecture_tokenizer):
    pieces = lecture_tokenizer.encode("Penguins are flightless birds", add_special_tokens=False).tokens
    assert pieces == ["penguin", "##s", "are", "flight", "##less", "birds"]


# -- sentence pairs -----------------------------------------------------------------------------------------------

def _documents(n_docs: int = 150, n_sentences: int = 60) -> list[list[list[int]]]:
    """Every sentence's pieces are its own (document, sentence) code, so a pair can be traced back."""
    rng = random.Random(0)
    return [[[1000 * (d + 1) + s] * rng.randint(3, 12) for s in range(n_sentences)] for d in range(n_docs)]


def test_pairs_are_half_next_and_next_means_the_following_sentences():
    docs = _documents()
    pairs = make_pairs(docs, 64, cls_id=1, sep_id=2, rng=random.Random(3))
    assert 0.45 < sum(p.is_next for p in pairs) / len(pairs) < 0.55
    for pair in pairs:
        assert len(pair.ids) <= 64 and pair.ids[0] == 1 and pair.ids[-1] == 2
        sep = pair.ids.index(2)
        a, b = pair.ids[1:sep], pair.ids[sep + 1 : -1]
        assert a and b and pair.segments == [0] * (sep + 1) + [1] * (len(b) + 1)
        doc_a, doc_b = {x // 1000 for x in a}, {x // 1000 for x in b}
        assert len(doc_a) == 1
        if pair.is_next:
            assert doc_b == doc_a and max(x % 1000 for x in a) + 1 == min(x % 1000 for x in b)
        else:
            assert doc_a.isdisjoint(doc_b)


def test_pairs_need_two_documents():
    with pytest.raises(ValueError, match="at least two documents"):
        make_pairs(_documents(1), 64, cls_id=1, sep_id=2, rng=random.Random(0))


def test_wikitext_documents_split_at_titles_and_undo_the_tokenisation():
    lines = [" ", " = Robert Boulter = ", " ", " Robert Boulter is an English film @-@ actor . He was born in "
             "1 @,@ 000 <unk> . ", " = = Career = = ", " In 2000 he had a role . ", " = Valkyria = ", " It is a game ."]
    docs = wikitext_documents(lines)
    assert docs == [["Robert Boulter is an English film-actor .", "He was born in 1,000 [UNK] .",
                     "In 2000 he had a role ."], ["It is a game ."]]


# -- the task end to end -------------------------------------------------------------------------------------------

CORPUS = """the man went to the store . he bought a gallon of milk .
she read a book in the garden . the book was about birds .
penguins are flightless birds . they live in the south .

the river bank was flooded after the storm . people moved away .
the bank raised its interest rates . the markets fell .
a wooden stick lay on the ground . the dog took the stick .
"""


@pytest.fixture(scope="module")
def tiny_pretraining_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlm")
    text = "\n\n".join([CORPUS.replace(" . ", " .\n").strip()] * 6)  # sentences per line, documents apart
    (root / "train.txt").write_text(text)
    (root / "valid.txt").write_text(text)
    out = root / "run"
    assert main(["train", "configs/wikitext2_bert.yaml", "--out", str(out), "--data.train_file",
                 str(root / "train.txt"), "--data.validation_file", str(root / "valid.txt"), "--data.vocab_size=120",
                 "--data.max_pieces=32", "--data.eval_pairs=8", "--model.max_positions=32", "--model.n_layers=1",
                 "--model.d_model=32", "--model.d_ff=64", "--model.n_heads=2", "--train.steps=6",
                 "--train.batch_size=4", "--train.eval_every=3", "--train.max_minutes=5", "--quiet"]) == 0
    return out


def test_pretraining_run_scores_mlm_and_nsp(tiny_pretraining_run):
    import json

    metrics = json.loads((tiny_pretraining_run / "metrics.json").read_text())
    assert metrics["split"] == "validation" and metrics["n_masked"] > 0
    assert 0 <= metrics["mlm_accuracy"] <= 1 and 0 <= metrics["nsp_accuracy"] <= 1
    assert set(metrics["fill_examples"]) >= {"the man went to the [MASK] store ."}


def test_fill_mask_from_the_cli(tiny_pretraining_run, capsys):
    assert main(["predict", str(tiny_pretraining_run), "the man went to the [MASK] store ."]) == 0
    line = capsys.readouterr().out.strip()
    assert line.count("%") == 5
    assert main(["predict", str(tiny_pretraining_run), "no blank here"]) == 2
    assert "no [MASK]" in capsys.readouterr().err


def test_hf_export_loads_in_transformers(tiny_pretraining_run):
    from transformers import BertForPreTraining as HFPreTraining

    from seqlab.tasks import load_run

    ours = load_run(tiny_pretraining_run).model
    ref = HFPreTraining.from_pretrained(tiny_pretraining_run / "hf").eval()
    ids = torch.tensor([[2, 10, 11, 12, 3, 13, 14, 3]])
    with torch.no_grad():
        mlm, nsp = ours(ids, torch.ones_like(ids))
        expected = ref(input_ids=ids)
    torch.testing.assert_close(mlm, expected.prediction_logits, atol=1e-5, rtol=0)
    torch.testing.assert_close(nsp, expected.seq_relationship_logits, atol=1e-5, rtol=0)
    assert (tiny_pretraining_run / "hf" / "vocab.txt").is_file()
