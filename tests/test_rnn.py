"""Parity of seqlab's recurrent cells and ``Recurrent`` with torch.nn.RNN/LSTM/GRU (weights copied by name)."""

import itertools

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from torch.testing import assert_close

from seqlab.nn.recurrent import ElmanCell, GRUCell, LectureGRUCell, LSTMCell, Recurrent

TORCH = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
TORCH_CELLS = {"rnn": (ElmanCell, nn.RNNCell), "lstm": (LSTMCell, nn.LSTMCell), "gru": (GRUCell, nn.GRUCell)}
STACKS = list(itertools.product(TORCH, [1, 2], [False, True]))  # cell x layers x bidirectional
I, H, B, T = 3, 4, 3, 5
LENGTHS = torch.tensor([4, 2, 5])  # unsorted, one full-length and one short sequence


def pair(cell: str, layers: int, bidirectional: bool, **kwargs) -> tuple[Recurrent, nn.RNNBase]:
    ref = TORCH[cell](I, H, num_layers=layers, bidirectional=bidirectional, batch_first=True, **kwargs).double()
    ours = Recurrent(cell, I, H, num_layers=layers, bidirectional=bidirectional, **kwargs).double()
    ours.load_state_dict(ref.state_dict())
    return ours, ref


def initial_state(cell: str, rows: int):
    def leaf():
        return torch.randn(rows, B, H, dtype=torch.float64, requires_grad=True)

    return (leaf(), leaf()) if cell == "lstm" else leaf()


def as_tuple(state) -> tuple[torch.Tensor, ...]:
    return state if isinstance(state, tuple) else (state,)


def run_torch(ref: nn.RNNBase, x, lengths, state):
    if lengths is None:
        return ref(x, state)
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, state = ref(packed, state)
    return pad_packed_sequence(out, batch_first=True, total_length=x.size(1))[0], state


@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
@pytest.mark.parametrize("fast", [True, False], ids=["fast", "reference"])
@pytest.mark.parametrize(("cell", "layers", "bidirectional"), STACKS)
def test_matches_torch_outputs_states_and_gradients(cell, layers, bidirectional, fast, lengths):
    ours, ref = pair(cell, layers, bidirectional)
    ours.fast = fast
    x = torch.randn(B, T, I, dtype=torch.float64, requires_grad=True)
    state = initial_state(cell, layers * (2 if bidirectional else 1))
    out, final = ours(x, lengths, state)
    ref_out, ref_final = run_torch(ref, x, lengths, state)
    assert out.shape == (B, T, H * (2 if bidirectional else 1))
    assert_close(out, ref_out)
    for h, ref_h in zip(as_tuple(final), as_tuple(ref_final), strict=True):
        assert_close(h, ref_h)
    if lengths is not None:  # zeros past each length
        assert (out[1, 2:] == 0).all() and (out[0, 4:] == 0).all()

    # a random linear function of every output, so each element's gradient is checked
    weights = [torch.randn_like(t) for t in (out, *as_tuple(final))]

    def objective(o, s):
        return sum((w * t).sum() for w, t in zip(weights, (o, *as_tuple(s)), strict=True))

    leaves = [x, *as_tuple(state)]
    grads = torch.autograd.grad(objective(out, final), [*leaves, *ours.parameters()])
    ref_grads = torch.autograd.grad(objective(ref_out, ref_final), [*leaves, *ref.parameters()])
    names = ["x", "h0", "c0"][: len(leaves)] + [name for name, _ in ours.named_parameters()]
    assert [name for name, _ in ours.named_parameters()] == [name for name, _ in ref.named_parameters()]
    for name, g, ref_g in zip(names, grads, ref_grads, strict=True):
        assert_close(g, ref_g, msg=lambda m, name=name: f"gradient of {name}: {m}")


