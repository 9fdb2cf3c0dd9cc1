"""The recurrent encoder-decoders: the encoder summary is the Recurrent's final state, attention is a
distribution over the real source tokens, step-by-step decoding = teacher forcing, the fused cells = the
lecture equations, greedy/beam search run with and without the explicit state path, and the models learn."""

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from seqlab.generation import beam_search, greedy_search
from seqlab.models.seq2seq import RNNSeq2Seq, Seq2SeqConfig
from seqlab.nn.attention import AdditiveScore, DotScore, GeneralScore
from seqlab.nn.recurrent import last_hidden

VARIANTS = [("gru", "none"), ("gru", "bahdanau"), ("lstm", "dot"), ("gru", "general"), ("lstm", "bahdanau")]
MAXOUT = {"maxout_dim": 4}


def tiny(cell="gru", attention="bahdanau", **overrides) -> RNNSeq2Seq:
    cfg = dict(cell=cell, src_vocab_size=13, tgt_vocab_size=11, embed_dim=8, encoder_hidden=6, hidden_size=12,
               attention=attention, attention_dim=5, dropout=0.0, max_len=32)
    return RNNSeq2Seq(Seq2SeqConfig(**{**cfg, **overrides})).double().eval()


def batch():
    src = torch.tensor([[5, 6, 7, 8, 2], [9, 4, 2, 0, 0], [4, 0, 0, 0, 0]])  # left-aligned, pad 0
    tgt = torch.tensor([[1, 5, 6, 7, 2], [1, 8, 2, 0, 0], [1, 9, 9, 10, 2]])
    return src, tgt


def test_config_checks():
    with pytest.raises(ValueError, match="attention must be"):
        Seq2SeqConfig(attention="concat")
    with pytest.raises(ValueError, match="dot attention"):
        Seq2SeqConfig(attention="dot", encoder_hidden=100, hidden_size=512)
    with pytest.raises(ValueError, match="gru' or 'lstm"):
        Seq2SeqConfig(cell="rnn")
    with pytest.raises(ValueError, match="maxout_dim"):
        Seq2SeqConfig(attention="general", hidden_size=1024, maxout_dim=100)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_encoder_summary_is_the_final_state_of_each_direction(cell):
    model = tiny(cell)
    src, _ = batch()
    memory, mask = model.encode(src)
    lengths = mask.sum(1)
    _, state = model.encoder(model.src_embed(src), lengths)
    assert_close(model.summary(memory, mask), last_hidden(model.encoder, state))


@pytest.mark.parametrize("cell,attention", VARIANTS)
def test_attention_is_a_distribution_over_real_source_tokens(cell, attention):
    model = tiny(cell, attention)
    src, tgt = batch()
    memory, mask = model.encode(src)
    logits, [weights] = model.decode(tgt[:, :-1], memory, mask, need_weights=True)
    assert logits.shape == (3, 4, 11)
    if attention == "none":
        assert weights is None
        return
    assert weights.shape == (3, 4, 5)
    assert_close(weights.sum(-1), torch.ones(3, 4, dtype=weights.dtype))
    assert (weights[~mask[:, None, :].expand_as(weights)] == 0).all()


@pytest.mark.parametrize("cell,attention,options", [(c, a, {}) for c, a in VARIANTS] + [("gru", "bahdanau", MAXOUT)])
def test_step_by_step_decoding_equals_teacher_forcing(cell, attention, options):
    model = tiny(cell, attention, **options)
    src, tgt = batch()
    memory, mask = model.encode(src)
    full, _ = model.decode(tgt[:, :-1], memory, mask)  # (B, T, V)
    state = model.start_decoding(memory, mask, 8)
    steps = [model.decode_step(tgt[:, t : t + 1], state, torch.tensor([t])) for t in range(4)]
    assert_close(torch.cat(steps, dim=1), full)


def test_maxout_readout_keeps_the_larger_of_each_pair():
    model = tiny("gru", "bahdanau", **MAXOUT)
    features = torch.randn(3, model.readout.in_features, dtype=torch.double)
    pairs = model.readout(features).view(3, 4, 2)  # (B, L, 2)
    expected = model.out(torch.maximum(pairs[..., 0], pairs[..., 1]))
    assert_close(model._logits(features), expected)
    assert model.out.in_features == 4 and model.readout.out_features == 8


