"""seqlab: the sequence-modelling curriculum as real, fast, verified software, on PyTorch.

Python API::

    import seqlab
    seqlab.demo("runs/demo", minutes=4)                     # train the date normaliser
    model = seqlab.load("runs/demo")
    model.translate(["4th of July 2019"])                   # ['2019-07-04']
    seqlab.train("configs/dates_transformer.yaml", "runs/dates", overrides=["train.steps=500"])
"""

from seqlab.errors import ConfigError, SeqlabError
from seqlab.lazy import lazy_getattr

__version__ = "0.1.0"
__all__ = ["ConfigError", "SeqlabError", "__version__", "demo", "load", "train"]

_LAZY = {"load": "seqlab.api", "demo": "seqlab.runner", "train": "seqlab.runner"}


# torch-backed entry points are imported on first use, so `seqlab text ...` starts without loading torch
__getattr__ = lazy_getattr("seqlab", _LAZY)
