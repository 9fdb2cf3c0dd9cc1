"""Text statistics: characters, words, sentences, paragraphs, proper names and their frequencies.

    stats = text_stats("Alice met Bob. Then Alice left.\n\nThe end.")
    stats.sentences, stats.paragraphs, stats.names    -> 3, 2, Counter({'Alice': 2, 'Bob': 1})

Words are the tokens of ``word_tokenize`` that hold a letter or digit (so clitics such as "'s" and "n't"
count as words, punctuation does not), counted lower-cased.

Proper names (a heuristic for English text):
  * a name is a run of consecutive capitalised word tokens ("New York", "Mr. O'Neil"); the pronoun "I" is not;
  * a capitalised word that opens a sentence is ambiguous ("The", "Alice"), so it counts as (the start of) a
    name only when the same word also appears capitalised inside some sentence of the text;
  * a capitalised word that is at least as frequent in lower case ("And" and "and" in verse, which
    capitalises every line) is a common word, not a name, and is trimmed from the ends of a run;
  * it therefore misses names seen only at sentence starts, and takes every noun for a name in German,
    which capitalises nouns.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from seqlab.text.tokenize import sentence_split, word_tokenize

_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n")


@dataclass
class TextStats:
    characters: int
    non_space_characters: int
    sentences: int
    paragraphs: int
    words: Counter[str]  # lower-cased word -> count ("The" and "the" are one word)
    names: Counter[str]  # proper name, as written -> count

    @property
    def n_words(self) -> int:
        return sum(self.words.values())

    @property
    def n_names(self) -> int:
        return sum(self.names.values())

    def to_dict(self, top: int | None = None) -> dict:
        """JSON-ready summary; ``top`` limits the frequency lists (None: all)."""
        return {"characters": self.characters, "non_space_characters": self.non_space_characters,
                "words": self.n_words, "distinct_words": len(self.words), "sentences": self.sentences,
                "paragraphs": self.paragraphs, "names": self.n_names, "distinct_names": len(self.names),
                "word_counts": dict(most_common(self.words, top)),
                "name_counts": dict(most_common(self.names, top))}


def most_common(counts: Counter[str], top: int | None = None) -> list[tuple[str, int]]:
    """By count, then alphabetically, so that ties print in a stable order."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ranked if top is None else ranked[:top]


def paragraphs(text: str) -> list[str]:
    """Blocks of text separated by blank lines, with their line breaks folded into spaces."""
    blocks = (" ".join(block.split()) for block in _PARAGRAPH_BREAK.split(text))
    return [block for block in blocks if block]


def is_word(token: str) -> bool:
    return any(ch.isalnum() for ch in token)


def _capitalised(token: str) -> bool:
    return token[0].isupper() and token != "I"


def _capitalised_runs(words: list[str]) -> list[tuple[bool, list[str]]]:
    """Runs of consecutive capitalised words, each flagged True when it opens the sentence."""
    runs: list[tuple[bool, list[str]]] = []
    for i, word in enumerate(words):
        if not _capitalised(word):
            continue
        if i > 0 and _capitalised(words[i - 1]):
            runs[-1][1].append(word)
        else:
            runs.append((i == 0, [word]))
    return runs


def proper_names(sentences: list[list[str]]) -> Counter[str]:
    """Count proper names in sentences of word tokens (punctuation removed), by the heuristic above."""
    runs = [run for words in sentences for run in _capitalised_runs(words)]
    seen_inside = {word for at_start, run in runs for word in (run[1:] if at_start else run)}
    capitalised = Counter(word for _, run in runs for word in run)
    lower = Counter(word for words in sentences for word in words if word.islower())

    def common(word: str) -> bool:
        return lower[word.lower()] >= capitalised[word]

    names: Counter[str] = Counter()
    for at_start, run in runs:
        if at_start and run[0] not in seen_inside:
            run = run[1:]  # "The White House" -> "White House"; "Then" is no name
        while run and common(run[0]):
            run = run[1:]
        while run and common(run[-1]):
            run = run[:-1]
        if run:
            names[" ".join(run)] += 1
    return names


def text_stats(text: str) -> TextStats:
    blocks = paragraphs(text)
    # split sentences within paragraphs, so a heading without a full stop does not run into the next block
    sentences = [[tok for tok in word_tokenize(s) if is_word(tok)] for block in blocks for s in sentence_split(block)]
    return TextStats(characters=len(text), non_space_characters=sum(not ch.isspace() for ch in text),
                     sentences=len(sentences), paragraphs=len(blocks),
                     words=Counter(word.lower() for words in sentences for word in words),
                     names=proper_names(sentences))


def format_stats(stats: TextStats, top: int | None = 10) -> str:
    lines = [f"characters   {stats.characters} ({stats.non_space_characters} besides whitespace)",
             f"words        {stats.n_words} ({len(stats.words)} distinct)",
             f"sentences    {stats.sentences}",
             f"paragraphs   {stats.paragraphs}",
             f"names        {stats.n_names} ({len(stats.names)} distinct)"]
    for title, counts in [("words", stats.words), ("names", stats.names)]:
        ranked = most_common(counts, top)
        if ranked:
            lines += ["", f"most frequent {title}:" if top is None else f"top {len(ranked)} {title}:"]
            lines += [f"  {count:6d}  {item}" for item, count in ranked]
    return "\n".join(lines)
