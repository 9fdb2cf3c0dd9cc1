"""What every task does with its run directory: create it, or check that a resumed run is the same run."""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from seqlab.config import to_dict
from seqlab.data.collate import BucketBatchSampler
from seqlab.errors import SeqlabError
from seqlab.io import check_output_dir, write_json
from seqlab.tasks.rundir import check_resumable, read_run_json  # noqa: F401  (the tasks import it from here)
from seqlab.training import Trainer, save_weights, seed_everything


def prepare_run_dir(out_dir: str | Path, cfg: Any, *, resume: bool = False, write: bool = True) -> Path:
    """Create ``out_dir`` and write config.json; with ``resume``, first check that config.json there
    describes the same run (naming the first key that differs)."""
    out_dir = check_output_dir(out_dir)
    config = to_dict(cfg)
    if resume:
        check_resumable(out_dir, config)
    if write:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_json(out_dir / "config.json", config)
    return out_dir


# ---- shared by the recipes trained on real datasets ---------------------------------------------------


def begin_run(cfg: Any, out_dir: str | Path) -> tuple[float, Any, Path]:
    """The start of every task's train(): the clock, a private copy of the config (the task fills in vocabulary
    sizes), seeded random number generators."""
    started = time.perf_counter()
    cfg = copy.deepcopy(cfg)
    seed_everything(cfg.train.seed)
    return started, cfg, Path(out_dir)


def split_off(examples: list, fraction: float, seed: int) -> tuple[list, list]:
    """A random ``fraction`` of ``examples`` held out (for early stopping), and the rest."""
    if not 0 < fraction < 1:
        raise SeqlabError(f"dev_fraction must lie strictly between 0 and 1, got {fraction}")
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    n_dev = max(1, round(len(examples) * fraction))
    held = set(order[:n_dev])
    return [examples[i] for i in sorted(held)], [ex for i, ex in enumerate(examples) if i not in held]


def bucketed_loader(items: list, collate: Callable[[list], dict], lengths: list[int], batch_size: int,
                    seed: int, *, shuffle: bool = True, drop_last: bool = False) -> DataLoader:
    """A re-iterable loader of length-bucketed batches whose order depends only on the seed and the epoch
    (the Trainer calls ``set_epoch``), which is what an exact ``--resume`` needs."""
    sampler = BucketBatchSampler(lengths, batch_size, shuffle=shuffle, seed=seed, drop_last=drop_last)
    return DataLoader(items, batch_sampler=sampler, collate_fn=collate)


def load_split(name: str, split: str, data_dir: str | Path | None, **options: Any) -> list:
    from seqlab.data import load

    examples = load(name, split, data_dir=data_dir, **options)
    if not examples:
        raise SeqlabError(f"{name} {split}: no examples")
    return examples


def fit_run(cfg: Any, model: nn.Module, batches: Any, out_dir: Path, started: float, *,
            evaluate_dev: Callable[[nn.Module], dict], save_vocab: Callable[[Path], None] | None = None,
            count_tokens: Callable[[dict], int] | None = None, progress: bool = True,
            resume: bool = False, callbacks: Sequence = (), curve: dict | None = None) -> dict | None:
    """The training half every task shares: the Trainer (checkpoints and logs in the run directory), config.json
    (checked against the saved one on --resume), the vocabulary, fit with early stopping on ``evaluate_dev``,
    the final weights and learning curve (``curve``: plot_learning_curve's options). Returns the run facts; None on a
    non-main rank, which only trains."""
    trainer = Trainer(model, cfg.train, cfg.optim, callbacks=callbacks, progress=progress,
                      checkpoint_dir=out_dir / "checkpoints", log_dir=out_dir, count_tokens=count_tokens)
    if not trainer.dist.is_main:
        trainer.fit(batches, None, resume=resume)
        return None
    prepare_run_dir(out_dir, cfg, resume=resume)
    if save_vocab is not None:
        save_vocab(out_dir)
    history = trainer.fit(batches, evaluate_dev, resume=resume)
    return finish_training(trainer, model, history, out_dir, started, curve=curve)


