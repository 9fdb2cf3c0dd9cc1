"""The typed configs of the model families, torch-free: a recipe's config is read, checked and printed
(``seqlab train X --print-config``) without importing PyTorch. Each model module re-exports its config
(``from seqlab.models.transformer import TransformerConfig`` works), as Hugging Face keeps ``configuration_*.py``
beside ``modeling_*.py``.

The names a config may choose (cells, activations) are listed here; ``tests/test_model_configs.py`` checks they
are the keys of the registries in ``seqlab.nn`` that build them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CELL_NAMES = ("rnn", "lstm", "gru", "gru_lecture")  # seqlab.nn.recurrent.CELLS
ACTIVATION_NAMES = ("relu", "gelu", "gelu_tanh")  # seqlab.nn.layers.ACTIVATIONS
INPUTS = ("tfidf", "counts", "binary")


def _check_cell(cell: str) -> None:
    if cell not in CELL_NAMES:
        raise ValueError(f"cell must be one of {', '.join(CELL_NAMES)}, got {cell!r}")


def _check_cutoffs(cutoffs: list[int], vocab_size: int) -> None:
    """Adaptive softmax cutoffs: strictly increasing, positive, below the vocabulary (once it is known)."""
    if cutoffs and (cutoffs != sorted(set(cutoffs)) or cutoffs[0] <= 0
                    or (vocab_size > 0 and cutoffs[-1] >= vocab_size)):
        raise ValueError(f"adaptive_cutoffs must increase strictly within (0, vocab_size"
                         f"{'=' + str(vocab_size) if vocab_size > 0 else ''}), got {cutoffs}")


# ---- Transformer (seqlab.models.transformer) ----------------------------------------------------------

@dataclass
class TransformerConfig:
    src_vocab_size: int = 0  # filled from the data's vocabulary when 0
    tgt_vocab_size: int = 0
    d_model: int = 512
    n_heads: int = 8
    d_ff: int = 2048
    n_encoder_layers: int = 6
    n_decoder_layers: int = 6
    dropout: float = 0.1  # residual dropout (sublayer outputs, embeddings + positions): the paper's P_drop
    attention_dropout: float | None = None  # on the attention weights; None: = dropout
    ffn_dropout: float | None = None  # inside the feed-forward, after the activation; None: = dropout
    activation: str = "relu"
    norm_first: bool = False  # False: post-norm, as in the paper
    positional: str = "sinusoidal"  # or "learned"
    max_len: int = 512
    share_embeddings: bool = False  # one embedding for source and target (needs a joint vocabulary)
    tie_output: bool = True  # output projection = target embedding (paper section 3.4)
    label_smoothing: float = 0.1
    pad_id: int = 0
    bos_id: int = 1
    eos_id: int = 2
    head_dim: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("d_model", "n_heads", "d_ff", "n_encoder_layers", "n_decoder_layers", "max_len"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        rates = [self.dropout, self.label_smoothing, self.attention_dropout or 0.0, self.ffn_dropout or 0.0]
        if not all(0 <= r < 1 for r in rates):
            raise ValueError("dropout rates and label_smoothing must lie in [0, 1)")
        if self.activation not in ACTIVATION_NAMES:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATION_NAMES)}, got {self.activation!r}")
        if self.positional not in ("sinusoidal", "learned"):
            raise ValueError(f"positional must be 'sinusoidal' or 'learned', got {self.positional!r}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}")
        self.head_dim = self.d_model // self.n_heads

    @classmethod
    def from_name(cls, name: str, **overrides) -> TransformerConfig:
        if name not in PRESETS:
            raise ValueError(f"unknown Transformer preset {name!r} (choose from {sorted(PRESETS)})")
        return cls(**{**PRESETS[name], **overrides})


PRESETS: dict[str, dict] = {
    "base": dict(d_model=512, n_heads=8, d_ff=2048, n_encoder_layers=6, n_decoder_layers=6, dropout=0.1),
    "big": dict(d_model=1024, n_heads=16, d_ff=4096, n_encoder_layers=6, n_decoder_layers=6, dropout=0.3),
    "small": dict(d_model=256, n_heads=4, d_ff=1024, n_encoder_layers=3, n_decoder_layers=3, dropout=0.1),
    "tiny": dict(d_model=64, n_heads=4, d_ff=128, n_encoder_layers=1, n_decoder_layers=1, dropout=0.0),
}


def _check_transformer(cfg, *positive: str) -> None:
    """The checks every Transformer stack's config shares (GPT, BERT): sizes, rates, activation, heads."""
    for name in (*positive, "n_layers", "n_heads", "d_model"):
        if getattr(cfg, name) < 1:
            raise ValueError(f"{name} must be at least 1, got {getattr(cfg, name)}")
    if cfg.vocab_size < 0 or cfg.d_ff < 0:
        raise ValueError(f"vocab_size and d_ff must not be negative, got {cfg.vocab_size} and {cfg.d_ff}")
    if not all(0 <= r < 1 for r in (cfg.dropout, cfg.attention_dropout or 0.0)):
        raise ValueError("dropout rates must lie in [0, 1)")
    if cfg.activation not in ACTIVATION_NAMES:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATION_NAMES)}, got {cfg.activation!r}")
    if cfg.d_model % cfg.n_heads:
        raise ValueError(f"d_model={cfg.d_model} is not divisible by n_heads={cfg.n_heads}")
    if not (cfg.layer_norm_eps > 0 and cfg.init_std > 0):
        raise ValueError("layer_norm_eps and init_std must be positive")


