"""Recurrent networks for three shapes of problem, built on ``seqlab.nn.recurrent.Recurrent`` (the Elman,
LSTM and GRU cells and the multi-layer bidirectional stack live there): a many-to-one classifier, a many-to-many
tagger (BiLSTM, optionally with character features and a CRF, Lample et al. 2016) and a one-to-many language
model.

Shapes:
    B batch, T time steps (padded length), H hidden size (per direction), D directions (1 or 2),
    E embedding size, V vocabulary size, C classes, K tags, W characters per word (padded).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.models.config import POOLINGS, RNNClassifierConfig, RNNLMConfig, RNNTaggerConfig  # noqa: F401
from seqlab.nn.adaptive import mean_nll, output_layer, token_nll
from seqlab.nn.recurrent import (  # noqa: F401  (cells re-exported: seqlab.models.rnn was their first home)
    CELLS,
    ElmanCell,
    GRUCell,
    LectureGRUCell,
    LSTMCell,
    Recurrent,
    State,
    _check_cell,
    detach_state,
    last_hidden,
)

# -- many-to-one: sequence classification ----------------------------------------------------------------

class RNNClassifier(nn.Module):
    """Many-to-one: ids (B, T) -> embed [; ELMo] -> Recurrent -> pool over time -> linear -> logits (B, C).

    ``elmo`` (optional, e.g. seqlab.models.elmo.ElmoFeatures): a module computing contextual vectors (B, T, F) from
    the words' characters (``elmo_chars`` (B, T, W)), concatenated to the word embeddings (Peters et al. 2018)."""

    def __init__(self, *, embed: nn.Embedding, rnn: Recurrent, head: nn.Linear, pooling: str, dropout: float,
                 elmo: nn.Module | None = None):
        super().__init__()
        self.embed, self.rnn, self.head, self.elmo = embed, rnn, head, elmo
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)

    @classmethod
    def from_config(cls, cfg: RNNClassifierConfig, *, elmo: nn.Module | None = None) -> RNNClassifier:
        if cfg.vocab_size <= 0:
            raise ValueError("RNNClassifierConfig needs vocab_size > 0")
        input_size = cfg.embed_dim + (elmo.output_size if elmo is not None else 0)
        rnn = Recurrent(cfg.cell, input_size, cfg.hidden_size, num_layers=cfg.num_layers,
                        bidirectional=cfg.bidirectional, dropout=cfg.dropout, fast=cfg.fast)
        return cls(embed=nn.Embedding(cfg.vocab_size, cfg.embed_dim, padding_idx=cfg.pad_id), rnn=rnn,
                   head=nn.Linear(rnn.output_size, cfg.n_classes), pooling=cfg.pooling, dropout=cfg.dropout,
                   elmo=elmo)

    def features(self, ids: torch.Tensor, mask: torch.Tensor, elmo_chars: torch.Tensor | None = None
                 ) -> torch.Tensor:
        """ids (B, T), mask (B, T) True = real token -> pooled sentence vector (B, D*H)."""
        x = with_elmo(self.embed(ids), self.elmo, elmo_chars, mask)  # (B, T, E [+ F])
        output, state = self.rnn(self.dropout(x), mask.sum(1), None)  # (B, T, D*H)
        if self.pooling == "last":
            return last_hidden(self.rnn, state)  # (B, D*H)
        real = mask[:, :, None]  # (B, T, 1)
        if self.pooling == "max":
            return output.masked_fill(~real, float("-inf")).amax(dim=1)  # (B, D*H)
        return output.sum(1) / real.sum(1)  # mean: padded outputs are zeros already

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, elmo_chars: torch.Tensor | None = None) -> torch.Tensor:
        """ids (B, T), mask (B, T) bool -> logits (B, C)."""
        return self.head(self.dropout(self.features(ids, mask, elmo_chars)))

    def loss(self, ids: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor,
             elmo_chars: torch.Tensor | None = None) -> torch.Tensor:
        """Mean cross-entropy against labels (B,)."""
        return F.cross_entropy(self(ids, mask, elmo_chars).float(), labels)


