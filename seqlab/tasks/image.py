"""Image classification with the Vision Transformer (seqlab.models.vit) and a small CNN beside it, on images that ship
inside packages: scikit-learn's ``load_digits`` (1,797 digits, 8x8) and scikit-image's ``lfw_subset`` (100 faces and
100 non-faces, 25x25). Nothing is downloaded.

    seqlab train configs/digits_vit.yaml --out runs/digits_vit
    seqlab eval runs/digits_vit        # test accuracy, confusion matrix, the [CLS] attention over patches

The test split is fixed (stratified, ``data.split_seed``), so every run and model is scored on the same images.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from seqlab.errors import SeqlabError
from seqlab.models.vit import ImageModel, SmallCNN, ViT
from seqlab.report import ReportParts
from seqlab.tasks.common import begin_run, fit_run, read_run_json, write_metrics
from seqlab.tasks.config import ImageRunConfig as RunConfig
from seqlab.tasks.rundir import weights_file
from seqlab.training import load_weights

# model_type -> the class built from cfg.model: the registry a new image model plugs into
MODELS: dict[str, type[ImageModel]] = {"vit": ViT, "cnn": SmallCNN}


# ---- data --------------------------------------------------------------------------------------------------------


@dataclass
class Images:
    """images (N, C, H, W) float, labels (N,) class indices, and the class names."""

    images: torch.Tensor
    labels: torch.Tensor
    names: list[str]

    def take(self, rows: list[int]) -> Images:
        return Images(self.images[rows], self.labels[rows], self.names)


def load_images(dataset: str) -> Images:
    """The whole dataset, pixel values in [0, 1]."""
    if dataset == "digits":
        try:
            from sklearn.datasets import load_digits
        except ImportError as err:
            raise SeqlabError("the digits dataset ships inside scikit-learn: pip install scikit-learn") from err
        digits = load_digits()
        return Images(torch.tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1),
                      torch.tensor(digits.target), [str(d) for d in range(10)])
    if dataset == "lfw_subset":
        try:
            from skimage.data import lfw_subset
        except ImportError as err:
            raise SeqlabError("lfw_subset ships inside scikit-image: pip install scikit-image") from err
        faces = lfw_subset()  # (200, 25, 25): the first 100 are faces, the next 100 are not
        labels = torch.tensor([0] * 100 + [1] * (len(faces) - 100))
        return Images(torch.tensor(faces, dtype=torch.float32).unsqueeze(1), labels, ["face", "non-face"])
    raise SeqlabError(f"unknown image dataset {dataset!r} (choose digits or lfw_subset)")


def stratified_split(labels: list[int], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """(held out, rest): ``fraction`` of each class, drawn with ``seed``."""
    rng, held = random.Random(seed), []
    for c in sorted(set(labels)):
        rows = [i for i, y in enumerate(labels) if y == c]
        rng.shuffle(rows)
        held += rows[: max(1, round(len(rows) * fraction))]
    held_set = set(held)
    return sorted(held), [i for i in range(len(labels)) if i not in held_set]


def splits(cfg: RunConfig) -> dict[str, Images]:
    """train / dev / test: the test split depends on ``data.split_seed`` only, the dev split on it too."""
    data = load_images(cfg.data.dataset)
    labels = data.labels.tolist()
    test, rest = stratified_split(labels, cfg.data.test_fraction, cfg.data.split_seed)
    if not cfg.data.dev_fraction:  # no hold-out: the training images are scored
        return {"train": data.take(rest), "dev": data.take(rest), "test": data.take(test)}
    dev_rel, train_rel = stratified_split([labels[i] for i in rest], cfg.data.dev_fraction, cfg.data.split_seed + 1)
    return {"train": data.take([rest[i] for i in train_rel]), "dev": data.take([rest[i] for i in dev_rel]),
            "test": data.take(test)}


def shift(images: torch.Tensor, generator: torch.Generator, pixels: int = 1) -> torch.Tensor:
    """Each image moved by up to ``pixels`` in x and y (zero fill): the augmentation of small-image training."""
    b, _, h, w = images.shape
    padded = F.pad(images, (pixels,) * 4)
    dy, dx = (torch.randint(0, 2 * pixels + 1, (b,), generator=generator) for _ in range(2))
    return torch.stack([padded[i, :, dy[i]: dy[i] + h, dx[i]: dx[i] + w] for i in range(b)])


class Batches:
    """Shuffled batches whose order (and shifts) depend only on the seed and the epoch (exact --resume)."""

    def __init__(self, data: Images, batch_size: int, seed: int, augment: bool, mean: float, std: float):
        self.data, self.batch_size, self.seed, self.augment = data, batch_size, seed, augment
        self.mean, self.std, self.epoch = mean, std, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return math.ceil(len(self.data.labels) / self.batch_size)

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        order = torch.randperm(len(self.data.labels), generator=generator)
        for start in range(0, len(order), self.batch_size):
            rows = order[start: start + self.batch_size]
            images = self.data.images[rows]
            if self.augment:
                images = shift(images, generator)
            yield {"images": (images - self.mean) / self.std, "label": self.data.labels[rows]}


def fill_model_config(cfg: RunConfig, data: Images) -> None:
    model = cfg.model
    model.n_classes = len(data.names)
    model.image_size = list(data.images.shape[2:])
    model.channels = data.images.size(1)
    if cfg.model_type == "vit" and any(s % model.patch_size for s in model.image_size):
        raise SeqlabError(f"vit.patch_size={model.patch_size} does not divide the {cfg.data.dataset} images "
                          f"({'x'.join(map(str, model.image_size))})")


# ---- training ----------------------------------------------------------------------------------------------------


@torch.no_grad()
def score(model: ImageModel, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 512) -> dict:
    model.eval()
    device = next(model.parameters()).device
    logits = torch.cat([model(images[i: i + batch_size].to(device)).float().cpu()
                        for i in range(0, len(images), batch_size)])
    predictions = logits.argmax(-1)
    return {"loss": float(F.cross_entropy(logits, labels)), "accuracy": float((predictions == labels).float().mean()),
            "predictions": predictions.tolist()}


def train(cfg: RunConfig, out_dir: str | Path, *, progress: bool = True, data_dir: str | Path | None = None,
          resume: bool = False) -> dict:
    started, cfg, out_dir = begin_run(cfg, out_dir)
    parts = splits(cfg)
    train_set, dev_set = parts["train"], parts["dev"]
    fill_model_config(cfg, train_set)
    mean, std = float(train_set.images.mean()), float(train_set.images.std())
    per_epoch = math.ceil(len(train_set.labels) / cfg.train.batch_size)
    cfg.train.steps, cfg.train.eval_every = cfg.epochs * per_epoch, per_epoch
    model = MODELS[cfg.model_type](cfg.model)
    loader = Batches(train_set, cfg.train.batch_size, cfg.train.seed, cfg.data.augment, mean, std)
    if progress:
        print(f"{cfg.data.dataset}: {len(train_set.labels)} training images, {len(dev_set.labels)} held out, "
              f"{len(parts['test'].labels)} test; {cfg.model_type}: {sum(p.numel() for p in model.parameters()):,} "
              f"parameters; {per_epoch} steps per epoch")
    dev_images = (dev_set.images - mean) / std
    facts = fit_run(cfg, model, loader, out_dir, started,
                    evaluate_dev=lambda m: {k: v for k, v in score(m, dev_images, dev_set.labels).items()
                                            if k != "predictions"},
                    save_vocab=lambda d: _save_vocab(d, train_set.names, mean, std), progress=progress,
                    resume=resume, curve={"metric": "accuracy"})
    if facts is None:
        return {}
    metrics, _ = evaluate(out_dir)
    return write_metrics(out_dir, metrics, facts, started, model_type=cfg.model_type,
                         n_train=len(train_set.labels), n_dev=len(dev_set.labels) if cfg.data.dev_fraction else 0)


def _save_vocab(out_dir: Path, names: list[str], mean: float, std: float) -> None:
    from seqlab.io import write_json

    # a run's vocabulary: its class names, and the pixel scaling its model was trained with
    write_json(out_dir / "vocab.json", {"classes": names, "pixel_mean": mean, "pixel_std": std})


# ---- the predictor -----------------------------------------------------------------------------------------------


class ImageClassifier:
    """A trained image model: ``predict(images)`` -> [(class name, probabilities)], ``attention(images)`` -> the
    ViT's [CLS] attention over the patches (B, h, w). Images: (N, H, W) or (N, C, H, W), pixels in [0, 1]."""

    def __init__(self, model: ImageModel, names: list[str], mean: float, std: float, config: RunConfig):
        self.model, self.names, self.mean, self.std, self.config = model.eval(), names, mean, std, config

    def prepare(self, images) -> torch.Tensor:
        if isinstance(images, (list, tuple)) and images and isinstance(images[0], str):
            raise SeqlabError("an image model reads images, not lines of text: use the Python API, "
                              "seqlab.load(run).predict(images) with an array (N, H, W) of pixels in [0, 1]")
        try:
            images = torch.as_tensor(np.asarray(images, dtype=np.float32))
        except (TypeError, ValueError) as err:
            raise SeqlabError(f"images must be an array of numbers (N, H, W) or (N, C, H, W), pixels in [0, 1]: "
                              f"{err}") from None
        cfg = self.config.model
        try:
            from seqlab.models.vit import check_images

            images = check_images(images, cfg.channels, cfg.image_size)
        except ValueError as err:
            raise SeqlabError(f"{self.config.data.dataset} {self.config.model_type} model: {err}") from None
        return (images - self.mean) / self.std

    @torch.no_grad()
    def probabilities(self, images) -> torch.Tensor:
        """(N, classes): each image's probability of every class (in the order of ``names``)."""
        device = next(self.model.parameters()).device
        return self.model(self.prepare(images).to(device)).float().softmax(-1).cpu()

    def predict(self, images) -> list[tuple[str, float]]:
        """Each image's class name and its probability."""
        return [(self.names[int(p.argmax())], float(p.max())) for p in self.probabilities(images)]

    def attention(self, images) -> torch.Tensor:
        if self.config.model_type != "vit":
            raise SeqlabError(f"a {self.config.model_type} model has no attention")
        device = next(self.model.parameters()).device
        return self.model.cls_attention(self.prepare(images).to(device)).cpu()


