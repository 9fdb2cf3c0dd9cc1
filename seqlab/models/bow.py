"""Bag-of-words classifiers of the lectures: multinomial naive Bayes, logistic regression and a feed-forward net.

Shapes:
    N documents (B in a mini-batch), V vocabulary size, C classes, K outputs (1 for 2 classes, else C),
    H hidden width.

Data flow:
    texts -> BoWFeatures (BagOfWords counts / binary / TF-IDF) -> features (N, V), sparse CSR or dense
    MultinomialNB:      log P(c) + features @ log P(w|c)^T        -> (N, C)
    LogisticRegression: features @ W + b                          -> logits (N, K), fitted by L-BFGS
    BoWMLP:             features @ W1 + b1 -> [ReLU, Dropout, Linear] x len(hidden_sizes) -> logits (N, K)

Two classes use one logit and a sigmoid (binary cross-entropy), more classes a softmax (cross-entropy);
``predict_proba`` always returns (N, C). Naive Bayes and logistic regression give scikit-learn's numbers
(tests compare them). Binarized multinomial NB (Wang & Manning, 2012: better for sentiment) is naive Bayes on
0/1 features: ``BagOfWords(binary=True)``, or ``BoWFeatures(input="binary")``. The clipping belongs to the
features, so fitting and predicting cannot disagree about it.

The first layer of LogisticRegression and BoWMLP is a ``seqlab.nn.sparse.SparseLinear``: dense or CSR input, the
CSR product with a hand-written backward that touches only the non-zero entries (``bow_matmul``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.models.config import INPUTS, BoWFeaturesConfig, BoWMLPConfig  # noqa: F401  (re-exported)
from seqlab.nn.sparse import SparseLinear, as_features, bow_matmul, csr_rows, csr_transpose
from seqlab.text.features import BagOfWords, TfIdf


def _classification_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean loss: binary cross-entropy on one logit (N, 1), cross-entropy on C logits (N, C)."""
    if logits.shape[1] == 1:
        return F.binary_cross_entropy_with_logits(logits[:, 0], labels.to(logits.dtype))
    return F.cross_entropy(logits, labels.long())


def _log_proba(logits: torch.Tensor) -> torch.Tensor:
    """(N, K) logits -> (N, C) log-probabilities; one logit z means [log(1 - sigmoid z), log sigmoid z]."""
    if logits.shape[1] == 1:
        return torch.cat([F.logsigmoid(-logits), F.logsigmoid(logits)], dim=1)  # (N, 2)
    return torch.log_softmax(logits, dim=1)


# ----------------------------------------------------------------------------------------- naive Bayes


