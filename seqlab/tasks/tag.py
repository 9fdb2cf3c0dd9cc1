"""Sequence tagging (POS on UD English EWT, NER on CoNLL-2003), two model families picked by ``model_type``:

- ``rnn``: a BiLSTM with a softmax or CRF head and optional character features (a character BiLSTM per word,
  Lample et al. 2016), no pretrained vectors;
- ``bert``: a pretrained BERT (all-MiniLM-L6-v2 by default) fine-tuned with a linear head, each word tagged at
  its first WordPiece (Devlin et al. 2019);
- ``bert-features``: the BiLSTM of ``model`` over a frozen BERT's word vectors (``bert.features``: which layers),
  the feature-based approach of Devlin et al.'s Table 7.

Words are looked up lower-cased (``lowercase_words``) while the character BiLSTM sees their case, so
"Apple" and "apple" share an embedding and the casing still reaches the model (and, with
``model.case_embed_dim``, as an embedding of the word's case pattern, Collobert et al. 2011). Words seen
once in training are replaced by <unk> with probability ``singleton_unk`` (Lample et al.), so the model
learns what to do with the unknown words it will meet at test time.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch

from seqlab.data.collate import EpochSeeded, TaggingCollator, pad_sequences, pad_with_mask
from seqlab.errors import SeqlabError
from seqlab.io import atomic_write_text, write_json
from seqlab.metrics import SpanF1, token_accuracy
from seqlab.models.elmo import char_ids, features_for, report_layer_weights, sentence_chars
from seqlab.models.rnn import RNNTagger
from seqlab.report import ReportParts, classification_report_files
from seqlab.tasks.common import (
    begin_run,
    bucketed_loader,
    copy_vectors,
    fit_run,
    load_split,
    move,
    read_run_json,
    with_vector_words,
    write_metrics,
)
from seqlab.tasks.config import SPAN_FIELDS, TAG_FIELDS, TagData  # noqa: F401
from seqlab.tasks.config import TagRunConfig as RunConfig
from seqlab.tasks.rundir import read_run_text
from seqlab.text import Vocab, word_tokenize
from seqlab.text.vectors import load_vectors
from seqlab.text.vocab import CharVocab
from seqlab.training import load_weights

_DIGIT = re.compile(r"\d")
@dataclass
class Sentence:
    tokens: list[str]
    tags: list[str]


def read_sentences(cfg: TagData, split: str, data_dir: str | Path | None) -> list[Sentence]:
    options = {"scheme": cfg.scheme} if cfg.dataset == "conll2003" else {}
    return [Sentence(list(s.tokens), list(getattr(s, cfg.tag_field)))
            for s in load_split(cfg.dataset, split, data_dir, **options)]


class TagSet:
    """The tags seen in training, and tag names -> ids."""

    def __init__(self, tags: list[str]):
        self.tags = tags
        self.tag_index = {t: i for i, t in enumerate(tags)}

    def tag_ids(self, tags: list[str], where: str) -> list[int]:
        unknown = [t for t in tags if t not in self.tag_index]
        if unknown:
            raise SeqlabError(f"{where}: tag {unknown[0]!r} never seen in training")
        return [self.tag_index[t] for t in tags]


def word_level_batch(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Piece-level ids, mask, labels (B, T) (-100 off each word's first piece) -> ids and mask (B, T) as they were,
    ``first`` (B, W): each word's first piece, ``words`` (B, W): the word mask, ``labels`` (B, W)."""
    labels = batch.pop("labels")
    firsts = [row.nonzero().flatten().tolist() for row in labels != -100]
    first, words = pad_with_mask(firsts, 0)
    word_labels = pad_sequences([row[row != -100].tolist() for row in labels], -100)
    return batch | {"first": first, "words": words, "labels": word_labels}


def training_tags(sentences: list[Sentence]) -> list[str]:
    return sorted({t for s in sentences for t in s.tags})