class _DecoderSizes:
    """The sizes a decoder-only config derives (GPT, Transformer-XL): the head width, and the MLP's (0: 4 D)."""

    d_model: int
    n_heads: int
    d_ff: int

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    @property
    def ff_size(self) -> int:
        return self.d_ff or 4 * self.d_model


# ---- GPT (seqlab.models.gpt) --------------------------------------------------------------------------

@dataclass
class GPTConfig(_DecoderSizes):
    """A decoder-only Transformer: L causal self-attention blocks over token + learned position embeddings.

    ``norm_first=True`` is GPT-2 (LayerNorm before each sub-layer, a final LayerNorm); ``False`` is GPT-1
    (post-norm, no final LayerNorm). Dropout is placed as in GPT-2: on the embeddings, on the attention weights
    and on each sub-layer's output before the residual sum.
    """

    vocab_size: int = 0  # filled from the tokeniser when 0
    n_positions: int = 1024  # the context (nanoGPT's block_size)
    n_layers: int = 12
    n_heads: int = 12
    d_model: int = 768
    d_ff: int = 0  # 0: 4 * d_model
    dropout: float = 0.1  # embeddings and sub-layer outputs (GPT-2's embd_pdrop = resid_pdrop)
    attention_dropout: float | None = None  # on the attention weights (attn_pdrop); None: = dropout
    activation: str = "gelu_tanh"  # GPT-2's tanh approximation ("gelu_new")
    norm_first: bool = True
    bias: bool = True  # False: no biases in the linear layers and LayerNorms (nanoGPT's bias=False)
    tie_embeddings: bool = True  # output projection = token embedding
    layer_norm_eps: float = 1e-5
    init_std: float = 0.02
    adaptive_cutoffs: list[int] = field(default_factory=list)  # adaptive softmax clusters (seqlab.nn.adaptive)
    adaptive_div_value: float = 4.0  # untied adaptive softmax: tail k projects to D / div^(k+1)

    def __post_init__(self) -> None:
        _check_transformer(self, "n_positions")
        _check_cutoffs(self.adaptive_cutoffs, self.vocab_size)

    @classmethod
    def from_name(cls, name: str, **overrides) -> GPTConfig:
        if name not in GPT_PRESETS:
            raise ValueError(f"unknown GPT preset {name!r} (choose from {', '.join(GPT_PRESETS)})")
        return cls(**{**GPT_PRESETS[name], **overrides})


_GPT2 = dict(vocab_size=50257, n_positions=1024, norm_first=True, activation="gelu_tanh", dropout=0.1)
GPT_PRESETS: dict[str, dict] = {
    # Radford et al. 2018: post-norm, 40,478 BPE tokens, 512 positions (Hugging Face "openai-gpt")
    "gpt1": dict(vocab_size=40478, n_positions=512, n_layers=12, n_heads=12, d_model=768, norm_first=False,
                 activation="gelu", dropout=0.1),
    # Radford et al. 2019 (Hugging Face "gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl")
    "gpt2": dict(**_GPT2, n_layers=12, n_heads=12, d_model=768),
    "gpt2-medium": dict(**_GPT2, n_layers=24, n_heads=16, d_model=1024),
    "gpt2-large": dict(**_GPT2, n_layers=36, n_heads=20, d_model=1280),
    "gpt2-xl": dict(**_GPT2, n_layers=48, n_heads=25, d_model=1600),
    # minGPT's small models, for a CPU; the vocabulary and context come from the data
    "gpt-mini": dict(n_layers=6, n_heads=6, d_model=192),
    "gpt-micro": dict(n_layers=4, n_heads=4, d_model=128),
    "gpt-nano": dict(n_layers=3, n_heads=3, d_model=48),
}