@pytest.mark.parametrize("cell", list(TORCH))
def test_fast_and_reference_paths_agree_in_float32(cell):
    rnn = Recurrent(cell, I, 8, num_layers=2, bidirectional=True)
    x = torch.randn(4, 7, I)
    lengths = torch.tensor([7, 3, 1, 6])
    fast_out, fast_state = rnn(x, lengths)
    rnn.fast = False
    ref_out, ref_state = rnn(x, lengths)
    assert_close(fast_out, ref_out, atol=1e-5, rtol=1e-5)
    for a, b in zip(as_tuple(fast_state), as_tuple(ref_state), strict=True):
        assert_close(a, b, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("cell", list(TORCH))
def test_single_cells_match_torch_cells(cell):
    ours_cls, ref_cls = TORCH_CELLS[cell]
    ref = ref_cls(I, H).double()
    ours = ours_cls(I, H).double()
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(B, I, dtype=torch.float64, requires_grad=True)
    state = tuple(torch.randn(B, H, dtype=torch.float64) for _ in range(2 if cell == "lstm" else 1))
    state = state if cell == "lstm" else state[0]
    new, ref_new = as_tuple(ours(x, state)), as_tuple(ref(x, state))
    for a, b in zip(new, ref_new, strict=True):
        assert_close(a, b)
    grads = torch.autograd.grad(sum(t.sum() for t in new), [x, *ours.parameters()])
    ref_grads = torch.autograd.grad(sum(t.sum() for t in ref_new), [x, *ref.parameters()])
    for a, b in zip(grads, ref_grads, strict=True):
        assert_close(a, b)
    assert_close(as_tuple(ours(x))[0], as_tuple(ref(x))[0])  # zero initial state by default


@pytest.mark.parametrize("cell", list(TORCH))
def test_state_dict_round_trips_with_torch_by_name(cell):
    ours = Recurrent(cell, I, H, num_layers=2, bidirectional=True)
    ref = TORCH[cell](I, H, num_layers=2, bidirectional=True, batch_first=True)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in ref.state_dict().items()}
    ref.load_state_dict(ours.state_dict())  # strict, both ways
    x = torch.randn(B, T, I)
    assert_close(ref(x)[0], ours(x)[0])
    ours.fast = False  # the switch changes the code path only, not the parameters
    assert list(ours.state_dict()) == list(ref.state_dict())
    assert_close(ref(x)[0], ours(x)[0], atol=1e-5, rtol=1e-5)
    ref2 = TORCH[cell](I, H, num_layers=2, bidirectional=True, batch_first=True)
    ours.load_state_dict(ref2.state_dict())
    assert_close(ref2(x)[0], ours(x)[0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "reference"])
def test_dropout_between_layers_only_in_training(fast):
    x = torch.randn(B, T, I)
    deep = Recurrent("lstm", I, H, num_layers=2, dropout=0.5, fast=fast)
    plain = Recurrent("lstm", I, H, num_layers=2, fast=fast)
    plain.load_state_dict(deep.state_dict())
    deep.eval()
    assert_close(deep(x)[0], plain(x)[0])
    deep.train()
    assert not torch.allclose(deep(x)[0], plain(x)[0])
    single = Recurrent("lstm", I, H, num_layers=1, dropout=0.5, fast=fast).train()  # no dropout after the top
    assert_close(single(x)[0], single.eval()(x)[0])


def test_fast_path_dropout_draws_like_torch():
    ours, ref = pair("gru", 2, True, dropout=0.5)
    x = torch.randn(B, T, I, dtype=torch.float64)
    torch.manual_seed(1)
    out = ours.train()(x, LENGTHS)[0]
    torch.manual_seed(1)
    assert_close(out, run_torch(ref.train(), x, LENGTHS, None)[0])