class TagEncoder(TagSet):
    """Tokens -> word ids, character ids (B, T, W), case ids, ELMo's byte ids (B, T, W) and tag ids, and back (the
    BiLSTM's input). ``elmo_chars``: the bytes kept per word for ELMo (0: the model reads no ELMo vectors)."""

    def __init__(self, words: Vocab, chars: CharVocab | None, tags: list[str], cfg: TagData, *, case: bool = False,
                 elmo_chars: int = 0):
        super().__init__(tags)
        self.words, self.chars, self.cfg, self.case, self.elmo_chars = words, chars, cfg, case, elmo_chars
        self.collate = TagCollator(words.pad_id, chars.pad_id if chars else None)

    @classmethod
    def build(cls, sentences: list[Sentence], cfg: TagData, *, char_features: bool, case: bool,
              elmo_chars: int = 0) -> TagEncoder:
        words = Vocab.build(([cls._word(t, cfg) for t in s.tokens] for s in sentences), min_freq=cfg.min_freq)
        chars = CharVocab.build(" ".join(t for s in sentences for t in s.tokens)) if char_features else None
        return cls(words, chars, training_tags(sentences), cfg, case=case, elmo_chars=elmo_chars)

    @staticmethod
    def _word(token: str, cfg: TagData) -> str:
        if cfg.zero_digits:
            token = _DIGIT.sub("0", token)
        return token.lower() if cfg.lowercase_words else token

    def word_ids(self, tokens: list[str]) -> list[int]:
        return self.words.encode(self._word(t, self.cfg) for t in tokens)

    def char_ids(self, tokens: list[str]) -> list[list[int]]:
        return [self.chars.encode(t[: self.cfg.max_word_chars]) or [self.chars.unk_id] for t in tokens]

    def item(self, tokens: list[str], tag_ids: list[int]) -> TagItem:
        elmo = [char_ids(t, self.elmo_chars) for t in tokens] if self.elmo_chars else None
        return TagItem(self.word_ids(tokens), self.char_ids(tokens) if self.chars else None,
                       [casing(t) for t in tokens] if self.case else None, tag_ids, elmo)

    def to_dict(self) -> dict:
        return {"type": "tagger", "words": self.words.to_dict(),
                "chars": self.chars.to_dict() if self.chars else None, "tags": self.tags}

    @classmethod
    def from_dict(cls, data: dict, cfg: TagData, *, case: bool, elmo_chars: int = 0) -> TagEncoder:
        chars = CharVocab.from_dict(data["chars"]) if data["chars"] else None
        return cls(Vocab.from_dict(data["words"]), chars, list(data["tags"]), cfg, case=case, elmo_chars=elmo_chars)


class WordPieceTagEncoder(TagSet):
    """Words -> BERT's WordPiece ids framed [CLS] ... [SEP]; a word's tag sits on its first piece, and the other
    pieces carry -100 (no loss, no prediction), as Devlin et al. tag CoNLL-2003. A sentence over ``max_pieces``
    keeps only each word's first piece."""

    def __init__(self, tokenizer_json: str, tags: list[str], max_pieces: int, *, word_level: bool = False):
        from tokenizers import Tokenizer

        super().__init__(tags)
        self.tokenizer_json, self.max_pieces = tokenizer_json, max_pieces
        self.tokenizer = Tokenizer.from_str(tokenizer_json)
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        piece = self.tokenizer.token_to_id
        self.cls_id, self.sep_id, self.unk_id = piece("[CLS]"), piece("[SEP]"), piece("[UNK]")
        pieces = TaggingCollator(piece("[PAD]"))
        self.collate = (lambda batch: word_level_batch(pieces(batch))) if word_level else pieces

    def word_pieces(self, tokens: list[str]) -> list[list[int]]:
        encoding = self.tokenizer.encode(tokens, is_pretokenized=True, add_special_tokens=False)
        pieces: list[list[int]] = [[] for _ in tokens]
        for piece, word in zip(encoding.ids, encoding.word_ids, strict=True):
            pieces[word].append(piece)
        return [p or [self.unk_id] for p in pieces]

    def item(self, tokens: list[str], tag_ids: list[int]) -> tuple[list[int], list[int]]:
        """(piece ids, one label per piece): the word's tag on its first piece, -100 elsewhere."""
        pieces = self.word_pieces(tokens)
        if sum(map(len, pieces)) > self.max_pieces - 2:
            pieces = [p[:1] for p in pieces]
        ids = [self.cls_id, *(i for p in pieces for i in p), self.sep_id]
        labels = [-100, *(lab for p, tag in zip(pieces, tag_ids, strict=True) for lab in [tag] + [-100] * (len(p) - 1)),
                  -100]
        return ids, labels

    def to_dict(self) -> dict:
        return {"type": "wordpiece-tagger", "tokenizer": "tokenizer.json", "tags": self.tags}