def reference_decoder(model: RNNSeq2Seq, memory: torch.Tensor, mask: torch.Tensor, tgt_in: torch.Tensor) -> dict:
    """The decoder of seqlab.models.seq2seq's docstring written out step by step, on the model's own weights,
    with torch.nn's cells: logits (B, T, V), weights a_t (B, T, S), cell inputs x_t (B, T, I), and each step's
    score query (B, T, H) with its energies e_tj (B, T, S), for checking the seqlab.nn score modules."""
    cfg = model.config
    cell = (nn.LSTMCell if cfg.cell == "lstm" else nn.GRUCell)(model.cell.input_size, cfg.hidden_size).double()
    cell.load_state_dict(model.cell.state_dict())
    first = torch.tanh(model.bridge(model.summary(memory, mask)))  # s_0 = tanh(W_b s)
    state = tuple(first.chunk(2, dim=-1)) if cfg.cell == "lstm" else first
    feed = memory.new_zeros(memory.size(0), cfg.hidden_size)  # h~_0 = 0
    out: dict[str, list] = {"logits": [], "weights": [], "inputs": [], "queries": [], "energies": []}
    for t in range(tgt_in.size(1)):
        e = model.tgt_embed(tgt_in[:, t])  # (B, E)
        if cfg.attention == "bahdanau":  # e_tj = v^T tanh(W_s s_{t-1} + W_h h_j + b), before the cell
            query = state[0] if cfg.cell == "lstm" else state  # s_{t-1}
            score = model.score
            hidden = query @ score.W_s.weight.T  # (B, A)
            keys = memory @ score.W_h.weight.T + score.W_h.bias  # (B, S, A)
            energies = torch.tanh(hidden[:, None, :] + keys) @ score.v.weight[0]  # (B, S)
        else:
            x = torch.cat([e, feed], dim=-1) if cfg.input_feeding else e  # [y_emb; h~_{t-1}]
            state = cell(x, state)
            query = state[0] if cfg.cell == "lstm" else state  # s_t
            if cfg.attention == "dot":  # s_t^T h_j
                energies = torch.einsum("bh,bsh->bs", query, memory)
            else:  # s_t^T W h_j
                energies = torch.einsum("bh,hk,bsk->bs", query, model.score.W.weight, memory)
        weights = torch.softmax(energies.masked_fill(~mask, float("-inf")), dim=-1)  # over real tokens only
        context = torch.einsum("bs,bsk->bk", weights, memory)  # c_t = sum_j a_tj h_j
        if cfg.attention == "bahdanau":
            x = torch.cat([e, context], dim=-1)  # [y_emb; c_t]
            state = cell(x, state)
            s = state[0] if cfg.cell == "lstm" else state
            feature = torch.cat([s, context, e], dim=-1)  # [s_t; c_t; e(y_{t-1})]
        else:
            feed = feature = torch.tanh(torch.cat([context, query], dim=-1) @ model.combine.weight.T)  # h~_t
        for key, value in zip(out, [model.out(feature), weights, x, query, energies], strict=True):
            out[key].append(value)
    return {key: torch.stack(values, dim=1) for key, values in out.items()}


ATTENTION_FORMULAS = [("gru", "bahdanau", {}), ("lstm", "bahdanau", {}), ("gru", "general", {}),
                      ("lstm", "dot", {}), ("gru", "general", {"input_feeding": False}),
                      ("gru", "dot", {"input_feeding": False})]


@pytest.mark.parametrize("cell,attention,options", ATTENTION_FORMULAS)
def test_decoder_steps_follow_the_attention_formulas(cell, attention, options):
    model = tiny(cell, attention, **options)
    src, tgt = batch()
    memory, mask = model.encode(src)
    expected = reference_decoder(model, memory, mask, tgt[:, :-1])
    logits, [weights] = model.decode(tgt[:, :-1], memory, mask, need_weights=True)
    assert_close(weights, expected["weights"])
    assert_close(logits, expected["logits"])
    inputs = []  # what the decoder's cell is fed at each step (the readable path calls the module)
    model.config.fast = False
    hook = model.cell.register_forward_pre_hook(lambda module, args: inputs.append(args[0]))
    model.decode(tgt[:, :-1], memory, mask)
    hook.remove()
    assert_close(torch.stack(inputs, dim=1), expected["inputs"])


