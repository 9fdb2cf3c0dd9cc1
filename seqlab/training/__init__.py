"""Training: one Trainer, schedules, checkpoints."""

from seqlab.training.checkpoint import load_weights, save_weights
from seqlab.training.schedules import build_schedule, inverse_sqrt, noam_rate
from seqlab.training.trainer import Callback, EarlyStopping, TrainConfig, Trainer

__all__ = ["Callback", "EarlyStopping", "TrainConfig", "Trainer", "build_schedule", "inverse_sqrt",
           "load_weights", "noam_rate", "save_weights"]
