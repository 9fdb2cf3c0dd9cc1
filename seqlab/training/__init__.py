"""Training: one Trainer, typed configs, schedules, checkpoints, logs, distributed data parallelism.

The names below are imported on first use: the configs (``seqlab.training.config``) are torch-free, so a
recipe is read and checked without loading PyTorch.
"""

from __future__ import annotations

from seqlab.lazy import lazy_getattr

_LAZY = {**dict.fromkeys(("load_checkpoint", "load_weights", "read_tensors", "save_checkpoint", "save_weights"),
                         "seqlab.training.checkpoint"),
         **dict.fromkeys(("EarlyStoppingConfig", "OptimConfig", "TrainConfig"), "seqlab.training.config"),
         **dict.fromkeys(("build_schedule", "inverse_sqrt", "noam_rate"), "seqlab.training.schedules"),
         **dict.fromkeys(("Callback", "StopAtTarget", "Trainer", "TrainingStopped", "seed_everything"),
                         "seqlab.training.trainer")}

__all__ = sorted(_LAZY)


__getattr__ = lazy_getattr("seqlab.training", _LAZY)
