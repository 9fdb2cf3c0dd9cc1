import itertools

import pytest
import torch

from seqlab.nn.crf import CRF

K = 3


def _problem(lengths: list[int], seed: int = 0) -> tuple[CRF, torch.Tensor, torch.Tensor]:
    """A float64 CRF with non-trivial parameters, emissions (B, T, K) and a left-aligned mask (B, T)."""
    g = torch.Generator().manual_seed(seed)
    crf = CRF(K).double()
    with torch.no_grad():
        for p in crf.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64))
    emissions = torch.randn(len(lengths), max(lengths), K, generator=g, dtype=torch.float64)
    mask = torch.arange(max(lengths))[None, :] < torch.tensor(lengths)[:, None]
    return crf, emissions, mask


def _path_score(crf: CRF, emissions: torch.Tensor, path: tuple[int, ...]) -> torch.Tensor:
    """score(x, y) written out for one sequence (T, K) and one path: the lecture formula, term by term."""
    s = crf.start_transitions[path[0]] + crf.end_transitions[path[-1]]
    for t, tag in enumerate(path):
        s = s + emissions[t, tag]
        if t > 0:
            s = s + crf.transitions[path[t - 1], tag]
    return s


def _brute_force(crf: CRF, emissions: torch.Tensor, n: int) -> tuple[torch.Tensor, list[int], dict]:
    """log Z, the best path and every path's score, by enumerating all K^n paths."""
    scores = {path: _path_score(crf, emissions[:n], path) for path in itertools.product(range(K), repeat=n)}
    log_z = torch.logsumexp(torch.stack(list(scores.values())), dim=0)
    best = max(scores, key=lambda p: scores[p].item())
    return log_z, list(best), scores


LENGTHS = [[1], [4], [4, 2, 1, 3], [2, 2]]


@pytest.mark.parametrize("lengths", LENGTHS)
def test_log_partition_and_viterbi_match_brute_force(lengths):
    crf, emissions, mask = _problem(lengths, seed=len(lengths))
    log_z = crf.log_partition(emissions, mask)
    paths = crf.decode(emissions, mask)
    for b, n in enumerate(lengths):
        expected_log_z, expected_path, _ = _brute_force(crf, emissions[b], n)
        torch.testing.assert_close(log_z[b], expected_log_z, rtol=0, atol=1e-12)
        assert paths[b] == expected_path


def test_padding_content_is_ignored():
    crf, emissions, mask = _problem([4, 2, 1, 3], seed=1)
    tags = torch.randint(0, K, mask.shape)
    noisy = emissions.masked_fill(~mask[..., None], 1e3)  # huge emissions where there is no token
    odd_tags = tags.masked_fill(~mask, -100)  # out-of-range ids where there is no token
    torch.testing.assert_close(crf.nll(noisy, odd_tags, mask), crf.nll(emissions, tags, mask))
    assert crf.decode(noisy, mask) == crf.decode(emissions, mask)


def test_nll_is_a_normalised_negative_log_likelihood():
    lengths = [3, 1, 2]
    crf, emissions, mask = _problem(lengths, seed=2)
    for b, n in enumerate(lengths):
        _, _, scores = _brute_force(crf, emissions[b], n)
        total = torch.zeros((), dtype=torch.float64)
        for path in scores:
            tags = torch.zeros(1, max(lengths), dtype=torch.long)
            tags[0, :n] = torch.tensor(path)
            nll = crf.nll(emissions[b : b + 1], tags, mask[b : b + 1])
            assert nll.item() >= 0.0
            torch.testing.assert_close(nll[0], torch.logsumexp(torch.stack(list(scores.values())), 0) - scores[path])
            total = total + torch.exp(-nll[0])
        torch.testing.assert_close(total, torch.ones((), dtype=torch.float64), rtol=0, atol=1e-12)


