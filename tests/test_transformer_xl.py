"""Transformer-XL: relative attention against its direct O(T^2) formula, the memory's stop-gradient, segment-by-segment
evaluation against one pass over the concatenated text with the same attention span, generation with a memory."""

import math

import pytest
import torch

from seqlab.generation import beam_generate, generate
from seqlab.models.config import TransformerXLConfig
from seqlab.models.transformer_xl import TransformerXL
from seqlab.nn.memory import SegmentMemory
from seqlab.nn.relative import RelativePositionScores, rel_shift, relative_sinusoids


def tiny(**overrides) -> TransformerXL:
    """A tiny XL whose weights are drawn wide (std 0.3, not 0.02), so that what a token attends to shows in its
    logits: at the initialisation's scale the memory would change them by less than the tolerances."""
    torch.manual_seed(0)
    cfg = dict(vocab_size=40, n_layers=2, n_heads=2, d_model=16, d_ff=32, mem_len=6, dropout=0.0)
    model = TransformerXL.from_config(TransformerXLConfig(**{**cfg, **overrides})).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(std=0.3)
    return model


def test_rel_shift_puts_distance_i_minus_j_at_i_j():
    t, m = 3, 4
    k_len = m + t
    distances = torch.arange(k_len - 1, -1, -1.0)  # column c holds distance Tk - 1 - c
    by_distance = distances.expand(t, k_len)
    shifted = rel_shift(by_distance)
    for i in range(t):
        for j in range(m + i + 1):  # the keys query i may attend to
            assert shifted[i, j] == m + i - j


@pytest.mark.parametrize(("mem", "clamp_len"), [(0, 0), (5, 0), (5, 3)])
def test_relative_scores_equal_the_direct_formula(mem, clamp_len):
    torch.manual_seed(1)
    b, h, t, dh = 2, 3, 4, 4
    d = h * dh
    rel = RelativePositionScores(d, h)
    torch.nn.init.normal_(rel.u)
    torch.nn.init.normal_(rel.v)
    q, k = torch.randn(b, h, t, dh), torch.randn(b, h, mem + t, dh)
    sinusoids = relative_sinusoids(mem + t, d, clamp_len=clamp_len)
    fast = (q @ k.transpose(-2, -1)) / math.sqrt(dh) + rel(q, k, sinusoids)  # (B, H, T, Tk)

    def r_of(distance: int) -> torch.Tensor:  # W_{k,R} R_{i-j}, per head: (H, Dh)
        distance = min(distance, clamp_len) if clamp_len else distance
        angle = distance / 10000 ** (torch.arange(0.0, d, 2.0) / d)
        return rel.r_proj(torch.cat([angle.sin(), angle.cos()])).view(h, dh)

    for i in range(t):
        for j in range(mem + i + 1):
            r = r_of(mem + i - j)
            a = (q[:, :, i] * k[:, :, j]).sum(-1) + (q[:, :, i] * r).sum(-1) \
                + (rel.u * k[:, :, j]).sum(-1) + (rel.v * r).sum(-1)  # (B, H)
            torch.testing.assert_close(fast[:, :, i, j], a / math.sqrt(dh))


def test_memory_carries_no_gradient():
    """The gradient of segment 2's loss equals the one computed over a memory that segment 1 wrote without any
    graph: nothing flows back through the memory into segment 1."""
    model = tiny()
    first, second = torch.randint(0, 40, (2, 5)), torch.randint(0, 40, (2, 5))

    def grads(memory: SegmentMemory) -> list[torch.Tensor]:
        model.zero_grad()
        model(second, memory).logsumexp(-1).sum().backward()
        return [p.grad.clone() for p in model.parameters()]

    memory = model.new_memory()
    model(first, memory)  # with autograd on
    assert all(not m.requires_grad and m.grad_fn is None for m in memory.states)
    plain = model.new_memory()
    with torch.no_grad():
        model(first, plain)
    for a, b in zip(grads(memory), grads(plain), strict=True):
        torch.testing.assert_close(a, b)


def test_training_memory_is_carried_and_reset():
    """loss(carry=True) reads the memory the previous call left (its last mem_len states); carry=False starts
    afresh: the same numbers as nll over an explicit memory."""
    model = tiny()
    first, second = torch.randint(0, 40, (2, 5)), torch.randint(0, 40, (2, 5))
    model.loss(first, first, torch.tensor(False))
    carried = model.loss(second, second, torch.tensor(True))
    memory = SegmentMemory(6)
    model.nll(first, first, memory)
    torch.testing.assert_close(carried, model.nll(second, second, memory).mean())
    assert len(model.train_memory) == 6  # mem_len
    fresh = model.loss(second, second, torch.tensor(False))
    torch.testing.assert_close(fresh, model.nll(second, second).mean())
    assert len(model.train_memory) == 5


