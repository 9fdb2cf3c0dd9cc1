"""word2vec (Mikolov et al. 2013): skip-gram and CBOW with a full softmax, negative sampling or a hierarchical
softmax, trained as word2vec.c and gensim train it.

Each word w has an input vector v_w (the row of ``input`` that becomes its word vector) and an output vector u_w.
Skip-gram scores a context word o of a centre word c by u_o . v_c; CBOW scores the centre word by u_c . h, with h
the mean of the context's input vectors. The three outputs (the lecture's equations, ``Word2Vec.loss``):

    softmax       -log p(o|c) = -u_o . h + log sum_w exp(u_w . h)               (every word's u: small vocabularies)
    negative      -log s(u_o . h) - sum_{k=1..K} log s(-u_k . h),  k ~ unigram(w) ** 0.75
    hierarchical  -sum_j log s(+-u_{n_j} . h) along the Huffman-tree path of o, one u per inner node n_j

Training practice of the paper: frequent words subsampled (kept with probability (sqrt(f/t) + 1) t / f, f the
word's share of the corpus), a window of 1..window drawn for each centre word (nearer words count more), the
learning rate falling linearly to min_alpha over the run, words rarer than min_count dropped.

    model = Word2Vec.from_sentences(sentences, Word2VecConfig(arch="skipgram", output="negative"))
    model.vectors().most_similar("king")                   # model.history: loss and words/s per epoch

    vocab = Vocabulary.build(sentences, min_count=5)       # the same in steps
    model = Word2Vec(vocab, Word2VecConfig())
    history = model.fit(vocab.encode(sentences), progress=True)

``fit`` runs the compiled loop of ``seqlab.models.word2vec_kernels`` in ``threads`` lock-free workers; it updates
the two embedding tables in place, one (input, target) example at a time, as SGD on ``loss``.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.models.config import Word2VecConfig
from seqlab.text.vectors import WordVectors

__all__ = ["Corpus", "Huffman", "Vocabulary", "Word2Vec", "Word2VecConfig", "context_pairs"]

MAX_SENTENCE = 10_000  # longer sentences are cut into pieces of this many words (word2vec.c's MAX_SENTENCE_LENGTH)
JOB_WORDS = 10_000  # words per job handed to a worker


def context_pairs(tokens: Sequence[str], window: int) -> list[tuple[str, str]]:
    """The (centre, context) pairs of skip-gram with a fixed window (the lectures' worked example)."""
    return [(tokens[i], tokens[j]) for i in range(len(tokens))
            for j in range(max(0, i - window), min(len(tokens), i + window + 1)) if j != i]


@dataclass
class Corpus:
    """A corpus as word ids: sentence s is tokens[bounds[s]:bounds[s + 1]] (unknown words already dropped)."""

    tokens: np.ndarray  # (N,) int32
    bounds: np.ndarray  # (S + 1,) int64

    def __len__(self) -> int:
        return int(self.tokens.shape[0])

    def jobs(self, words: int = JOB_WORDS) -> list[tuple[int, int]]:
        """Runs of whole sentences of about ``words`` words: (first sentence, end sentence)."""
        cuts = np.searchsorted(self.bounds, np.arange(0, len(self) + words, words), side="left")
        cuts = np.unique(np.clip(cuts, 0, len(self.bounds) - 1))
        return [(int(a), int(b)) for a, b in itertools.pairwise(cuts) if b > a]


class Vocabulary:
    """Words by falling count (ties in order of first appearance), as word2vec.c and gensim sort them."""

    def __init__(self, words: list[str], counts: Sequence[int]):
        self.words, self.counts = list(words), np.asarray(counts, dtype=np.int64)
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], *, min_count: int = 5, max_vocab: int | None = None
              ) -> Vocabulary:
        counts: Counter[str] = Counter()
        for sentence in sentences:
            counts.update(sentence)
        if not counts:
            raise SeqlabError("the corpus is empty: no words to learn vectors for")
        kept = [(w, c) for w, c in counts.most_common() if c >= min_count][:max_vocab]
        if len(kept) < 2:
            top = counts.most_common(1)[0]
            raise SeqlabError(f"{'no word' if not kept else 'only one word'} of the corpus occurs min_count = "
                              f"{min_count} times (the most frequent, {top[0]!r}, occurs {top[1]}): lower min_count "
                              "or give more text")
        return cls([w for w, _ in kept], [c for _, c in kept])

    def encode(self, sentences: Iterable[Sequence[str]]) -> Corpus:
        """Sentences -> a Corpus of ids; words outside the vocabulary are dropped, as in word2vec.c."""
        ids, bounds = [], [0]
        for sentence in sentences:
            known = [self.index[w] for w in sentence if w in self.index]
            for start in range(0, len(known), MAX_SENTENCE):
                ids.extend(known[start : start + MAX_SENTENCE])
                bounds.append(len(ids))
        return Corpus(np.asarray(ids, dtype=np.int32), np.asarray(bounds, dtype=np.int64))

    def to_dict(self) -> dict:
        return {"type": "word2vec", "words": self.words, "counts": self.counts.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> Vocabulary:
        return cls(data["words"], data["counts"])


@dataclass
class Huffman:
    """The Huffman tree of the word counts (word2vec.c's CreateBinaryTree): frequent words get short codes.
    codes[w, :lengths[w]] are w's bits from the root, points[w, :lengths[w]] the inner nodes on its path (0..V-2)."""

    codes: np.ndarray  # (V, L) float32, 0 or 1
    points: np.ndarray  # (V, L) int32
    lengths: np.ndarray  # (V,) int32

    @classmethod
    def build(cls, counts: Sequence[int]) -> Huffman:
        n = len(counts)
        heap = [(int(c), i) for i, c in enumerate(counts)]
        heapq.heapify(heap)
        parent, bit = np.zeros(2 * n - 1, np.int64), np.zeros(2 * n - 1, np.int8)
        for node in range(n, 2 * n - 1):  # merge the two rarest; inner node ids n..2n-2
            (c1, a), (c2, b) = heapq.heappop(heap), heapq.heappop(heap)
            parent[a], parent[b], bit[b] = node, node, 1
            heapq.heappush(heap, (c1 + c2, node))
        paths = []
        for w in range(n):
            bits, nodes, at = [], [], w
            while at != 2 * n - 2:
                bits.append(bit[at])
                at = parent[at]
                nodes.append(at - n)
            paths.append((bits[::-1], nodes[::-1]))
        depth = max(len(b) for b, _ in paths)
        codes, points = np.zeros((n, depth), np.float32), np.zeros((n, depth), np.int32)
        for w, (bits, nodes) in enumerate(paths):
            codes[w, : len(bits)], points[w, : len(nodes)] = bits, nodes
        return cls(codes, points, np.array([len(b) for b, _ in paths], np.int32))


def keep_probabilities(counts: np.ndarray, sample: float) -> np.ndarray:
    """word2vec.c's subsampling: a word of count c in a corpus of T words is kept with probability
    (sqrt(c / (t T)) + 1) t T / c, at most 1; ``sample`` = 0 keeps every word."""
    if sample <= 0:
        return np.ones(len(counts), np.float32)
    threshold = sample * counts.sum()
    return np.minimum((np.sqrt(counts / threshold) + 1) * threshold / counts, 1.0).astype(np.float32)


def noise_distribution(counts: np.ndarray, exponent: float = 0.75) -> tuple[np.ndarray, np.ndarray]:
    """Negative sampling's noise distribution, counts ** exponent normalised, as Walker's alias tables (Vose's
    construction): column k keeps itself with probability prob[k], else gives alias[k]; each word's total is its
    share exactly."""
    weights = counts.astype(np.float64) ** exponent
    scaled = weights * len(weights) / weights.sum()  # mean 1
    prob, alias = np.ones(len(weights)), np.arange(len(weights))
    small = [i for i, x in enumerate(scaled) if x < 1]
    large = [i for i, x in enumerate(scaled) if x >= 1]
    while small and large:
        low, high = small.pop(), large.pop()
        prob[low], alias[low] = scaled[low], high
        scaled[high] -= 1 - scaled[low]
        (small if scaled[high] < 1 else large).append(high)
    return prob.astype(np.float32), alias.astype(np.int32)


class Word2Vec(nn.Module):
    """Input and output embedding tables of a vocabulary; ``loss`` is the model's loss in autograd, ``fit`` trains
    it fast on a corpus."""

    def __init__(self, vocab: Vocabulary, config: Word2VecConfig | None = None):
        super().__init__()
        self.config = config = config or Word2VecConfig()
        self.vocab = vocab
        n, dim = len(vocab), config.dim
        generator = torch.Generator().manual_seed(config.seed)
        self.input = nn.Embedding(n, dim)  # v_w: the word vectors
        with torch.no_grad():
            self.input.weight.uniform_(-0.5 / dim, 0.5 / dim, generator=generator)
        self.output = nn.Embedding(n - 1 if config.output == "hierarchical" else n, dim)  # u_w (inner nodes for HS)
        nn.init.zeros_(self.output.weight)
        self.huffman = Huffman.build(vocab.counts) if config.output == "hierarchical" else None

    @classmethod
    def from_sentences(cls, sentences: Iterable[Sequence[str]], config: Word2VecConfig | None = None, *,
                       progress: bool = False) -> Word2Vec:
        """Build the vocabulary of ``sentences`` (lists of words), train on them and return the model, as
        gensim's ``Word2Vec(sentences)`` does: ``Word2Vec.from_sentences(s).vectors().most_similar("king")``."""
        config = config or Word2VecConfig()
        sentences = sentences if isinstance(sentences, list) else list(sentences)
        vocab = Vocabulary.build(sentences, min_count=config.min_count, max_vocab=config.max_vocab)
        model = cls(vocab, config)
        model.history = model.fit(vocab.encode(sentences), progress=progress)
        return model

    # ---- the model's equations ----------------------------------------------------------------------------------

    def hidden(self, inputs: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """h: v_c for skip-gram (inputs (B,)), the mean of the context's v for CBOW (inputs (B, C), mask (B, C))."""
        if inputs.dim() == 1:
            return self.input(inputs)  # (B, D)
        mask = torch.ones_like(inputs, dtype=torch.bool) if mask is None else mask
        vectors = self.input(inputs) * mask.unsqueeze(-1)  # (B, C, D)
        return vectors.sum(1) / mask.sum(1, keepdim=True)

    def loss(self, h: torch.Tensor, target: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """The per-example loss (B,) of predicting ``target`` (B,) from ``h`` (B, D); ``noise`` (B, K) are the
        negative samples (negative sampling only)."""
        kind = self.config.output
        if kind == "softmax":
            return F.cross_entropy(h @ self.output.weight.T, target, reduction="none")
        if kind == "negative":
            if noise is None:
                raise ValueError("negative sampling needs the noise words")
            positive = F.logsigmoid((self.output(target) * h).sum(-1))  # (B,)
            negative = F.logsigmoid(-(self.output(noise) @ h.unsqueeze(-1)).squeeze(-1))  # (B, K)
            return -positive - negative.sum(-1)
        codes = torch.from_numpy(self.huffman.codes)[target]  # (B, L)
        points = torch.from_numpy(self.huffman.points)[target].long()
        on_path = torch.arange(codes.shape[1]) < torch.from_numpy(self.huffman.lengths)[target].unsqueeze(1)
        scores = (self.output(points) @ h.unsqueeze(-1)).squeeze(-1)  # (B, L)
        return -(F.logsigmoid((1 - 2 * codes) * scores) * on_path).sum(-1)

    def vectors(self) -> WordVectors:
        return WordVectors(self.vocab.words, self.input.weight.detach().numpy().copy())

    # ---- training -----------------------------------------------------------------------------------------------

    def fit(self, corpus: Corpus, *, epochs: int | None = None, start_epoch: int = 0,
            on_epoch: Callable[[dict], None] | None = None, progress: bool = False) -> list[dict]:
        """Train on ``corpus`` (epochs start_epoch..epochs-1 of the run's learning-rate schedule); returns one dict
        per epoch: mean loss per example, words/s, the learning rate at the epoch's end. ``on_epoch`` is called
        after each (to save a checkpoint)."""
        from tqdm.auto import tqdm

        from seqlab.models import word2vec_kernels as k

        cfg = self.config
        epochs = epochs or cfg.epochs
        if len(corpus) == 0:
            raise SeqlabError("the corpus holds no word of the vocabulary")
        arrays = self._kernel_arrays(k)
        jobs, total = corpus.jobs(), len(corpus) * epochs
        history = []
        with ThreadPoolExecutor(cfg.threads) as pool:
            for epoch in range(start_epoch, epochs):
                started = time.perf_counter()
                bar = tqdm(total=len(corpus), desc=f"epoch {epoch + 1}/{epochs}", unit="word", unit_scale=True,
                           disable=not progress, leave=False)
                futures = [pool.submit(self._job, k, arrays, corpus, first, end, epoch * len(corpus), total,
                                       epoch * len(jobs) + j) for j, (first, end) in enumerate(jobs)]
                loss = examples = kept = 0
                for future in futures:
                    job_loss, job_examples, job_kept, words = future.result()
                    loss, examples, kept = loss + job_loss, examples + job_examples, kept + job_kept
                    bar.update(words)
                bar.close()
                seconds = time.perf_counter() - started
                history.append({"epoch": epoch + 1, "loss": loss / max(examples, 1), "examples": examples,
                                "words_kept": kept, "words_per_second": len(corpus) / seconds,
                                "seconds": round(seconds, 2), "lr": self._alpha((epoch + 1) / epochs)})
                if on_epoch is not None:
                    on_epoch(history[-1])
        return history

    def _alpha(self, progress: float) -> float:
        return self.config.alpha - (self.config.alpha - self.config.min_alpha) * progress

    def _kernel_arrays(self, k) -> dict:
        cfg, counts = self.config, self.vocab.counts
        huffman = self.huffman or Huffman(np.zeros((1, 1), np.float32), np.zeros((1, 1), np.int32),
                                          np.zeros(1, np.int32))
        sig, logsig = k.sigmoid_tables()
        noise = noise_distribution(counts, cfg.ns_exponent)
        return {"w_in": self.input.weight.data.numpy(), "w_out": self.output.weight.data.numpy(),
                "keep": keep_probabilities(counts, cfg.sample), "noise_prob": noise[0], "noise_alias": noise[1],
                "codes": huffman.codes, "points": huffman.points, "code_lens": huffman.lengths, "sig": sig,
                "logsig": logsig, "arch": k.SKIPGRAM if cfg.arch == "skipgram" else k.CBOW,
                "out_kind": {"negative": k.NEGATIVE, "hierarchical": k.HIERARCHICAL, "softmax": k.SOFTMAX}[cfg.output],
                "window": cfg.window, "negative": cfg.negative}

    def _job(self, k, arrays: dict, corpus: Corpus, first: int, end: int, offset: int, total: int, job: int):
        bounds = corpus.bounds[first : end + 1]
        words = int(bounds[-1] - bounds[0])
        alpha_start = self._alpha((offset + bounds[0]) / total)
        alpha_end = self._alpha((offset + bounds[-1]) / total)
        seed = (self.config.seed * 1_000_003 + job * 7919) % 2**63
        loss, examples, kept = k.train_job(corpus.tokens, bounds, alpha_start=alpha_start, alpha_end=alpha_end,
                                           seed=seed, **arrays)
        return loss, examples, kept, words
