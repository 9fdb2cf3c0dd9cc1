"""Language identification: multinomial naive Bayes over character n-grams, written from the equations.

    closest(x) = argmax_c  log P(c) + sum_g count(g, x) * log P(g | c)
    P(c)         = (training sentences of c) / (training sentences)
    P(g | c)     = (count(g, c) + alpha) / (sum_g' count(g', c) + alpha * |V|)      (add-alpha smoothing)

V is the set of n-grams seen in training (any language); n-grams outside V are ignored by the argmax.

Open-set rejection. The argmax always names one of the trained languages, however unlike all of them the text
is (Spanish came out "fr 1.0000", "12345" "en 0.987"), so ``predict`` returns None ("unknown") when
  1. no n-gram of the text is in V (emoji, another script): no evidence beyond the prior; or
  2. the text has no letter (digits, punctuation): digits and punctuation are not evidence of a language; or
  3. the text's words are too often new to the closest language c (the argmax): a significance test.
Rule 3: call a word *novel* for c when one of its letter-bearing n_max-grams (padded 4-grams " el ", "ños ")
never occurs in c's training text; words with no such n-gram ("I", "2") are not tested. Under "the text is
in c" each tested word is novel with probability r(c), the rate at which c's own unseen words are novel,
estimated at training time by leave-one-out: a word seen once is novel once left out exactly when one of its
n_max-grams occurs nowhere else, so r(c) = (such words + 1) / (tested word tokens + 2) (the +1/+2, Laplace,
keeps r > 0). With k novel words of m tested, the text is rejected when the binomial tail
P(K >= k | m, r(c)) < SIGNIFICANCE = 1e-3. Counting words rather than n-grams matters: one new word
makes several overlapping new n-grams, which are not independent (the same test on 4-gram counts, with their
Good-Turing unseen rate, called 2.1% of Multi30k's test sentences unknown at the same level).

Measured on Multi30k (trained on train, 29,000 sentences a language; the threshold was chosen on val):
  r(c) by leave-one-out on train: de 0.0151, en 0.0097, fr 0.0073; the share of novel words actually seen
  in the 1,014 val sentences: de 0.0157, en 0.0096, fr 0.0076, so the estimate is honest.
  In-language text called unknown: 9 of 3,042 val sentences, 2 of 3,000 test sentences (accuracy 1.0000
  before, 0.9993 after; both are mixed: "Bauarbeiter streiken gegen PM Construction Services.") and 1 of
  the 3,000 two-word test prefixes ("# 8"; accuracy 0.9920 -> 0.9917).
  Foreign text called unknown, where the argmax alone said fr or en: 5 of 6 Spanish sentences, e.g.
  "¿Dónde está la biblioteca? Me gustaría comer algo." (p 9e-15; was "fr 1.0000"), "Buenos días"
  (5e-5); 5 of 5 Italian, e.g. "Buongiorno, come stai?" (3e-4); 5 of 5 Portuguese, e.g. "Obrigado, tudo
  bem?" (9e-7); Polish; "lorem ipsum dolor sit amet"; "asdfghjkl qwertyuiop"; and by rule 2 "12345",
  "3.14159", "2024-01-01 12:00".
  Limits: a sentence of French-looking words ("El perro corre en el parque con los niños." -> fr, p 0.002)
  and a language close to a trained one (Dutch "De hond rent in het park met de kinderen." -> de, p 0.13)
  pass. Multi30k is image captions, so everyday text can look foreign: of 17 en/de/fr sentences and
  greetings outside captions, "I think therefore I am." (" am " never occurs in the captions; p 3e-4) and
  "Veuillez m'envoyer la facture avant vendredi." (8e-4) are called unknown, the other 15 are identified.

The features are the character 1- to 4-grams of each lower-cased word padded with a space on both sides, so
that " th" (word start) and "en " (word end) are features of their own. Trained on Multi30k's train side
(English, German, French; Czech too where present), the model is cached as JSON in the cache directory
($SEQLAB_CACHE, else ~/.cache/seqlab).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from seqlab.errors import SeqlabError
from seqlab.io import write_json
from seqlab.text.tokenize import normalise

LANGUAGE_NAMES = {"en": "English", "de": "German", "fr": "French", "cs": "Czech"}
UNKNOWN = "unknown"  # the name describe() and evaluate() give a text predict() cannot identify (None)
FORMAT = "seqlab.langid/2"  # bump when features or file layout change, so old caches are retrained
SIGNIFICANCE = 1e-3  # rule 3 of the module docstring: reject when P(this many novel words | language) < this


@dataclass(frozen=True)
class NGramConfig:
    n_min: int = 1
    n_max: int = 4
    alpha: float = 1.0  # add-alpha (Lidstone) smoothing; 1.0 is Laplace

    def __post_init__(self) -> None:
        if not 1 <= self.n_min <= self.n_max:
            raise ValueError(f"need 1 <= n_min <= n_max, got {self.n_min}..{self.n_max}")
        if self.alpha <= 0:
            raise ValueError(f"alpha must be positive, got {self.alpha}")


def word_ngrams(word: str, n_min: int = 1, n_max: int = 4) -> list[str]:
    """Character n-grams of one word padded with boundary spaces: "le" -> " l" "le" "e " " le" "le " ... l e."""
    padded = f" {word} "
    grams = [padded[i : i + n] for n in range(max(n_min, 2), n_max + 1) for i in range(len(padded) - n + 1)]
    if n_min == 1:
        grams.extend(word)  # unigrams without the bare boundary space, which every language shares
    return grams


def words(text: str) -> list[str]:
    return normalise(text, lowercase=True).split()


def char_ngrams(text: str, n_min: int = 1, n_max: int = 4) -> list[str]:
    """The features of a text: the n-grams of each of its lower-cased words."""
    return [g for word in words(text) for g in word_ngrams(word, n_min, n_max)]


def has_letter(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


def novelty_grams(word: str, n: int) -> list[str]:
    """The n-grams of a word that the novelty test looks at: its padded n-grams with a letter in them."""
    return [g for g in word_ngrams(word, n, n) if has_letter(g)]


def binomial_tail(k: int, m: int, p: float) -> float:
    """P(K >= k) for K ~ Binomial(m, p), summed in log space (m can be thousands of words)."""
    if k <= 0:
        return 1.0
    if k > m or p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    log_p, log_q, log_m = math.log(p), math.log1p(-p), math.lgamma(m + 1)
    total = 0.0
    for j in range(k, m + 1):
        term = math.exp(log_m - math.lgamma(j + 1) - math.lgamma(m - j + 1) + j * log_p + (m - j) * log_q)
        total += term
        if j > m * p and term < 1e-17 * total:  # past the mode the terms only shrink
            break
    return min(total, 1.0)


@dataclass(frozen=True)
class Novelty:
    """Rule 3 for one text: of its `tested` words, `novel` are new to `language` (the closest one)."""

    language: str
    novel: int
    tested: int
    rate: float  # r(language): how often one of the language's own unseen words is novel
    p_value: float  # P(K >= novel | tested, rate)


@dataclass
class LanguageIdentifier:
    """Multinomial naive Bayes; the counts are the model, the log-probabilities are derived from them."""

    config: NGramConfig
    sentence_counts: dict[str, int]  # language -> training sentences, for the prior P(c)
    ngram_counts: dict[str, dict[str, int]]  # language -> n-gram -> count(g, c)
    novel_rate: dict[str, float]  # language -> r(c) of the module docstring, for the open-set test
    languages: list[str] = field(init=False)
    vocabulary: dict[str, int] = field(init=False)  # n-gram -> row of log_likelihood
    log_prior: np.ndarray = field(init=False)  # (C,)
    log_likelihood: np.ndarray = field(init=False)  # (|V|, C): log P(g | c)

    def __post_init__(self) -> None:
        self.languages = sorted(self.sentence_counts)
        grams = sorted({g for counts in self.ngram_counts.values() for g in counts})
        self.vocabulary = {g: i for i, g in enumerate(grams)}
        counts = np.zeros((len(grams), len(self.languages)))  # (|V|, C)
        for c, lang in enumerate(self.languages):
            for g, n in self.ngram_counts[lang].items():
                counts[self.vocabulary[g], c] = n
        alpha = self.config.alpha
        self.log_likelihood = np.log(counts + alpha) - np.log(counts.sum(0) + alpha * len(grams))
        sentences = np.array([self.sentence_counts[lang] for lang in self.languages], dtype=float)
        self.log_prior = np.log(sentences) - np.log(sentences.sum())

    @classmethod
    def fit(cls, corpus: dict[str, Sequence[str]], config: NGramConfig | None = None) -> LanguageIdentifier:
        """Train on sentences per language: counting n-grams is all the training naive Bayes needs."""
        config = config or NGramConfig()
        if len(corpus) < 2 or any(not sentences for sentences in corpus.values()):
            raise ValueError("need sentences in at least two languages")
        ngram_counts, novel_rate = {}, {}
        for lang, sentences in corpus.items():
            # n-grams never cross words, so count words first and each distinct word's n-grams once:
            # the same counts as going through every sentence, about 20 times faster on Multi30k
            word_counts = Counter(word for sentence in sentences for word in words(sentence))
            counts: Counter[str] = Counter()
            for word, k in word_counts.items():
                for g in word_ngrams(word, config.n_min, config.n_max):
                    counts[g] += k
            ngram_counts[lang] = dict(counts)
            novel_rate[lang] = _leave_one_out_novel_rate(word_counts, counts, config.n_max)
        return cls(config, {lang: len(sentences) for lang, sentences in corpus.items()}, ngram_counts, novel_rate)

    def _rows(self, text: str) -> list[int]:
        """The vocabulary rows of the text's known n-grams; a repeated n-gram repeats its row."""
        return [self.vocabulary[g] for g in char_ngrams(text, self.config.n_min, self.config.n_max)
                if g in self.vocabulary]

    def known_ngrams(self, texts: Sequence[str]) -> list[int]:
        """How many of each text's n-grams (with repeats) were seen in training; 0 means no evidence."""
        return [len(self._rows(text)) for text in texts]

    def joint_log_likelihood(self, texts: Sequence[str]) -> np.ndarray:
        """log P(c) + sum_g count(g, x) log P(g | c), for each text and language: (N, C)."""
        scores = np.empty((len(texts), len(self.languages)))
        for i, text in enumerate(texts):
            scores[i] = self.log_prior + self.log_likelihood[self._rows(text)].sum(0)  # count(g, x) * log P(g | c)
        return scores

    def predict_log_proba(self, texts: Sequence[str]) -> np.ndarray:
        """log P(c | x): the joint log-likelihoods normalised with log-sum-exp. (N, C)"""
        joint = self.joint_log_likelihood(texts)
        top = joint.max(1, keepdims=True)
        return joint - (top + np.log(np.exp(joint - top).sum(1, keepdims=True)))

    def closest(self, texts: Sequence[str]) -> list[str]:
        """The naive Bayes argmax of each text: always one of the trained languages (closed set)."""
        return [self.languages[c] for c in self.joint_log_likelihood(texts).argmax(1)]

    def novelty(self, text: str, language: str | None = None) -> Novelty:
        """Rule 3 of the module docstring for one text, against `language` (default: the closest)."""
        language = language or self.closest([text])[0]
        seen = self.ngram_counts[language]
        tested = [grams for word in words(text) if (grams := novelty_grams(word, self.config.n_max))]
        novel = sum(any(g not in seen for g in grams) for grams in tested)
        rate = self.novel_rate[language]
        return Novelty(language, novel, len(tested), rate, binomial_tail(novel, len(tested), rate))

    def unknown_reason(self, text: str, closest: str | None = None) -> str | None:
        """Why `text` is "unknown" (rules 1-3 of the module docstring), or None when it is not; `closest`
        saves working out the argmax again."""
        if not self.known_ngrams([text])[0]:
            return "no known character n-grams"
        if not has_letter(text):
            return "no letters"
        test = self.novelty(text, closest)
        if test.p_value < SIGNIFICANCE:
            return (f"closest {test.language}, but {test.novel} of {test.tested} words are new to it: "
                    f"p {test.p_value:.1e} < {SIGNIFICANCE:g}")
        return None

    def predict(self, texts: Sequence[str]) -> list[str | None]:
        """The most probable language of each text, or None ("unknown") where the module docstring's open-set
        rules reject it: no known n-gram, no letter, or words too often new to the most probable language."""
        return [None if self.unknown_reason(text, lang) else lang
                for text, lang in zip(texts, self.closest(texts), strict=True)]

    def to_json(self) -> dict:
        return {"format": FORMAT, "config": asdict(self.config), "sentence_counts": self.sentence_counts,
                "ngram_counts": self.ngram_counts, "novel_rate": self.novel_rate}

    @classmethod
    def from_json(cls, data: dict) -> LanguageIdentifier:
        """A model saved by to_json; any other format (an older one among them) is a ValueError, which
        load_or_train answers by training again."""
        if data.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} model: format {data.get('format')!r}")
        rates = data["novel_rate"]
        if set(rates) != set(data["sentence_counts"]) or not all(0 < float(r) < 1 for r in rates.values()):
            raise ValueError("damaged model: novel_rate must give each language a rate in (0, 1)")
        return cls(NGramConfig(**data["config"]), data["sentence_counts"], data["ngram_counts"], rates)


