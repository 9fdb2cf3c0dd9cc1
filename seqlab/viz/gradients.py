"""Vanishing gradients through time: how much the loss at the last step still "hears" each earlier hidden state.

For a recurrence h_t = f(h_{t-1}, x_t) and a loss L at the last step T, the chain rule gives

    dL/dh_t = dL/dh_T * prod_{s=t+1..T} dh_s/dh_{s-1}

a product of T - t Jacobians. When their norms stay below 1 the product shrinks exponentially as t moves back
(Bengio et al., 1994; Pascanu et al., 2013): the network "obsesses over the recent past and forgets the remote
past". ``gradient_norms`` measures |dL/dh_t| for t = 1..T in an untrained single-layer network, and
``plot_gradient_norms`` draws it on a log scale, where exponential decay is a straight line.

What the plot shows (T = 100, H = 64, input 32, seed 0, PyTorch's initialisation uniform(-1/sqrt(H), 1/sqrt(H))).
With no gate bias (``carry_bias=0``) all three cells decay exponentially (straight lines on the log scale) at
similar rates: the Elman RNN keeps x0.53 of the gradient per step back, the LSTM x0.60 and the GRU x0.62, a
first/last ratio of 8e-28 against 1e-22 and 5e-21, so the untrained gated cells look almost as bad as the RNN. Their
real advantage is the path that carries the state, c_t = f_t * c_{t-1} + i_t * g_t (LSTM) and
h_t = (1 - z_t) n_t + z_t h_{t-1} (PyTorch's GRU), scaled by one gate that training pushes towards "keep", and that
is usually initialised there: the forget-gate bias of 1 (Gers et al. 2000; Jozefowicz et al. 2015; Keras'
``unit_forget_bias``), and the update gate likewise (the chrono initialisation of Tallec & Ollivier 2018 sets both).
``seqlab viz gradients`` therefore starts the gated cells with ``carry_bias=1`` and says so: then the LSTM keeps
x0.81 per step and the GRU x0.79 (ratios 9e-10 and 8e-11), 17 to 18 orders of magnitude above the RNN's 8e-28 after
100 steps, which has no gate to bias. ``--carry-bias 0`` shows PyTorch's initialisation.

Computed in float64: in float32 the RNN's early gradient norms underflow to 0 (their squared entries fall
below float32's range).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from seqlab.nn.recurrent import Recurrent
from seqlab.viz.plots import _save

CELL_COLORS = {"rnn": "tab:red", "lstm": "tab:blue", "gru": "tab:green", "gru_lecture": "tab:olive"}


def untrained_recurrent(cell: str, input_size: int, hidden_size: int, *, seed: int = 0, carry_bias: float = 0.0
                        ) -> Recurrent:
    """A single-layer float64 ``Recurrent`` (reference path) with PyTorch's default initialisation drawn from
    its own generator (the global RNG is left alone). ``carry_bias`` moves the gate that keeps the state towards
    keeping it: added to the LSTM's forget-gate bias, to PyTorch's GRU update-gate bias (h_t = (1-z) n + z h_{t-1})
    and subtracted from the lecture GRU's (h_t = (1-z) h_{t-1} + z h~_t); the Elman RNN has no gate."""
    rnn = Recurrent(cell, input_size, hidden_size, fast=False).double()
    g = torch.Generator().manual_seed(seed)
    bound = 1.0 / math.sqrt(hidden_size)
    with torch.no_grad():
        for p in rnn.parameters():
            p.uniform_(-bound, bound, generator=g)
        gate = slice(hidden_size, 2 * hidden_size)  # f of (i, f, g, o); z of (r, z, n)
        if cell in ("lstm", "gru"):
            rnn.bias_ih_l0[gate] += carry_bias
        elif cell == "gru_lecture":
            rnn.bias_ih_l0[gate] -= carry_bias
    return rnn


def random_inputs(steps: int, input_size: int, *, batch: int = 8, seed: int = 0) -> torch.Tensor:
    """x ~ N(0, 1) of shape (B, T, I), float64: the same for every cell given the seed."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, steps, input_size, generator=g, dtype=torch.float64)


def hidden_state_gradients(rnn: Recurrent, x: torch.Tensor) -> torch.Tensor:
    """dL/dh_t for every step, L = sum_j h_T[j] summed over the batch: x (B, T, I) -> (T, B, H).

    h_t is the state the recurrence feeds to step t+1, so the gradient holds every path through time.
    """
    _, _, steps = rnn.unroll(x)
    hs = steps[0]  # [h_1, ..., h_T], each (B, H)
    loss = hs[-1].sum()
    return torch.stack(torch.autograd.grad(loss, hs))  # (T, B, H)


def gradient_norms(cell: str, *, steps: int = 100, input_size: int = 32, hidden_size: int = 64, seed: int = 0,
                   batch: int = 8, carry_bias: float = 0.0) -> np.ndarray:
    """|dL/dh_t| for t = 1..T (index t-1), averaged over ``batch`` random sequences: -> (steps,).

    An untrained single-layer ``cell`` ("rnn", "lstm", "gru" or "gru_lecture") reads the same N(0, 1) inputs for
    every cell; L is the sum of the last hidden state h_T. See the module docstring for what the curves look like.
    """
    if steps < 1 or input_size < 1 or hidden_size < 1 or batch < 1:
        raise ValueError("steps, input_size, hidden_size and batch must be at least 1")
    x = random_inputs(steps, input_size, batch=batch, seed=seed)  # (B, T, I)
    rnn = untrained_recurrent(cell, input_size, hidden_size, seed=seed + 1, carry_bias=carry_bias)
    grads = hidden_state_gradients(rnn, x)  # (T, B, H)
    return grads.norm(dim=-1).mean(dim=1).numpy()  # (T,)


def decay_per_step(norms: np.ndarray) -> float:
    """The geometric-mean factor by which |dL/dh_t| shrinks per step back in time: (|g_1| / |g_T|)^(1/(T-1))."""
    norms = np.asarray(norms, dtype=float)
    if len(norms) < 2 or norms[-1] <= 0 or norms[0] <= 0:
        return float("nan")
    return float(np.exp(np.log(norms[0] / norms[-1]) / (len(norms) - 1)))


def plot_gradient_norms(norms: Mapping[str, np.ndarray], path: str | Path, *,
                        title: str = "Gradient of the last step's loss w.r.t. each hidden state") -> plt.Figure:
    """|dL/dh_t| against the time step t (log scale; the loss is at the last step), one line per cell,
    with each cell's mean decay factor per step in the legend."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for cell, values in norms.items():
        values = np.asarray(values, dtype=float)
        steps = np.arange(1, len(values) + 1)
        ax.plot(steps, values, color=CELL_COLORS.get(cell), linewidth=2,
                label=f"{cell.upper()} (x{decay_per_step(values):.2f} per step)")
    ax.set_yscale("log")
    ax.set_xlabel("time step t (loss at the last step)")
    ax.set_ylabel("|dL / dh_t|")
    ax.grid(alpha=0.3, which="major")
    ax.legend(loc="lower right", fontsize=9)
    ax.set_title(title, fontsize=11)
    return _save(fig, path)
