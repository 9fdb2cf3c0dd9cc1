"""Decoding: one loop for decoder-only models (sampling, greedy, beam, stop rules, streaming) and greedy / beam
search for encoder-decoders, sharing the beam bookkeeping; temperature, top-k and top-p filters."""

from seqlab.generation.beam import Beams, length_penalty
from seqlab.generation.decoding import (
    DecoderOnlyLM,
    StopRule,
    beam_generate,
    generate,
    generate_tokens,
    penalise_repetition,
)
from seqlab.generation.sampling import filter_logits, sample_next
from seqlab.generation.search import beam_search, greedy_search, strip_special

__all__ = ["Beams", "DecoderOnlyLM", "StopRule", "beam_generate", "beam_search", "filter_logits", "generate",
           "generate_tokens", "greedy_search", "length_penalty", "penalise_repetition", "sample_next", "strip_special"]