# ---- Transformer-XL (seqlab.models.transformer_xl) -----------------------------------------------------

@dataclass
class TransformerXLConfig(_DecoderSizes):
    """A decoder-only Transformer with segment-level recurrence and relative positions (Dai et al. 2019).

    Each layer attends to its own segment and to ``mem_len`` hidden states kept from the segments before
    (``eval_mem_len`` at evaluation and generation: longer memory, longer context, no retraining). ``clamp_len``
    > 0 reads every distance beyond it as clamp_len. ``norm_first=False`` is the paper's post-norm layer; True
    puts each LayerNorm before its sub-layer and one after the stack (as GPT-2). The embeddings are scaled by
    sqrt(d_model), as in the paper's code.
    """

    vocab_size: int = 0  # filled from the data's vocabulary when 0
    n_layers: int = 4
    n_heads: int = 4
    d_model: int = 256
    d_ff: int = 0  # 0: 4 * d_model
    mem_len: int = 128  # hidden states kept per layer in training
    eval_mem_len: int = 0  # at evaluation and generation; 0: = mem_len
    clamp_len: int = 0  # distances beyond it read as clamp_len; 0: no clamp
    dropout: float = 0.1  # embeddings, sinusoids, sub-layer outputs and the final output
    attention_dropout: float | None = None  # on the attention weights (dropatt); None: = dropout
    activation: str = "relu"
    norm_first: bool = False
    tie_embeddings: bool = True  # output projection = token embedding
    adaptive_cutoffs: list[int] = field(default_factory=list)  # adaptive softmax clusters (seqlab.nn.adaptive)
    adaptive_div_value: float = 4.0  # untied adaptive softmax: tail k projects to D / div^(k+1)
    layer_norm_eps: float = 1e-5
    init_std: float = 0.02

    def __post_init__(self) -> None:
        _check_transformer(self)
        if self.mem_len < 0 or self.eval_mem_len < 0 or self.clamp_len < 0:
            raise ValueError("mem_len, eval_mem_len and clamp_len must not be negative")
        if self.d_model % 2:
            raise ValueError(f"relative sinusoids need an even d_model, got {self.d_model}")
        _check_cutoffs(self.adaptive_cutoffs, self.vocab_size)

    @property
    def memory_at_eval(self) -> int:
        return self.eval_mem_len or self.mem_len


# ---- BERT (seqlab.models.bert) -------------------------------------------------------------------------

@dataclass
class BertConfig:
    """A Transformer encoder over token + learned position + segment embeddings (Devlin et al. 2019).

    Post-norm layers (LayerNorm after each residual sum, eps 1e-12), exact GELU, dropout on the embeddings, the
    attention weights and each sub-layer's output, as Hugging Face's ``BertModel``.
    """

    vocab_size: int = 30522  # 0: filled from the tokenizer
    max_positions: int = 512
    type_vocab_size: int = 2  # segments A and B
    n_layers: int = 12
    n_heads: int = 12
    d_model: int = 768
    d_ff: int = 0  # 0: 4 * d_model
    dropout: float = 0.1  # hidden_dropout_prob
    attention_dropout: float | None = None  # attention_probs_dropout_prob; None: = dropout
    activation: str = "gelu"  # exact GELU
    layer_norm_eps: float = 1e-12
    init_std: float = 0.02
    pad_id: int = 0

    def __post_init__(self) -> None:
        _check_transformer(self, "max_positions", "type_vocab_size")

    head_dim = GPTConfig.head_dim
    ff_size = GPTConfig.ff_size

    @classmethod
    def from_name(cls, name: str, **overrides) -> BertConfig:
        if name not in BERT_PRESETS:
            raise ValueError(f"unknown BERT preset {name!r} (choose from {', '.join(BERT_PRESETS)})")
        return cls(**{**BERT_PRESETS[name], **overrides})


BERT_PRESETS: dict[str, dict] = {
    # Devlin et al. 2019 (Hugging Face "bert-base-uncased", "bert-large-uncased")
    "bert-base": dict(n_layers=12, n_heads=12, d_model=768),
    "bert-large": dict(n_layers=24, n_heads=16, d_model=1024),
    # Wang et al. 2020, MiniLM-L6-H384: the shape of all-MiniLM-L6-v2 (22.7M parameters)
    "minilm-l6-h384": dict(n_layers=6, n_heads=12, d_model=384, d_ff=1536),
    # Turc et al. 2019's small BERTs, for a CPU; the vocabulary comes from the data
    "bert-small": dict(vocab_size=0, n_layers=4, n_heads=8, d_model=512),
    "bert-mini": dict(vocab_size=0, n_layers=4, n_heads=4, d_model=256),
    "bert-tiny": dict(vocab_size=0, n_layers=2, n_heads=2, d_model=128),
}


