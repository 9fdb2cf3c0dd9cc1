"""GPT: the decoder of the Transformer, repeated L times, trained to predict the next token (Radford et al. 2018, 2019).

    L_LM = -sum_i log p(x_i | x_<i)

Shapes:
    B batch, T tokens, P prompt length, D d_model, H heads, Dh = D / H, V vocabulary, C context (n_positions).

Data flow (GPT-2, ``norm_first=True``):
    ids (B, T) -> token embedding + learned position embedding -> dropout
               -> L x [x = x + Drop(Attn(LN(x))), x = x + Drop(MLP(LN(x)))] -> LN -> tied output projection
               -> logits (B, T, V)
GPT-1 (``norm_first=False``) puts each LayerNorm after its residual sum and has no final LayerNorm. Every block is a
causal ``seqlab.nn.SelfAttentionLayer``; attention, masks and the KV cache are those of ``seqlab.nn``.

Left padding: ``attention_mask`` (B, T) marks the real tokens. Padded keys are never attended to, and each real
token's position counts only the real tokens before it, so a padded prompt gives the logits of the unpadded one.

Generation (``seqlab.generation``) goes through ``prefill``/``step`` with an explicit ``GPTState``: one KVCache per
layer while the text fits the context; past it, the window slides and each step reads the last C tokens afresh,
as nanoGPT's ``generate`` does (learned positions cannot be shifted inside a cache).

Interchange: ``GPT.from_hf`` reads a Hugging Face ``GPT2LMHeadModel`` (state dict or directory) and ``save_hf``
writes one that ``GPT2LMHeadModel.from_pretrained`` loads. GPT-2's Conv1D stores weights as (in, out): transposed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.models.config import GPT_PRESETS, GPTConfig  # noqa: F401  (re-exported)
from seqlab.models.hf_dir import hf_source, write_hf_dir
from seqlab.nn.adaptive import mean_nll, output_layer, token_nll
from seqlab.nn.attention import MultiHeadAttention
from seqlab.nn.cache import KVCache
from seqlab.nn.layers import FeedForward, SelfAttentionLayer, init_normal_
from seqlab.nn.positional import LearnedPositionalEmbedding


def build_block(cfg: GPTConfig) -> SelfAttentionLayer:
    """One GPT block: causal self-attention and an MLP, GPT-2's dropout (weights, sub-layer outputs)."""
    attention_dropout = cfg.dropout if cfg.attention_dropout is None else cfg.attention_dropout

    def norm() -> nn.LayerNorm:
        return nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps, bias=cfg.bias)

    return SelfAttentionLayer(
        attn=MultiHeadAttention(cfg.d_model, cfg.n_heads, dropout=attention_dropout, bias=cfg.bias),
        # GPT-2 drops the MLP's output (resid_pdrop, the Residual's dropout), not its hidden layer
        mlp=FeedForward(cfg.d_model, cfg.ff_size, dropout=0.0, activation=cfg.activation, bias=cfg.bias),
        attn_norm=norm(), mlp_norm=norm(), norm_first=cfg.norm_first, dropout=cfg.dropout, causal=True)


@dataclass
class GPTState:
    """What generation carries from step to step: the tokens so far (B, T), which are real (B, T) (False = left
    padding), and one KVCache per layer, or None once the text outgrew the context (or without a cache)."""

    tokens: torch.Tensor
    valid: torch.Tensor
    caches: list[KVCache] | None


