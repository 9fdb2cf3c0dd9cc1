"""Recurrent layers shared by every recurrent family (classifier, tagger, language model, seq2seq, ELMo): Elman RNN,
LSTM and GRU cells, and ``Recurrent``, a multi-layer bidirectional stack of them.

Shapes:
    B batch, T time steps (padded length), I input size, H hidden size (per direction),
    G gates (1 Elman, 4 LSTM, 3 GRU), D directions (1 or 2), L layers.

Parameters follow PyTorch's layout exactly, so weights copy 1:1 between ``Recurrent`` and
``torch.nn.RNN/LSTM/GRU(batch_first=True)`` (``load_state_dict`` works both ways):

    weight_ih_l{k}[_reverse] (G*H, I or D*H)   weight_hh_l{k}[_reverse] (G*H, H)
    bias_ih_l{k}[_reverse]   (G*H,)            bias_hh_l{k}[_reverse]   (G*H,)

with the gate blocks stacked in PyTorch's order: LSTM (i, f, g, o), GRU (r, z, n). An LSTM with projections
(``proj_size`` P > 0, the LSTMP of Sak et al. 2014 that ELMo uses) also has weight_hr_l{k}[_reverse] (P, H): its
hidden state is h_t = W_hr (o_t * tanh(c_t)), of size P, while the cell c_t keeps size H.

Cells, by name (``CELLS``): "rnn" (Elman), "lstm", "gru" (PyTorch's GRU, the recipes' default) and
"gru_lecture" (the GRU as the lecture writes it, on the same parameters; see ``LectureGRUCell``).

``Recurrent`` has two code paths over the same weights. ``fast=True`` calls PyTorch's fused kernels (the
ones behind ``nn.LSTM``) on packed sequences; ``fast=False`` loops over time with the cells below, whose
``step`` functions are the lecture equations. "gru_lecture" has no fused kernel and always loops.
Variable lengths: sequences are left-aligned (real tokens first); each sequence's state stops changing after
its last real token, padded outputs are zeros, and the backward direction starts at each sequence's own last
real token. Both paths agree to float precision.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import _VF, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

# A recurrent state: h (L*D, B, H) for Elman/GRU, the pair (h, c) for the LSTM.
State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


def detach_state(state: State) -> State:
    """The state without its graph: truncated backpropagation through time stops at the window's start."""
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


# -- cells: one time step, from the lecture equations --------------------------------------------------



def uniform_init(module: nn.Module, hidden_size: int) -> None:
    """PyTorch's initialisation of recurrent weights and biases: U(-1/sqrt(H), 1/sqrt(H))."""
    bound = 1.0 / math.sqrt(hidden_size)
    for p in module.parameters():
        nn.init.uniform_(p, -bound, bound)

