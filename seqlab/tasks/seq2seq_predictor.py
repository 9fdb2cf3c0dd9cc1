"""The predictor of every encoder-decoder task (dates, translate): text in, text out, with attention maps.

Shapes: B batch, S source length, T output length, H heads.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import torch

from seqlab.data.collate import pad_sequences
from seqlab.errors import SeqlabError
from seqlab.generation import beam_search, greedy_search, strip_special


class Seq2SeqPredictor:
    """A trained encoder-decoder (Transformer or recurrent) with its vocabularies: text in, text out.

    ``vocab`` reads the sources; ``target_vocab`` (default: the same) writes the outputs. Either is a
    CharVocab or a SubwordVocab (``encode``, ``decode``, special ids, ``tokens``). Inputs longer than
    ``max_source_len`` raise an error, or are truncated with a warning when ``truncate`` is set.
    """

    def __init__(self, model, vocab, *, max_output_len: int, config: object = None, target_vocab=None,
                 max_source_len: int | None = None, truncate: bool = False):
        self.model, self.vocab, self.max_output_len, self.config = model, vocab, max_output_len, config
        self.target_vocab = vocab if target_vocab is None else target_vocab
        self.max_source_len = model.config.max_len if max_source_len is None else max_source_len
        self.truncate = truncate

    def _encode_sources(self, texts: Sequence[str]) -> list[list[int]]:
        limit = self.max_source_len
        encoded, cut = [], 0
        for i, text in enumerate(texts, 1):
            ids = self.vocab.encode(text)
            if not ids:
                raise SeqlabError(f"input {i} is empty: give some text to translate")
            if len(ids) > limit and not self.truncate:
                raise SeqlabError(f"input {i} has {len(ids)} tokens; this model reads at most {limit}")
            cut += len(ids) > limit
            encoded.append(ids[:limit])
        if cut:
            warnings.warn(f"{cut} of {len(texts)} inputs were longer than {limit} tokens and were truncated",
                          stacklevel=3)
        if hasattr(self.vocab, "unknown"):
            for i, text in enumerate(texts, 1):
                unknown = self.vocab.unknown(text)
                if unknown:
                    shown = ", ".join(repr(u) for u in dict.fromkeys(unknown))
                    warnings.warn(f"input {i}: {shown} not in the vocabulary (read as <unk>)", stacklevel=3)
        return encoded

    @torch.no_grad()
    def translate(self, texts: str | Sequence[str], *, beam_size: int = 1, alpha: float = 0.6,
                  batch_size: int = 256) -> list[str]:
        """Decode each text greedily (beam_size=1) or with beam search and a GNMT length penalty."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        encoded = self._encode_sources(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))  # similar lengths: less padding
        device = next(self.model.parameters()).device
        was_training = self.model.training
        self.model.eval()
        outputs: list[str] = [""] * len(texts)
        out_vocab = self.target_vocab
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            src = pad_sequences([encoded[i] for i in chunk], self.vocab.pad_id).to(device)
            max_len = min(self.max_output_len, 2 * src.size(1) + 10)  # fairseq's a*|x|+b: no runaway outputs
            if beam_size > 1:
                tokens, _ = beam_search(self.model, src, max_len, beam_size=beam_size, alpha=alpha)
            else:
                tokens = greedy_search(self.model, src, max_len)
            for i, ids in zip(chunk, strip_special(tokens, out_vocab.eos_id, out_vocab.pad_id), strict=True):
                outputs[i] = out_vocab.decode(ids)
        self.model.train(was_training)
        return outputs

    @torch.no_grad()
    def attention(self, text: str, *, layer: int = -1, heads: bool = False, beam_size: int = 1
                  ) -> tuple[list[str], list[str], np.ndarray]:
        """Source pieces, output pieces and the source-target attention of one decoder layer: (T, S) averaged
        over heads, or (H, T, S) with ``heads`` (H = 1 for a recurrent model's single attention)."""
        src_tokens, out_tokens, layers, _ = self.cross_attention(text, beam_size=beam_size)
        return src_tokens, out_tokens, layers[layer] if heads else layers[layer].mean(0)

    @torch.no_grad()
    def cross_attention(self, text: str, *, beam_size: int = 1
                        ) -> tuple[list[str], list[str], list[np.ndarray], str]:
        """Source pieces, output pieces (with <eos>), every decoder layer's source-target attention (H, T, S)
        (H = 1 for a recurrent model's single attention), and the translation."""
        output = self.translate(text, beam_size=beam_size)[0]
        src_ids = self._encode_sources([text])[0]
        out_ids = self.target_vocab.encode(output)
        tgt_in = torch.tensor([[self.target_vocab.bos_id, *out_ids]])
        device = next(self.model.parameters()).device
        self.model.eval()
        memory, mask = self.model.encode(torch.tensor([src_ids], device=device))
        _, weights = self.model.decode(tgt_in.to(device), memory, mask, need_weights=True)
        if any(w is None for w in weights):
            raise SeqlabError("this model has no attention (it reads the source through one context vector)")
        out_tokens = [self.target_vocab.tokens[i] for i in out_ids] + ["<eos>"]
        src_tokens = [self.vocab.tokens[i] for i in src_ids]
        layers = []
        for w in weights:
            matrix = w[0].float().cpu().numpy()  # (H, T, S), or (T, S) for a recurrent model
            layers.append((matrix[None] if matrix.ndim == 2 else matrix)[:, : len(out_tokens)])
        return src_tokens, out_tokens, layers, output