CASES = ("other", "lower", "upper", "title", "numeric", "has_digit")  # id 0 ("other") also pads


def casing(token: str) -> int:
    """Collobert et al.'s capitalisation feature: the word's case pattern as an id into CASES."""
    if token.isdigit():
        return 4
    if any(c.isdigit() for c in token):
        return 5
    if token.islower():
        return 1
    if token.isupper():
        return 2
    return 3 if token[:1].isupper() and token[1:].islower() else 0


class TagItem(NamedTuple):
    words: list[int]
    chars: list[list[int]] | None
    case: list[int] | None
    tags: list[int]
    elmo: list[list[int]] | None = None  # ELMo's byte ids of each word


@dataclass
class TagCollator:
    """TagItems -> the shared TaggingCollator's ids, mask, labels (B, T), plus case (B, T), chars (B, T, W) and
    elmo_chars (B, T, W) when the model uses them."""

    pad_id: int
    char_pad_id: int | None  # None: no character features

    def __call__(self, batch: list[TagItem]) -> dict[str, torch.Tensor]:
        out = TaggingCollator(self.pad_id)([(item.words, item.tags) for item in batch])
        ids = out["ids"]
        if batch[0].case is not None:
            out["case"] = pad_sequences([item.case for item in batch], 0)
        if self.char_pad_id is not None:
            width = max(len(w) for item in batch for w in item.chars)
            chars = torch.full((len(batch), ids.size(1), width), self.char_pad_id, dtype=torch.long)
            for b, item in enumerate(batch):
                for t, word in enumerate(item.chars):
                    chars[b, t, : len(word)] = torch.tensor(word)
            out["chars"] = chars
        if batch[0].elmo is not None:
            out["elmo_chars"] = sentence_chars([item.elmo for item in batch])
        return out


def singleton_dropout(is_singleton: torch.Tensor, unk_id: int, p: float) -> Callable[[dict, torch.Generator], dict]:
    """Training batches in which words seen once become <unk> with probability p (for ``EpochSeeded``)."""

    def transform(batch: dict, generator: torch.Generator) -> dict:
        ids = batch["ids"]
        drop = is_singleton[ids] & (torch.rand(ids.shape, generator=generator) < p)
        return batch | {"ids": ids.masked_fill(drop, unk_id)}

    return transform


class Tagger:
    """A trained tagger: ``tag(["The", "cat", "sat"])`` or ``tag("The cat sat")`` -> [(token, tag), ...]."""

    def __init__(self, model: torch.nn.Module, encoder: TagEncoder | WordPieceTagEncoder, config: RunConfig):
        self.model, self.encoder, self.config = model, encoder, config

    @torch.no_grad()
    def predict_tags(self, sentences: list[list[str]], *, batch_size: int = 128, warn: bool = True) -> list[list[str]]:
        """One tag per token. A sentence longer than ``data.max_tokens`` is tagged in consecutive windows of that
        many tokens (each window read without the others' context), so every token gets a tag."""
        limit = self.config.data.max_tokens
        for i, s in enumerate(sentences, 1):
            if not s:
                raise SeqlabError(f"input {i} is empty: give some words to tag")
        if warn and (long := sum(len(s) > limit for s in sentences)):
            warnings.warn(f"{long} of {len(sentences)} sentences were longer than {limit} tokens and were tagged "
                          f"in windows of {limit}", stacklevel=2)
        windows = [(i, s[start : start + limit]) for i, s in enumerate(sentences) for start in range(0, len(s), limit)]
        tags = self._decode([w for _, w in windows], batch_size)
        out: list[list[str]] = [[] for _ in sentences]
        for (i, _), window_tags in zip(windows, tags, strict=True):
            out[i].extend(window_tags)
        return out

    def _decode(self, sentences: list[list[str]], batch_size: int) -> list[list[str]]:
        items = [self.encoder.item(s, [0] * len(s)) for s in sentences]
        decode = MODELS[self.config.model_type].decode
        device = next(self.model.parameters()).device
        self.model.eval()
        out: list[list[str]] = [[] for _ in sentences]
        order = sorted(range(len(items)), key=lambda i: len(items[i][0]))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            batch = move(self.encoder.collate([items[i] for i in chunk]), device)
            paths = decode(self.model, batch)
            for i, path in zip(chunk, paths, strict=True):
                out[i] = [self.encoder.tags[k] for k in path]
        return out

    def tag(self, text: str | list[str]) -> list[tuple[str, str]]:
        tokens = word_tokenize(text) if isinstance(text, str) else list(text)
        return list(zip(tokens, self.predict_tags([tokens])[0], strict=True))


