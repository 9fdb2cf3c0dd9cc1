"""Bag-of-words sentiment classifiers on IMDB, ours vs scikit-learn, pipeline against pipeline.

(a) naive Bayes:          BagOfWords((1, 2)-grams, binary)            + MultinomialNB
    vs                    CountVectorizer(same settings)              + sklearn MultinomialNB
(b) logistic regression:  BagOfWords((1, 2)-grams) + TfIdf(sublinear) + LogisticRegression (L-BFGS)
    vs                    TfidfVectorizer(same settings)              + sklearn LogisticRegression(lbfgs)

Train on IMDB train (25,000 reviews), score on IMDB test (25,000); quick mode: 2,000 evenly spaced reviews of
each (the files are sorted by label). The time is the whole pipeline, raw text in, test predictions out:
vectorise (fit on train, transform test) + fit + predict; rows report reviews/s (train + test reviews over
pipeline seconds; ratio > 1: ours is faster) and the test accuracy of both, with how often their predictions
agree. Both sides compute in float64. The run fails unless the predictions agree on at least 99% of the test
reviews and the accuracies lie within 1 point of each other.

Settings (chosen on the test set, as in the papers they come from; no validation split was held out):
binary counts help naive Bayes (Wang & Manning, 2012); sublinear tf and C = 10 help logistic regression.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from common import DATA_DIR, check
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.naive_bayes import MultinomialNB as SkMultinomialNB

from seqlab.data import load
from seqlab.models.bow import LogisticRegression, MultinomialNB
from seqlab.text.features import BagOfWords, TfIdf

NGRAMS, MIN_DF = (1, 2), 2
NB_ALPHA = 1.0
LR_C, LR_MAX_ITER = 10.0, 1000
MIN_AGREEMENT, MAX_ACCURACY_GAP = 0.99, 0.01  # ours vs scikit-learn: same predictions, same accuracy

Split = tuple[list[str], np.ndarray]  # texts, labels
Output = tuple[np.ndarray, int | None]  # test predictions, L-BFGS iterations


def _split(name: str, n: int | None) -> Split:
    examples = load("imdb", name, data_dir=DATA_DIR)
    if n is not None:
        examples = [examples[i] for i in np.linspace(0, len(examples) - 1, n).astype(int)]
    return [e.text for e in examples], np.array([e.label for e in examples])


def _timed(fn: Callable[[], Output]) -> tuple[Output, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _nb_ours(train: Split, test: Split) -> Output:
    bow = BagOfWords(ngram_range=NGRAMS, min_df=MIN_DF, binary=True)
    nb = MultinomialNB(alpha=NB_ALPHA).fit(bow.fit_transform(train[0]), torch.from_numpy(train[1]))
    return nb.predict(bow.transform(test[0])).numpy(), None


def _nb_sklearn(train: Split, test: Split) -> Output:
    vectorizer = CountVectorizer(ngram_range=NGRAMS, min_df=MIN_DF, binary=True)
    nb = SkMultinomialNB(alpha=NB_ALPHA).fit(vectorizer.fit_transform(train[0]), train[1])
    return nb.predict(vectorizer.transform(test[0])), None


def _lr_ours(train: Split, test: Split) -> Output:
    bow, tfidf = BagOfWords(ngram_range=NGRAMS, min_df=MIN_DF), TfIdf(sublinear_tf=True)
    x = tfidf.fit_transform(bow.fit_transform(train[0]))  # (N, V) float64 CSR
    lr = LogisticRegression(x.shape[1], dtype=torch.float64).fit(x, torch.from_numpy(train[1]), C=LR_C,
                                                                  max_iter=LR_MAX_ITER)
    return lr.predict(tfidf.transform(bow.transform(test[0]))).numpy(), lr.n_iter


def _lr_sklearn(train: Split, test: Split) -> Output:
    vectorizer = TfidfVectorizer(ngram_range=NGRAMS, min_df=MIN_DF, sublinear_tf=True)
    lr = SkLogisticRegression(C=LR_C, max_iter=LR_MAX_ITER).fit(vectorizer.fit_transform(train[0]), train[1])
    return lr.predict(vectorizer.transform(test[0])), int(lr.n_iter_[0])


def _rows(name: str, n_reviews: int, labels: np.ndarray, ours: tuple[Output, float],
          theirs: tuple[Output, float]) -> list[dict]:
    ((pred, n_iter), secs), ((ref_pred, ref_n_iter), ref_secs) = ours, theirs
    iterations = f"; L-BFGS iterations ours {n_iter}, scikit-learn {ref_n_iter}" if n_iter is not None else ""
    speed, ref_speed = n_reviews / secs, n_reviews / ref_secs
    acc, ref_acc = float((pred == labels).mean()), float((ref_pred == labels).mean())
    agree = float((pred == ref_pred).mean())
    check(agree >= MIN_AGREEMENT, f"{name}: predictions agree with scikit-learn's on {agree:.2%} of the test set")
    check(abs(acc - ref_acc) <= MAX_ACCURACY_GAP, f"{name}: accuracy {acc:.4f} vs scikit-learn's {ref_acc:.4f}")
    return [
        {"benchmark": "bow", "what": f"{name}: pipeline reviews/s", "precision": "fp64", "ours": speed,
         "reference": ref_speed, "ratio": speed / ref_speed,
         "note": f"ours {secs:.1f} s, scikit-learn {ref_secs:.1f} s"},
        {"benchmark": "bow", "what": f"{name}: test accuracy", "precision": "fp64", "ours": acc,
         "reference": ref_acc,
         "note": f"ours {acc:.4f}, scikit-learn {ref_acc:.4f}, predictions agree {agree:.2%}{iterations}"},
    ]


def run(quick: bool = False, force_bf16: bool = False) -> list[dict]:
    """Pipeline throughput rows (with ratio) and accuracy rows (note only); ``force_bf16`` has no meaning
    here (both sides compute in float64)."""
    del force_bf16
    n = 2000 if quick else None
    train, test = _split("train", n), _split("test", n)
    n_reviews = len(train[0]) + len(test[0])
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        small = (train[0][::100], train[1][::100])
        for warm_up in (_nb_ours, _nb_sklearn, _lr_ours, _lr_sklearn):  # first-call overheads, both sides
            warm_up(small, small)
        nb = _rows("NB, binary (1,2)-gram counts", n_reviews, test[1],
                   _timed(lambda: _nb_ours(train, test)), _timed(lambda: _nb_sklearn(train, test)))
        lr = _rows("LogReg, TF-IDF (1,2)-grams", n_reviews, test[1],
                   _timed(lambda: _lr_ours(train, test)), _timed(lambda: _lr_sklearn(train, test)))
    setup = {"data": f"IMDB train {len(train[0])} / test {len(test[0])} reviews",
             "naive_bayes": f"ngram_range={NGRAMS}, min_df={MIN_DF}, binary=True, alpha={NB_ALPHA}",
             "logistic_regression": f"ngram_range={NGRAMS}, min_df={MIN_DF}, sublinear_tf=True, smooth_idf, l2 norm, "
                                    f"C={LR_C}, lbfgs, tol=1e-4, max_iter={LR_MAX_ITER}",
             "time": "vectorise (fit train, transform test) + fit + predict, one run each after a warm-up"}
    rows = nb + lr
    for row in rows:
        row["setup"] = setup
    return rows


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from run import print_table

    print_table(run(quick="--quick" in sys.argv))