def _leave_one_out_novel_rate(word_counts: Counter[str], ngram_counts: Counter[str], n: int) -> float:
    """r(c): the share of tested word tokens that would be novel if left out of training. Only a word seen
    once can be: it is novel when one of its test n-grams occurs nowhere else (count all its own)."""
    novel = tokens = 0
    for word, k in word_counts.items():
        grams = Counter(novelty_grams(word, n))
        if not grams:
            continue
        tokens += k
        if k == 1 and any(ngram_counts[g] == own for g, own in grams.items()):
            novel += 1
    return (novel + 1) / (tokens + 2)


@dataclass
class Evaluation:
    languages: list[str]
    confusion: list[list[int]]  # confusion[true][predicted], rows and columns in `languages` order

    @property
    def total(self) -> int:
        return sum(map(sum, self.confusion))

    @property
    def accuracy(self) -> float:
        return sum(self.confusion[i][i] for i in range(len(self.languages))) / self.total

    def format(self) -> str:
        width = max(6, *(len(str(n)) for row in self.confusion for n in row))
        lines = [f"accuracy {self.accuracy:.4f} ({self.total} sentences)", "",
                 "true \\ predicted " + " ".join(f"{lang:>{width}}" for lang in self.languages)]
        lines += [f"{lang:<16} " + " ".join(f"{n:>{width}}" for n in row)
                  for lang, row in zip(self.languages, self.confusion, strict=True)]
        return "\n".join(lines)


