import math

import pytest
import torch

from seqlab.generation.sampling import filter_logits, sample_next

B, V = 4, 50


def _kept(logits: torch.Tensor) -> torch.Tensor:
    return torch.isfinite(logits)


def test_top_k_keeps_exactly_the_k_largest():
    logits = torch.randn(B, V)
    for k in (1, 5, V, V + 3):
        kept = _kept(filter_logits(logits, top_k=k))
        assert kept.sum(-1).tolist() == [min(k, V)] * B
        smallest_kept = logits.masked_fill(~kept, math.inf).min(-1).values
        largest_dropped = logits.masked_fill(kept, -math.inf).max(-1).values
        assert (smallest_kept > largest_dropped).all()
    ties = torch.zeros(1, 6)
    assert _kept(filter_logits(ties, top_k=2)).sum() == 2


def test_top_p_matches_a_hand_computed_nucleus():
    probs = torch.tensor([[0.05, 0.4, 0.1, 0.3, 0.15]])
    logits = probs.log()
    # by probability: 0.4 (token 1), 0.3 (3), 0.15 (4), 0.1 (2), 0.05 (0); running mass 0.4, 0.7, 0.85, 0.95, 1
    # (p away from the running masses: at an exact tie, float rounding decides)
    cases = {0.1: {1}, 0.39: {1}, 0.41: {1, 3}, 0.69: {1, 3}, 0.71: {1, 3, 4}, 0.9: {1, 3, 4, 2},
             0.96: set(range(5)), 1.0: set(range(5))}
    for p, expected in cases.items():
        kept = _kept(filter_logits(logits, top_p=p))[0]
        assert set(kept.nonzero().flatten().tolist()) == expected, p
    # renormalised over the nucleus
    filtered = torch.softmax(filter_logits(logits, top_p=0.6), -1)
    torch.testing.assert_close(filtered[0, [1, 3]], torch.tensor([0.4, 0.3]) / 0.7)


def test_top_p_always_keeps_one_token():
    logits = torch.tensor([[10.0, 0.0, 0.0]])
    assert _kept(filter_logits(logits, top_p=1e-6)).tolist() == [[True, False, False]]


@pytest.mark.parametrize(("top_k", "top_p"), [(5, None), (None, 0.3), (None, 0.9), (10, 0.8), (1, 0.5)])
def test_filters_match_hugging_face_warpers(top_k, top_p):
    logits_process = pytest.importorskip("transformers.generation.logits_process")
    logits = torch.randn(8, V) * 3
    expected = logits.clone()
    if top_k is not None:
        expected = logits_process.TopKLogitsWarper(top_k=top_k)(None, expected)
    if top_p is not None:
        expected = logits_process.TopPLogitsWarper(top_p=top_p)(None, expected)
    assert torch.equal(_kept(filter_logits(logits, top_k=top_k, top_p=top_p)), _kept(expected))
    torch.testing.assert_close(filter_logits(logits, top_k=top_k, top_p=top_p), expected)


def test_temperature_zero_is_argmax():
    logits = torch.randn(B, V)
    assert torch.equal(sample_next(logits, temperature=0.0), logits.argmax(-1))
    assert torch.equal(sample_next(logits, temperature=0.0, top_k=3, top_p=0.5), logits.argmax(-1))
    # k = 1 is greedy at any temperature
    assert torch.equal(sample_next(logits, top_k=1, temperature=2.0), logits.argmax(-1))


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_empirical_frequencies_match_softmax(temperature):
    logits = torch.tensor([2.0, 1.0, 0.0, -1.0, 0.5])
    n = 20_000
    g = torch.Generator().manual_seed(0)
    draws = sample_next(logits.expand(n, -1), temperature=temperature, generator=g)
    frequencies = torch.bincount(draws, minlength=5).double() / n
    expected = torch.softmax(logits.double() / temperature, -1)
    # 4 standard errors of a binomial proportion: fails by chance with probability ~1e-4 per token
    assert (frequencies - expected).abs().le(4 * (expected * (1 - expected) / n).sqrt() + 1e-12).all()


def test_sampling_after_top_k_and_top_p_draws_only_kept_tokens_in_proportion():
    logits = torch.tensor([2.0, 1.0, 0.0, -1.0, 0.5])  # after top-4: 0.58, 0.21, 0.08, -, 0.13; mass 0.58, 0.79, 0.92
    n = 20_000
    g = torch.Generator().manual_seed(1)
    draws = sample_next(logits.expand(n, -1), top_k=4, top_p=0.85, generator=g)
    frequencies = torch.bincount(draws, minlength=5).double() / n
    expected = torch.zeros(5, dtype=torch.float64)
    expected[[0, 1, 4]] = torch.softmax(logits.double()[[0, 1, 4]], -1)
    assert frequencies[[2, 3]].sum() == 0
    assert (frequencies - expected).abs().max() < 0.015


def test_a_fixed_generator_reproduces_the_draws():
    logits = torch.randn(B, V)
    first = [sample_next(logits, top_p=0.9, generator=torch.Generator().manual_seed(7)) for _ in range(2)]
    assert torch.equal(first[0], first[1])
    g = torch.Generator().manual_seed(7)
    runs = torch.stack([sample_next(logits, generator=g) for _ in range(20)])
    assert len({tuple(r.tolist()) for r in runs}) > 1  # the generator advances between calls
    g = torch.Generator().manual_seed(7)
    assert torch.equal(runs, torch.stack([sample_next(logits, generator=g) for _ in range(20)]))
    assert sample_next(logits).dtype == torch.long and sample_next(logits).shape == (B,)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"temperature": -0.1}, "temperature"), ({"temperature": math.nan}, "temperature"),
    ({"top_k": 0}, "top_k"), ({"top_k": 2.5}, "top_k"),
    ({"top_p": 0.0}, "top_p"), ({"top_p": 1.5}, "top_p"),
])
def test_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        sample_next(torch.randn(B, V), **kwargs)
    with pytest.raises(ValueError, match="must be \\(B, V\\)"):
        sample_next(torch.randn(V))