@dataclass
class MultinomialNB:
    """Multinomial naive Bayes (scikit-learn's MultinomialNB, same numbers):

        P(c | d) ∝ P(c) Π_w P(w | c)^{n_w(d)}
        log P(c | d) = log P(c) + Σ_w n_w(d) log P(w | c) - log Z  ->  class_log_prior + X @ feature_log_prob^T

    with P(c) the class frequencies and P(w | c) = (count(w, c) + alpha) / Σ_w' (count(w', c) + alpha)
    (alpha = 1: Laplace smoothing; other values: Lidstone). Fitted in float64.
    """

    alpha: float = 1.0
    classes: torch.Tensor | None = None  # (C,) the labels, sorted
    class_log_prior: torch.Tensor | None = None  # (C,) log P(c)
    feature_log_prob: torch.Tensor | None = None  # (C, V) log P(w | c)

    def fit(self, x: Any, y: Any) -> MultinomialNB:
        """x (N, V) counts (CSR or dense; torch, scipy or numpy), y (N,) integer labels."""
        x = as_features(x, torch.float64)
        self.classes, index = torch.unique(torch.as_tensor(y), return_inverse=True)  # (C,), (N,) in [0, C)
        if len(index) != x.shape[0]:
            raise ValueError(f"{x.shape[0]} documents but {len(index)} labels")
        n_classes = len(self.classes)
        docs_per_class = torch.bincount(index, minlength=n_classes).double()  # (C,)
        self.class_log_prior = docs_per_class.log() - docs_per_class.sum().log()  # (C,) log P(c)
        smoothed = _word_counts_per_class(x, index, n_classes) + self.alpha  # (C, V) count(w, c) + alpha
        self.feature_log_prob = smoothed.log() - smoothed.sum(dim=1, keepdim=True).log()  # (C, V) log P(w|c)
        return self

    def joint_log_likelihood(self, x: Any) -> torch.Tensor:
        """log P(c) + Σ_w n_w log P(w | c): (N, V) -> (N, C), the unnormalised log posterior."""
        if self.feature_log_prob is None:
            raise RuntimeError("MultinomialNB is not fitted")
        x = as_features(x, torch.float64)
        return self.class_log_prior + bow_matmul(x, self.feature_log_prob.T.contiguous())  # (N, C)

    def predict_log_proba(self, x: Any) -> torch.Tensor:
        return torch.log_softmax(self.joint_log_likelihood(x), dim=1)  # (N, C) log P(c | d)

    def predict_proba(self, x: Any) -> torch.Tensor:
        return self.predict_log_proba(x).exp()  # (N, C)

    def predict(self, x: Any) -> torch.Tensor:
        return self.classes[self.joint_log_likelihood(x).argmax(dim=1)]  # (N,)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Plain tensors (safetensors can save them); alpha only matters for fitting."""
        if self.feature_log_prob is None:
            raise RuntimeError("MultinomialNB is not fitted")
        return {"classes": self.classes, "class_log_prior": self.class_log_prior,
                "feature_log_prob": self.feature_log_prob}

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor], alpha: float = 1.0) -> MultinomialNB:
        return cls(alpha=alpha, classes=state["classes"], class_log_prior=state["class_log_prior"],
                   feature_log_prob=state["feature_log_prob"])


def _word_counts_per_class(x: torch.Tensor, index: torch.Tensor, n_classes: int) -> torch.Tensor:
    """count(w, c) = Σ over documents d of class c of n_w(d): (N, V) -> (C, V)."""
    if x.layout != torch.sparse_csr:
        return F.one_hot(index, n_classes).T.to(x.dtype) @ x  # (C, N) @ (N, V)
    row = torch.repeat_interleave(torch.arange(x.shape[0]), x.crow_indices().diff())  # (nnz,) document of entry
    counts = torch.zeros(n_classes, x.shape[1], dtype=x.dtype)
    return counts.index_put_((index[row], x.col_indices()), x.values(), accumulate=True)


# ----------------------------------------------------------------------------------------- logistic regression


