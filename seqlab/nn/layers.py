"""Transformer layers assembled from injected parts (torchtune style), and the encoder/decoder layers of
"Attention is all you need" built from them.

Each sub-layer is a residual block, post-norm as in the paper:
    x = LayerNorm(x + Dropout(Sublayer(x)))
or, with ``norm_first=True`` (pre-norm, GPT-2 and most modern models):
    x = x + Dropout(Sublayer(LayerNorm(x)))

One attention class serves every family:
    Transformer encoder  EncoderLayer = SelfAttentionLayer, padding mask
    GPT-2 block          SelfAttentionLayer(norm_first=True, causal=True), FeedForward(activation="gelu_tanh")
    BERT layer           SelfAttentionLayer(norm_first=False), FeedForward(activation="gelu"), LayerNorm(eps=1e-12)
    Transformer-XL       SelfAttentionLayer(causal=True) called with ``bias`` = relative-position scores
    seq2seq decoder      DecoderLayer = causal SelfAttentionLayer (no MLP) + CrossAttentionLayer (with the MLP)

Shapes: B batch, T target length, S source length, D model width, H heads, Tk key length.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.nn.attention import MultiHeadAttention, ScoreBias
from seqlab.nn.cache import KVCache
from seqlab.nn.packing import Packing

AttentionCall = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor | None]]

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": F.relu,
    "gelu": F.gelu,  # exact: x Phi(x) (BERT)
    "gelu_tanh": partial(F.gelu, approximate="tanh"),  # GPT-2's tanh approximation (HF "gelu_new")
}


def init_normal_(model: nn.Module, std: float) -> None:
    """GPT-2's and Transformer-XL's initialisation: N(0, std) for every Linear and Embedding weight, zero Linear
    biases (LayerNorms keep (1, 0)). In place, in ``model.modules()`` order, so a seed gives the same weights."""
    for module in model.modules():
        if isinstance(module, nn.Linear | nn.Embedding):
            nn.init.normal_(module.weight, std=std)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)


class FeedForward(nn.Module):
    """FFN(x) = act(x W_1 + b_1) W_2 + b_2, applied to each position independently (act = max(0, .) in the paper)."""

    def __init__(self, d_model: int, d_ff: int, *, dropout: float = 0.0, activation: str = "relu",
                 bias: bool = True):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r} (choose from {sorted(ACTIVATIONS)})")
        self.w_1 = nn.Linear(d_model, d_ff, bias=bias)
        self.w_2 = nn.Linear(d_ff, d_model, bias=bias)
        self.activation = ACTIVATIONS[activation]
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w_2(self.dropout(self.activation(self.w_1(x))))


class Residual(nn.Module):
    """Residual connection with its norm after (post-norm) or before (pre-norm) the sub-layer, or, with
    ``branch_norm``, on the branch's output: x + Norm(Dropout(Sublayer(x))) (the Keras time-series example;
    Swin v2's "res-post-norm")."""

    def __init__(self, norm: nn.Module, *, dropout: float, norm_first: bool, branch_norm: bool = False):
        super().__init__()
        if norm_first and branch_norm:
            raise ValueError("a residual block normalises its input (norm_first) or its branch (branch_norm)")
        self.norm = norm
        self.dropout = nn.Dropout(dropout)
        self.norm_first, self.branch_norm = norm_first, branch_norm

    def forward(self, x: torch.Tensor, sublayer: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        if self.norm_first:
            return x + self.dropout(sublayer(self.norm(x)))
        if self.branch_norm:
            return x + self.norm(self.dropout(sublayer(x)))
        return self.norm(x + self.dropout(sublayer(x)))

    def sublayer_input(self, x: torch.Tensor) -> torch.Tensor:
        """What the sub-layer reads of x: LayerNorm(x) in a pre-norm block, x itself otherwise."""
        return self.norm(x) if self.norm_first else x

    def attend(self, x: torch.Tensor, attention: AttentionCall) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The block around an attention that also returns its weights (B, H, T, Tk) or None."""
        weights = None

        def sublayer(h: torch.Tensor) -> torch.Tensor:
            nonlocal weights
            out, weights = attention(h)
            return out

        return self(x, sublayer), weights


def _feed_forward_block(mlp: nn.Module | None, mlp_norm: nn.Module | None, **residual) -> Residual | None:
    if (mlp is None) != (mlp_norm is None):
        raise ValueError("mlp and mlp_norm come together: give both or neither")
    return None if mlp is None else Residual(mlp_norm, **residual)


class SelfAttentionLayer(nn.Module):
    """Self-attention, then (optionally) a feed-forward, each in a residual block.

    ``causal``: every query sees only the keys up to its own position (GPT, the seq2seq decoder), by the
    one rule of seqlab.nn.masks, with or without a ``KVCache`` or a ``memory``.
    """

    def __init__(
        self,
        *,
        attn: MultiHeadAttention,
        mlp: nn.Module | None,
        attn_norm: nn.Module,
        mlp_norm: nn.Module | None = None,
        norm_first: bool,
        dropout: float = 0.0,
        causal: bool = False,
    ):
        super().__init__()
        self.self_attn = attn
        self.feed_forward = mlp
        self.attn_block = Residual(attn_norm, dropout=dropout, norm_first=norm_first)
        self.ff_block = _feed_forward_block(mlp, mlp_norm, dropout=dropout, norm_first=norm_first)
        self.causal = causal

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        *,
        bias: torch.Tensor | ScoreBias | None = None,
        memory: torch.Tensor | None = None,
        kv_cache: KVCache | None = None,
        input_pos: torch.Tensor | None = None,
        need_weights: bool = False,
        packing: Packing | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (B, T, D) -> (B, T, D), self-attention weights (B, H, T, Tk) or None.

        ``mask`` (bool, True = may attend) and ``bias`` (float, added to the scores, or a function of the
        projected queries and keys) broadcast to (B, H, T, Tk). With a ``memory`` (B, M, D), the hidden states
        this layer read in the previous segment (Transformer-XL), the keys and values are those of
        [memory; x], Tk = M + T, while the queries are x's. With a ``kv_cache``, x holds the tokens at
        ``input_pos`` (T,) and attends to the cached prefix. With a ``packing``, x is the real tokens only,
        (N, D), and so is the output: norms and feed-forward work on each position alone, so only attention
        needs the padded shape.
        """
        if memory is not None and (kv_cache is not None or packing is not None):
            raise ValueError("a layer reads a memory (Transformer-XL) or a kv_cache / packing, not both")
        # the memory passes through the same norm as x (pre-norm) but gets no gradient
        context = None if memory is None else self.attn_block.sublayer_input(memory.detach())  # (B, M, D)
        x, weights = self.attn_block.attend(x, lambda h: self.self_attn(
            h, None if context is None else torch.cat([context, h], dim=1), mask=mask, bias=bias,
            is_causal=self.causal, kv_cache=kv_cache, input_pos=input_pos,
            need_weights=need_weights, packing=packing))
        if self.ff_block is not None:
            x = self.ff_block(x, self.feed_forward)
        return x, weights


class CrossAttentionLayer(nn.Module):
    """Attention from x to a memory (the encoder's output), then (optionally) a feed-forward, each residual."""

    def __init__(
        self,
        *,
        attn: MultiHeadAttention,
        mlp: nn.Module | None,
        attn_norm: nn.Module,
        mlp_norm: nn.Module | None = None,
        norm_first: bool,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.cross_attn = attn
        self.feed_forward = mlp
        self.cross_block = Residual(attn_norm, dropout=dropout, norm_first=norm_first)
        self.ff_block = _feed_forward_block(mlp, mlp_norm, dropout=dropout, norm_first=norm_first)

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor | tuple[torch.Tensor, torch.Tensor],
        *,
        mask: torch.Tensor | None = None,
        bias: torch.Tensor | None = None,
        need_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (B, T, D); memory (B, S, D), or its keys/values 2 x (B, H, S, Dh) from ``cross_attn.project_kv``
        -> (B, T, D), cross-attention weights (B, H, T, S) or None. ``mask`` (B, 1, 1, S): the memory's padding.
        """
        source, source_kv = (None, memory) if isinstance(memory, tuple) else (memory, None)
        x, weights = self.cross_block.attend(x, lambda h: self.cross_attn(
            h, source, source_kv=source_kv, mask=mask, bias=bias, need_weights=need_weights))
        if self.ff_block is not None:
            x = self.ff_block(x, self.feed_forward)
        return x, weights


class EncoderLayer(SelfAttentionLayer):
    """The Transformer encoder layer (Vaswani et al.), built from sizes: self-attention, feed-forward."""

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_ff: int,
        *,
        dropout: float = 0.1,
        attention_dropout: float | None = None,
        ffn_dropout: float | None = None,
        activation: str = "relu",
        norm_first: bool = False,
        eps: float = 1e-5,
    ):
        attention_dropout = dropout if attention_dropout is None else attention_dropout
        super().__init__(
            attn=MultiHeadAttention(d_model, n_heads, dropout=attention_dropout),
            mlp=FeedForward(d_model, d_ff, dropout=dropout if ffn_dropout is None else ffn_dropout,
                            activation=activation),
            attn_norm=nn.LayerNorm(d_model, eps=eps), mlp_norm=nn.LayerNorm(d_model, eps=eps),
            norm_first=norm_first, dropout=dropout)


# state_dict names of DecoderLayer before it was composed of two layers, and where they live now
_FLAT_DECODER_KEYS = {
    "self_attn.": "self_layer.self_attn.",
    "self_block.": "self_layer.attn_block.",
    "cross_attn.": "cross_layer.cross_attn.",
    "cross_block.": "cross_layer.cross_block.",
    "feed_forward.": "cross_layer.feed_forward.",
    "ff_block.": "cross_layer.ff_block.",
}


class DecoderLayer(nn.Module):
    """The Transformer decoder layer (Vaswani et al.), built from sizes: masked self-attention,
    encoder-decoder (cross) attention, feed-forward. It is a causal SelfAttentionLayer without MLP
    followed by a CrossAttentionLayer that carries the MLP.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_ff: int,
        *,
        dropout: float = 0.1,
        attention_dropout: float | None = None,
        ffn_dropout: float | None = None,
        activation: str = "relu",
        norm_first: bool = False,
        eps: float = 1e-5,
    ):
        super().__init__()
        attention_dropout = dropout if attention_dropout is None else attention_dropout
        # built in this order, so that a seed gives the initial weights of the earlier flat layer
        self_attn = MultiHeadAttention(d_model, n_heads, dropout=attention_dropout)
        cross_attn = MultiHeadAttention(d_model, n_heads, dropout=attention_dropout)
        mlp = FeedForward(d_model, d_ff, dropout=dropout if ffn_dropout is None else ffn_dropout,
                          activation=activation)
        self.self_layer = SelfAttentionLayer(attn=self_attn, mlp=None, attn_norm=nn.LayerNorm(d_model, eps=eps),
                                             norm_first=norm_first, dropout=dropout, causal=True)
        self.cross_layer = CrossAttentionLayer(attn=cross_attn, mlp=mlp, attn_norm=nn.LayerNorm(d_model, eps=eps),
                                               mlp_norm=nn.LayerNorm(d_model, eps=eps), norm_first=norm_first,
                                               dropout=dropout)

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor | tuple[torch.Tensor, torch.Tensor],
        *,
        self_mask: torch.Tensor | None = None,
        memory_mask: torch.Tensor | None = None,
        kv_cache: KVCache | None = None,
        input_pos: torch.Tensor | None = None,
        need_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (B, T, D); memory (B, S, D) or its precomputed cross keys/values -> (B, T, D), cross weights.

        Self-attention is causal; ``self_mask`` (e.g. target padding) narrows it further.
        """
        x, _ = self.self_layer(x, self_mask, kv_cache=kv_cache, input_pos=input_pos)
        return self.cross_layer(x, memory, mask=memory_mask, need_weights=need_weights)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Checkpoints of the earlier flat layer (self_attn., self_block., ...) load into the composed one."""
        for key in [k for k in state_dict if k.startswith(prefix)]:
            name = key[len(prefix):]
            old = next((old for old in _FLAT_DECODER_KEYS if name.startswith(old)), None)
            if old is not None:
                state_dict[prefix + _FLAT_DECODER_KEYS[old] + name[len(old):]] = state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
