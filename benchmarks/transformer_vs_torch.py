"""Our Transformer vs torch.nn.Transformer of the same size: training and greedy-decoding tokens/s.

Both models get the same embeddings (scaled, sinusoidal positions), the same tied output layer,
the same weights (copied from torch's into ours), the same data and optimizer; runs are interleaved
(ours, reference, ours, ...) and the best round is kept, so background load hits both alike. Before
timing, the run checks that the two give the same logits (fp32, to 1e-4) and that our cached greedy
decoding writes the same tokens as our uncached one.

Decoding: torch.nn.Transformer has no KV cache, so the usual way to decode with it re-runs the
decoder over the whole prefix at every step. We report our cached decoding and, for the same
work, our uncached decoding too.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from common import check, check_close, mha_fastpath
from torch import nn

from seqlab.generation import greedy_search
from seqlab.models import Transformer, TransformerConfig
from seqlab.nn import ScaledEmbedding, SinusoidalPositionalEncoding
from seqlab.training.trainer import native_bf16
from tests.reference.torch_copy import copy_decoder_layer, copy_encoder_layer


class TorchSeq2Seq(nn.Module):
    """torch.nn.Transformer with the embeddings and generator of the paper, for a like-for-like run. Post-norm
    as in the paper and ours: no final LayerNorm after the stacks (nn.Transformer always adds one)."""

    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.embed = ScaledEmbedding(cfg.src_vocab_size, cfg.d_model, padding_idx=cfg.pad_id)
        self.positional = SinusoidalPositionalEncoding(cfg.d_model, cfg.max_len)
        self.core = nn.Transformer(cfg.d_model, cfg.n_heads, cfg.n_encoder_layers, cfg.n_decoder_layers,
                                   cfg.d_ff, cfg.dropout, batch_first=True)
        self.core.encoder.norm = self.core.decoder.norm = None
        self.generator = nn.Linear(cfg.d_model, cfg.tgt_vocab_size, bias=False)
        self.generator.weight = self.embed.weight
        self.pad_id, self.label_smoothing = cfg.pad_id, cfg.label_smoothing

    def _embed(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.embed(tokens) + self.positional(torch.arange(tokens.size(1)))

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        causal = nn.Transformer.generate_square_subsequent_mask(tgt_in.size(1), dtype=torch.bool)
        pad = src == self.pad_id
        hidden = self.core(self._embed(src), self._embed(tgt_in), tgt_mask=causal, src_key_padding_mask=pad,
                           memory_key_padding_mask=pad)
        return self.generator(hidden)

    def loss(self, src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        logits = self(src, tgt[:, :-1])
        return F.cross_entropy(logits.flatten(0, 1).float(), tgt[:, 1:].flatten(), ignore_index=self.pad_id,
                               label_smoothing=self.label_smoothing)

    @torch.no_grad()
    def greedy(self, src: torch.Tensor, steps: int, bos: int) -> torch.Tensor:
        pad = src == self.pad_id
        memory = self.core.encoder(self._embed(src), src_key_padding_mask=pad)
        out = torch.full((src.size(0), 1), bos, dtype=torch.long)
        for _ in range(steps):
            t = out.size(1)
            causal = nn.Transformer.generate_square_subsequent_mask(t, dtype=torch.bool)
            hidden = self.core.decoder(self._embed(out), memory, tgt_mask=causal, memory_key_padding_mask=pad)
            out = torch.cat([out, self.generator(hidden[:, -1]).argmax(-1, keepdim=True)], dim=1)
        return out[:, 1:]


@torch.no_grad()
def copy_into_ours(ours: Transformer, ref: TorchSeq2Seq) -> None:
    """torch's weights into ours (the shared embedding = the tied generator, then every layer)."""
    ours.encoder.embed.weight.copy_(ref.embed.weight)
    for layer, ref_layer in zip(ours.encoder.layers, ref.core.encoder.layers, strict=True):
        copy_encoder_layer(layer, ref_layer)
    for layer, ref_layer in zip(ours.decoder.layers, ref.core.decoder.layers, strict=True):
        copy_decoder_layer(layer, ref_layer)


@torch.no_grad()
def check_agreement(ours: Transformer, ref: TorchSeq2Seq, src: torch.Tensor, tgt_in: torch.Tensor,
                    steps: int) -> str:
    """fp32, eval mode: our logits = nn.Transformer's, and our greedy decoding cached = uncached."""
    ours.eval(), ref.eval()
    diff = check_close(ours(src, tgt_in), ref(src, tgt_in), "logits, ours vs nn.Transformer", tol=1e-4)
    eos = ours.eos_id
    ours.eos_id = -1  # every step decoded, none cut short
    cached, uncached = greedy_search(ours, src, steps), greedy_search(ours, src, steps, use_cache=False)
    ours.eos_id = eos
    check(torch.equal(cached, uncached), "greedy decoding with the KV cache differs from decoding without it")
    return f"logits = nn.Transformer's (max diff {diff:.1e}); greedy tokens cached = uncached"


