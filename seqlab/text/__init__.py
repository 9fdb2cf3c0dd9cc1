"""Text processing: normalisation, tokenizers, vocabularies."""

from seqlab.text.vocab import BOS, EOS, PAD, SPECIALS, UNK, CharVocab, normalise

__all__ = ["BOS", "EOS", "PAD", "SPECIALS", "UNK", "CharVocab", "normalise"]
