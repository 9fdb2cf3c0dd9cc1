"""Normalisation and tokenisation: the first step from text to numbers.

    normalise("Café  Ａ")                       -> "Café A"        (Unicode NFKC, collapsed spaces)
    normalise("Café", strip_accents=True)       -> "Cafe"
    word_tokenize("I don't like Mr. O'Neil's dog.")
        -> ['I', 'do', "n't", 'like', 'Mr.', "O'Neil", "'s", 'dog', '.']
    sentence_split("It rained. Dr. Who left! Did he?") -> ['It rained.', 'Dr. Who left!', 'Did he?']
"""

from __future__ import annotations

import re
import unicodedata

CLITICS = r"(?:s|re|ve|ll|d|m)"

_WORD = re.compile(
    rf"""
      (?:[^\W\d_]\.){{2,}}                        # abbreviations with dots: U.S.A., e.g.
    | (?:Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr|vs|etc)\.   # common titles and abbreviations keep their dot
    | \w+(?=n't\b)                               # "do" of "don't", "ca" of "can't" (Penn Treebank)
    | n't\b
    | '{CLITICS}\b                               # clitics: 's 're 've 'll 'd 'm
    | \d+(?:[.,:/]\d+)*                          # numbers: 3.14, 1,000, 12:30, 07/04/19
    | \w+(?:-\w+)*(?:'(?!{CLITICS}\b|t\b)\w+)*   # words, hyphenated words, O'Neil, rock'n'roll
    | \.{{2,}}|--+|[^\w\s]                        # ellipsis, dashes, any other single symbol
    """,
    re.VERBOSE | re.IGNORECASE,
)

_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "no", "fig",
                  "mt", "inc", "ltd", "co", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept",
                  "oct", "nov", "dec"}
_SENTENCE_END = re.compile(r"""([.!?]+["')\]]*)\s+(?=["'(\[]?[A-Z0-9À-Ý])""")


def normalise(text: str, *, form: str = "NFKC", lowercase: bool = False, strip_accents: bool = False,
              collapse_whitespace: bool = True) -> str:
    """Unicode normal form (NFKC folds compatibility characters: full-width letters, ligatures), optional
    lower-casing and accent stripping (é -> e), and whitespace collapsed to single spaces (unless asked not to)."""
    text = unicodedata.normalize(form, text)
    if strip_accents:
        decomposed = unicodedata.normalize("NFD", text)
        text = unicodedata.normalize(form, "".join(ch for ch in decomposed if not unicodedata.combining(ch)))
    if lowercase:
        text = text.lower()
    return " ".join(text.split()) if collapse_whitespace else text


def word_tokenize(text: str) -> list[str]:
    """Regex word tokeniser: words, numbers, clitics ("n't", "'s") and punctuation as separate tokens."""
    return _WORD.findall(text)


def char_tokenize(text: str) -> list[str]:
    return list(text)


def sentence_split(text: str) -> list[str]:
    """Split after . ! ? (and closing quotes) followed by a capital or digit, except after abbreviations."""
    sentences, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        words = text[start : match.start()].split()
        last_word = words[-1].lower().rstrip(".") if words else ""
        initial = len(last_word) == 1 and last_word.isalpha()
        if match.group(1).startswith(".") and (last_word in _ABBREVIATIONS or initial):
            continue  # "Dr. Who", "J. Smith": not a sentence end ("I have 2. You" is)
        sentences.append(text[start : match.end(1)].strip())
        start = match.end()
    tail = text[start:].strip()
    return [*sentences, tail] if tail else sentences
