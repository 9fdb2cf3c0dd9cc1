"""Pictures of word vectors: word groups in 2-D (PCA and t-SNE) and the he-she projection of occupations."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from seqlab.viz.plots import _save

# the lectures' word groups: two clusters, and three sets of pairs whose difference is one direction
WORD_GROUPS: dict[str, dict] = {
    "animals vs household objects": {
        "animals": ["dog", "cat", "horse", "cow", "pig", "sheep", "lion", "tiger", "bird", "fish"],
        "household objects": ["chair", "table", "sofa", "bed", "lamp", "door", "window", "cup", "plate", "knife"],
    },
    "countries and capitals": {"pairs": [("france", "paris"), ("germany", "berlin"), ("italy", "rome"),
                                         ("spain", "madrid"), ("japan", "tokyo"), ("china", "beijing"),
                                         ("russia", "moscow"), ("england", "london"), ("egypt", "cairo"),
                                         ("greece", "athens")]},
    "male - female": {"pairs": [("man", "woman"), ("king", "queen"), ("he", "she"), ("boy", "girl"),
                                ("father", "mother"), ("son", "daughter"), ("brother", "sister"), ("uncle", "aunt"),
                                ("husband", "wife"), ("actor", "actress")]},
    "verb tense": {"pairs": [("walk", "walked"), ("swim", "swam"), ("go", "went"), ("take", "took"),
                             ("see", "saw"), ("run", "ran"), ("write", "wrote"), ("eat", "ate"), ("give", "gave"),
                             ("play", "played")]},
}


def _known_groups(vectors, groups: dict) -> dict[str, list]:
    """Each group's words (or pairs) that the vectors know."""
    out = {}
    for name, members in groups.items():
        if name == "pairs":
            out[name] = [p for p in members if p[0] in vectors and p[1] in vectors]
        else:
            out[name] = [w for w in members if w in vectors]
    return out


def pca_2d(matrix: np.ndarray) -> np.ndarray:
    centred = matrix - matrix.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T


def tsne_2d(matrix: np.ndarray, seed: int = 0) -> np.ndarray:
    try:
        from sklearn.manifold import TSNE
    except ImportError:
        from seqlab.errors import SeqlabError

        raise SeqlabError("t-SNE needs scikit-learn: pip install scikit-learn") from None
    perplexity = max(2.0, min(10.0, (len(matrix) - 1) / 3))
    return TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(matrix)


def plot_word_groups(vectors, path: str | Path, *, groups: dict[str, dict] | None = None, method: str = "pca",
                     seed: int = 0) -> plt.Figure | None:
    """One panel per word group, its words projected to 2-D (``method`` "pca" or "tsne") and labelled; the pairs
    of a group are joined by arrows, so a shared direction (male -> female, present -> past) shows as parallel
    arrows. Groups with fewer than 3 known words are left out; None when none is left."""
    project = pca_2d if method == "pca" else lambda m: tsne_2d(m, seed)
    panels = []
    for title, members in (groups or WORD_GROUPS).items():
        known = _known_groups(vectors, members)
        n_words = sum(len(v) * (2 if k == "pairs" else 1) for k, v in known.items())
        if n_words >= 3:
            panels.append((title, known))
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.6), squeeze=False)
    for ax, (title, known) in zip(axes[0], panels, strict=True):
        _group_panel(ax, vectors, known, project)
        ax.set_title(title)
    fig.suptitle(f"Word vectors in 2-D ({'PCA' if method == 'pca' else 't-SNE'})")
    return _save(fig, path)


def _group_panel(ax, vectors, known: dict[str, list], project) -> None:
    words = [w for name, m in known.items() for w in ([w for pair in m for w in pair] if name == "pairs" else m)]
    points = dict(zip(words, project(np.stack([vectors[w] for w in words])), strict=True))
    for i, (name, members) in enumerate(known.items()):
        color = f"C{i}"
        if name == "pairs":
            for a, b in members:
                (xa, ya), (xb, yb) = points[a], points[b]
                ax.annotate("", (xb, yb), (xa, ya), arrowprops={"arrowstyle": "->", "color": "0.6"})
                ax.scatter([xa, xb], [ya, yb], c=["C0", "C3"], s=14)
        else:
            xy = np.stack([points[w] for w in members])
            ax.scatter(xy[:, 0], xy[:, 1], c=color, s=14, label=name)
    for word, (x, y) in points.items():
        ax.annotate(word, (x, y), fontsize=8, xytext=(3, 2), textcoords="offset points")
    if "pairs" not in known:
        ax.legend(fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_projection(projections: Sequence[tuple[str, float]], path: str | Path, *,
                    title: str = "Occupations on the he - she direction") -> plt.Figure:
    """A horizontal bar per word: cos(word, he - she); negative leans "she", positive "he"."""
    fig, ax = plt.subplots(figsize=(6, 0.22 * len(projections) + 1.2))
    words, values = [w for w, _ in projections], [v for _, v in projections]
    ax.barh(range(len(words)), values, color=["C3" if v < 0 else "C0" for v in values])
    ax.set_yticks(range(len(words)), words, fontsize=8)
    ax.axvline(0, color="0.3", lw=0.8)
    ax.set_xlabel("cos(word, he - she)   <- she | he ->")
    ax.set_title(title)
    return _save(fig, path)
