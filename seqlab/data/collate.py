"""Batching: lists of token ids -> padded tensors with masks, for every kind of task.

    B batch, T (source) length, U target length.

Masks follow the one seqlab convention (seqlab.nn.masks): bool, **True = a real token** (may be
attended to), False = padding. Labels that must not count in the loss are ``IGNORE_INDEX`` (-100, the
default ``ignore_index`` of ``F.cross_entropy``).

    ClassificationCollator(pad_id)   [(ids, label), ...]        -> ids (B, T), mask (B, T), labels (B,)
    TaggingCollator(pad_id)          [(ids, tags), ...]         -> ids, mask, labels (B, T) padded with -100
    Seq2SeqCollator(pad, bos, eos)   [(src_ids, tgt_ids), ...]  -> src (B, T), tgt = <bos> y <eos> (B, U+2)
                                                                   (+ src_mask (B, T) with with_mask=True)
    lm_windows(stream, T)            one long stream            -> inputs (N, T), targets (N, T) shifted by one
    stream_batches(stream, B, T)     one long stream            -> (B, T) windows that continue row by row
    BucketBatchSampler(lengths, B)   similar lengths together: less padding
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch
from torch.utils.data import Sampler

IGNORE_INDEX = -100  # F.cross_entropy's default ignore_index


def pad_sequences(seqs: Sequence[Sequence[int]], pad_id: int, *, max_len: int | None = None) -> torch.Tensor:
    """Right-pad id lists to the longest (B, T); ``max_len`` truncates."""
    length = max((len(s) for s in seqs), default=0)
    length = min(length, max_len) if max_len else length
    out = torch.full((len(seqs), length), pad_id, dtype=torch.long)
    for i, seq in enumerate(seqs):
        seq = list(seq)[:length]
        out[i, : len(seq)] = torch.tensor(seq, dtype=torch.long)
    return out


def pad_with_mask(seqs: Sequence[Sequence[int]], pad_id: int, *, max_len: int | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded ids (B, T) and their mask (B, T), True where a real token is (padding may equal a real id,
    so the mask comes from the lengths, not from ``ids != pad_id``)."""
    ids = pad_sequences(seqs, pad_id, max_len=max_len)
    lengths = torch.tensor([min(len(s), ids.size(1)) for s in seqs], dtype=torch.long)
    mask = torch.arange(ids.size(1))[None, :] < lengths[:, None]  # (B, T)
    return ids, mask


@dataclass
class ClassificationCollator:
    """(token ids, class) pairs -> ids (B, T), mask (B, T), labels (B,)."""

    pad_id: int
    max_len: int | None = None

    def __call__(self, batch: Sequence[tuple[Sequence[int], int]]) -> dict[str, torch.Tensor]:
        ids, mask = pad_with_mask([seq for seq, _ in batch], self.pad_id, max_len=self.max_len)
        return {"ids": ids, "mask": mask, "labels": torch.tensor([label for _, label in batch], dtype=torch.long)}


@dataclass
class TaggingCollator:
    """(token ids, one tag per token) pairs -> ids, mask, labels (B, T); padded tags are IGNORE_INDEX."""

    pad_id: int
    max_len: int | None = None
    ignore_index: int = IGNORE_INDEX

    def __call__(self, batch: Sequence[tuple[Sequence[int], Sequence[int]]]) -> dict[str, torch.Tensor]:
        for seq, tags in batch:
            if len(seq) != len(tags):
                raise ValueError(f"one tag per token: {len(seq)} tokens but {len(tags)} tags")
        ids, mask = pad_with_mask([seq for seq, _ in batch], self.pad_id, max_len=self.max_len)
        labels = pad_sequences([tags for _, tags in batch], self.ignore_index, max_len=self.max_len)
        return {"ids": ids, "mask": mask, "labels": labels}


@dataclass
class Seq2SeqCollator:
    """(source ids, target ids) pairs -> {"src": (B, T), "tgt": (B, U+2) = <bos> y <eos> <pad>...}, exactly the
    arguments of ``Transformer.loss(src, tgt)`` (it feeds tgt[:, :-1] and predicts tgt[:, 1:]), so a Trainer
    can call ``model.loss(**batch)``.

    No source mask by default: the Transformer derives it from padding (``src != pad_id``), so ``pad_id``
    must be the model's and never a real token id. ``with_mask=True`` adds ``"src_mask"`` (B, T), True at
    real tokens, for models that take one."""

    pad_id: int
    bos_id: int
    eos_id: int
    max_src_len: int | None = None
    with_mask: bool = False

    def __call__(self, batch: Sequence[tuple[Sequence[int], Sequence[int]]]) -> dict[str, torch.Tensor]:
        src, src_mask = pad_with_mask([s for s, _ in batch], self.pad_id, max_len=self.max_src_len)
        tgt = pad_sequences([[self.bos_id, *t, self.eos_id] for _, t in batch], self.pad_id)
        return {"src": src, "tgt": tgt, "src_mask": src_mask} if self.with_mask else {"src": src, "tgt": tgt}