def test_unroll_steps_carry_the_gradient_through_time():
    rnn = Recurrent("rnn", I, H, fast=False)
    x = torch.randn(B, T, I, requires_grad=True)
    output, _, steps = rnn.unroll(x, LENGTHS)
    assert len(steps) == 1 and len(steps[0]) == T
    loss = output[:, -1].sum()  # depends on earlier steps through the recurrence only
    step_grads = torch.autograd.grad(loss, steps[0], retain_graph=True)
    out_grad = torch.autograd.grad(loss, output)[0]  # the direct part: nonzero at the last step only
    assert (out_grad[:, :-1] == 0).all()
    assert all(g[2].abs().sum() > 0 for g in step_grads)  # full-length row: dL/dh_t nonzero for every t
    assert (step_grads[-1][0] == 0).all() and (step_grads[-1][2] == 1).all()  # row 0 ends at t=3


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="cell"):
        Recurrent("transformer", I, H)
    rnn = Recurrent("gru", I, H)
    with pytest.raises(ValueError, match="lengths"):
        rnn(torch.randn(B, T, I), torch.tensor([0, 2, 3]))
    with pytest.raises(ValueError, match="x must be"):
        rnn(torch.randn(B, T, I + 1))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("cell", list(TORCH))
def test_cuda_fast_path_uses_flat_weights_and_matches(cell, recwarn):
    ours, ref = pair(cell, 2, True)
    ours, ref = ours.float().cuda(), ref.float().cuda()
    x = torch.randn(B, T, I, device="cuda")
    out, _ = ours(x, LENGTHS)
    assert not [w for w in recwarn if "contiguous chunk" in str(w.message)]  # flatten_parameters ran
    assert_close(out, run_torch(ref, x, LENGTHS, None)[0], atol=1e-5, rtol=1e-5)
    ours.fast = False
    assert_close(ours(x, LENGTHS)[0], out, atol=1e-5, rtol=1e-5)


# ---- the GRU's two forms: the lecture's ("gru_lecture") and PyTorch's ("gru") -------------------------------


def lecture_gru(x, h, w_ih, w_hh, b_ih, b_hh):
    """z = σ(W_z x + U_z h + b_z), r = σ(W_r x + U_r h + b_r), h~ = tanh(W x + U (r ⊙ h) + b),
    h_t = (1 - z) ⊙ h + z ⊙ h~, with PyTorch's blocks (r, z, n) and b = b_ih + b_hh."""
    W_r, W_z, W = w_ih.chunk(3)
    U_r, U_z, U = w_hh.chunk(3)
    b_r, b_z, b = (b_ih + b_hh).chunk(3)
    z = torch.sigmoid(x @ W_z.T + h @ U_z.T + b_z)
    r = torch.sigmoid(x @ W_r.T + h @ U_r.T + b_r)
    h_tilde = torch.tanh(x @ W.T + (r * h) @ U.T + b)
    return (1 - z) * h + z * h_tilde


def pytorch_gru(x, h, w_ih, w_hh, b_ih, b_hh):
    """r = σ(W_ir x + b_ir + W_hr h + b_hr), z likewise, n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),
    h_t = (1 - z) ⊙ n + z ⊙ h."""
    W_ir, W_iz, W_in = w_ih.chunk(3)
    W_hr, W_hz, W_hn = w_hh.chunk(3)
    b_ir, b_iz, b_in = b_ih.chunk(3)
    b_hr, b_hz, b_hn = b_hh.chunk(3)
    r = torch.sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
    z = torch.sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
    n = torch.tanh(x @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))
    return (1 - z) * n + z * h


@pytest.mark.parametrize(("cell_class", "formula"), [(LectureGRUCell, lecture_gru), (GRUCell, pytorch_gru)])
def test_each_gru_form_is_its_formula(cell_class, formula):
    cell = cell_class(I, H).double()
    x, h = torch.randn(B, I, dtype=torch.float64), torch.randn(B, H, dtype=torch.float64)
    assert_close(cell(x, h), formula(x, h, *cell.weights()), rtol=1e-12, atol=1e-12)


