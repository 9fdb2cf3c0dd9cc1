"""Word-vector files (= gensim's readers and writers), the evaluations (= gensim's and scipy's), the bias tests,
the `seqlab vectors` commands and pretrained vectors in the classify and tag models."""

import numpy as np
import pytest

from seqlab.data.examples import Analogy, WordPair
from seqlab.errors import SeqlabError
from seqlab.text.vectors import (
    WordVectors,
    evaluate_analogies,
    evaluate_pairs,
    gender_projection,
    load_vectors,
    spearman,
    weat,
)

gensim = pytest.importorskip("gensim")
from gensim.models import KeyedVectors  # noqa: E402


def _random_vectors(n: int = 50, dim: int = 7, seed: int = 0) -> WordVectors:
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(n - 3)] + ["café", "naïve", "日本"]
    return WordVectors(words, rng.normal(size=(n, dim)).astype(np.float32))


@pytest.mark.parametrize("fmt,binary", [("word2vec", False), ("word2vec-binary", True)])
def test_gensim_reads_our_files(tmp_path, fmt, binary):
    ours = _random_vectors()
    path = ours.save(tmp_path / ("v.bin" if binary else "v.txt"), fmt)
    theirs = KeyedVectors.load_word2vec_format(str(path), binary=binary)
    assert list(theirs.index_to_key) == ours.words
    tol = 0 if binary else 1e-5  # text keeps 6 significant digits
    assert np.allclose(theirs.vectors, ours.matrix, atol=tol, rtol=tol)


@pytest.mark.parametrize("binary", [False, True])
def test_we_read_gensims_files(tmp_path, binary):
    theirs = KeyedVectors(vector_size=5)
    vectors = _random_vectors(20, 5)
    theirs.add_vectors(vectors.words, vectors.matrix)
    path = tmp_path / ("g.bin" if binary else "g.txt")
    theirs.save_word2vec_format(str(path), binary=binary)
    ours = load_vectors(path)
    assert ours.words == vectors.words
    assert np.allclose(ours.matrix, vectors.matrix, atol=1e-6)


def test_glove_text_round_trip_and_gensim_no_header(tmp_path):
    vectors = _random_vectors(10, 4)
    path = vectors.save(tmp_path / "glove.txt", "glove")
    assert load_vectors(path).words == vectors.words  # guessed: no header line
    theirs = KeyedVectors.load_word2vec_format(str(path), binary=False, no_header=True)
    assert np.allclose(theirs.vectors, vectors.matrix, atol=1e-5)
    assert len(load_vectors(path, limit=3)) == 3


@pytest.mark.parametrize("content,message", [
    ("3 2\na 1 2\nb 1 2 3\nc 1 2\n", r"v.txt:3: 3 numbers, but the header says 2"),
    ("2 2\na 1 2\nb x 2\n", r"v.txt:3: not a word and 2 numbers"),
    ("3 2\na 1 2\nb 1 2\n", r"the header says 3 words, the file holds 2"),
    ("two 2\na 1 2\n", r"v.txt:1: expected the header"),
])
def test_malformed_vector_files_name_file_and_line(tmp_path, content, message):
    path = tmp_path / "v.txt"
    path.write_text(content)
    with pytest.raises(SeqlabError, match=message):
        load_vectors(path, "word2vec")


def test_cut_binary_file_is_an_error(tmp_path):
    path = _random_vectors(5, 3).save(tmp_path / "v.bin", "word2vec-binary")
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(SeqlabError, match=r"vector 5 of 5 .* cut short"):
        load_vectors(path)


def test_spearman_equals_scipy_with_ties():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(1)
    x, y = rng.integers(0, 5, 40).astype(float), rng.normal(size=40)
    assert spearman(x, y) == pytest.approx(spearmanr(x, y).statistic, abs=1e-12)


@pytest.fixture(scope="module")
def trained(data_dir):
    """Small real vectors (gensim, WikiText-2 valid) to compare the evaluations on."""
    from gensim.models import Word2Vec as GensimWord2Vec

    lines = (data_dir / "wikitext-2" / "valid.txt").read_text(encoding="utf-8").lower().splitlines()
    model = GensimWord2Vec([s.split() for s in lines if s.strip()], vector_size=30, min_count=2, epochs=3,
                           workers=1, seed=1)
    return model.wv, WordVectors(list(model.wv.index_to_key), model.wv.vectors)


