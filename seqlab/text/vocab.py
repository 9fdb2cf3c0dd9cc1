"""Vocabularies: the map between tokens and ids ("computers only know numbers, not words").

Saved as JSON (never pickle): ``{"tokens": [...], "specials": {...}, "lowercase": bool}``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from seqlab.errors import SeqlabError
from seqlab.text.tokenize import normalise

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)  # ids 0..3 in every vocabulary


@dataclass
class CharVocab:
    """Character vocabulary with the four specials first."""

    tokens: list[str]
    lowercase: bool = False

    def __post_init__(self) -> None:
        if tuple(self.tokens[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"a vocabulary starts with the specials {SPECIALS}")
        self.index = {tok: i for i, tok in enumerate(self.tokens)}

    pad_id, bos_id, eos_id, unk_id = 0, 1, 2, 3

    @classmethod
    def build(cls, texts: Iterable[str], *, lowercase: bool = False) -> CharVocab:
        chars = sorted({ch for text in texts for ch in normalise(text, form="NFC", lowercase=lowercase)})
        return cls(list(SPECIALS) + chars, lowercase=lowercase)

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, text: str, *, add_bos: bool = False, add_eos: bool = False) -> list[int]:
        ids = [self.index.get(ch, self.unk_id) for ch in normalise(text, form="NFC", lowercase=self.lowercase)]
        return [self.bos_id] * add_bos + ids + [self.eos_id] * add_eos

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self.tokens[i] for i in ids if i >= len(SPECIALS))

    def to_dict(self) -> dict:
        return {"type": "char", "lowercase": self.lowercase, "tokens": self.tokens}

    def save(self, path: str | Path) -> None:
        from seqlab.io import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_dict(), ensure_ascii=False, indent=1))

    @classmethod
    def load(cls, path: str | Path) -> CharVocab:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(data["tokens"], lowercase=data.get("lowercase", False))
        except (OSError, json.JSONDecodeError, KeyError, ValueError) as err:
            raise SeqlabError(f"{path}: not a seqlab vocabulary ({err})") from err
