"""MemN2N (seqlab.models.memnet) against the paper's equations written out naively, one example and one hop at a
time; the lecture's u_0 = 0 form; the position and temporal encodings; random noise; the linear start."""

import math

import pytest
import torch
import torch.nn.functional as F

from seqlab.models.config import MemN2NConfig
from seqlab.models.memnet import MemN2N, SentenceEmbedding, ages, position_encoding

V = 17


def random_model(**overrides) -> MemN2N:
    torch.manual_seed(0)
    model = MemN2N(MemN2NConfig(vocab_size=V, dim=8, memory_size=10, **overrides))
    with torch.no_grad():  # larger weights than the paper's 0.1, so that every term moves the logits
        for p in model.parameters():
            p.normal_(0, 0.5)
        for table in model.words:
            table.weight[0].zero_()
    return model.eval()


def random_story(batch=3, memories=5, words=4, seed=1):
    g = torch.Generator().manual_seed(seed)
    story = torch.randint(1, V, (batch, memories, words), generator=g)
    story[0, 3:] = 0  # a story of 3 sentences
    story[1, :, 2:] = 0  # short sentences
    story[2, 1, 3] = 0
    question = torch.randint(1, V, (batch, 3), generator=g)
    question[0, 2] = 0
    return story, question


def reference(model: MemN2N, story: torch.Tensor, question: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The paper's equations, one example and one hop at a time, with explicit A_k, C_k, B and W."""
    cfg, d = model.cfg, model.cfg.dim
    E = [t.weight for t in model.words]
    T = [t.weight for t in model.times]
    if cfg.tying == "adjacent":
        A = [E[k] for k in range(cfg.hops)]
        C = [E[k + 1] for k in range(cfg.hops)]
        TA = [T[k] for k in range(cfg.hops)] if cfg.temporal else None
        TC = [T[k + 1] for k in range(cfg.hops)] if cfg.temporal else None
        B, W = E[0], E[-1]
    else:
        A, C, B, W = [E[0]] * cfg.hops, [E[1]] * cfg.hops, E[2], model.W.weight
        TA, TC = ([T[0]] * cfg.hops, [T[1]] * cfg.hops) if cfg.temporal else (None, None)

    def bag(table, sentence):
        ids = [int(i) for i in sentence if i != 0]
        out = torch.zeros(d)
        for j, word in enumerate(ids, 1):
            if cfg.encoding == "pe":
                J = len(ids)
                l = torch.tensor([(1 - j / J) - (k / d) * (1 - 2 * j / J) for k in range(1, d + 1)])
            else:
                l = torch.ones(d)
            out = out + l * table[word]
        return out

    logits, attention = [], []
    for b in range(len(story)):
        sentences = [s for s in story[b] if s.ne(0).any()]
        n = len(sentences)
        u = bag(B, question[b])
        hops = []
        for k in range(cfg.hops):
            m = torch.stack([bag(A[k], s) + (TA[k][n - 1 - i] if TA else 0) for i, s in enumerate(sentences)])
            c = torch.stack([bag(C[k], s) + (TC[k][n - 1 - i] if TC else 0) for i, s in enumerate(sentences)])
            p = m @ u if model.linear else torch.softmax(m @ u, 0)
            o = p @ c
            u = u + o if cfg.tying == "adjacent" else model.H.weight @ u + o
            if cfg.nonlinear:
                u = torch.relu(u)
            hops.append(F.pad(p, (0, story.size(1) - n)))
        logits.append((W @ u).index_fill(0, torch.tensor([0]), float("-inf")))  # padding is no answer
        attention.append(torch.stack(hops))
    return torch.stack(logits), torch.stack(attention)


@pytest.mark.parametrize("options", [dict(), dict(encoding="bow"), dict(temporal=False),
                                     dict(tying="layerwise", nonlinear=True), dict(hops=1)])
def test_the_model_computes_the_papers_equations(options):
    model = random_model(**options)
    story, question = random_story()
    logits, attention = model.attend(story, question)
    want_logits, want_attention = reference(model, story, question)
    torch.testing.assert_close(logits, want_logits, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(attention, want_attention, atol=1e-5, rtol=1e-5)


def test_the_linear_start_removes_the_softmax():
    model = random_model()
    model.linear = True
    story, question = random_story()
    logits, attention = model.attend(story, question)
    want_logits, want_attention = reference(model, story, question)
    torch.testing.assert_close(logits, want_logits, atol=1e-3, rtol=1e-4)
    torch.testing.assert_close(attention, want_attention, atol=1e-4, rtol=1e-4)
    assert not torch.allclose(attention.sum(-1), torch.ones(3, 3))  # not a distribution any more
    assert attention[0, :, 3:].eq(0).all()  # and still nothing from the slots without a sentence


def test_lecture_form_u0_zero_gives_uniform_weights_and_the_mean_memory():
    """Deck 002: start from u = 0; a = softmax(u^T M) is uniform over the memory and the read is its mean."""
    model = random_model()
    keys, values = torch.randn(2, 6, 8), torch.randn(2, 6, 8)
    mask = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    o, p = model.hop(torch.zeros(2, 8), keys, values, mask)
    torch.testing.assert_close(p[0], torch.full((6,), 1 / 6))
    torch.testing.assert_close(p[1], torch.tensor([0.25] * 4 + [0.0] * 2))
    torch.testing.assert_close(o[0], values[0].mean(0))
    torch.testing.assert_close(o[1], values[1, :4].mean(0))
    _, p_next = model.hop(o, keys, values, mask)  # the next hop, queried by what was read, is not uniform
    assert not torch.allclose(p_next[0], p[0])


def test_position_encoding_is_the_papers_formula_and_ignores_padding():
    words = torch.tensor([[5, 6, 7, 0, 0]])
    l = position_encoding(words, 4)
    J, d = 3, 4
    want = torch.tensor([[(1 - j / J) - (k / d) * (1 - 2 * j / J) for k in range(1, d + 1)] for j in range(1, J + 1)])
    torch.testing.assert_close(l[0, :3], want)
    assert l[0, 3:].eq(0).all()
    torch.testing.assert_close(position_encoding(torch.tensor([[5, 6, 7]]), 4)[0], want)


@pytest.mark.parametrize("encoding", ["pe", "bow"])
def test_sentence_embedding_is_the_weighted_sum_of_its_word_vectors(encoding):
    tables = torch.randn(V, 3 * 4)  # three tables of width 4, side by side
    words = torch.tensor([[[3, 4, 5, 0], [6, 0, 0, 0]], [[7, 8, 9, 10], [0, 0, 0, 0]]])
    out = SentenceEmbedding(4, encoding)(words, tables)  # (2, 2, 12)
    weights = position_encoding(words, 4).repeat(1, 1, 1, 3) if encoding == "pe" else words.ne(0)[..., None].float()
    want = (F.embedding(words, tables) * weights).sum(-2)
    torch.testing.assert_close(out, want)
    padded = F.pad(words, (0, 3))  # more padding: the same sentences
    torch.testing.assert_close(SentenceEmbedding(4, encoding)(padded, tables), out)


def test_ages_count_from_the_most_recent_sentence():
    mask = torch.tensor([[True, True, True, False], [True, False, False, False]])
    assert ages(mask, 10).tolist() == [[2, 1, 0, 0], [0, 0, 0, 0]]
    assert ages(mask, 2).tolist() == [[1, 1, 0, 0], [0, 0, 0, 0]]  # past the memory: its last slot


def test_random_noise_slips_empty_memories_in_and_keeps_the_order():
    torch.manual_seed(0)
    n, memories = 30, 40
    mask = torch.arange(memories).lt(n).expand(2000, memories)
    time = ages(mask, 100, noise=0.1)[:, :n]  # (B, n)
    assert time.diff(dim=1).lt(0).all()  # the oldest sentence stays the oldest: strictly decreasing ages
    blanks = time[:, 0] - (n - 1)  # the oldest sentence's age is n - 1 + the blanks slipped in
    assert blanks.min() == 0 and blanks.max() == math.ceil(0.1 * n)  # 0 .. ceil(0.1 n) blanks
    assert time[:, -1].gt(0).any() and time.min() >= 0  # the newest is sometimes not at age 0
    assert ages(mask[:1], 100, noise=0.0)[0, :n].tolist() == list(range(n - 1, -1, -1))


def test_noise_applies_in_training_only():
    model = random_model()
    story, question = random_story()
    first = model(story, question)
    torch.testing.assert_close(model(story, question), first)
    model.train()
    torch.manual_seed(3)
    assert any(not torch.allclose(model(story, question), first) for _ in range(5))


def test_padding_and_batching_do_not_change_an_answer():
    model = random_model()
    story, question = random_story()
    logits = model(story, question)
    padded = F.pad(story, (0, 2, 0, 3))  # more words per sentence, more memory slots
    torch.testing.assert_close(model(padded, F.pad(question, (0, 4))), logits, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(model(story[1:2, :, :2], question[1:2]), logits[1:2], atol=1e-5, rtol=1e-5)


def test_an_empty_story_reads_nothing():
    model = random_model()
    logits, attention = model.attend(torch.zeros(1, 3, 4, dtype=torch.long), torch.tensor([[1, 2]]))
    assert torch.isfinite(logits[:, 1:]).all() and attention.eq(0).all()


def test_training_keeps_the_padding_word_at_zero_and_learns():
    model = random_model()
    model.train()
    story, question = random_story()
    answer = torch.tensor([1, 2, 3])
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    before = model.loss(story, question, answer).item()
    for _ in range(50):
        opt.zero_grad()
        model.loss(story, question, answer).backward()
        opt.step()
    assert model.loss(story, question, answer).item() < before / 2
    assert all(t.weight[0].eq(0).all() for t in model.words)


def test_adjacent_tying_shares_the_tables_between_hops():
    model = random_model(hops=3)
    assert len(model.words) == 4 and len(model.times) == 4 and model.W is None and model.H is None
    layerwise = random_model(tying="layerwise")
    assert len(layerwise.words) == 3 and layerwise.H is not None and layerwise.W is not None


@pytest.mark.parametrize("bad, message", [(dict(encoding="lstm"), "encoding"), (dict(tying="none"), "tying"),
                                          (dict(hops=0), "hops"), (dict(random_noise=1.0), "random_noise")])
def test_bad_configs_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        MemN2NConfig(**bad)
    with pytest.raises(ValueError, match="preset"):
        MemN2NConfig.from_name("huge")
    assert MemN2NConfig.from_name("nonlinear").dim == 100


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    model = random_model(tying="layerwise", nonlinear=True)
    story, question = random_story()
    logits, attention = model.attend(story, question)
    cuda_logits, cuda_attention = model.cuda().attend(story.cuda(), question.cuda())
    torch.testing.assert_close(cuda_logits.cpu(), logits, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(cuda_attention.cpu(), attention, atol=1e-5, rtol=1e-5)
    model.train()
    model.loss(story.cuda(), question.cuda(), torch.tensor([1, 2, 3]).cuda()).backward()  # noise on the device too
