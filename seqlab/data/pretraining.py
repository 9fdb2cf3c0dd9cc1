"""BERT's pre-training data from any text corpus: sentence pairs for next-sentence prediction, and dynamic masking.

    pair:     [CLS] A [SEP] B [SEP], segments 0...0 1...1; B follows A in the document half the time (IsNext),
              else B comes from another document (NotNext)                          (Devlin et al. 2019, 3.1)
    masking:  15% of the pieces are selected (never [CLS], [SEP], [PAD] or [UNK]); of those 80% become [MASK],
              10% a random piece, 10% stay as they are; the loss is computed at the selected positions only.

The masking is drawn afresh for every batch (RoBERTa's dynamic masking), from a generator that ``EpochSeeded``
reseeds each epoch, so a resumed run replays the same masks.

Shapes: B batch, T pieces.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

from seqlab.data.collate import IGNORE_INDEX, pad_sequences, pad_with_mask

_HEADING = re.compile(r"^ ?= [^=].* = ?$")  # " = Title = ": a WikiText article starts; "= = Section = =" does not
_WIKITEXT_JOINS = {" @-@ ": "-", " @,@ ": ",", " @.@ ": "."}


@dataclass
class PairExample:
    ids: list[int]  # [CLS] A [SEP] B [SEP]
    segments: list[int]  # 0 for [CLS] A [SEP], 1 for B [SEP]
    is_next: int  # 1: B follows A (IsNext), 0: B is random (NotNext)


def wikitext_documents(lines: Iterable[str]) -> list[list[str]]:
    """WikiText lines -> articles, each a list of sentences; the tokeniser's "@-@" joins undone and its <unk>
    read as BERT's [UNK]."""
    from seqlab.text.tokenize import sentence_split

    documents: list[list[str]] = []
    for line in lines:
        if _HEADING.match(line):
            documents.append([])
            continue
        text = line.strip()
        if not text or text.startswith("="):
            continue
        for token, joined in _WIKITEXT_JOINS.items():
            text = text.replace(token, joined)
        if not documents:
            documents.append([])
        documents[-1].extend(sentence_split(text.replace("<unk>", "[UNK]")))
    return [d for d in documents if d]


def build_pair(a: Sequence[int], b: Sequence[int], *, cls_id: int, sep_id: int, is_next: bool) -> PairExample:
    """[CLS] A [SEP] B [SEP] with its segment ids."""
    return PairExample([cls_id, *a, sep_id, *b, sep_id], [0] * (len(a) + 2) + [1] * (len(b) + 1), int(is_next))


def make_pairs(documents: Sequence[Sequence[Sequence[int]]], max_pieces: int, *, cls_id: int, sep_id: int,
               rng: random.Random, nsp: bool = True, short_seq_prob: float = 0.1) -> list[PairExample]:
    """Google's ``create_pretraining_data``: fill segments of whole sentences up to the target length (sometimes
    shorter, so the model also sees short inputs), cut each at a random sentence boundary into A and B, and half
    of the time replace B by sentences of another document (whose unused sentences go back into the stream).
    ``documents``: per document, its sentences as piece ids. Without ``nsp``, A is the whole segment and B empty.
    """
    if nsp and len(documents) < 2:
        raise ValueError("next-sentence pairs need at least two documents (NotNext draws B from another one)")
    if max_pieces < 5:
        raise ValueError(f"max_pieces must be at least 5 ([CLS] A [SEP] B [SEP]), got {max_pieces}")
    documents = [[s for s in doc if s] for doc in documents]
    budget = max_pieces - 3  # [CLS] A [SEP] B [SEP]
    pairs = []
    for d, document in enumerate(documents):
        target = rng.randint(2, budget) if rng.random() < short_seq_prob else budget
        chunk: list[Sequence[int]] = []
        i = 0
        while i < len(document):
            chunk.append(document[i])
            if i == len(document) - 1 or sum(map(len, chunk)) >= target:
                is_next = rng.random() < 0.5
                if nsp and is_next and len(chunk) == 1:  # IsNext needs two sentences: take the next one too
                    if i + 1 == len(document):
                        break  # a document's last sentence alone cannot be IsNext: left out, so labels stay 50/50
                    i += 1
                    chunk.append(document[i])
                pair, i = _pair_from_chunk(chunk, documents, d, i, budget, cls_id, sep_id, rng, nsp, is_next)
                pairs.append(pair)
                chunk = []
                target = rng.randint(2, budget) if rng.random() < short_seq_prob else budget
            i += 1
    return pairs


