"""Text processing: normalisation, tokenizers, stop words, stemming, lemmas, vocabularies, sparse features,
subword tokenizers.

The pure-Python parts import eagerly; the sparse features (torch, numpy) and the subword tokenizers
(tokenizers) load on first use, so `seqlab text ...` starts without loading torch.
"""

from seqlab.text.lemma import Lemmatizer, lemmatize
from seqlab.text.stem import porter_stem
from seqlab.text.stopwords import ENGLISH_STOP_WORDS, remove_stopwords
from seqlab.text.tokenize import char_tokenize, normalise, sentence_split, word_tokenize
from seqlab.text.vocab import (
    ALL_SPECIALS,
    BOS,
    CLS,
    EOS,
    MASK,
    PAD,
    SEP,
    SPECIALS,
    UNK,
    CharVocab,
    Vocab,
    load_vocab,
    unk_bucket,
)

_LAZY = {
    **dict.fromkeys(["BagOfWords", "RegexTokenizer", "TfIdf", "WordRuns", "ngrams", "one_hot"], "seqlab.text.features"),
    **dict.fromkeys(["load_tokenizer", "save_tokenizer", "train_bpe", "train_wordpiece"], "seqlab.text.subword"),
}

__all__ = [
    "ALL_SPECIALS", "BOS", "CLS", "ENGLISH_STOP_WORDS", "EOS", "MASK", "PAD", "SEP", "SPECIALS", "UNK", "BagOfWords",
    "CharVocab", "Lemmatizer", "RegexTokenizer", "TfIdf", "Vocab", "WordRuns", "char_tokenize", "lemmatize",
    "load_tokenizer", "load_vocab", "ngrams", "normalise", "one_hot", "porter_stem", "remove_stopwords",
    "save_tokenizer", "sentence_split", "train_bpe", "train_wordpiece", "unk_bucket", "word_tokenize",
]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'seqlab.text' has no attribute {name!r}")
