"""Data: dataset readers by name, readers for common file formats, download + cache, batching.

    from seqlab.data import load, describe, dataset_names
    load("sst2", "validation")                 # [TextLabel(text=..., label=1), ...]
    load("ucr", "train", name="GunPoint")      # [Series(label=..., values=[...]), ...]
"""

from seqlab.data.datasets import DatasetInfo, dataset_names, describe, load
from seqlab.data.examples import (
    Analogy,
    BabiQuestion,
    ConllSentence,
    NerSentence,
    Parallel,
    Series,
    Text,
    TextLabel,
    UDSentence,
    WordPair,
)
from seqlab.data.formats import DataFormatError, ReadReport, SkippedRowsWarning

__all__ = [
    "Analogy", "BabiQuestion", "ConllSentence", "DataFormatError", "DatasetInfo", "NerSentence", "Parallel",
    "ReadReport", "Series", "SkippedRowsWarning", "Text", "TextLabel", "UDSentence", "WordPair", "dataset_names",
    "describe", "load", "pad_sequences",
]


def __getattr__(name: str):
    """Batching helpers need torch: import them on first use, so `seqlab data ...` starts without it."""
    if name == "pad_sequences":
        from seqlab.data.collate import pad_sequences

        return pad_sequences
    raise AttributeError(f"module 'seqlab.data' has no attribute {name!r}")
