"""Language identification: multinomial naive Bayes over character n-grams, written from the equations.

    predict(x) = argmax_c  log P(c) + sum_g count(g, x) * log P(g | c)
    P(c)       = (training sentences of c) / (training sentences)
    P(g | c)   = (count(g, c) + alpha) / (sum_g' count(g', c) + alpha * |V|)      (add-alpha smoothing)

V is the set of n-grams seen in training (any language); n-grams outside V are ignored at prediction time.
A text with no n-gram in V (emoji, another script) has no evidence beyond the prior: ``predict`` returns
None for it rather than the most frequent training language, and ``describe`` says "unknown".
The features are the character 1- to 4-grams of each lower-cased word padded with a space on both sides, so
that " th" (word start) and "en " (word end) are features of their own. Trained on Multi30k's train side
(English, German, French; Czech too where present), the model is cached as JSON in the cache directory
($SEQLAB_CACHE, else ~/.cache/seqlab).
"""

from __future__ import annotations

import json
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
FORMAT = "seqlab.langid/1"  # bump when features or file layout change, so old caches are retrained


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


@dataclass
class LanguageIdentifier:
    """Multinomial naive Bayes; the counts are the model, the log-probabilities are derived from them."""

    config: NGramConfig
    sentence_counts: dict[str, int]  # language -> training sentences, for the prior P(c)
    ngram_counts: dict[str, dict[str, int]]  # language -> n-gram -> count(g, c)
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
        ngram_counts = {}
        for lang, sentences in corpus.items():
            # n-grams never cross words, so count words first and each distinct word's n-grams once:
            # the same counts as going through every sentence, about 20 times faster on Multi30k
            word_counts = Counter(word for sentence in sentences for word in words(sentence))
            counts: Counter[str] = Counter()
            for word, k in word_counts.items():
                for g in word_ngrams(word, config.n_min, config.n_max):
                    counts[g] += k
            ngram_counts[lang] = dict(counts)
        return cls(config, {lang: len(sentences) for lang, sentences in corpus.items()}, ngram_counts)

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

    def predict(self, texts: Sequence[str]) -> list[str | None]:
        """The most probable language of each text, or None for a text with no known n-gram (no evidence:
        the argmax would only repeat the prior)."""
        best = self.joint_log_likelihood(texts).argmax(1)
        return [self.languages[c] if known else None
                for c, known in zip(best, self.known_ngrams(texts), strict=True)]

    def to_json(self) -> dict:
        return {"format": FORMAT, "config": asdict(self.config), "sentence_counts": self.sentence_counts,
                "ngram_counts": self.ngram_counts}

    @classmethod
    def from_json(cls, data: dict) -> LanguageIdentifier:
        if data.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} model: format {data.get('format')!r}")
        return cls(NGramConfig(**data["config"]), data["sentence_counts"], data["ngram_counts"])


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
    """One line: the language, then every language's probability, most probable first; for a text with no
    known n-gram, "unknown (no known character n-grams)"."""
    if not model.known_ngrams([text])[0]:
        return f"{UNKNOWN} (no known character n-grams)"
    probs = np.exp(model.predict_log_proba([text])[0])
    ranked = sorted(zip(model.languages, probs, strict=True), key=lambda item: -item[1])
    best = ranked[0][0]
    return f"{best} ({LANGUAGE_NAMES.get(best, best)})  " + "  ".join(f"{lang} {_probability(p)}" for lang, p in ranked)


def _probability(p: float) -> str:
    return f"{p:.4f}" if p >= 1e-4 else f"{p:.1e}"  # 3.2e-12 says more than 0.0000

