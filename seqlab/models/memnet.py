"""End-to-end memory networks (MemN2N, Sukhbaatar et al., 2015): multi-hop attention over a story.

The lecture's form (deck 002) with the paper's names. A story is a list of sentences x_i, each a bag of words x_ij;
the question q. For hops k = 1..K:

    m_i = sum_j l_j * A_k x_ij + T_A^k(i)        the input memory (keys)
    c_i = sum_j l_j * C_k x_ij + T_C^k(i)        the output memory (values)
    p   = softmax(u_k^T m)                       attention over the sentences    (no softmax in a linear start)
    o_k = sum_i p_i c_i                          what the hop reads
    u_{k+1} = u_k + o_k                          (layer-wise tying: H u_k + o_k, ReLU in the non-linear variant)

    u_1 = sum_j l_j * B q_j,   a^ = softmax(W u_{K+1})

l_j is the position encoding (PE, l_kj = (1 - j/J) - (k/d)(1 - 2j/J)) or 1 (bag of words, BoW); T(i) the temporal
encoding, a learnt vector per age of a sentence (0 = the most recent). Adjacent tying shares the tables between hops:
A_{k+1} = C_k, B = A_1, W^T = C_K, so K hops hold K + 1 embedding tables E_0..E_K (A_k = E_{k-1}, C_k = E_k).
Layer-wise tying shares one A and one C over all hops and learns B, W and H apart.

Training tricks of the paper, here: the linear start (``linear=True``: the softmax over the memory removed until the
validation loss stops falling, seqlab.tasks.babi) and random noise (``random_noise``: during training, 10% empty
memories are slipped in among the sentences by shifting their ages at random).

Shapes: B batch, M memories (sentences, <= memory_size), J words per sentence, D embedding width, V vocabulary,
K hops. Word id 0 is padding (a zero embedding); a sentence of padding is no memory.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.models.config import MemN2NConfig
from seqlab.nn.attention import DotScore, masked_softmax

PAD_ID = 0


def position_encoding(words: torch.Tensor, dim: int) -> torch.Tensor:
    """The paper's l_j per word: (..., J) word ids -> (..., J, D) weights, l_kj = (1 - j/J) - (k/d)(1 - 2j/J) with
    j = 1..J the word's place and J the number of words of its own sentence (padding is not counted, so a sentence
    is encoded the same however much it is padded)."""
    a, b = _position_coefficients(words)
    k = torch.arange(1, dim + 1, device=words.device, dtype=torch.float32) / dim  # (D,): k/d
    return a[..., None] + k * b[..., None]  # (..., J, D)


def _position_coefficients(words: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """l_kj = a_j + (k/d) b_j with a_j = 1 - j/J and b_j = 2j/J - 1: two scalars per word (0 for padding), so the
    weighted sum over a sentence is two plain weighted bags of embeddings."""
    real = words.ne(PAD_ID)
    length = real.sum(-1, keepdim=True).clamp_min(1).float()  # (..., 1)
    j = torch.cumsum(real, -1).float() / length  # (..., J): j/J
    return (1 - j) * real, (2 * j - 1) * real


class SentenceEmbedding(nn.Module):
    """sum_j l_j * E x_ij for each sentence and each of several tables at once: (..., J) ids, tables (V, T*D) ->
    (..., T*D). l_j is the position encoding (``pe``) or 1 (``bow``)."""

    def __init__(self, dim: int, encoding: str):
        super().__init__()
        self.dim, self.encoding = dim, encoding

    def forward(self, words: torch.Tensor, tables: torch.Tensor) -> torch.Tensor:
        flat = words.reshape(-1, words.size(-1))  # (N, J)
        if self.encoding == "bow":
            bags = F.embedding_bag(flat, tables, mode="sum", padding_idx=PAD_ID)
        else:  # sum_j (a_j + c b_j) E x_j = sum_j a_j E x_j + c * sum_j b_j E x_j, with c_k = k/d in each table
            a, b = _position_coefficients(flat)
            c = torch.arange(1, self.dim + 1, device=words.device, dtype=tables.dtype) / self.dim
            bags = (F.embedding_bag(flat, tables, per_sample_weights=a.to(tables.dtype), mode="sum")
                    + c.repeat(tables.size(1) // self.dim)
                    * F.embedding_bag(flat, tables, per_sample_weights=b.to(tables.dtype), mode="sum"))  # (N, T*D)
        return bags.view(*words.shape[:-1], tables.size(1))  # (..., T*D)


def ages(mask: torch.Tensor, memory_size: int, noise: float = 0.0) -> torch.Tensor:
    """The temporal index of each memory (B, M) -> (B, M): 0 for the most recent sentence, n - 1 for the oldest of n.

    With ``noise`` > 0 (training), 0 to ceil(noise x n) empty memories (uniformly, as the authors' code draws them)
    are slipped in at random places: the n sentences take a random, order-keeping subset of the ages
    0..n + blanks - 1, so the model cannot learn to read a fixed age. Ages past the memory are clipped to its last
    slot."""
    n = mask.sum(1)  # (B,)
    slot = torch.arange(mask.size(1), device=mask.device)
    reverse = (n[:, None] - 1 - slot).clamp_min(0)  # (B, M): the sentence's place counted from the newest
    if noise <= 0:
        return reverse.clamp_max(memory_size - 1) * mask
    room = math.ceil(noise * mask.size(1))
    most = torch.ceil(noise * n.float())  # (B,)
    blanks = (torch.rand(n.shape, device=mask.device) * (most + 1)).long().minimum(most.long())  # 0..most
    places = torch.arange(mask.size(1) + room, device=mask.device)
    keys = torch.rand(len(n), len(places), device=mask.device)
    keys = keys.masked_fill(places >= (n + blanks)[:, None], 2.0)  # ages that do not exist are never drawn
    drawn = keys.argsort(1)[:, : mask.size(1)]  # (B, M) random distinct ages
    drawn = drawn.masked_fill(slot >= n[:, None], len(places)).sort(1).values  # the n drawn ones, ascending
    return drawn.gather(1, reverse).clamp_max(memory_size - 1) * mask


class MemN2N(nn.Module):
    """The model: ``forward(story, question)`` -> answer logits (B, V); ``loss``; ``attend`` for the weights."""

    def __init__(self, cfg: MemN2NConfig):
        super().__init__()
        if cfg.vocab_size < 2:
            raise ValueError(f"vocab_size must be at least 2 (padding and one word), got {cfg.vocab_size}")
        self.cfg = cfg
        self.encoder = SentenceEmbedding(cfg.dim, cfg.encoding)
        self.score = DotScore()  # u^T m
        adjacent = cfg.tying == "adjacent"
        # adjacent: E_0..E_K; layer-wise: A, C, B
        n_tables = cfg.hops + 1 if adjacent else 3
        self.words = nn.ModuleList(nn.Embedding(cfg.vocab_size, cfg.dim, padding_idx=PAD_ID) for _ in range(n_tables))
        n_times = cfg.hops + 1 if adjacent else 2
        self.times = nn.ModuleList(nn.Embedding(cfg.memory_size, cfg.dim) for _ in range(n_times if cfg.temporal
                                                                                           else 0))
        self.H = None if adjacent else nn.Linear(cfg.dim, cfg.dim, bias=False)
        self.W = None if adjacent else nn.Linear(cfg.dim, cfg.vocab_size, bias=False)
        # the linear start (no softmax over the memory), set by the training loop: a buffer, so that a model saved
        # before the softmax came back is loaded, evaluated and restored as it was trained
        self.register_buffer("linear_start", torch.tensor(False))
        self.reset_parameters()

    @property
    def linear(self) -> bool:
        return bool(self.linear_start)

    @linear.setter
    def linear(self, value: bool) -> None:
        self.linear_start.fill_(bool(value))

    def reset_parameters(self) -> None:
        """N(0, init_std) everywhere, as the paper; the padding word stays 0."""
        for p in self.parameters():
            nn.init.normal_(p, std=self.cfg.init_std)  # (parameters only: the linear-start flag is a buffer)
        with torch.no_grad():
            for table in self.words:
                table.weight[PAD_ID].zero_()

    # ---- which table serves where (the tying) -------------------------------------------------------------------

    def _keys(self, hop: int) -> int:
        return hop if self.H is None else 0  # A_k: E_{k-1} (hop counts from 0 here), or the one A

    def _values(self, hop: int) -> int:
        return hop + 1 if self.H is None else 1  # C_k: E_k, or the one C

    def _question(self) -> int:
        return 0 if self.H is None else 2  # B = A_1, or its own

    def answer_logits(self, u: torch.Tensor) -> torch.Tensor:
        """W u: (B, D) -> (B, V); with adjacent tying W^T = C_K. Padding is never an answer (its logit is -inf), which
        also keeps the padding word's embedding, a row of C_K, at zero."""
        logits = u @ self.words[-1].weight.T if self.W is None else self.W(u)
        return logits.masked_fill(torch.arange(logits.size(-1), device=logits.device) == PAD_ID, float("-inf"))

    # ---- the hops ------------------------------------------------------------------------------------------------

    def hop(self, u: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
            mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One read: u (B, D), keys m and values c (B, M, D), mask (B, M) -> o (B, D), p (B, M).
        p = softmax(u^T m) over the real memories (the linear start: p = u^T m, 0 where there is none)."""
        scores = self.score(u[:, None], keys)  # (B, 1, M)
        if self.linear:
            weights = scores.masked_fill(~mask[:, None], 0.0)
        else:
            weights = masked_softmax(scores, mask[:, None]).nan_to_num(0.0)  # a story of no sentence reads 0
        return (weights @ values).squeeze(1), weights.squeeze(1)

    def memories(self, story: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
        """Every table's memory vectors at once: (B, M, J) ids -> (B, M, tables, D) = sum_j l_j * E x_ij + T(i)."""
        tables = torch.cat([t.weight for t in self.words], 1)  # (V, tables * D)
        memory = self.encoder(story, tables)  # (B, M, tables * D)
        if self.cfg.temporal:  # T_A, T_C tied as the words' tables; layer-wise tying's B has none
            times = torch.cat([t.weight for t in self.times], 1)  # (memory_size, times * D)
            memory = memory + F.pad(F.embedding(time, times), (0, tables.size(1) - times.size(1)))
        return memory.view(*story.shape[:2], len(self.words), self.cfg.dim)

    def attend(self, story: torch.Tensor, question: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """story (B, M, J), question (B, Jq) -> answer logits (B, V), attention per hop (B, K, M).

        A story with no sentence reads nothing (its weights are 0)."""
        mask = story.ne(PAD_ID).any(-1)  # (B, M): real sentences
        noise = self.cfg.random_noise if self.training else 0.0
        memory = self.memories(story, ages(mask, self.cfg.memory_size, noise))  # (B, M, tables, D)
        u = self.encoder(question, self.words[self._question()].weight)  # (B, D)
        per_hop = []
        for k in range(self.cfg.hops):
            o, p = self.hop(u, memory[:, :, self._keys(k)], memory[:, :, self._values(k)], mask)
            u = u + o if self.H is None else self.H(u) + o
            if self.cfg.nonlinear:
                u = F.relu(u)
            per_hop.append(p)
        return self.answer_logits(u), torch.stack(per_hop, 1)  # (B, V), (B, K, M)

    def forward(self, story: torch.Tensor, question: torch.Tensor) -> torch.Tensor:
        return self.attend(story, question)[0]

    def loss(self, story: torch.Tensor, question: torch.Tensor, answer: torch.Tensor) -> torch.Tensor:
        """The mean cross-entropy of the answer words (B,). (The paper sums over the batch: its rate 0.005 and clipping
        at norm 40 for 32 questions are 0.16 and 1.25 on the mean.)"""
        return F.cross_entropy(self(story, question).float(), answer)