# Devlin et al. 2019, Table 7: word vectors from a frozen BERT for CoNLL-2003 NER ("first" = the embeddings)
FEATURE_LAYERS = ("first", "last", "sum_all", "second_to_last", "sum_last_four", "concat_last_four")


@dataclass
class BertFinetuneConfig:
    """A pretrained BERT fine-tuned by a task (classify, tag): where its weights come from and the head's dropout.
    ``model`` is filled from the pretrained config when training starts, so a run rebuilds without them."""

    pretrained: str = "all-MiniLM-L6-v2"  # a shipped name, or a Hugging Face BERT directory (config.json, ...)
    dropout: float = 0.1  # before the task's linear head
    # what a sequence classifier reads: "cls" = the pooled [CLS] (BERT's way); "mean" = the mean of the last layer
    # over the real pieces (how sentence-transformers models such as all-MiniLM-L6-v2 were trained to summarise)
    pooling: str = "cls"
    # the feature-based approach (tag model_type bert-features): which frozen layers make a word's vector
    features: str = "concat_last_four"
    model: BertConfig = field(default_factory=lambda: BertConfig.from_name("minilm-l6-h384"))

    def __post_init__(self) -> None:
        if self.pooling not in ("cls", "mean"):
            raise ValueError(f"bert.pooling must be cls or mean, got {self.pooling!r}")
        if self.features not in FEATURE_LAYERS:
            raise ValueError(f"bert.features must be one of {', '.join(FEATURE_LAYERS)}, got {self.features!r}")
        if not self.pretrained:
            raise ValueError("bert.pretrained must name the pretrained weights (all-MiniLM-L6-v2 or a directory)")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"bert.dropout must lie in [0, 1), got {self.dropout}")


# ---- recurrent networks (seqlab.models.rnn) ----------------------------------------------------------

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


@dataclass
class RNNLMConfig:
    cell: str = "lstm"
    vocab_size: int = 0  # filled from the data's vocabulary when 0
    embed_dim: int = 256
    hidden_size: int = 512
    num_layers: int = 2
    dropout: float = 0.2  # on embeddings, between layers and before the output layer
    tie_weights: bool = False  # output projection = input embedding (Press & Wolf, 2017)
    adaptive_cutoffs: list[int] = field(default_factory=list)  # adaptive softmax clusters (seqlab.nn.adaptive)
    adaptive_div_value: float = 4.0  # untied adaptive softmax: tail k projects to D / div^(k+1)
    fast: bool = True

    def __post_init__(self) -> None:
        _check_cell(self.cell)
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")
        _check_cutoffs(self.adaptive_cutoffs, self.vocab_size)
        if self.tie_weights and self.embed_dim != self.hidden_size:
            raise ValueError(f"tie_weights needs embed_dim == hidden_size, got {self.embed_dim} and "
                             f"{self.hidden_size}")


# ---- ELMo's bidirectional language model (seqlab.models.elmo) --------------------------------------------------


@dataclass
class ElmoConfig:
    """The biLM of Peters et al. (2018) at a size one CPU core trains in an hour: a character CNN token encoder
    (their 2,048 filters, 2 highway layers, projection 512), two LSTM layers per direction with projections (their
    4,096 cells, projection 512) and a residual connection between them, one softmax for both directions."""

    vocab_size: int = 0  # words of the softmax, filled from the data's vocabulary when 0
    char_embed_dim: int = 16
    filters: list[tuple[int, int]] = field(
        default_factory=lambda: [(1, 32), (2, 32), (3, 64), (4, 128), (5, 128), (6, 128)])  # (width, count)
    max_chars: int = 50  # bytes per word, the begin- and end-of-word marks included
    highway_layers: int = 2
    proj_size: int = 256  # the token layer's size and each LSTM's projection (P)
    hidden_size: int = 512  # LSTM cells per direction (H)
    num_layers: int = 2
    dropout: float = 0.1
    adaptive_cutoffs: list[int] = field(default_factory=lambda: [2000, 10000])  # [] = the full softmax
    adaptive_div_value: float = 4.0
    fast: bool = True  # PyTorch's fused LSTM kernel, and each distinct word's characters encoded once per batch

    def __post_init__(self) -> None:
        self.filters = [tuple(f) for f in self.filters]
        if not self.filters or any(w < 1 or n < 1 for w, n in self.filters):
            raise ValueError(f"filters must be (width, count) pairs of positive numbers, got {self.filters}")
        if not 3 <= self.max_chars <= 1000 or self.num_layers < 1 or not 0 < self.proj_size < self.hidden_size:
            raise ValueError("max_chars must lie in [3, 1000], num_layers >= 1 and 0 < proj_size < hidden_size")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")
        _check_cutoffs(self.adaptive_cutoffs, self.vocab_size)


