"""The encoder-decoder Transformer of "Attention is all you need" (Vaswani et al., 2017).

Shapes:
    B batch, S source length, T target length, D d_model, H heads, Dh = D / H, V vocabulary size.

Data flow:
    src (B, S) -> embed * sqrt(D) + PE -> N x EncoderLayer -> [LayerNorm] -> memory (B, S, D)
    tgt_in (B, T) -> embed * sqrt(D) + PE -> N x DecoderLayer(memory) -> [LayerNorm] -> hidden (B, T, D)
    hidden -> generator -> logits (B, T, V)
[LayerNorm]: pre-norm stacks only. EncoderLayer and DecoderLayer are assembled in seqlab.nn.layers
from one MultiHeadAttention class; the causal rule lives in seqlab.nn.masks.

Decoding keeps an explicit ``DecoderState``: one KVCache per decoder layer for self-attention,
(B, H, T, Dh) so far, and the cross-attention keys/values (B, H, S, Dh) of the memory, computed once.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.models.config import PRESETS, TransformerConfig  # noqa: F401  (re-exported)
from seqlab.nn.cache import KVCache
from seqlab.nn.layers import DecoderLayer, EncoderLayer
from seqlab.nn.masks import padding_mask
from seqlab.nn.positional import ScaledEmbedding, build_positional


class TransformerEncoder(nn.Module):
    def __init__(self, *, embed: nn.Module, positional: nn.Module, layers: list[EncoderLayer],
                 norm: nn.Module, dropout: float):
        super().__init__()
        self.embed, self.positional = embed, positional
        self.layers = nn.ModuleList(layers)
        self.norm = norm  # final LayerNorm for pre-norm stacks, Identity for post-norm
        self.dropout = nn.Dropout(dropout)

    def forward(self, src: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """src (B, S) ids, mask (B, 1, 1, S) -> memory (B, S, D)."""
        positions = torch.arange(src.size(1), device=src.device)
        x = self.dropout(self.embed(src) + self.positional(positions))  # (B, S, D)
        for layer in self.layers:
            x, _ = layer(x, mask)
        return self.norm(x)


class TransformerDecoder(nn.Module):
    def __init__(self, *, embed: nn.Module, positional: nn.Module, layers: list[DecoderLayer],
                 norm: nn.Module, dropout: float):
        super().__init__()
        self.embed, self.positional = embed, positional
        self.layers = nn.ModuleList(layers)
        self.norm = norm
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        tgt: torch.Tensor,
        memory: torch.Tensor | list[tuple[torch.Tensor, torch.Tensor]],
        memory_mask: torch.Tensor | None,
        *,
        caches: list[KVCache] | None = None,
        input_pos: torch.Tensor | None = None,
        need_weights: bool = False,
    ) -> tuple[torch.Tensor, list[torch.Tensor | None]]:
        """tgt (B, T) ids; memory (B, S, D) or per-layer cross K/V -> hidden (B, T, D), cross weights per layer.

        Teacher forcing (no caches): causal self-attention over the whole target.
        Incremental (caches): tgt holds the tokens at ``input_pos``; attention covers the cached prefix.
        """
        if input_pos is None:
            input_pos = torch.arange(tgt.size(1), device=tgt.device)
        x = self.dropout(self.embed(tgt) + self.positional(input_pos))  # (B, T, D)
        all_weights = []
        for i, layer in enumerate(self.layers):
            layer_memory = memory[i] if isinstance(memory, list) else memory
            x, weights = layer(
                x,
                layer_memory,
                memory_mask=memory_mask,
                kv_cache=None if caches is None else caches[i],
                input_pos=input_pos,
                need_weights=need_weights,
            )
            all_weights.append(weights)
        return self.norm(x), all_weights


@dataclass
class DecoderState:
    """Everything incremental decoding carries from step to step."""

    memory_mask: torch.Tensor  # (B, 1, 1, S)
    cross_kv: list[tuple[torch.Tensor, torch.Tensor]]  # per layer: K, V of the memory, (B, H, S, Dh)
    caches: list[KVCache]  # per layer: self-attention keys/values so far

    def reorder(self, index: torch.Tensor) -> None:
        """Keep batch rows ``index``: used by beam search when hypotheses are re-ranked."""
        self.memory_mask = self.memory_mask.index_select(0, index)
        self.cross_kv = [(k.index_select(0, index), v.index_select(0, index)) for k, v in self.cross_kv]
        for cache in self.caches:
            cache.reorder(index)


class Transformer(nn.Module):
    """Encoder-decoder with a generator (pre-softmax linear); owns its loss and decoding steps."""

    def __init__(self, *, encoder: TransformerEncoder, decoder: TransformerDecoder, generator: nn.Linear,
                 config: TransformerConfig):
        super().__init__()
        self.encoder, self.decoder, self.generator = encoder, decoder, generator
        self.config = config
        self.pad_id, self.bos_id, self.eos_id = config.pad_id, config.bos_id, config.eos_id

    @classmethod
    def from_config(cls, cfg: TransformerConfig) -> Transformer:
        if cfg.src_vocab_size <= 0 or cfg.tgt_vocab_size <= 0:
            raise ValueError("TransformerConfig needs src_vocab_size and tgt_vocab_size > 0")
        if cfg.share_embeddings and cfg.src_vocab_size != cfg.tgt_vocab_size:
            raise ValueError("share_embeddings needs one joint vocabulary (src_vocab_size == tgt_vocab_size)")
        layer_args = dict(dropout=cfg.dropout, attention_dropout=cfg.attention_dropout, ffn_dropout=cfg.ffn_dropout,
                          activation=cfg.activation, norm_first=cfg.norm_first)
        src_embed = ScaledEmbedding(cfg.src_vocab_size, cfg.d_model, padding_idx=cfg.pad_id)
        tgt_embed = src_embed if cfg.share_embeddings else ScaledEmbedding(
            cfg.tgt_vocab_size, cfg.d_model, padding_idx=cfg.pad_id)
        positional = build_positional(cfg.positional, cfg.d_model, cfg.max_len)

        def final_norm() -> nn.Module:
            return nn.LayerNorm(cfg.d_model) if cfg.norm_first else nn.Identity()

        encoder = TransformerEncoder(
            embed=src_embed, positional=positional, dropout=cfg.dropout, norm=final_norm(),
            layers=[EncoderLayer(cfg.d_model, cfg.n_heads, cfg.d_ff, **layer_args)
                    for _ in range(cfg.n_encoder_layers)])
        decoder = TransformerDecoder(
            embed=tgt_embed, positional=positional, dropout=cfg.dropout, norm=final_norm(),
            layers=[DecoderLayer(cfg.d_model, cfg.n_heads, cfg.d_ff, **layer_args)
                    for _ in range(cfg.n_decoder_layers)])
        generator = nn.Linear(cfg.d_model, cfg.tgt_vocab_size, bias=False)
        if cfg.tie_output:
            generator.weight = tgt_embed.weight
        else:
            nn.init.normal_(generator.weight, std=cfg.d_model**-0.5)
        return cls(encoder=encoder, decoder=decoder, generator=generator, config=cfg)

    # -- teacher forcing -------------------------------------------------------------------------

    def encode(self, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """src (B, S) -> memory (B, S, D), memory_mask (B, 1, 1, S)."""
        mask = padding_mask(src, self.pad_id)
        return self.encoder(src, mask), mask

    def decode(
        self, tgt_in: torch.Tensor, memory: torch.Tensor, memory_mask: torch.Tensor, *,
        need_weights: bool = False, last_only: bool = False,
    ) -> tuple[torch.Tensor, list[torch.Tensor | None]]:
        """tgt_in (B, T) -> logits (B, T, V) (or (B, 1, V) with ``last_only``), cross weights per layer or None.

        ``last_only`` skips the output projection of positions an uncached decoder would throw away.
        """
        hidden, weights = self.decoder(tgt_in, memory, memory_mask, need_weights=need_weights)
        return self.generator(hidden[:, -1:] if last_only else hidden), weights

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        memory, memory_mask = self.encode(src)
        return self.decode(tgt_in, memory, memory_mask)[0]

    def loss(self, src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        """Cross-entropy with label smoothing; tgt (B, T+1) is <bos> y_1 .. y_n <eos> <pad>..."""
        logits = self(src, tgt[:, :-1])  # (B, T, V)
        return F.cross_entropy(
            logits.flatten(0, 1).float(), tgt[:, 1:].flatten(),
            ignore_index=self.pad_id, label_smoothing=self.config.label_smoothing)

    # -- incremental decoding --------------------------------------------------------------------

    def start_decoding(self, memory: torch.Tensor, memory_mask: torch.Tensor, max_len: int) -> DecoderState:
        """Project the memory's cross K/V once per layer and allocate one self-attention cache per layer."""
        cfg = self.config
        cross_kv = [layer.cross_layer.cross_attn.project_kv(memory) for layer in self.decoder.layers]
        caches = [
            KVCache(memory.size(0), max_len, cfg.n_heads, cfg.head_dim, dtype=cross_kv[0][0].dtype,
                    device=memory.device)
            for _ in self.decoder.layers
        ]
        return DecoderState(memory_mask=memory_mask, cross_kv=cross_kv, caches=caches)

    def decode_step(self, tokens: torch.Tensor, state: DecoderState, input_pos: torch.Tensor) -> torch.Tensor:
        """tokens (B, T) at positions input_pos (T,) -> logits (B, T, V), appending to the caches."""
        hidden, _ = self.decoder(tokens, state.cross_kv, state.memory_mask, caches=state.caches,
                                 input_pos=input_pos)
        return self.generator(hidden)