def lm_windows(stream: torch.Tensor | Sequence, seq_len: int, *, stride: int | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut one long stream (token ids, or any series) into windows: inputs x[i : i+T] and targets
    x[i+1 : i+T+1], the next element at every position. ``stride`` defaults to T (non-overlapping
    chunks); the tail too short for a full window is dropped. Returns (N, T, ...) each, the stream's dtype."""
    data = torch.as_tensor(stream)
    stride = stride or seq_len
    n = (len(data) - 1 - seq_len) // stride + 1 if len(data) > seq_len else 0
    starts = torch.arange(n) * stride
    offsets = starts[:, None] + torch.arange(seq_len)[None, :]  # (N, T)
    return data[offsets], data[offsets + 1]


def stream_batches(stream: torch.Tensor | Sequence, batch_size: int, seq_len: int
                   ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The stream split into ``batch_size`` contiguous rows, then read T columns at a time: row b of one
    batch continues row b of the previous one, so an RNN (or Transformer-XL) can carry its state across
    batches. Yields (inputs, targets), (B, T) each; the last window may be shorter."""
    data = torch.as_tensor(stream)
    per_row = (len(data) - 1) // batch_size  # one extra element per row for the last target
    rows = data[: batch_size * per_row + 1]
    inputs = rows[:-1].reshape(batch_size, per_row, *data.shape[1:])  # (B, L, ...)
    targets = rows[1:].reshape(batch_size, per_row, *data.shape[1:])
    # Row b of inputs is stream[b*L : (b+1)*L]; its targets are shifted by one, including at the row's end.
    for start in range(0, per_row, seq_len):
        yield inputs[:, start : start + seq_len], targets[:, start : start + seq_len]


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of indices with similar lengths: shuffle, take pools of ``pool_batches`` batches, sort each
    pool by length, cut it into batches, shuffle the batches. Padding drops to a few percent while the
    order stays random from epoch to epoch (``set_epoch`` reseeds)."""

    def __init__(self, lengths: Sequence[int], batch_size: int, *, pool_batches: int = 50, shuffle: bool = True,
                 drop_last: bool = False, seed: int = 0):
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.lengths, self.batch_size, self.pool_batches = list(lengths), batch_size, pool_batches
        self.shuffle, self.drop_last, self.seed, self.epoch = shuffle, drop_last, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _batches(self) -> list[list[int]]:
        rng = random.Random(self.seed + self.epoch)
        order = list(range(len(self.lengths)))
        if self.shuffle:
            rng.shuffle(order)
        pool_size = self.batch_size * self.pool_batches
        batches = []
        for start in range(0, len(order), pool_size):
            pool = sorted(order[start : start + pool_size], key=self.lengths.__getitem__)  # stable: ties keep order
            batches += [pool[i : i + self.batch_size] for i in range(0, len(pool), self.batch_size)]
        if self.drop_last:
            batches = [b for b in batches if len(b) == self.batch_size]
        if self.shuffle:
            rng.shuffle(batches)
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self._batches())

    def __len__(self) -> int:
        # Pools hold a whole number of batches, so only the last pool can end in a partial batch.
        full, rest = divmod(len(self.lengths), self.batch_size)
        return full if self.drop_last else full + (rest > 0)


class EpochSeeded:
    """A loader's batches passed through ``transform(batch, generator)``, the generator drawn afresh each epoch from
    (seed, epoch): random changes to the data (word dropout, BERT's dynamic masking) that a resumed run replays."""

    def __init__(self, loader, transform: Callable[[dict, torch.Generator], dict], seed: int):
        self.loader, self.transform, self.seed = loader, transform, seed
        self.batch_sampler, self.epoch = loader.batch_sampler, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self.batch_sampler.set_epoch(epoch)

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed * 1000 + self.epoch)
        for batch in self.loader:
            yield self.transform(batch, generator)
