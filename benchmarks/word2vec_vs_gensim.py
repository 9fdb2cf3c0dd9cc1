"""Our word2vec vs gensim's on the same corpus in memory, the same settings and the same number of threads.

Corpus: WikiText-2 train + IMDB train (the ``word2vec_sg`` recipe's: lower-cased, seqlab's word tokenizer, IMDB
markup removed), held as lists of words; both build their vocabulary from it (min_count 5) and train skip-gram
with negative sampling: 100 dimensions, window 5, 5 negatives, subsampling 1e-3, learning rate 0.025 -> 0.0001,
5 epochs, 2 threads. Speed is corpus words x epochs / training seconds (the vocabulary pass excluded on both
sides; ours after loading its compiled loop, a one-off second per process), best of the rounds, interleaved (ours,
gensim, ours, ...). Accuracy: both vector sets are scored by the same code (``seqlab.text.vectors``): Google
analogies 3CosAdd / 3CosMul over the 30,000 most frequent words, WordSim-353 and SimLex-999 Spearman; the best
round's vectors of each side are scored.

Before any of it, the check: our analogy accuracy of gensim's vectors = gensim's ``evaluate_word_analogies``
(restrict_vocab 30,000), and our Spearman = gensim's ``evaluate_word_pairs``; so the two columns are judged alike.
"""

from __future__ import annotations

import time

import numpy as np
from common import DATA_DIR, check

SETTINGS = {"dim": 100, "window": 5, "negative": 5, "min_count": 5, "sample": 1e-3, "alpha": 0.025,
            "min_alpha": 0.0001, "threads": 2}


def corpus(quick: bool) -> list[list[str]]:
    from seqlab.tasks.config import Word2VecData
    from seqlab.tasks.word2vec import read_sentences

    data = Word2VecData(datasets=["wikitext-2"] if quick else ["wikitext-2", "imdb"])
    sentences = list(read_sentences(data, DATA_DIR))
    return sentences[:3000] if quick else sentences


def train_ours(sentences: list[list[str]], epochs: int):
    from seqlab.models.word2vec import Vocabulary, Word2Vec, Word2VecConfig

    cfg = Word2VecConfig(arch="skipgram", output="negative", epochs=epochs, **SETTINGS)
    vocab = Vocabulary.build(sentences, min_count=cfg.min_count)
    encoded = vocab.encode(sentences)
    model = Word2Vec(vocab, cfg)
    started = time.perf_counter()
    model.fit(encoded)
    return time.perf_counter() - started, model.vectors()


def train_gensim(sentences: list[list[str]], epochs: int):
    from gensim.models import Word2Vec as GensimWord2Vec

    from seqlab.text.vectors import WordVectors

    s = SETTINGS
    model = GensimWord2Vec(vector_size=s["dim"], window=s["window"], negative=s["negative"], hs=0, sg=1,
                           min_count=s["min_count"], sample=s["sample"], alpha=s["alpha"], min_alpha=s["min_alpha"],
                           workers=s["threads"], seed=1)
    model.build_vocab(sentences)
    started = time.perf_counter()
    model.train(sentences, total_examples=len(sentences), epochs=epochs)
    seconds = time.perf_counter() - started
    return seconds, WordVectors(list(model.wv.index_to_key), model.wv.vectors), model.wv


def check_evaluation(wv, vectors) -> None:
    """Our evaluation of gensim's vectors = gensim's own."""
    from seqlab.data import load
    from seqlab.text.vectors import evaluate_analogies, evaluate_pairs

    path = DATA_DIR / "word-similarity"
    theirs, _ = wv.evaluate_word_analogies(str(path / "questions-words.txt"), restrict_vocab=30000)
    ours = evaluate_analogies(vectors, load("google-analogy", "test", data_dir=DATA_DIR), restrict=30000)
    check(abs(ours["accuracy"] - theirs) < 2e-3, f"analogy accuracy: ours {ours['accuracy']:.4f}, gensim {theirs:.4f}")
    (_, _), (rho, _), _ = wv.evaluate_word_pairs(str(path / "wordsim353.tsv"))
    ours = evaluate_pairs(vectors, load("wordsim353", "test", data_dir=DATA_DIR))["spearman"]
    check(abs(ours - rho) < 1e-6, f"WordSim-353 Spearman: ours {ours:.6f}, gensim {rho:.6f}")


def scores(vectors) -> dict:
    from seqlab.data import load
    from seqlab.text.vectors import evaluate_analogies, evaluate_pairs

    questions = load("google-analogy", "test", data_dir=DATA_DIR)
    out = {f"analogy 3Cos{m.capitalize()}": evaluate_analogies(vectors, questions, method=m)["accuracy"]
           for m in ("add", "mul")}
    for name in ("wordsim353", "simlex999"):
        out[f"{name} Spearman"] = evaluate_pairs(vectors, load(name, "test", data_dir=DATA_DIR))["spearman"]
    return out


def run(quick: bool = False, force_bf16: bool = False) -> list[dict]:
    epochs, rounds = (1, 1) if quick else (5, 3)
    sentences = corpus(quick)
    n_words = sum(map(len, sentences))
    best = {"ours": (np.inf, None), "gensim": (np.inf, None)}
    train_ours(sentences[:200], 1)  # load the compiled loop (numba's on-disk cache): once per process, ~1 s
    for _ in range(rounds):
        seconds, vectors = train_ours(sentences, epochs)
        best["ours"] = min(best["ours"], (seconds, vectors), key=lambda x: x[0])
        seconds, vectors, wv = train_gensim(sentences, epochs)
        if best["gensim"][1] is None:
            check_evaluation(wv, vectors)
        best["gensim"] = min(best["gensim"], (seconds, vectors), key=lambda x: x[0])
    setup = (f"{n_words:,} words x {epochs} epochs, skip-gram, negative 5, 100 dims, window 5, min_count 5, "
             f"2 threads, best of {rounds}")
    rate = {side: n_words * epochs / seconds for side, (seconds, _) in best.items()}
    corpus_name = "WikiText-2 train, 3,000 lines" if quick else "WikiText-2 + IMDB train"
    rows = [{"benchmark": "word2vec", "what": f"training words/s, {corpus_name} (vs gensim 4)",
             "precision": "fp32", "ours": rate["ours"], "reference": rate["gensim"],
             "ratio": rate["ours"] / rate["gensim"], "setup": setup}]
    quality = {side: scores(vectors) for side, (_, vectors) in best.items()}
    for name in quality["ours"]:
        ours, ref = quality["ours"][name], quality["gensim"][name]
        rows.append({"benchmark": "word2vec", "what": name, "precision": "fp32", "ours_score": ours,
                     "reference_score": ref, "note": f"ours {ours:.4f}  gensim {ref:.4f}  ({setup})"})
    return rows
