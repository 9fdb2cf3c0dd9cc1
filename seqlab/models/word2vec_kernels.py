"""The word2vec training loop compiled by numba: one job (a run of sentences) per call, lock-free (Hogwild).

The Python side (``seqlab.models.word2vec``) prepares the arrays and hands jobs to worker threads; the kernels
release the GIL, so two threads update the same tables at once, as word2vec.c and gensim do. The tables are the
PyTorch parameters themselves (``tensor.numpy()`` shares their memory).

Per job: subsample the words, draw each centre word's window, and for every (input, target) example take one SGD
step on the binary logistic losses of its output (negative sampling, hierarchical softmax) or on the full
softmax. ``seqlab.models.word2vec.Word2Vec.loss`` is the same loss written with autograd; the tests check that
one step here equals one step there.

The sigmoid and log-sigmoid are read from tables over [-MAX_EXP, MAX_EXP] (word2vec.c's EXP_TABLE); beyond it
the sigmoid is taken as 0 or 1.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

MAX_EXP = 6.0
TABLE_SIZE = 1000
SKIPGRAM, CBOW = 0, 1
NEGATIVE, HIERARCHICAL, SOFTMAX = 0, 1, 2
_MULTIPLIER, _INCREMENT = np.uint64(25214903917), np.uint64(11)  # word2vec.c's linear congruential generator


def sigmoid_tables() -> tuple[np.ndarray, np.ndarray]:
    x = (np.arange(TABLE_SIZE, dtype=np.float64) / TABLE_SIZE * 2 - 1) * MAX_EXP
    return (1 / (1 + np.exp(-x))).astype(np.float32), (-np.log1p(np.exp(-x))).astype(np.float32)


@njit(inline="always", fastmath=True)
def _next(state: np.uint64) -> np.uint64:
    return state * _MULTIPLIER + _INCREMENT


@njit(inline="always", fastmath=True)
def _uniform(state: np.uint64) -> float:
    return float((state >> np.uint64(16)) & np.uint64(0xFFFFFFFF)) / 4294967296.0


@njit(inline="always", fastmath=True)
def _logistic_step(h, row, label, alpha, w_out, err, sig, logsig, clip_is_skip):
    """One binary logistic target: score f = u_row . h, gradient g = alpha (label - sigmoid(f)); u_row moves by
    g h, and g u_row is added to the input's error. Returns -log p(label)."""
    u = w_out[row]
    f = np.float32(0.0)
    for d in range(h.shape[0]):
        f += h[d] * u[d]
    sign = 1.0 if label > 0.5 else -1.0
    if f >= MAX_EXP or f <= -MAX_EXP:
        if clip_is_skip:  # hierarchical softmax: word2vec.c skips saturated nodes
            return 0.0
        p = 1.0 if f > 0 else 0.0
        loss = -min(sign * f, 0.0)
    else:
        p = sig[int((f + MAX_EXP) * (TABLE_SIZE / MAX_EXP / 2))]
        loss = -logsig[int((sign * f + MAX_EXP) * (TABLE_SIZE / MAX_EXP / 2))]
    g = np.float32((label - p) * alpha)
    if g != 0.0:
        _axpy2(g, u, h, err)
    return loss


@njit(inline="always", fastmath=True)
def _axpy2(g, u, h, err):
    """err += g u; u += g h (one pass over u)."""
    for d in range(h.shape[0]):
        err[d] += g * u[d]
        u[d] += g * h[d]


@njit(inline="always", fastmath=True)
def _softmax_step(h, target, alpha, w_out, err, scores):
    """The full softmax p(o|c) = exp(u_o . h) / sum_w exp(u_w . h): every output row moves. Returns -log p(o)."""
    vocab, dim = w_out.shape
    top = -1e30
    for w in range(vocab):
        s = 0.0
        for d in range(dim):
            s += h[d] * w_out[w, d]
        scores[w] = s
        top = max(top, s)
    total = 0.0
    for w in range(vocab):
        scores[w] = math.exp(scores[w] - top)
        total += scores[w]
    loss = -math.log(scores[target] / total)
    for w in range(vocab):
        g = ((1.0 if w == target else 0.0) - scores[w] / total) * alpha
        for d in range(dim):
            err[d] += g * w_out[w, d]
            w_out[w, d] += g * h[d]
    return loss