def _batch(cfg: TransformerConfig, batch: int, src_len: int, tgt_len: int, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(4, cfg.src_vocab_size, (batch, src_len), generator=g)
    tgt = torch.randint(4, cfg.tgt_vocab_size, (batch, tgt_len + 1), generator=g)
    src[: batch // 4, src_len * 3 // 4 :] = cfg.pad_id  # some padding, as in real batches
    tgt[:, 0] = cfg.bos_id
    return {"src": src, "tgt": tgt}


def _train_rate(model: nn.Module, batch: dict, steps: int, bf16: bool) -> float:
    """Training tokens (source + target) per second over ``steps`` optimizer steps."""
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model.train()

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model.loss(**batch)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    step()  # warm-up: allocator, kernels
    start = time.perf_counter()
    for _ in range(steps):
        step()
    tokens = batch["src"].numel() + batch["tgt"].numel() - batch["tgt"].size(0)
    return tokens * steps / (time.perf_counter() - start)


def _decode_rate(decode: Callable[[], torch.Tensor], n_tokens: int, bf16: bool) -> float:
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        decode()
        start = time.perf_counter()
        decode()
    return n_tokens / (time.perf_counter() - start)


def _one_round(ours: Transformer, ref: TorchSeq2Seq, batch: dict, steps: int, src: torch.Tensor,
               dec_steps: int, bf16: bool) -> dict[str, float]:
    rates = {"train_ours": _train_rate(ours, batch, steps, bf16), "train_torch": _train_rate(ref, batch, steps, bf16)}
    ours.eval(), ref.eval()
    n = src.size(0) * dec_steps
    eos = ours.eos_id
    ours.eos_id = -1  # never stop early: every run decodes exactly dec_steps tokens
    rates["decode_ours_cached"] = _decode_rate(lambda: greedy_search(ours, src, dec_steps), n, bf16)
    rates["decode_ours_uncached"] = _decode_rate(lambda: greedy_search(ours, src, dec_steps, use_cache=False),
                                                 n, bf16)
    with mha_fastpath(not bf16):
        rates["decode_torch"] = _decode_rate(lambda: ref.greedy(src, dec_steps, ours.bos_id), n, bf16)
    ours.eos_id = eos
    return rates


def _row(what: str, precision: str, ours: float, reference: float) -> dict:
    return {"benchmark": "transformer", "what": what, "precision": precision, "ours": ours,
            "reference": reference, "ratio": ours / reference}


def run(quick: bool = False, force_bf16: bool = False) -> list[dict]:
    torch.manual_seed(0)
    cfg = TransformerConfig.from_name("small", src_vocab_size=8000, tgt_vocab_size=8000, share_embeddings=True,
                                      max_len=256)
    ours = Transformer.from_config(cfg)
    ref = TorchSeq2Seq(cfg)
    copy_into_ours(ours, ref)
    batch_size, src_len, tgt_len, steps = (16, 24, 24, 3) if quick else (32, 48, 48, 8)
    dec_batch, dec_steps = (8, 16) if quick else (32, 48)
    batch = _batch(cfg, batch_size, src_len, tgt_len, seed=1)
    src = _batch(cfg, dec_batch, src_len, 1, seed=2)["src"]
    agreement = check_agreement(ours, ref, batch["src"], batch["tgt"][:, :-1], dec_steps)
    precisions = ["fp32"] + (["bf16"] if native_bf16(torch.device("cpu")) or force_bf16 else [])
    rows = []
    for precision in precisions:
        bf16 = precision == "bf16"
        best: dict[str, float] = {}
        for _ in range(1 if quick else 3):  # interleaved rounds; keep each side's best
            for key, rate in _one_round(ours, ref, batch, steps, src, dec_steps, bf16).items():
                best[key] = max(best.get(key, 0.0), rate)
        rows += [
            _row("train tokens/s", precision, best["train_ours"], best["train_torch"]),
            _row("greedy decode tokens/s (cached vs nn.Transformer)", precision, best["decode_ours_cached"],
                 best["decode_torch"]),
            _row("greedy decode tokens/s (both uncached)", precision, best["decode_ours_uncached"],
                 best["decode_torch"]),
        ]
    if "bf16" not in precisions:
        rows.append({"benchmark": "transformer", "what": "bf16 skipped", "precision": "bf16",
                     "note": "this CPU has no native bf16 (PyTorch would emulate it ~100x slower than fp32); "
                             "pass --force-bf16 to time it anyway"})
    setup = {"model": "small preset (d=256, h=4, ff=1024, 3+3 layers, vocab 8000, tied)",
             "train_batch": f"{batch_size}x{src_len} -> {tgt_len}",
             "decode": f"{dec_batch} sources x {dec_steps} steps", "check": agreement}
    for row in rows:
        row["setup"] = setup
    return rows
