"""Our GPT vs Hugging Face's GPT2LMHeadModel with the same weights: training and generation speed, model FLOPs
utilisation, the KV cache against recomputing the prefix, and the peak memory of a training step.

Models:
- "baby": nanoGPT's Shakespeare GPU setting (6 layers, 6 heads, d=384, context 256, 65 characters, biases, tied
  embeddings), trained at batch 16 as the issue sets it; generation from a 16-token prompt, 200 new tokens.
- "nanogpt-cpu": nanoGPT's CPU setting (4 layers, 4 heads, d=128, context 64, batch 12, no biases; HF's GPT-2
  always has biases, so its copy holds zeros there: the same function); the wall time of its 2,000 steps.

Before timing, the run checks that both compute the same thing: logits equal in fp32 (to 1e-4), the same loss
and gradients, and greedy generation writing the same 200 tokens for ours with the cache, ours without it and
HF's ``generate``. Both train with the same loss (cross-entropy of the next token over every position), the same
AdamW and the same batches; dropout is 0 in both so that they compute the same function. The rounds are
interleaved (ours, HF, ours, ...) and each side keeps its best, so background load hits both alike.

MFU: model FLOPs per token as nanoGPT counts them (6 N + 12 L D T: N the parameters without the position table,
forward and backward; attention at full T, as PaLM's appendix B) times tokens/s, over the peak of an fp32
(bf16) 2048^3 matmul measured in the same run with the same threads.

Peak memory of a training step: on a GPU, ``torch.cuda.max_memory_allocated`` over the step, less the memory held
before it; on a CPU, a fresh process per model (glibc's mmap threshold fixed, so freed blocks go back to the
system and RSS follows live memory) reports its peak RSS over three steps less its RSS before the first (weights
loaded): gradients, optimiser state and activations.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace

import torch
import torch.nn.functional as F
from common import REPO, check, check_close

from seqlab.generation import generate
from seqlab.models.gpt import GPT, GPTConfig, config_to_hf, state_to_hf
from seqlab.training.trainer import native_bf16

BABY = GPTConfig(vocab_size=65, n_positions=256, n_layers=6, n_heads=6, d_model=384, dropout=0.0)
NANOGPT_CPU = GPTConfig(vocab_size=65, n_positions=64, n_layers=4, n_heads=4, d_model=128, dropout=0.0, bias=False)


def build_pair(cfg: GPTConfig, seed: int = 0) -> tuple[GPT, torch.nn.Module]:
    """Our GPT and a GPT2LMHeadModel (SDPA attention, HF's default) holding the same weights."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    ours = GPT.from_config(cfg)
    ref = GPT2LMHeadModel(GPT2Config(**config_to_hf(cfg), attn_implementation="sdpa"))
    ref.load_state_dict(ours.hf_state_dict(), strict=False)  # strict=False: HF's non-persistent buffers
    return ours, ref


def hf_loss(ref: torch.nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The same loss as ``GPT.loss``: mean cross-entropy of every position's next token."""
    logits = ref(input_ids=inputs).logits
    return F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten())


def hf_greedy(ref: torch.nn.Module, prompt: torch.Tensor, new: int) -> torch.Tensor:
    return ref.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=new, min_new_tokens=new,
                        do_sample=False, use_cache=True, pad_token_id=0)


def ours_greedy(ours: GPT, prompt: torch.Tensor, new: int, *, use_cache: bool = True) -> torch.Tensor:
    return generate(ours, prompt, new, temperature=0.0, use_cache=use_cache)


def check_agreement(ours: GPT, ref: torch.nn.Module, batch: dict[str, torch.Tensor], prompt: torch.Tensor,
                    new: int) -> str:
    """fp32: logits, loss and gradients equal; greedy tokens ours cached = ours uncached = HF generate."""
    ours.eval(), ref.eval()
    with torch.no_grad():
        diff = check_close(ours(batch["inputs"]), ref(input_ids=batch["inputs"]).logits, "logits, ours vs HF",
                           tol=1e-4)
    ours.zero_grad(), ref.zero_grad()
    loss_ours, loss_ref = ours.loss(**batch), hf_loss(ref, **batch)
    check_close(loss_ours.detach(), loss_ref.detach(), "loss, ours vs HF", tol=1e-5)
    loss_ours.backward(), loss_ref.backward()
    ref_grads = {name: p.grad for name, p in ref.named_parameters() if p.grad is not None}
    ours_grads = state_to_hf({name: p.grad for name, p in ours.named_parameters()}, ours.config)
    for name, grad in ours_grads.items():
        if ours.config.bias or not name.endswith(".bias"):  # a bias-free model's HF copy has zero biases
            check_close(grad, ref_grads[name], f"gradient of {name}, ours vs HF", tol=1e-4)
    ours.zero_grad(), ref.zero_grad()
    with torch.no_grad():
        cached, uncached = ours_greedy(ours, prompt, new), ours_greedy(ours, prompt, new, use_cache=False)
        theirs = hf_greedy(ref, prompt, new)
    check(torch.equal(cached, uncached), "greedy generation with the KV cache differs from recomputing the prefix")
    check(torch.equal(cached, theirs), "greedy generation differs from HF generate's")
    return (f"logits = HF's (max diff {diff:.1e}), loss and gradients equal; greedy {new} tokens: cached = "
            "uncached = HF generate")