def test_analogy_evaluation_equals_gensim(trained, data_dir):
    from seqlab.data import load

    wv, vectors = trained
    questions = load("google-analogy", "test", data_dir=data_dir)
    path = str(data_dir / "word-similarity" / "questions-words.txt")
    for restrict in (300, 3000):
        theirs, sections = wv.evaluate_word_analogies(path, restrict_vocab=restrict)
        ours = evaluate_analogies(vectors, questions, restrict=restrict)
        assert ours["accuracy"] == pytest.approx(theirs, abs=1e-9)
        total = next(s for s in sections if s["section"] == "Total accuracy")
        assert ours["questions"] == len(total["correct"]) + len(total["incorrect"])
    mul = evaluate_analogies(vectors, questions, restrict=3000, method="mul")
    assert 0 <= mul["accuracy"] <= 1 and mul["questions"] == ours["questions"]


def test_3cosmul_equals_gensims_most_similar_cosmul(trained):
    wv, vectors = trained
    a, b, c = "man", "king", "woman"
    theirs = wv.most_similar_cosmul(positive=[b, c], negative=[a], topn=1)[0][0]
    ids = [vectors.index[w] for w in (a, b, c, theirs)]
    question = [Analogy(a, b, c, theirs, section="family")]
    assert evaluate_analogies(vectors, question, restrict=len(vectors), method="mul")["accuracy"] == 1.0
    assert len(set(ids)) == 4


def test_pair_evaluation_equals_gensim(trained, data_dir):
    from seqlab.data import load

    wv, vectors = trained
    for name, file in (("wordsim353", "wordsim353.tsv"), ("simlex999", "simlex999.txt")):
        _, (rho, _), oov = wv.evaluate_word_pairs(str(data_dir / "word-similarity" / file))
        ours = evaluate_pairs(vectors, load(name, "test", data_dir=data_dir))
        assert ours["spearman"] == pytest.approx(rho, abs=1e-9)
        assert 100 * ours["skipped"] / (ours["skipped"] + ours["pairs"]) == pytest.approx(oov)


def test_weat_effect_size_sign_and_exact_permutations():
    rng = np.random.default_rng(0)
    a_dir, b_dir = rng.normal(size=20), rng.normal(size=20)
    words, rows = [], []
    for name, direction in (("x", a_dir), ("y", b_dir), ("a", a_dir), ("b", b_dir)):
        for i in range(6):
            words.append(f"{name}{i}")
            rows.append(direction + rng.normal(scale=0.8, size=20))
    vectors = WordVectors(words, np.array(rows))
    sets = {s.upper(): [f"{s}{i}" for i in range(6)] for s in "xyab"}
    test = weat(vectors, **sets)
    assert test["effect_size"] > 1.5 and test["p_value"] < 0.01 and test["partitions"] == 924  # C(12, 6)
    swapped = weat(vectors, X=sets["X"], Y=sets["Y"], A=sets["B"], B=sets["A"])
    assert swapped["effect_size"] == pytest.approx(-test["effect_size"])
    with pytest.raises(SeqlabError, match="set A"):
        weat(vectors, X=sets["X"], Y=sets["Y"], A=["nope", "none"], B=sets["B"])


def test_gender_projection_orders_by_cosine():
    vectors = WordVectors(["he", "she", "nurse", "engineer", "table"],
                          np.array([[1, 0, 0], [-1, 0, 0], [-0.5, 1, 0], [0.7, 0.2, 0], [0, 0, 1.0]]))
    projection = gender_projection(vectors, ["engineer", "nurse", "table", "unknownword"])
    assert [w for w, _ in projection] == ["nurse", "table", "engineer"]
    assert projection[1][1] == pytest.approx(0.0)


def test_most_similar_excludes_the_query_and_restricts():
    vectors = WordVectors(["a", "b", "c", "d"], np.array([[1, 0], [0.9, 0.1], [0, 1], [0.95, 0.05]]))
    assert vectors.most_similar("a", topn=1)[0][0] == "d"
    assert vectors.most_similar("a", topn=1, restrict=3)[0][0] == "b"
    with pytest.raises(SeqlabError, match="'zz' is not in the vocabulary"):
        vectors.most_similar("zz")
    assert evaluate_pairs(vectors, [WordPair("a", "zz", 5.0)])["skipped"] == 1


