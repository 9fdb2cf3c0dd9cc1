"""Transformer-XL: a Transformer language model with segment-level recurrence and relative positions (Dai et al. 2019).

A vanilla Transformer LM (seqlab.models.gpt) trains on fixed segments and sees nothing before its segment; at test
time it must slide its window one token at a time to give each token a full context, recomputing everything. XL
keeps each layer's hidden states of the previous segment as a memory (``seqlab.nn.memory``) that the next segment
attends to without backpropagating into it. Positions then cannot be absolute (the same index would mean two places),
so attention scores the distance i - j instead (``seqlab.nn.relative``):

    A_ij = q_i . k_j + q_i . W_{k,R} R_{i-j} + u . k_j + v . W_{k,R} R_{i-j}

Shapes:
    B batch, T segment length, M memory length, Tk = M + T keys, D d_model, H heads, Dh = D / H, V vocabulary.

Data flow (``norm_first=False``, the paper's layer):
    ids (B, T) -> embedding * sqrt(D) -> dropout -> h^0
    layer n: [SG(m^{n-1}); h^{n-1}] gives keys and values, h^{n-1} the queries; causal self-attention with the
             relative bias -> residual, LayerNorm -> feed-forward -> residual, LayerNorm -> h^n
    h^L -> dropout -> output layer (tied softmax, or adaptive softmax) -> logits (B, T, V)
    the memory keeps the last mem_len of each layer's input h^{n-1}
Each layer is the shared causal ``seqlab.nn.SelfAttentionLayer``, called with the memory and the relative bias.

Interchange: ``TransformerXL.from_hf`` reads a Hugging Face ``TransfoXLLMHeadModel`` (deprecated there, removed in
transformers 5) with a full softmax: ``div_val`` 1, no cutoffs, per-layer u and v (``untie_r``), ``same_length`` off.

Generation (``seqlab.generation``) goes through ``prefill``/``step`` with an ``XLState``: the prompt is one segment,
then each new token is a one-token segment over the memory of ``eval_mem_len`` states, so a step costs O(M) however
long the text grows, and the context is never cut at a fixed window.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.models.config import TransformerXLConfig
from seqlab.models.hf_dir import hf_source
from seqlab.nn.adaptive import mean_nll, output_layer, token_nll
from seqlab.nn.attention import MultiHeadAttention
from seqlab.nn.layers import FeedForward, SelfAttentionLayer, init_normal_
from seqlab.nn.memory import SegmentMemory
from seqlab.nn.relative import RelativePositionScores, relative_sinusoids


def build_layer(cfg: TransformerXLConfig) -> SelfAttentionLayer:
    """One XL layer: causal self-attention (no biases in the projections, as the paper's code) and a ReLU MLP.
    Dropout as GPT-2 places it, on the attention weights and each sub-layer's output (the paper's code also drops
    the MLP's hidden layer, the largest tensor of the layer: the slowest mask on a CPU, and no better here)."""
    attention_dropout = cfg.dropout if cfg.attention_dropout is None else cfg.attention_dropout

    def norm() -> nn.LayerNorm:
        return nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)

    return SelfAttentionLayer(
        attn=MultiHeadAttention(cfg.d_model, cfg.n_heads, dropout=attention_dropout, bias=False),
        mlp=FeedForward(cfg.d_model, cfg.ff_size, dropout=0.0, activation=cfg.activation),
        attn_norm=norm(), mlp_norm=norm(), norm_first=cfg.norm_first, dropout=cfg.dropout, causal=True)


@dataclass
class XLState:
    """What generation carries: the memory of every layer (eval_mem_len states at most)."""

    memory: SegmentMemory