def _scores(cfg: TagData, predictions: list[list[str]], references: list[list[str]]) -> dict:
    flat_pred = [t for s in predictions for t in s]
    flat_true = [t for s in references for t in s]
    scores = {"accuracy": float(np.mean([p == t for p, t in zip(flat_pred, flat_true, strict=True)]))}
    if cfg.tag_field in SPAN_FIELDS:
        metric = SpanF1(cfg.scheme)
        metric.update(predictions, references)
        result = metric.compute()
        scores |= {"f1": result["micro"]["f1"], "precision": result["micro"]["precision"],
                   "recall": result["micro"]["recall"], "per_type": result["per_type"]}
    return scores


# ---- the model families: one entry each in MODELS -------------------------------------------------------
# build(cfg, train) -> (model, encoder, training batches); load(run_dir, cfg, vocab_json) -> (model, encoder);
# decode(model, batch) -> the best tag ids of each sentence's words.


def _build_rnn(cfg: RunConfig, train: list[Sentence]) -> tuple[torch.nn.Module, TagEncoder, Any]:
    elmo = features_for(cfg.elmo, from_bilm=True)
    encoder = TagEncoder.build(train, cfg.data, char_features=cfg.model.char_vocab_size != 0,
                               case=cfg.model.case_embed_dim > 0, elmo_chars=_elmo_chars(cfg))
    normalize = functools.partial(TagEncoder._word, cfg=cfg.data)  # a vectors file's word as the lookup reads it
    if cfg.data.pretrained_vectors:
        vectors, trained = load_vectors(cfg.data.pretrained_vectors), len(encoder.words)
        encoder.words, cfg.model.embed_dim = with_vector_words(encoder.words, vectors, normalize), vectors.dim
    cfg.model.vocab_size, cfg.model.n_tags = len(encoder.words), len(encoder.tags)
    cfg.model.pad_id = encoder.words.pad_id
    if encoder.chars:
        cfg.model.char_vocab_size, cfg.model.char_pad_id = len(encoder.chars), encoder.chars.pad_id
    model = RNNTagger.from_config(cfg.model, elmo=elmo)
    if cfg.data.pretrained_vectors:
        model.pretrained_report = copy_vectors(model.embed, encoder.words, vectors, normalize, trained=trained,
                                               freeze=cfg.data.freeze_vectors, name=cfg.data.pretrained_vectors)
    return model, encoder, _rnn_batches(cfg, encoder, train)


def _rnn_batches(cfg: RunConfig, encoder: TagEncoder, sentences: list[Sentence]):
    loader = _bucketed(cfg, encoder, sentences)
    if cfg.data.singleton_unk == 0:
        return loader
    words = torch.tensor([w for s in sentences for w in encoder.word_ids(s.tokens)])
    counts = torch.bincount(words, minlength=len(encoder.words))  # (V,) training occurrences of each word id
    is_singleton = counts == 1  # (V,)
    is_singleton[encoder.words.unk_id] = False
    return EpochSeeded(loader, singleton_dropout(is_singleton, encoder.words.unk_id, cfg.data.singleton_unk),
                       cfg.train.seed)


def _bucketed(cfg: RunConfig, encoder: TagEncoder | WordPieceTagEncoder, sentences: list[Sentence]):
    items = [encoder.item(s.tokens, encoder.tag_ids(s.tags, f"train sentence {i}"))
             for i, s in enumerate(sentences, 1)]
    return bucketed_loader(items, encoder.collate, [len(item[0]) for item in items], cfg.train.batch_size,
                           cfg.train.seed)


def _elmo_chars(cfg: RunConfig) -> int:
    return cfg.elmo.model.max_chars if cfg.elmo.enabled else 0


def _load_rnn(run_dir: Path, cfg: RunConfig, data: dict) -> tuple[torch.nn.Module, TagEncoder]:
    model = RNNTagger.from_config(cfg.model, elmo=features_for(cfg.elmo, from_bilm=False))
    load_weights(model, run_dir / "model.safetensors")
    return model, TagEncoder.from_dict(data, cfg.data, case=cfg.model.case_embed_dim > 0,
                                       elmo_chars=_elmo_chars(cfg))


