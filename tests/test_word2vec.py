"""word2vec: the lecture's worked examples, the compiled SGD step = autograd on the model's loss, the pieces of the
training practice (Huffman codes, subsampling, noise distribution), training end to end, and the recipe."""

import heapq
import itertools
import json

import numpy as np
import pytest
import torch

from seqlab.errors import SeqlabError
from seqlab.models import word2vec_kernels as k
from seqlab.models.word2vec import (
    Huffman,
    Vocabulary,
    Word2Vec,
    Word2VecConfig,
    context_pairs,
    keep_probabilities,
    noise_distribution,
)
from seqlab.text.vectors import WordVectors

# Sonnet 2 (public domain), the text of the lectures' small skip-gram script
SONNET = """When forty winters shall besiege thy brow,
And dig deep trenches in thy beauty's field,
Thy youth's proud livery so gazed on now,
Will be a totter'd weed of small worth held:
Then being asked, where all thy beauty lies,
Where all the treasure of thy lusty days;
To say, within thine own deep sunken eyes,
Were an all-eating shame, and thriftless praise.
How much more praise deserv'd thy beauty's use,
If thou couldst answer 'This fair child of mine
Shall sum my count, and make my old excuse,'
Proving his beauty by succession thine!
This were to be new made when thou art old,
And see thy blood warm when thou feel'st it cold."""


def test_context_pairs_of_the_lecture_sentence():
    tokens = "The quick brown fox jumps over the lazy dog.".lower().rstrip(".").split()
    pairs = context_pairs(tokens, window=2)
    assert pairs[:7] == [("the", "quick"), ("the", "brown"), ("quick", "the"), ("quick", "brown"),
                         ("quick", "fox"), ("brown", "the"), ("brown", "quick")]
    assert ("brown", "jumps") in pairs and ("brown", "over") not in pairs
    assert len(pairs) == 2 + 3 + 4 * 5 + 3 + 2  # the ends see fewer neighbours
    assert pairs[-2:] == [("dog", "the"), ("dog", "lazy")]


def test_toy_vectors_cosines():
    # The deck's toy vectors are not in this repository; these 4-d ones reproduce its three cosines
    # (cat-dog 0.989, cat-car 0.452, dog-car 0.535) to the printed 3 decimals.
    vectors = WordVectors(["cat", "dog", "car"], np.array([[0.0, 0.5, 0.7, 0.8], [0.0, 0.4, 0.8, 0.7],
                                                           [0.6, 0.0, 0.7, 0.0]]))
    assert round(vectors.similarity("cat", "dog"), 3) == 0.989
    assert round(vectors.similarity("cat", "car"), 3) == 0.452
    assert round(vectors.similarity("dog", "car"), 3) == 0.535
    assert vectors.most_similar("cat", topn=2)[0][0] == "dog"
    from sklearn.metrics.pairwise import cosine_similarity

    assert np.allclose(cosine_similarity(vectors.matrix), vectors.unit @ vectors.unit.T, atol=1e-6)


def _sonnet_sentences():
    return [line.lower().replace(",", " ").replace(".", " ").replace(":", " ").replace(";", " ").split()
            for line in SONNET.splitlines()]


@pytest.mark.parametrize("output", ["softmax", "hierarchical", "negative"])
def test_sonnet_skipgram_loss_falls_every_epoch(output):
    sentences = _sonnet_sentences()
    vocab = Vocabulary.build(sentences, min_count=1)
    cfg = Word2VecConfig(output=output, dim=10, window=2, sample=0, min_count=1, epochs=20, threads=1,
                         alpha=0.1 if output == "negative" else 0.3)
    history = Word2Vec(vocab, cfg).fit(vocab.encode(sentences))
    losses = [h["loss"] for h in history]
    if output == "negative":  # fresh noise words every epoch: the loss falls from each 4 epochs to the next
        losses = [sum(losses[i : i + 4]) for i in range(0, 20, 4)]
    assert all(b < a for a, b in itertools.pairwise(losses)), losses
    assert losses[-1] < 0.8 * losses[0]
    assert history[-1]["lr"] == pytest.approx(cfg.min_alpha)


def test_from_sentences_like_gensim():
    model = Word2Vec.from_sentences(_sonnet_sentences() * 5, Word2VecConfig(min_count=2, dim=8, epochs=2))
    assert len(model.history) == 2 and "thy" in model.vectors()
    assert model.vectors().most_similar("thy", topn=3)[0][0] != "thy"


def test_one_thread_is_deterministic_and_cbow_trains():
    sentences = _sonnet_sentences() * 3
    vocab = Vocabulary.build(sentences, min_count=1)
    runs = []
    for _ in range(2):
        cfg = Word2VecConfig(arch="cbow", dim=8, window=3, min_count=1, sample=0, epochs=12, threads=1, alpha=0.1)
        model = Word2Vec(vocab, cfg)
        history = model.fit(vocab.encode(sentences))
        runs.append(model.input.weight.detach().clone())
    assert torch.equal(runs[0], runs[1])
    losses = [h["loss"] for h in history]
    assert sum(losses[-3:]) < 0.8 * sum(losses[:3])