class LogisticRegression(nn.Module):
    """Logistic regression on bag-of-words features: one linear layer; a sigmoid for 2 classes, a softmax for
    more (scikit-learn's multinomial). ``fit`` minimises scikit-learn's objective

        C * Σ_n log-loss(x_n, y_n) + ½ ||W||²      (the bias is not penalised)

    (divided by C * N, which moves no minimum) full-batch with L-BFGS and a strong-Wolfe line search, from
    zero weights, as ``sklearn.linear_model.LogisticRegression(C=C, solver="lbfgs")``.
    """

    def __init__(self, n_features: int, n_classes: int = 2, *, dtype: torch.dtype = torch.float32):
        super().__init__()
        if n_classes < 2:
            raise ValueError(f"n_classes must be at least 2, got {n_classes}")
        self.n_classes = n_classes
        self.linear = SparseLinear(n_features, 1 if n_classes == 2 else n_classes, dtype=dtype)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    @property
    def coef(self) -> torch.Tensor:
        """(K, V), scikit-learn's ``coef_`` layout."""
        return self.linear.weight.T

    def forward(self, features: torch.Tensor, features_t: torch.Tensor | None = None) -> torch.Tensor:
        """(N, V) -> logits (N, K); ``features_t``: the CSR features transposed, optional (see bow_matmul)."""
        return self.linear(features, features_t)

    def loss(self, features: torch.Tensor, labels: torch.Tensor,
             features_t: torch.Tensor | None = None) -> torch.Tensor:
        return _classification_loss(self(features, features_t), labels)

    def objective(self, features: torch.Tensor, labels: torch.Tensor, C: float = 1.0,
                  features_t: torch.Tensor | None = None) -> torch.Tensor:
        """Mean log-loss + ||W||² / (2 C N): scikit-learn's objective divided by C * N."""
        penalty = self.linear.weight.pow(2).sum() / (2 * C * features.shape[0])
        return self.loss(features, labels, features_t) + penalty

    def fit(self, x: Any, y: Any, *, C: float = 1.0, max_iter: int = 100, tol: float = 1e-4,
            history_size: int = 10) -> LogisticRegression:
        """Full-batch L-BFGS on (N, V) features (CSR or dense) and labels in [0, n_classes). Stops when every
        gradient entry is below ``tol`` (scikit-learn's ``tol``) or after ``max_iter`` iterations."""
        dtype = self.linear.weight.dtype
        x, y = as_features(x, dtype), torch.as_tensor(y, dtype=torch.long)
        x_t = csr_transpose(x) if x.layout == torch.sparse_csr else None  # (V, N): the gradient's x^T, once
        optimizer = torch.optim.LBFGS(self.parameters(), lr=1, max_iter=max_iter, max_eval=max_iter * 2,
                                      tolerance_grad=tol, tolerance_change=64 * torch.finfo(dtype).eps,
                                      history_size=history_size, line_search_fn="strong_wolfe")

        def closure() -> torch.Tensor:
            optimizer.zero_grad()
            loss = self.objective(x, y, C, x_t)
            loss.backward()
            return loss

        optimizer.step(closure)
        self.n_iter = optimizer.state[self.linear.weight]["n_iter"]  # L-BFGS iterations run
        return self

    @torch.no_grad()
    def predict_log_proba(self, features: Any) -> torch.Tensor:
        return _log_proba(self(as_features(features, self.linear.weight.dtype)))  # (N, C)

    def predict_proba(self, features: Any) -> torch.Tensor:
        return self.predict_log_proba(features).exp()  # (N, C)

    @torch.no_grad()
    def predict(self, features: Any) -> torch.Tensor:
        logits = self(as_features(features, self.linear.weight.dtype))  # (N, K)
        return (logits[:, 0] > 0).long() if logits.shape[1] == 1 else logits.argmax(dim=1)  # (N,)


# ----------------------------------------------------------------------------------------- feed-forward network


class BoWMLP(nn.Module):
    """The feed-forward bag-of-words classifier: Linear-ReLU-Dropout-...-Linear on (B, V) features.

    The first layer is a SparseLinear: its forward and backward touch only the batch's non-zero terms, but
    its (V, H) gradient is a dense tensor and AdamW updates every row, O(V H) memory traffic per step. That
    dominates on large vocabularies (IMDB (1,2)-grams, min_df=2: 439k x 256 = 112 M weights, ~1 s a step on
    CPU): bound V with min_df / max_features, or keep H small.
    """

    def __init__(self, config: BoWMLPConfig):
        super().__init__()
        if config.vocab_size < 1:
            raise ValueError("BoWMLPConfig.vocab_size is 0: set it from the fitted features (BoWFeatures.vocab_size)")
        self.config = config
        widths = [*config.hidden_sizes, config.n_outputs]
        self.input = SparseLinear(config.vocab_size, widths[0])  # (B, V) -> (B, H1)
        layers: list[nn.Module] = []
        for width_in, width_out in itertools.pairwise(widths):
            layers += [nn.ReLU(), nn.Dropout(config.dropout), nn.Linear(width_in, width_out)]
        self.layers = nn.Sequential(*layers)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(B, V) dense or sparse CSR -> logits (B, K)."""
        return self.layers(self.input(features))

    def loss(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Mean BCE-with-logits (2 classes) or cross-entropy: the Trainer calls it with a batch dict."""
        return _classification_loss(self(features), labels)

    @torch.no_grad()
    def predict_proba(self, features: torch.Tensor) -> torch.Tensor:
        return _log_proba(self(features)).exp()  # (B, C); for 2 classes [1 - p, p]

    @torch.no_grad()
    def predict(self, features: torch.Tensor) -> torch.Tensor:
        return self.predict_proba(features).argmax(dim=1)  # (B,)