# ---- the command line --------------------------------------------------------------------------------------------


def test_vectors_commands(tmp_path, capsys, data_dir, trained):
    from seqlab.cli import main

    _, vectors = trained
    path = vectors.save(tmp_path / "v.bin", "word2vec-binary")
    assert main(["vectors", "eval", str(path), "--data-dir", str(data_dir), "--restrict", "3000"]) == 0
    out = capsys.readouterr().out
    assert "analogies 3CosAdd" in out and "wordsim353" in out and "simlex999" in out
    assert main(["vectors", "neighbours", str(path), "king - man + woman"]) == 0
    assert main(["vectors", "bias", str(path), "--plot", str(tmp_path / "bias.png")]) == 0
    assert "effect size" in capsys.readouterr().out and (tmp_path / "bias.png").is_file()
    assert main(["vectors", "plot", str(path), "--out", str(tmp_path), "--method", "pca"]) == 0
    assert (tmp_path / "word_groups_pca.png").is_file()
    assert main(["vectors", "convert", str(path), str(tmp_path / "v.txt"), "--limit", "100"]) == 0
    assert len(load_vectors(tmp_path / "v.txt")) == 100


def test_malformed_analogy_file_names_its_line(tmp_path, capsys, data_dir):
    from seqlab.cli import main

    path = _random_vectors().save(tmp_path / "v.txt")
    bad = tmp_path / "questions.txt"
    bad.write_text(": family\nw1 w2 w3 w4\nw1 w2 w3\n")
    assert main(["vectors", "eval", str(path), "--analogies", str(bad), "--data-dir", str(data_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "questions.txt:3: expected 4 words (a b c d), got 3" in err


def test_header_disagreeing_rows_exit_2(tmp_path, capsys):
    from seqlab.cli import main

    path = tmp_path / "v.txt"
    path.write_text("2 3\na 1 2 3\nb 1 2\n")
    assert main(["vectors", "neighbours", str(path), "a"]) == 2
    assert "v.txt:3: 2 numbers, but the header says 3" in capsys.readouterr().err


# ---- pretrained vectors in the word-level models -----------------------------------------------------------------


def test_copy_vectors_fills_found_rows_and_extends_the_vocabulary(capsys):
    import torch

    from seqlab.tasks.common import copy_vectors, with_vector_words
    from seqlab.text.vocab import Vocab

    vocab = Vocab.build([["the", "cat", "sat", "zzz"]])
    vectors = WordVectors(["The", "the", "cat", "dog"], np.arange(12, dtype=np.float32).reshape(4, 3))
    extended = with_vector_words(vocab, vectors, str.lower)
    assert extended.tokens[: len(vocab)] == vocab.tokens and extended.tokens[len(vocab):] == ["dog"]
    embed = torch.nn.Embedding(len(extended), 3, padding_idx=extended.pad_id)
    report = copy_vectors(embed, extended, vectors, str.lower, freeze=True, name="v.txt", trained=len(vocab))
    assert torch.equal(embed.weight[extended["the"]], torch.tensor([0.0, 1, 2]))  # the first spelling, "The"
    assert torch.equal(embed.weight[extended["dog"]], torch.tensor([9.0, 10, 11]))
    assert torch.equal(embed.weight[extended.pad_id], torch.zeros(3))
    assert report["pretrained_found"] == 2 and report["pretrained_added"] == 1 and not embed.weight.requires_grad
    assert "2 of the training vocabulary's 4 words found (50.0%), 1 words added" in capsys.readouterr().out


def test_classify_and_tag_configs_take_pretrained_vectors():
    from seqlab.tasks.config import ClassifyData, TagData

    assert ClassifyData(pretrained_vectors="v.bin").pretrained_vectors == "v.bin"
    assert TagData(pretrained_vectors="v.bin", freeze_vectors=True).freeze_vectors
    with pytest.raises(ValueError, match="embeddings: learned"):
        ClassifyData(pretrained_vectors="v.bin", embeddings="minilm")