# ---- one compiled step = one SGD step on Word2Vec.loss -------------------------------------------------------------


def _step_fixture(output: str, vocab_size: int = 12, dim: int = 6):
    rng = np.random.default_rng(0)
    counts = np.sort(rng.integers(1, 50, vocab_size))[::-1]
    vocab = Vocabulary([f"w{i}" for i in range(vocab_size)], counts)
    model = Word2Vec(vocab, Word2VecConfig(output=output, dim=dim, negative=4))
    with torch.no_grad():  # scores within the sigmoid table's range, away from its clipping
        model.input.weight.copy_(torch.from_numpy(rng.normal(0, 0.4, (vocab_size, dim))))
        model.output.weight.copy_(torch.from_numpy(rng.normal(0, 0.4, tuple(model.output.weight.shape))))
    return model, model._kernel_arrays(k)


@pytest.mark.parametrize("output", ["softmax", "negative", "hierarchical"])
def test_compiled_step_equals_autograd_sgd(output):
    model, arrays = _step_fixture(output)
    alpha, target, centre = 0.1, 3, 7
    h = model.input.weight[centre].detach().clone().requires_grad_(True)
    w_out = arrays["w_out"].copy()
    before = torch.from_numpy(w_out.copy())
    err = np.zeros(h.shape[0], np.float32)
    state, noise = np.uint64(12345), None
    if output == "negative":  # a seed whose noise words are distinct and not the target: one step each
        for seed in range(1, 1000):
            draws, s = [], np.uint64(seed)
            for _ in range(arrays["negative"]):
                s = k._next(s)
                draws.append(k._negative_draw(s, arrays["noise_prob"], arrays["noise_alias"]))
            if len(set(draws)) == len(draws) and target not in draws:
                break
        state, noise = np.uint64(seed), torch.tensor([draws])
    loss, _ = k._output_step(h.detach().numpy().copy(), target, alpha, w_out, err, arrays["out_kind"],
                             arrays["negative"], arrays["noise_prob"], arrays["noise_alias"], arrays["codes"],
                             arrays["points"], arrays["code_lens"], arrays["sig"], arrays["logsig"],
                             np.empty(len(w_out)), state)
    reference = model.loss(h.unsqueeze(0), torch.tensor([target]), noise).sum()
    grad_h, grad_out = torch.autograd.grad(reference, [h, model.output.weight])
    # the kernel moves u by -alpha dL/du and returns -alpha dL/dh as the input's error (word2vec.c's neu1e)
    table = 3e-3  # the sigmoid is read from a 1000-entry table over [-6, 6]
    assert loss == pytest.approx(reference.item(), abs=0.006 * 6)  # up to 6 table reads, each within 0.006
    assert np.allclose(w_out - before.numpy(), -alpha * grad_out.numpy(), atol=alpha * table)
    assert np.allclose(err, -alpha * grad_h.numpy(), atol=alpha * table * 5)


def test_negative_draws_follow_unigram_to_the_three_quarters():
    counts = np.array([1000, 300, 100, 30, 10])
    prob, alias = noise_distribution(counts, 0.75)
    expected = counts**0.75 / (counts**0.75).sum()
    exact = (prob + np.bincount(alias, weights=1 - prob, minlength=5)) / 5  # what the tables give each word
    assert np.allclose(exact, expected, atol=1e-6)
    state, draws = np.uint64(1), []
    for _ in range(50_000):
        state = k._next(state)
        draws.append(k._negative_draw(state, prob, alias))
    observed = np.bincount(draws, minlength=5) / len(draws)
    assert np.allclose(observed, expected, atol=0.01)


def test_subsampling_formula():
    counts = np.array([10_000, 1_000, 10])
    keep = keep_probabilities(counts, 1e-3)
    t = 1e-3 * counts.sum()
    assert keep[0] == pytest.approx((np.sqrt(10_000 / t) + 1) * t / 10_000, rel=1e-6)
    assert keep[2] == 1.0 and keep[0] < keep[1] < 1
    assert (keep_probabilities(counts, 0) == 1).all()


def test_huffman_codes_are_an_optimal_prefix_code():
    counts = np.array([45, 13, 12, 16, 9, 5, 5, 2, 1])
    tree = Huffman.build(counts)
    codes = ["".join(str(int(b)) for b in tree.codes[w, : tree.lengths[w]]) for w in range(len(counts))]
    assert len(set(codes)) == len(codes)
    assert not any(a != b and b.startswith(a) for a in codes for b in codes)  # prefix-free
    assert sum(2.0 ** -len(c) for c in codes) == pytest.approx(1.0)  # a full binary tree (Kraft equality)
    heap, cost = [int(c) for c in counts], 0  # the optimal expected length: the sum of the merged weights
    heapq.heapify(heap)
    while len(heap) > 1:
        merged = heapq.heappop(heap) + heapq.heappop(heap)
        cost += merged
        heapq.heappush(heap, merged)
    assert int((counts * tree.lengths).sum()) == cost
    assert tree.lengths[0] <= tree.lengths[-1]
    assert tree.points[0, 0] == len(counts) - 2  # every path starts at the root, the last inner node
    assert tree.points.max() <= len(counts) - 2


