"""Bag-of-words models: naive Bayes and logistic regression against scikit-learn, the feed-forward BoW net."""

from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.naive_bayes import MultinomialNB as SkMultinomialNB

from seqlab.models.bow import BoWFeatures, BoWMLP, BoWMLPConfig, LogisticRegression, MultinomialNB, SparseBatches
from seqlab.nn.sparse import as_features, bow_matmul, csr_rows, csr_transpose
from seqlab.text.features import BagOfWords, TfIdf
from seqlab.training import Trainer
from seqlab.training.config import OptimConfig, TrainConfig

pytestmark = pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")


def _counts(n: int = 120, v: int = 40, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).poisson(0.4, (n, v))  # (N, V) with many zeros


def _to_scipy(x: torch.Tensor) -> sp.csr_matrix:
    return sp.csr_matrix((x.values().numpy(), x.col_indices().numpy(), x.crow_indices().numpy()), shape=x.shape)


# ----------------------------------------------------------------------------------------- naive Bayes


@pytest.mark.parametrize("alpha", [0.1, 1.0, 2.5])
@pytest.mark.parametrize("layout", ["csr", "dense", "scipy"])
def test_multinomial_nb_matches_sklearn(alpha, layout):
    counts = _counts()
    labels = np.random.default_rng(1).choice([2, 5, 7], size=len(counts))  # 3 classes, not 0..C-1
    x = {"csr": torch.tensor(counts).to_sparse_csr(), "dense": torch.tensor(counts),
         "scipy": sp.csr_matrix(counts)}[layout]
    ours = MultinomialNB(alpha=alpha).fit(x, torch.tensor(labels))
    ref = SkMultinomialNB(alpha=alpha).fit(counts, labels)
    np.testing.assert_allclose(ours.class_log_prior.numpy(), ref.class_log_prior_, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.feature_log_prob.numpy(), ref.feature_log_prob_, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.predict_log_proba(x).numpy(), ref.predict_log_proba(counts), rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.predict_proba(x).numpy(), ref.predict_proba(counts), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(ours.predict(x).numpy(), ref.predict(counts))


def test_multinomial_nb_lecture_example():
    """Sci-fi or romance? Columns: space, alien, love, kiss. Two sci-fi reviews, one romance."""
    train = torch.tensor([[2, 1, 0, 0],   # sci-fi
                          [1, 2, 1, 0],   # sci-fi
                          [0, 0, 2, 1]])  # romance
    nb = MultinomialNB(alpha=1.0).fit(train, torch.tensor([0, 0, 1]))
    # P(sci-fi) = 2/3, P(romance) = 1/3. Laplace: sci-fi counts (3, 3, 1, 0) + 1 over 7 + 4 = 11 -> (4, 4, 2, 1)/11;
    # romance counts (0, 0, 2, 1) + 1 over 3 + 4 = 7 -> (1, 1, 3, 2)/7.
    # The review "alien love kiss": sci-fi 2/3 * 4/11 * 2/11 * 1/11 = 16/3993, romance 1/3 * 1/7 * 3/7 * 2/7 = 2/343.
    sci_fi, romance = Fraction(16, 3993), Fraction(2, 343)
    expected = [float(sci_fi / (sci_fi + romance)), float(romance / (sci_fi + romance))]  # [0.4073.., 0.5926..]
    review = torch.tensor([[0, 1, 1, 1]])
    torch.testing.assert_close(nb.predict_proba(review)[0], torch.tensor(expected, dtype=torch.float64))
    assert nb.predict(review).tolist() == [1]  # romance, though sci-fi is the likelier class a priori
    torch.testing.assert_close(nb.feature_log_prob.exp(), torch.tensor([[4 / 11, 4 / 11, 2 / 11, 1 / 11],
                                                                        [1 / 7, 1 / 7, 3 / 7, 2 / 7]],
                                                                       dtype=torch.float64))


def test_multinomial_nb_state_dict_roundtrip(tmp_path):
    x, y = torch.tensor(_counts()), torch.arange(120) % 3
    nb = MultinomialNB().fit(x, y)
    save_file(nb.state_dict(), tmp_path / "nb.safetensors")
    again = MultinomialNB.from_state_dict(load_file(tmp_path / "nb.safetensors"))
    torch.testing.assert_close(again.predict_log_proba(x), nb.predict_log_proba(x), rtol=0, atol=0)


def _imdb_slice(data_dir, n: int = 2000) -> tuple[list[str], torch.Tensor, list[str], torch.Tensor]:
    """n evenly spaced IMDB train reviews (the file is sorted by label), alternately to train and test."""
    from seqlab.data import load

    examples = load("imdb", "train", data_dir=data_dir)
    picked = [examples[i] for i in np.linspace(0, len(examples) - 1, n).astype(int)]
    train, test = picked[::2], picked[1::2]
    return ([e.text for e in train], torch.tensor([e.label for e in train]),
            [e.text for e in test], torch.tensor([e.label for e in test]))


def test_nb_and_logistic_regression_on_imdb_match_sklearn(data_dir):
    train_texts, train_y, test_texts, test_y = _imdb_slice(data_dir)
    bow = BagOfWords(ngram_range=(1, 2), min_df=2, binary=True)
    train_x, test_x = bow.fit_transform(train_texts), bow.transform(test_texts)  # (1000, V) int64 CSR
    nb = MultinomialNB().fit(train_x, train_y)
    ref = SkMultinomialNB().fit(_to_scipy(train_x), train_y.numpy())
    np.testing.assert_allclose(nb.predict_log_proba(test_x).numpy(), ref.predict_log_proba(_to_scipy(test_x)),
                               rtol=0, atol=1e-6)
    assert (nb.predict(test_x).numpy() == ref.predict(_to_scipy(test_x))).all()
    assert (nb.predict(test_x) == test_y).float().mean() > 0.75

    tfidf = TfIdf(sublinear_tf=True)
    train_w, test_w = tfidf.fit_transform(train_x), tfidf.transform(test_x)  # float64 CSR
    lr = LogisticRegression(train_w.shape[1], dtype=torch.float64).fit(train_w, train_y, C=10.0)
    sk = SkLogisticRegression(C=10.0).fit(_to_scipy(train_w), train_y.numpy())
    agreement = (lr.predict(test_w).numpy() == sk.predict(_to_scipy(test_w))).mean()
    assert agreement >= 0.99
    assert (lr.predict(test_w) == test_y).float().mean() > 0.75


# ----------------------------------------------------------------------------------------- logistic regression


def _sk_objective(coef: np.ndarray, intercept: np.ndarray, x: sp.csr_matrix, y: np.ndarray, C: float) -> float:
    """scikit-learn's objective C * Σ log-loss + ½||W||², divided by C * N (as ours)."""
    logits = x @ coef.T + intercept  # (N, K)
    if logits.shape[1] == 1:
        z = logits[:, 0]
        log_loss = np.logaddexp(0, z) - y * z
    else:
        log_loss = np.logaddexp.reduce(logits, axis=1) - logits[np.arange(len(y)), y]
    return log_loss.mean() + (coef**2).sum() / (2 * C * len(y))


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("C", [0.3, 10.0])
def test_logistic_regression_matches_sklearn(n_classes, C):
    rng = np.random.default_rng(0)
    x = sp.random(400, 150, density=0.05, random_state=0, format="csr")  # (N, V)
    y = np.argmax(x @ rng.normal(size=(150, n_classes)) + 0.3 * rng.normal(size=(400, n_classes)), axis=1)
    ours = LogisticRegression(150, n_classes, dtype=torch.float64).fit(x, y, C=C, max_iter=500)
    ref = SkLogisticRegression(C=C, max_iter=500).fit(x, y)
    assert (ours.predict(x).numpy() == ref.predict(x)).mean() >= 0.99
    np.testing.assert_allclose(ours.predict_proba(x).numpy(), ref.predict_proba(x), atol=0.02)
    theirs = _sk_objective(ref.coef_, ref.intercept_, x, y, C)
    mine = _sk_objective(ours.coef.detach().numpy(), ours.linear.bias.detach().numpy(), x, y, C)
    assert mine <= theirs * (1 + 1e-3)
    assert ours.objective(as_features(x, torch.float64), torch.tensor(y), C).item() == pytest.approx(mine, rel=1e-12)


def test_logistic_regression_converges_to_sklearn_optimum():
    """With a tight tolerance both solvers reach the same minimum: the same coefficients."""
    x = sp.random(300, 80, density=0.1, random_state=1, format="csr")
    y = (x @ np.random.default_rng(1).normal(size=80) > 0.1).astype(int)
    ours = LogisticRegression(80, dtype=torch.float64).fit(x, y, C=1.0, max_iter=1000, tol=1e-9)
    ref = SkLogisticRegression(C=1.0, max_iter=1000, tol=1e-9).fit(x, y)
    np.testing.assert_allclose(ours.coef.detach().numpy(), ref.coef_, atol=1e-5)
    np.testing.assert_allclose(ours.linear.bias.detach().numpy(), ref.intercept_, atol=1e-5)


def test_sparse_matmul_gradient():
    dense = (torch.rand(7, 20) < 0.3) * torch.rand(7, 20, dtype=torch.float64)
    dense[3] = 0  # an empty document
    weight = torch.randn(20, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda w: bow_matmul(dense.to_sparse_csr(), w), (weight,))
    torch.testing.assert_close(bow_matmul(dense.to_sparse_csr(), weight), dense @ weight)


def test_sparse_matmul_gradient_through_the_transpose():
    dense = (torch.rand(7, 20) < 0.3) * torch.rand(7, 20, dtype=torch.float64)
    dense[:, 5] = 0  # an absent term
    x = dense.to_sparse_csr()
    torch.testing.assert_close(csr_transpose(x).to_dense(), dense.T)
    weight = torch.randn(20, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda w: bow_matmul(x, w, csr_transpose(x)), (weight,))


def test_csr_rows():
    dense = (torch.rand(10, 6) < 0.4) * torch.rand(10, 6)
    rows = torch.tensor([7, 0, 3, 3, 9])
    torch.testing.assert_close(csr_rows(dense.to_sparse_csr(), rows).to_dense(), dense[rows])


# ----------------------------------------------------------------------------------------- feed-forward network


def test_bow_mlp_shapes_and_losses():
    features = torch.rand(5, 30)
    two = BoWMLP(BoWMLPConfig(vocab_size=30, hidden_sizes=(16, 8), dropout=0.0)).eval()
    logits = two(features)
    hidden = torch.relu(features @ two.input.weight + two.input.bias)  # SparseLinear stores W as (V, H)
    hidden = torch.relu(F.linear(hidden, two.layers[2].weight, two.layers[2].bias))  # [ReLU, Dropout, Linear] x 2
    torch.testing.assert_close(logits, F.linear(hidden, two.layers[5].weight, two.layers[5].bias))
    assert logits.shape == (5, 1)
    labels = torch.tensor([0, 1, 1, 0, 1])
    torch.testing.assert_close(two.loss(features, labels),
                               F.binary_cross_entropy_with_logits(logits[:, 0], labels.float()))
    proba = two.predict_proba(features)
    assert proba.shape == (5, 2)
    torch.testing.assert_close(proba[:, 1], torch.sigmoid(logits[:, 0]))
    torch.testing.assert_close(proba.sum(1), torch.ones(5))

    three = BoWMLP(BoWMLPConfig(vocab_size=30, hidden_sizes=(), n_classes=3))
    logits = three(features)
    assert logits.shape == (5, 3) and three.predict_proba(features).shape == (5, 3)
    torch.testing.assert_close(three.loss(features, labels + 1), F.cross_entropy(logits, labels + 1))


def test_bow_mlp_sparse_equals_dense():
    dense = (torch.rand(6, 50) < 0.2) * torch.rand(6, 50)
    model = BoWMLP(BoWMLPConfig(vocab_size=50, hidden_sizes=(12,), n_classes=3, dropout=0.0))
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    grads = []
    for x in (dense, dense.to_sparse_csr()):
        model.zero_grad()
        model.loss(x, labels).backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    torch.testing.assert_close(model(dense.to_sparse_csr()), model(dense))
    for sparse_grad, dense_grad in zip(*grads, strict=True):
        torch.testing.assert_close(sparse_grad, dense_grad)


def test_bow_mlp_learns_with_trainer():
    """Separable toy reviews; sparse batches through seqlab's Trainer."""
    texts = ["great fun film", "a great cast", "loved it great", "fun and loved",
             "awful boring film", "boring cast awful", "hated it awful", "boring and hated"] * 4
    labels = torch.tensor([1, 1, 1, 1, 0, 0, 0, 0] * 4)
    config = BoWMLPConfig(hidden_sizes=(8,), dropout=0.1)
    features = BoWFeatures(input="tfidf")
    x = features.fit_transform(texts)  # (32, V) float32 CSR
    model = BoWMLP(replace(config, vocab_size=features.vocab_size))
    before = model.loss(x, labels).item()
    cfg = TrainConfig(steps=60, batch_size=8, eval_every=1000, log_every=1000, precision="fp32", device="cpu")
    Trainer(model, cfg, OptimConfig(lr=0.05, warmup_steps=0, schedule="constant"),
            progress=False).fit(SparseBatches(x, labels, batch_size=8))
    model.eval()
    assert model.loss(x, labels).item() < before / 4
    assert (model.predict(features.transform(["a great fun cast", "awful and boring"])) == torch.tensor([1, 0])).all()


def test_config_validation():
    with pytest.raises(ValueError, match="input"):
        BoWFeatures(input="words")
    with pytest.raises(ValueError, match="dropout"):
        BoWMLPConfig(dropout=1.0)
    with pytest.raises(ValueError, match="vocab_size"):
        BoWMLP(BoWMLPConfig())
