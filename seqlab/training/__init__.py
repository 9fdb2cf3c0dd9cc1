"""Training: one Trainer, typed configs, schedules, checkpoints, logs, distributed data parallelism."""

from seqlab.training.checkpoint import load_checkpoint, load_weights, read_tensors, save_checkpoint, save_weights
from seqlab.training.config import EarlyStoppingConfig, OptimConfig, TrainConfig
from seqlab.training.schedules import build_schedule, inverse_sqrt, noam_rate
from seqlab.training.trainer import Callback, StopAtTarget, Trainer, TrainingStopped, seed_everything

__all__ = ["Callback", "EarlyStoppingConfig", "OptimConfig", "StopAtTarget", "TrainConfig", "Trainer",
           "TrainingStopped", "build_schedule", "inverse_sqrt", "load_checkpoint", "load_weights", "noam_rate",
           "read_tensors", "save_checkpoint", "save_weights", "seed_everything"]
