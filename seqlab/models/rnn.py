"""Recurrent networks: Elman RNN, LSTM and GRU cells, a multi-layer bidirectional ``Recurrent`` stack, and
three models built on it: a many-to-one classifier, a many-to-many tagger (BiLSTM, optionally with character
features and a CRF, Lample et al. 2016) and a one-to-many language model.

Shapes:
    B batch, T time steps (padded length), I input size, H hidden size (per direction),
    G gates (1 Elman, 4 LSTM, 3 GRU), D directions (1 or 2), L layers, E embedding size,
    V vocabulary size, C classes, K tags, W characters per word (padded).

Parameters follow PyTorch's layout exactly, so weights copy 1:1 between ``Recurrent`` and
``torch.nn.RNN/LSTM/GRU(batch_first=True)`` (``load_state_dict`` works both ways):

    weight_ih_l{k}[_reverse] (G*H, I or D*H)   weight_hh_l{k}[_reverse] (G*H, H)
    bias_ih_l{k}[_reverse]   (G*H,)            bias_hh_l{k}[_reverse]   (G*H,)

with the gate blocks stacked in PyTorch's order: LSTM (i, f, g, o), GRU (r, z, n).

``Recurrent`` has two code paths over the same weights. ``fast=True`` calls PyTorch's fused kernels (the
ones behind ``nn.LSTM``) on packed sequences; ``fast=False`` loops over time with the cells below, whose
``step`` functions are the lecture equations. Variable lengths: sequences are left-aligned (real tokens
first); each sequence's state stops changing after its last real token, padded outputs are zeros, and the
backward direction starts at each sequence's own last real token. Both paths agree to float precision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import _VF, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

# A recurrent state: h (L*D, B, H) for Elman/GRU, the pair (h, c) for the LSTM.
State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


# -- cells: one time step, from the lecture equations --------------------------------------------------


class _Cell(nn.Module):
    """One time step of a recurrent layer, parameters named and shaped as ``torch.nn.{RNN,LSTM,GRU}Cell``."""

    gates = 1

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
        bound = 1.0 / math.sqrt(self.hidden_size)  # PyTorch's initialisation
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"

    def weights(self) -> tuple[torch.Tensor, ...]:
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh

    def zero_state(self, x: torch.Tensor) -> State:
        return x.new_zeros(x.size(0), self.hidden_size)  # (B, H)


class ElmanCell(_Cell):
    """Elman RNN: h_t = tanh(b + W h_{t-1} + U x_t), with U = weight_ih, W = weight_hh, b = bias_ih + bias_hh."""

    gates = 1

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, I), h (B, H) -> h_t (B, H)."""
        return self.step(x, self.zero_state(x) if h is None else h, *self.weights())

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