def random_batch(cfg: GPTConfig, batch: int, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    stream = torch.randint(0, cfg.vocab_size, (batch, cfg.n_positions + 1), generator=g)
    return {"inputs": stream[:, :-1], "targets": stream[:, 1:]}


def train_rate(loss_fn: Callable[[], torch.Tensor], params, steps: int, bf16: bool) -> float:
    """Optimizer steps per second: forward, backward, AdamW."""
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.1)

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = loss_fn()
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    step()  # warm-up: allocator, kernels, optimiser state
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - start)


def gen_rate(decode: Callable[[], torch.Tensor], n_tokens: int, bf16: bool) -> float:
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        decode()
        start = time.perf_counter()
        decode()
    return n_tokens / (time.perf_counter() - start)


def matmul_peak(bf16: bool, size: int = 2048, repeats: int = 5) -> float:
    """FLOP/s of the best of ``repeats`` (size x size) @ (size x size) products."""
    dtype = torch.bfloat16 if bf16 else torch.float32
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def flops_per_token(model: GPT) -> float:
    """nanoGPT's estimate_mfu: 6 N + 12 L D T per trained token (N without the position table)."""
    cfg = model.config
    n = sum(p.numel() for p in model.parameters()) - model.positional.embedding.weight.numel()
    return 6 * n + 12 * cfg.n_layers * cfg.d_model * cfg.n_positions