def evaluate(model: LanguageIdentifier, corpus: dict[str, Sequence[str]]) -> Evaluation:
    """Accuracy and confusion matrix on held-out sentences per language; texts predicted None count as
    errors in an UNKNOWN column (present only when some text was)."""
    predictions = {lang: [p or UNKNOWN for p in model.predict(sentences)] for lang, sentences in corpus.items()}
    languages = model.languages + sorted(set(corpus) - set(model.languages))  # unseen true languages get a row
    if any(UNKNOWN in predicted for predicted in predictions.values()) and UNKNOWN not in languages:
        languages.append(UNKNOWN)
    index = {lang: i for i, lang in enumerate(languages)}
    confusion = [[0] * len(languages) for _ in languages]
    for lang, predicted in predictions.items():
        for p in predicted:
            confusion[index[lang]][index[p]] += 1
    return Evaluation(languages, confusion)


def first_words(corpus: dict[str, Sequence[str]], n: int) -> dict[str, list[str]]:
    """Each sentence cut to its first n words: a harder test than whole sentences."""
    return {lang: [" ".join(s.split()[:n]) for s in sentences] for lang, sentences in corpus.items()}


def multi30k_sentences(split: str, data_dir: str | Path | None = None) -> dict[str, list[str]]:
    """Multi30k's sentences per language (en, de, fr; cs too when present) for one split."""
    from seqlab.data import load

    try:
        examples = list(load("multi30k", split, data_dir=data_dir))
    except OSError as err:  # the reader's own errors are SeqlabErrors already
        raise SeqlabError(f"cannot read Multi30k ({split}): {err}") from err
    languages = sorted({lang for example in examples for lang in example.texts})
    return {lang: [text for ex in examples if (text := ex.texts.get(lang, "").strip())] for lang in languages}