# ---- the corpus and its errors ---------------------------------------------------------------------------------


def test_vocabulary_order_min_count_and_errors():
    vocab = Vocabulary.build([["b", "a", "b", "c"], ["a", "b"]], min_count=2)
    assert vocab.words == ["b", "a"] and vocab.counts.tolist() == [3, 2]
    corpus = vocab.encode([["b", "x", "a"], ["c"]])
    assert corpus.tokens.tolist() == [0, 1] and corpus.bounds.tolist() == [0, 2]  # an emptied sentence goes
    assert Vocabulary.build([["a"] * 5 + ["b"] * 5 + ["c"]], min_count=1, max_vocab=2).words == ["a", "b"]
    with pytest.raises(SeqlabError, match="empty"):
        Vocabulary.build([[], []])
    with pytest.raises(SeqlabError, match=r"min_count = 5 times .* 'a', occurs 2"):
        Vocabulary.build([["a", "a", "b"]], min_count=5)


def test_config_is_checked():
    for bad in ({"arch": "glove"}, {"output": "nce"}, {"dim": 0}, {"min_alpha": 0.5}):
        with pytest.raises(ValueError):
            Word2VecConfig(**bad)


# ---- the recipe, end to end on a small corpus file -------------------------------------------------------------


@pytest.fixture(scope="module")
def w2v_run(tmp_path_factory, data_dir):
    from seqlab.cli import main

    tmp = tmp_path_factory.mktemp("w2v")
    corpus = tmp / "corpus.txt"
    lines = [t for t in (data_dir / "wikitext-2" / "valid.txt").read_text(encoding="utf-8").splitlines()
             if t.strip()]
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp / "run"
    argv = ["train", "configs/word2vec_sg.yaml", "--out", str(out), "--data-dir", str(data_dir),
            "--data.datasets=[]", f"--data.files=[{corpus}]", "--model.epochs=2", "--model.dim=20", "--quiet"]
    assert main(argv) == 0
    return out


def test_recipe_writes_vectors_metrics_and_plots(w2v_run):
    metrics = json.loads((w2v_run / "metrics.json").read_text())
    for key in ("analogy_3cosadd", "analogy_3cosmul", "wordsim353_spearman", "simlex999_spearman",
                "he_she_projection", "words_per_second", "corpus_words"):
        assert key in metrics, key
    # WikiText-2 valid lacks most of WEAT's female names: the reason is reported instead of a number
    assert "set B are in the vocabulary" in metrics["weat_career_family"]
    history = json.loads((w2v_run / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2] and history[1]["loss"] < history[0]["loss"]
    for name in ("vectors.bin", "model.safetensors", "learning_curve.png", "word_groups_pca.png",
                 "he_she_projection.png", "checkpoints/state.json", "checkpoints/epoch2.safetensors"):
        assert (w2v_run / name).is_file(), name
    assert not (w2v_run / "checkpoints" / "epoch1.safetensors").exists()
    from seqlab.text.vectors import load_vectors

    vectors = load_vectors(w2v_run / "vectors.bin")
    assert vectors.dim == 20 and len(vectors) == metrics["vocab_size"]


def test_resume_after_the_last_epoch_keeps_the_vectors(w2v_run, data_dir):
    from seqlab.cli import main

    before = (w2v_run / "vectors.bin").read_bytes()
    config = json.loads((w2v_run / "config.json").read_text())
    argv = ["train", str(w2v_run / "config.json"), "--out", str(w2v_run), "--resume", "--data-dir", str(data_dir),
            "--quiet"]
    assert config["model"]["epochs"] == 2 and main(argv) == 0
    assert (w2v_run / "vectors.bin").read_bytes() == before  # both epochs were done: nothing trains again


def test_predict_neighbours_and_analogy(w2v_run, capsys):
    from seqlab.cli import main

    assert main(["predict", str(w2v_run), "the", "king - man + woman"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and all(len(line.split()) == 16 for line in lines)  # 8 words with their cosines
    assert main(["predict", str(w2v_run), "zzzunknownzzz"]) == 2


def test_empty_corpus_file_is_a_one_line_error(tmp_path, capsys):
    from seqlab.cli import main

    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    argv = ["train", "configs/word2vec_sg.yaml", "--out", str(tmp_path / "run"), "--data.datasets=[]",
            f"--data.files=[{empty}]", "--quiet"]
    assert main(argv) == 2
    assert "empty" in capsys.readouterr().err
