"""Text classification (sentiment on SST-2 and IMDB): bag-of-words models, recurrent networks, fine-tuned BERT.

One recipe, five models, picked by ``model_type``:

- ``nb``: multinomial naive Bayes on word and bigram counts (fitted in closed form);
- ``logreg``: logistic regression on TF-IDF (or count) features (full-batch L-BFGS);
- ``mlp``: the feed-forward bag-of-words classifier (Linear-ReLU-...-sigmoid, BCE), through the Trainer;
- ``rnn``: an embedding + (Bi)LSTM/GRU/RNN + pooling classifier, through the Trainer;
- ``bert``: a pretrained BERT (all-MiniLM-L6-v2 by default) fine-tuned with a linear head on the pooled [CLS].

The bag-of-words models read ``features``; the RNN reads ``rnn`` and a word vocabulary. Every run writes
config.json, vocab.json (words, or the bag-of-words terms), model.safetensors, metrics.json and plots.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqlab.data.collate import ClassificationCollator
from seqlab.errors import SeqlabError
from seqlab.io import atomic_write_text, write_json
from seqlab.models.bow import (
    BoWFeatures,
    BoWMLP,
    LogisticRegression,
    MultinomialNB,
    SparseBatches,
    csr_rows,
)
from seqlab.models.elmo import char_ids, features_for, report_layer_weights, sentence_chars
from seqlab.models.rnn import RNNClassifier
from seqlab.report import ReportParts, classification_report_files
from seqlab.tasks.common import (
    begin_run,
    bucketed_loader,
    copy_vectors,
    fit_run,
    load_split,
    move,
    prepare_run_dir,
    read_run_json,
    split_off,
    with_vector_words,
    write_metrics,
)
from seqlab.tasks.config import EMBEDDINGS, LABEL_NAMES, MODEL_TYPES, ClassifyData, LogRegConfig, NBConfig  # noqa: F401
from seqlab.tasks.config import ClassifyRunConfig as RunConfig
from seqlab.tasks.rundir import read_run_text, weights_file
from seqlab.text import Vocab
from seqlab.text.encoders import TokenEncoder, WordEncoder, WordPieceEncoder, head_and_tail, words
from seqlab.text.vectors import load_vectors
from seqlab.training import load_weights, read_tensors, save_weights

_MARKUP = re.compile(r"<br\s*/?>|<[^>]{1,20}>")  # IMDB reviews carry <br /> line breaks


# ---- text -> model input ------------------------------------------------------------------------------


def clean(text: str) -> str:
    return _MARKUP.sub(" ", text)


def check_texts(texts: list[str]) -> None:
    for i, text in enumerate(texts, 1):
        if not text.strip():
            raise SeqlabError(f"input {i} is empty: give some text to classify")


def minilm_embeddings() -> tuple[torch.Tensor, str]:
    """MiniLM's pretrained token embeddings (30522, 384) and its tokenizer.json, from the one pretrained loader."""
    from seqlab.models.bert import load_pretrained

    bert, tokenizer_json = load_pretrained("all-MiniLM-L6-v2")
    return bert.embeddings.word.weight.detach(), tokenizer_json


# ---- the trained classifier: text in, label and probability out ----------------------------------------


