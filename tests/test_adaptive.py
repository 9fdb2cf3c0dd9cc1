"""seqlab.nn.AdaptiveSoftmax against torch.nn.AdaptiveLogSoftmaxWithLoss, and the tied layout's own laws."""

import pytest
import torch
from torch import nn

from seqlab.nn.adaptive import AdaptiveSoftmax


def _pair(head_bias: bool) -> tuple[AdaptiveSoftmax, nn.AdaptiveLogSoftmaxWithLoss]:
    torch.manual_seed(0)
    ref = nn.AdaptiveLogSoftmaxWithLoss(16, 50, [10, 30], div_value=2.0, head_bias=head_bias)
    ours = AdaptiveSoftmax(16, 50, [10, 30], div_value=2.0, head_bias=head_bias)
    ours.load_state_dict(ref.state_dict())
    return ours, ref


@pytest.mark.parametrize("head_bias", [False, True])
def test_matches_torch_adaptive_log_softmax(head_bias):
    ours, ref = _pair(head_bias)
    x, targets = torch.randn(40, 16), torch.randint(0, 50, (40,))
    torch.testing.assert_close(ours(x), ref.log_prob(x))
    torch.testing.assert_close(ours.nll(x, targets).mean(), ref(x, targets).loss)


def test_gradients_match_torch():
    ours, ref = _pair(False)
    x, targets = torch.randn(40, 16), torch.randint(0, 50, (40,))
    ours.nll(x, targets).mean().backward()
    ref(x, targets).loss.backward()
    for (name, a), (_, b) in zip(ours.named_parameters(), ref.named_parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad, msg=name)


def test_tied_layout_is_a_distribution_and_nll_reads_it():
    torch.manual_seed(1)
    embed = nn.Embedding(50, 8)
    head = AdaptiveSoftmax(8, 50, [5, 20], tied_weight=embed.weight)
    x, targets = torch.randn(3, 7, 8), torch.randint(0, 50, (3, 7))
    log_p = head(x)  # (3, 7, 50)
    torch.testing.assert_close(log_p.logsumexp(-1), torch.zeros(3, 7), atol=1e-5, rtol=0)
    torch.testing.assert_close(head.nll(x, targets), -log_p.gather(-1, targets[..., None]).squeeze(-1))
    # the tail words score x . E_w: the embedding is the output layer
    head.nll(x, torch.full((3, 7), 40)).sum().backward()
    assert embed.weight.grad[20:].abs().sum() > 0 and embed.weight.grad[5:20].abs().sum() == 0
    assert sum(p.numel() for p in head.parameters()) == 50 * 8 + 2 * 8  # the embedding, and the cluster rows


def test_ignored_targets_score_zero():
    head = AdaptiveSoftmax(8, 50, [5, 20], div_value=2.0)
    x, targets = torch.randn(6, 8), torch.tensor([1, -100, 30, 7, -100, 49])
    nll = head.nll(x, targets)
    assert nll[1] == 0 and nll[4] == 0 and (nll[[0, 2, 3, 5]] > 0).all()


@pytest.mark.parametrize("cutoffs", [[], [20, 10], [0, 10], [10, 50]])
def test_bad_cutoffs_are_refused(cutoffs):
    with pytest.raises(ValueError, match="cutoffs"):
        AdaptiveSoftmax(8, 50, cutoffs)


def test_tied_bias_scores_each_word_like_a_tied_linear_head():
    """With one cluster cut at V - 1 the tail holds one word, so log p(w) for the head words is log_softmax over
    [x . E_w + b_w, cluster logit]: check it against that formula written out."""
    torch.manual_seed(2)
    embed = nn.Embedding(12, 4)
    head = AdaptiveSoftmax(4, 12, [11], tied_weight=embed.weight, bias=True)
    with torch.no_grad():
        head.bias.normal_()
    x = torch.randn(5, 4)
    logits = torch.cat([x @ embed.weight[:11].t() + head.bias[:11], head.cluster(x)], dim=-1)
    torch.testing.assert_close(head(x)[:, :11], logits.log_softmax(-1)[:, :11])
    head.nll(x, torch.tensor([0, 3, 11, 5, 2])).sum().backward()
    assert head.bias.grad is not None and head.bias.grad.abs().sum() > 0


def test_per_word_bias_needs_the_tied_layout():
    with pytest.raises(ValueError, match="tied"):
        AdaptiveSoftmax(8, 50, [5, 20], bias=True)
