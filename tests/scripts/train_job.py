"""A small training job for the resume and multi-process tests (run as a subprocess, or under torchrun).

    python tests/scripts/train_job.py OUT [--resume] [--hang-at STEP] [--steps N] [--accum K] [--batch B]

A classifier with dropout (so the RNG state matters) on a fixed dataset, shuffled anew each epoch by
``set_epoch``; checkpoints every 4 steps. With --hang-at, the job writes OUT/hanging at that step and
sleeps, for the test to SIGKILL it there. The final weights go to OUT/final.safetensors (rank 0).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from torch import nn

from seqlab.training import Callback, OptimConfig, TrainConfig, Trainer, save_weights, seed_everything


class Classifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 3))

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(self.net(x), y)


class ShuffledBatches:
    """Fixed examples; each epoch a fresh order that depends on the epoch alone."""

    def __init__(self, batch_size: int, n: int = 96) -> None:
        g = torch.Generator().manual_seed(123)
        self.x = torch.randn(n, 8, generator=g)
        self.y = (self.x[:, :3].argmax(-1) + (self.x[:, 3] > 1).long()) % 3
        self.batch_size, self.epoch = batch_size, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        order = torch.randperm(len(self.x), generator=torch.Generator().manual_seed(1000 + self.epoch))
        for i in range(0, len(order), self.batch_size):
            idx = order[i : i + self.batch_size]
            yield {"x": self.x[idx], "y": self.y[idx]}


class HangAt(Callback):
    def __init__(self, step: int, marker: Path) -> None:
        self.step, self.marker = step, marker

    def on_log(self, trainer: Trainer, record: dict) -> None:
        if trainer.step == self.step:
            self.marker.write_text(str(trainer.step))
            time.sleep(120)  # the test kills us here


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--hang-at", type=int)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--accum", type=int, default=2)
    parser.add_argument("--batch", type=int, default=12)
    parser.add_argument("--optim", default="adamw")
    parser.add_argument("--dropout", type=float, default=0.2)
    args = parser.parse_args()

    seed_everything(0)
    model = Classifier()
    model.net[2].p = args.dropout
    cfg = TrainConfig(steps=args.steps, batch_size=args.batch, grad_accum_steps=args.accum, log_every=1,
                      eval_every=10, checkpoint_every=4, precision="fp32", deterministic=True, device="cpu")
    callbacks = [HangAt(args.hang_at, args.out / "hanging")] if args.hang_at else []
    trainer = Trainer(model, cfg, OptimConfig(name=args.optim, lr=0.05, warmup_steps=5, schedule="cosine",
                                              weight_decay=0.01),
                      callbacks=callbacks, checkpoint_dir=args.out, log_dir=args.out, tensorboard=False,
                      progress=False)
    held_out = ShuffledBatches(96, n=96)
    batch = next(iter(held_out))

    def evaluate(m: nn.Module) -> dict:
        return {"loss": m.loss(**batch).item()}

    trainer.fit(ShuffledBatches(args.batch), evaluate, resume=args.resume)
    if trainer.dist.is_main:
        save_weights(model, args.out / "final.safetensors")


if __name__ == "__main__":
    main()