def peak_step_memory(which: str, cfg: GPTConfig, batch: int) -> float:
    """MiB a training step adds to the process at its peak (see the module docstring), measured in a fresh process."""
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "PYTHONPATH": f"{REPO}:{REPO / 'benchmarks'}"}
    code = (f"import gpt_vs_hf, json; from seqlab.models.gpt import GPTConfig; "
            f"print(gpt_vs_hf._measure_step_memory({which!r}, GPTConfig(**{vars(cfg)!r}), {batch}))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _measure_step_memory(which: str, cfg: GPTConfig, batch: int) -> float:
    model = build_pair(cfg)[0 if which == "ours" else 1]  # the other is dropped: one model in this process
    data = random_batch(cfg, batch, seed=1)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    before = _rss_mib()
    for _ in range(3):
        loss = model.loss(**data) if which == "ours" else hf_loss(model, **data)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    return _peak_rss_mib() - before


def _peak_rss_mib() -> float:
    """VmHWM: this process's own peak (ru_maxrss would carry the parent's peak across fork and exec)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024


def _one_round(baby: tuple[GPT, torch.nn.Module], nano: tuple[GPT, torch.nn.Module], batch: dict, nano_data: dict,
               prompts: dict[int, torch.Tensor], steps: int, new: int, bf16: bool) -> dict[str, float]:
    """One pass of every measure, ours and HF in turn: training steps/s, generation tokens/s (cached, uncached)."""
    (ours, ref), (nano_ours, nano_ref) = baby, nano
    for model in (ours, ref, nano_ours, nano_ref):
        model.train()
    rates = {
        "train_ours": train_rate(lambda: ours.loss(**batch), ours.parameters(), steps, bf16),
        "train_hf": train_rate(lambda: hf_loss(ref, **batch), ref.parameters(), steps, bf16),
        "nano_ours": train_rate(lambda: nano_ours.loss(**nano_data), nano_ours.parameters(), steps * 4, bf16),
        "nano_hf": train_rate(lambda: hf_loss(nano_ref, **nano_data), nano_ref.parameters(), steps * 4, bf16),
    }
    ours.eval(), ref.eval()
    for b, prompt in prompts.items():
        rates[f"gen{b}_ours"] = gen_rate(lambda p=prompt: ours_greedy(ours, p, new), b * new, bf16)
        rates[f"gen{b}_hf"] = gen_rate(lambda p=prompt: hf_greedy(ref, p, new), b * new, bf16)
        rates[f"gen{b}_nocache"] = gen_rate(lambda p=prompt: ours_greedy(ours, p, new, use_cache=False), b * new,
                                            bf16)
    return rates


def _row(what: str, precision: str, ours: float, reference: float, setup: str) -> dict:
    return {"benchmark": "gpt", "what": what, "precision": precision, "ours": ours, "reference": reference,
            "ratio": ours / reference, "setup": setup}


def run(quick: bool = False, force_bf16: bool = False) -> list[dict]:
    baby = replace(BABY, n_layers=2, n_positions=64, d_model=96, n_heads=3) if quick else BABY
    nano = replace(NANOGPT_CPU, n_layers=2) if quick else NANOGPT_CPU
    train_batch, nano_batch, steps, rounds = (4, 12, 2, 1) if quick else (16, 12, 4, 2)
    new, prompt_len = (24, 8) if quick else (200, 16)
    ours, ref = build_pair(baby)
    nano_ours, nano_ref = build_pair(nano, seed=1)
    batch, nano_data = random_batch(baby, train_batch, seed=1), random_batch(nano, nano_batch, seed=2)
    prompts = {b: torch.randint(0, baby.vocab_size, (b, prompt_len), generator=torch.Generator().manual_seed(b))
               for b in (1, 8)}
    agreement = check_agreement(ours, ref, batch, prompts[8], new)
    check_agreement(nano_ours, nano_ref, nano_data, prompts[1] % nano.vocab_size, min(new, 40))
    precisions = ["fp32"] + (["bf16"] if native_bf16(torch.device("cpu")) or force_bf16 else [])
    rows = []
    for precision in precisions:
        bf16 = precision == "bf16"
        best: dict[str, float] = {}
        for _ in range(rounds):  # interleaved rounds; keep each side's best
            rates = _one_round((ours, ref), (nano_ours, nano_ref), batch, nano_data, prompts, steps, new, bf16)
            for key, rate in rates.items():
                best[key] = max(best.get(key, 0.0), rate)
        peak = matmul_peak(bf16)
        tokens = train_batch * baby.n_positions
        mfu = {side: best[f"train_{side}"] * tokens * flops_per_token(ours) / peak for side in ("ours", "hf")}
        train_setup = (f"{baby.n_layers} layers / {baby.n_heads} heads / d={baby.d_model} / context "
                       f"{baby.n_positions} / batch {train_batch}, AdamW; MFU ours {mfu['ours']:.1%}, HF "
                       f"{mfu['hf']:.1%} of a measured {peak / 1e9:.0f} GFLOP/s matmul peak")
        nano_tokens = nano_batch * nano.n_positions
        nano_setup = (f"nanoGPT CPU setting ({nano.n_layers} layers / 4 heads / d=128 / context {nano.n_positions} "
                      f"/ batch {nano_batch}): 2,000 steps take {2000 / best['nano_ours']:.0f} s ours, "
                      f"{2000 / best['nano_hf']:.0f} s HF")
        gen_setup = f"greedy, {prompt_len}-token prompt, {new} new tokens, same weights; {agreement}"
        rows += [
            _row("train tokens/s (baby GPT, batch 16)", precision, best["train_ours"] * tokens,
                 best["train_hf"] * tokens, train_setup),
            _row("train tokens/s (nanoGPT CPU setting)", precision, best["nano_ours"] * nano_tokens,
                 best["nano_hf"] * nano_tokens, nano_setup),
        ]
        for b in prompts:
            rows += [
                _row(f"generate tokens/s, batch {b} (vs HF generate)", precision, best[f"gen{b}_ours"],
                     best[f"gen{b}_hf"], gen_setup),
                _row(f"generate tokens/s, batch {b} (KV cache vs recompute)", precision, best[f"gen{b}_ours"],
                     best[f"gen{b}_nocache"], gen_setup),
            ]
        if not quick:
            mem = {side: peak_step_memory(side, baby, train_batch) for side in ("ours", "hf")}
            rows.append({"benchmark": "gpt", "what": "peak MiB of a training step (lower is better)",
                         "precision": precision, "ours": mem["ours"], "reference": mem["hf"],
                         "ratio": mem["ours"] / mem["hf"], "setup": train_setup})
    if "bf16" not in precisions:
        rows.append({"benchmark": "gpt", "what": "bf16 skipped", "precision": "bf16",
                     "note": "this CPU has no native bf16 (PyTorch would emulate it ~100x slower than fp32); "
                             "pass --force-bf16 to time it anyway"})
    return rows