def model_path(config: NGramConfig) -> Path:
    """Where the Multi30k model for this config is cached: <cache dir>/langid/multi30k-char1-4-alpha1.json."""
    from seqlab.data.download import cache_dir  # $SEQLAB_CACHE, else ~/.cache/seqlab

    return cache_dir() / "langid" / f"multi30k-char{config.n_min}-{config.n_max}-alpha{config.alpha:g}.json"


def load_or_train(data_dir: str | Path | None = None, *, retrain: bool = False,
                  config: NGramConfig | None = None) -> tuple[LanguageIdentifier, bool]:
    """The cached Multi30k model, trained and cached on first use; returns (model, trained_now)."""
    config = config or NGramConfig()
    path = model_path(config)
    if path.is_file() and not retrain:
        try:
            return LanguageIdentifier.from_json(json.loads(path.read_text(encoding="utf-8"))), False
        except (ValueError, KeyError, TypeError):
            pass  # a cache from an older version or a damaged file: train again and overwrite it
    model = LanguageIdentifier.fit(multi30k_sentences("train", data_dir), config)
    write_json(path, model.to_json())
    return model, True


def describe(model: LanguageIdentifier, text: str) -> str:
    """One line: the language, then every language's probability, most probable first; for a text the model
    cannot identify, "unknown (why)", e.g. "unknown (no known character n-grams)"."""
    if reason := model.unknown_reason(text):
        return f"{UNKNOWN} ({reason})"
    probs = np.exp(model.predict_log_proba([text])[0])
    ranked = sorted(zip(model.languages, probs, strict=True), key=lambda item: -item[1])
    best = ranked[0][0]
    return f"{best} ({LANGUAGE_NAMES.get(best, best)})  " + "  ".join(f"{lang} {_probability(p)}" for lang, p in ranked)


def _probability(p: float) -> str:
    return f"{p:.4f}" if p >= 1e-4 else f"{p:.1e}"  # 3.2e-12 says more than 0.0000