class GPT(nn.Module):
    """Decoder-only language model; owns its loss, its decoding steps and its conversion to and from Hugging Face."""

    def __init__(self, *, embed: nn.Embedding, positional: LearnedPositionalEmbedding, layers: list[SelfAttentionLayer],
                 norm: nn.Module, head: nn.Module, config: GPTConfig):
        super().__init__()
        self.embed, self.positional = embed, positional
        self.dropout = nn.Dropout(config.dropout)
        self.layers = nn.ModuleList(layers)
        self.norm = norm  # final LayerNorm (GPT-2), Identity (GPT-1)
        self.head = head  # nn.Linear, or seqlab.nn.AdaptiveSoftmax (its forward gives log-probabilities)
        self.config = config

    @classmethod
    def from_config(cls, cfg: GPTConfig) -> GPT:
        if cfg.vocab_size <= 0:
            raise ValueError("GPTConfig needs vocab_size > 0")
        embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        positional = LearnedPositionalEmbedding(cfg.d_model, cfg.n_positions)
        layers = [build_block(cfg) for _ in range(cfg.n_layers)]
        norm = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps, bias=cfg.bias) if cfg.norm_first else nn.Identity()
        # an adaptive softmax is built on the embedding it shares; a full one is tied after the initialisation, which
        # draws its own weights first (so a seed gives the weights it always gave)
        tie_now = cfg.tie_embeddings and bool(cfg.adaptive_cutoffs)
        head = output_layer(cfg.d_model, cfg.vocab_size, cutoffs=cfg.adaptive_cutoffs,
                            div_value=cfg.adaptive_div_value, tied_weight=embed.weight if tie_now else None)
        model = cls(embed=embed, positional=positional, layers=layers, norm=norm, head=head, config=cfg)
        model.reset_parameters()
        if cfg.tie_embeddings and not tie_now:
            model.head.weight = model.embed.weight
        return model

    def reset_parameters(self) -> None:
        """GPT-2's initialisation: N(0, 0.02) weights, zero biases, and the projections that write into the residual
        stream scaled by 1/sqrt(2 L), since L blocks add 2 L of them up."""
        std = self.config.init_std
        init_normal_(self, std)
        for layer in self.layers:
            for proj in (layer.self_attn.out_proj, layer.feed_forward.w_2):
                nn.init.normal_(proj.weight, std=std / math.sqrt(2 * self.config.n_layers))

    # -- the forward pass ------------------------------------------------------------------------------------------

    def forward(self, ids: torch.Tensor, attention_mask: torch.Tensor | None = None, *,
                positions: torch.Tensor | None = None, caches: list[KVCache] | None = None,
                input_pos: torch.Tensor | None = None) -> torch.Tensor:
        """ids (B, T) -> logits (B, T, V).

        ``attention_mask`` (B, T), 1/True for real tokens, allows left padding. With ``caches``, ids are the tokens at
        cache slots ``input_pos`` (T,), ``positions`` (B, T) their positions, and ``attention_mask`` covers every slot
        so far (B, input_pos[-1] + 1).
        """
        return self.head(self.hidden_states(ids, attention_mask, positions=positions, caches=caches,
                                            input_pos=input_pos))

    def hidden_states(self, ids: torch.Tensor, attention_mask: torch.Tensor | None = None, *,
                      positions: torch.Tensor | None = None, caches: list[KVCache] | None = None,
                      input_pos: torch.Tensor | None = None, attentions: list[torch.Tensor] | None = None
                      ) -> torch.Tensor:
        """ids (B, T) -> the final hidden states (B, T, D), after the last LayerNorm. Given a list as
        ``attentions``, each layer's (causal) attention weights (B, H, T, Tk) are appended to it."""
        t = ids.size(1)
        valid = None if attention_mask is None else attention_mask.bool()
        if positions is None:
            positions = torch.arange(t, device=ids.device) if valid is None else real_positions(valid)
        if positions.max() >= self.config.n_positions:
            raise ValueError(f"the model has {self.config.n_positions} positions; got position {int(positions.max())}")
        mask = _padding_mask(valid, t)
        x = self.dropout(self.embed(ids) + self.positional(positions))  # (B, T, D)
        for i, layer in enumerate(self.layers):
            x, weights = layer(x, mask, kv_cache=None if caches is None else caches[i], input_pos=input_pos,
                               need_weights=attentions is not None)
            if attentions is not None:
                attentions.append(weights)
        return self.norm(x)

    def nll(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """-log p(target) in nats at each position (B, T) (targets = inputs shifted by one; -100: 0, ignored)."""
        return token_nll(self.head, self.hidden_states(inputs), targets)

    def loss(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """L_LM: mean cross-entropy (nats) of targets (B, T) (inputs shifted by one; -100 is ignored)."""
        return mean_nll(self.nll(inputs, targets), targets)

    # -- the decoder-only protocol of seqlab.generation ---------------------------------------------------------------

    def prefill(self, prompt: torch.Tensor, max_len: int, attention_mask: torch.Tensor | None = None, *,
                use_cache: bool = True) -> tuple[torch.Tensor, GPTState]:
        """prompt (B, P) -> logits (B, V) of the next token, the state. The caches hold min(max_len, C) slots; a
        prompt longer than the context C is read by its last C tokens. ``use_cache=False`` recomputes every step."""
        valid = torch.ones_like(prompt, dtype=torch.bool) if attention_mask is None else attention_mask.bool()
        state = GPTState(tokens=prompt, valid=valid, caches=None)
        context = self.config.n_positions
        if not use_cache or prompt.size(1) >= context:
            return self._read_window(state), state
        dtype = next(self.parameters()).dtype
        slots = min(max_len, context)
        state.caches = [KVCache(prompt.size(0), slots, self.config.n_heads, self.config.head_dim, dtype=dtype,
                                device=prompt.device) for _ in self.layers]
        input_pos = torch.arange(prompt.size(1), device=prompt.device)
        logits = self(prompt, valid if attention_mask is not None else None, caches=state.caches, input_pos=input_pos)
        return logits[:, -1], state

    def step(self, tokens: torch.Tensor, state: GPTState) -> tuple[torch.Tensor, GPTState]:
        """tokens (B, 1) -> logits (B, V) of the token after them, and the state that includes them."""
        state.tokens = torch.cat([state.tokens, tokens], dim=1)  # (B, T)
        state.valid = torch.cat([state.valid, torch.ones_like(tokens, dtype=torch.bool)], dim=1)
        slot = state.tokens.size(1) - 1
        if state.caches is None or slot >= state.caches[0].max_len:
            state.caches = None  # past the context (or the cache): slide the window
            return self._read_window(state), state
        positions = real_positions(state.valid)[:, -1:]  # (B, 1)
        mask = None if bool(state.valid.all()) else state.valid
        input_pos = torch.tensor([slot], device=tokens.device)
        logits = self(tokens, mask, positions=positions, caches=state.caches, input_pos=input_pos)
        return logits[:, -1], state

    def _read_window(self, state: GPTState) -> torch.Tensor:
        """Logits (B, V) after the last C tokens, read without a cache."""
        context = self.config.n_positions
        tokens, valid = state.tokens[:, -context:], state.valid[:, -context:]
        return self(tokens, None if bool(valid.all()) else valid)[:, -1]

    @staticmethod
    def reorder_state(state: GPTState, index: torch.Tensor) -> GPTState:
        """Keep rows ``index`` (beam search)."""
        state.tokens, state.valid = state.tokens.index_select(0, index), state.valid.index_select(0, index)
        for cache in state.caches or []:
            cache.reorder(index)
        return state

    # -- Hugging Face interchange -------------------------------------------------------------------------------------

    @classmethod
    def from_hf(cls, source: str | Path | Mapping[str, torch.Tensor], config: GPTConfig | Mapping | None = None
                ) -> GPT:
        """A Hugging Face GPT-2 as a seqlab GPT: ``source`` is a directory (config.json + model.safetensors, or a
        sharded model.safetensors.index.json), or a ``GPT2LMHeadModel`` state dict with ``config`` (a GPTConfig,
        or the Hugging Face config as a dict / ``GPT2Config``)."""
        state, config = hf_source(source, config, model_type="gpt2", config_class=GPTConfig, from_hf=config_from_hf)
        model = cls.from_config(config)
        model.load_state_dict(state_from_hf(state, config), strict=True)
        return model

    def hf_config(self) -> dict:
        """This model's config as Hugging Face's GPT2Config (config.json)."""
        return config_to_hf(self.config)

    def hf_state_dict(self) -> dict[str, torch.Tensor]:
        """This model's weights under GPT2LMHeadModel's names and layouts."""
        return state_to_hf(self.state_dict(), self.config)

    def save_hf(self, directory: str | Path) -> Path:
        """Write config.json and model.safetensors that ``transformers.GPT2LMHeadModel.from_pretrained`` loads."""
        return write_hf_dir(directory, self.hf_state_dict(), self.hf_config())


def real_positions(valid: torch.Tensor) -> torch.Tensor:
    """Position of each token among the real tokens of its row: valid (B, T) bool -> (B, T) long (0 at padding)."""
    return (valid.long().cumsum(-1) - 1).clamp_min(0)


def _padding_mask(valid: torch.Tensor | None, t: int) -> torch.Tensor | None:
    """valid (B, Tk) -> bool mask (B, 1, T, Tk): real keys only. A padding query (left of every real token) may
    look at everything the causal rule allows, only so that its softmax has a term: its output is never read."""
    if valid is None:
        return None
    keys = valid[:, None, None, :]  # (B, 1, 1, Tk)
    if t == 1:
        return keys
    queries = valid[:, -t:]  # (B, T): the queries are the last T slots
    return keys | ~queries[:, None, :, None]  # (B, 1, T, Tk)


# ---- Hugging Face GPT-2 <-> seqlab GPT ------------------------------------------------------------------------------

_ACTIVATIONS_HF = {"gelu_tanh": "gelu_new", "gelu": "gelu", "relu": "relu"}
# seqlab layer name -> GPT2Block name, and whether GPT-2's Conv1D stores it transposed
_LAYER_KEYS = {
    "self_attn.in_proj": ("attn.c_attn", True),
    "self_attn.out_proj": ("attn.c_proj", True),
    "feed_forward.w_1": ("mlp.c_fc", True),
    "feed_forward.w_2": ("mlp.c_proj", True),
    "attn_block.norm": ("ln_1", False),
    "ff_block.norm": ("ln_2", False),
}
_TOP_KEYS = {"embed": "transformer.wte", "positional.embedding": "transformer.wpe", "norm": "transformer.ln_f",
             "head": "lm_head"}


def config_from_hf(hf: Mapping) -> GPTConfig:
    """GPTConfig of a Hugging Face GPT2Config (as a dict). Options GPT-2 checkpoints never use are refused."""
    unsupported = {"scale_attn_by_inverse_layer_idx": False, "reorder_and_upcast_attn": False,
                   "scale_attn_weights": True, "add_cross_attention": False}
    for key, expected in unsupported.items():
        if hf.get(key, expected) != expected:
            raise SeqlabError(f"Hugging Face config: {key}={hf[key]} is not supported (GPT-2 uses {expected})")
    reverse = {v: k for k, v in _ACTIVATIONS_HF.items()} | {"gelu_pytorch_tanh": "gelu_tanh"}
    activation = hf.get("activation_function", "gelu_new")
    if activation not in reverse:
        raise SeqlabError(f"Hugging Face config: activation_function={activation!r} is not supported "
                          f"(choose from {', '.join(sorted(reverse))})")
    return GPTConfig(vocab_size=hf["vocab_size"], n_positions=hf["n_positions"], n_layers=hf["n_layer"],
                     n_heads=hf["n_head"], d_model=hf["n_embd"], d_ff=hf.get("n_inner") or 0,
                     dropout=hf.get("resid_pdrop", 0.1), attention_dropout=hf.get("attn_pdrop", 0.1),
                     activation=reverse[activation], norm_first=True, bias=True,
                     tie_embeddings=hf.get("tie_word_embeddings", True),
                     layer_norm_eps=hf.get("layer_norm_epsilon", 1e-5), init_std=hf.get("initializer_range", 0.02))


def _check_hf_layout(cfg: GPTConfig) -> None:
    if cfg.adaptive_cutoffs:
        raise SeqlabError("a GPT with an adaptive softmax has no GPT2LMHeadModel equivalent")
    if not cfg.norm_first:
        raise SeqlabError("a post-norm (GPT-1 layout) model has no GPT2LMHeadModel equivalent")


def config_to_hf(cfg: GPTConfig) -> dict:
    _check_hf_layout(cfg)
    return {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": cfg.vocab_size,
            "n_positions": cfg.n_positions, "n_embd": cfg.d_model, "n_layer": cfg.n_layers, "n_head": cfg.n_heads,
            "n_inner": cfg.d_ff or None, "activation_function": _ACTIVATIONS_HF[cfg.activation],
            "resid_pdrop": cfg.dropout, "embd_pdrop": cfg.dropout,
            "attn_pdrop": cfg.dropout if cfg.attention_dropout is None else cfg.attention_dropout,
            "layer_norm_epsilon": cfg.layer_norm_eps, "initializer_range": cfg.init_std,
            "tie_word_embeddings": cfg.tie_embeddings, "bos_token_id": None, "eos_token_id": None,
            "torch_dtype": "float32"}


def _hf_name(name: str) -> tuple[str, bool]:
    """seqlab parameter name -> (GPT2LMHeadModel name, transposed?)."""
    parts = name.split(".")
    if parts[0] == "layers":
        base, leaf = ".".join(parts[2:-1]), parts[-1]
        hf, transposed = _LAYER_KEYS[base]
        return f"transformer.h.{parts[1]}.{hf}.{leaf}", transposed and leaf == "weight"
    base, leaf = ".".join(parts[:-1]), parts[-1]
    return f"{_TOP_KEYS[base]}.{leaf}", False


def state_to_hf(state: Mapping[str, torch.Tensor], cfg: GPTConfig) -> dict[str, torch.Tensor]:
    """Our state dict under GPT-2's names; biases a bias-free model lacks are written as zeros (the same function)."""
    _check_hf_layout(cfg)
    out = {}
    for name, tensor in state.items():
        if name == "head.weight" and cfg.tie_embeddings:
            continue  # GPT2LMHeadModel ties lm_head to wte itself
        hf, transposed = _hf_name(name)
        out[hf] = tensor.t() if transposed else tensor
    if not cfg.bias:
        for name, tensor in list(out.items()):
            is_bias_owner = name.endswith(".weight") and not name.startswith(("lm_head", "transformer.wte",
                                                                              "transformer.wpe"))
            if is_bias_owner:
                size = tensor.shape[-1] if tensor.dim() == 2 else tensor.shape[0]  # Conv1D (in, out); LayerNorm (D,)
                out[name[: -len("weight")] + "bias"] = torch.zeros(size, dtype=tensor.dtype)
    return out


def state_from_hf(state: Mapping[str, torch.Tensor], cfg: GPTConfig) -> dict[str, torch.Tensor]:
    """A GPT2LMHeadModel (or GPT2Model) state dict -> ours. Unknown or missing names are an error naming them."""
    template = _parameter_shapes(cfg)
    ours = {}
    # GPT2Model checkpoints lack the "transformer." prefix; the causal-mask buffers of old checkpoints are dropped
    named = {(k if k.startswith(("transformer.", "lm_head.")) else f"transformer.{k}"): v for k, v in state.items()
             if not k.endswith((".attn.bias", ".attn.masked_bias"))}
    for name in template:
        if name == "head.weight" and cfg.tie_embeddings:
            continue
        hf, transposed = _hf_name(name)
        if hf not in named and name == "head.weight":
            hf = "transformer.wte.weight"  # an untied config whose checkpoint has no lm_head
        if hf not in named:
            raise SeqlabError(f"Hugging Face weights lack {hf}")
        tensor = named.pop(hf)
        ours[name] = tensor.t().contiguous() if transposed else tensor
    named.pop("lm_head.weight", None)  # the tied copy
    if named:
        raise SeqlabError(f"Hugging Face weights hold names GPT-2 does not: {', '.join(sorted(named)[:3])}")
    if cfg.tie_embeddings:
        ours["head.weight"] = ours["embed.weight"]
    return ours


def _parameter_shapes(cfg: GPTConfig) -> dict[str, torch.Size]:
    """The parameter names and shapes of a model of ``cfg``, built without memory (meta device)."""
    with torch.device("meta"):
        return {k: v.shape for k, v in GPT.from_config(cfg).state_dict().items()}