def _decode_rnn(model: RNNTagger, batch: dict) -> list[list[int]]:
    return model.decode(batch["ids"], batch["mask"], batch.get("chars"), batch.get("case"),
                        elmo_chars=batch.get("elmo_chars"))


def _build_bert(cfg: RunConfig, train: list[Sentence]) -> tuple[torch.nn.Module, WordPieceTagEncoder, Any]:
    from seqlab.models.bert import BertTagger, load_pretrained

    bert, tokenizer_json = load_pretrained(cfg.bert.pretrained)
    cfg.bert.model = bert.config
    encoder = WordPieceTagEncoder(tokenizer_json, training_tags(train), bert.config.max_positions)
    model = BertTagger(bert, len(encoder.tags), dropout=cfg.bert.dropout)
    return model, encoder, _bucketed(cfg, encoder, train)


def _load_bert(run_dir: Path, cfg: RunConfig, data: dict) -> tuple[torch.nn.Module, WordPieceTagEncoder]:
    from seqlab.models.bert import Bert, BertTagger

    encoder = WordPieceTagEncoder(read_run_text(run_dir, data["tokenizer"]), list(data["tags"]),
                                  cfg.bert.model.max_positions)
    model = BertTagger(Bert.from_config(cfg.bert.model), len(encoder.tags), dropout=cfg.bert.dropout)
    load_weights(model, run_dir / "model.safetensors")
    return model, encoder


def _decode_bert(model: torch.nn.Module, batch: dict) -> list[list[int]]:
    return model.decode(batch["ids"], batch["mask"], batch["labels"] != -100)


def _build_bert_features(cfg: RunConfig, train: list[Sentence]) -> tuple[torch.nn.Module, WordPieceTagEncoder, Any]:
    from seqlab.models.bert import load_pretrained

    bert, tokenizer_json = load_pretrained(cfg.bert.pretrained)
    cfg.bert.model = bert.config
    encoder = WordPieceTagEncoder(tokenizer_json, training_tags(train), bert.config.max_positions, word_level=True)
    cfg.model.n_tags = len(encoder.tags)
    return _feature_tagger(bert, cfg), encoder, _bucketed(cfg, encoder, train)


def _feature_tagger(bert, cfg: RunConfig) -> torch.nn.Module:
    from seqlab.models.bert import BertFeatureTagger, FrozenBertFeatures

    features = FrozenBertFeatures(bert, cfg.bert.features)
    return BertFeatureTagger(features, RNNTagger.from_config(cfg.model, input_size=features.output_size))


def _load_bert_features(run_dir: Path, cfg: RunConfig, data: dict) -> tuple[torch.nn.Module, WordPieceTagEncoder]:
    from seqlab.models.bert import Bert

    encoder = WordPieceTagEncoder(read_run_text(run_dir, data["tokenizer"]), list(data["tags"]),
                                  cfg.bert.model.max_positions, word_level=True)
    model = _feature_tagger(Bert.from_config(cfg.bert.model), cfg)
    load_weights(model, run_dir / "model.safetensors")
    return model, encoder


def _decode_bert_features(model: torch.nn.Module, batch: dict) -> list[list[int]]:
    return model.decode(batch["ids"], batch["mask"], batch["first"], batch["words"])


@dataclass(frozen=True)
class TagFamily:
    build: Callable[[RunConfig, list[Sentence]], tuple[torch.nn.Module, Any, Any]]
    load: Callable[[Path, RunConfig, dict], tuple[torch.nn.Module, Any]]
    decode: Callable[[torch.nn.Module, dict], list[list[int]]]


# Adding a model family to the tag task is one entry here (and its config block in RunConfig).
MODELS: dict[str, TagFamily] = {
    "rnn": TagFamily(_build_rnn, _load_rnn, _decode_rnn),
    "bert": TagFamily(_build_bert, _load_bert, _decode_bert),
    "bert-features": TagFamily(_build_bert_features, _load_bert_features, _decode_bert_features),
}


def _save_encoder(encoder: TagEncoder | WordPieceTagEncoder, out_dir: Path) -> None:
    if isinstance(encoder, WordPieceTagEncoder):
        atomic_write_text(out_dir / "tokenizer.json", encoder.tokenizer_json)
    write_json(out_dir / "vocab.json", encoder.to_dict())


