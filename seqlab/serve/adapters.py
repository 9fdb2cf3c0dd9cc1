"""What ``/v1/attention``, ``/v1/embed`` and the attention explorer can show of each model family: one adapter each.

    view = attention_view(seqlab.load("runs/m30k"), "Ein Mann fährt Fahrrad.")
    view.weights.shape          # (L, H, R, C): layers, heads, rows attending, columns attended
    embed(seqlab.load("runs/wikitext2_bert"), ["a sentence", "another"])   # (N, D)

Families: a translation model's source-target attention (each decoder layer, each head; one "head" for a recurrent
model's attention), BERT's self-attention (a pre-trained MiniLM, a masked-LM run, a fine-tuned classifier), GPT's and
Transformer-XL's causal self-attention, a memory network's weight on each story sentence per hop, ELMo's task
weights on the biLM's layers. Adding a family is one ``Adapter`` in ``ADAPTERS``: how to recognise its predictor,
and what it shows.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import torch

from seqlab.errors import SeqlabError

MAX_TOKENS = 256  # rows and columns of an attention view: L x H x 256 x 256 numbers is already megabytes of JSON


class TooLong(SeqlabError):
    """A text with more tokens than an attention view shows (HTTP 413)."""


def check_tokens(count: int, max_tokens: int, what: str = "tokens") -> None:
    if count > max_tokens:
        raise TooLong(f"the text has {count} {what}; the attention view shows at most {max_tokens}")


KINDS = {
    "cross": "each output token's attention over the source tokens",
    "self": "each token's attention over every token of the text",
    "causal": "each token's attention over itself and the tokens before it (a language model cannot look ahead)",
    "hops": "each hop's attention over the story's sentences (the paper's Figure 2)",
    "mix": "the task's weight s_j on each layer of the biLM (ELMo, eq. 1): the same for every sentence",
}


@dataclass
class AttentionView:
    """Attention as the explorer draws it: each row attends over the columns, per layer and head."""

    family: str  # "translation", "bert", "gpt", "transformer-xl", "memnet", "elmo"
    kind: str  # a key of KINDS
    rows: list[str]  # the tokens (or hops) that attend
    columns: list[str]  # the tokens (sentences, layers) attended to
    weights: np.ndarray  # (L, H, R, C); each row sums to 1 (ELMo's one row: the softmax over layers)
    layers: list[str]  # L names
    output: str | None = None  # what the model made of the text: a translation, an answer, a label

    def to_dict(self, decimals: int = 5) -> dict:
        return {"family": self.family, "kind": self.kind, "description": KINDS[self.kind], "rows": self.rows,
                "columns": self.columns, "layers": self.layers, "heads": int(self.weights.shape[1]),
                "weights": np.round(self.weights.astype(np.float64), decimals).tolist(), "output": self.output}


@dataclass(frozen=True)
class Adapter:
    family: str
    accepts: Callable[[Any], bool]
    attention: Callable[[Any, str, Sequence[str] | None, int], AttentionView] | None = None  # (.., max_tokens)
    embed: Callable[[Any, list[str]], np.ndarray] | None = None  # (N, D)


def _layer_names(prefix: str, count: int) -> list[str]:
    return [f"{prefix} {i}" for i in range(1, count + 1)]


def _stack(weights: Sequence[torch.Tensor]) -> np.ndarray:
    """L x (1, H, R, C) -> (L, H, R, C)."""
    return torch.stack([w[0] for w in weights]).float().cpu().numpy()


def classifies(predictor: Any) -> bool:
    """Its ``predict`` gives a label and a probability per text (a forecaster's gives numbers)."""
    return hasattr(predictor, "predict") and not hasattr(predictor, "forecast")


def _label(predictor: Any, text: str) -> str | None:
    """A classifier's label for the text ("positive (97%)"); None for other models."""
    if not classifies(predictor):
        return None
    label, probability = predictor.predict([text])[0]
    return f"{label} ({probability:.0%})"


# ---- translation ---------------------------------------------------------------------------------------------------


def _attends_to_the_source(predictor: Any) -> bool:
    """An encoder-decoder, unless it is a recurrent one without attention (one context vector)."""
    model = getattr(predictor, "model", None)
    return hasattr(predictor, "cross_attention") and getattr(getattr(model, "config", None), "attention", "") != "none"


def _translation_attention(predictor: Any, text: str, _: Sequence[str] | None, max_tokens: int) -> AttentionView:
    source, output, layers, translation = predictor.cross_attention(text)  # both bounded by the model's lengths
    check_tokens(max(len(source), len(output)), max_tokens)
    weights = np.stack(layers)  # (L, H, T, S)
    names = ["attention"] if len(layers) == 1 and weights.shape[1] == 1 else _layer_names("decoder layer",
                                                                                          len(layers))
    return AttentionView("translation", "cross", output, source, weights, names, output=translation)


# ---- BERT ----------------------------------------------------------------------------------------------------------


@dataclass
class _BertParts:
    model: Any  # seqlab.models.bert.Bert
    tokenizer: Any  # a tokenizers.Tokenizer (WordPiece)
    ids: Callable[[str], list[int]]  # a text as the predictor reads it, [CLS] ... [SEP]


def _bert_parts(predictor: Any) -> _BertParts | None:
    """The encoder inside a sentence encoder, a masked-LM run or a fine-tuned classifier, and its tokenizer."""
    from seqlab.models.bert import Bert, BertClassifier, BertForPreTraining

    model = getattr(predictor, "model", None)
    if isinstance(model, Bert):  # SentenceEncoder
        return _BertParts(model, predictor.tokenizer, lambda text: predictor.tokenizer.encode(text).ids)
    if isinstance(model, BertForPreTraining):  # MaskFiller
        return _BertParts(model.bert, predictor.tokenizer, lambda text: predictor.tokenizer.encode(text).ids)
    if isinstance(model, BertClassifier):  # TextClassifier
        encoder = predictor.encoder
        return _BertParts(model.bert, encoder.tokenizer, lambda text: encoder.ids([text], warn=False)[0])
    return None


def _bert_attention(predictor: Any, text: str, _: Sequence[str] | None, max_tokens: int) -> AttentionView:
    parts = _bert_parts(predictor)
    ids = parts.ids(text)
    check_tokens(len(ids), min(max_tokens, parts.model.config.max_positions), "pieces with [CLS] and [SEP]")
    device = next(parts.model.parameters()).device
    parts.model.eval()
    with torch.no_grad():
        out = parts.model(torch.tensor([ids], device=device), need_weights=True)
    tokens = [parts.tokenizer.id_to_token(i) for i in ids]
    return AttentionView("bert", "self", tokens, tokens, _stack(out.attentions),
                         _layer_names("layer", len(out.attentions)), output=_label(predictor, text))


_SENTENCE_ENCODERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # predictor -> its SentenceEncoder


def _bert_embed(predictor: Any, texts: list[str]) -> np.ndarray:
    """Sentence embeddings as sentence-transformers makes them: the mean of the last layer's piece vectors, unit
    length (for a masked-LM run or a classifier, of the encoder inside it)."""
    from seqlab.models.bert import SentenceEncoder

    if isinstance(predictor, SentenceEncoder):
        return predictor.encode(texts, warn=False)
    encoder = _SENTENCE_ENCODERS.get(predictor)
    if encoder is None:
        parts = _bert_parts(predictor)
        encoder = SentenceEncoder(parts.model, parts.tokenizer.to_str(), max_length=parts.model.config.max_positions)
        _SENTENCE_ENCODERS[predictor] = encoder
    return encoder.encode(texts, warn=False)


# ---- decoder-only language models: GPT, Transformer-XL --------------------------------------------------------------


def _language_model_of(kind: str) -> Callable[[Any], bool]:
    def accepts(predictor: Any) -> bool:
        from seqlab.models.gpt import GPT
        from seqlab.models.transformer_xl import TransformerXL

        model_class = {"gpt": GPT, "transformer-xl": TransformerXL}[kind]
        return hasattr(predictor, "prompt_ids") and isinstance(getattr(predictor, "model", None), model_class)

    return accepts


def _causal_attention(family: str, predictor: Any, text: str, _: Sequence[str] | None, max_tokens: int
                      ) -> AttentionView:
    """The prompt read as one segment (Transformer-XL: with no memory before it)."""
    ids = predictor.prompt_ids(text)
    check_tokens(len(ids), max_tokens)
    model = predictor.model.eval()
    weights: list[torch.Tensor] = []
    with torch.no_grad():
        model.hidden_states(torch.tensor([ids], device=next(model.parameters()).device), attentions=weights)
    tokens = [predictor.token_text(i) for i in ids]
    return AttentionView(family, "causal", tokens, tokens, _stack(weights), _layer_names("layer", len(weights)))


# ---- memory networks -----------------------------------------------------------------------------------------------


def _memnet_attention(predictor: Any, question: str, story: Sequence[str] | None, _: int) -> AttentionView:
    """(The story is bounded by the memory's size.)"""
    if not story:
        raise SeqlabError('a memory network answers a question about a story: send "story": [sentences]')
    reading = predictor.answer(list(story), question)
    hops = np.asarray(reading.hops, dtype=np.float32)  # (K, M)
    return AttentionView("memnet", "hops", _layer_names("hop", len(hops)), list(reading.sentences), hops[None, None],
                         ["hops"], output=f"{reading.answer} ({reading.probability:.0%})")


# ---- ELMo ----------------------------------------------------------------------------------------------------------


def _scalar_mix(predictor: Any) -> Any | None:
    from seqlab.nn.charcnn import ScalarMix

    model = getattr(predictor, "model", None)
    if not isinstance(model, torch.nn.Module):
        return None
    return next((m for m in model.modules() if isinstance(m, ScalarMix)), None)


def _elmo_attention(predictor: Any, text: str, _story: Sequence[str] | None, _: int) -> AttentionView:
    mix = _scalar_mix(predictor)
    with torch.no_grad():
        s = mix.weights().float().cpu().numpy()  # (L + 1,)
        gamma = float(mix.gamma)
    columns = ["layer 0: characters"] + [f"layer {j}: LSTM {j}" for j in range(1, len(s))]
    output = _label(predictor, text)
    if output is None and hasattr(predictor, "tag"):
        output = " ".join(f"{token}/{tag}" for token, tag in predictor.tag(text))
    return AttentionView("elmo", "mix", [f"s_j (gamma {gamma:.3g})"], columns, s[None, None, None], ["mix"],
                         output=output)


# ---- word2vec ------------------------------------------------------------------------------------------------------


def _word2vec_embed(predictor: Any, texts: list[str]) -> np.ndarray:
    """The mean of the text's known words' unit vectors (gensim's get_mean_vector), its words split as in training."""
    from seqlab.tasks.word2vec import tokenize

    vectors = predictor.vectors
    out = np.zeros((len(texts), vectors.dim), dtype=np.float32)
    for i, text in enumerate(texts):
        rows = [vectors.index[w] for w in tokenize(text, predictor.config.data) if w in vectors]
        if not rows:
            raise SeqlabError(f"none of the words of {text[:40]!r} is in the vocabulary ({len(vectors)} words)")
        out[i] = vectors.unit[rows].mean(0)
    return out


# Adding a family: how to recognise its predictor and what it shows. The first that accepts a predictor serves it.
ADAPTERS: list[Adapter] = [
    Adapter("translation", _attends_to_the_source, attention=_translation_attention),
    Adapter("bert", lambda p: _bert_parts(p) is not None, attention=_bert_attention, embed=_bert_embed),
    Adapter("gpt", _language_model_of("gpt"), attention=partial(_causal_attention, "gpt")),
    Adapter("transformer-xl", _language_model_of("transformer-xl"),
            attention=partial(_causal_attention, "transformer-xl")),
    Adapter("memnet", lambda p: hasattr(p, "answer") and hasattr(p, "read_story"), attention=_memnet_attention),
    Adapter("elmo", lambda p: _scalar_mix(p) is not None, attention=_elmo_attention),
    Adapter("word2vec", lambda p: hasattr(p, "vectors") and hasattr(p, "analogy"), embed=_word2vec_embed),
]


def adapter_for(predictor: Any) -> Adapter | None:
    return next((a for a in ADAPTERS if a.accepts(predictor)), None)


def attention_view(predictor: Any, text: str, story: Sequence[str] | None = None, *, max_tokens: int = MAX_TOKENS,
                   adapter: Adapter | None = None) -> AttentionView:
    """The attention ``predictor`` pays reading ``text`` (a memory network: the question about ``story``), for texts
    of at most ``max_tokens`` tokens."""
    adapter = adapter or adapter_for(predictor)
    if adapter is None or adapter.attention is None:
        raise SeqlabError(f"no attention to show for a {type(predictor).__name__}")
    if story is not None and adapter.family != "memnet":
        raise SeqlabError(f"a story is read by a memory network, not by a {adapter.family} model: leave it out")
    return adapter.attention(predictor, text, story, max_tokens)


def embed(predictor: Any, texts: list[str], *, adapter: Adapter | None = None) -> np.ndarray:
    """(N, D) embeddings of ``texts``."""
    adapter = adapter or adapter_for(predictor)
    if adapter is None or adapter.embed is None:
        raise SeqlabError(f"no embeddings from a {type(predictor).__name__}")
    return adapter.embed(predictor, texts)
