"""Text -> token ids for the neural models: a word vocabulary or a pretrained WordPiece tokenizer.

Both encoders share one interface (``pad_id``, ``ids(texts) -> list[list[int]]``) and keep at most
``max_tokens`` ids per text: its first and last halves (a review's verdict is often at its end).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from seqlab.errors import SeqlabError
from seqlab.text.tokenize import word_tokenize
from seqlab.text.vocab import Vocab

T = TypeVar("T")


class TokenEncoder(Protocol):
    pad_id: int

    def ids(self, texts: list[str], *, warn: bool = True) -> list[list[int]]: ...


def head_and_tail(tokens: Sequence[T], limit: int) -> list[T]:
    """At most ``limit`` tokens: the first and the last half."""
    tokens = list(tokens)
    if len(tokens) <= limit:
        return tokens
    return tokens[: limit // 2] + tokens[len(tokens) - (limit - limit // 2) :]


def warn_truncated(count: int, total: int, limit: int, what: str = "inputs") -> None:
    if count:
        warnings.warn(f"{count} of {total} {what} were longer than {limit} tokens and were truncated",
                      stacklevel=3)


def _identity(text: str) -> str:
    return text


def words(text: str, lowercase: bool, clean: Callable[[str], str] = _identity) -> list[str]:
    """The word tokens a WordEncoder reads (and its vocabulary is built from)."""
    text = clean(text)
    return word_tokenize(text.lower() if lowercase else text)


class WordEncoder:
    """Texts -> word ids of ``vocab``, truncated (with a warning) to ``max_tokens``. ``clean`` runs first
    (e.g. markup removal)."""

    def __init__(self, vocab: Vocab, lowercase: bool, max_tokens: int, *, clean: Callable[[str], str] = _identity):
        self.vocab, self.lowercase, self.max_tokens, self.clean = vocab, lowercase, max_tokens, clean
        self.pad_id = vocab.pad_id

    def words(self, text: str) -> list[str]:
        return words(text, self.lowercase, self.clean)

    def ids(self, texts: list[str], *, warn: bool = True) -> list[list[int]]:
        token_lists = [self.words(t) for t in texts]
        if warn:
            warn_truncated(sum(len(t) > self.max_tokens for t in token_lists), len(texts), self.max_tokens)
        return [self.vocab.encode(head_and_tail(t, self.max_tokens)) or [self.vocab.unk_id] for t in token_lists]


class WordPieceEncoder:
    """Texts -> WordPiece ids of a Hugging Face ``tokenizer.json`` (MiniLM's: 30,522 tokens, lower-cased),
    truncated like WordEncoder. ``specials=True`` frames each text as BERT reads it, [CLS] pieces [SEP], within
    ``max_tokens`` in all."""

    def __init__(self, tokenizer_json: str, max_tokens: int, *, clean: Callable[[str], str] = _identity,
                 specials: bool = False):
        from tokenizers import Tokenizer

        self.tokenizer_json, self.max_tokens, self.clean, self.specials = tokenizer_json, max_tokens, clean, specials
        self.tokenizer = Tokenizer.from_str(tokenizer_json)
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.pad_id = self.tokenizer.token_to_id("[PAD]")
        self.cls_id, self.sep_id = self.tokenizer.token_to_id("[CLS]"), self.tokenizer.token_to_id("[SEP]")
        if specials and None in (self.cls_id, self.sep_id):
            raise SeqlabError("the tokenizer has no [CLS] or [SEP] piece: it is not a BERT tokenizer")

    def ids(self, texts: list[str], *, warn: bool = True) -> list[list[int]]:
        cleaned = [self.clean(t) for t in texts]
        encoded = [e.ids for e in self.tokenizer.encode_batch(cleaned, add_special_tokens=False)]
        limit = self.max_tokens - 2 if self.specials else self.max_tokens
        if warn:
            warn_truncated(sum(len(ids) > limit for ids in encoded), len(texts), limit)
        kept = [head_and_tail(ids, limit) or [self.tokenizer.token_to_id("[UNK]")] for ids in encoded]
        return [[self.cls_id, *ids, self.sep_id] for ids in kept] if self.specials else kept
