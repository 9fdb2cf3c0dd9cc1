"""The one generation loop: a recurrent LM and a KV-cached attention LM through the same protocol.

Cached / stateful generation must equal recomputing the whole prefix at every step (exact for greedy, the
same draws for sampling with the same seed), beam search must find the exhaustive best, and the stop rules
and the streaming callback must do what they say.
"""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from seqlab.generation import beam_generate, generate, sample_next
from seqlab.models.rnn import RNNLanguageModel, RNNLMConfig
from seqlab.nn import KVCache, MultiHeadAttention

V = 7


class TinyAttentionLM(nn.Module):
    """One causal attention layer with learned positions: a stand-in for GPT in the protocol (state = KV cache)."""

    def __init__(self, d: int = 16, heads: int = 2, max_len: int = 32):
        super().__init__()
        self.embed, self.pos = nn.Embedding(V, d), nn.Embedding(max_len, d)
        self.attn, self.head = MultiHeadAttention(d, heads), nn.Linear(d, V)
        self.heads = heads

    def forward(self, tokens, *, cache=None, start=0):
        """tokens (B, T) at positions start.. -> logits (B, T, V); without a cache: causal over tokens alone."""
        pos = torch.arange(start, start + tokens.size(1))
        x = self.embed(tokens) + self.pos(pos)
        if cache is None:
            return self.head(self.attn(x, is_causal=True)[0])
        return self.head(self.attn(x, is_causal=True, kv_cache=cache, input_pos=pos)[0])

    def prefill(self, prompt, max_len):
        cache = KVCache(prompt.size(0), max_len, self.heads, self.attn.head_dim)
        logits = self(prompt, cache=cache)
        return logits[:, -1], (cache, prompt.size(1))

    def step(self, tokens, state):
        cache, position = state
        return self(tokens, cache=cache, start=position)[:, -1], (cache, position + 1)

    @staticmethod
    def reorder_state(state, index):
        state[0].reorder(index)
        return state


