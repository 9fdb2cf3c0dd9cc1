"""Recurrent encoder-decoders for translation: the context-vector model, then attention (Bahdanau, Luong).

Shapes:
    B batch, S source length, T target length, E embedding size, He encoder hidden size per direction,
    K = D*He encoder output size (D = 2 directions when bidirectional), H decoder hidden size,
    A additive-attention size, V target vocabulary size.

The encoder reads the source once: src (B, S) -> embed -> Recurrent -> memory (B, S, K). Its final states
(forward state at the last real token, backward state at the first) summarise the sentence, s = (B, K), and
a bridge gives the decoder its first state: s_0 = tanh(W_b s).

The decoder emits one word at a time from its state s_t and a context c_t (lecture notation):

    attention="none"      (Cho et al. 2014; pytorch-seq2seq tutorial 2): c_t = s for every t ("closed book")
        s_t = RNN([e(y_{t-1}); c], s_{t-1});  p(y_t) = softmax(W_o [s_t; c; e(y_{t-1})])
    attention="bahdanau"  (Bahdanau et al. 2015; tutorial 3): the context looks back at the source ("open book")
        a_tj = softmax_j(v^T tanh(W_s s_{t-1} + W_h h_j)),  c_t = sum_j a_tj h_j
        s_t = RNN([e(y_{t-1}); c_t], s_{t-1});  p(y_t) = softmax(W_o [s_t; c_t; e(y_{t-1})])
        with maxout_dim=L (Bahdanau et al.'s appendix): t~ = U [s_t; c_t; e(y_{t-1})] (2L),
        t_l = max(t~_{2l-1}, t~_{2l}),  p(y_t) = softmax(W_o t): a (H+K+E) x V output layer becomes
        (H+K+E) x 2L + L x V, the bulk of a step's cost with a large vocabulary
    attention="dot" | "general"  (Luong et al. 2015), with input feeding:
        s_t = RNN([e(y_{t-1}); h~_{t-1}], s_{t-1});  a_tj = softmax_j(score(s_t, h_j)),  c_t = sum_j a_tj h_j
        h~_t = tanh(W_c [c_t; s_t]);  p(y_t) = softmax(W_o h~_t)
        score = s_t^T h_j (dot) or s_t^T W h_j (general)

The model speaks the protocol of ``seqlab.generation.search`` (``encode``, ``decode``, ``start_decoding``,
``decode_step``), so greedy and beam search are the Transformer's. Training uses teacher forcing: the true
previous word y_{t-1} is fed at every step.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.models.config import ATTENTIONS, Seq2SeqConfig  # noqa: F401  (re-exported)
from seqlab.nn.attention import AdditiveScore, GeneralScore, masked_softmax
from seqlab.nn.recurrent import CELLS, Recurrent


@dataclass
class RNNDecoderState:
    """What decoding carries from step to step; every tensor has the batch first, so beam search can reorder."""

    hidden: torch.Tensor | tuple[torch.Tensor, torch.Tensor]  # s_t (B, H), with the LSTM's cell (B, H)
    feed: torch.Tensor | None  # h~_{t-1} (B, H): Luong input feeding
    memory: torch.Tensor  # h_j (B, S, K)
    keys: torch.Tensor | None  # the memory as the score needs it, projected once: (B, S, A) or (B, S, H)
    mask: torch.Tensor  # (B, S) True = real source token
    summary: torch.Tensor  # s (B, K): the context of the model without attention

    def reorder(self, index: torch.Tensor) -> None:
        def pick(x):
            if x is None:
                return None
            if isinstance(x, tuple):
                return tuple(t.index_select(0, index) for t in x)
            return x.index_select(0, index)

        for name in ("hidden", "feed", "memory", "keys", "mask", "summary"):
            setattr(self, name, pick(getattr(self, name)))


class RNNSeq2Seq(nn.Module):
    """Encoder-decoder with a recurrent encoder and a one-layer recurrent decoder, with or without attention."""

    def __init__(self, cfg: Seq2SeqConfig):
        super().__init__()
        if cfg.src_vocab_size <= 0 or cfg.tgt_vocab_size <= 0:
            raise ValueError("Seq2SeqConfig needs src_vocab_size and tgt_vocab_size > 0")
        if cfg.share_embeddings and cfg.src_vocab_size != cfg.tgt_vocab_size:
            raise ValueError("share_embeddings needs one joint vocabulary (src_vocab_size == tgt_vocab_size)")
        self.config = cfg
        self.pad_id, self.bos_id, self.eos_id = cfg.pad_id, cfg.bos_id, cfg.eos_id
        E, K, H = cfg.embed_dim, cfg.encoder_output_size, cfg.hidden_size
        self.src_embed = nn.Embedding(cfg.src_vocab_size, E, padding_idx=cfg.pad_id)
        self.tgt_embed = self.src_embed if cfg.share_embeddings else nn.Embedding(
            cfg.tgt_vocab_size, E, padding_idx=cfg.pad_id)
        self.encoder = Recurrent(cfg.cell, E, cfg.encoder_hidden, num_layers=cfg.encoder_layers,
                                 bidirectional=cfg.bidirectional, dropout=cfg.dropout, fast=cfg.fast)
        states = 2 if cfg.cell == "lstm" else 1
        self.bridge = nn.Linear(K, states * H)  # s_0 (and the LSTM's c_0) from the source summary
        extra_input = {"none": K, "bahdanau": K}.get(cfg.attention, H if cfg.input_feeding else 0)
        self.cell = CELLS[cfg.cell](E + extra_input, H)
        self.score: nn.Module | None = None
        if cfg.attention == "bahdanau":
            self.score = AdditiveScore(H, K, cfg.attention_dim)
        elif cfg.attention == "general":
            self.score = GeneralScore(H, K)
        if cfg.luong:
            self.combine = nn.Linear(K + H, H, bias=False)  # W_c: h~_t = tanh(W_c [c_t; s_t])
            self.out = nn.Linear(H, cfg.tgt_vocab_size)
        elif cfg.maxout_dim:
            self.readout = nn.Linear(H + K + E, 2 * cfg.maxout_dim)  # U [s_t; c_t; e(y_{t-1})], then maxout
            self.out = nn.Linear(cfg.maxout_dim, cfg.tgt_vocab_size)
        else:
            self.out = nn.Linear(H + K + E, cfg.tgt_vocab_size)  # W_o [s_t; c_t; e(y_{t-1})]
        self.dropout = nn.Dropout(cfg.dropout)

    @classmethod
    def from_config(cls, cfg: Seq2SeqConfig) -> RNNSeq2Seq:
        return cls(cfg)

    # -- encoder ---------------------------------------------------------------------------------------

    def encode(self, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """src (B, S) -> memory (B, S, K), mask (B, S) True = real token. Sources are left-aligned."""
        mask = src != self.pad_id  # (B, S)
        lengths = mask.sum(1).clamp(min=1)
        memory, _ = self.encoder(self.dropout(self.src_embed(src)), lengths)  # (B, S, K)
        return memory, mask

    def summary(self, memory: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The top encoder layer's final states from its outputs: forward at the last real token, backward at
        the first (where the backward pass ends) -> (B, K)."""
        He = self.config.encoder_hidden
        last = (mask.sum(1) - 1).clamp(min=0)  # (B,)
        forward = memory[torch.arange(memory.size(0), device=memory.device), last, :He]  # (B, He)
        if not self.config.bidirectional:
            return forward
        return torch.cat([forward, memory[:, 0, He:]], dim=-1)  # (B, K)

    # -- decoder ---------------------------------------------------------------------------------------

    def start_decoding(self, memory: torch.Tensor, mask: torch.Tensor, max_len: int = 0) -> RNNDecoderState:
        """The decoder's first state s_0 = tanh(W_b s), and the memory projected once for the score."""
        summary = self.summary(memory, mask)  # (B, K)
        first = torch.tanh(self.bridge(summary)).to(self.bridge.weight.dtype)  # (B, H|2H): fp32 under autocast
        hidden = tuple(first.chunk(2, dim=-1)) if self.config.cell == "lstm" else first
        keys = None
        if self.config.attention == "bahdanau":
            keys = self.score.W_h(memory)  # W_h h_j: (B, S, A), once per sentence, not once per step
        elif self.config.attention == "general":
            keys = self.score.W(memory)  # W h_j: (B, S, H)
        elif self.config.attention == "dot":
            keys = memory
        feed = memory.new_zeros(memory.size(0), self.config.hidden_size) if self.config.luong and \
            self.config.input_feeding else None
        return RNNDecoderState(hidden=hidden, feed=feed, memory=memory, keys=keys, mask=mask, summary=summary)

    def _attend(self, query: torch.Tensor, state: RNNDecoderState) -> tuple[torch.Tensor, torch.Tensor]:
        """query (B, H) -> context c_t (B, K), weights a_t (B, S)."""
        if self.config.attention == "bahdanau":
            q = self.score.W_s(query)[:, None, :]  # (B, 1, A)
            scores = self.score.v(torch.tanh(q + state.keys)).squeeze(-1)  # (B, S)
        else:
            scores = (state.keys @ query[:, :, None].to(state.keys.dtype)).squeeze(-1)  # (B, S)
        weights = masked_softmax(scores, state.mask)  # (B, S)
        context = (weights[:, None, :].to(state.memory.dtype) @ state.memory).squeeze(1)  # (B, K)
        return context, weights

    def _cell(self, x: torch.Tensor, hidden):
        fused = self.cell.fused  # None for gru_lecture: PyTorch has no kernel for the lecture's GRU
        if fused is None or not self.config.fast or torch.is_autocast_enabled(x.device.type):
            return self.cell(x, hidden)  # under autocast the equations run bf16 matmuls with an fp32 state
        return fused(x, hidden, *self.cell.weights())

    def _step(self, embedded: torch.Tensor, state: RNNDecoderState) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One decoder step from e(y_{t-1}) (B, E): updates ``state``; returns the output-layer input and a_t."""
        attention = self.config.attention
        weights = None
        if attention == "none":
            context = state.summary
            x = torch.cat([embedded, context], dim=-1)
        elif attention == "bahdanau":
            previous = state.hidden[0] if isinstance(state.hidden, tuple) else state.hidden  # s_{t-1}
            context, weights = self._attend(previous, state)
            x = torch.cat([embedded, context.to(embedded.dtype)], dim=-1)
        else:
            x = embedded if state.feed is None else torch.cat([embedded, state.feed.to(embedded.dtype)], dim=-1)
        state.hidden = self._cell(x, state.hidden)
        s_t = state.hidden[0] if isinstance(state.hidden, tuple) else state.hidden  # (B, H)
        if self.config.luong:
            context, weights = self._attend(s_t, state)
            attentional = torch.tanh(self.combine(torch.cat([context, s_t.to(context.dtype)], dim=-1)))  # h~_t
            if state.feed is not None:
                state.feed = attentional
            return attentional, weights
        return torch.cat([s_t, context.to(s_t.dtype), embedded.to(s_t.dtype)], dim=-1), weights

    def decode(self, tgt_in: torch.Tensor, memory: torch.Tensor, memory_mask: torch.Tensor, *,
               need_weights: bool = False, last_only: bool = False
               ) -> tuple[torch.Tensor, list[torch.Tensor | None]]:
        """Teacher forcing: tgt_in (B, T) -> logits (B, T, V) (or (B, 1, V) with ``last_only``) and, with
        ``need_weights``, [attention weights (B, T, S)] (one "layer", as the Transformer's list)."""
        state = self.start_decoding(memory, memory_mask)
        embedded = self.dropout(self.tgt_embed(tgt_in))  # (B, T, E)
        features, weights = [], []
        for t in range(tgt_in.size(1)):
            feature, a_t = self._step(embedded[:, t], state)
            features.append(feature)
            weights.append(a_t)
        outputs = torch.stack(features[-1:] if last_only else features, dim=1)  # (B, T, F)
        logits = self._logits(self.dropout(outputs))  # (B, T, V): one matmul for all steps
        attention = None
        if need_weights and self.config.attention != "none":
            attention = torch.stack(weights, dim=1)  # (B, T, S)
        return logits, [attention]

    def decode_step(self, tokens: torch.Tensor, state: RNNDecoderState, input_pos: torch.Tensor | None = None
                    ) -> torch.Tensor:
        """tokens (B, 1), the previous outputs -> logits (B, 1, V); ``state`` moves one step on."""
        feature, _ = self._step(self.tgt_embed(tokens[:, -1]), state)
        return self._logits(feature)[:, None, :]

    def _logits(self, features: torch.Tensor) -> torch.Tensor:
        """(..., F) output-layer inputs -> (..., V)."""
        if self.config.maxout_dim:
            features = self.readout(features).unflatten(-1, (self.config.maxout_dim, 2)).amax(-1)  # (..., L)
        return self.out(features)

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        memory, mask = self.encode(src)
        return self.decode(tgt_in, memory, mask)[0]

    def loss(self, src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        """Token-mean cross-entropy (with label smoothing); tgt (B, T+1) is <bos> y_1 .. y_n <eos> <pad>..."""
        logits = self(src, tgt[:, :-1])  # (B, T, V)
        return F.cross_entropy(logits.flatten(0, 1).float(), tgt[:, 1:].flatten(), ignore_index=self.pad_id,
                               label_smoothing=self.config.label_smoothing)
