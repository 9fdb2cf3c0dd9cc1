"""Adaptive softmax (Grave et al. 2017): a softmax over a large vocabulary at a fraction of the cost.

The vocabulary, sorted by frequency, is cut at ``cutoffs`` c_0 < c_1 < ... into a head (the c_0 most frequent
words) and tail clusters [c_0, c_1), [c_1, c_2), ..., [c_{K-1}, V). The head scores its words and one entry per
cluster; a word w of cluster k is then

    log p(w | h) = log p(cluster k | h) + log p(w | cluster k, h)

so the distribution is still exact over the whole vocabulary, but training computes each tail only for the
targets that fall in it: most tokens are frequent words and never touch the tails (WikiText-2: 33k words, a head
of 2k covers ~80% of tokens, a cost ~7x below the full softmax).

Two layouts:
    untied  PyTorch's ``nn.AdaptiveLogSoftmaxWithLoss``: head Linear(D, c_0 + K), tail k = Linear(D, D / div^(k+1))
            then Linear(., size_k); state dicts copy 1:1 between the two.
    tied    the output rows are the input embedding (Press & Wolf; Baevski & Auli's tied adaptive softmax at
            div_value 1): word w scores x . E_w (+ b_w with ``bias``, as a tied Linear head has), and only the K
            cluster rows are new weights.

Shapes: N positions (any leading shape), D model width, V vocabulary, K tail clusters.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class AdaptiveSoftmax(nn.Module):
    """``forward(x)`` -> log-probabilities over the vocabulary (..., V), usable as logits by any sampler;
    ``nll(x, targets)`` -> per-position negative log-likelihood (nats), computing only the tails it needs."""

    def __init__(self, d_model: int, vocab_size: int, cutoffs: Sequence[int], *, div_value: float = 4.0,
                 head_bias: bool = False, tied_weight: nn.Parameter | None = None, bias: bool = False):
        super().__init__()
        cutoffs = list(cutoffs)
        if not cutoffs or cutoffs != sorted(set(cutoffs)) or cutoffs[0] <= 0 or cutoffs[-1] >= vocab_size:
            raise ValueError(f"adaptive softmax cutoffs must increase strictly within (0, vocab_size={vocab_size}),"
                             f" got {cutoffs}")
        self.d_model, self.vocab_size = d_model, vocab_size
        self.edges = [*cutoffs, vocab_size]  # cluster k covers [edges[k], edges[k+1]); the head covers [0, edges[0])
        self.shortlist, self.n_clusters = cutoffs[0], len(cutoffs)
        self.register_buffer("boundaries", torch.tensor(cutoffs), persistent=False)
        if tied_weight is not None:
            if tied_weight.shape != (vocab_size, d_model):
                raise ValueError(f"the tied weight must be ({vocab_size}, {d_model}), got {tuple(tied_weight.shape)}")
            self.weight = tied_weight  # (V, D): the input embedding
            self.bias = nn.Parameter(torch.zeros(vocab_size)) if bias else None  # (V,): b_w
            self.cluster = nn.Linear(d_model, self.n_clusters, bias=head_bias or bias)
            self.head, self.tail = None, None
        else:
            if bias:
                raise ValueError("a per-word bias belongs to the tied layout (the untied one is PyTorch's)")
            if d_model // div_value ** self.n_clusters < 1:
                raise ValueError(f"div_value={div_value} leaves tail {self.n_clusters - 1} no width: d_model={d_model} "
                                 f"/ {div_value}^{self.n_clusters} < 1")
            self.weight, self.bias = None, None
            self.head = nn.Linear(d_model, self.shortlist + self.n_clusters, bias=head_bias)
            self.tail = nn.ModuleList(
                nn.Sequential(nn.Linear(d_model, int(d_model // div_value ** (k + 1)), bias=False),
                              nn.Linear(int(d_model // div_value ** (k + 1)), self.edges[k + 1] - self.edges[k],
                                        bias=False))
                for k in range(self.n_clusters))

    def output_rows(self) -> tuple[tuple[torch.Tensor, torch.Tensor | None], ...] | None:
        """Tied: (rows of the embedding, their biases or None) of the head, then of each tail, as views of one split
        (its backward writes the embedding's gradient once, where separate slices would each fill a zero (V, D)
        gradient). None untied."""
        if self.weight is None:
            return None
        sizes = [self.shortlist, *(b - a for a, b in itertools.pairwise(self.edges))]
        biases = [None] * len(sizes) if self.bias is None else self.bias.split(sizes)
        return tuple(zip(self.weight.split(sizes), biases, strict=True))

    def head_logits(self, x: torch.Tensor, rows: tuple | None = None) -> torch.Tensor:
        """(N, D) -> (N, c_0 + K): the shortlist words, then one logit per tail cluster."""
        if self.head is not None:
            return self.head(x)
        rows = rows or self.output_rows()
        return torch.cat([F.linear(x, *rows[0]), self.cluster(x)], dim=-1)

    def tail_logits(self, k: int, x: torch.Tensor, rows: tuple | None = None) -> torch.Tensor:
        """(N, D) -> (N, size_k): the words of tail cluster k, given that cluster."""
        if self.tail is not None:
            return self.tail[k](x)
        rows = rows or self.output_rows()
        return F.linear(x, *rows[k + 1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """log p(w | x) for every word: (..., D) -> (..., V), float32."""
        flat, rows = x.reshape(-1, self.d_model), self.output_rows()
        head = F.log_softmax(self.head_logits(flat, rows).float(), dim=-1)  # (N, c_0 + K)
        parts = [head[:, : self.shortlist]]
        for k in range(self.n_clusters):
            cluster = head[:, self.shortlist + k, None]  # (N, 1): log p(cluster k)
            parts.append(cluster + F.log_softmax(self.tail_logits(k, flat, rows).float(), dim=-1))
        return torch.cat(parts, dim=-1).view(*x.shape[:-1], self.vocab_size)

    def nll(self, x: torch.Tensor, targets: torch.Tensor, ignore_index: int = -100) -> torch.Tensor:
        """-log p(target | x): x (..., D), targets (...) -> (...) nats, float32; 0 where targets == ignore_index."""
        flat, flat_targets, rows = x.reshape(-1, self.d_model), targets.reshape(-1), self.output_rows()
        ignored = flat_targets == ignore_index
        flat_targets = flat_targets.masked_fill(ignored, 0)
        cluster_of = torch.bucketize(flat_targets, self.boundaries, right=True)  # (N,): 0 head, k + 1 tail k
        head_index = torch.where(cluster_of == 0, flat_targets, self.shortlist + cluster_of - 1)
        head = F.log_softmax(self.head_logits(flat, rows).float(), dim=-1)  # (N, c_0 + K)
        log_p = head.gather(1, head_index[:, None]).squeeze(1)  # (N,)
        for k in range(self.n_clusters):
            # the positions whose target lies in tail k; run also when there are none, so that every parameter gets a
            # (zero) gradient, as DistributedDataParallel expects
            where = (cluster_of == k + 1).nonzero().squeeze(1)
            tail = F.log_softmax(self.tail_logits(k, flat[where], rows).float(), dim=-1)  # (n_k, size_k)
            within = (flat_targets[where] - self.edges[k])[:, None]
            log_p = log_p.index_add(0, where, tail.gather(1, within).squeeze(1))
        return (-log_p).masked_fill(ignored, 0.0).view(targets.shape)

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, vocab_size={self.vocab_size}, cutoffs={self.edges[:-1]}, " \
               f"tied={self.weight is not None}"


def output_layer(d_model: int, vocab_size: int, *, cutoffs: Sequence[int] = (), div_value: float = 4.0,
                 tied_weight: nn.Parameter | None = None, bias: bool = False) -> nn.Module:
    """The language model's output layer: a full softmax (Linear, tied to ``tied_weight`` when given) or, with
    ``cutoffs``, an adaptive softmax (tied at div_value 1 when ``tied_weight`` is given)."""
    if cutoffs:
        return AdaptiveSoftmax(d_model, vocab_size, cutoffs, div_value=div_value, tied_weight=tied_weight,
                               bias=bias and tied_weight is not None)
    head = nn.Linear(d_model, vocab_size, bias=bias)
    if tied_weight is not None:
        head.weight = tied_weight
    return head


def token_nll(head: nn.Module, hidden: torch.Tensor, targets: torch.Tensor, ignore_index: int = -100
              ) -> torch.Tensor:
    """-log p(target) at each position through ``head`` (a Linear or an AdaptiveSoftmax): hidden (..., D),
    targets (...) -> (...) nats, float32, 0 where ignored."""
    if isinstance(head, AdaptiveSoftmax):
        return head.nll(hidden, targets, ignore_index)
    logits = head(hidden)  # (..., V)
    return F.cross_entropy(logits.flatten(0, -2).float(), targets.flatten(), ignore_index=ignore_index,
                           reduction="none").view(targets.shape)


def mean_nll(nll: torch.Tensor, targets: torch.Tensor, ignore_index: int = -100) -> torch.Tensor:
    """The mean of ``token_nll`` over the positions not ignored (F.cross_entropy's reduction)."""
    return nll.sum() / (targets != ignore_index).sum().clamp_min(1)