class GRUCell(_Cell):
    """Gated recurrent unit (Cho et al., 2014), in PyTorch's form (the reset gate multiplies W_hn h + b_hn).

        r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)           reset gate
        z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)           update gate
        n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))      candidate state
        h_t = (1 - z_t) * n_t + z_t * h_{t-1}
    """

    gates = 3

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, I), h (B, H) -> h_t (B, H)."""
        return self.step(x, self.zero_state(x) if h is None else h, *self.weights())

    @staticmethod
    def step(x: torch.Tensor, h: torch.Tensor, w_ih: torch.Tensor, w_hh: torch.Tensor, b_ih: torch.Tensor,
             b_hh: torch.Tensor) -> torch.Tensor:
        xr, xz, xn = F.linear(x, w_ih, b_ih).chunk(3, dim=-1)  # (B, H) each
        hr, hz, hn = F.linear(h, w_hh, b_hh).chunk(3, dim=-1)  # (B, H) each
        r = torch.sigmoid(xr + hr)  # reset gate
        z = torch.sigmoid(xz + hz)  # update gate
        n = torch.tanh(xn + r * hn)  # candidate
        return (1 - z) * n + z * h  # h_t


CELLS: dict[str, type[_Cell]] = {"rnn": ElmanCell, "lstm": LSTMCell, "gru": GRUCell}
_FUSED = {"rnn": _VF.rnn_tanh, "lstm": _VF.lstm, "gru": _VF.gru}
_CUDNN_MODES = {"rnn": "RNN_TANH", "lstm": "LSTM", "gru": "GRU"}


def _check_cell(cell: str) -> None:
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {', '.join(CELLS)}, got {cell!r}")


# -- a stack of recurrent layers ------------------------------------------------------------------------


class Recurrent(nn.Module):
    """A batch-first, multi-layer, optionally bidirectional RNN/LSTM/GRU with ``torch.nn.LSTM``'s parameters.

    ``fast`` only chooses the code path (it may be changed at any time): PyTorch's fused kernel, or the
    reference loop over the cells' ``step`` equations. Dropout is applied to the outputs of every layer but
    the last, in training mode only, as ``torch.nn.LSTM`` does.
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int, *, num_layers: int = 1,
                 bidirectional: bool = False, dropout: float = 0.0, fast: bool = True):
        super().__init__()
        _check_cell(cell)
        if num_layers < 1 or hidden_size < 1 or input_size < 1:
            raise ValueError("input_size, hidden_size and num_layers must be at least 1")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout}")
        self.cell, self.input_size, self.hidden_size = cell, input_size, hidden_size
        self.num_layers, self.bidirectional, self.dropout, self.fast = num_layers, bidirectional, dropout, fast
        self.num_directions = 2 if bidirectional else 1
        self.cell_class = CELLS[cell]
        gate_size = self.cell_class.gates * hidden_size
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * self.num_directions
            for direction in range(self.num_directions):
                w_ih, w_hh, b_ih, b_hh = self._names(layer, direction)
                setattr(self, w_ih, nn.Parameter(torch.empty(gate_size, layer_input)))  # (G*H, I) or (G*H, D*H)
                setattr(self, w_hh, nn.Parameter(torch.empty(gate_size, hidden_size)))  # (G*H, H)
                setattr(self, b_ih, nn.Parameter(torch.empty(gate_size)))  # (G*H,)
                setattr(self, b_hh, nn.Parameter(torch.empty(gate_size)))  # (G*H,)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)  # PyTorch's initialisation
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def extra_repr(self) -> str:
        return (f"{self.cell}, {self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
                f"bidirectional={self.bidirectional}, dropout={self.dropout}, fast={self.fast}")

    @staticmethod
    def _names(layer: int, direction: int) -> list[str]:
        suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        return [f"weight_ih{suffix}", f"weight_hh{suffix}", f"bias_ih{suffix}", f"bias_hh{suffix}"]

    def weights(self, layer: int, direction: int) -> list[torch.Tensor]:
        """[weight_ih, weight_hh, bias_ih, bias_hh] of one layer and direction (0 forward, 1 backward)."""
        return [getattr(self, name) for name in self._names(layer, direction)]

    @property
    def output_size(self) -> int:
        return self.num_directions * self.hidden_size

    def zero_state(self, x: torch.Tensor) -> State:
        h = x.new_zeros(self.num_layers * self.num_directions, x.size(0), self.hidden_size)  # (L*D, B, H)
        return (h, torch.zeros_like(h)) if self.cell == "lstm" else h

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
        if self.fast:
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
        if not (first.is_cuda and torch.backends.cudnn.is_acceptable(first)):
            return
        if any(w.dtype != first.dtype or not w.is_cuda for w in weights):
            return
        if len({w.data_ptr() for w in weights}) != len(weights) or not torch._use_cudnn_rnn_flatten_weight():
            return
        from torch.backends.cudnn.rnn import get_cudnn_mode

        with torch.cuda.device_of(first), torch.no_grad():
            torch._cudnn_rnn_flatten_weight(
                weights, 4, self.input_size, get_cudnn_mode(_CUDNN_MODES[self.cell]), self.hidden_size, 0,
                self.num_layers, True, self.bidirectional)

    def _apply(self, fn, recurse=True):
        result = super()._apply(fn, recurse)
        self.flatten_parameters()
        return result

    def _fused(self, x: torch.Tensor, lengths: torch.Tensor | None, state: State) -> tuple[torch.Tensor, State]:
        hx = list(state) if self.cell == "lstm" else state
        args = (self._flat_weights(), True, self.num_layers, self.dropout, self.training, self.bidirectional)
        kernel = _FUSED[self.cell]
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


def last_hidden(recurrent: Recurrent, state: State) -> torch.Tensor:
    """The top layer's final hidden states, directions concatenated: state -> (B, D*H).

    Forward: the state at each sequence's last real token; backward: the state after reading back to token 1.
    """
    h_n = state[0] if isinstance(state, tuple) else state  # (L*D, B, H)
    top = h_n[-recurrent.num_directions:]  # (D, B, H)
    return torch.cat(list(top), dim=-1)  # (B, D*H)


