"""Corpus BLEU (Papineni et al., 2002) and chrF (Popović, 2015), with sacreBLEU's defaults and digits.

Both metrics stream: ``update(hypotheses, references)`` adds a batch's sufficient statistics (n-gram
match counts and lengths) and ``compute()`` scores everything since ``reset()``, so the corpus score
does not depend on batching. Scores are on sacreBLEU's 0-100 scale and equal its ``corpus_score`` to
the last digit (tests/test_metrics_bleu.py checks this); sacreBLEU itself is only a test dependency.

References: one per hypothesis, as a string, or several as a list of strings (not sacreBLEU's
transposed "reference streams"). Variable numbers of references per hypothesis are fine.

BLEU (sacreBLEU 2.x ``BLEU()``): hypotheses and references are tokenised with mteval-v13a rules
(``tokenize_13a``); n-grams of orders 1-4 are clipped by their largest count in any reference; the
reference length of a sentence is the reference length closest to the hypothesis (the shorter on a
tie); brevity penalty exp(1 - r/c) when the corpus hypothesis length c is below r; geometric mean of
the n-gram precisions with the NIST "exp" smoothing (the k-th order with no match counts
1 / (2^k * total) instead of 0). No match at all, or an order with no n-grams, gives BLEU 0.

chrF (sacreBLEU 2.x ``CHRF()``): character n-grams of orders 1-6 with whitespace removed, precision
and recall averaged over the orders that occur in both hypothesis and reference, F-beta with beta 2.
With several references, each sentence takes the statistics of its best-scoring reference.
``word_order=2`` gives chrF++.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from seqlab.metrics.base import Metric
from seqlab.metrics.sequence import MetricError

# --------------------------------------------------------------------------- 13a tokenisation

_13A_RULES = [
    # every ASCII symbol and punctuation mark except ' , - . gets spaces around it (space is in the set)
    (re.compile(r"([ !\"#$%&()*+/:;<=>?@\[\\\]^_`{|}~])"), r" \1 "),
    (re.compile(r"([^0-9])([.,])"), r"\1 \2 "),  # period and comma, unless after a digit...
    (re.compile(r"([.,])([^0-9])"), r" \1 \2"),  # ...or unless before one
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),  # dash after a digit
]
_ENTITIES = [("&quot;", '"'), ("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">")]


def tokenize_13a(line: str) -> str:
    """mteval-v13a.pl tokenisation (WMT's, sacreBLEU's default), tokens joined by single spaces."""
    line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        for entity, char in _ENTITIES:
            line = line.replace(entity, char)
    line = f" {line} "
    for pattern, replacement in _13A_RULES:
        line = pattern.sub(replacement, line)
    return " ".join(line.split())


TOKENIZERS = {"13a": tokenize_13a, "none": lambda line: line}


# --------------------------------------------------------------------------- shared input handling

def _pairs(hypotheses: Sequence[str], references: Sequence[str | Sequence[str]]) -> list[tuple[str, list[str]]]:
    """(hypothesis, its references) pairs; raises MetricError for misaligned or mistyped input."""
    if isinstance(hypotheses, str):
        raise MetricError("hypotheses must be a sequence of strings, got one string")
    if len(hypotheses) != len(references):
        raise MetricError(f"{len(hypotheses)} hypotheses for {len(references)} references "
                          "(give one reference string, or a list of them, per hypothesis)")
    pairs = []
    for i, (hyp, refs) in enumerate(zip(hypotheses, references, strict=True)):
        refs = [refs] if isinstance(refs, str) else list(refs)
        if not isinstance(hyp, str) or not refs or not all(isinstance(r, str) for r in refs):
            raise MetricError(f"example {i}: expected a hypothesis string and one or more reference strings")
        pairs.append((hyp, refs))
    return pairs


# --------------------------------------------------------------------------- BLEU

def _word_ngrams(tokens: list[str], max_order: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i:i + n]) for n in range(1, max_order + 1) for i in range(len(tokens) - n + 1))


class BLEU(Metric):
    """Corpus BLEU as sacreBLEU computes it (see the module docstring). ``compute()`` returns::

        {"bleu": 0-100, "precisions": [p1..p4] (0-100, smoothed), "brevity_penalty",
         "length_ratio": hyp_len / ref_len, "hyp_len", "ref_len", "matches": [...], "totals": [...]}

    ``tokenize="none"`` splits on whitespace only, for text that is already tokenised.
    """

    def __init__(self, *, max_order: int = 4, lowercase: bool = False, tokenize: str = "13a"):
        if tokenize not in TOKENIZERS:
            raise MetricError(f"unknown BLEU tokenizer {tokenize!r}; choose one of {', '.join(TOKENIZERS)}")
        self.max_order, self.lowercase, self.tokenize = max_order, lowercase, tokenize
        super().__init__()

    def reset(self) -> None:
        self.matches = [0] * self.max_order  # clipped n-gram matches per order
        self.totals = [0] * self.max_order  # hypothesis n-grams per order
        self.hyp_len = 0
        self.ref_len = 0
        self.sentences = 0

    def _tokens(self, sentence: str) -> list[str]:
        sentence = sentence.lower() if self.lowercase else sentence
        return TOKENIZERS[self.tokenize](sentence.rstrip()).split()

    def update(self, hypotheses: Sequence[str], references: Sequence[str | Sequence[str]]) -> None:
        for hyp, refs in _pairs(hypotheses, references):
            ref_counts: Counter[tuple[str, ...]] = Counter()
            ref_lens = []
            for ref in refs:
                tokens = self._tokens(ref)
                ref_lens.append(len(tokens))
                for ngram, count in _word_ngrams(tokens, self.max_order).items():
                    ref_counts[ngram] = max(ref_counts[ngram], count)
            tokens = self._tokens(hyp)
            for ngram, count in _word_ngrams(tokens, self.max_order).items():
                self.totals[len(ngram) - 1] += count
                self.matches[len(ngram) - 1] += min(count, ref_counts[ngram])
            self.hyp_len += len(tokens)
            self.ref_len += min(ref_lens, key=lambda n: (abs(n - len(tokens)), n))  # closest, then shorter
        self.sentences += len(hypotheses)

    def compute(self) -> dict[str, Any]:
        if not self.sentences:
            raise MetricError("BLEU of an empty corpus: call update() with some sentences first")
        c, r = self.hyp_len, self.ref_len
        brevity_penalty = 1.0 if c >= r else math.exp(1 - r / c) if c else 0.0
        precisions = [0.0] * self.max_order
        if any(self.matches):
            smooth = 1.0
            for n, (matches, total) in enumerate(zip(self.matches, self.totals, strict=True)):
                if total == 0:
                    break  # no n-grams this long: this and higher precisions stay 0, and so does BLEU
                if matches == 0:
                    smooth *= 2
                    precisions[n] = 100.0 / (smooth * total)
                else:
                    precisions[n] = 100.0 * matches / total
        if all(precisions):
            bleu = brevity_penalty * math.exp(sum(math.log(p) for p in precisions) / self.max_order)
        else:
            bleu = 0.0
        return {"bleu": bleu, "precisions": precisions, "brevity_penalty": brevity_penalty,
                "length_ratio": c / r if r else 0.0, "hyp_len": c, "ref_len": r,
                "matches": list(self.matches), "totals": list(self.totals)}


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str | Sequence[str]], **options: Any) -> float:
    """BLEU (0-100) of a whole corpus at once; ``options`` as for :class:`BLEU`."""
    metric = BLEU(**options)
    metric.update(hypotheses, references)
    return metric.compute()["bleu"]


# --------------------------------------------------------------------------- chrF

_PUNCTUATION = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def _chrf_words(sentence: str) -> list[str]:
    """Words for chrF++: one leading or trailing punctuation mark split off, as chrF++.py does."""
    words = []
    for word in sentence.split():
        if len(word) > 1 and word[-1] in _PUNCTUATION:
            words += [word[:-1], word[-1]]
        elif len(word) > 1 and word[0] in _PUNCTUATION:
            words += [word[0], word[1:]]
        else:
            words.append(word)
    return words


class CHRF(Metric):
    """Corpus chrF (0-100) as sacreBLEU computes it (see the module docstring); ``word_order=2`` is chrF++.

    The statistics are, per order, [hypothesis n-grams, reference n-grams, matches]; a hypothesis's
    n-grams of an order count only when its reference has n-grams of that order (sacreBLEU's rule).
    """

    def __init__(self, *, char_order: int = 6, word_order: int = 0, beta: float = 2, lowercase: bool = False):
        self.char_order, self.word_order, self.beta, self.lowercase = char_order, word_order, beta, lowercase
        super().__init__()

    def reset(self) -> None:
        self.stats = [0] * (3 * (self.char_order + self.word_order))
        self.sentences = 0

    def _ngrams(self, sentence: str) -> list[Counter]:
        sentence = sentence.lower() if self.lowercase else sentence
        chars = "".join(sentence.split())
        counters = [Counter(chars[i:i + n] for i in range(len(chars) - n + 1)) for n in range(1, self.char_order + 1)]
        words = _chrf_words(sentence) if self.word_order else []
        counters += [Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))
                     for n in range(1, self.word_order + 1)]
        return counters

    def _f_score(self, stats: Sequence[int]) -> float:
        factor = self.beta ** 2
        precision = recall = 0.0
        orders = 0
        for i in range(0, len(stats), 3):
            n_hyp, n_ref, n_match = stats[i:i + 3]
            if n_hyp > 0 and n_ref > 0:
                precision += n_match / n_hyp
                recall += n_match / n_ref
                orders += 1
        if orders:
            precision /= orders
            recall /= orders
        if not precision + recall:
            return 0.0
        return 100 * ((1 + factor) * precision * recall / (factor * precision + recall))

    def update(self, hypotheses: Sequence[str], references: Sequence[str | Sequence[str]]) -> None:
        for hyp, refs in _pairs(hypotheses, references):
            hyp_ngrams = self._ngrams(hyp)
            best, best_score = None, -1.0
            for ref in refs:
                stats = []
                for h, r in zip(hyp_ngrams, self._ngrams(ref), strict=True):
                    matches = sum(min(count, r[g]) for g, count in h.items())
                    stats += [h.total() if r else 0, r.total(), matches]
                score = self._f_score(stats)
                if score > best_score:  # the first best reference wins a tie
                    best, best_score = stats, score
            self.stats = [a + b for a, b in zip(self.stats, best, strict=True)]
        self.sentences += len(hypotheses)

    def compute(self) -> float:
        if not self.sentences:
            raise MetricError("chrF of an empty corpus: call update() with some sentences first")
        return self._f_score(self.stats)


def corpus_chrf(hypotheses: Sequence[str], references: Sequence[str | Sequence[str]], **options: Any) -> float:
    """chrF (0-100) of a whole corpus at once; ``options`` as for :class:`CHRF`."""
    metric = CHRF(**options)
    metric.update(hypotheses, references)
    return metric.compute()