def write_metrics(out_dir: Path, metrics: dict, facts: dict, started: float, **extra: Any) -> dict:
    """metrics.json: the test scores, the run facts and the whole run's wall time."""
    metrics.update(facts, **extra, total_seconds=round(time.perf_counter() - started, 1))
    write_json(out_dir / "metrics.json", metrics)
    return metrics


def finish_training(trainer: Trainer, model: nn.Module, history: list[dict], out_dir: Path, started: float, *,
                    curve: dict | None = None) -> dict:
    """Save the final weights, history and learning_curve.png; the run facts every task's metrics.json carries."""
    from seqlab.viz import plot_learning_curve

    save_weights(model, out_dir / "model.safetensors")
    write_json(out_dir / "history.json", history)
    if history:
        plot_learning_curve(history, out_dir / "learning_curve.png", **(curve or {}))
    # a resumed run counts the time trained before the resume too
    seconds = trainer.elapsed_before + time.perf_counter() - started
    return {"steps": trainer.step, "stopped_by": trainer.stop_reason, "train_seconds": round(seconds, 1),
            "parameters": sum(p.numel() for p in model.parameters()),
            "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
            "precision": trainer.precision,
            "device": str(trainer.device)}


def move(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device) for k, v in batch.items()}


# ---- pretrained word vectors (word2vec / GloVe files) for the word-level models -------------------------------


def with_vector_words(vocab: Any, vectors: Any, normalize: Callable[[str], str]) -> Any:
    """``vocab`` plus the words of ``vectors`` it lacks (as ``normalize`` reads them), after its own: a word never
    seen in training still gets its pretrained vector at test time."""
    from seqlab.text.vocab import Vocab

    seen, extra = set(vocab.tokens), []
    for word in vectors.words:
        key = normalize(word)
        if key not in seen:
            seen.add(key)
            extra.append(key)
    return Vocab(vocab.tokens + extra, specials=vocab.specials, unk_buckets=vocab.unk_buckets)


def copy_vectors(embedding: nn.Embedding, vocab: Any, vectors: Any, normalize: Callable[[str], str], *,
                 freeze: bool, name: str, trained: int | None = None) -> dict:
    """Initialise the rows of ``embedding`` (one per token of ``vocab``; its specials are left alone) from the
    pretrained ``vectors``; rows without a vector are drawn from a normal with the found vectors' per-dimension
    spread, so both kinds start on one scale. ``trained``: how many of the vocabulary's tokens come from the
    training data (the rest were added from the vectors). Prints and returns how many training words were found."""
    from seqlab.text.vocab import UNK_BUCKETS

    tokens, skip = vocab.tokens, len(vocab.specials) + (len(UNK_BUCKETS) if vocab.unk_buckets else 0)
    trained = len(tokens) if trained is None else trained
    rows: dict[str, int] = {}
    for i, word in enumerate(vectors.words):
        rows.setdefault(normalize(word), i)  # the most frequent spelling wins ("The" and "the" -> "the")
    found = [(t, rows[tok]) for t, tok in enumerate(tokens) if t >= skip and tok in rows]
    if not found:
        raise SeqlabError(f"{name}: none of the vocabulary's {len(tokens) - skip:,} words has a vector there")
    ids, source = zip(*found, strict=True)
    matrix = torch.from_numpy(vectors.matrix[list(source)])  # (F, D)
    with torch.no_grad():
        weight = embedding.weight
        missing = torch.ones(len(tokens), dtype=torch.bool)
        missing[:skip] = False
        missing[list(ids)] = False
        weight[missing] = torch.randn(int(missing.sum()), weight.shape[1]) * matrix.std(0)
        weight[list(ids)] = matrix
    embedding.weight.requires_grad_(not freeze)
    in_training = sum(1 for t in ids if t < trained)
    report = {"pretrained_vectors": name, "pretrained_found": in_training,
              "pretrained_coverage": in_training / max(trained - skip, 1), "pretrained_added": len(tokens) - trained,
              "pretrained_frozen": freeze}
    print(f"pretrained vectors {name}: {in_training:,} of the training vocabulary's {trained - skip:,} words found "
          f"({100 * report['pretrained_coverage']:.1f}%), {len(tokens) - trained:,} words added from the vectors, "
          f"{'frozen' if freeze else 'fine-tuned'}")
    return report