# -- many-to-one: sequence classification ----------------------------------------------------------------

POOLINGS = ("last", "max", "mean")


@dataclass
class RNNClassifierConfig:
    cell: str = "lstm"
    vocab_size: int = 0  # filled from the data's vocabulary when 0
    n_classes: int = 2
    embed_dim: int = 128
    hidden_size: int = 128  # per direction
    num_layers: int = 1
    bidirectional: bool = True
    dropout: float = 0.3  # on embeddings, between layers and before the output layer
    pooling: str = "max"  # "last" (final states), "max" or "mean" over the real time steps
    fast: bool = True
    pad_id: int = 0

    def __post_init__(self) -> None:
        _check_cell(self.cell)
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, got {self.pooling!r}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")
        if self.n_classes < 2:
            raise ValueError(f"n_classes must be at least 2, got {self.n_classes}")


class RNNClassifier(nn.Module):
    """Many-to-one: ids (B, T) -> embed -> Recurrent -> pool over time -> linear -> logits (B, C)."""

    def __init__(self, *, embed: nn.Embedding, rnn: Recurrent, head: nn.Linear, pooling: str, dropout: float):
        super().__init__()
        self.embed, self.rnn, self.head = embed, rnn, head
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)

    @classmethod
    def from_config(cls, cfg: RNNClassifierConfig) -> RNNClassifier:
        if cfg.vocab_size <= 0:
            raise ValueError("RNNClassifierConfig needs vocab_size > 0")
        rnn = Recurrent(cfg.cell, cfg.embed_dim, cfg.hidden_size, num_layers=cfg.num_layers,
                        bidirectional=cfg.bidirectional, dropout=cfg.dropout, fast=cfg.fast)
        return cls(embed=nn.Embedding(cfg.vocab_size, cfg.embed_dim, padding_idx=cfg.pad_id), rnn=rnn,
                   head=nn.Linear(rnn.output_size, cfg.n_classes), pooling=cfg.pooling, dropout=cfg.dropout)

    def features(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """ids (B, T), mask (B, T) True = real token -> pooled sentence vector (B, D*H)."""
        x = self.dropout(self.embed(ids))  # (B, T, E)
        output, state = self.rnn(x, mask.sum(1), None)  # (B, T, D*H)
        if self.pooling == "last":
            return last_hidden(self.rnn, state)  # (B, D*H)
        real = mask[:, :, None]  # (B, T, 1)
        if self.pooling == "max":
            return output.masked_fill(~real, float("-inf")).amax(dim=1)  # (B, D*H)
        return output.sum(1) / real.sum(1)  # mean: padded outputs are zeros already

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """ids (B, T), mask (B, T) bool -> logits (B, C)."""
        return self.head(self.dropout(self.features(ids, mask)))

    def loss(self, ids: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy against labels (B,)."""
        return F.cross_entropy(self(ids, mask).float(), labels)


# -- many-to-many: sequence tagging -----------------------------------------------------------------------


@dataclass
class RNNTaggerConfig:
    cell: str = "lstm"
    vocab_size: int = 0  # filled from the data's vocabulary when 0
    n_tags: int = 0  # filled from the data's tag set when 0
    embed_dim: int = 100
    hidden_size: int = 200  # per direction (the tagger is always bidirectional)
    num_layers: int = 1
    dropout: float = 0.5  # on the word representations, between layers and before the output layer
    crf: bool = False  # a CRF output layer (Viterbi decoding) instead of independent softmaxes
    char_vocab_size: int = 0  # 0: no character features
    char_embed_dim: int = 25
    char_hidden_size: int = 25  # per direction of the character BiRNN
    case_embed_dim: int = 0  # > 0: an embedding of each word's case pattern (Collobert et al. 2011)
    n_cases: int = 6
    fast: bool = True
    pad_id: int = 0
    char_pad_id: int = 0

    def __post_init__(self) -> None:
        _check_cell(self.cell)
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")
        if self.char_vocab_size < 0:
            raise ValueError(f"char_vocab_size must be >= 0, got {self.char_vocab_size}")


class CharEncoder(nn.Module):
    """Character features of Lample et al. (2016): a BiRNN reads each word's characters; the final forward
    state (after the last character) and the final backward state (after the first) are concatenated."""

    def __init__(self, *, embed: nn.Embedding, rnn: Recurrent):
        super().__init__()
        self.embed, self.rnn = embed, rnn
        self.pad_id = embed.padding_idx

    @property
    def output_size(self) -> int:
        return self.rnn.output_size

    def forward(self, chars: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """chars (B, T, W) char ids, mask (B, T) real words -> (B, T, 2*Hc) (zeros at padded words)."""
        B, T, _ = chars.shape
        words = chars[mask]  # (N, W): the real words only
        lengths = (words != self.pad_id).sum(-1).clamp(min=1)  # (N,); an empty word reads one pad character
        _, state = self.rnn(self.embed(words), lengths)
        features = last_hidden(self.rnn, state)  # (N, 2*Hc)
        out = features.new_zeros(B, T, features.size(-1))  # (B, T, 2*Hc)
        out[mask] = features
        return out


class RNNTagger(nn.Module):
    """Many-to-many BiRNN tagger: [word embedding; char features] -> BiRNN -> linear -> emissions (B, T, K),
    decoded independently (argmax) or jointly with a CRF (Viterbi)."""

    def __init__(self, *, embed: nn.Embedding, chars: CharEncoder | None, rnn: Recurrent, head: nn.Linear,
                 crf: nn.Module | None, dropout: float, case: nn.Embedding | None = None):
        super().__init__()
        self.embed, self.chars, self.rnn, self.head, self.crf = embed, chars, rnn, head, crf
        self.case = case
        self.dropout = nn.Dropout(dropout)

    @classmethod
    def from_config(cls, cfg: RNNTaggerConfig) -> RNNTagger:
        if cfg.vocab_size <= 0 or cfg.n_tags <= 0:
            raise ValueError("RNNTaggerConfig needs vocab_size and n_tags > 0")
        chars = None
        if cfg.char_vocab_size:
            chars = CharEncoder(
                embed=nn.Embedding(cfg.char_vocab_size, cfg.char_embed_dim, padding_idx=cfg.char_pad_id),
                rnn=Recurrent(cfg.cell, cfg.char_embed_dim, cfg.char_hidden_size, bidirectional=True,
                              fast=cfg.fast))
        word_dim = cfg.embed_dim + (chars.output_size if chars is not None else 0) + cfg.case_embed_dim
        rnn = Recurrent(cfg.cell, word_dim, cfg.hidden_size, num_layers=cfg.num_layers, bidirectional=True,
                        dropout=cfg.dropout, fast=cfg.fast)
        crf = None
        if cfg.crf:
            from seqlab.nn.crf import CRF

            crf = CRF(cfg.n_tags)
        case = nn.Embedding(cfg.n_cases, cfg.case_embed_dim) if cfg.case_embed_dim else None
        return cls(embed=nn.Embedding(cfg.vocab_size, cfg.embed_dim, padding_idx=cfg.pad_id), chars=chars,
                   rnn=rnn, head=nn.Linear(rnn.output_size, cfg.n_tags), crf=crf, dropout=cfg.dropout, case=case)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, chars: torch.Tensor | None = None,
                case: torch.Tensor | None = None) -> torch.Tensor:
        """ids (B, T), mask (B, T) bool True = real token, chars (B, T, W) and case (B, T) ids when the model
        uses them -> emissions (B, T, K)."""
        x = self.embed(ids)  # (B, T, E)
        if self.chars is not None:
            if chars is None:
                raise ValueError("this tagger uses character features: pass chars (B, T, W)")
            x = torch.cat([x, self.chars(chars, mask)], dim=-1)  # (B, T, E + 2*Hc)
        if self.case is not None:
            if case is None:
                raise ValueError("this tagger uses case features: pass case (B, T)")
            x = torch.cat([x, self.case(case)], dim=-1)  # (B, T, E + 2*Hc + Ec)
        output, _ = self.rnn(self.dropout(x), mask.sum(1))  # (B, T, 2H)
        return self.head(self.dropout(output))  # (B, T, K)

    def loss(self, ids: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor,
             chars: torch.Tensor | None = None, case: torch.Tensor | None = None) -> torch.Tensor:
        """labels (B, T) with -100 at padding -> token-mean cross-entropy, or (CRF) the sentence-mean NLL."""
        emissions = self(ids, mask, chars, case).float()  # (B, T, K)
        if self.crf is None:
            return F.cross_entropy(emissions.flatten(0, 1), labels.flatten(), ignore_index=-100)
        tags = torch.where(mask, labels, torch.zeros_like(labels))  # any valid id at padding
        return self.crf.nll(emissions, tags, mask).mean()

    @torch.no_grad()
    def decode(self, ids: torch.Tensor, mask: torch.Tensor, chars: torch.Tensor | None = None,
               case: torch.Tensor | None = None) -> list[list[int]]:
        """Best tag sequence per sentence, each of the sentence's true length (argmax, or Viterbi with a CRF)."""
        emissions = self(ids, mask, chars, case)  # (B, T, K)
        if self.crf is not None:
            return self.crf.decode(emissions, mask)
        best = emissions.argmax(-1).tolist()  # (B, T)
        return [row[:n] for row, n in zip(best, mask.sum(1).tolist(), strict=True)]


# -- one-to-many: language modelling ----------------------------------------------------------------------


@dataclass
class RNNLMConfig:
    cell: str = "lstm"
    vocab_size: int = 0  # filled from the data's vocabulary when 0
    embed_dim: int = 256
    hidden_size: int = 512
    num_layers: int = 2
    dropout: float = 0.2  # on embeddings, between layers and before the output layer
    tie_weights: bool = False  # output projection = input embedding (Press & Wolf, 2017)
    fast: bool = True

    def __post_init__(self) -> None:
        _check_cell(self.cell)
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")
        if self.tie_weights and self.embed_dim != self.hidden_size:
            raise ValueError(f"tie_weights needs embed_dim == hidden_size, got {self.embed_dim} and "
                             f"{self.hidden_size}")


class RNNLanguageModel(nn.Module):
    """Next-token prediction: inputs (B, T) -> embed -> Recurrent -> linear -> logits (B, T, V).

    Training uses teacher forcing (the true previous tokens as inputs); generation carries the recurrent
    state explicitly, so feeding a sequence in pieces gives the same logits as feeding it whole.
    """

    def __init__(self, *, embed: nn.Embedding, rnn: Recurrent, head: nn.Linear, dropout: float):
        super().__init__()
        self.embed, self.rnn, self.head = embed, rnn, head
        self.dropout = nn.Dropout(dropout)

    @classmethod
    def from_config(cls, cfg: RNNLMConfig) -> RNNLanguageModel:
        if cfg.vocab_size <= 0:
            raise ValueError("RNNLMConfig needs vocab_size > 0")
        embed = nn.Embedding(cfg.vocab_size, cfg.embed_dim)
        rnn = Recurrent(cfg.cell, cfg.embed_dim, cfg.hidden_size, num_layers=cfg.num_layers, dropout=cfg.dropout,
                        fast=cfg.fast)
        head = nn.Linear(cfg.hidden_size, cfg.vocab_size)
        if cfg.tie_weights:
            head.weight = embed.weight
        return cls(embed=embed, rnn=rnn, head=head, dropout=cfg.dropout)

    def forward(self, inputs: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """inputs (B, T) ids, state from the previous chunk or None -> logits (B, T, V), state."""
        x = self.dropout(self.embed(inputs))  # (B, T, E)
        output, state = self.rnn(x, None, state)  # (B, T, H)
        return self.head(self.dropout(output)), state  # (B, T, V)

    def loss(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy in nats of targets (B, T) given inputs (B, T) (targets = inputs shifted by one)."""
        logits, _ = self(inputs)
        return F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten())

    @torch.no_grad()
    def generate(self, prompt: torch.Tensor, max_new_tokens: int, *, temperature: float = 1.0,
                 top_k: int | None = None, top_p: float | None = None,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """prompt (B, P) -> (B, P + max_new_tokens): read the prompt once, then sample one token at a time,
        carrying the state. Call ``eval()`` first to switch dropout off; ``temperature=0`` is greedy."""
        from seqlab.generation.sampling import sample_next

        if prompt.dim() != 2 or prompt.size(1) < 1:
            raise ValueError(f"prompt must be (B, P) with P >= 1, got {tuple(prompt.shape)}")
        logits, state = self(prompt)  # (B, P, V)
        tokens = [prompt]
        for i in range(max_new_tokens):
            nxt = sample_next(logits[:, -1], temperature=temperature, top_k=top_k, top_p=top_p,
                              generator=generator)  # (B,)
            tokens.append(nxt[:, None])
            if i + 1 < max_new_tokens:
                logits, state = self(nxt[:, None], state)  # (B, 1, V)
        return torch.cat(tokens, dim=1)  # (B, P + N)
