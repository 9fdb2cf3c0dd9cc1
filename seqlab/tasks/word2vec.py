"""word2vec on any text corpus, judged on the standard sets.

    seqlab train configs/word2vec_sg.yaml --data-dir ../shared/data --out runs/word2vec_sg
    seqlab eval runs/word2vec_sg                      # analogies, WordSim-353, SimLex-999, neighbours, bias
    seqlab predict runs/word2vec_sg king "king - man + woman"

The corpus is the train split of seqlab.data text datasets (WikiText-2 lines, IMDB reviews without their markup)
and/or plain text files, lower-cased and split into words. The run writes its vectors in word2vec's binary format
(``vectors.bin``: gensim, word2vec.c and ``pretrained_vectors:`` of the classify and tag recipes read it), both
embedding tables in model.safetensors, and a checkpoint after every epoch (``--resume`` goes on from it).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

from seqlab.errors import SeqlabError
from seqlab.io import write_json
from seqlab.models.word2vec import Vocabulary, Word2Vec
from seqlab.report import ReportParts
from seqlab.tasks.classify import clean
from seqlab.tasks.common import load_split, prepare_run_dir, read_run_json
from seqlab.tasks.config import Word2VecData
from seqlab.tasks.config import Word2VecRunConfig as RunConfig
from seqlab.tasks.rundir import MAX_WEIGHTS_BYTES, run_file
from seqlab.text.encoders import words
from seqlab.text.vectors import (
    WEAT_CAREER_FAMILY,
    WordVectors,
    evaluate_analogies,
    evaluate_pairs,
    gender_projection,
    neighbours,
    weat,
)
from seqlab.training import load_weights, save_weights

VECTORS_FILE = "vectors.bin"


# ---- the corpus --------------------------------------------------------------------------------------------------


def tokenize(text: str, data: Word2VecData) -> list[str]:
    if data.tokenizer == "words":
        return words(text, data.lowercase, clean)  # the classifiers' word tokens, IMDB markup removed
    text = clean(text)
    return (text.lower() if data.lowercase else text).split()


def read_sentences(data: Word2VecData, data_dir: str | Path | None) -> Iterator[list[str]]:
    """The corpus, one list of words per line (a WikiText-2 paragraph, an IMDB review, a line of a file)."""
    from seqlab.data.formats import iter_lines

    for name in data.datasets:
        for example in load_split(name, data.split, data_dir):
            if example.text.strip():
                yield tokenize(example.text, data)
    for file in data.files:
        if not Path(file).is_file():
            raise SeqlabError(f"{file}: no such corpus file")
        for _, line in iter_lines(file):
            if line.strip():
                yield tokenize(line, data)


# ---- training ----------------------------------------------------------------------------------------------------


def train(cfg: RunConfig, out_dir: str | Path, *, progress: bool = True, data_dir: str | Path | None = None,
          resume: bool = False) -> dict:
    started = time.perf_counter()
    sentences = list(read_sentences(cfg.data, data_dir))
    vocab = Vocabulary.build(sentences, min_count=cfg.model.min_count, max_vocab=cfg.model.max_vocab)
    corpus = vocab.encode(sentences)
    del sentences
    out_dir = prepare_run_dir(out_dir, cfg, resume=resume)
    write_json(out_dir / "vocab.json", vocab.to_dict())
    model = Word2Vec(vocab, cfg.model)
    history, checkpoint = [], out_dir / "checkpoints"
    if resume and (checkpoint / "state.json").is_file():
        state = read_run_json(out_dir, "checkpoints/state.json")
        load_weights(model, run_file(out_dir, f"checkpoints/{state['weights']}", max_bytes=MAX_WEIGHTS_BYTES))
        history = state["history"]
    if progress:
        print(f"corpus: {len(corpus):,} words in the vocabulary of {len(vocab):,} (min_count {cfg.model.min_count}),"
              f" {len(corpus.bounds) - 1:,} sentences")

    def save_checkpoint(record: dict) -> None:
        # the epoch's weights first, then the state naming them, then the older weights go: a run killed at any
        # point resumes from a matching pair
        history.append(record)
        checkpoint.mkdir(exist_ok=True)
        weights = f"epoch{record['epoch']}.safetensors"
        save_weights(model, checkpoint / weights)
        write_json(checkpoint / "state.json", {"history": history, "weights": weights})
        for old in checkpoint.glob("epoch*.safetensors"):
            if old.name != weights:
                old.unlink()
        if progress:
            print(f"epoch {record['epoch']}/{cfg.model.epochs}: loss {record['loss']:.4f}, "
                  f"{record['words_per_second']:,.0f} words/s, lr {record['lr']:.5f}")

    train_started = time.perf_counter()
    model.fit(corpus, start_epoch=len(history), on_epoch=save_checkpoint, progress=progress)
    train_seconds = sum(r["seconds"] for r in history)
    save_weights(model, out_dir / "model.safetensors")
    model.vectors().save(out_dir / VECTORS_FILE, "word2vec-binary")
    write_json(out_dir / "history.json", history)
    _plot_loss(history, out_dir / "learning_curve.png")
    metrics, _ = evaluate(out_dir, data_dir=data_dir)
    metrics.update(corpus_words=len(corpus), vocab_size=len(vocab), train_seconds=round(train_seconds, 1),
                   words_per_second=round(len(corpus) * len(history) / max(train_seconds, 1e-9)),
                   session_seconds=round(time.perf_counter() - train_started, 1),
                   total_seconds=round(time.perf_counter() - started, 1))
    write_json(out_dir / "metrics.json", metrics)
    return metrics


def _plot_loss(history: list[dict], path: Path) -> None:
    from seqlab.viz import plot_learning_curve

    if history:
        plot_learning_curve(history, path, x="epoch", title="word2vec: mean loss per example, by epoch")


# ---- the trained vectors -----------------------------------------------------------------------------------------


class WordVectorModel:
    """A run's vectors: ``neighbours("king")``, ``analogy("man", "king", "woman")``; ``nearest`` answers a line
    ("king" or "king - man + woman") with the nearest words (``seqlab predict``)."""

    def __init__(self, vectors: WordVectors, config: RunConfig):
        self.vectors, self.config = vectors, config

    def neighbours(self, word: str, topn: int = 10) -> list[tuple[str, float]]:
        return self.vectors.most_similar(self._word(word), topn=topn)

    def analogy(self, a: str, b: str, c: str, topn: int = 5) -> list[tuple[str, float]]:
        """a : b :: c : ?  by 3CosAdd."""
        return self.vectors.most_similar([self._word(b), self._word(c)], [self._word(a)], topn=topn)

    def _word(self, word: str) -> str:
        return word.lower() if self.config.data.lowercase else word

    def nearest(self, lines: list[str]) -> list[str]:
        return [self._answer(line) for line in lines]

    def _answer(self, line: str) -> str:
        words = line.replace("+", " + ").replace("-", " - ").split()
        if not words:
            raise SeqlabError("an empty line: give a word, or an expression like 'king - man + woman'")
        positive, negative, sign = [], [], "+"
        for w in words:
            if w in "+-":
                sign = w
            else:
                (positive if sign == "+" else negative).append(self._word(w))
                sign = "+"
        nearest = self.vectors.most_similar(positive, negative, topn=8)
        return "  ".join(f"{w} {s:.3f}" for w, s in nearest)


def load_predictor(run_dir: Path, cfg: RunConfig, *, device: str = "cpu") -> WordVectorModel:
    vocab = Vocabulary.from_dict(read_run_json(run_dir, "vocab.json"))
    model = Word2Vec(vocab, cfg.model)
    load_weights(model, run_dir / "model.safetensors")
    return WordVectorModel(model.vectors(), cfg)


# ---- evaluation --------------------------------------------------------------------------------------------------


def evaluate_vectors(vectors: WordVectors, *, data_dir: str | Path | None = None, restrict: int = 30000,
                     neighbour_words: list[str] = ()) -> dict:
    """The standard intrinsic scores of a set of vectors: Google analogies (3CosAdd and 3CosMul over the
    ``restrict`` most frequent words), WordSim-353 and SimLex-999 Spearman, WEAT career/family and the he-she
    projection of occupations, nearest neighbours of ``neighbour_words``."""
    questions = load_split("google-analogy", "test", data_dir)
    out = {}
    for method in ("add", "mul"):
        result = evaluate_analogies(vectors, questions, restrict=restrict, method=method)
        out[f"analogy_3cos{method}"] = result["accuracy"]
        out[f"analogy_3cos{method}_semantic"] = result["semantic"]
        out[f"analogy_3cos{method}_syntactic"] = result["syntactic"]
        out[f"analogy_3cos{method}_sections"] = result["sections"]
    out["analogy_questions"], out["analogy_skipped"] = result["questions"], result["skipped"]
    for name in ("wordsim353", "simlex999"):
        result = evaluate_pairs(vectors, load_split(name, "test", data_dir))
        out[f"{name}_spearman"], out[f"{name}_pairs"] = result["spearman"], result["pairs"]
    try:
        test = weat(vectors, **WEAT_CAREER_FAMILY)
        out["weat_career_family_effect_size"], out["weat_career_family_p_value"] = test["effect_size"], test["p_value"]
    except SeqlabError as err:
        out["weat_career_family"] = str(err)
    if "he" in vectors and "she" in vectors:
        out["he_she_projection"] = dict(gender_projection(vectors))
    out["neighbours"] = {w: [n for n, _ in near] for w, near in neighbours(vectors, neighbour_words, topn=8).items()}
    return out


def evaluate(run_dir: str | Path, *, split: str = "test", data_dir: str | Path | None = None, beam_size: int = 1,
             out_dir: str | Path | None = None) -> tuple[dict, ReportParts]:
    """The run's vectors on the standard sets (``split`` is not used: the sets have one split each), with the
    word-group maps and the he-she projection as plots."""
    from seqlab.tasks import load_run
    from seqlab.viz.vectors import plot_projection, plot_word_groups

    run_dir = Path(run_dir)
    out_dir = Path(out_dir) if out_dir is not None else run_dir
    model: WordVectorModel = load_run(run_dir)
    cfg, vectors = model.config, model.vectors
    metrics = {"split": "test", "dataset": "google-analogy, wordsim353, simlex999",
               **evaluate_vectors(vectors, data_dir=data_dir, restrict=cfg.eval.restrict,
                                  neighbour_words=cfg.eval.neighbours)}
    parts = ReportParts(title=f"word2vec {cfg.model.arch} / {cfg.model.output}: {len(vectors):,} words, "
                              f"{vectors.dim} dimensions")
    parts.table = [{"section": s, "3CosAdd": metrics["analogy_3cosadd_sections"][s],
                    "3CosMul": metrics["analogy_3cosmul_sections"][s]} for s in metrics["analogy_3cosadd_sections"]]
    parts.table_title = "Google analogies by section"
    parts.examples = [{"word": w, "nearest": ", ".join(ns)} for w, ns in metrics["neighbours"].items()]
    parts.examples_title = "Nearest neighbours (cosine)"
    for method, name in (("pca", "word_groups_pca.png"), ("tsne", "word_groups_tsne.png")):
        try:
            if plot_word_groups(vectors, out_dir / name, method=method) is not None:
                parts.plots[f"Word groups ({method.upper()})"] = name
        except SeqlabError as err:  # t-SNE without scikit-learn
            parts.notes.append(str(err))
    if "he_she_projection" in metrics:
        plot_projection(list(metrics["he_she_projection"].items()), out_dir / "he_she_projection.png")
        parts.plots["Occupations on the he - she direction"] = "he_she_projection.png"
    if (run_dir / "learning_curve.png").is_file() and out_dir == run_dir:
        parts.plots["Loss by epoch"] = "learning_curve.png"
    return metrics, parts