@pytest.mark.parametrize("cell,attention,options", ATTENTION_FORMULAS)
def test_seq2seq_scores_are_the_seqlab_nn_score_modules(cell, attention, options):
    model = tiny(cell, attention, **options)
    src, tgt = batch()
    memory, mask = model.encode(src)
    expected = reference_decoder(model, memory, mask, tgt[:, :-1])
    score = DotScore() if attention == "dot" else model.score
    assert isinstance(score, {"bahdanau": AdditiveScore, "general": GeneralScore, "dot": DotScore}[attention])
    assert_close(score(expected["queries"], memory), expected["energies"])  # (B, T, S)


def test_input_feeding_changes_the_luong_decoder():
    with_feed, without = tiny("gru", "general"), tiny("gru", "general", input_feeding=False)
    assert with_feed.cell.input_size == 8 + 12 and without.cell.input_size == 8
    weights = with_feed.state_dict()
    weights["cell.weight_ih"] = weights["cell.weight_ih"][:, :8]  # the embedding's columns: same weights otherwise
    without.load_state_dict(weights)
    src, tgt = batch()
    memory, mask = with_feed.encode(src)
    fed, plain = with_feed.decode(tgt[:, :-1], memory, mask)[0], without.decode(tgt[:, :-1], memory, mask)[0]
    assert_close(fed[:, 0], plain[:, 0])  # h~_0 = 0: the first step is the same
    assert (fed[:, 1:] - plain[:, 1:]).abs().amax(-1).min() > 1e-4  # from then on h~_{t-1} changes every step


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_fused_cells_equal_the_lecture_equations(cell):
    model = tiny(cell, "bahdanau")
    src, tgt = batch()
    fast = model.loss(src, tgt)
    model.config.fast = False
    model.encoder.fast = False
    assert_close(model.loss(src, tgt), fast)


@pytest.mark.parametrize("cell,attention", VARIANTS)
def test_search_with_and_without_the_state_path_agree(cell, attention):
    model = tiny(cell, attention)
    src, _ = batch()
    assert torch.equal(greedy_search(model, src, 7), greedy_search(model, src, 7, use_cache=False))
    tokens, scores = beam_search(model, src, 7, beam_size=3)
    tokens_ref, scores_ref = beam_search(model, src, 7, beam_size=3, use_cache=False)
    assert torch.equal(tokens, tokens_ref)
    assert_close(scores, scores_ref)


def test_beam_of_one_is_greedy():
    model = tiny("gru", "bahdanau")
    src, _ = batch()
    greedy = greedy_search(model, src, 7)
    beam, _ = beam_search(model, src, 7, beam_size=1, alpha=0.0)
    assert torch.equal(beam[:, : greedy.size(1)], greedy)


@pytest.mark.parametrize("attention,options",
                         [("none", {}), ("bahdanau", {}), ("dot", {}), ("bahdanau", {"maxout_dim": 16})])
def test_learns_to_reverse_short_sequences(attention, options):
    torch.manual_seed(0)
    cfg = Seq2SeqConfig(cell="gru", src_vocab_size=12, tgt_vocab_size=12, embed_dim=16, encoder_hidden=16,
                        hidden_size=32, attention=attention, attention_dim=16, dropout=0.0, **options)
    model = RNNSeq2Seq(cfg)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    generator = torch.Generator().manual_seed(0)

    def sample(n):
        body = torch.randint(3, 12, (n, 4), generator=generator)
        src = torch.cat([body, torch.full((n, 1), 2)], dim=1)
        tgt = torch.cat([torch.ones(n, 1, dtype=torch.long), body.flip(1), torch.full((n, 1), 2)], dim=1)
        return src, tgt

    for _ in range(250):
        src, tgt = sample(32)
        loss = model.loss(src, tgt)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    src, tgt = sample(64)
    exact = (greedy_search(model, src, 6)[:, :5] == tgt[:, 1:]).all(1).float().mean()
    assert exact > 0.8, f"{attention}: reversed {exact:.0%} of the test sequences"
