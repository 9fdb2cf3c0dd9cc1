"""Evaluation speed of Transformer-XL with its memory against the vanilla Transformer LM's sliding window, over the
same attention span (Dai et al. 2019, section 4.3: up to 1,800x at a span of 3,800 on a GPU).

To score every token with S tokens of context, the vanilla model (a GPT with learned positions, context S) must run a
whole window of S tokens for each token it scores: windows start every token (stride 1) and only their last position
is new. XL reads the text once, in segments of L = 64, each layer attending to a memory of S - L states: every token
attends to between S - L and S tokens before it, at the cost of one segment position.

Both models have the wikitext2_gpt / wikitext2_xl sizes (4 layers, d=256, 4 heads, MLP 1,024, 33,280 words, the tied
adaptive softmax) with random weights: speed does not depend on the weights. The vanilla model scores 128 tokens
with windows of S tokens in batches of 64 windows (its recipe's eval_batch_size); XL reads 10 rows (its recipe's) for
8 segments, timed once its memory holds S - L states. The rows are tokens scored per second, XL as "ours" and the
vanilla sliding window as the reference; the rounds are interleaved, each side keeping its best.

Before timing, the run checks what XL computes: reading the stream segment by segment with the memory gives the
losses of one pass over the whole stream with each token's span masked to what the memory gives it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

import torch
from common import check_close

from seqlab.models.config import GPTConfig, TransformerXLConfig
from seqlab.models.gpt import GPT
from seqlab.models.transformer_xl import TransformerXL
from seqlab.nn.memory import SegmentMemory
from seqlab.tasks.lm import window_loss

SEGMENT = 64
VOCAB = 33280
LAYERS = dict(n_layers=4, n_heads=4, d_model=256, d_ff=1024, dropout=0.0, adaptive_cutoffs=[2000, 10000])
TINY = dict(n_layers=2, n_heads=2, d_model=32, d_ff=64, dropout=0.0, adaptive_cutoffs=[200, 600])


def check_memory_equals_span_mask(xl: TransformerXL, segment: int) -> float:
    """Segment by segment with a memory of mem_len == one pass with query t seeing keys from (its segment's start -
    mem_len) to t."""
    n, mem_len = 4 * segment, xl.config.memory_at_eval
    ids = torch.randint(0, xl.config.vocab_size, (2, n + 1))
    memory = SegmentMemory(mem_len)
    pieces = [xl.nll(ids[:, i : i + segment], ids[:, i + 1 : i + 1 + segment], memory) for i in range(0, n, segment)]
    t, j = torch.arange(n)[:, None], torch.arange(n)[None, :]
    span = (j <= t) & (j >= (t // segment) * segment - mem_len)
    whole = torch.nn.functional.cross_entropy(xl.head(xl.hidden_states(ids[:, :n], mask=span)).flatten(0, 1),
                                              ids[:, 1:].flatten(), reduction="none").view(2, n)
    return check_close(torch.cat(pieces, dim=1), whole, "XL with memory vs the span-masked pass", tol=1e-4)


def read_segments(xl: TransformerXL, ids: torch.Tensor, segment: int, memory: SegmentMemory) -> None:
    """Score rows (B, n + 1) segment by segment, the memory carried on."""
    for start in range(0, ids.size(1) - 1, segment):
        xl.nll(ids[:, start : start + segment], ids[:, start + 1 : start + 1 + segment], memory)


def tokens_per_second(score: Callable[[], object], tokens: int) -> float:
    start = time.perf_counter()
    score()
    return tokens / (time.perf_counter() - start)


@torch.no_grad()
def run(quick: bool = False, force_bf16: bool = False) -> list[dict]:
    sizes, vocab, segment = (TINY, 1000, 16) if quick else (LAYERS, VOCAB, SEGMENT)
    spans = [2 * segment, 4 * segment] if quick else [128, 320, 640, 1280]
    scored = 64 if quick else 128  # tokens the vanilla model scores (one window each)
    torch.manual_seed(0)
    rows = []
    for span in spans:
        xl = TransformerXL.from_config(TransformerXLConfig(vocab_size=vocab, mem_len=span - segment, **sizes)).eval()
        gpt = GPT.from_config(GPTConfig(vocab_size=vocab, n_positions=span, **sizes)).eval()
        if span == spans[0]:
            check_memory_equals_span_mask(xl, segment)
        # the vanilla model: a stream of span + scored tokens read by `scored` windows of span tokens, one a token
        # (the first window also scores the span tokens before it; every later one scores its last position only)
        vanilla_stream = torch.randint(0, vocab, (span + scored,))
        xl_rows, timed = 10, 8  # XL: 10 rows, 8 segments timed once the memory holds its span - L states
        warm = -(-(span - segment) // segment)
        xl_ids = torch.randint(0, vocab, (xl_rows, (warm + timed) * segment + 1))
        rounds = 2 if quick else 3
        ours, reference = [], []
        for _ in range(rounds):  # interleaved: background load hits both alike
            memory = SegmentMemory(span - segment)
            read_segments(xl, xl_ids[:, : warm * segment + 1], segment, memory)
            ours.append(tokens_per_second(partial(read_segments, xl, xl_ids[:, warm * segment :], segment, memory),
                                          xl_rows * timed * segment))
            reference.append(tokens_per_second(partial(window_loss, gpt, vanilla_stream, 64, span, 1), scored))
        rows.append({"benchmark": "xl", "what": f"eval tokens/s, span {span} (XL mem {span - segment} + L "
                     f"{segment}) vs sliding window", "precision": "fp32", "ours": max(ours),
                     "reference": max(reference), "ratio": max(ours) / max(reference)})
    return rows
