"""Static word vectors: the file formats people exchange, the standard evaluations, and the bias tests.

    vectors = load_vectors("runs/word2vec_sg/vectors.bin")      # word2vec binary / text, GloVe text
    vectors.most_similar("king", negative="man", positive2="woman") ...
    vectors.save("vectors.txt", format="word2vec")               # gensim's KeyedVectors.load_word2vec_format reads it

Formats: word2vec text (a "count dim" header line, then "word v1 ... vD" per line), word2vec binary (the same header,
then the word, a space and D little-endian float32 per word, as word2vec.c writes) and GloVe text (no header).

Evaluations, as gensim's ``KeyedVectors`` computes them so the numbers compare:
- analogies a : b :: c : ? over the ``restrict`` most frequent words (30,000, word2vec's compute-accuracy), with
  3CosAdd (argmax cos(d, b - a + c) over unit vectors) or 3CosMul (Levy & Goldberg 2014: argmax
  cos'(d, b) cos'(d, c) / (cos'(d, a) + 1e-6), cos' = (1 + cos) / 2); the question's own words are excluded and a
  question with a word outside the restricted vocabulary is skipped;
- word-pair similarity: the Spearman correlation of cosine similarity and human scores (pairs with an unknown word
  are skipped and counted);
- WEAT (Caliskan et al. 2017) and the projection on the he-she direction (Bolukbasi et al. 2016).

NumPy only: loading vectors for a model never imports a trainer.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqlab.errors import SeqlabError

FORMATS = ("word2vec", "word2vec-binary", "glove")


@dataclass
class WordVectors:
    """Words (most frequent first, when known) and their vectors, (V, D) float32."""

    words: list[str]
    matrix: np.ndarray

    def __post_init__(self) -> None:
        self.matrix = np.asarray(self.matrix, dtype=np.float32)
        if self.matrix.ndim != 2 or self.matrix.shape[0] != len(self.words):
            raise SeqlabError(f"{len(self.words)} words but a vector matrix of shape {self.matrix.shape}")
        self.index = {w: i for i, w in reversed(list(enumerate(self.words)))}  # a repeated word: its first row
        norms = np.linalg.norm(self.matrix, axis=1, keepdims=True)
        self.unit = self.matrix / np.maximum(norms, 1e-12)

    @property
    def dim(self) -> int:
        return self.matrix.shape[1]

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def __getitem__(self, word: str) -> np.ndarray:
        return self.matrix[self._id(word)]

    def _id(self, word: str) -> int:
        if word not in self.index:
            raise SeqlabError(f"{word!r} is not in the vocabulary ({len(self):,} words)")
        return self.index[word]

    def similarity(self, a: str, b: str) -> float:
        return float(self.unit[self._id(a)] @ self.unit[self._id(b)])

    def most_similar(self, positive: str | Sequence[str], negative: str | Sequence[str] = (), *, topn: int = 10,
                     restrict: int | None = None) -> list[tuple[str, float]]:
        """The words nearest to sum(positive) - sum(negative) of unit vectors (3CosAdd), the query words excluded."""
        positive = [positive] if isinstance(positive, str) else list(positive)
        negative = [negative] if isinstance(negative, str) else list(negative)
        query = np.zeros(self.dim, np.float32)
        for words, sign in ((positive, 1.0), (negative, -1.0)):
            for w in words:
                query += sign * self.unit[self._id(w)]
        unit = self.unit[:restrict]
        scores = unit @ (query / max(float(np.linalg.norm(query)), 1e-12))
        for w in positive + negative:
            if self.index[w] < len(unit):
                scores[self.index[w]] = -np.inf
        top = np.argsort(-scores)[:topn]
        return [(self.words[i], float(scores[i])) for i in top]

    # ---- files ------------------------------------------------------------------------------------------------

    def save(self, path: str | Path, format: str = "word2vec") -> Path:
        """Write word2vec text / binary or GloVe text (see the module's docstring)."""
        path = Path(path)
        if format not in FORMATS:
            raise SeqlabError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
        for w in self.words:
            if not w or any(c.isspace() for c in w):
                raise SeqlabError(f"the word {w!r} holds white space; these formats cannot store it")
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as f:
            if format != "glove":
                f.write(f"{len(self)} {self.dim}\n".encode())
            if format == "word2vec-binary":
                little = self.matrix.astype("<f4")
                for word, row in zip(self.words, little, strict=True):
                    f.write(word.encode() + b" " + row.tobytes() + b"\n")
            else:
                for word, row in zip(self.words, self.matrix, strict=True):
                    f.write((word + " " + " ".join(f"{x:.6g}" for x in row) + "\n").encode())
        tmp.replace(path)
        return path


def guess_format(path: str | Path) -> str:
    """word2vec-binary for .bin files, else word2vec text when the first line is "count dim", else GloVe."""
    path = Path(path)
    if path.suffix == ".bin":
        return "word2vec-binary"
    with open(path, "rb") as f:
        first = f.readline().split()
    return "word2vec" if len(first) == 2 and all(x.isdigit() for x in first) else "glove"


def load_vectors(path: str | Path, format: str = "auto", *, limit: int | None = None) -> WordVectors:
    """Read word2vec text / binary or GloVe text (``format="auto"`` guesses); ``limit`` keeps the first rows.
    A malformed file is a one-line SeqlabError naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise SeqlabError(f"{path}: no such vectors file")
    format = guess_format(path) if format == "auto" else format
    if format not in FORMATS:
        raise SeqlabError(f"format must be auto or one of {', '.join(FORMATS)}, got {format!r}")
    if format == "word2vec-binary":
        return _read_binary(path, limit)
    return _read_text(path, header=format == "word2vec", limit=limit)


def _header(path: Path, line: bytes) -> tuple[int, int]:
    cells = line.split()
    if len(cells) != 2 or not all(c.isdigit() for c in cells) or int(cells[1]) < 1:
        raise SeqlabError(f"{path}:1: expected the header 'count dim', got {line[:60]!r}")
    return int(cells[0]), int(cells[1])


def _read_text(path: Path, *, header: bool, limit: int | None) -> WordVectors:
    words, rows, dim, count = [], [], None, None
    with open(path, "rb") as f:
        for line_no, line in enumerate(f, 1):
            if header and line_no == 1:
                count, dim = _header(path, line)
                continue
            if limit is not None and len(words) >= limit:
                break
            cells = line.rstrip(b"\r\n").split(b" ")
            if len(cells) == 1 and not cells[0].strip():
                continue
            dim = dim or len(cells) - 1
            if len(cells) - 1 != dim:
                told = "the header says" if header else "the first row has"
                raise SeqlabError(f"{path}:{line_no}: {len(cells) - 1} numbers, but {told} {dim}")
            try:
                rows.append(np.array(cells[1:], dtype=np.float32))
                words.append(cells[0].decode())
            except (ValueError, UnicodeDecodeError) as err:
                raise SeqlabError(f"{path}:{line_no}: not a word and {dim} numbers ({err})") from None
    if count is not None and limit is None and len(words) != count:
        raise SeqlabError(f"{path}: the header says {count} words, the file holds {len(words)}")
    if not words:
        raise SeqlabError(f"{path}: no vectors")
    return WordVectors(words, np.stack(rows))


def _read_binary(path: Path, limit: int | None) -> WordVectors:
    data = path.read_bytes()
    end = data.find(b"\n")
    count, dim = _header(path, data[: end if end >= 0 else 80])
    count = count if limit is None else min(count, limit)
    width = 4 * dim
    words, matrix, at = [], np.empty((count, dim), np.float32), end + 1
    for i in range(count):
        while at < len(data) and data[at : at + 1] in (b"\n", b"\r"):
            at += 1  # word2vec.c ends each vector with a newline; gensim does not
        space = data.find(b" ", at, at + 1000)
        if space < 0 or space + 1 + width > len(data):
            raise SeqlabError(f"{path}: vector {i + 1} of {count} (the header's count) is missing or cut short")
        try:
            words.append(data[at:space].decode())
        except UnicodeDecodeError:
            raise SeqlabError(f"{path}: word {i + 1} is not UTF-8") from None
        matrix[i] = np.frombuffer(data, "<f4", dim, space + 1)
        at = space + 1 + width
    return WordVectors(words, matrix)


# ---- evaluation --------------------------------------------------------------------------------------------------


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation (tied values share their mean rank), as scipy.stats.spearmanr."""
    return float(np.corrcoef(_ranks(np.asarray(x, float)), _ranks(np.asarray(y, float)))[0, 1])


def _ranks(values: np.ndarray) -> np.ndarray:
    _, group, sizes = np.unique(values, return_inverse=True, return_counts=True)
    last = np.cumsum(sizes)  # a group of equal values holds ranks last - size + 1 .. last
    return (last - (sizes - 1) / 2)[group]


def evaluate_pairs(vectors: WordVectors, pairs: Iterable, *, lowercase: bool = True) -> dict:
    """Spearman (and Pearson) correlation of cosine similarity with human scores over the pairs whose words are
    both known. ``pairs``: items with .word1, .word2, .score (seqlab.data's WordPair)."""
    ours, human, skipped = [], [], 0
    for p in pairs:
        a, b = (p.word1.lower(), p.word2.lower()) if lowercase else (p.word1, p.word2)
        if a in vectors and b in vectors:
            ours.append(vectors.similarity(a, b))
            human.append(p.score)
        else:
            skipped += 1
    if len(ours) < 2:
        return {"spearman": float("nan"), "pearson": float("nan"), "pairs": len(ours), "skipped": skipped}
    return {"spearman": spearman(ours, human), "pearson": float(np.corrcoef(ours, human)[0, 1]),
            "pairs": len(ours), "skipped": skipped}


SEMANTIC_SECTIONS = ("capital-common-countries", "capital-world", "currency", "city-in-state", "family")


def evaluate_analogies(vectors: WordVectors, questions: Iterable, *, restrict: int = 30000, method: str = "add",
                       lowercase: bool = True, batch: int = 1024) -> dict:
    """Accuracy on a : b :: c : d questions (items with .a .b .c .d .section: seqlab.data's Analogy), by section,
    semantic, syntactic and in all; ``method`` "add" (3CosAdd) or "mul" (3CosMul)."""
    if method not in ("add", "mul"):
        raise SeqlabError(f"method must be add or mul, got {method!r}")
    n = min(restrict, len(vectors))
    known = {w: i for w, i in vectors.index.items() if i < n}
    rows, sections, skipped = [], [], 0
    for q in questions:
        words = [w.lower() if lowercase else w for w in (q.a, q.b, q.c, q.d)]
        if all(w in known for w in words):
            rows.append([known[w] for w in words])
            sections.append(q.section)
        else:
            skipped += 1
    ids = np.array(rows, dtype=np.int64).reshape(-1, 4)
    unit = vectors.unit[:n]
    hits = np.zeros(len(ids), dtype=bool)
    for start in range(0, len(ids), batch):
        a, b, c, d = ids[start : start + batch].T
        if method == "add":
            scores = (unit[b] - unit[a] + unit[c]) @ unit.T  # (Q, n)
        else:
            cos = [(1 + unit[x] @ unit.T) / 2 for x in (a, b, c)]
            scores = cos[1] * cos[2] / (cos[0] + 1e-6)
        rows_ = np.arange(len(a))
        for x in (a, b, c):
            scores[rows_, x] = -np.inf
        hits[start : start + batch] = scores.argmax(1) == d
    out = {"accuracy": float(hits.mean()) if len(hits) else float("nan"), "questions": len(hits),
           "skipped": skipped, "sections": {}}
    sections = np.array(sections)
    for name in dict.fromkeys(sections.tolist()):
        out["sections"][name] = float(hits[sections == name].mean())
    semantic = np.isin(sections, SEMANTIC_SECTIONS) if len(sections) else np.zeros(0, bool)
    for name, where in (("semantic", semantic), ("syntactic", ~semantic)):
        out[name] = float(hits[where].mean()) if where.any() else float("nan")
    return out


def neighbours(vectors: WordVectors, words: Iterable[str], topn: int = 8) -> dict[str, list[tuple[str, float]]]:
    return {w: vectors.most_similar(w, topn=topn) for w in words if w in vectors}


# ---- bias ----------------------------------------------------------------------------------------------------------

# Caliskan et al. (2017), WEAT 6: career vs family words, male vs female names
WEAT_CAREER_FAMILY = {
    "X": ["executive", "management", "professional", "corporation", "salary", "office", "business", "career"],
    "Y": ["home", "parents", "children", "family", "cousins", "marriage", "wedding", "relatives"],
    "A": ["john", "paul", "mike", "kevin", "steve", "greg", "jeff", "bill"],
    "B": ["amy", "joan", "lisa", "sarah", "diana", "kate", "ann", "donna"],
}
# occupations of Bolukbasi et al. (2016)'s figures, projected on he - she
OCCUPATIONS = ["homemaker", "nurse", "receptionist", "librarian", "socialite", "hairdresser", "nanny", "bookkeeper",
               "stylist", "housekeeper", "designer", "teacher", "secretary", "dancer", "singer", "doctor",
               "lawyer", "writer", "professor", "scientist", "manager", "engineer", "programmer", "architect",
               "surgeon", "pilot", "carpenter", "boss", "captain", "philosopher", "warrior", "magician"]


def weat(vectors: WordVectors, X: Sequence[str], Y: Sequence[str], A: Sequence[str], B: Sequence[str], *,
         max_partitions: int = 100_000, seed: int = 0) -> dict:
    """The Word Embedding Association Test: s(w, A, B) = mean cos(w, a) - mean cos(w, b); the effect size
    (mean s over X - mean s over Y) / std s over X u Y, and the one-sided p-value of the permutation test,
    P[s(Xi, Yi) > s(X, Y)] over the equal-size partitions of X u Y (all of them, or ``max_partitions`` drawn)."""
    sets = {}
    for name, words in (("X", X), ("Y", Y), ("A", A), ("B", B)):
        found = [w for w in words if w in vectors]
        if len(found) < 2:
            raise SeqlabError(f"WEAT: fewer than 2 words of set {name} are in the vocabulary ({', '.join(words)})")
        sets[name] = found
    unit = lambda ws: vectors.unit[[vectors.index[w] for w in ws]]  # noqa: E731
    targets = sets["X"] + sets["Y"]
    assoc = (unit(targets) @ unit(sets["A"]).T).mean(1) - (unit(targets) @ unit(sets["B"]).T).mean(1)
    n_x = len(sets["X"])
    statistic = assoc[:n_x].sum() - assoc[n_x:].sum()
    effect = (assoc[:n_x].mean() - assoc[n_x:].mean()) / assoc.std(ddof=1)
    total = assoc.sum()
    if math.comb(len(targets), n_x) <= max_partitions:
        parts = itertools.combinations(range(len(targets)), n_x)
        sums = np.array([assoc[list(p)].sum() for p in parts])
    else:
        rng = np.random.default_rng(seed)
        sums = np.array([assoc[rng.permutation(len(targets))[:n_x]].sum() for _ in range(max_partitions)])
    p_value = float(np.mean(2 * sums - total > statistic))
    return {"effect_size": float(effect), "p_value": p_value, "statistic": float(statistic),
            "words": {k: v for k, v in sets.items()}, "partitions": len(sums)}


def gender_projection(vectors: WordVectors, words: Sequence[str] = OCCUPATIONS, *, he: str = "he",
                      she: str = "she") -> list[tuple[str, float]]:
    """cos(w, he - she) for each known word, most "she" first (Bolukbasi et al. 2016's gender direction)."""
    direction = vectors[he] - vectors[she]
    direction = direction / max(float(np.linalg.norm(direction)), 1e-12)
    found = [w for w in words if w in vectors]
    return sorted(((w, float(vectors.unit[vectors.index[w]] @ direction)) for w in found), key=lambda p: p[1])
