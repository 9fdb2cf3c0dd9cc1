"""ELMo (Peters et al. 2018): a bidirectional language model whose layers, mixed per task, are contextual word
vectors.

The biLM: each word's UTF-8 bytes -> a character CNN with highway layers and a projection (so any word, seen or
not, has a vector: the token layer) -> a forward LSTM stack that predicts the next word and a backward stack that
predicts the previous one, each of ``num_layers`` LSTMs with projections and a residual connection from the second
layer on; one softmax serves both directions. Training reads windows of the token stream; both directions score
the same words.

ELMo vectors: for a sentence, layer 0 is the token layer (doubled, to match the LSTM layers' width), layer k is
[forward h_k; backward h_k]; a downstream task learns ``ScalarMix`` weights s_j and a scale gamma over those layers
(eq. 1 of the paper: ELMo_k = gamma * sum_j s_j h_{k,j}). ``ElmoFeatures`` holds the frozen biLM and the mix.

Shapes:
    B batch, T words (padded), W bytes per word (padded), N words in a batch, P projection (token layer, LSTM
    outputs), H LSTM cells, L LSTM layers per direction, V the softmax's words.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.models.config import ElmoConfig, ElmoFeaturesConfig
from seqlab.nn.adaptive import mean_nll, output_layer, token_nll
from seqlab.nn.charcnn import CharCNN, Highway, ScalarMix
from seqlab.nn.recurrent import Recurrent, State

PAD, BOW, EOW = 0, 257, 258  # byte b is id b + 1
N_CHARS = 259
BOUNDARY = "<eos>"  # the training stream ends each line with it: a sentence is read between two of them


def char_ids(word: str, max_chars: int = 50) -> list[int]:
    """A word's character ids: begin-of-word, its UTF-8 bytes (the first max_chars - 2), end-of-word."""
    return [BOW, *(b + 1 for b in word.encode("utf-8")[: max_chars - 2]), EOW]


def pad_chars(words: Sequence[Sequence[int]], width: int | None = None) -> torch.Tensor:
    """Character ids of N words -> (N, W), padded with PAD."""
    width = width or max(map(len, words))
    out = torch.full((len(words), width), PAD, dtype=torch.long)
    for i, w in enumerate(words):
        out[i, : len(w)] = torch.tensor(w[:width])
    return out


def sentence_chars(sentences: Sequence[Sequence[Sequence[int]]]) -> torch.Tensor:
    """Character ids of B sentences of words -> (B, T, W), padded with PAD."""
    T = max(map(len, sentences))
    W = max(len(w) for s in sentences for w in s)
    out = torch.full((len(sentences), T, W), PAD, dtype=torch.long)
    for b, sentence in enumerate(sentences):
        out[b, : len(sentence)] = pad_chars(sentence, W)
    return out


def word_mask(lengths: torch.Tensor, T: int) -> torch.Tensor:
    """(B,) lengths -> (B, T) True at each sentence's words."""
    return torch.arange(T, device=lengths.device)[None, :] < lengths[:, None]


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Each row's first lengths[b] steps in reverse order, padding left in place: x (B, T, ...) -> (B, T, ...)."""
    T = x.size(1)
    t = torch.arange(T, device=x.device)[None, :]  # (1, T)
    n = lengths.to(x.device)[:, None]  # (B, 1)
    index = torch.where(t < n, n - 1 - t, t)  # (B, T)
    return x.gather(1, index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x))


class CharWordEncoder(nn.Module):
    """Word bytes (N, W) -> character CNN -> highway -> projection -> the token layer (N, P)."""

    def __init__(self, cfg: ElmoConfig):
        super().__init__()
        self.cnn = CharCNN(n_chars=N_CHARS, embed_dim=cfg.char_embed_dim, filters=cfg.filters, pad_id=PAD)
        self.highway = Highway(self.cnn.output_size, cfg.highway_layers)
        self.proj = nn.Linear(self.cnn.output_size, cfg.proj_size)

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        return self.proj(self.highway(self.cnn(chars)))  # (N, P)


class LMStack(nn.Module):
    """One direction of the biLM: L LSTMs with projections, each reading the one below (the token layer first);
    from the second layer on, a layer's input is added to its output (the residual connection)."""

    def __init__(self, cfg: ElmoConfig):
        super().__init__()
        self.layers = nn.ModuleList(
            Recurrent("lstm", cfg.proj_size, cfg.hidden_size, proj_size=cfg.proj_size, fast=cfg.fast)
            for _ in range(cfg.num_layers))
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None, state: list[State] | None = None
                ) -> tuple[list[torch.Tensor], list[State]]:
        """x (B, T, P) read left to right -> each layer's outputs [(B, T, P)] * L, each layer's final state."""
        outputs, states = [], []
        for k, lstm in enumerate(self.layers):
            h, s = lstm(self.dropout(x), lengths, None if state is None else state[k])  # (B, T, P)
            x = h + x if k > 0 else h
            outputs.append(x)
            states.append(s)
        return outputs, states


