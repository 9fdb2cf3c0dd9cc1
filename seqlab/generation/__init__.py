"""Decoding: greedy and beam search (with KV cache); sampling comes with the language models."""

from seqlab.generation.search import beam_search, greedy_search, length_penalty, strip_special

__all__ = ["beam_search", "greedy_search", "length_penalty", "strip_special"]
