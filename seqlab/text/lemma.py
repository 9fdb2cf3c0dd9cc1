"""Lemmatisation by table lookup: am/are/is -> be, dog/dogs/dog's -> dog.

The table is spaCy's English lookup lemmatiser table, shipped in the PyPI package ``spacy-lookups-data``
(optional extra: ``pip install "seqlab[text]"``). That package holds tables for some 30 languages
(about 99 MB installed); the English lemma table is one gzipped JSON object, word form -> lemma
(``data/en_lemma_lookup.json.gz``: 41,582 forms, 205 KB, derived from WordNet 3.0). We read that file
directly, so spaCy itself is not needed. Forms not in the table are their own lemma, as in spaCy.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

from seqlab.errors import SeqlabError

_POSSESSIVES = ("'s", "’s", "'", "’")  # dog's, dogs' -> dog, dogs (then looked up)


@cache
def english_lemma_table() -> dict[str, str]:
    """The English form -> lemma table of spacy-lookups-data (read once per process)."""
    try:
        from importlib.resources import files

        path = files("spacy_lookups_data").joinpath("data", "en_lemma_lookup.json.gz")
    except ModuleNotFoundError as err:
        raise SeqlabError('lemmatisation needs the lookup tables: pip install "seqlab[text]" '
                          "(installs spacy-lookups-data)") from err
    with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as f:
        return json.load(f)


@dataclass
class Lemmatizer:
    """Lookup lemmatiser: exact form, then lower-cased form, then the form without a possessive ending."""

    table: dict[str, str] = field(default_factory=english_lemma_table)

    def __call__(self, word: str) -> str:
        found = self._lookup(word)
        if found is not None:
            return found
        for ending in _POSSESSIVES:
            if word.endswith(ending) and len(word) > len(ending):
                base = word[: -len(ending)]
                return self._lookup(base) or base
        return word

    def _lookup(self, word: str) -> str | None:
        return self.table.get(word) or self.table.get(word.lower())

    def lemmatize(self, tokens: Sequence[str]) -> list[str]:
        return [self(tok) for tok in tokens]


def lemmatize(tokens: Sequence[str]) -> list[str]:
    """Lemmas of tokens with the English table: ["I", "am", "dogs"] -> ["I", "be", "dog"]."""
    return Lemmatizer().lemmatize(tokens)