def with_elmo(x: torch.Tensor, elmo: nn.Module | None, elmo_chars: torch.Tensor | None, mask: torch.Tensor
              ) -> torch.Tensor:
    """Word vectors x (B, T, E) -> [x; ELMo vectors] (B, T, E + F) when the model has ``elmo``."""
    if elmo is None:
        return x
    if elmo_chars is None:
        raise ValueError("this model reads ELMo vectors: pass elmo_chars (B, T, W)")
    return torch.cat([x, elmo(elmo_chars, mask).to(x.dtype)], dim=-1)


# -- many-to-many: sequence tagging -----------------------------------------------------------------------


class CharEncoder(nn.Module):
    """Character features of Lample et al. (2016): a BiRNN reads each word's characters; the final forward
    state (after the last character) and the final backward state (after the first) are concatenated."""

    def __init__(self, *, embed: nn.Embedding, rnn: Recurrent):
        super().__init__()
        self.embed, self.rnn = embed, rnn
        self.pad_id = embed.padding_idx

    @property
    def output_size(self) -> int:
        return self.rnn.output_size

    def forward(self, chars: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """chars (B, T, W) char ids, mask (B, T) real words -> (B, T, 2*Hc) (zeros at padded words)."""
        B, T, _ = chars.shape
        words = chars[mask]  # (N, W): the real words only
        lengths = (words != self.pad_id).sum(-1).clamp(min=1)  # (N,); an empty word reads one pad character
        _, state = self.rnn(self.embed(words), lengths)
        features = last_hidden(self.rnn, state)  # (N, 2*Hc)
        out = features.new_zeros(B, T, features.size(-1))  # (B, T, 2*Hc)
        out[mask] = features
        return out


class RNNTagger(nn.Module):
    """Many-to-many BiRNN tagger: [word embedding; char features; case; ELMo] -> BiRNN -> linear -> emissions
    (B, T, K), decoded independently (argmax) or jointly with a CRF (Viterbi). ``elmo``: as RNNClassifier's."""

    def __init__(self, *, embed: nn.Embedding, chars: CharEncoder | None, rnn: Recurrent, head: nn.Linear,
                 crf: nn.Module | None, dropout: float, case: nn.Embedding | None = None,
                 elmo: nn.Module | None = None):
        super().__init__()
        self.embed, self.chars, self.rnn, self.head, self.crf = embed, chars, rnn, head, crf
        self.case, self.elmo = case, elmo
        self.dropout = nn.Dropout(dropout)

    @classmethod
    def from_config(cls, cfg: RNNTaggerConfig, *, input_size: int | None = None,
                    elmo: nn.Module | None = None) -> RNNTagger:
        """``input_size``: the word vectors come from outside (``forward(..., features=)``, e.g. a frozen BERT's
        layers) with this width, instead of a word embedding. ``elmo``: ELMo vectors join the word's."""
        if (cfg.vocab_size <= 0 and input_size is None) or cfg.n_tags <= 0:
            raise ValueError("RNNTaggerConfig needs vocab_size (or an input_size) and n_tags > 0")
        chars = None
        if cfg.char_vocab_size:
            chars = CharEncoder(
                embed=nn.Embedding(cfg.char_vocab_size, cfg.char_embed_dim, padding_idx=cfg.char_pad_id),
                rnn=Recurrent(cfg.cell, cfg.char_embed_dim, cfg.char_hidden_size, bidirectional=True,
                              fast=cfg.fast))
        embed_dim = cfg.embed_dim if input_size is None else input_size
        word_dim = embed_dim + (chars.output_size if chars is not None else 0) + cfg.case_embed_dim
        word_dim += elmo.output_size if elmo is not None else 0
        rnn = Recurrent(cfg.cell, word_dim, cfg.hidden_size, num_layers=cfg.num_layers, bidirectional=True,
                        dropout=cfg.dropout, fast=cfg.fast)
        crf = None
        if cfg.crf:
            from seqlab.nn.crf import CRF

            crf = CRF(cfg.n_tags)
        case = nn.Embedding(cfg.n_cases, cfg.case_embed_dim) if cfg.case_embed_dim else None
        embed = None if input_size is not None else nn.Embedding(cfg.vocab_size, cfg.embed_dim,
                                                                    padding_idx=cfg.pad_id)
        return cls(embed=embed, chars=chars, rnn=rnn, head=nn.Linear(rnn.output_size, cfg.n_tags), crf=crf,
                   dropout=cfg.dropout, case=case, elmo=elmo)

    def forward(self, ids: torch.Tensor | None, mask: torch.Tensor, chars: torch.Tensor | None = None,
                case: torch.Tensor | None = None, *, features: torch.Tensor | None = None,
                elmo_chars: torch.Tensor | None = None) -> torch.Tensor:
        """ids (B, T), mask (B, T) bool True = real token, chars (B, T, W), case (B, T) and ELMo's elmo_chars
        (B, T, W) when the model uses them -> emissions (B, T, K). A tagger without a word embedding reads
        ``features`` (B, T, E)."""
        x = self.embed(ids) if self.embed is not None else features  # (B, T, E)
        if self.chars is not None:
            if chars is None:
                raise ValueError("this tagger uses character features: pass chars (B, T, W)")
            x = torch.cat([x, self.chars(chars, mask)], dim=-1)  # (B, T, E + 2*Hc)
        if self.case is not None:
            if case is None:
                raise ValueError("this tagger uses case features: pass case (B, T)")
            x = torch.cat([x, self.case(case)], dim=-1)  # (B, T, E + 2*Hc + Ec)
        x = with_elmo(x, self.elmo, elmo_chars, mask)  # (B, T, E + 2*Hc + Ec [+ F])
        output, _ = self.rnn(self.dropout(x), mask.sum(1))  # (B, T, 2H)
        return self.head(self.dropout(output))  # (B, T, K)

    def loss(self, ids: torch.Tensor | None, mask: torch.Tensor, labels: torch.Tensor,
             chars: torch.Tensor | None = None, case: torch.Tensor | None = None, *,
             features: torch.Tensor | None = None, elmo_chars: torch.Tensor | None = None) -> torch.Tensor:
        """labels (B, T) with -100 at padding -> token-mean cross-entropy, or (CRF) the sentence-mean NLL."""
        emissions = self(ids, mask, chars, case, features=features, elmo_chars=elmo_chars).float()  # (B, T, K)
        if self.crf is None:
            return F.cross_entropy(emissions.flatten(0, 1), labels.flatten(), ignore_index=-100)
        tags = torch.where(mask, labels, torch.zeros_like(labels))  # any valid id at padding
        return self.crf.nll(emissions, tags, mask).mean()

    @torch.no_grad()
    def decode(self, ids: torch.Tensor | None, mask: torch.Tensor, chars: torch.Tensor | None = None,
               case: torch.Tensor | None = None, *, features: torch.Tensor | None = None,
               elmo_chars: torch.Tensor | None = None) -> list[list[int]]:
        """Best tag sequence per sentence, each of the sentence's true length (argmax, or Viterbi with a CRF)."""
        emissions = self(ids, mask, chars, case, features=features, elmo_chars=elmo_chars)  # (B, T, K)
        if self.crf is not None:
            return self.crf.decode(emissions, mask)
        best = emissions.argmax(-1).tolist()  # (B, T)
        return [row[:n] for row, n in zip(best, mask.sum(1).tolist(), strict=True)]


# -- one-to-many: language modelling ----------------------------------------------------------------------


class RNNLanguageModel(nn.Module):
    """Next-token prediction: inputs (B, T) -> embed -> Recurrent -> linear -> logits (B, T, V).

    Training uses teacher forcing (the true previous tokens as inputs); generation carries the recurrent
    state explicitly, so feeding a sequence in pieces gives the same logits as feeding it whole.
    """

    def __init__(self, *, embed: nn.Embedding, rnn: Recurrent, head: nn.Module, dropout: float):
        super().__init__()
        self.embed, self.rnn, self.head = embed, rnn, head  # head: nn.Linear, or seqlab.nn.AdaptiveSoftmax
        self.dropout = nn.Dropout(dropout)
        self.train_state: State | None = None  # the state carried between training windows (``loss(carry=...)``)

    @classmethod
    def from_config(cls, cfg: RNNLMConfig) -> RNNLanguageModel:
        if cfg.vocab_size <= 0:
            raise ValueError("RNNLMConfig needs vocab_size > 0")
        embed = nn.Embedding(cfg.vocab_size, cfg.embed_dim)
        rnn = Recurrent(cfg.cell, cfg.embed_dim, cfg.hidden_size, num_layers=cfg.num_layers, dropout=cfg.dropout,
                        fast=cfg.fast)
        head = output_layer(cfg.hidden_size, cfg.vocab_size, cutoffs=cfg.adaptive_cutoffs,
                            div_value=cfg.adaptive_div_value, tied_weight=embed.weight if cfg.tie_weights else None,
                            bias=True)
        return cls(embed=embed, rnn=rnn, head=head, dropout=cfg.dropout)

    def hidden_states(self, inputs: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """inputs (B, T) ids, state from the previous chunk or None -> the top layer's outputs (B, T, H), state."""
        x = self.dropout(self.embed(inputs))  # (B, T, E)
        output, state = self.rnn(x, None, state)  # (B, T, H)
        return self.dropout(output), state

    def forward(self, inputs: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """inputs (B, T) ids, state -> logits (B, T, V) (log-probabilities with an adaptive softmax), state."""
        hidden, state = self.hidden_states(inputs, state)
        return self.head(hidden), state

    def nll(self, inputs: torch.Tensor, targets: torch.Tensor, state: State | None = None
            ) -> tuple[torch.Tensor, State]:
        """-log p(target) in nats at each position (B, T), and the state after the inputs."""
        hidden, state = self.hidden_states(inputs, state)
        return token_nll(self.head, hidden, targets), state

    def loss(self, inputs: torch.Tensor, targets: torch.Tensor, carry: torch.Tensor | None = None) -> torch.Tensor:
        """Mean cross-entropy in nats of targets (B, T) given inputs (B, T) (targets = inputs shifted by one).

        ``carry`` (a bool scalar tensor) is truncated backpropagation through time: True when these inputs continue
        the rows of the previous call, whose final state (kept, detached, in ``train_state``) then starts this one.
        """
        state = self.train_state if carry is not None and bool(carry) else None
        nll, state = self.nll(inputs, targets, state)
        if carry is not None:
            self.train_state = detach_state(state)
        return mean_nll(nll, targets)

    # -- the decoder-only protocol of seqlab.generation: the state is the recurrent (h, c) ----------------

    def prefill(self, prompt: torch.Tensor, max_len: int) -> tuple[torch.Tensor, State]:
        """prompt (B, P) -> logits (B, V) of the next token, state. A recurrent state has no length limit."""
        logits, state = self(prompt)  # (B, P, V)
        return logits[:, -1], state

    def step(self, tokens: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """tokens (B, 1) -> logits (B, V), the state after them."""
        logits, state = self(tokens, state)  # (B, 1, V)
        return logits[:, -1], state

    @staticmethod
    def reorder_state(state: State, index: torch.Tensor) -> State:
        """Rows ``index`` of the state (layers*directions, B, H), or of both h and c."""
        if isinstance(state, tuple):
            return tuple(s.index_select(1, index) for s in state)
        return state.index_select(1, index)
