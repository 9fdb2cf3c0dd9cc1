"""Data: readers, synthetic tasks, batching."""

from seqlab.data.collate import pad_sequences

__all__ = ["pad_sequences"]