@dataclass
class ElmoFeaturesConfig:
    """ELMo vectors for a downstream recurrent model: a trained biLM, frozen, its layers mixed by weights the task
    learns (``seqlab.models.elmo.ElmoFeatures``), concatenated to the word embeddings."""

    bilm: str = ""  # the run directory of a trained biLM (task lm, model_type elmo); "": no ELMo vectors
    model: ElmoConfig = field(default_factory=ElmoConfig)  # the biLM's config: copied from that run (any value set
    # here is replaced), so the downstream run is self-contained

    @property
    def enabled(self) -> bool:
        return bool(self.bilm)


# ---- end-to-end memory networks (seqlab.models.memnet) -----------------------------------------------

MEMNET_ENCODINGS = ("pe", "bow")
MEMNET_TYINGS = ("adjacent", "layerwise")


@dataclass
class MemN2NConfig:
    """MemN2N (Sukhbaatar et al., 2015) as the paper trains it on bAbI: d=20 per task, d=50 joint; 3 hops; position
    encoding, temporal encoding and random noise; adjacent tying. The preset "nonlinear" is the paper's larger 10k
    model (d=100, layer-wise tying, a ReLU after each hop)."""

    vocab_size: int = 0  # filled from the data's vocabulary when 0 (answers are words of it: W^T = C_K)
    dim: int = 20  # d, the embedding width
    hops: int = 3  # K
    memory_size: int = 50  # the most recent sentences kept; older ones are dropped
    encoding: str = "pe"  # pe (position encoding) | bow (bag of words)
    temporal: bool = True  # a learnt vector per sentence age, T_A(i) and T_C(i)
    tying: str = "adjacent"  # adjacent (A_{k+1} = C_k, B = A_1, W^T = C_K) | layerwise (one A, one C, u <- H u + o)
    nonlinear: bool = False  # a ReLU on u after each hop
    random_noise: float = 0.1  # in training, up to this share of empty memories among the sentences (RN)
    init_std: float = 0.1

    def __post_init__(self) -> None:
        if self.encoding not in MEMNET_ENCODINGS:
            raise ValueError(f"encoding must be one of {', '.join(MEMNET_ENCODINGS)}, got {self.encoding!r}")
        if self.tying not in MEMNET_TYINGS:
            raise ValueError(f"tying must be one of {', '.join(MEMNET_TYINGS)}, got {self.tying!r}")
        if self.dim < 1 or self.hops < 1 or self.memory_size < 1:
            raise ValueError("dim, hops and memory_size must be at least 1")
        if not 0 <= self.random_noise < 1 or not self.init_std > 0:
            raise ValueError("random_noise must lie in [0, 1) and init_std must be positive")

    @classmethod
    def from_name(cls, name: str, **overrides) -> MemN2NConfig:
        if name not in MEMNET_PRESETS:
            raise ValueError(f"unknown MemN2N preset {name!r} (choose from {', '.join(MEMNET_PRESETS)})")
        return cls(**{**MEMNET_PRESETS[name], **overrides})


MEMNET_PRESETS: dict[str, dict] = {
    "per-task": dict(dim=20),
    "joint": dict(dim=50),
    "nonlinear": dict(dim=100, tying="layerwise", nonlinear=True),
}


# ---- recurrent encoder-decoders (seqlab.models.seq2seq) -----------------------------------------------

ATTENTIONS = ("none", "bahdanau", "dot", "general")