# ----------------------------------------------------------------------------------------- features and batches


@dataclass
class BoWFeatures(BoWFeaturesConfig):
    """Texts -> the (N, V) float32 sparse CSR features a BoW model reads: counts, 0/1 or TF-IDF.

    The init fields are its config (``BoWFeaturesConfig``, a recipe's ``features`` section); ``fit_transform``
    learns the terms (and idf), which ``to_dict``/``from_dict`` save as JSON beside the model."""

    bow: BagOfWords = field(init=False, repr=False)
    tfidf: TfIdf | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.bow = BagOfWords(lowercase=self.lowercase, ngram_range=self.ngram_range, min_df=self.min_df,
                              max_features=self.max_features, binary=self.input == "binary")
        self.tfidf = TfIdf(sublinear_tf=self.sublinear_tf) if self.input == "tfidf" else None

    @classmethod
    def from_config(cls, config: BoWFeaturesConfig) -> BoWFeatures:
        return cls(**{f.name: getattr(config, f.name) for f in fields(BoWFeaturesConfig)})

    @property
    def vocab_size(self) -> int:
        return len(self.bow.vocabulary)

    def fit_transform(self, texts: Sequence[str]) -> torch.Tensor:
        counts = self.bow.fit_transform(texts)
        return as_features(self.tfidf.fit_transform(counts) if self.tfidf else counts)  # (N, V)

    def transform(self, texts: Sequence[str]) -> torch.Tensor:
        counts = self.bow.transform(texts)
        return as_features(self.tfidf.transform(counts) if self.tfidf else counts)  # (N, V)

    def to_dict(self) -> dict[str, Any]:
        """The settings and what was fitted (terms in column order, idf), for a JSON file."""
        terms = sorted(self.bow.vocabulary, key=self.bow.vocabulary.__getitem__)
        return {"type": "bag_of_words", "input": self.input, "ngram_range": list(self.ngram_range),
                "min_df": self.min_df, "max_features": self.max_features, "lowercase": self.lowercase,
                "sublinear_tf": self.sublinear_tf, "terms": terms,
                "idf": self.tfidf.idf.tolist() if self.tfidf is not None and self.tfidf.idf is not None else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BoWFeatures:
        features = cls(data["input"], tuple(data["ngram_range"]), data["min_df"], data["max_features"],
                       data["lowercase"], data["sublinear_tf"])
        features.bow.vocabulary = {term: i for i, term in enumerate(data["terms"])}
        if features.tfidf is not None:
            features.tfidf.idf = torch.tensor(data["idf"], dtype=torch.float64)
        return features


@dataclass
class SparseBatches:
    """Mini-batches ``{"features": (B, V), "labels": (B,)}`` for the Trainer, re-iterable, reshuffled each
    epoch as a function of the epoch (the Trainer's ``set_epoch``, so resumed runs see the same batches).

    CSR batches cannot be cut by ``tensor_split``: train them with grad_accum_steps=1 on one process, or pass
    ``dense=True`` (a dense (B, V) batch; memory B * V * 4 bytes)."""

    features: torch.Tensor  # (N, V) CSR or dense
    labels: torch.Tensor  # (N,)
    batch_size: int = 64
    shuffle: bool = True
    seed: int = 0
    dense: bool = False
    epoch: int = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return math.ceil(len(self.labels) / self.batch_size)

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        n = len(self.labels)
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(n, generator=generator) if self.shuffle else torch.arange(n)
        for rows in order.split(self.batch_size):
            features = (csr_rows(self.features, rows) if self.features.layout == torch.sparse_csr
                        else self.features[rows])
            yield {"features": features.to_dense() if self.dense else features, "labels": self.labels[rows]}
