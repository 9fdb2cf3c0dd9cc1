"""The date-normalisation recipe (the main job of ``seqlab demo``): data, training, evaluation, artifacts.

A character-level Transformer learns to map free-form dates to ISO 8601. Training pairs are
drawn fresh at every step from an endless generator; the dev set (early stopping) and the
test set (the reported number) are fixed samples whose sources never appear in training.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from seqlab import viz  # its plots import matplotlib on first use, not when a prediction loads the task
from seqlab.data.collate import Seq2SeqCollator
from seqlab.data.dates import DatePair, alphabet, longest_source, sample_pairs, stream_pairs
from seqlab.errors import SeqlabError
from seqlab.metrics import corpus_bleu, corpus_chrf, exact_match
from seqlab.models.transformer import Transformer
from seqlab.report import ReportParts
from seqlab.tasks.common import begin_run, fit_run, write_metrics
from seqlab.tasks.config import DatesData, demo_model, demo_optim, demo_train  # noqa: F401
from seqlab.tasks.config import DatesRunConfig as RunConfig
from seqlab.tasks.seq2seq_predictor import Seq2SeqPredictor
from seqlab.text.vocab import CharVocab
from seqlab.training import StopAtTarget, load_weights

ATTENTION_EXAMPLE = "Thursday, July 4, 2019"


def build_vocab() -> CharVocab:
    """One joint character vocabulary (sources and ISO targets), complete for everything the generator emits."""
    return CharVocab.build(alphabet(), lowercase=True, collapse_whitespace=True)  # "4  July" reads as "4 July"


def encode_batch(pairs: list[DatePair], vocab: CharVocab) -> dict[str, torch.Tensor]:
    """src (B, S), tgt (B, T+1) = <bos> y <eos>, through the shared Seq2SeqCollator."""
    collate = Seq2SeqCollator(vocab.pad_id, vocab.bos_id, vocab.eos_id)
    return collate([(vocab.encode(p.source), vocab.encode(p.target)) for p in pairs])


@dataclass
class TrainingBatches:
    """An endless stream of length-bucketed batches: draw a pool, sort it by source length, cut it into
    batches, shuffle those. Sources of similar length pad far less than random ones (dates range from 8 to
    40 characters). Each ``iter`` starts the same stream again, which is how a resumed run finds its place."""

    cfg: RunConfig
    vocab: CharVocab
    exclude: set[str]
    pool_batches: int = 32

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        stream = stream_pairs(self.cfg.train.seed, exclude=self.exclude)
        rng = random.Random(self.cfg.train.seed)
        size = self.cfg.train.batch_size
        while True:
            pool = sorted((next(stream) for _ in range(size * self.pool_batches)), key=lambda p: len(p.source))
            batches = [pool[i : i + size] for i in range(0, len(pool), size)]
            rng.shuffle(batches)
            for batch in batches:
                yield encode_batch(batch, self.vocab)


def held_out(cfg: DatesData) -> tuple[list[DatePair], list[DatePair]]:
    """The test set, then a dev set disjoint from it."""
    test = sample_pairs(cfg.n_test, cfg.test_seed)
    dev = sample_pairs(cfg.n_dev, cfg.dev_seed, exclude={p.source.lower() for p in test})
    return dev, test


def score(predictor: Seq2SeqPredictor, pairs: list[DatePair], *, beam_size: int = 1) -> tuple[float, list[str]]:
    predictions = predictor.translate([p.source for p in pairs], beam_size=beam_size)
    return exact_match(predictions, [p.target for p in pairs]), predictions


def train(cfg: RunConfig, out_dir: str | Path, *, progress: bool = True, data_dir: str | Path | None = None,
          resume: bool = False) -> dict:
    """Train, evaluate on the test set and write the run directory; returns the metrics (on rank 0 of a
    torchrun group; the other processes train and return {}). With ``resume``, continue the run in
    ``out_dir`` from its last checkpoint. The data are generated, so ``data_dir`` is not read."""
    longest = longest_source()
    if cfg.model.max_len < max(longest, cfg.data.max_target_len + 1):
        raise SeqlabError(f"model.max_len={cfg.model.max_len} is too short: sources reach {longest} characters")
    started, cfg, out_dir = begin_run(cfg, out_dir)
    vocab = build_vocab()
    cfg.model.src_vocab_size = cfg.model.tgt_vocab_size = len(vocab)
    cfg.model.pad_id, cfg.model.bos_id, cfg.model.eos_id = vocab.pad_id, vocab.bos_id, vocab.eos_id
    model = Transformer.from_config(cfg.model)
    predictor = Seq2SeqPredictor(model, vocab, max_output_len=cfg.data.max_target_len, config=cfg)
    callbacks = []
    if cfg.stop_at_dev_exact_match is not None:
        callbacks.append(StopAtTarget("exact_match", cfg.stop_at_dev_exact_match, patience=2))
    dev, test = held_out(cfg.data)
    batches = TrainingBatches(cfg, vocab, exclude={p.source.lower() for p in dev + test})
    dev_batch = encode_batch(dev, vocab)

    def evaluate_dev(m: Transformer) -> dict:
        device = next(m.parameters()).device
        loss = m.loss(**{k: v.to(device) for k, v in dev_batch.items()}).item()
        return {"exact_match": score(predictor, dev)[0], "loss": loss}

    def count_tokens(batch: dict) -> int:
        return int((batch["src"] != vocab.pad_id).sum() + (batch["tgt"] != vocab.pad_id).sum())

    facts = fit_run(cfg, model, batches, out_dir, started, evaluate_dev=evaluate_dev,
                    save_vocab=lambda d: vocab.save(d / "vocab.json"), count_tokens=count_tokens,
                    progress=progress, resume=resume, callbacks=callbacks, curve=CURVE)
    if facts is None:
        return {}
    history = json.loads((out_dir / "history.json").read_text(encoding="utf-8"))
    metrics = score_test_set(predictor, test)  # fp32, as `seqlab eval` and `translate` run
    last_dev = next((r["eval_exact_match"] for r in reversed(history) if "eval_exact_match" in r), None)
    plot_example_attention(predictor, out_dir)
    return write_metrics(out_dir, metrics, facts, started, dev_exact_match=last_dev)


def score_test_set(predictor: Seq2SeqPredictor, test: list[DatePair]) -> dict:
    accuracy, predictions = score(predictor, test)
    errors = [{"source": p.source, "target": p.target, "prediction": y}
              for p, y in zip(test, predictions, strict=True) if y != p.target]
    return {
        "exact_match": accuracy,
        "n_test": len(test),
        "errors": len(errors),
        "examples": [{"source": p.source, "prediction": y} for p, y in zip(test[:8], predictions[:8], strict=True)],
        "first_errors": errors[:20],
    }


CURVE = {"metric": "exact_match", "title": "Date normalisation: Transformer learning curve"}


def write_plots(predictor: Seq2SeqPredictor, history: list[dict], out_dir: Path) -> None:
    """learning_curve.png (train and dev loss, dev exact match) and attention.png (one example)."""
    viz.plot_learning_curve(history, out_dir / "learning_curve.png", **CURVE)
    plot_example_attention(predictor, out_dir)


def plot_example_attention(predictor: Seq2SeqPredictor, out_dir: Path) -> None:
    src_tokens, out_tokens, weights = predictor.attention(ATTENTION_EXAMPLE)
    viz.plot_attention(weights, src_tokens, out_tokens, out_dir / "attention.png",
                   title=f"Cross-attention (last decoder layer), {ATTENTION_EXAMPLE!r}")


def load_predictor(run_dir: Path, cfg: RunConfig, *, device: str = "cpu") -> Seq2SeqPredictor:
    try:
        model = Transformer.from_config(cfg.model)
    except ValueError as err:
        raise SeqlabError(f"{run_dir / 'config.json'}: {err}") from err
    load_weights(model, run_dir / "model.safetensors")
    vocab = CharVocab.load(run_dir / "vocab.json")
    return Seq2SeqPredictor(model.to(device).eval(), vocab, max_output_len=cfg.data.max_target_len, config=cfg)


SPLITS = ("test", "validation")  # the fixed held-out sets, regenerated from the config's seeds
N_ERROR_EXAMPLES = 10


def char_accuracy(predictions: list[str], references: list[str]) -> float:
    """Characters right at their position, over the longer of prediction and reference, summed over the corpus
    (ISO dates have a fixed length, so position is the alignment)."""
    right = sum(sum(a == b for a, b in zip(p, r, strict=False)) for p, r in zip(predictions, references, strict=True))
    total = sum(max(len(p), len(r)) for p, r in zip(predictions, references, strict=True))
    return right / total if total else 0.0


def field_accuracy(predictions: list[str], references: list[str]) -> list[dict]:
    """Accuracy of the year, month and day fields separately: which part of a date the model gets wrong."""
    pairs = [(p.split("-"), r.split("-")) for p, r in zip(predictions, references, strict=True)]
    rows = []
    for i, name in enumerate(["year", "month", "day"]):
        right = sum(p[i : i + 1] == r[i : i + 1] for p, r in pairs)
        rows.append({"field": name, "accuracy": right / len(references) if references else 0.0,
                     "errors": len(references) - right})
    return rows


def evaluate(run_dir: str | Path, *, split: str = "test", data_dir: str | Path | None = None, beam_size: int = 1,
             out_dir: str | Path | None = None) -> tuple[dict, ReportParts]:
    """Re-score a saved run on a held-out split ("test" or "validation", regenerated from the config's seeds)
    and draw its plots into ``out_dir`` (default ``run_dir``); returns the metrics and the report's parts.
    The data are generated, so ``data_dir`` is not read (every task takes it)."""
    if split not in SPLITS:
        raise SeqlabError(f"unknown split {split!r} for the dates task (known: {', '.join(SPLITS)})")
    from seqlab.tasks import load_run

    out_dir = Path(out_dir) if out_dir is not None else Path(run_dir)
    predictor = load_run(run_dir)
    run_dir = Path(run_dir)
    dev, test = held_out(predictor.config.data)
    pairs = test if split == "test" else dev
    accuracy, predictions = score(predictor, pairs, beam_size=beam_size)
    references = [p.target for p in pairs]
    bleu, chrf = corpus_bleu(predictions, references), corpus_chrf(predictions, references)
    errors = [{"source": p.source, "reference": p.target, "prediction": y}
              for p, y in zip(pairs, predictions, strict=True) if y != p.target]
    metrics = {"split": split, "n_examples": len(pairs), "beam_size": beam_size, "exact_match": accuracy,
               "char_accuracy": char_accuracy(predictions, references), "bleu": bleu, "chrf": chrf,
               "errors": len(errors), "first_errors": errors[:N_ERROR_EXAMPLES]}
    decoding = "greedy decoding" if beam_size == 1 else f"beam search (beam {beam_size})"
    parts = ReportParts(title=f"Date normalisation: {split} split, {len(pairs)} dates, {decoding}",
                        table=field_accuracy(predictions, references), table_title="Accuracy per date field",
                        examples=[{**e, "prediction": e["prediction"] or "(empty)"} for e in errors[:N_ERROR_EXAMPLES]],
                        examples_title=f"First {min(len(errors), N_ERROR_EXAMPLES)} of {len(errors)} errors")
    parts.notes.append("BLEU and chrF are corpus scores (0-100, sacrebleu defaults: 13a tokens, chrF n=6); "
                       "char_accuracy counts characters right at their position.")

    history_path = run_dir / "history.json"
    history = json.loads(history_path.read_text(encoding="utf-8")) if history_path.is_file() else []
    write_plots(predictor, history, out_dir)
    parts.plots["Cross-attention of the last decoder layer, averaged over heads"] = "attention.png"
    parts.plots["Learning curve (training run)"] = "learning_curve.png"
    return metrics, parts