@dataclass
class Seq2SeqConfig:
    cell: str = "gru"  # gru | gru_lecture | lstm (encoder and decoder)
    src_vocab_size: int = 0  # filled from the data's vocabulary when 0
    tgt_vocab_size: int = 0
    embed_dim: int = 256
    encoder_hidden: int = 512  # per direction
    encoder_layers: int = 1
    bidirectional: bool = True
    hidden_size: int = 512  # decoder
    attention: str = "bahdanau"  # none | bahdanau | dot | general
    attention_dim: int = 512  # A, the additive score's hidden size
    input_feeding: bool = True  # Luong: feed h~_{t-1} into the next step
    maxout_dim: int = 0  # none/bahdanau: L > 0 puts a maxout layer of L units before the softmax
    dropout: float = 0.5  # on embeddings, between encoder layers and before the output layer
    share_embeddings: bool = False  # one embedding for source and target (needs a joint vocabulary)
    label_smoothing: float = 0.0
    max_len: int = 256  # longest source the model reads
    fast: bool = True  # fused PyTorch cell kernels (False: the lecture equations of seqlab.nn.recurrent)
    pad_id: int = 0
    bos_id: int = 1
    eos_id: int = 2

    def __post_init__(self) -> None:
        _check_cell(self.cell)
        if self.cell == "rnn":
            raise ValueError("the encoder-decoder takes cell 'gru' or 'lstm'")
        if self.attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {', '.join(ATTENTIONS)}, got {self.attention!r}")
        if not (0 <= self.dropout < 1 and 0 <= self.label_smoothing < 1):
            raise ValueError("dropout and label_smoothing must lie in [0, 1)")
        if self.maxout_dim < 0 or (self.maxout_dim and self.luong):
            raise ValueError("maxout_dim must be >= 0, and 0 with Luong attention (its output layer reads h~_t)")
        if self.attention == "dot" and self.encoder_output_size != self.hidden_size:
            raise ValueError(f"dot attention compares s_t with h_j: hidden_size={self.hidden_size} must equal the "
                             f"encoder output size {self.encoder_output_size} (directions x encoder_hidden)")

    @property
    def encoder_output_size(self) -> int:
        return (2 if self.bidirectional else 1) * self.encoder_hidden

    @property
    def luong(self) -> bool:
        return self.attention in ("dot", "general")

# ---- bag of words (seqlab.models.bow) -----------------------------------------------------------------

@dataclass
class BoWFeaturesConfig:
    """How texts become bag-of-words features (``seqlab.models.bow.BoWFeatures`` fits them)."""

    input: str = "tfidf"  # tfidf | counts | binary
    ngram_range: tuple[int, int] = (1, 1)
    min_df: int = 1  # terms in fewer training documents are dropped
    max_features: int | None = None  # then keep the most frequent terms
    lowercase: bool = True
    sublinear_tf: bool = False  # tfidf: tf = 1 + ln(count)

    def __post_init__(self) -> None:
        if self.input not in INPUTS:
            raise ValueError(f"input must be one of {', '.join(INPUTS)}, got {self.input!r}")
        self.ngram_range = tuple(self.ngram_range)
        if not 1 <= self.ngram_range[0] <= self.ngram_range[1] or self.min_df < 1:
            raise ValueError(f"ngram_range must be (n1, n2) with 1 <= n1 <= n2 and min_df >= 1, got "
                             f"{list(self.ngram_range)} and {self.min_df}")


@dataclass
class BoWMLPConfig:
    vocab_size: int = 0  # filled from the fitted features (BoWFeatures.vocab_size) when 0
    hidden_sizes: tuple[int, ...] = (256,)  # () is logistic regression trained by SGD
    n_classes: int = 2
    dropout: float = 0.5  # after every hidden ReLU
    n_outputs: int = field(init=False, repr=False)  # 1 (sigmoid) for 2 classes, else n_classes (softmax)

    def __post_init__(self) -> None:
        self.hidden_sizes = tuple(self.hidden_sizes)
        if self.vocab_size < 0 or self.n_classes < 2 or any(h < 1 for h in self.hidden_sizes):
            raise ValueError("vocab_size must not be negative, n_classes must be at least 2 and hidden sizes "
                             f"positive; got {self.vocab_size}, {self.n_classes}, {list(self.hidden_sizes)}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")
        self.n_outputs = 1 if self.n_classes == 2 else self.n_classes


# ---- word2vec (seqlab.models.word2vec) ------------------------------------------------------------------

W2V_ARCHS = ("skipgram", "cbow")
W2V_OUTPUTS = ("negative", "hierarchical", "softmax")