class BiLM(nn.Module):
    """The bidirectional language model. ``loss`` trains it on windows of word ids; ``layers`` reads sentences of
    any words (character ids) and returns the L + 1 layers ELMo mixes; ``prefill``/``step`` let the forward LM
    write text through seqlab.generation."""

    def __init__(self, cfg: ElmoConfig, *, head: bool = True):
        super().__init__()
        self.config = cfg
        self.tokens = CharWordEncoder(cfg)
        self.forward_lm, self.backward_lm = LMStack(cfg), LMStack(cfg)
        self.dropout = nn.Dropout(cfg.dropout)
        # A feature extractor (``head=False``) needs no softmax: the words it reads are spelled out.
        self.head = output_layer(cfg.proj_size, cfg.vocab_size, cutoffs=cfg.adaptive_cutoffs,
                                 div_value=cfg.adaptive_div_value) if head else None
        # word id -> its character ids, for reading word ids (training, perplexity, generation)
        self.register_buffer("word_chars", torch.zeros(cfg.vocab_size if head else 0, cfg.max_chars,
                                                       dtype=torch.int16))
        self.boundary = char_ids(BOUNDARY, cfg.max_chars)

    @classmethod
    def from_config(cls, cfg: ElmoConfig, *, head: bool = True) -> BiLM:
        if head and cfg.vocab_size <= 0:
            raise ValueError("ElmoConfig needs vocab_size > 0 for the softmax")
        return cls(cfg, head=head)

    def set_vocabulary(self, words: Sequence[str]) -> None:
        """The character ids of the softmax's words (id order), so word ids can be read."""
        if len(words) != self.config.vocab_size:
            raise ValueError(f"the vocabulary has {len(words)} words, the model {self.config.vocab_size}")
        table = pad_chars([char_ids(w, self.config.max_chars) for w in words], self.config.max_chars)
        self.word_chars.copy_(table.to(torch.int16))

    # -- the token layer -------------------------------------------------------------------------------------

    def encode_chars(self, chars: torch.Tensor) -> torch.Tensor:
        """chars (N, W) -> token vectors (N, P). The fast path encodes each distinct word once."""
        chars = chars[:, : int((chars != PAD).sum(1).max())]  # drop all-padding columns
        if not self.config.fast:
            return self.tokens(chars)
        distinct, inverse = torch.unique(chars, dim=0, return_inverse=True)  # (U, W), (N,)
        return self.tokens(distinct)[inverse]  # (N, P)

    def embed_ids(self, ids: torch.Tensor) -> torch.Tensor:
        """Word ids (B, T) -> token vectors (B, T, P)."""
        if self.config.fast:
            distinct, inverse = torch.unique(ids, return_inverse=True)  # (U,), (B, T)
            return self.tokens(self._chars_of(distinct))[inverse]  # (B, T, P)
        return self.tokens(self._chars_of(ids.flatten())).view(*ids.shape, -1)

    def _chars_of(self, ids: torch.Tensor) -> torch.Tensor:
        chars = self.word_chars[ids].long()  # (N, max_chars)
        return chars[:, : int((chars != PAD).sum(1).max())]

    # -- language modelling ----------------------------------------------------------------------------------

    def direction_nll(self, direction: int, inputs: torch.Tensor, targets: torch.Tensor,
                      state: list[State] | None = None) -> tuple[torch.Tensor, list[State]]:
        """-log p(target) (B, T) of one direction's LM reading ``inputs`` (B, T) in the order given (the backward
        LM is given the text reversed), and its state after them."""
        stack = self.forward_lm if direction == 0 else self.backward_lm
        outputs, state = stack(self.embed_ids(inputs), None, state)
        return token_nll(self.head, self.dropout(outputs[-1]), targets), state

    def loss(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The mean of the two directions' cross-entropies on a window: inputs (B, T), targets (B, T) = inputs
        shifted by one. The forward LM predicts targets from inputs; the backward LM reads the window from its
        end (targets reversed) and predicts each word before (inputs reversed). The token layer runs once."""
        window = torch.cat([inputs, targets[:, -1:]], dim=1)  # (B, T + 1)
        x = self.embed_ids(window)  # (B, T + 1, P)
        forward, _ = self.forward_lm(x[:, :-1])
        backward, _ = self.backward_lm(x[:, 1:].flip(1))
        nll_forward = token_nll(self.head, self.dropout(forward[-1]), targets)  # (B, T)
        nll_backward = token_nll(self.head, self.dropout(backward[-1]), inputs.flip(1))  # (B, T)
        return (mean_nll(nll_forward, targets) + mean_nll(nll_backward, inputs)) / 2

    # -- ELMo's layers -------------------------------------------------------------------------------------

    def layers(self, chars: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Sentences' character ids (B, T, W) and word mask (B, T) -> the L + 1 layers (L + 1, B, T, 2P): the token
        layer [x; x], then [forward h_k; backward h_k]. Each sentence is read between two boundary tokens, as the
        training stream's lines are; padded words get zeros."""
        lengths = mask.sum(1).cpu()  # (B,)
        wrapped, wrapped_lengths = self._wrap(chars, lengths)  # (B, T + 2, W'), (B,)
        real = word_mask(wrapped_lengths, wrapped.size(1)).to(chars.device)  # (B, T + 2)
        vectors = self.encode_chars(wrapped[real])  # (N, P)
        x = vectors.new_zeros(*wrapped.shape[:2], vectors.size(-1))  # (B, T + 2, P)
        x[real] = vectors
        forward, _ = self.forward_lm(x, wrapped_lengths)
        backward, _ = self.backward_lm(reverse_padded(x, wrapped_lengths), wrapped_lengths)
        backward = [reverse_padded(h, wrapped_lengths) for h in backward]
        stack = [torch.cat([x, x], dim=-1)] + [torch.cat(pair, dim=-1) for pair in zip(forward, backward, strict=True)]
        out = torch.stack(stack)[:, :, 1 : chars.size(1) + 1]  # (L + 1, B, T, 2P): the boundaries dropped
        return out * mask[None, :, :, None]

    def _wrap(self, chars: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, W) -> (B, T + 2, W') with the boundary token before each sentence and after its last word."""
        B, T, W = chars.shape
        boundary = torch.tensor(self.boundary, device=chars.device)
        width = max(W, len(self.boundary))
        out = torch.full((B, T + 2, width), PAD, dtype=torch.long, device=chars.device)
        out[:, 1 : T + 1, :W] = chars
        out[:, 0, : len(boundary)] = boundary
        out[torch.arange(B), lengths + 1] = torch.nn.functional.pad(boundary, (0, width - len(boundary)),
                                                                     value=PAD)
        return out, lengths + 2

    # -- the decoder-only protocol of seqlab.generation (the forward LM) --------------------------------------

    def _next(self, tokens: torch.Tensor, state: list[State] | None) -> tuple[torch.Tensor, list[State]]:
        outputs, state = self.forward_lm(self.embed_ids(tokens), None, state)
        return self.head(outputs[-1][:, -1]), state  # (B, V) (log-probabilities with an adaptive softmax)

    def prefill(self, prompt: torch.Tensor, max_len: int) -> tuple[torch.Tensor, list[State]]:
        """prompt (B, P) -> the forward LM's scores of the next word (B, V), its state."""
        return self._next(prompt, None)

    def step(self, tokens: torch.Tensor, state: list[State]) -> tuple[torch.Tensor, list[State]]:
        return self._next(tokens, state)

    @staticmethod
    def reorder_state(state: list[State], index: torch.Tensor) -> list[State]:
        return [tuple(s.index_select(1, index) for s in layer) for layer in state]


class ElmoFeatures(nn.Module):
    """ELMo vectors for a downstream task: a frozen biLM's L + 1 layers mixed by the task's ``ScalarMix``:
    chars (B, T, W), mask (B, T) -> (B, T, 2P). The frozen layers are computed in fp32 (outside any autocast) and
    kept per sentence on the CPU, the least recently used dropped beyond ``cache_tokens`` words (0: no cache), since
    a task reads its training sentences many times; only the mix is trained."""

    def __init__(self, bilm: BiLM, *, cache_tokens: int = 1_500_000):
        super().__init__()
        self.bilm = bilm.requires_grad_(False).eval()
        self.mix = ScalarMix(bilm.config.num_layers + 1)
        self.cache_tokens = cache_tokens
        self.cache: OrderedDict[bytes, torch.Tensor] = OrderedDict()
        self.cached_tokens = 0

    @classmethod
    def from_config(cls, cfg: ElmoConfig) -> ElmoFeatures:
        return cls(BiLM.from_config(cfg, head=False))

    @classmethod
    def from_bilm(cls, bilm: BiLM) -> ElmoFeatures:
        """A trained biLM's layers (a copy, without its softmax)."""
        features = cls.from_config(bilm.config)
        features._load_bilm(bilm.state_dict())
        return features

    @classmethod
    def from_run(cls, run_dir: str | Path) -> ElmoFeatures:
        """The biLM of a trained ``model_type: elmo`` language-model run, without its softmax."""
        from seqlab.tasks import check_run_dir, read_run_config
        from seqlab.tasks.rundir import weights_file
        from seqlab.training import read_tensors

        run_dir = check_run_dir(run_dir)
        cfg = read_run_config(run_dir)
        if getattr(cfg, "model_type", None) != "elmo":
            raise SeqlabError(f"{run_dir} is not a biLM run (task {cfg.task}, model_type "
                              f"{getattr(cfg, 'model_type', None)}): train one with configs/wikitext2_elmo.yaml")
        features = cls.from_config(cfg.elmo)
        path = weights_file(run_dir)
        try:
            features._load_bilm(read_tensors(path))
        except RuntimeError as err:
            raise SeqlabError(f"{path}: the biLM's weights do not fit its config.json "
                              f"({str(err).splitlines()[-1].strip()})") from err
        return features

    def _load_bilm(self, state: dict[str, torch.Tensor]) -> None:
        """A full biLM's weights, less its softmax and word spellings (a feature extractor reads spelled words)."""
        weights = {k: v for k, v in state.items() if not k.startswith("head.") and k != "word_chars"}
        self.bilm.load_state_dict(weights | {"word_chars": self.bilm.word_chars})

    @property
    def output_size(self) -> int:
        return 2 * self.bilm.config.proj_size

    def train(self, mode: bool = True) -> ElmoFeatures:
        super().train(mode)
        self.bilm.eval()  # frozen: no dropout either
        return self

    def forward(self, chars: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.mix(self.frozen_layers(chars, mask))  # (B, T, 2P)

    @torch.no_grad()
    def frozen_layers(self, chars: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The biLM's layers (L + 1, B, T, 2P), fp32, from the cache where a sentence was read before."""
        with torch.autocast(chars.device.type, enabled=False):
            if not self.cache_tokens:
                return self.bilm.layers(chars, mask)
            lengths = mask.sum(1).tolist()
            keys = sentence_keys(chars.cpu(), lengths)
            missing = [b for b, key in enumerate(keys) if key not in self.cache]
            if missing:
                rows = torch.tensor(missing, device=chars.device)
                computed = self.bilm.layers(chars[rows], mask[rows]).cpu()  # (L + 1, M, T, 2P)
                for i, b in enumerate(missing):
                    self._remember(keys[b], computed[:, i, : lengths[b]].clone())
            out = torch.zeros(self.bilm.config.num_layers + 1, *mask.shape, self.output_size)  # (L + 1, B, T, 2P)
            for b, key in enumerate(keys):
                self.cache.move_to_end(key)
                out[:, b, : lengths[b]] = self.cache[key]
            return out.to(chars.device)

    def _remember(self, key: bytes, layers: torch.Tensor) -> None:
        self.cache[key] = layers
        self.cached_tokens += layers.size(1)
        while self.cached_tokens > self.cache_tokens and len(self.cache) > 1:
            _, dropped = self.cache.popitem(last=False)
            self.cached_tokens -= dropped.size(1)


def features_for(cfg: ElmoFeaturesConfig, *, from_bilm: bool) -> ElmoFeatures | None:
    """A downstream run's ELMo module (None when it reads no ELMo vectors): at training, the biLM of ``cfg.bilm``,
    its config copied into ``cfg.model`` (so the run is self-contained); when loading the run, built empty for the
    run's own weights to fill."""
    if not cfg.enabled:
        return None
    if not from_bilm:
        return ElmoFeatures.from_config(cfg.model)
    elmo = ElmoFeatures.from_run(cfg.bilm)
    cfg.model = elmo.bilm.config
    return elmo


def sentence_keys(chars: torch.Tensor, lengths: list[int]) -> list[bytes]:
    """Each sentence's character ids (CPU, (B, T, W)) as bytes, whatever padding its batch had: its words, each
    without its padding columns, and its width (so two sentences give the same key only if they are the same)."""
    keys = []
    for row, n in zip(chars, lengths, strict=True):
        words = row[:n]
        width = int((words != PAD).sum(-1).max()) if n else 0
        keys.append(words[:, :width].to(torch.int16).numpy().tobytes() + width.to_bytes(4, "little"))
    return keys


# ---- contextual vs static: a word's nearest contexts (Peters et al. 2018, Table 4) ---------------------------


def encode_sentences(sentences: Sequence[Sequence[str]], max_chars: int = 50) -> tuple[torch.Tensor, torch.Tensor]:
    """Tokenised sentences -> their byte ids (B, T, W) and word mask (B, T)."""
    chars = sentence_chars([[char_ids(w, max_chars) for w in s] for s in sentences])
    return chars, word_mask(torch.tensor([len(s) for s in sentences]), chars.size(1))


@torch.no_grad()
def vectors_in_context(bilm: BiLM, sentences: Sequence[Sequence[str]], positions: Sequence[int], *, layer: int = -1,
                       batch_size: int = 64) -> torch.Tensor:
    """The biLM's vector (N, 2P) of the word at positions[i] of sentences[i], from one of its L + 1 layers (0: the
    token layer, which ignores the context; -1: the top LSTM layer)."""
    was_training, device = bilm.training, bilm.word_chars.device
    bilm.eval()
    out = []
    try:
        for start in range(0, len(sentences), batch_size):
            chars, mask = encode_sentences(sentences[start : start + batch_size], bilm.config.max_chars)
            layers = bilm.layers(chars.to(device), mask.to(device))[layer]  # (B, T, 2P)
            picked = torch.tensor(positions[start : start + batch_size], device=device)
            out.append(layers[torch.arange(len(picked), device=device), picked].float().cpu())
    finally:
        bilm.train(was_training)
    return torch.cat(out)


def nearest_contexts(bilm: BiLM, word: str, query: Sequence[str], corpus: Sequence[Sequence[str]], *, k: int = 5,
                     layer: int = -1, window: int = 30) -> list[tuple[float, list[str]]]:
    """The ``k`` sentences of ``corpus`` whose vector for ``word`` is closest (cosine) to its vector in ``query`` (all
    tokenised; the word's first occurrence counts; each corpus sentence is read within ``window`` words either side
    of it). A static vector is the same in every sentence; these differ with the sense (the paper's "play")."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if word not in query:
        raise ValueError(f"{word!r} is not a word of the query sentence: {' '.join(query)!r}")
    found = [(s, s.index(word)) for s in corpus if word in s]
    if not found:
        raise ValueError(f"no sentence of the corpus holds {word!r}")
    windows = [(list(s[max(0, i - window) : i + window + 1]), min(i, window)) for s, i in found]
    target = vectors_in_context(bilm, [list(query)], [list(query).index(word)], layer=layer)  # (1, 2P)
    candidates = vectors_in_context(bilm, [s for s, _ in windows], [i for _, i in windows], layer=layer)  # (N, 2P)
    scores = torch.nn.functional.cosine_similarity(candidates, target)  # (N,)
    best = scores.topk(min(k, len(found))).indices.tolist()
    return [(float(scores[i]), list(found[i][0])) for i in best]


def load_bilm(run_dir: str | Path) -> BiLM:
    """A trained biLM run's model (its softmax too), for ``nearest_contexts`` and the like."""
    from seqlab.tasks import load_run

    model = load_run(run_dir).model
    if not isinstance(model, BiLM):
        raise SeqlabError(f"{run_dir} is not a biLM run: train one with configs/wikitext2_elmo.yaml")
    return model


def report_layer_weights(model: nn.Module, out_dir: Path, name: str, plots: dict[str, str]) -> dict:
    """A downstream run's ELMo mix: plotted into ``out_dir`` (added to the report's ``plots``) and returned for its
    metrics; {} without ELMo."""
    mix = layer_weights(model)
    if mix is None:
        return {}
    from seqlab.viz.plots import plot_layer_weights

    plot_layer_weights({name: mix["elmo_layer_weights"]}, out_dir / "elmo_layer_weights.png",
                       title=f"ELMo layer weights learnt by {name} (gamma {mix['elmo_gamma']:.2f})")
    plots["ELMo layer weights"] = "elmo_layer_weights.png"
    return mix


def layer_weights(model: nn.Module) -> dict | None:
    """A downstream model's learnt ELMo mix: {"elmo_layer_weights": [s_0 .. s_L], "elmo_gamma": gamma}, or None."""
    elmo = getattr(model, "elmo", None)
    if elmo is None:
        return None
    return {"elmo_layer_weights": [round(float(s), 4) for s in elmo.mix.weights().detach()],
            "elmo_gamma": round(float(elmo.mix.gamma.detach()), 4)}
