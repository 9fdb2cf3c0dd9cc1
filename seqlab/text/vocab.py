"""Vocabularies: the map between tokens and ids ("computers only know numbers, not words").

    vocab = Vocab.build(token_lists, min_freq=2, max_size=20_000, unk_buckets=True)
    vocab.encode(["the", "sneaky", "Paris", "1984"])   # unseen words -> <unk-y>, <unk-cap>, <unk-num>
    vocab.save("vocab.json"); Vocab.load("vocab.json")

Special tokens come first, in a fixed order, so <pad> <bos> <eos> <unk> are ids 0..3 in every seqlab
vocabulary; <mask> [CLS] [SEP] follow by default (``specials=`` chooses them). With ``unk_buckets`` the
rare-word buckets come next: an unknown word is mapped by its shape or suffix to one of them instead of
the one <unk>, so a model still learns that an unseen "-ly" word is probably an adverb.

Saved as JSON (never pickle): ``{"type": "word" | "char", "tokens": [...], "specials": [...], ...}``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from seqlab.errors import SeqlabError
from seqlab.text.tokenize import normalise

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
MASK, CLS, SEP = "<mask>", "[CLS]", "[SEP]"
SPECIALS = (PAD, BOS, EOS, UNK)  # ids 0..3 in every vocabulary
ALL_SPECIALS = (*SPECIALS, MASK, CLS, SEP)

# Rare-word buckets (the lecture's trick), tried in this order: shape first, then the longest suffix.
UNK_NUM, UNK_CAP, UNK_CAPS, UNK_PUNCT = "<unk-num>", "<unk-cap>", "<unk-caps>", "<unk-punct>"
UNK_SUFFIXES = ("ing", "ed", "ly", "ion", "ness", "ment", "able", "ity", "er", "est", "al", "ous", "ive", "ful",
                "ic", "ize", "s", "y")
UNK_BUCKETS = (UNK_NUM, UNK_CAP, UNK_CAPS, UNK_PUNCT, *(f"<unk-{s}>" for s in UNK_SUFFIXES))


def unk_bucket(token: str) -> str:
    """The bucket of an unknown token: "1984" -> <unk-num>, "Paris" -> <unk-cap>, "NASA" -> <unk-caps>,
    "sneaky" -> <unk-y>, "blorfing" -> <unk-ing>, "§" -> <unk-punct>; anything else -> <unk>."""
    if any(ch.isdigit() for ch in token):
        return UNK_NUM
    if not any(ch.isalnum() for ch in token):
        return UNK_PUNCT
    if token[:1].isupper():
        return UNK_CAPS if len(token) > 1 and token.isupper() else UNK_CAP
    for suffix in sorted(UNK_SUFFIXES, key=len, reverse=True):
        if token.endswith(suffix) and len(token) > len(suffix) + 2:  # a stem of 3+ letters before it
            return f"<unk-{suffix}>"
    return UNK


def count_tokens(token_lists: Iterable[Iterable[str]]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for tokens in token_lists:
        counts.update(tokens)
    return counts


def select_tokens(counts: Counter[str], *, min_freq: int = 1, max_tokens: int | None = None) -> list[str]:
    """Tokens seen at least ``min_freq`` times, most frequent first, ties in code-point order (so a
    vocabulary never depends on the order the corpus was read in), at most ``max_tokens`` of them."""
    kept = sorted((tok for tok, n in counts.items() if n >= min_freq), key=lambda tok: (-counts[tok], tok))
    return kept if max_tokens is None else kept[:max_tokens]


@dataclass
class Vocab:
    """Token <-> id map: specials, then the rare-word buckets (if any), then the corpus tokens."""

    tokens: list[str]
    specials: tuple[str, ...] = ALL_SPECIALS
    unk_buckets: bool = False
    index: dict[str, int] = field(init=False, repr=False)

    kind: ClassVar[str] = "word"

    def __post_init__(self) -> None:
        self.specials = tuple(self.specials)
        head = self.specials + (UNK_BUCKETS if self.unk_buckets else ())
        if tuple(self.tokens[: len(head)]) != head:
            raise ValueError(f"a vocabulary starts with its specials {head}")
        if len(set(self.tokens)) != len(self.tokens):
            raise ValueError("a vocabulary lists each token once")
        self.index = {tok: i for i, tok in enumerate(self.tokens)}

    @classmethod
    def build(cls, token_lists: Iterable[Iterable[str]], *, min_freq: int = 1, max_size: int | None = None,
              specials: Sequence[str] = ALL_SPECIALS, unk_buckets: bool = False) -> Vocab:
        """Count tokens and keep those with ``min_freq`` occurrences; ``max_size`` caps the whole
        vocabulary (specials and buckets included), dropping the least frequent tokens."""
        head = [*specials, *(UNK_BUCKETS if unk_buckets else ())]
        counts = count_tokens(token_lists)
        for tok in head:
            counts.pop(tok, None)
        room = None if max_size is None else max(max_size - len(head), 0)
        return cls(head + select_tokens(counts, min_freq=min_freq, max_tokens=room), specials=tuple(specials),
                   unk_buckets=unk_buckets)

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self.index

    def __getitem__(self, token: str) -> int:
        """The id of a token; unknown tokens get their bucket's id (with buckets) or <unk>'s."""
        found = self.index.get(token)
        if found is not None:
            return found
        if self.unk_buckets:
            return self.index[unk_bucket(token)]
        return self.unk_id

    def special_id(self, token: str) -> int:
        if token not in self.specials:
            raise KeyError(f"{token} is not a special token of this vocabulary {self.specials}")
        return self.index[token]

    @property
    def pad_id(self) -> int:
        return self.special_id(PAD)

    @property
    def bos_id(self) -> int:
        return self.special_id(BOS)

    @property
    def eos_id(self) -> int:
        return self.special_id(EOS)

    @property
    def unk_id(self) -> int:
        return self.special_id(UNK)

    @property
    def mask_id(self) -> int:
        return self.special_id(MASK)

    @property
    def cls_id(self) -> int:
        return self.special_id(CLS)

    @property
    def sep_id(self) -> int:
        return self.special_id(SEP)

    def encode(self, tokens: Iterable[str], *, add_bos: bool = False, add_eos: bool = False) -> list[int]:
        index = self.index
        ids = [index[tok] if tok in index else self[tok] for tok in tokens]  # the fast path skips __getitem__
        return ([self.bos_id] if add_bos else []) + ids + ([self.eos_id] if add_eos else [])  # specials only if asked

    def decode(self, ids: Iterable[int], *, skip_specials: bool = True) -> list[str]:
        """Tokens of ids; specials are dropped unless asked for (buckets are kept: they stand for words)."""
        first = len(self.specials) if skip_specials else 0
        return [self.tokens[i] for i in ids if i >= first]

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind, "specials": list(self.specials), "unk_buckets": self.unk_buckets,
                "tokens": self.tokens}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Vocab:
        return cls(data["tokens"], specials=tuple(data.get("specials", ALL_SPECIALS)),
                   unk_buckets=data.get("unk_buckets", False))

    def save(self, path: str | Path) -> None:
        from seqlab.io import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_dict(), ensure_ascii=False, indent=1))

    @classmethod
    def load(cls, path: str | Path) -> Vocab:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            if data.get("type", cls.kind) != cls.kind:
                raise ValueError(f"it holds a {data['type']} vocabulary, not a {cls.kind} one")
            return cls.from_dict(data)
        except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            raise SeqlabError(f"{path}: not a seqlab {cls.kind} vocabulary ({err})") from err


@dataclass
class CharVocab(Vocab):
    """Character vocabulary: a Vocab over the characters of NFC-normalised (optionally lower-cased) text,
    with the four specials <pad> <bos> <eos> <unk> (ids 0..3) by default. Whitespace is kept as written
    (newlines matter to a character language model) unless ``collapse_whitespace`` folds runs into one space."""

    specials: tuple[str, ...] = SPECIALS
    lowercase: bool = False
    collapse_whitespace: bool = False

    kind: ClassVar[str] = "char"

    @classmethod
    def build(cls, texts: Iterable[str], *, lowercase: bool = False,  # type: ignore[override]
              specials: Sequence[str] = SPECIALS, collapse_whitespace: bool = False) -> CharVocab:
        chars = sorted({ch for text in texts for ch in cls._chars(text, lowercase, collapse_whitespace)})
        return cls([*specials, *(ch for ch in chars if ch not in specials)], specials=tuple(specials),
                   lowercase=lowercase, collapse_whitespace=collapse_whitespace)

    @staticmethod
    def _chars(text: str, lowercase: bool, collapse_whitespace: bool) -> str:
        return normalise(text, form="NFC", lowercase=lowercase, collapse_whitespace=collapse_whitespace)

    def encode(self, text: str, *, add_bos: bool = False, add_eos: bool = False) -> list[int]:  # type: ignore[override]
        chars = self._chars(text, self.lowercase, self.collapse_whitespace)
        return super().encode(chars, add_bos=add_bos, add_eos=add_eos)

    def decode(self, ids: Iterable[int], *, skip_specials: bool = True) -> str:  # type: ignore[override]
        return "".join(super().decode(ids, skip_specials=skip_specials))

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind, "lowercase": self.lowercase, "collapse_whitespace": self.collapse_whitespace,
                "specials": list(self.specials), "tokens": self.tokens}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CharVocab:
        return cls(data["tokens"], specials=tuple(data.get("specials", SPECIALS)),
                   lowercase=data.get("lowercase", False), collapse_whitespace=data.get("collapse_whitespace", False))


def load_vocab(path: str | Path) -> Vocab:
    """Load a word or character vocabulary, whichever the file holds."""
    try:
        kind = json.loads(Path(path).read_text(encoding="utf-8")).get("type", "word")
    except (OSError, json.JSONDecodeError, AttributeError) as err:
        raise SeqlabError(f"{path}: not a seqlab vocabulary ({err})") from err
    return CharVocab.load(path) if kind == "char" else Vocab.load(path)