class TransformerXL(nn.Module):
    """Decoder-only language model with a memory; owns its loss and its decoding steps."""

    def __init__(self, *, embed: nn.Embedding, relative: list[RelativePositionScores],
                 layers: list[SelfAttentionLayer], norm: nn.Module, head: nn.Module, config: TransformerXLConfig):
        super().__init__()
        if len(relative) != len(layers):
            raise ValueError("one RelativePositionScores per layer")
        self.embed = embed
        self.relative = nn.ModuleList(relative)  # layer n's W_{k,R}, u, v
        self.layers = nn.ModuleList(layers)
        self.norm = norm  # final LayerNorm (pre-norm), Identity (the paper's post-norm)
        self.head = head  # nn.Linear, or seqlab.nn.AdaptiveSoftmax (its forward gives log-probabilities)
        self.dropout = nn.Dropout(config.dropout)
        self.scale = math.sqrt(config.d_model)
        self.config = config
        # carried from one training batch to the next by ``loss(carry=...)``
        self.train_memory = SegmentMemory(config.mem_len)

    @classmethod
    def from_config(cls, cfg: TransformerXLConfig) -> TransformerXL:
        if cfg.vocab_size <= 0:
            raise ValueError("TransformerXLConfig needs vocab_size > 0")
        embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        relative = [RelativePositionScores(cfg.d_model, cfg.n_heads) for _ in range(cfg.n_layers)]
        layers = [build_layer(cfg) for _ in range(cfg.n_layers)]
        norm = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps) if cfg.norm_first else nn.Identity()
        # the full softmax has the paper's per-word bias; the adaptive one none, as the GPT's: the vanilla baseline and
        # XL then compare on the same output layer
        head = output_layer(cfg.d_model, cfg.vocab_size, cutoffs=cfg.adaptive_cutoffs,
                            div_value=cfg.adaptive_div_value,
                            tied_weight=embed.weight if cfg.tie_embeddings else None, bias=not cfg.adaptive_cutoffs)
        model = cls(embed=embed, relative=relative, layers=layers, norm=norm, head=head, config=cfg)
        model.reset_parameters()
        return model

    def reset_parameters(self) -> None:
        """N(0, init_std) weights, u and v; zero biases; LayerNorms at (1, 0) (the paper's code)."""
        std = self.config.init_std
        init_normal_(self, std)
        for rel in self.relative:
            nn.init.normal_(rel.u, std=std)
            nn.init.normal_(rel.v, std=std)

    def new_memory(self) -> SegmentMemory:
        """An empty memory of the length this mode uses: mem_len in training, eval_mem_len otherwise."""
        return SegmentMemory(self.config.mem_len if self.training else self.config.memory_at_eval)

    # -- the forward pass ------------------------------------------------------------------------------------------

    def hidden_states(self, ids: torch.Tensor, memory: SegmentMemory | None = None, *,
                      mask: torch.Tensor | None = None, attentions: list[torch.Tensor] | None = None) -> torch.Tensor:
        """ids (B, T) -> the final hidden states (B, T, D). A ``memory`` is read (its M states per layer join the keys)
        and then extended with this segment. ``mask`` (T, M + T) bool narrows the causal rule further. Given a list as
        ``attentions``, each layer's weights (B, H, T, M + T) are appended to it."""
        t = ids.size(1)
        m = 0 if memory is None else len(memory)
        x = self.dropout(self.embed(ids) * self.scale)  # (B, T, D): h^0
        sinusoids = self.dropout(relative_sinusoids(m + t, self.config.d_model, clamp_len=self.config.clamp_len,
                                                    device=ids.device).to(x.dtype))  # (Tk, D)
        layer_inputs = []
        for n, (layer, rel) in enumerate(zip(self.layers, self.relative, strict=True)):
            layer_inputs.append(x)
            past = None if memory is None else memory.read(n)  # (B, M, D)
            x, weights = layer(x, mask, memory=past, bias=rel.bias(sinusoids), need_weights=attentions is not None)
            if attentions is not None:
                attentions.append(weights)
        if memory is not None:
            memory.update(layer_inputs)
        return self.dropout(self.norm(x))

    def forward(self, ids: torch.Tensor, memory: SegmentMemory | None = None) -> torch.Tensor:
        """ids (B, T) -> logits (B, T, V) (log-probabilities with an adaptive softmax); the memory as in
        ``hidden_states``."""
        return self.head(self.hidden_states(ids, memory))

    def nll(self, inputs: torch.Tensor, targets: torch.Tensor, memory: SegmentMemory | None = None) -> torch.Tensor:
        """-log p(target) in nats at each position (B, T) (targets = inputs shifted by one; -100: 0, ignored)."""
        return token_nll(self.head, self.hidden_states(inputs, memory), targets)

    def loss(self, inputs: torch.Tensor, targets: torch.Tensor, carry: torch.Tensor | None = None) -> torch.Tensor:
        """Mean cross-entropy (nats) of targets (B, T). ``carry`` (a bool scalar tensor): True when these rows
        continue those of the previous call, whose states ``train_memory`` kept; False or None starts afresh."""
        if carry is None or not bool(carry):
            self.train_memory = SegmentMemory(self.config.mem_len)
        return mean_nll(self.nll(inputs, targets, self.train_memory), targets)

    # -- the decoder-only protocol of seqlab.generation ---------------------------------------------------------------

    def prefill(self, prompt: torch.Tensor, max_len: int) -> tuple[torch.Tensor, XLState]:
        """prompt (B, P) -> logits (B, V) of the next token, the state. The prompt is read as one segment; the text
        has no length limit (``max_len`` is not needed)."""
        state = XLState(memory=SegmentMemory(self.config.memory_at_eval))
        hidden = self.hidden_states(prompt, state.memory)  # (B, P, D)
        return self.head(hidden[:, -1]), state

    def step(self, tokens: torch.Tensor, state: XLState) -> tuple[torch.Tensor, XLState]:
        """tokens (B, 1) -> logits (B, V) of the token after them; the memory now ends with them."""
        return self(tokens, state.memory)[:, -1], state

    @staticmethod
    def reorder_state(state: XLState, index: torch.Tensor) -> XLState:
        """Keep rows ``index`` (beam search)."""
        state.memory.reorder(index)
        return state

    # -- Hugging Face interchange -------------------------------------------------------------------------------------

    @classmethod
    def from_hf(cls, source: str | Path | Mapping[str, torch.Tensor],
                config: TransformerXLConfig | Mapping | None = None) -> TransformerXL:
        """A Hugging Face Transformer-XL as ours: a directory (config.json + model.safetensors), or a
        ``TransfoXLLMHeadModel`` state dict with its ``config`` (ours, or Hugging Face's as a dict or object)."""
        state, config = hf_source(source, config, model_type="transfo-xl", config_class=TransformerXLConfig,
                                  from_hf=config_from_hf)
        model = cls.from_config(config)
        model.load_state_dict(state_from_hf(state, config), strict=True)
        return model


