"""Decoding: greedy and beam search (with KV cache) for seq2seq models; temperature, top-k and top-p sampling
for language models."""

from seqlab.generation.sampling import filter_logits, sample_next
from seqlab.generation.search import beam_search, greedy_search, length_penalty, strip_special

__all__ = ["beam_search", "filter_logits", "greedy_search", "length_penalty", "sample_next", "strip_special"]