def test_gradients_reach_every_parameter_and_the_emissions():
    crf, emissions, mask = _problem([4, 2], seed=3)
    emissions.requires_grad_(True)
    tags = torch.randint(0, K, mask.shape)
    crf.nll(emissions, tags, mask).sum().backward()
    for name, p in crf.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert emissions.grad[~mask].abs().sum() == 0  # padding gets no gradient
    assert emissions.grad[mask].abs().sum() > 0
    # d nll / d e_t(j) = p(y_t = j | x) - [y_t = j]: the marginals sum to 1 at each real position
    marginals = emissions.grad + torch.nn.functional.one_hot(tags, K).double() * mask[..., None]
    torch.testing.assert_close(marginals.sum(-1)[mask], torch.ones(int(mask.sum()), dtype=torch.float64))


def test_gradcheck_float64():
    crf, emissions, mask = _problem([3, 2], seed=4)
    tags = torch.randint(0, K, mask.shape)
    names = [name for name, _ in crf.named_parameters()]

    def nll(e: torch.Tensor, *params: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(crf, dict(zip(names, params, strict=True)), (e, tags, mask))

    inputs = [emissions, *(p.detach().clone() for p in crf.parameters())]
    assert torch.autograd.gradcheck(nll, [x.requires_grad_(True) for x in inputs])


def test_learns_a_deterministic_tagging_task():
    """Tag = (token id) mod K, except that tag 2 never follows tag 2 (it becomes 0): the emissions alone
    (a lookup table of the token) cannot express the second rule, the transitions must learn it."""
    torch.manual_seed(0)
    vocab, batch, length = 6, 32, 5

    def make(n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        tokens = torch.randint(0, vocab, (n, length))
        tags = tokens % K
        for t in range(1, length):
            tags[:, t] = torch.where((tags[:, t] == 2) & (tags[:, t - 1] == 2), 0, tags[:, t])
        lengths = torch.randint(1, length + 1, (n,))
        return tokens, tags, torch.arange(length)[None, :] < lengths[:, None]

    embed, crf = torch.nn.Embedding(vocab, K), CRF(K)
    optimizer = torch.optim.Adam([*embed.parameters(), *crf.parameters()], lr=0.1)
    for _ in range(150):
        tokens, tags, mask = make(batch)
        loss = crf.nll(embed(tokens), tags, mask).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    tokens, tags, mask = make(64)
    predicted = crf.decode(embed(tokens), mask)
    gold = [row[:n] for row, n in zip(tags.tolist(), mask.sum(1).tolist(), strict=True)]
    assert predicted == gold
    assert loss.item() < 0.2  # nats per sequence, from ~5 at the start


def test_rejects_bad_shapes():
    crf = CRF(K)
    with pytest.raises(ValueError, match="emissions"):
        crf.decode(torch.zeros(2, 3, K + 1))
    with pytest.raises(ValueError, match="at least one token"):
        crf.decode(torch.zeros(2, 3, K), torch.tensor([[True, True, False], [False, False, False]]))


@pytest.mark.filterwarnings("ignore:where received a uint8:UserWarning")  # inside torchcrf
def test_matches_pytorch_crf():
    torchcrf = pytest.importorskip("torchcrf")
    lengths = [4, 2, 1, 3]
    ours, emissions, mask = _problem(lengths, seed=5)
    ref = torchcrf.CRF(K, batch_first=True).double()
    ref.load_state_dict(ours.state_dict())  # same parameter names: transitions, start_/end_transitions
    tags = torch.randint(0, K, mask.shape)
    expected = -ref(emissions, tags, mask, reduction="none")  # torchcrf returns the log-likelihood
    torch.testing.assert_close(ours.nll(emissions, tags, mask), expected)
    assert ours.decode(emissions, mask) == ref.decode(emissions, mask)
    # and on a batch without padding, with the default mask
    ours, emissions, _ = _problem([4, 4, 4], seed=6)
    ref.load_state_dict(ours.state_dict())
    tags = torch.randint(0, K, (3, 4))
    torch.testing.assert_close(ours.nll(emissions, tags), -ref(emissions, tags, reduction="none"))
    assert ours.decode(emissions) == ref.decode(emissions)