class Recompute(nn.Module):
    """The reference: no state at all, the whole prefix is fed again at every step."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def _logits(self, prefix):
        out = self.model(prefix)
        return (out[0] if isinstance(out, tuple) else out)[:, -1]

    def prefill(self, prompt, max_len):
        return self._logits(prompt), prompt

    def step(self, tokens, prefix):
        prefix = torch.cat([prefix, tokens], 1)
        return self._logits(prefix), prefix

    @staticmethod
    def reorder_state(prefix, index):
        return prefix.index_select(0, index)


def rnn_lm(cell="lstm"):
    torch.manual_seed(0)
    model = RNNLanguageModel.from_config(RNNLMConfig(vocab_size=V, embed_dim=8, hidden_size=12, num_layers=2,
                                                     cell=cell, dropout=0.0))
    with torch.no_grad():
        model.head.weight.mul_(4)  # spread the logits so paths differ
    return model.eval()


def attention_lm():
    torch.manual_seed(1)
    model = TinyAttentionLM()
    with torch.no_grad():
        model.head.weight.mul_(4)
    return model.eval()


MODELS = {"lstm": lambda: rnn_lm("lstm"), "gru": lambda: rnn_lm("gru"), "attention": attention_lm}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_greedy_with_state_equals_recomputing_the_prefix(name):
    model = MODELS[name]()
    prompt = torch.randint(0, V, (3, 4), generator=torch.Generator().manual_seed(2))
    greedy = generate(model, prompt, 10, temperature=0)
    assert torch.equal(greedy, generate(Recompute(model), prompt, 10, temperature=0))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_sampling_with_state_draws_what_recomputing_draws(name):
    model = MODELS[name]()
    prompt = torch.randint(0, V, (4, 3), generator=torch.Generator().manual_seed(3))
    kwargs = dict(temperature=0.9, top_k=5, top_p=0.9)
    a = generate(model, prompt, 12, generator=torch.Generator().manual_seed(5), **kwargs)
    b = generate(Recompute(model), prompt, 12, generator=torch.Generator().manual_seed(5), **kwargs)
    assert torch.equal(a, b)
    c = generate(model, prompt, 12, generator=torch.Generator().manual_seed(6), **kwargs)
    assert not torch.equal(a, c)  # the seed matters


def test_rnn_lm_through_the_loop_equals_a_hand_written_loop():
    model = rnn_lm()
    prompt = torch.randint(0, V, (2, 3), generator=torch.Generator().manual_seed(4))
    g = torch.Generator().manual_seed(9)
    logits, state = model(prompt)
    tokens = [prompt]
    for _ in range(8):
        nxt = sample_next(logits[:, -1], temperature=1.0, top_k=4, generator=g)
        tokens.append(nxt[:, None])
        logits, state = model(nxt[:, None], state)
    expected = torch.cat(tokens, 1)
    got = generate(model, prompt, 8, temperature=1.0, top_k=4, generator=torch.Generator().manual_seed(9))
    assert torch.equal(got, expected)


def sequence_log_prob(model, prompt, continuation):
    logits, _ = model(torch.cat([prompt, continuation])[None, :-1])
    log_probs = torch.log_softmax(logits[0, prompt.numel() - 1 :].float(), -1)
    return log_probs.gather(1, continuation[:, None]).sum().item()


@pytest.mark.parametrize("name", ["lstm", "attention"])
def test_wide_beam_finds_the_exhaustive_best(name):
    model = MODELS[name]()
    steps, prompt = 3, torch.tensor([[1, 2]])
    reference = model if name == "lstm" else _TupleOut(model)
    best = max(itertools.product(range(V), repeat=steps),
               key=lambda c: sequence_log_prob(reference, prompt[0], torch.tensor(c)))
    tokens, score = beam_generate(model, prompt, steps, beam_size=V**steps)
    assert tokens[0, 2:].tolist() == list(best)
    assert score.item() == pytest.approx(sequence_log_prob(reference, prompt[0], torch.tensor(best)), abs=1e-5)
    narrow, _ = beam_generate(model, prompt, steps, beam_size=1)
    assert torch.equal(narrow, generate(model, prompt, steps, temperature=0))  # beam 1 = greedy


class _TupleOut(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, tokens):
        return self.model(tokens), None


def test_beam_with_state_equals_beam_recomputing():
    model = attention_lm()
    prompt = torch.randint(0, V, (2, 3), generator=torch.Generator().manual_seed(8))
    a = beam_generate(model, prompt, 6, beam_size=3, alpha=0.6, eos_id=0)
    b = beam_generate(Recompute(model), prompt, 6, beam_size=3, alpha=0.6, eos_id=0)
    assert torch.equal(a[0], b[0]) and torch.allclose(a[1], b[1])


def test_eos_stops_a_row_and_pads_after_it():
    model = rnn_lm()
    prompt = torch.randint(0, V, (3, 2), generator=torch.Generator().manual_seed(1))
    free = generate(model, prompt, 12, temperature=0)
    eos = int(free[0, 4])  # a token the first row produces at its third step
    out = generate(model, prompt, 12, temperature=0, eos_id=eos, pad_id=-1)
    for row, ref in zip(out, free, strict=True):
        new, ref_new = row[2:].tolist(), ref[2:].tolist()
        cut = ref_new.index(eos) + 1 if eos in ref_new else len(ref_new)
        assert new[:cut] == ref_new[:cut] and all(t == -1 for t in new[cut:])


def test_stop_strings_end_generation_and_need_a_decoder():
    model = rnn_lm()
    prompt = torch.tensor([[3]])
    free = generate(model, prompt, 10, temperature=0)[0, 1:].tolist()
    letters = "abcdefg"
    stop = letters[free[3]] + letters[free[4]]
    out = generate(model, prompt, 10, temperature=0, stop_strings=[stop], pad_id=-1,
                   decode=lambda ids: "".join(letters[i] for i in ids))
    new = out[0, 1:].tolist()
    assert stop in "".join(letters[i] for i in new if i >= 0)
    assert out.size(1) < 11 or new[5:] == [-1] * 5  # nothing after the stop string is generated
    with pytest.raises(ValueError, match="decode"):
        generate(model, prompt, 3, stop_strings=["x"])


def test_the_callback_receives_every_token_in_order():
    model = attention_lm()
    prompt = torch.randint(0, V, (2, 3), generator=torch.Generator().manual_seed(2))
    seen = []
    out = generate(model, prompt, 7, temperature=0, on_token=lambda t: seen.append(t.clone()))
    assert torch.equal(torch.stack(seen, 1), out[:, 3:])


def test_bad_prompts_and_lengths_are_refused():
    model = rnn_lm()
    with pytest.raises(ValueError, match="prompt"):
        generate(model, torch.zeros(3, dtype=torch.long), 3)
    with pytest.raises(ValueError, match="max_new_tokens"):
        generate(model, torch.zeros(1, 2, dtype=torch.long), 0)