class _Cell(nn.Module):
    """One time step of a recurrent layer, parameters named and shaped as ``torch.nn.{RNN,LSTM,GRU}Cell``."""

    gates = 1
    # PyTorch's fused kernel for one step, fused(x, state, *weights()) == step(x, state, *weights()); None when
    # PyTorch computes another form (the lecture GRU), so only ``step`` applies.
    fused: ClassVar[Callable[..., State] | None] = None

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        g = self.gates * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(g, input_size))  # (G*H, I)
        self.weight_hh = nn.Parameter(torch.empty(g, hidden_size))  # (G*H, H)
        self.bias_ih = nn.Parameter(torch.empty(g))  # (G*H,)
        self.bias_hh = nn.Parameter(torch.empty(g))  # (G*H,)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        uniform_init(self, self.hidden_size)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"

    def weights(self) -> tuple[torch.Tensor, ...]:
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh

    def zero_state(self, x: torch.Tensor) -> State:
        return x.new_zeros(x.size(0), self.hidden_size)  # (B, H)

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, I), h (B, H) -> h_t (B, H) (the LSTM carries (h, c) instead)."""
        return self.step(x, self.zero_state(x) if h is None else h, *self.weights())


class ElmanCell(_Cell):
    """Elman RNN: h_t = tanh(b + W h_{t-1} + U x_t), with U = weight_ih, W = weight_hh, b = bias_ih + bias_hh."""

    gates = 1
    fused = staticmethod(torch.rnn_tanh_cell)

    @staticmethod
    def step(x: torch.Tensor, h: torch.Tensor, w_ih: torch.Tensor, w_hh: torch.Tensor, b_ih: torch.Tensor,
             b_hh: torch.Tensor) -> torch.Tensor:
        return torch.tanh(F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh))  # (B, H)


class LSTMCell(_Cell):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997, with the forget gate of Gers et al., 2000).

        i_t = sigmoid(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)     input gate: how much of the candidate to write
        f_t = sigmoid(W_if x_t + b_if + W_hf h_{t-1} + b_hf)     forget gate: how much of the old cell to keep
        g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)        candidate cell content
        o_t = sigmoid(W_io x_t + b_io + W_ho h_{t-1} + b_ho)     output gate: how much of the cell to show
        c_t = f_t * c_{t-1} + i_t * g_t                           the cell state, a "conveyor belt"
        h_t = o_t * tanh(c_t)
    """

    gates = 4
    fused = staticmethod(torch.lstm_cell)

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, I), (h, c) each (B, H) -> (h_t, c_t) each (B, H)."""
        if state is None:
            state = (self.zero_state(x), self.zero_state(x))
        return self.step(x, state, *self.weights())

    @staticmethod
    def step(x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor], w_ih: torch.Tensor, w_hh: torch.Tensor,
             b_ih: torch.Tensor, b_hh: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, c = state  # (B, H) each
        pre = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)  # (B, 4H): all four gates at once
        i, f, g, o = pre.chunk(4, dim=-1)  # (B, H) each, PyTorch's gate order
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c + i * g  # c_t = f_t * c_{t-1} + i_t * g_t
        h = o * torch.tanh(c)  # h_t = o_t * tanh(c_t)
        return h, c


class LectureGRUCell(_Cell):
    """Gated recurrent unit as the lecture writes it (Cho et al., 2014, in the notation of Chung et al., 2014):

        z_t  = sigmoid(W_z x_t + U_z h_{t-1} + b_z)          update gate: how much of the candidate to let in
        r_t  = sigmoid(W_r x_t + U_r h_{t-1} + b_r)          reset gate: how much of the past the candidate sees
        h~_t = tanh(W x_t + U (r_t * h_{t-1}) + b)           candidate state, from the reset past
        h_t  = (1 - z_t) * h_{t-1} + z_t * h~_t

    Cell "gru_lecture". The parameters are PyTorch's GRU's, weight_ih = [W_r; W_z; W], weight_hh = [U_r; U_z; U]
    and each b = bias_ih + bias_hh block, so the same weights run either form. PyTorch's kernels compute the
    other form (``GRUCell``), so this cell has the per-step path only.
    """

    gates = 3

    @staticmethod
    def step(x: torch.Tensor, h: torch.Tensor, w_ih: torch.Tensor, w_hh: torch.Tensor, b_ih: torch.Tensor,
             b_hh: torch.Tensor) -> torch.Tensor:
        H = h.size(-1)
        xr, xz, xn = F.linear(x, w_ih, b_ih).chunk(3, dim=-1)  # W_r x + b_ir, W_z x + b_iz, W x + b_in: (B, H) each
        hr, hz = F.linear(h, w_hh[: 2 * H], b_hh[: 2 * H]).chunk(2, dim=-1)  # U_r h + b_hr, U_z h + b_hz
        r = torch.sigmoid(xr + hr)  # reset gate
        z = torch.sigmoid(xz + hz)  # update gate
        candidate = torch.tanh(xn + F.linear(r * h, w_hh[2 * H :], b_hh[2 * H :]))  # h~_t: U sees r * h
        return (1 - z) * h + z * candidate  # h_t


class GRUCell(_Cell):
    """The GRU in PyTorch's form (cell "gru", the recipes' default): what ``torch.nn.GRU`` and its fused kernels
    compute. It differs from the lecture's (``LectureGRUCell``) in two places: the reset gate scales U h after
    the matrix product, and z_t weighs the old state rather than the candidate.

        r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)           reset gate
        z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)           update gate
        n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))      candidate state
        h_t = (1 - z_t) * n_t + z_t * h_{t-1}
    """

    gates = 3
    fused = staticmethod(torch.gru_cell)

    @staticmethod
    def step(x: torch.Tensor, h: torch.Tensor, w_ih: torch.Tensor, w_hh: torch.Tensor, b_ih: torch.Tensor,
             b_hh: torch.Tensor) -> torch.Tensor:
        xr, xz, xn = F.linear(x, w_ih, b_ih).chunk(3, dim=-1)  # (B, H) each
        hr, hz, hn = F.linear(h, w_hh, b_hh).chunk(3, dim=-1)  # (B, H) each
        r = torch.sigmoid(xr + hr)  # reset gate
        z = torch.sigmoid(xz + hz)  # update gate
        n = torch.tanh(xn + r * hn)  # candidate: r scales W_hn h + b_hn, after the matrix
        return (1 - z) * n + z * h  # h_t


CELLS: dict[str, type[_Cell]] = {"rnn": ElmanCell, "lstm": LSTMCell, "gru": GRUCell, "gru_lecture": LectureGRUCell}
_FUSED = {"rnn": _VF.rnn_tanh, "lstm": _VF.lstm, "gru": _VF.gru}  # whole-sequence kernels; none for gru_lecture
_CUDNN_MODES = {"rnn": "RNN_TANH", "lstm": "LSTM", "gru": "GRU"}


def _check_cell(cell: str) -> None:
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {', '.join(CELLS)}, got {cell!r}")


# -- a stack of recurrent layers ------------------------------------------------------------------------


class Recurrent(nn.Module):
    """A batch-first, multi-layer, optionally bidirectional RNN/LSTM/GRU with ``torch.nn.LSTM``'s parameters.

    ``fast`` only chooses the code path (it may be changed at any time): PyTorch's fused kernel, or the
    reference loop over the cells' ``step`` equations (always, for "gru_lecture", which has no fused kernel).
    Dropout is applied to the outputs of every layer but the last, in training mode only, as ``torch.nn.LSTM``
    does.
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int, *, num_layers: int = 1,
                 bidirectional: bool = False, dropout: float = 0.0, fast: bool = True, proj_size: int = 0):
        super().__init__()
        _check_cell(cell)
        if num_layers < 1 or hidden_size < 1 or input_size < 1:
            raise ValueError("input_size, hidden_size and num_layers must be at least 1")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout}")
        if proj_size and (cell != "lstm" or not 0 < proj_size < hidden_size):
            raise ValueError(f"proj_size needs an lstm and 0 < proj_size < hidden_size, got {cell}, {proj_size}")
        self.cell, self.input_size, self.hidden_size, self.proj_size = cell, input_size, hidden_size, proj_size
        self.num_layers, self.bidirectional, self.dropout, self.fast = num_layers, bidirectional, dropout, fast
        self.num_directions = 2 if bidirectional else 1
        self.cell_class = CELLS[cell]
        gate_size = self.cell_class.gates * hidden_size
        state_size = proj_size or hidden_size  # what h_t (fed back and passed up) holds
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else state_size * self.num_directions
            for direction in range(self.num_directions):
                w_ih, w_hh, b_ih, b_hh, *w_hr = self._names(layer, direction)
                setattr(self, w_ih, nn.Parameter(torch.empty(gate_size, layer_input)))  # (G*H, I) or (G*H, D*H)
                setattr(self, w_hh, nn.Parameter(torch.empty(gate_size, state_size)))  # (G*H, H) or (G*H, P)
                setattr(self, b_ih, nn.Parameter(torch.empty(gate_size)))  # (G*H,)
                setattr(self, b_hh, nn.Parameter(torch.empty(gate_size)))  # (G*H,)
                if w_hr:
                    setattr(self, w_hr[0], nn.Parameter(torch.empty(proj_size, hidden_size)))  # (P, H)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        uniform_init(self, self.hidden_size)

    def extra_repr(self) -> str:
        proj = f", proj_size={self.proj_size}" if self.proj_size else ""
        return (f"{self.cell}, {self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
                f"bidirectional={self.bidirectional}, dropout={self.dropout}, fast={self.fast}{proj}")

    def _names(self, layer: int, direction: int) -> list[str]:
        suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        names = [f"weight_ih{suffix}", f"weight_hh{suffix}", f"bias_ih{suffix}", f"bias_hh{suffix}"]
        return [*names, f"weight_hr{suffix}"] if self.proj_size else names

    def weights(self, layer: int, direction: int) -> list[torch.Tensor]:
        """[weight_ih, weight_hh, bias_ih, bias_hh] (and weight_hr with projections) of one layer and direction
        (0 forward, 1 backward)."""
        return [getattr(self, name) for name in self._names(layer, direction)]

    @property
    def output_size(self) -> int:
        return self.num_directions * (self.proj_size or self.hidden_size)

    def zero_state(self, x: torch.Tensor) -> State:
        c = x.new_zeros(self.num_layers * self.num_directions, x.size(0), self.hidden_size)  # (L*D, B, H)
        if self.cell != "lstm":
            return c
        h = c.new_zeros(c.size(0), c.size(1), self.proj_size or self.hidden_size)  # (L*D, B, P or H)
        return h, c

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None, state: State | None = None
                ) -> tuple[torch.Tensor, State]:
        """x (B, T, I), lengths (B,) or None (all T), state as torch's or None (zeros)
        -> output (B, T, D*H) (zeros past each length), final state (h_n, or (h_n, c_n) for the LSTM),
        each (L*D, B, H) with layer k's directions at rows k*D .. k*D+D-1, the state at each sequence's end."""
        if x.dim() != 3 or x.size(-1) != self.input_size:
            raise ValueError(f"x must be (B, T, {self.input_size}), got {tuple(x.shape)}")
        if lengths is not None:
            lengths = lengths.to("cpu", torch.long)
            if lengths.shape != (x.size(0),) or lengths.min() < 1 or lengths.max() > x.size(1):
                raise ValueError(f"lengths must be (B,) = ({x.size(0)},) with values in [1, {x.size(1)}]")
            if lengths.min() == x.size(1):
                lengths = None  # nothing is padded: skip packing and masking
        if state is None:
            state = self.zero_state(x)
        if self.fast and self.cell in _FUSED:
            return self._fused(x, lengths, state)
        output, state, _ = self.unroll(x, lengths, state)
        return output, state

    # -- fast path: PyTorch's fused kernels ------------------------------------------------------------

    def _flat_weights(self) -> list[torch.Tensor]:
        return [w for layer in range(self.num_layers) for d in range(self.num_directions)
                for w in self.weights(layer, d)]

    def flatten_parameters(self) -> None:
        """Lay the weights out in one contiguous cuDNN buffer, as ``nn.LSTM`` does, so that the fused CUDA
        kernel does not compact them at every call. Called after ``.to()``/``.cuda()``; a no-op off the GPU."""
        weights = self._flat_weights()
        first = weights[0]
        if self.cell not in _CUDNN_MODES or not (first.is_cuda and torch.backends.cudnn.is_acceptable(first)):
            return
        if any(w.dtype != first.dtype or not w.is_cuda for w in weights):
            return
        if len({w.data_ptr() for w in weights}) != len(weights) or not torch._use_cudnn_rnn_flatten_weight():
            return
        from torch.backends.cudnn.rnn import get_cudnn_mode

        with torch.cuda.device_of(first), torch.no_grad():
            torch._cudnn_rnn_flatten_weight(
                weights, 5 if self.proj_size else 4, self.input_size, get_cudnn_mode(_CUDNN_MODES[self.cell]),
                self.hidden_size, self.proj_size,
                self.num_layers, True, self.bidirectional)

    def _apply(self, fn, recurse=True):
        result = super()._apply(fn, recurse)
        self.flatten_parameters()
        return result

    def _fused(self, x: torch.Tensor, lengths: torch.Tensor | None, state: State) -> tuple[torch.Tensor, State]:
        hx = list(state) if self.cell == "lstm" else state
        args = (self._flat_weights(), True, self.num_layers, self.dropout, self.training, self.bidirectional)
        kernel = _FUSED[self.cell]
        with warnings.catch_warnings():
            # PyTorch's CPU kernel for projected LSTMs is not oneDNN's, and it says so: not news to a user
            warnings.filterwarnings("ignore", message="LSTM with projections is not supported with oneDNN")
            return self._run_kernel(kernel, x, lengths, hx, args)

    def _run_kernel(self, kernel, x: torch.Tensor, lengths: torch.Tensor | None, hx, args: tuple
                    ) -> tuple[torch.Tensor, State]:
        if lengths is None:
            result = kernel(x, hx, *args, True)  # batch_first=True
            output, hidden = result[0], result[1:]
        else:
            packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            sorted_idx, unsorted_idx = packed.sorted_indices, packed.unsorted_indices
            hx = [h.index_select(1, sorted_idx) for h in hx] if self.cell == "lstm" else hx.index_select(1, sorted_idx)
            result = kernel(packed.data, packed.batch_sizes, hx, *args)
            packed_out = PackedSequence(result[0], packed.batch_sizes, sorted_idx, unsorted_idx)
            output, _ = pad_packed_sequence(packed_out, batch_first=True, total_length=x.size(1))  # (B, T, D*H)
            hidden = tuple(h.index_select(1, unsorted_idx) for h in result[1:])
        return output, (tuple(hidden) if self.cell == "lstm" else hidden[0])

    # -- reference path: a loop over time with the cell equations --------------------------------------

    def unroll(self, x: torch.Tensor, lengths: torch.Tensor | None = None, state: State | None = None
               ) -> tuple[torch.Tensor, State, list[list[torch.Tensor]]]:
        """The reference path, step by step; returns (output, final state, steps).

        ``steps[k * D + d][t]`` is the hidden state h_t (B, H) of layer k, direction d (0 forward, 1 backward)
        that the recurrence itself feeds to step t+1 (t-1 backward). ``torch.autograd.grad(loss, steps[i])``
        is therefore the full dL/dh_t through time (for plots of vanishing gradients), whereas the gradient
        with respect to ``output`` only holds each position's direct contribution.
        """
        T = x.size(1)
        if state is None:
            state = self.zero_state(x)
        is_lstm = self.cell == "lstm"
        real = None
        if lengths is not None:
            real = (torch.arange(T)[None, :] < lengths.cpu()[:, None]).to(x.device)  # (B, T) True = real token
        step_fn = self.cell_class.step
        if self.proj_size:
            step_fn = _projected(step_fn)
        h0 = state[0] if is_lstm else state
        finals_h, finals_c, steps = [], [], []
        layer_input = x  # (B, T, I)
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                row = layer * self.num_directions + direction
                s = (h0[row], state[1][row]) if is_lstm else h0[row]  # (B, H)
                weights = self.weights(layer, direction)
                out_t: list[torch.Tensor | None] = [None] * T
                hs: list[torch.Tensor | None] = [None] * T
                for t in (range(T) if direction == 0 else reversed(range(T))):
                    new = step_fn(layer_input[:, t], s, *weights)
                    if real is not None:  # padded position: keep the state frozen, output zeros
                        m = real[:, t, None]  # (B, 1)
                        new = (torch.where(m, new[0], s[0]), torch.where(m, new[1], s[1])) if is_lstm else \
                            torch.where(m, new, s)
                    s = new
                    hs[t] = s[0] if is_lstm else s  # (B, H)
                    out_t[t] = hs[t] if real is None else hs[t] * real[:, t, None]
                outputs.append(torch.stack(out_t, dim=1))  # (B, T, H)
                steps.append(hs)
                finals_h.append(s[0] if is_lstm else s)
                if is_lstm:
                    finals_c.append(s[1])
            layer_input = torch.cat(outputs, dim=-1) if self.bidirectional else outputs[0]  # (B, T, D*H)
            if layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, self.training)
        h_n = torch.stack(finals_h)  # (L*D, B, H)
        final = (h_n, torch.stack(finals_c)) if is_lstm else h_n
        return layer_input, final, steps


def _projected(step: Callable[..., State]) -> Callable[..., State]:
    """An LSTM step with a projection (LSTMP): h_t = W_hr (o_t * tanh(c_t)), (B, P); the cell c_t stays (B, H)."""

    def projected_step(x, state, w_ih, w_hh, b_ih, b_hh, w_hr):
        h, c = step(x, state, w_ih, w_hh, b_ih, b_hh)  # h (B, H) before the projection
        return F.linear(h, w_hr), c  # (B, P), (B, H)

    return projected_step


def last_hidden(recurrent: Recurrent, state: State) -> torch.Tensor:
    """The top layer's final hidden states, directions concatenated: state -> (B, D*H).

    Forward: the state at each sequence's last real token; backward: the state after reading back to token 1.
    """
    h_n = state[0] if isinstance(state, tuple) else state  # (L*D, B, H)
    top = h_n[-recurrent.num_directions:]  # (D, B, H)
    return torch.cat(list(top), dim=-1)  # (B, D*H)