# ---- Hugging Face TransfoXLLMHeadModel -> seqlab TransformerXL -------------------------------------------------------

# seqlab layer name -> TransfoXL layer name (both nn.Linear / LayerNorm layouts: no transposes)
_LAYER_KEYS = {
    "self_attn.in_proj": "dec_attn.qkv_net",  # [W_q; W_k; W_v], heads split the same way
    "self_attn.out_proj": "dec_attn.o_net",
    "attn_block.norm": "dec_attn.layer_norm",
    "feed_forward.w_1": "pos_ff.CoreNet.0",
    "feed_forward.w_2": "pos_ff.CoreNet.3",
    "ff_block.norm": "pos_ff.layer_norm",
}
_RELATIVE_KEYS = {"r_proj.weight": "dec_attn.r_net.weight", "u": "dec_attn.r_w_bias", "v": "dec_attn.r_r_bias"}


def config_from_hf(hf: Mapping) -> TransformerXLConfig:
    """Our config of a Hugging Face TransfoXLConfig (as a dict); layouts we do not build are refused by name."""
    required = {"div_val": 1, "cutoffs": [], "untie_r": True, "same_length": False, "sample_softmax": -1}
    for key, expected in required.items():
        if hf.get(key, expected) != expected:
            raise SeqlabError(f"Hugging Face Transformer-XL: {key}={hf[key]!r} is not supported (only {expected!r})")
    d_model, n_heads = hf["d_model"], hf["n_head"]
    if hf.get("d_embed", d_model) != d_model or hf.get("d_head", d_model // n_heads) * n_heads != d_model:
        raise SeqlabError("Hugging Face Transformer-XL: d_embed and n_head * d_head must equal d_model")
    return TransformerXLConfig(
        vocab_size=hf["vocab_size"], n_layers=hf["n_layer"], n_heads=n_heads, d_model=d_model, d_ff=hf["d_inner"],
        mem_len=hf.get("mem_len", 1600) or 0, clamp_len=max(hf.get("clamp_len", 1000), 0),
        dropout=hf.get("dropout", 0.1),
        attention_dropout=hf.get("dropatt", 0.0), norm_first=hf.get("pre_lnorm", False),
        tie_embeddings=hf.get("tie_word_embeddings", True), layer_norm_eps=hf.get("layer_norm_epsilon", 1e-5))


def state_from_hf(state: Mapping[str, torch.Tensor], cfg: TransformerXLConfig) -> dict[str, torch.Tensor]:
    """A TransfoXLLMHeadModel (or TransfoXLModel) state dict -> ours. A post-norm model only: Hugging Face's pre-norm
    layout has no final LayerNorm. Unknown or missing names are an error naming them."""
    if cfg.norm_first:
        raise SeqlabError("only the post-norm Transformer-XL (pre_lnorm=False) converts from Hugging Face")
    named = {(k if k.startswith(("transformer.", "crit.")) else f"transformer.{k}"): v for k, v in state.items()
             if not k.endswith("pos_emb.inv_freq")}
    ours: dict[str, torch.Tensor] = {}

    def take(hf_name: str) -> torch.Tensor:
        if hf_name not in named:
            raise SeqlabError(f"Hugging Face weights lack {hf_name}")
        return named.pop(hf_name)

    ours["embed.weight"] = take("transformer.word_emb.emb_layers.0.weight")
    for n in range(cfg.n_layers):
        hf_layer = f"transformer.layers.{n}"
        for base, hf_base in _LAYER_KEYS.items():
            for leaf in ("weight", "bias"):
                if f"{hf_layer}.{hf_base}.{leaf}" in named:
                    ours[f"layers.{n}.{base}.{leaf}"] = take(f"{hf_layer}.{hf_base}.{leaf}")
        for name, hf_name in _RELATIVE_KEYS.items():
            ours[f"relative.{n}.{name}"] = take(f"{hf_layer}.{hf_name}")
    ours["head.bias"] = take("crit.out_layers.0.bias")
    head = named.pop("crit.out_layers.0.weight", None)  # absent, or a copy of the embedding, when tied
    ours["head.weight"] = ours["embed.weight"] if cfg.tie_embeddings or head is None else head
    if named:
        raise SeqlabError(f"Hugging Face weights hold names Transformer-XL does not: {', '.join(sorted(named)[:3])}")
    return ours
