"""The Porter stemmer, written from the paper: M. F. Porter, "An algorithm for suffix stripping",
Program 14(3), 130-137, 1980.

A word is a sequence of consonants (c) and vowels (v); runs of them are written C and V, so every word
is [C](VC){m}[V], and m, the *measure*, counts the VC pairs. Five steps strip suffixes in turn; each
rule "(condition) S1 -> S2" replaces the suffix S1 by S2 when the stem before S1 meets the condition.
Within a step only the rule with the longest matching S1 is tried (rules below are ordered so that the
first match is the longest); if its condition fails the step leaves the word alone.

    porter_stem("caresses") -> "caress"     porter_stem("relational") -> "relat"
    porter_stem("generalizations") -> "gener"

This is the original algorithm, without the later revisions (no "logi" rule, ABLI not BLI); it matches
NLTK's ``PorterStemmer(mode=ORIGINAL_ALGORITHM)`` on real vocabulary (see tests).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

Condition = Callable[[str], bool] | None
Rule = tuple[str, str, Condition]  # (suffix, replacement, condition on the stem before the suffix)


def _cv(word: str) -> str:
    """'c'/'v' per letter. Y is a consonant at the start or after a vowel, a vowel after a consonant."""
    out: list[str] = []
    for ch in word:
        if ch in "aeiou":
            out.append("v")
        elif ch == "y":
            out.append("v" if out and out[-1] == "c" else "c")
        else:
            out.append("c")
    return "".join(out)


def measure(stem: str) -> int:
    """m in [C](VC){m}[V]: the number of vowel-to-consonant transitions."""
    return _cv(stem).count("vc")


def _m_gt0(stem: str) -> bool:
    return measure(stem) > 0


def _m_gt1(stem: str) -> bool:
    return measure(stem) > 1


def _has_vowel(stem: str) -> bool:  # *v*
    return "v" in _cv(stem)


def _ends_double_consonant(word: str) -> bool:  # *d
    return len(word) >= 2 and word[-1] == word[-2] and _cv(word)[-1] == "c"


def _ends_cvc(word: str) -> bool:  # *o: consonant-vowel-consonant, the last not w, x or y (-WIL, -HOP)
    return len(word) >= 3 and _cv(word)[-3:] == "cvc" and word[-1] not in "wxy"


def _apply(word: str, rules: Sequence[Rule]) -> str:
    """The first (longest) rule whose suffix matches decides; a failed condition leaves the word as is."""
    for suffix, replacement, condition in rules:
        if word.endswith(suffix):
            stem = word[: len(word) - len(suffix)]
            return stem + replacement if condition is None or condition(stem) else word
    return word


STEP1A: list[Rule] = [("sses", "ss", None), ("ies", "i", None), ("ss", "ss", None), ("s", "", None)]
STEP2: list[Rule] = [(s, r, _m_gt0) for s, r in [
    ("ational", "ate"), ("tional", "tion"), ("enci", "ence"), ("anci", "ance"), ("izer", "ize"),
    ("abli", "able"), ("alli", "al"), ("entli", "ent"), ("eli", "e"), ("ousli", "ous"), ("ization", "ize"),
    ("ation", "ate"), ("ator", "ate"), ("alism", "al"), ("iveness", "ive"), ("fulness", "ful"),
    ("ousness", "ous"), ("aliti", "al"), ("iviti", "ive"), ("biliti", "ble")]]
STEP3: list[Rule] = [(s, r, _m_gt0) for s, r in [
    ("icate", "ic"), ("ative", ""), ("alize", "al"), ("iciti", "ic"), ("ical", "ic"), ("ful", ""), ("ness", "")]]
STEP4: list[Rule] = [(s, "", _m_gt1) for s in [
    "al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent"]] + [
    ("ion", "", lambda stem: _m_gt1(stem) and stem[-1:] in ("s", "t"))] + [(s, "", _m_gt1) for s in [
    "ou", "ism", "ate", "iti", "ous", "ive", "ize"]]


def _step1b(word: str) -> str:
    """(m>0) EED -> EE; (*v*) ED -> ; (*v*) ING -> ; after ED/ING, tidy the stem so steps 2-4 see -ATE etc."""
    if word.endswith("eed"):
        return word[:-1] if _m_gt0(word[:-3]) else word
    for suffix in ("ed", "ing"):
        if word.endswith(suffix) and _has_vowel(word[: -len(suffix)]):
            return _after_ed_ing(word[: -len(suffix)])
    return word


def _after_ed_ing(stem: str) -> str:
    """AT -> ATE, BL -> BLE, IZ -> IZE (conflat(ed) -> conflate); undouble (hopp -> hop, but fall, hiss,
    fizz stay); (m=1 and *o) -> E (fil(ing) -> file)."""
    if stem.endswith(("at", "bl", "iz")):
        return stem + "e"
    if _ends_double_consonant(stem) and stem[-1] not in "lsz":
        return stem[:-1]
    if measure(stem) == 1 and _ends_cvc(stem):
        return stem + "e"
    return stem


def _step1c(word: str) -> str:  # (*v*) Y -> I: happy -> happi, sky -> sky
    return word[:-1] + "i" if word.endswith("y") and _has_vowel(word[:-1]) else word


def _step5(word: str) -> str:
    """5a: (m>1) E -> ; (m=1 and not *o) E -> .  5b: (m>1 and *d and *L) -> single letter (controll)."""
    if word.endswith("e"):
        stem = word[:-1]
        m = measure(stem)
        if m > 1 or (m == 1 and not _ends_cvc(stem)):
            word = stem
    if word.endswith("ll") and _m_gt1(word):
        word = word[:-1]
    return word


def porter_stem(word: str) -> str:
    """Stem one word (lower-cased first)."""
    word = word.lower()
    word = _step1c(_step1b(_apply(word, STEP1A)))
    word = _apply(_apply(_apply(word, STEP2), STEP3), STEP4)
    return _step5(word)


def stem_tokens(tokens: Sequence[str]) -> list[str]:
    return [porter_stem(tok) for tok in tokens]