class TextClassifier:
    """A trained sentiment (or any text) classifier with its encoder; ``seqlab.load(run_dir)`` returns one."""

    def __init__(self, model: Any, encoder: TokenEncoder | BoWFeatures, label_names: list[str],
                 config: RunConfig):
        self.model, self.encoder, self.label_names, self.config = model, encoder, label_names, config

    @torch.no_grad()
    def predict_proba(self, texts: str | list[str], *, batch_size: int = 256, warn: bool = True) -> np.ndarray:
        """(N, C) class probabilities."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        check_texts(texts)
        if isinstance(self.encoder, BoWFeatures):
            return self._bow_proba(self.encoder.transform([clean(t) for t in texts]), batch_size)
        items = _items(self.config, self.encoder, texts, [0] * len(texts), warn=warn)
        self.model.eval()
        collate = _collator(self.config, self.encoder)
        out = np.zeros((len(texts), len(self.label_names)))
        order = sorted(range(len(items)), key=lambda i: len(items[i][0]))  # similar lengths: less padding
        device = next(self.model.parameters()).device
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            batch = move(collate([items[i] for i in chunk]), device)
            extra = {"elmo_chars": batch["elmo_chars"]} if "elmo_chars" in batch else {}
            out[chunk] = torch.softmax(self.model(batch["ids"], batch["mask"], **extra).float(), -1).cpu().numpy()
        return out

    def _bow_proba(self, features: torch.Tensor, batch_size: int) -> np.ndarray:
        if isinstance(self.model, MultinomialNB | LogisticRegression):
            return np.asarray(self.model.predict_proba(features), dtype=float)
        self.model.eval()
        rows = torch.arange(features.size(0)).split(batch_size)
        return torch.cat([self.model.predict_proba(csr_rows(features, r)) for r in rows]).float().numpy()

    def predict(self, texts: str | list[str]) -> list[tuple[str, float]]:
        """(label, probability of that label) for each text."""
        proba = self.predict_proba(texts)
        return [(self.label_names[k], float(p[k])) for p, k in zip(proba, proba.argmax(1), strict=True)]


# ---- training ---------------------------------------------------------------------------------------


def _splits(cfg: RunConfig, data_dir: str | Path | None) -> tuple[list, list]:
    """Training examples and the dev examples held out of them (the test split is read by ``evaluate``)."""
    data = cfg.data
    train = [ex for ex in load_split(data.dataset, data.train_split, data_dir) if ex.label is not None]
    dev, train = split_off(train, data.dev_fraction, cfg.train.seed)
    return train, dev


def _bow_features(cfg: RunConfig, train: list) -> tuple[BoWFeatures, torch.Tensor, torch.Tensor]:
    encoder = BoWFeatures.from_config(cfg.features)
    features = encoder.fit_transform([clean(ex.text) for ex in train])  # (N, V) CSR
    return encoder, features, torch.tensor([ex.label for ex in train])


def _accuracy(predictor: TextClassifier, examples: list) -> float:
    proba = predictor.predict_proba([ex.text for ex in examples], warn=False)
    return float(np.mean(proba.argmax(1) == np.array([ex.label for ex in examples])))


# ---- the model families: one entry each in MODELS -------------------------------------------------------
# build(cfg, train, n_classes) -> (model, encoder, batches); closed-form families fit inside build (batches None).
# load(run_dir, cfg, vocab_json, n_classes) -> (model with its weights, encoder).


def _build_nb(cfg: RunConfig, train: list, n_classes: int) -> tuple[Any, BoWFeatures, None]:
    encoder, features, labels = _bow_features(cfg, train)
    return MultinomialNB(alpha=cfg.nb.alpha).fit(features, labels), encoder, None


def _load_nb(run_dir: Path, cfg: RunConfig, data: dict, n_classes: int) -> tuple[Any, BoWFeatures]:
    model = MultinomialNB.from_state_dict(read_tensors(weights_file(run_dir)), alpha=cfg.nb.alpha)
    return model, BoWFeatures.from_dict(data)


def _build_logreg(cfg: RunConfig, train: list, n_classes: int) -> tuple[Any, BoWFeatures, None]:
    encoder, features, labels = _bow_features(cfg, train)
    model = LogisticRegression(features.size(1), n_classes)
    model.fit(features, labels, C=cfg.logreg.C, max_iter=cfg.logreg.max_iter)
    return model, encoder, None


def _load_logreg(run_dir: Path, cfg: RunConfig, data: dict, n_classes: int) -> tuple[Any, BoWFeatures]:
    model = LogisticRegression(len(data["terms"]), n_classes)
    load_weights(model, run_dir / "model.safetensors")
    return model, BoWFeatures.from_dict(data)


def _build_mlp(cfg: RunConfig, train: list, n_classes: int) -> tuple[torch.nn.Module, BoWFeatures, Any]:
    encoder, features, labels = _bow_features(cfg, train)
    cfg.mlp.vocab_size, cfg.mlp.n_classes = features.size(1), n_classes
    # dense batches: the Trainer slices batches for accumulation and processes, which CSR cannot do
    batches = SparseBatches(features, labels, cfg.train.batch_size, seed=cfg.train.seed, dense=True)
    return BoWMLP(cfg.mlp), encoder, batches


def _load_mlp(run_dir: Path, cfg: RunConfig, data: dict, n_classes: int) -> tuple[torch.nn.Module, BoWFeatures]:
    model = BoWMLP(cfg.mlp)
    load_weights(model, run_dir / "model.safetensors")
    return model, BoWFeatures.from_dict(data)


def _build_rnn(cfg: RunConfig, train: list, n_classes: int) -> tuple[torch.nn.Module, TokenEncoder, Any]:
    if cfg.data.embeddings == "learned":
        vocab = Vocab.build((words(ex.text, cfg.data.lowercase, clean) for ex in train), min_freq=cfg.data.min_freq,
                            max_size=cfg.data.max_vocab)
        if cfg.data.pretrained_vectors:
            vectors, trained = load_vectors(cfg.data.pretrained_vectors), len(vocab)
            vocab, cfg.rnn.embed_dim = with_vector_words(vocab, vectors, _normalizer(cfg)), vectors.dim
        encoder = WordEncoder(vocab, cfg.data.lowercase, cfg.data.max_tokens, clean=clean)
        cfg.rnn.vocab_size = len(vocab)
    else:
        pretrained, tokenizer_json = minilm_embeddings()
        encoder = WordPieceEncoder(tokenizer_json, cfg.data.max_tokens, clean=clean)
        cfg.rnn.vocab_size, cfg.rnn.embed_dim = pretrained.shape
    cfg.rnn.n_classes, cfg.rnn.pad_id = n_classes, encoder.pad_id
    model = RNNClassifier.from_config(cfg.rnn, elmo=features_for(cfg.elmo, from_bilm=True))
    if cfg.data.pretrained_vectors:
        model.pretrained_report = copy_vectors(model.embed, vocab, vectors, _normalizer(cfg), trained=trained,
                                               freeze=cfg.data.freeze_vectors, name=cfg.data.pretrained_vectors)
    if cfg.data.embeddings != "learned":
        with torch.no_grad():
            model.embed.weight.copy_(pretrained)
        model.embed.weight.requires_grad_(cfg.data.embeddings == "minilm")
    return model, encoder, _bucketed(cfg, encoder, train)


def _normalizer(cfg: RunConfig):
    """A vectors file's word as the vocabulary holds it."""
    return str.lower if cfg.data.lowercase else str


