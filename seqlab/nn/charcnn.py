"""Word vectors from characters, and mixes of layers: the blocks ELMo's token encoder and its downstream use are
made of (Kim et al. 2016; Srivastava et al. 2015; Peters et al. 2018).

Shapes:
    N words, W characters per word (padded), C character embedding size, F filters (all widths), L layers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class CharCNN(nn.Module):
    """A word's characters -> one vector: embed each character, convolve with filters of several widths, take
    each filter's maximum over the word (max-over-time pooling), concatenate: (N, W) -> (N, F)."""

    def __init__(self, *, n_chars: int, embed_dim: int, filters: list[tuple[int, int]], pad_id: int = 0):
        super().__init__()
        self.embed = nn.Embedding(n_chars, embed_dim, padding_idx=pad_id)
        self.convs = nn.ModuleList(nn.Conv1d(embed_dim, count, width) for width, count in filters)
        self.widest = max(width for width, _ in filters)

    @property
    def output_size(self) -> int:
        return sum(conv.out_channels for conv in self.convs)

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        """chars (N, W) character ids, padded after each word -> (N, F). A filter's maximum is taken over the
        windows that start inside the word and (for a word at least as wide as the filter) end inside it, so a
        word's vector does not depend on how much its batch was padded."""
        if chars.size(1) < self.widest:
            chars = F.pad(chars, (0, self.widest - chars.size(1)), value=self.embed.padding_idx)
        lengths = (chars != self.embed.padding_idx).sum(1, keepdim=True)  # (N, 1)
        x = self.embed(chars).transpose(1, 2)  # (N, C, W): Conv1d convolves over the last axis
        pooled = []
        for conv in self.convs:
            width = conv.kernel_size[0]
            scores = conv(x)  # (N, F_k, W - width + 1): one score per window
            starts = torch.arange(scores.size(-1), device=chars.device)[None, :]  # (1, W - width + 1)
            inside = starts < (lengths - width + 1).clamp(min=1)  # (N, W - width + 1)
            pooled.append(scores.masked_fill(~inside[:, None, :], float("-inf")).amax(dim=-1))  # (N, F_k)
        return F.relu(torch.cat(pooled, dim=-1))  # (N, F): relu(max) = max(relu)


class Highway(nn.Module):
    """Highway layers (Srivastava et al. 2015): y = t * relu(W_h x) + (1 - t) * x, with the gate
    t = sigmoid(W_t x), its bias started negative so each layer begins close to carrying x through."""

    def __init__(self, size: int, num_layers: int, *, gate_bias: float = -2.0):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(size, 2 * size) for _ in range(num_layers))
        for layer in self.layers:
            nn.init.constant_(layer.bias[size:], gate_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (..., F) -> (..., F)."""
        for layer in self.layers:
            h, t = layer(x).chunk(2, dim=-1)  # the transform and the gate, (..., F) each
            t = torch.sigmoid(t)
            x = t * F.relu(h) + (1 - t) * x
        return x


class ScalarMix(nn.Module):
    """ELMo's task-specific mix of L layers: gamma * sum_j s_j h_j, with s = softmax(w) (Peters et al. 2018,
    eq. 1). w starts at zero (an even mix), gamma at one; both are learnt by the downstream task."""

    def __init__(self, num_layers: int):
        super().__init__()
        self.scalars = nn.Parameter(torch.zeros(num_layers))  # w (L,)
        self.gamma = nn.Parameter(torch.ones(()))

    def weights(self) -> torch.Tensor:
        """s = softmax(w), (L,): how much each layer counts."""
        return torch.softmax(self.scalars, dim=0)

    def forward(self, layers: torch.Tensor) -> torch.Tensor:
        """layers (L, ..., D) -> (..., D)."""
        s = self.weights().to(layers.dtype).view(-1, *([1] * (layers.dim() - 1)))  # (L, 1, ..., 1)
        return self.gamma * (s * layers).sum(0)