@dataclass
class Word2VecConfig:
    """Mikolov et al. (2013): skip-gram predicts each context word from the centre word, CBOW the centre word from
    the mean of its context. The output is a full softmax over the vocabulary (the lecture's p(o|c), small
    vocabularies only), negative sampling or a hierarchical softmax over a Huffman tree."""

    arch: str = "skipgram"  # skipgram | cbow
    output: str = "negative"  # negative | hierarchical | softmax
    dim: int = 100
    window: int = 5  # the largest distance; each centre word draws its own window from 1..window
    negative: int = 5  # noise words per (centre, context) pair, drawn from unigram counts ** ns_exponent
    ns_exponent: float = 0.75
    sample: float = 1e-3  # subsampling threshold t: a word of frequency f is kept with (sqrt(f/t) + 1) t/f
    min_count: int = 5
    max_vocab: int | None = None  # keep the most frequent words only
    alpha: float = 0.025  # the learning rate falls linearly from alpha to min_alpha over the whole run
    min_alpha: float = 0.0001
    epochs: int = 5
    threads: int = 2  # Hogwild workers: lock-free updates, as word2vec.c and gensim
    seed: int = 1

    def __post_init__(self) -> None:
        if self.arch not in W2V_ARCHS:
            raise ValueError(f"arch must be one of {', '.join(W2V_ARCHS)}, got {self.arch!r}")
        if self.output not in W2V_OUTPUTS:
            raise ValueError(f"output must be one of {', '.join(W2V_OUTPUTS)}, got {self.output!r}")
        for name in ("dim", "window", "min_count", "epochs", "threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.output == "negative" and self.negative < 1:
            raise ValueError("negative sampling needs negative >= 1")
        if not 0 < self.min_alpha <= self.alpha:
            raise ValueError("the learning rates must satisfy 0 < min_alpha <= alpha")
        if self.sample < 0 or (self.max_vocab is not None and self.max_vocab < 2):
            raise ValueError("sample must be >= 0 and max_vocab at least 2")


# ---- time-series classifiers (seqlab.models.timeseries) ------------------------------------------------

SERIES_POOLS = ("cls", "mean")


KERAS_NORMS = ("pre", "branch")
KERAS_POOLS = ("features", "time")


@dataclass
class KerasSeriesConfig:
    """The keras-io example "Timeseries classification with a Transformer model" (FordA), layer for layer: one value
    per time step, no positions, 4 blocks of (4 heads of size 256, a 1x1-conv feed-forward of width 4), an MLP of 128.
    ``attention: false`` removes the attention sub-layers (the lab's ablation).

    Two versions of the example exist. The one whose ``model.summary()`` reports 93,130 parameters (the default)
    normalises before each sub-layer (``norm: pre``, x + Dropout(MHA(LN(x)))) and averages over the feature axis
    (``pool: features``, GlobalAveragePooling1D(data_format="channels_first")), so the 500 time steps feed the MLP.
    The file as later edited normalises each branch's output (``norm: branch``, x + LN(Dropout(MHA(x)))) and
    averages over time (``pool: time``, "channels_last"), so the MLP reads one number: 29,258 parameters."""

    length: int = 0  # T, filled from the data when 0 (the MLP reads one input per time step)
    features: int = 1
    n_classes: int = 0  # filled from the data when 0
    head_size: int = 256
    heads: int = 4
    ff_dim: int = 4
    blocks: int = 4
    mlp_units: list[int] = field(default_factory=lambda: [128])
    dropout: float = 0.25
    mlp_dropout: float = 0.4
    attention: bool = True
    norm: str = "pre"  # pre | branch
    pool: str = "features"  # features (channels_first) | time (channels_last)

    def __post_init__(self) -> None:
        if self.norm not in KERAS_NORMS or self.pool not in KERAS_POOLS:
            raise ValueError(f"norm must be one of {', '.join(KERAS_NORMS)} and pool one of {', '.join(KERAS_POOLS)}, "
                             f"got {self.norm!r}, {self.pool!r}")
        if min(self.head_size, self.heads, self.ff_dim, self.features) < 1 or self.blocks < 0:
            raise ValueError("head_size, heads, ff_dim and features must be at least 1, blocks at least 0")
        _check_dropouts(self.dropout, self.mlp_dropout)


@dataclass
class SeriesTransformerConfig:
    """A Transformer for series done right: overlapping patches embedded by a convolution (PatchTST-style), learned
    positions, a [CLS] token (or mean pooling), pre-norm encoder layers, a linear head."""

    features: int = 1
    n_classes: int = 0
    max_len: int = 0  # time steps the positions cover; 0: the training series' length (the task fills it in)
    patch: int = 0  # time steps per patch; 0: from the series' length (about 32 patches, between 2 and 16 steps)
    stride: int = 0  # 0: patch // 2 (half-overlapping)
    d_model: int = 64
    n_heads: int = 4
    d_ff: int = 128
    n_layers: int = 3
    dropout: float = 0.1
    pool: str = "cls"  # cls | mean

    def __post_init__(self) -> None:
        if self.pool not in SERIES_POOLS:
            raise ValueError(f"pool must be one of {', '.join(SERIES_POOLS)}, got {self.pool!r}")
        if min(self.d_model, self.n_heads, self.d_ff, self.n_layers, self.features) < 1 or self.max_len < 0:
            raise ValueError("d_model, n_heads, d_ff, n_layers and features must be at least 1, max_len at least 0")
        if self.patch < 0 or self.stride < 0:
            raise ValueError("patch and stride must not be negative (0: chosen from the length)")
        _check_dropouts(self.dropout)


@dataclass
class ResNet1DConfig:
    """The residual network of Wang et al. (2017), the strongest of dl-4-tsc's deep baselines: 3 blocks of 3
    convolutions (kernels 8, 5, 3) with batch norm, a shortcut per block, global average pooling."""

    features: int = 1
    n_classes: int = 0
    filters: list[int] = field(default_factory=lambda: [64, 128, 128])
    kernels: list[int] = field(default_factory=lambda: [8, 5, 3])

    def __post_init__(self) -> None:
        if not self.filters or min(self.filters) < 1 or not self.kernels or min(self.kernels) < 1:
            raise ValueError("filters and kernels must be non-empty lists of positive sizes")


@dataclass
class CNNLSTMConfig:
    """Convolutions that read local shape (each halving the length), then a bidirectional LSTM over the result (the
    ECG slides' CNN + BiLSTM)."""

    features: int = 1
    n_classes: int = 0
    filters: list[int] = field(default_factory=lambda: [32, 64])
    kernel: int = 7
    hidden: int = 64
    dropout: float = 0.2

    def __post_init__(self) -> None:
        if not self.filters or min(self.filters) < 1 or self.kernel < 1 or self.hidden < 1:
            raise ValueError("filters, kernel and hidden must be positive")
        _check_dropouts(self.dropout)


@dataclass
class SeriesLSTMConfig:
    """An LSTM over (batch, time steps, features) and a linear layer on its last state: the deck's LSTM(32) then
    Dense(n). ``outputs``: classes (classification) or forecast values (regression)."""

    features: int = 1
    outputs: int = 0  # filled from the data when 0
    hidden: int = 32
    layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if min(self.features, self.hidden, self.layers) < 1:
            raise ValueError("features, hidden and layers must be at least 1")
        _check_dropouts(self.dropout)


def check_filled(**sizes: int) -> None:
    """Sizes a model needs that its task fills in from the data (classes, outputs): each must be set (at least 1)."""
    for name, size in sizes.items():
        if size < 1:
            raise ValueError(f"{name} must be at least 1 (the task fills it in from the data)")


def _check_dropouts(*rates: float) -> None:
    if not all(0 <= r < 1 for r in rates):
        raise ValueError(f"dropout rates must lie in [0, 1), got {list(rates)}")


# ---- Vision Transformer (seqlab.models.vit) -------------------------------------------------------------


@dataclass
class ViTConfig:
    """"An image is worth 16x16 words" (Dosovitskiy et al., 2021): the image cut into patches, each linearly
    projected, a [CLS] token, learned positions, pre-norm encoder layers (GELU), a linear head on [CLS]."""

    image_size: list[int] = field(default_factory=lambda: [8, 8])  # height, width
    channels: int = 1
    patch_size: int = 2
    n_classes: int = 0  # filled from the data when 0
    d_model: int = 64
    n_heads: int = 4
    d_ff: int = 128
    n_layers: int = 4
    dropout: float = 0.1
    label_smoothing: float = 0.0  # in the training loss

    def __post_init__(self) -> None:
        self.image_size = [int(s) for s in self.image_size]
        if len(self.image_size) != 2 or min(self.image_size) < 1:
            raise ValueError(f"image_size is [height, width], got {self.image_size}")
        if self.patch_size < 1 or any(s % self.patch_size for s in self.image_size):
            raise ValueError(f"patch_size={self.patch_size} must divide the image size {self.image_size}")
        if min(self.channels, self.d_model, self.n_heads, self.d_ff, self.n_layers) < 1:
            raise ValueError("channels, d_model, n_heads, d_ff and n_layers must be at least 1")
        _check_dropouts(self.dropout, self.label_smoothing)

    @property
    def n_patches(self) -> int:
        return (self.image_size[0] // self.patch_size) * (self.image_size[1] // self.patch_size)


@dataclass
class SmallCNNConfig:
    """The baseline beside the ViT: two 3x3 conv + batch norm + ReLU + 2x2 max-pool stages, then a linear head."""

    image_size: list[int] = field(default_factory=lambda: [8, 8])  # height, width (the task fills it in)
    channels: int = 1
    n_classes: int = 0
    filters: list[int] = field(default_factory=lambda: [32, 64])
    dropout: float = 0.25
    label_smoothing: float = 0.0  # in the training loss

    def __post_init__(self) -> None:
        if not self.filters or min(self.filters) < 1:
            raise ValueError("filters must be a non-empty list of positive sizes")
        _check_dropouts(self.dropout, self.label_smoothing)