def _bucketed(cfg: RunConfig, encoder: TokenEncoder, train: list):
    """The training examples as ids, in batches of similar lengths."""
    items = _items(cfg, encoder, [ex.text for ex in train], [ex.label for ex in train], warn=False)
    return bucketed_loader(items, _collator(cfg, encoder), [len(item[0]) for item in items], cfg.train.batch_size,
                           cfg.train.seed)


def _items(cfg: RunConfig, encoder: TokenEncoder, texts: list[str], labels: list[int], *, warn: bool) -> list[tuple]:
    """(ids, label) per text, and the words' ELMo byte ids when the model reads ELMo vectors."""
    ids = encoder.ids(texts, warn=warn)
    if not cfg.elmo.enabled:
        return list(zip(ids, labels, strict=True))
    return list(zip(ids, labels, _elmo_words(cfg, encoder, texts), strict=True))


def _elmo_words(cfg: RunConfig, encoder: WordEncoder, texts: list[str]) -> list[list[list[int]]]:
    """Each text's words as ELMo reads them: with their case (the word ids may be lower-cased), truncated as the
    ids are, as byte ids."""
    out = []
    for text in texts:
        tokens, looked_up = words(text, False, clean), encoder.words(text)
        if [t.lower() for t in tokens] != looked_up:  # lower-casing changed the tokenisation: keep the ids' words
            tokens = looked_up
        tokens = head_and_tail(tokens, cfg.data.max_tokens) or ["<unk>"]
        out.append([char_ids(t, cfg.elmo.model.max_chars) for t in tokens])
    return out


