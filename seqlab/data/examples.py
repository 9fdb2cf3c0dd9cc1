"""Typed examples that the readers return: one dataclass per kind of data, shared by all datasets."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Text:
    """A piece of running text: a line (WikiText-2) or a whole split (Tiny Shakespeare, text8)."""

    text: str


@dataclass
class TextLabel:
    """A text with a class id; ``label`` is None where the split is unlabelled (SST-2 test)."""

    text: str
    label: int | None


@dataclass
class Parallel:
    """Aligned translations, keyed by language code: ``ex.texts["en"]``, ``ex.texts["de"]``."""

    texts: dict[str, str]


@dataclass
class ConllSentence:
    """A sentence of a column file in any layout: ``columns[name]`` holds one value per token.

    ``doc`` numbers the ``-DOCSTART-`` document the sentence is in, from 0.
    """

    columns: dict[str, list[str]]
    doc: int = 0

    @property
    def tokens(self) -> list[str]:
        # The word column is called "tokens" by convention; otherwise the first column holds the words.
        return self.columns["tokens"] if "tokens" in self.columns else next(iter(self.columns.values()))


@dataclass
class NerSentence:
    """A CoNLL-2003 sentence: words with POS, chunk and NER tags; ``doc`` numbers its document from 0."""

    tokens: list[str]
    pos: list[str]
    chunk: list[str]
    ner: list[str]
    doc: int = 0


@dataclass
class UDSentence:
    """A CoNLL-U sentence, syntactic words only (integer IDs; multiword ranges and empty nodes left out).

    ``heads[i]`` is the 1-based index of word i's head, 0 for the root.
    """

    tokens: list[str]
    lemmas: list[str]
    upos: list[str]
    xpos: list[str]
    feats: list[str]
    heads: list[int]
    deprels: list[str]
    sent_id: str = ""
    text: str = ""


@dataclass
class Series:
    """A univariate time series with its class; ``values`` is a list of floats (``torch.tensor(values)``)."""

    label: int
    values: list[float]


@dataclass
class Analogy:
    """a : b :: c : d, from a section of the Google analogy set (e.g. "capital-common-countries")."""

    a: str
    b: str
    c: str
    d: str
    section: str


@dataclass
class WordPair:
    """Two words with a human similarity score (WordSim-353, SimLex-999: 0 to 10)."""

    word1: str
    word2: str
    score: float


@dataclass
class BabiQuestion:
    """One bAbI question with the story sentences before it.

    ``supporting`` indexes ``story`` (0-based); ``answer`` is as released ("kitchen", "apple,football").
    """

    story: list[str]
    question: str
    answer: str
    supporting: list[int] = field(default_factory=list)

    @property
    def answers(self) -> list[str]:
        """The answer words: tasks 8 and 19 answer with comma-separated lists."""
        return self.answer.split(",")