def train(cfg: RunConfig, out_dir: str | Path, *, progress: bool = True, data_dir: str | Path | None = None,
          resume: bool = False) -> dict:
    """Train the tagger, score it on the test split and write the run directory."""
    started, cfg, out_dir = begin_run(cfg, out_dir)
    train_set = read_sentences(cfg.data, "train", data_dir)
    dev = read_sentences(cfg.data, "validation", data_dir)
    model, encoder, batches = MODELS[cfg.model_type].build(cfg, train_set)
    tagger = Tagger(model, encoder, cfg)
    metric = cfg.dev_metric

    def evaluate_dev(m: torch.nn.Module) -> dict:
        predictions = tagger.predict_tags([s.tokens for s in dev], warn=False)
        return {metric: _scores(cfg.data, predictions, [s.tags for s in dev])[metric]}

    facts = fit_run(cfg, model, batches, out_dir, started, evaluate_dev=evaluate_dev,
                    save_vocab=lambda d: _save_encoder(encoder, d),
                    count_tokens=lambda b: int(b["mask"].sum()), progress=progress, resume=resume)
    if facts is None:
        return {}
    metrics, _ = evaluate(out_dir, split="test", data_dir=data_dir)
    return write_metrics(out_dir, metrics, facts, started, model_type=cfg.model_type,
                         **getattr(model, "pretrained_report", {}))


def load_predictor(run_dir: Path, cfg: RunConfig, *, device: str = "cpu") -> Tagger:
    model, encoder = MODELS[cfg.model_type].load(run_dir, cfg, read_run_json(run_dir, "vocab.json"))
    return Tagger(model.to(device).eval(), encoder, cfg)


def evaluate(run_dir: str | Path, *, split: str = "test", data_dir: str | Path | None = None, beam_size: int = 1,
             out_dir: str | Path | None = None) -> tuple[dict, ReportParts]:
    """Token accuracy (and span F1 per entity type for NER); a confusion matrix of the tags."""
    from seqlab.tasks import load_run

    run_dir = Path(run_dir)
    out_dir = Path(out_dir) if out_dir is not None else run_dir
    tagger: Tagger = load_run(run_dir)
    cfg = tagger.config
    sentences = read_sentences(cfg.data, split, data_dir)
    predictions = tagger.predict_tags([s.tokens for s in sentences], warn=False)
    references = [s.tags for s in sentences]
    scores = _scores(cfg.data, predictions, references)
    names = tagger.encoder.tags
    index = {t: i for i, t in enumerate(names)}
    y_true = [index.get(t, -1) for s in references for t in s]
    y_pred = [index[t] for s in predictions for t in s]
    kept = [(t, p) for t, p in zip(y_true, y_pred, strict=True) if t >= 0]  # tags unseen in training: errors
    title = f"{cfg.data.dataset} {split}: {cfg.data.tag_field} tagging, {len(sentences)} sentences"
    _, parts = classification_report_files([t for t, _ in kept], [p for _, p in kept], None, names, out_dir,
                                           title=title)
    metrics = {"split": split, "dataset": cfg.data.dataset, "tag_field": cfg.data.tag_field,
               "n_sentences": len(sentences), "n_tokens": len(y_true),
               "token_accuracy": token_accuracy(torch.tensor(y_pred), torch.tensor(y_true))}
    if "f1" in scores:
        metrics |= {"span_f1": scores["f1"], "span_precision": scores["precision"], "span_recall": scores["recall"]}
        parts.table = [{"type": k, **v} for k, v in scores["per_type"].items()]
        parts.table_title = "Entity-level precision, recall and F1 per type (CoNLL)"
        metrics["per_type_f1"] = {k: v["f1"] for k, v in scores["per_type"].items()}
    errors = [{"tokens": " ".join(s.tokens)[:120], "reference": " ".join(s.tags)[:80], "prediction": " ".join(p)[:80]}
              for s, p in zip(sentences, predictions, strict=True) if p != s.tags]
    parts.examples, parts.examples_title = errors[:8], f"First sentences with errors ({len(errors)} in all)"
    if (run_dir / "history.json").is_file() and out_dir == run_dir:
        parts.plots["Learning curve (training run)"] = "learning_curve.png"
    metrics |= report_layer_weights(tagger.model, out_dir, f"{cfg.data.dataset} {cfg.data.tag_field}", parts.plots)
    return metrics, parts