@dataclass
class ElmoCollator:
    """(ids, label, ELMo byte ids) triples -> ClassificationCollator's ids, mask, labels, and elmo_chars (B, T, W)."""

    pad_id: int

    def __call__(self, batch: list[tuple]) -> dict[str, torch.Tensor]:
        out = ClassificationCollator(self.pad_id)([(ids, label) for ids, label, _ in batch])
        return out | {"elmo_chars": sentence_chars([chars for *_, chars in batch])}


def _collator(cfg: RunConfig, encoder: TokenEncoder) -> Callable[[list], dict]:
    return ElmoCollator(encoder.pad_id) if cfg.elmo.enabled else ClassificationCollator(encoder.pad_id)


def _load_rnn(run_dir: Path, cfg: RunConfig, data: dict, n_classes: int) -> tuple[torch.nn.Module, TokenEncoder]:
    model = RNNClassifier.from_config(cfg.rnn, elmo=features_for(cfg.elmo, from_bilm=False))
    load_weights(model, run_dir / "model.safetensors")
    if data.get("type") == "wordpiece":
        tokenizer = read_run_text(run_dir, data["tokenizer"])
        return model, WordPieceEncoder(tokenizer, cfg.data.max_tokens, clean=clean)
    return model, WordEncoder(Vocab.from_dict(data), cfg.data.lowercase, cfg.data.max_tokens, clean=clean)


def _build_bert(cfg: RunConfig, train: list, n_classes: int) -> tuple[torch.nn.Module, TokenEncoder, Any]:
    from seqlab.models.bert import BertClassifier, load_pretrained

    bert, tokenizer_json = load_pretrained(cfg.bert.pretrained)
    cfg.bert.model = bert.config
    encoder = WordPieceEncoder(tokenizer_json, cfg.data.max_tokens, clean=clean, specials=True)
    model = BertClassifier(bert, n_classes, dropout=cfg.bert.dropout, pooling=cfg.bert.pooling)
    return model, encoder, _bucketed(cfg, encoder, train)


def _load_bert(run_dir: Path, cfg: RunConfig, data: dict, n_classes: int) -> tuple[torch.nn.Module, TokenEncoder]:
    from seqlab.models.bert import Bert, BertClassifier

    model = BertClassifier(Bert.from_config(cfg.bert.model), n_classes, dropout=cfg.bert.dropout,
                           pooling=cfg.bert.pooling)
    load_weights(model, run_dir / "model.safetensors")
    return model, WordPieceEncoder(read_run_text(run_dir, data["tokenizer"]), cfg.data.max_tokens, clean=clean,
                                   specials=True)


@dataclass(frozen=True)
class ModelFamily:
    build: Callable[[RunConfig, list, int], tuple[Any, Any, Any]]
    load: Callable[[Path, RunConfig, dict, int], tuple[Any, Any]]
    closed_form: bool = False  # fitted in one pass: no Trainer, no steps, nothing to --resume
    counts_tokens: bool = True  # the progress bar's rate: tokens/s, else examples/s


# Adding a model family to the classify task is one entry here (and its config block in RunConfig).
MODELS: dict[str, ModelFamily] = {
    "nb": ModelFamily(_build_nb, _load_nb, closed_form=True),
    "logreg": ModelFamily(_build_logreg, _load_logreg, closed_form=True),
    "mlp": ModelFamily(_build_mlp, _load_mlp, counts_tokens=False),
    "rnn": ModelFamily(_build_rnn, _load_rnn),
    "bert": ModelFamily(_build_bert, _load_bert),
}