@njit(inline="always", fastmath=True)
def _negative_draw(state, noise_prob, noise_alias):
    """A word drawn from the unigram ** 0.75 distribution in O(1) by Walker's alias method: a uniform column k,
    kept with probability noise_prob[k], else its alias (exact, unlike word2vec.c's 1e8-entry table)."""
    column = int(_uniform(state) * noise_prob.shape[0])
    coin = float((state >> np.uint64(48)) & np.uint64(0xFFFF)) / 65536.0
    return column if coin < noise_prob[column] else noise_alias[column]


@njit(inline="always", fastmath=True)
def _output_step(h, target, alpha, w_out, err, out_kind, negative, noise_prob, noise_alias, codes, points,
                 code_lens, sig, logsig, scores, state):
    """All the output's updates for one (input, target) example; returns (loss, rng state)."""
    loss = 0.0
    if out_kind == NEGATIVE:
        loss += _logistic_step(h, target, 1.0, alpha, w_out, err, sig, logsig, False)
        for _ in range(negative):
            state = _next(state)
            noise = _negative_draw(state, noise_prob, noise_alias)
            if noise != target:
                loss += _logistic_step(h, noise, 0.0, alpha, w_out, err, sig, logsig, False)
    elif out_kind == HIERARCHICAL:
        for k in range(code_lens[target]):  # the path root -> leaf; label 1 - code as in word2vec.c
            loss += _logistic_step(h, points[target, k], 1.0 - codes[target, k], alpha, w_out, err, sig, logsig,
                                   True)
    else:
        loss += _softmax_step(h, target, alpha, w_out, err, scores)
    return loss, state


@njit(nogil=True, cache=True, fastmath=True)
def train_job(tokens, bounds, w_in, w_out, keep, noise_prob, noise_alias, codes, points, code_lens, sig, logsig,
              arch, out_kind, window, negative, alpha_start, alpha_end, seed):
    """Train on the sentences tokens[bounds[s]:bounds[s + 1]]. The learning rate falls linearly from alpha_start
    to alpha_end across the job's words. Returns (summed loss, examples, words kept after subsampling)."""
    dim = w_in.shape[1]
    h = np.empty(dim, np.float32)
    err = np.empty(dim, np.float32)
    scores = np.empty(w_out.shape[0] if out_kind == SOFTMAX else 1, np.float64)
    longest = 0
    for s in range(bounds.shape[0] - 1):
        longest = max(longest, bounds[s + 1] - bounds[s])
    sentence = np.empty(longest, np.int32)
    state = np.uint64(seed)
    n_words = bounds[-1] - bounds[0]
    loss, examples, kept, seen = 0.0, 0, 0, 0
    for s in range(bounds.shape[0] - 1):
        n = 0
        for i in range(bounds[s], bounds[s + 1]):
            word = tokens[i]
            state = _next(state)
            if keep[word] >= 1.0 or _uniform(state) < keep[word]:
                sentence[n] = word
                n += 1
        alpha = alpha_start + (alpha_end - alpha_start) * (seen / max(n_words, 1))
        seen += bounds[s + 1] - bounds[s]
        kept += n
        for i in range(n):
            state = _next(state)
            reach = window - int(state % np.uint64(window))  # the dynamic window: 1..window
            lo, hi = max(0, i - reach), min(n, i + reach + 1)
            if arch == SKIPGRAM:
                for j in range(lo, hi):
                    if j == i:
                        continue
                    # word2vec.c's order: the pair (i, j) trains word j's input vector to predict word i; every
                    # window is symmetric, so these are the same pairs as v_i predicting word j
                    v = w_in[sentence[j]]
                    err[:] = 0.0
                    step, state = _output_step(v, sentence[i], alpha, w_out, err, out_kind, negative, noise_prob,
                                               noise_alias, codes, points, code_lens, sig, logsig, scores, state)
                    loss += step
                    examples += 1
                    for d in range(dim):
                        v[d] += err[d]
            else:
                if hi - lo < 2:
                    continue
                for d in range(dim):
                    h[d] = 0.0
                    err[d] = 0.0
                for j in range(lo, hi):
                    if j != i:
                        for d in range(dim):
                            h[d] += w_in[sentence[j], d]
                inv = np.float32(1.0 / (hi - lo - 1))
                for d in range(dim):
                    h[d] *= inv
                step, state = _output_step(h, sentence[i], alpha, w_out, err, out_kind, negative, noise_prob,
                                           noise_alias, codes, points, code_lens, sig, logsig, scores, state)
                loss += step
                examples += 1
                for j in range(lo, hi):
                    if j != i:
                        for d in range(dim):
                            w_in[sentence[j], d] += err[d]
    return loss, examples, kept
