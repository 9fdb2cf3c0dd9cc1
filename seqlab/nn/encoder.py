"""The encoder of the Transformers that classify a whole input through a [CLS] token (the Vision Transformer, the
series Transformer): the tokens come from any embedder (image patches, series patches), then

    z_0 = [x_class; tokens] + E_pos      (B, 1 + N, D)   E_pos learned, as ViT and BERT
    z_l = EncoderLayer(z_{l-1})          pre-norm, GELU
    out = LayerNorm(z_L)                 out[:, 0] is the [CLS] state a head reads
"""

from __future__ import annotations

import torch
from torch import nn

from seqlab.nn.layers import EncoderLayer
from seqlab.nn.positional import LearnedPositionalEmbedding


class ClassTokenEncoder(nn.Module):
    def __init__(self, d_model: int, n_heads: int, d_ff: int, n_layers: int, *, max_tokens: int,
                 dropout: float = 0.0, activation: str = "gelu"):
        super().__init__()
        self.cls = nn.Parameter(torch.zeros(1, 1, d_model))
        nn.init.normal_(self.cls, std=0.02)
        self.positions = LearnedPositionalEmbedding(d_model, 1 + max_tokens)
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.ModuleList(EncoderLayer(d_model, n_heads, d_ff, dropout=dropout, activation=activation,
                                                 norm_first=True) for _ in range(n_layers))
        self.norm = nn.LayerNorm(d_model)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor | None = None, *, need_weights: bool = False
                ) -> tuple[torch.Tensor, list[torch.Tensor | None]]:
        """tokens (B, N, D), mask (B, N) True at real tokens -> states (B, 1 + N, D) ([CLS] first), and each layer's
        attention (B, H, 1 + N, 1 + N) (None without ``need_weights``)."""
        b, n, _ = tokens.shape
        if n + 1 > self.positions.embedding.num_embeddings:
            raise ValueError(f"{n} tokens, more than the {self.positions.embedding.num_embeddings - 1} positions")
        z = torch.cat([self.cls.expand(b, -1, -1), tokens], dim=1)  # (B, 1 + N, D)
        z = self.dropout(z + self.positions(torch.arange(1 + n, device=z.device)))
        attn_mask = None if mask is None else torch.cat([mask.new_ones(b, 1), mask], 1)[:, None, None, :]
        weights = []
        for layer in self.layers:
            z, w = layer(z, attn_mask, need_weights=need_weights)
            weights.append(w)
        return self.norm(z), weights