def train(cfg: RunConfig, out_dir: str | Path, *, progress: bool = True, data_dir: str | Path | None = None,
          resume: bool = False) -> dict:
    """Train the configured classifier, score it on the test split and write the run directory."""
    started, cfg, out_dir = begin_run(cfg, out_dir)
    train_set, dev = _splits(cfg, data_dir)
    label_names = LABEL_NAMES[cfg.data.dataset]
    family = MODELS[cfg.model_type]
    if family.closed_form and resume:
        raise SeqlabError(f"{cfg.model_type} fits in one pass: there is nothing to --resume")
    model, encoder, batches = family.build(cfg, train_set, len(label_names))
    predictor = TextClassifier(model, encoder, label_names, cfg)
    if family.closed_form:
        facts = {"dev_accuracy": _accuracy(predictor, dev), "features": encoder.vocab_size}
        prepare_run_dir(out_dir, cfg)
        _save_closed_form(model, out_dir)
        facts |= {"train_seconds": round(time.perf_counter() - started, 1)}
    else:
        count_tokens = (lambda batch: int(batch["mask"].sum())) if family.counts_tokens else None
        facts = fit_run(cfg, model, batches, out_dir, started,
                        evaluate_dev=lambda m: {"accuracy": _accuracy(predictor, dev)},
                        count_tokens=count_tokens, progress=progress, resume=resume)
        if facts is None:
            return {}
    _save_encoder(encoder, out_dir)
    metrics, _ = evaluate(out_dir, split=cfg.data.test_split, data_dir=data_dir)
    return write_metrics(out_dir, metrics, facts, started, model_type=cfg.model_type, n_train=len(train_set),
                         n_dev=len(dev), **getattr(model, "pretrained_report", {}))


def _save_closed_form(model: Any, out_dir: Path) -> None:
    if isinstance(model, torch.nn.Module):
        save_weights(model, out_dir / "model.safetensors")
        return
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(out_dir / "model.safetensors"))


def _save_encoder(encoder: TokenEncoder | BoWFeatures, out_dir: Path) -> None:
    if isinstance(encoder, WordEncoder):
        encoder.vocab.save(out_dir / "vocab.json")
    elif isinstance(encoder, WordPieceEncoder):
        atomic_write_text(out_dir / "tokenizer.json", encoder.tokenizer_json)
        write_json(out_dir / "vocab.json", {"type": "wordpiece", "tokenizer": "tokenizer.json"})
    else:
        atomic_write_text(out_dir / "vocab.json", json.dumps(encoder.to_dict(), ensure_ascii=False))


# ---- loading and evaluation ----------------------------------------------------------------------------


def load_predictor(run_dir: Path, cfg: RunConfig, *, device: str = "cpu") -> TextClassifier:
    label_names = LABEL_NAMES[cfg.data.dataset]
    model, encoder = MODELS[cfg.model_type].load(run_dir, cfg, read_run_json(run_dir, "vocab.json"), len(label_names))
    if isinstance(model, torch.nn.Module):
        model = model.to(device).eval()
    return TextClassifier(model, encoder, label_names, cfg)


def evaluate(run_dir: str | Path, *, split: str = "test", data_dir: str | Path | None = None, beam_size: int = 1,
             out_dir: str | Path | None = None) -> tuple[dict, ReportParts]:
    """Accuracy, per-class precision/recall/F1, confusion matrices, ROC and PR curves on ``split``."""
    from seqlab.tasks import load_run

    run_dir = Path(run_dir)
    out_dir = Path(out_dir) if out_dir is not None else run_dir
    predictor = load_run(run_dir)
    cfg = predictor.config
    split = cfg.data.test_split if split == "test" else split
    examples = load_split(cfg.data.dataset, split, data_dir)
    if any(ex.label is None for ex in examples):
        raise SeqlabError(f"{cfg.data.dataset} {split} is unlabelled: nothing to score")
    proba = predictor.predict_proba([ex.text for ex in examples], warn=False)
    y_true = [ex.label for ex in examples]
    title = f"{cfg.data.dataset} {split}: {cfg.model_type} classifier, {len(examples)} texts"
    metrics, parts = classification_report_files(y_true, proba.argmax(1), proba, predictor.label_names, out_dir,
                                                 title=title)
    errors = [{"text": ex.text[:160], "label": predictor.label_names[ex.label],
               "p_label": float(p[ex.label])} for ex, p in zip(examples, proba, strict=True) if p.argmax() != ex.label]
    parts.examples = sorted(errors, key=lambda e: e["p_label"])[:10]
    parts.examples_title = "The most confident errors"
    history_path = run_dir / "history.json"
    if history_path.is_file() and out_dir == run_dir:
        parts.plots["Learning curve (training run)"] = "learning_curve.png"
    if isinstance(predictor.model, torch.nn.Module):
        metrics |= report_layer_weights(predictor.model, out_dir, cfg.data.dataset, parts.plots)
    return {"split": split, "dataset": cfg.data.dataset, **metrics}, parts
