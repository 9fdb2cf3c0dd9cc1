"""Translation decoding speed: sentences/s of greedy and beam-5 search for our Transformer with its KV cache,
the same model without the cache (the whole prefix re-run at every step), and torch.nn.Transformer of the
same size (which has no cache), side by side.

The model is the Multi30k recipe's (d=256, 8 heads, ff=1024, 3+3 layers, joint 8k vocabulary, tied). The
sources are the German sentences of Multi30k test2016, BPE-encoded (random ids of the same lengths when the
data are absent). Every search runs exactly ``steps`` steps (<eos> is switched off), so all three do the
same amount of work whatever the weights; the three runs are interleaved and each keeps its best round.
Both models hold the same weights (torch's, copied into ours); before timing, the run checks that their
logits agree (fp32, to 1e-4) and that our greedy and beam searches find the same tokens with the cache as
without it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from common import DATA_DIR, check, check_close, mha_fastpath
from torch import nn
from transformer_vs_torch import TorchSeq2Seq, copy_into_ours

from seqlab.data.collate import pad_sequences
from seqlab.generation import beam_search, greedy_search
from seqlab.models import Transformer
from seqlab.tasks.translate import default_transformer
from seqlab.training.trainer import native_bf16


class TorchSearchAdapter(nn.Module):
    """torch.nn.Transformer behind the search protocol, without a cache (it has none)."""

    def __init__(self, model: TorchSeq2Seq, bos_id: int, eos_id: int, pad_id: int):
        super().__init__()
        self.model, self.bos_id, self.eos_id, self.pad_id = model, bos_id, eos_id, pad_id

    def encode(self, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pad = src == self.pad_id
        return self.model.core.encoder(self.model._embed(src), src_key_padding_mask=pad), pad

    def decode(self, tgt_in, memory, memory_mask, *, last_only: bool = False, need_weights: bool = False):
        causal = nn.Transformer.generate_square_subsequent_mask(tgt_in.size(1), dtype=torch.bool)
        hidden = self.model.core.decoder(self.model._embed(tgt_in), memory, tgt_mask=causal,
                                         memory_key_padding_mask=memory_mask)
        return self.model.generator(hidden[:, -1:] if last_only else hidden), [None]


def sources(n: int, vocab_size: int) -> list[list[int]]:
    """The first n German sentences of test2016 as BPE ids (a joint 8k BPE learnt on train)."""
    if (DATA_DIR / "multi30k").is_dir():
        from seqlab.tasks.translate import TranslateData, Vocabularies, read_pairs

        cfg = TranslateData(vocab_size=vocab_size)
        vocabs = Vocabularies.build(read_pairs(cfg, "train", DATA_DIR), cfg)
        return [vocabs.source.encode(s) for s, _ in read_pairs(cfg, "test", DATA_DIR)[:n]]
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(8, 30, (n,), generator=g).tolist()
    return [torch.randint(4, vocab_size, (k,), generator=g).tolist() for k in lengths]


@torch.no_grad()
def check_agreement(ours: Transformer, reference: TorchSearchAdapter, src: torch.Tensor, steps: int) -> str:
    """fp32: our logits = nn.Transformer's (teacher-forced on the source ids); searches cached = uncached."""
    diff = check_close(ours(src, src), reference.model(src, src), "logits, ours vs nn.Transformer", tol=1e-4)
    greedy = [greedy_search(ours, src, steps, use_cache=cache) for cache in (True, False)]
    check(torch.equal(*greedy), "greedy search with the KV cache differs from search without it")
    (tokens, scores), (tokens_ref, scores_ref) = (beam_search(ours, src, steps, beam_size=5, use_cache=cache)
                                                  for cache in (True, False))
    check(torch.equal(tokens, tokens_ref), "beam search with the KV cache finds other tokens than without it")
    check_close(scores, scores_ref, "beam scores, cached vs uncached", tol=1e-5)
    return f"logits = nn.Transformer's (max diff {diff:.1e}); greedy and beam 5 tokens cached = uncached"


def _rate(decode: Callable[[torch.Tensor], object], batches: list[torch.Tensor], bf16: bool) -> float:
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        decode(batches[0][:2])  # warm-up
        start = time.perf_counter()
        for src in batches:
            decode(src)
    return sum(b.size(0) for b in batches) / (time.perf_counter() - start)


def _row(what: str, precision: str, ours: float, reference: float, reference_name: str) -> dict:
    return {"benchmark": "decoding", "what": what, "precision": precision, "ours": ours, "reference": reference,
            "ratio": ours / reference, "reference_is": reference_name}


def run(quick: bool = False, force_bf16: bool = False) -> list[dict]:
    torch.manual_seed(0)
    cfg = default_transformer()
    cfg.src_vocab_size = cfg.tgt_vocab_size = 8000
    ours = Transformer.from_config(cfg).eval()
    torch_model = TorchSeq2Seq(cfg).eval()
    copy_into_ours(ours, torch_model)
    reference = TorchSearchAdapter(torch_model, cfg.bos_id, -1, cfg.pad_id).eval()
    n, batch_size, steps = (8, 8, 12) if quick else (128, 32, 24)
    ids = sources(n, 8000)
    batches = [pad_sequences(ids[i : i + batch_size], cfg.pad_id) for i in range(0, n, batch_size)]
    ours.eos_id = -1  # never stop early: every search runs exactly `steps` steps
    agreement = check_agreement(ours, reference, batches[0], steps)
    searches = {
        "greedy": lambda m, cache: (lambda src: greedy_search(m, src, steps, use_cache=cache)),
        "beam 5": lambda m, cache: (lambda src: beam_search(m, src, steps, beam_size=5, use_cache=cache)),
    }
    precisions = ["fp32"] + (["bf16"] if native_bf16(torch.device("cpu")) or force_bf16 else [])
    rows = []
    for precision in precisions:
        bf16 = precision == "bf16"
        for name, make in searches.items():
            best = {"cached": 0.0, "uncached": 0.0, "torch": 0.0}
            for _ in range(1 if quick else 2):
                best["cached"] = max(best["cached"], _rate(make(ours, True), batches, bf16))
                best["uncached"] = max(best["uncached"], _rate(make(ours, False), batches, bf16))
                with mha_fastpath(not bf16):
                    best["torch"] = max(best["torch"], _rate(make(reference, False), batches, bf16))
            rows += [
                _row(f"{name} sentences/s: KV cache vs no cache", precision, best["cached"], best["uncached"],
                     "our Transformer without the cache"),
                _row(f"{name} sentences/s: KV cache vs nn.Transformer", precision, best["cached"], best["torch"],
                     "torch.nn.Transformer (no cache)"),
                _row(f"{name} sentences/s: no cache vs nn.Transformer", precision, best["uncached"], best["torch"],
                     "torch.nn.Transformer (no cache)"),
            ]
    setup = {"model": "Multi30k recipe Transformer (d=256, h=8, ff=1024, 3+3 layers, vocab 8000, tied)",
             "sources": f"{n} test2016 sentences, batches of {batch_size}", "steps": steps,
             "threads": torch.get_num_threads(), "check": agreement}
    for row in rows:
        row["setup"] = setup
    return rows