def span_mask(n: int, seg: int, mem_len: int) -> torch.Tensor:
    """Query t may see keys from (start of its segment - mem_len) to t: the keys XL's memory gives it."""
    t = torch.arange(n)[:, None]
    j = torch.arange(n)[None, :]
    return (j <= t) & (j >= (t // seg) * seg - mem_len)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize(("seg", "mem_len"), [(4, 4), (3, 7), (5, 2)])
def test_segments_with_memory_equal_one_pass_with_the_same_span(seg, mem_len, norm_first):
    model = tiny(mem_len=mem_len, norm_first=norm_first)
    ids = torch.randint(0, 40, (2, 4 * seg))
    memory = model.new_memory()
    pieces = [model(ids[:, i : i + seg], memory) for i in range(0, ids.size(1), seg)]
    whole = model.head(model.hidden_states(ids, mask=span_mask(ids.size(1), seg, mem_len)))
    torch.testing.assert_close(torch.cat(pieces, dim=1), whole, atol=1e-5, rtol=1e-5)


def test_longer_memory_at_evaluation():
    model = tiny(mem_len=2, eval_mem_len=8)
    assert model.new_memory().mem_len == 8
    assert model.train().new_memory().mem_len == 2


def generation_span(prompt_len: int, n: int, mem_len: int) -> torch.Tensor:
    """The keys generation gives each token: the prompt is one segment without memory, then every token is a
    one-token segment over the last mem_len states."""
    t, j = torch.arange(n)[:, None], torch.arange(n)[None, :]
    start = torch.where(t < prompt_len, torch.zeros_like(t), t)
    return (j <= t) & (j >= start - torch.where(t < prompt_len, 0, mem_len))


def test_generation_steps_give_the_logits_of_one_pass_with_their_span():
    """Past eval_mem_len too: each step's logits (to 1e-5) are those of the whole text read once with the keys the
    memory gave that token."""
    model = tiny(mem_len=2, eval_mem_len=3)
    text = torch.randint(0, 40, (2, 12))
    prompt_len = 4
    logits, state = model.prefill(text[:, :prompt_len], 12)
    steps = [logits]
    for n in range(prompt_len, text.size(1) - 1):
        logits, state = model.step(text[:, n : n + 1], state)
        steps.append(logits)
    assert len(state.memory) == 3
    whole = model.head(model.hidden_states(text[:, :-1], mask=generation_span(prompt_len, 11, 3)))
    torch.testing.assert_close(torch.stack(steps, dim=1), whole[:, prompt_len - 1 :], atol=1e-5, rtol=1e-5)


def test_greedy_generation_through_the_loop():
    model = tiny(mem_len=16)
    prompt = torch.randint(0, 40, (1, 4))
    text = generate(model, prompt, 6, temperature=0.0)  # (1, 10)
    assert text.shape == (1, 10)
    for n in range(prompt.size(1), text.size(1)):  # within the memory: the argmax of the text read whole
        assert int(model(text[:, :n])[:, -1].argmax()) == int(text[0, n])


def test_beam_search_reorders_the_memory():
    """The beam's score is the log-probability of its text, read again in one pass: a memory left with the wrong
    hypotheses after ``reorder_state`` would score other texts."""
    model = tiny(mem_len=2, eval_mem_len=3)
    prompt = torch.randint(0, 40, (2, 4))
    tokens, scores = beam_generate(model, prompt, 5, beam_size=4)
    log_p = model.head(model.hidden_states(tokens[:, :-1], mask=generation_span(4, 8, 3))).log_softmax(-1)
    rescored = log_p[:, 3:].gather(-1, tokens[:, 4:, None]).squeeze(-1).sum(-1)  # (B,)
    torch.testing.assert_close(scores, rescored, atol=1e-4, rtol=1e-5)


def test_adaptive_softmax_head_trains():
    model = tiny(adaptive_cutoffs=[10, 25]).train()
    ids = torch.randint(0, 40, (2, 6))
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    losses = []
    for _ in range(30):
        loss = model.loss(ids[:, :-1], ids[:, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 2
    log_p = model.eval()(ids)
    torch.testing.assert_close(log_p.logsumexp(-1), torch.zeros(2, 6), atol=1e-5, rtol=0)


def test_parity_with_hugging_face_transfo_xl():
    """The deprecated TransfoXLLMHeadModel on a tiny random config, weights copied, two segments. It runs under
    transformers <= 4.37 (4.38 to 4.45 cannot run TransfoXL at all; 5 removed it). Hugging Face's scores are
    log-probabilities, and its default first memory is mem_len zero states: it is given an empty one, as ours is."""
    transformers = pytest.importorskip("transformers")
    if not hasattr(transformers, "TransfoXLLMHeadModel"):
        pytest.skip(f"transformers {transformers.__version__} no longer ships TransfoXLLMHeadModel")
    hf_config = transformers.TransfoXLConfig(
        vocab_size=50, cutoffs=[], d_model=16, d_embed=16, n_head=2, d_head=8, d_inner=32, div_val=1, n_layer=2,
        mem_len=5, clamp_len=-1, same_length=False, dropout=0.0, dropatt=0.0, adaptive=False, untie_r=True)
    torch.manual_seed(0)
    ref = transformers.TransfoXLLMHeadModel(hf_config).eval()
    with torch.no_grad():  # the reference initialises u and v, and every bias, as zeros or constants
        for p in ref.parameters():
            p.normal_(std=0.2)
    ours = TransformerXL.from_hf(ref.state_dict(), hf_config.to_dict()).eval()
    ids = torch.randint(0, 50, (2, 7))
    memory, mems = ours.new_memory(), [torch.zeros(0, 2, 16) for _ in range(2)]  # (M, B, D) per layer
    for segment in (ids[:, :4], ids[:, 4:]):
        out = ref(segment, mems=mems)
        mems = out.mems
        torch.testing.assert_close(ours(segment, memory).log_softmax(-1), out.prediction_scores, atol=1e-5,
                                   rtol=1e-4)
    for ours_mem, ref_mem in zip(memory.states, mems, strict=True):
        torch.testing.assert_close(ours_mem, ref_mem.transpose(0, 1))
