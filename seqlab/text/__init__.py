"""Text processing: normalisation, tokenizers, vocabularies."""

from seqlab.text.tokenize import char_tokenize, normalise, sentence_split, word_tokenize
from seqlab.text.vocab import BOS, EOS, PAD, SPECIALS, UNK, CharVocab

__all__ = ["BOS", "EOS", "PAD", "SPECIALS", "UNK", "CharVocab", "char_tokenize", "normalise", "sentence_split",
           "word_tokenize"]
