"""Model families, one file each; their configs, torch-free, in ``seqlab.models.config``.

The names below are imported on first use, so that ``seqlab.models.config`` (and a recipe's
``--print-config``) never loads PyTorch.
"""

from __future__ import annotations

import importlib

_LAZY = {**dict.fromkeys(("Recurrent", "RNNClassifier", "RNNLanguageModel", "RNNTagger"), "seqlab.models.rnn"),
         "Transformer": "seqlab.models.transformer",
         **dict.fromkeys(("RNNClassifierConfig", "RNNLMConfig", "RNNTaggerConfig", "TransformerConfig"),
                         "seqlab.models.config")}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'seqlab.models' has no attribute {name!r}")
