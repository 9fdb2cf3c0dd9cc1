"""Relative positional attention of Transformer-XL (Dai et al. 2019, section 3.3).

With absolute positions U_i, U_j added to the inputs, the score of query i and key j expands into four terms. XL
replaces U_j by a fixed sinusoid R_{i-j} of the distance, projected by its own W_{k,R}, and the query's position
term by two learned global vectors u and v:

    A_ij = q_i . k_j  +  q_i . W_{k,R} R_{i-j}  +  u . k_j  +  v . W_{k,R} R_{i-j}
           (a) content   (b) content-position      (c) global content bias   (d) global position bias

and the attention is softmax_j(A_ij / sqrt(Dh)). Terms (a) and (c) are (q_i + u) . k_j; (b) and (d) are
(q_i + v) . r_{i-j}, r = W_{k,R} R. The latter is computed for every query against every distance at once,
(Tq, Tk) products, and the "relative shift" moves row i right by the distance it should start at, so that entry
(i, j) holds distance i - j without gathering (``rel_shift``).

Here ``attention.py``'s scaled dot product computes (a); ``RelativePositionScores`` is the rest, passed to it as an
additive bias that depends on the projected queries and keys.

Shapes: B batch, H heads, Dh head width, T queries (the segment), M memory, Tk = M + T keys, D model width.
Key j (0 <= j < Tk) stands M + i - j positions before query i; the sinusoids are listed from the farthest distance,
Tk - 1, down to 0, the order the shift expects.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def relative_sinusoids(k_len: int, d_model: int, *, clamp_len: int = 0, device: torch.device | None = None
                       ) -> torch.Tensor:
    """R for the distances Tk - 1, ..., 1, 0: (Tk, D), [sin(d / 10000^(2i/D)) | cos(d / 10000^(2i/D))] (XL's
    layout, the sines then the cosines). ``clamp_len`` > 0 reads every distance beyond it as clamp_len."""
    distances = torch.arange(k_len - 1, -1, -1.0, device=device)  # (Tk,)
    if clamp_len > 0:
        distances = distances.clamp(max=clamp_len)
    inv_freq = 1.0 / (10000 ** (torch.arange(0.0, d_model, 2.0, device=device) / d_model))  # (D/2,)
    angles = distances[:, None] * inv_freq[None, :]  # (Tk, D/2)
    return torch.cat([angles.sin(), angles.cos()], dim=-1)  # (Tk, D)


def rel_shift(scores: torch.Tensor) -> torch.Tensor:
    """(..., T, Tk) scores against distances Tk-1 .. 0 (column c = distance Tk-1-c) -> (..., T, Tk) scores against
    keys: entry (i, j) = input (i, j + T - 1 - i), the distance M + i - j of query i (the last T keys' row i) to
    key j. Pad one zero column in front, read the buffer as (Tk + 1, T), drop its first row, read it back as
    (T, Tk): row i is then shifted left by T - 1 - i. Entries with j > M + i (keys after the query) are garbage,
    and the causal mask removes them."""
    *lead, t, k_len = scores.shape
    padded = torch.cat([scores.new_zeros(*lead, t, 1), scores], dim=-1)  # (..., T, Tk + 1)
    padded = padded.view(*lead, k_len + 1, t)
    return padded[..., 1:, :].reshape(*lead, t, k_len)


class RelativePositionScores(nn.Module):
    """Terms (b), (c) and (d) of A_ij for one layer: u, v (H, Dh) and W_{k,R} (D -> H * Dh, no bias).

    ``bias(sinusoids)`` returns the function of (q, k) that MultiHeadAttention adds to q . k / sqrt(Dh).
    """

    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.n_heads, self.head_dim = n_heads, d_model // n_heads
        self.r_proj = nn.Linear(d_model, d_model, bias=False)  # W_{k,R}
        self.u = nn.Parameter(torch.zeros(n_heads, self.head_dim))  # global content bias
        self.v = nn.Parameter(torch.zeros(n_heads, self.head_dim))  # global position bias

    def forward(self, q: torch.Tensor, k: torch.Tensor, sinusoids: torch.Tensor) -> torch.Tensor:
        """q (B, H, T, Dh), k (B, H, Tk, Dh), sinusoids (Tk, D) -> (c) + (d) + (b), scaled: (B, H, T, Tk)."""
        r = self.r_proj(sinusoids).view(-1, self.n_heads, self.head_dim).transpose(0, 1)  # (H, Tk, Dh)
        content = torch.einsum("hd,bhkd->bhk", self.u, k)[:, :, None, :]  # (c) u . k_j: (B, H, 1, Tk)
        position = rel_shift((q + self.v[:, None, :]) @ r.transpose(-2, -1))  # (b) + (d): (B, H, T, Tk)
        return (content + position) / math.sqrt(self.head_dim)

    def bias(self, sinusoids: torch.Tensor):
        """The score bias for MultiHeadAttention: a function of its projected q and k."""
        return lambda q, k: self(q, k, sinusoids)