def test_the_two_gru_forms_differ_on_the_same_weights():
    lecture, pytorch = LectureGRUCell(I, H).double(), GRUCell(I, H).double()
    pytorch.load_state_dict(lecture.state_dict())  # the same parameters, by name
    x, h = torch.randn(B, I, dtype=torch.float64), torch.randn(B, H, dtype=torch.float64)
    w_ih, w_hh, b_ih, b_hh = lecture.weights()
    r = torch.sigmoid(x @ w_ih[:H].T + b_ih[:H] + h @ w_hh[:H].T + b_hh[:H])
    assert (r < 0.99).all()  # with r = 1 and z swapped the forms could coincide; here they cannot
    difference = (lecture(x, h) - pytorch(x, h)).abs()
    assert difference.min() > 1e-6
    assert LectureGRUCell.fused is None and GRUCell.fused is torch.gru_cell


@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
def test_lecture_gru_stack_runs_its_equations_with_or_without_fast(lengths):
    rnn = Recurrent("gru_lecture", I, H, num_layers=2, bidirectional=True).double()
    assert list(rnn.state_dict()) == list(nn.GRU(I, H, num_layers=2, bidirectional=True).state_dict())
    x = torch.randn(B, T, I, dtype=torch.float64)
    out, h_n = rnn(x, lengths)  # fast=True: no fused kernel for this form, the loop runs
    rnn.fast = False
    ref_out, ref_h = rnn(x, lengths)
    assert_close(out, ref_out, rtol=0, atol=0)
    assert_close(h_n, ref_h, rtol=0, atol=0)
    h, first_layer = torch.zeros(B, H, dtype=torch.float64), []  # layer 0 forward, by the formula
    n = lengths if lengths is not None else torch.full((B,), T)
    for t in range(T):
        h = torch.where((t < n)[:, None], lecture_gru(x[:, t], h, *rnn.weights(0, 0)), h)
        first_layer.append(h * (t < n)[:, None])
    layer0 = Recurrent("gru_lecture", I, H, bidirectional=True).double()
    layer0.load_state_dict({k: v for k, v in rnn.state_dict().items() if "_l0" in k})
    assert_close(layer0(x, lengths)[0][..., :H], torch.stack(first_layer, 1))
    gru = Recurrent("gru", I, H, num_layers=2, bidirectional=True).double()
    gru.load_state_dict(rnn.state_dict())
    assert not torch.allclose(gru(x, lengths)[0], out)


def test_configs_take_the_lecture_gru_and_seq2seq_runs_it_without_fused_kernels():
    from seqlab.models.rnn import RNNClassifierConfig, RNNLMConfig, RNNTaggerConfig
    from seqlab.models.seq2seq import RNNSeq2Seq, Seq2SeqConfig

    for config in (RNNClassifierConfig, RNNTaggerConfig, RNNLMConfig, Seq2SeqConfig):
        assert config(cell="gru_lecture").cell == "gru_lecture"
        with pytest.raises(ValueError, match="gru_lecture"):  # the message lists the names
            config(cell="gru-lecture")
    cfg = Seq2SeqConfig(cell="gru_lecture", src_vocab_size=9, tgt_vocab_size=9, embed_dim=6, encoder_hidden=5,
                        hidden_size=7, attention_dim=4, dropout=0.0)
    torch.manual_seed(0)
    model = RNNSeq2Seq(cfg).eval()
    src, tgt = torch.tensor([[3, 4, 5, 2], [6, 2, 0, 0]]), torch.tensor([[1, 3, 4, 2], [1, 5, 2, 0]])
    fast = model.loss(src, tgt)
    model.config.fast = False
    assert_close(fast, model.loss(src, tgt), rtol=0, atol=0)
    pytorch_form = RNNSeq2Seq(Seq2SeqConfig(**{**vars(cfg), "cell": "gru"})).eval()
    pytorch_form.load_state_dict(model.state_dict())
    assert abs(pytorch_form.loss(src, tgt).item() - fast.item()) > 1e-4