def load_predictor(run_dir: Path, cfg: RunConfig, *, device: str = "cpu") -> ImageClassifier:
    vocab = read_run_json(run_dir, "vocab.json")
    model = MODELS[cfg.model_type](cfg.model)
    load_weights(model, weights_file(run_dir))
    return ImageClassifier(model.to(device), list(vocab["classes"]), float(vocab["pixel_mean"]),
                           float(vocab["pixel_std"]), cfg)


# ---- evaluation --------------------------------------------------------------------------------------------------


def evaluate(run_dir: str | Path, *, split: str = "test", data_dir: str | Path | None = None, beam_size: int = 1,
             out_dir: str | Path | None = None) -> tuple[dict, ReportParts]:
    """Accuracy and the confusion matrix on the fixed test split (or dev / train); for the ViT, the [CLS] attention
    over the patches of a few test images."""
    from seqlab.metrics import confusion_matrix
    from seqlab.tasks import load_run
    from seqlab.viz import plot_confusion_matrix, plot_patch_attention

    if split not in ("test", "dev", "train"):
        raise SeqlabError(f"the image task has train, dev and test splits, not {split!r}")
    run_dir = Path(run_dir)
    out_dir = Path(out_dir) if out_dir is not None else run_dir
    clf: ImageClassifier = load_run(run_dir)
    data = splits(clf.config)[split]
    result = score(clf.model, clf.prepare(data.images), data.labels)
    metrics = {"split": split, "dataset": clf.config.data.dataset, "accuracy": result["accuracy"],
               "loss": result["loss"], "images": len(data.labels)}
    parts = ReportParts(title=f"{clf.config.data.dataset} {split}: {clf.config.model_type}, accuracy "
                              f"{result['accuracy']:.4f}")
    matrix = confusion_matrix(data.labels.tolist(), result["predictions"], labels=list(range(len(clf.names))))
    plot_confusion_matrix(matrix, clf.names, out_dir / "confusion_matrix.png")
    parts.plots["Confusion matrix"] = "confusion_matrix.png"
    if clf.config.model_type == "vit":
        shown = list(range(min(6, len(data.labels))))
        maps = clf.attention(data.images[shown])
        captions = [f"{clf.names[int(data.labels[i])]} -> {clf.names[result['predictions'][i]]}" for i in shown]
        plot_patch_attention([data.images[i, 0].numpy() for i in shown], list(maps.numpy()), captions,
                             out_dir / "cls_attention.png")
        parts.plots["[CLS] attention over the patches (last layer, mean over heads)"] = "cls_attention.png"
    if (run_dir / "learning_curve.png").is_file() and out_dir == run_dir:
        parts.plots["Learning curve (training run)"] = "learning_curve.png"
    return metrics, parts
