"""Time-series classification on the UCR archive: the lab of deck 000 (the Keras FordA Transformer, with and without
its attention), a Transformer done right for series, and the CNN / CNN + BiLSTM / LSTM classifiers of deck 001.

    seqlab train configs/ucr_transformer.yaml --data-dir ../shared/data --out runs/gunpoint --data.name=GunPoint
    seqlab eval runs/gunpoint          # test accuracy, confusion matrix, example series, class means, attention

A run trains on the default training split of one dataset (``dev_fraction`` held out for early stopping) and is
scored on its default test split, so the numbers sit beside the archive's published results.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from seqlab.data.examples import Series
from seqlab.errors import SeqlabError
from seqlab.models.timeseries import (
    CNNLSTM,
    KerasSeriesTransformer,
    ResNet1D,
    SeriesLSTM,
    SeriesModel,
    SeriesTransformer,
    auto_patch,
)
from seqlab.report import ReportParts
from seqlab.tasks.common import begin_run, bucketed_loader, fit_run, read_run_json, split_off, write_metrics
from seqlab.tasks.config import SeriesRunConfig as RunConfig
from seqlab.tasks.rundir import weights_file
from seqlab.training import load_weights

# model_type -> the class built from cfg.model: the registry a new series model plugs into
MODELS: dict[str, type[SeriesModel]] = {"keras": KerasSeriesTransformer, "transformer": SeriesTransformer,
                                         "resnet": ResNet1D, "cnn_lstm": CNNLSTM, "lstm": SeriesLSTM}


# ---- data --------------------------------------------------------------------------------------------------------


def load_ucr(name: str, split: str, data_dir: str | Path | None) -> list[Series]:
    from seqlab.data import load

    series = load("ucr", split, data_dir=data_dir, name=name)
    if not series:
        raise SeqlabError(f"ucr {name} {split}: no series")
    return series


@dataclass
class SeriesBatch:
    """Series padded to one length: values (N, T, 1), mask (N, T) True at real steps, label (N,) class indices."""

    values: torch.Tensor
    mask: torch.Tensor
    label: torch.Tensor

    def __len__(self) -> int:
        return len(self.label)

    def take(self, rows: Sequence[int]) -> dict[str, torch.Tensor]:
        """The rows as a model batch (the loader's collate)."""
        rows = list(rows)
        return {"x": self.values[rows], "mask": self.mask[rows], "label": self.label[rows]}

    def subset(self, rows: Sequence[int]) -> SeriesBatch:
        rows = list(rows)
        return SeriesBatch(self.values[rows], self.mask[rows], self.label[rows])


def real_values(values: Sequence[float], where: str) -> list[float]:
    """A series without the missing values that end it (the archive pads its variable-length sets with NaN); a
    missing value inside the series is an error naming it."""
    end = len(values)
    while end and math.isnan(values[end - 1]):
        end -= 1
    if end == 0:
        raise SeqlabError(f"{where}: the series has no values")
    inside = next((t for t in range(end) if not math.isfinite(values[t])), None)
    if inside is not None:
        raise SeqlabError(f"{where}: value {values[inside]} at time step {inside + 1}, inside the series "
                          f"(only trailing NaNs, i.e. a shorter series, are allowed)")
    return list(values[:end])


def parse_values(line: str, index: int) -> list[float]:
    """A series written as a line of numbers (tab-, comma- or space-separated; "NaN" allowed at the end)."""
    from seqlab.data.formats import BadRow, parse_floats

    fields = line.split("\t") if "\t" in line else line.split(",") if "," in line else line.split()
    try:
        return parse_floats([v.strip() for v in fields])
    except BadRow as err:
        raise SeqlabError(f"input series {index}: {err} (a series is a line of numbers, without its class)") from None


def encode(series: Sequence[Series], classes: Sequence[int], where: str, *, normalize: str = "none",
           length: int | None = None) -> SeriesBatch:
    """Series -> a padded batch; ``where`` names the source ("GunPoint train"), and series i is its line i."""
    index = {c: i for i, c in enumerate(classes)}
    rows, labels = [], []
    for i, s in enumerate(series, 1):
        if s.label not in index:
            raise SeqlabError(f"{where}, series {i}: class {s.label} was not in the training data "
                              f"(classes: {', '.join(map(str, classes))})")
        values = torch.tensor(real_values(s.values, f"{where}, series {i}"), dtype=torch.float32)
        if normalize == "series":
            values = (values - values.mean()) / values.std(correction=0).clamp(min=1e-8)
        rows.append(values)
        labels.append(index[s.label])
    longest = max(len(r) for r in rows) if length is None else length
    values = torch.zeros(len(rows), longest, 1)
    mask = torch.zeros(len(rows), longest, dtype=torch.bool)
    for i, r in enumerate(rows):
        r = r[:longest]
        values[i, : len(r), 0], mask[i, : len(r)] = r, True
    return SeriesBatch(values, mask, torch.tensor(labels))


def fill_model_config(cfg: RunConfig, length: int, n_classes: int, equal_lengths: bool) -> None:
    """Sizes the data decides: the number of classes, the Keras model's input length, the patches."""
    model = cfg.model
    if cfg.model_type == "lstm":
        model.outputs = n_classes
    else:
        model.n_classes = n_classes
    if cfg.model_type == "keras":
        if not equal_lengths:
            raise SeqlabError(f"{cfg.data.name}: the keras model reads one input per time step into its MLP, so all "
                              "series must have one length; these differ (use another model_type)")
        model.length = length
    if cfg.model_type == "transformer":
        model.patch = model.patch or auto_patch(length)[0]
        model.stride = model.stride or max(1, model.patch // 2)
        model.max_len = model.max_len or length


# ---- training ----------------------------------------------------------------------------------------------------


@torch.no_grad()
def score(model: SeriesModel, data: SeriesBatch, batch_size: int = 256) -> dict:
    """Mean loss and accuracy, and the predicted classes."""
    model.eval()
    device = next(model.parameters()).device
    loss, predictions = 0.0, []
    for start in range(0, len(data), batch_size):
        batch = {k: v.to(device) for k, v in data.take(range(start, min(start + batch_size, len(data)))).items()}
        logits = model(batch["x"], batch["mask"]).float()
        loss += float(F.cross_entropy(logits, batch["label"], reduction="sum"))
        predictions += logits.argmax(-1).tolist()
    correct = sum(p == y for p, y in zip(predictions, data.label.tolist(), strict=True))
    return {"loss": loss / len(data), "accuracy": correct / len(data), "predictions": predictions}


def train(cfg: RunConfig, out_dir: str | Path, *, progress: bool = True, data_dir: str | Path | None = None,
          resume: bool = False) -> dict:
    started, cfg, out_dir = begin_run(cfg, out_dir)
    name = cfg.data.name
    series = load_ucr(name, "train", data_dir)
    classes = sorted({s.label for s in series})
    everything = list(range(len(series)))
    dev, rest = (split_off(everything, cfg.data.dev_fraction, cfg.data.dev_seed) if cfg.data.dev_fraction
                 else (everything, everything))  # no hold-out: the training series are scored
    full = encode(series, classes, f"{name} train", normalize=cfg.data.normalize)
    equal = bool(full.mask.all())
    fill_model_config(cfg, full.values.size(1), len(classes), equal)
    train_set, dev_set = full.subset(rest), full.subset(dev)
    cfg.train.grad_accum_steps = max(cfg.train.grad_accum_steps, _micro_batches(cfg, full.values.size(1)))
    # a last batch of one would break batch norm, one smaller than the micro-batches could not be split: drop it
    lengths = train_set.mask.sum(1).tolist()
    rest_size = len(train_set) % cfg.train.batch_size
    loader = bucketed_loader(list(range(len(train_set))), train_set.take, lengths, cfg.train.batch_size,
                             cfg.train.seed, drop_last=0 < rest_size < max(2, cfg.train.grad_accum_steps))
    per_epoch = len(loader)
    cfg.train.steps, cfg.train.eval_every = cfg.epochs * per_epoch, per_epoch
    model = MODELS[cfg.model_type](cfg.model)
    if progress:
        held = f"{len(dev_set)} held out" if cfg.data.dev_fraction else "none held out"
        print(f"UCR {name}: {len(train_set)} training series, {held}, {len(classes)} classes, "
              f"length {full.values.size(1)}; {cfg.model_type}: {sum(p.numel() for p in model.parameters()):,} "
              f"parameters; {per_epoch} steps per epoch")
    facts = fit_run(cfg, model, loader, out_dir, started, evaluate_dev=lambda m: _dev_metrics(m, dev_set),
                    save_vocab=lambda d: _save_classes(d, classes), progress=progress, resume=resume,
                    curve={"metric": "accuracy", "title": f"{name}: learning curve" + (
                        "" if cfg.data.dev_fraction else " (no hold-out: 'validation' is the training set)")})
    if facts is None:
        return {}
    metrics, _ = evaluate(out_dir, data_dir=data_dir)
    return write_metrics(out_dir, metrics, facts, started, model_type=cfg.model_type, n_train=len(train_set),
                         n_dev=len(dev_set) if cfg.data.dev_fraction else 0,
                         epochs_trained=round(facts["steps"] / per_epoch, 1))


ATTENTION_BYTES = 2 * 2**30  # what the attention matrices of one micro-batch may take in training


def _micro_batches(cfg: RunConfig, length: int) -> int:
    """The Keras model attends over every time step with T x T weights per head, kept for the backward pass in each
    block: split the batch into micro-batches (the same gradient) so that they fit in ``ATTENTION_BYTES``."""
    if cfg.model_type != "keras" or not cfg.keras.attention:
        return 1
    per_series = 3 * 4 * cfg.keras.heads * length**2 * cfg.keras.blocks  # scores, weights, dropout mask; fp32
    parts = 1
    while parts < cfg.train.batch_size and cfg.train.batch_size / parts * per_series > ATTENTION_BYTES:
        parts *= 2
    return min(parts, cfg.train.batch_size)


def _dev_metrics(model: SeriesModel, data: SeriesBatch) -> dict:
    result = score(model, data)
    return {"loss": result["loss"], "accuracy": result["accuracy"]}


def _save_classes(out_dir: Path, classes: list[int]) -> None:
    from seqlab.io import write_json

    write_json(out_dir / "vocab.json", {"classes": classes})  # a run's vocabulary: its class labels


# ---- the predictor -----------------------------------------------------------------------------------------------


class SeriesClassifier:
    """A trained series classifier: ``predict(values)`` -> (class, probabilities), ``attention(values)`` -> the
    attention each time step receives (the attention models)."""

    def __init__(self, model: SeriesModel, classes: list[int], config: RunConfig):
        self.model, self.classes, self.config = model.eval(), classes, config

    @property
    def has_attention(self) -> bool:
        cfg = self.config
        return cfg.model_type == "transformer" or (cfg.model_type == "keras" and cfg.keras.attention
                                                   and cfg.keras.blocks > 0)

    def encode(self, series: Sequence[Sequence[float]] | Sequence[Series], where: str = "input") -> SeriesBatch:
        items = [s if isinstance(s, Series) else Series(self.classes[0], list(map(float, s))) for s in series]
        length = self.config.keras.length if self.config.model_type == "keras" else None
        if length is not None:
            for i, s in enumerate(items, 1):
                steps = len(real_values(s.values, f"{where}, series {i}"))
                if steps != length:
                    raise SeqlabError(f"{where}, series {i}: the keras model reads series of {length} steps, this "
                                      f"one has {steps}")
        return encode(items, self.classes, where, normalize=self.config.data.normalize, length=length)

    @torch.no_grad()
    def probabilities(self, series: Sequence[Sequence[float] | str]) -> torch.Tensor:
        """(N, classes): each series' probability of every class (in the order of ``classes``). A series is a list of
        numbers or a line of them (tab-, comma- or space-separated, as the CLI reads them)."""
        data = self.encode([parse_values(s, i) if isinstance(s, str) else s for i, s in enumerate(series, 1)])
        device = next(self.model.parameters()).device
        return self.model(data.values.to(device), data.mask.to(device)).float().softmax(-1).cpu()

    def predict(self, series: Sequence[Sequence[float] | str]) -> list[tuple[int, float]]:
        """Each series' class (as the data names it) and its probability."""
        return [(self.classes[int(p.argmax())], float(p.max())) for p in self.probabilities(series)]

    @torch.no_grad()
    def attention(self, values: Sequence[float]) -> list[float]:
        """The attention each time step receives, averaged over layers, heads and queries (the Transformer's [CLS]
        attention spread back over the steps its patches cover)."""
        if not self.has_attention:
            raise SeqlabError(f"this {self.config.model_type} model has no attention")
        data = self.encode([values])
        device = next(self.model.parameters()).device
        _, weights = self.model(data.values.to(device), data.mask.to(device), need_weights=True)
        steps = int(data.mask.sum())
        if self.config.model_type == "keras":  # (1, H, T, T): what each step receives, over queries
            return torch.stack([w[0].mean(0).mean(0) for w in weights]).mean(0)[:steps].tolist()
        cfg = self.model.config
        cls = torch.stack([w[0, :, 0, 1:].mean(0) for w in weights]).mean(0)  # (N,) over the patches
        received = torch.zeros(data.values.size(1))
        covered = torch.zeros(data.values.size(1))
        for n, weight in enumerate(cls.tolist()):
            received[n * cfg.stride: n * cfg.stride + cfg.patch] += weight
            covered[n * cfg.stride: n * cfg.stride + cfg.patch] += 1
        return (received / covered.clamp(min=1))[:steps].tolist()


def load_predictor(run_dir: Path, cfg: RunConfig, *, device: str = "cpu") -> SeriesClassifier:
    classes = [int(c) for c in read_run_json(run_dir, "vocab.json")["classes"]]
    model = MODELS[cfg.model_type](cfg.model)
    load_weights(model, weights_file(run_dir))
    return SeriesClassifier(model.to(device), classes, cfg)


# ---- evaluation --------------------------------------------------------------------------------------------------


def _uniform_note(cfg: RunConfig) -> str:
    # the Keras model's LayerNorm over one feature hands its attention the same token at every step
    return "\nuniform by construction: every token is LN(x) = its bias" if (
        cfg.model_type == "keras" and cfg.keras.norm == "pre" and cfg.keras.features == 1) else ""


def evaluate(run_dir: str | Path, *, split: str = "test", data_dir: str | Path | None = None, beam_size: int = 1,
             out_dir: str | Path | None = None) -> tuple[dict, ReportParts]:
    """Accuracy on the dataset's test (or train) split, the confusion matrix, and the plots people look at: example
    series per class, class means with their spread, and (attention models) the attention over time steps."""
    from seqlab.metrics import confusion_matrix
    from seqlab.tasks import load_run
    from seqlab.viz import plot_class_means, plot_confusion_matrix, plot_series_attention, plot_series_examples

    if split not in ("test", "train"):
        raise SeqlabError(f"the UCR archive has train and test splits (validation is held out of train), not {split!r}")
    run_dir = Path(run_dir)
    out_dir = Path(out_dir) if out_dir is not None else run_dir
    clf: SeriesClassifier = load_run(run_dir)
    cfg, name = clf.config, clf.config.data.name
    series = load_ucr(name, split, data_dir)
    data = clf.encode(series, f"{name} {split}")
    result = score(clf.model, data)
    truth = data.label.tolist()
    names = [str(c) for c in clf.classes]
    matrix = confusion_matrix(truth, result["predictions"], labels=list(range(len(names))))
    metrics = {"split": split, "dataset": f"ucr {name}", "accuracy": result["accuracy"], "loss": result["loss"],
               "series": len(truth), "classes": len(names)}
    parts = ReportParts(title=f"UCR {name} {split}: {cfg.model_type}, accuracy {result['accuracy']:.3f}")
    values = [s.values for s in series]
    plot_confusion_matrix(matrix, names, out_dir / "confusion_matrix.png")
    plot_series_examples(values, truth, names, out_dir / "examples.png", title=f"{name}: examples per class")
    plot_class_means(values, truth, names, out_dir / "class_means.png", title=f"{name}: class means ± 1 sd")
    parts.plots.update({"Confusion matrix": "confusion_matrix.png", "Examples per class": "examples.png",
                        "Class means": "class_means.png"})
    if clf.has_attention:
        first = {c: next(i for i, y in enumerate(truth) if y == c) for c in sorted(set(truth))}
        for c, i in list(first.items())[:3]:
            plot_name = f"attention_class_{names[c]}.png"
            plot_series_attention(real_values(values[i], name), clf.attention(values[i]), out_dir / plot_name,
                                  title=f"{name}, test series {i + 1} (class {names[c]}, predicted "
                                        f"{names[result['predictions'][i]]}){_uniform_note(cfg)}")
            parts.plots[f"Attention over time steps, class {names[c]}"] = plot_name
    if (run_dir / "learning_curve.png").is_file() and out_dir == run_dir:
        parts.plots["Learning curve (training run)"] = "learning_curve.png"
    return metrics, parts