def _pair_from_chunk(chunk, documents, d, i, budget, cls_id, sep_id, rng, nsp, is_next):
    """One pair from the sentences of ``chunk`` (IsNext: B is the chunk's sentences after A, so it needs two);
    returns it and the index to continue from (sentences put back when B came from another document)."""
    if not nsp:
        a = [p for s in chunk for p in s][: budget + 1]
        return PairExample([cls_id, *a, sep_id], [0] * (len(a) + 2), 1), i
    a_end = rng.randint(1, len(chunk) - 1) if len(chunk) >= 2 else 1
    a = [p for s in chunk[:a_end] for p in s]
    if not is_next:
        other = rng.randrange(len(documents) - 1)
        other += other >= d  # any document but this one
        start = rng.randrange(len(documents[other]))
        b = [p for s in documents[other][start:] for p in s][: max(1, budget - len(a))]
        i -= len(chunk) - a_end  # the sentences of the chunk not used go back
        is_next = False
    else:
        b = [p for s in chunk[a_end:] for p in s]
    a, b = _truncate_pair(list(a), list(b), budget)
    return build_pair(a, b, cls_id=cls_id, sep_id=sep_id, is_next=is_next), i


def _truncate_pair(a: list[int], b: list[int], budget: int) -> tuple[list[int], list[int]]:
    """Trim the longer of A and B until both fit: A at its start, B at its end, so that where A ends and B begins
    (what NSP judges) is kept. (Google's script trims either end at random.)"""
    while len(a) + len(b) > budget:
        if len(a) > len(b):
            del a[0]
        else:
            del b[-1]
    return a, b


def mask_tokens(ids: torch.Tensor, maskable: torch.Tensor, *, mask_id: int, vocab_size: int,
                generator: torch.Generator, probability: float = 0.15) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking rule on a batch: ids (B, T), maskable (B, T) bool -> (inputs, labels), labels holding the
    original piece at the selected positions and -100 elsewhere."""
    selected = (torch.rand(ids.shape, generator=generator) < probability) & maskable  # (B, T)
    draw = torch.rand(ids.shape, generator=generator)
    to_mask = selected & (draw < 0.8)
    to_random = selected & (draw >= 0.8) & (draw < 0.9)  # the last 10% keep their piece
    inputs = ids.masked_fill(to_mask, mask_id)
    random_pieces = torch.randint(vocab_size, ids.shape, generator=generator)
    inputs = torch.where(to_random, random_pieces, inputs)
    return inputs, ids.masked_fill(~selected, IGNORE_INDEX)


@dataclass
class PairCollator:
    """PairExamples -> ids, mask, segments (B, T), nsp_labels (B,), and ``maskable`` (B, T): the pieces the
    masking may select (not [CLS], [SEP], [PAD] or [UNK])."""

    pad_id: int
    special_ids: tuple[int, ...]

    def __call__(self, batch: Sequence[PairExample]) -> dict[str, torch.Tensor]:
        ids, mask = pad_with_mask([ex.ids for ex in batch], self.pad_id)
        segments = pad_sequences([ex.segments for ex in batch], 0)
        maskable = mask & ~torch.isin(ids, torch.tensor(self.special_ids))
        return {"ids": ids, "mask": mask, "segments": segments, "maskable": maskable,
                "nsp_labels": torch.tensor([ex.is_next for ex in batch])}


def dynamic_masking(*, mask_id: int, vocab_size: int, probability: float = 0.15):
    """A batch transform for ``EpochSeeded``: fresh masks on every batch -> the arguments of
    ``BertForPreTraining.loss`` (ids, mask, segments, mlm_labels, nsp_labels)."""

    def transform(batch: dict, generator: torch.Generator) -> dict:
        batch = dict(batch)
        maskable = batch.pop("maskable")
        batch["ids"], batch["mlm_labels"] = mask_tokens(batch["ids"], maskable, mask_id=mask_id,
                                                        vocab_size=vocab_size, generator=generator,
                                                        probability=probability)
        return batch

    return transform
