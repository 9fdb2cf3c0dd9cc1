"""Our ``Recurrent`` LSTM vs torch.nn.LSTM in a BiLSTM tagger: training tokens/s, fp32, CPU.

The model is a word-level tagger: embedding 100 -> 2-layer BiLSTM (hidden 256 per direction) -> linear to
20 tags, trained with token cross-entropy and AdamW on batches of 32 sentences of 10-40 tokens, padded to 40
and run as packed sequences. Three variants share one set of weights (copied by ``load_state_dict``, so the
first losses agree; checked):

- ours, fast: ``Recurrent("lstm", ..., fast=True)``, PyTorch's fused LSTM kernel on packed sequences;
- torch: a bare ``torch.nn.LSTM`` with ``pack_padded_sequence`` / ``pad_packed_sequence``;
- ours, reference: ``Recurrent(..., fast=False)``, the readable loop over time with the LSTM cell equations.

Rounds are interleaved (fast, torch, reference, fast, ...) and each variant's best round is kept, so
background load on a shared machine hits all alike. Tokens are real (unpadded) tokens. No dropout, so the
three do exactly the same arithmetic. fp32 only (``force_bf16`` is accepted for the runner and unused).
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from common import check
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqlab.nn.recurrent import Recurrent

VOCAB, EMBED, HIDDEN, LAYERS, TAGS = 10_000, 100, 256, 2, 20
BATCH, LENGTH, MIN_LENGTH = 32, 40, 10


class TorchBiLSTM(nn.Module):
    """torch.nn.LSTM behind ``Recurrent``'s call signature: x (B, T, I), lengths (B,) -> (output (B, T, 2H), state)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int):
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True, bidirectional=True)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, tuple]:
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        output, state = self.lstm(packed)
        output, _ = pad_packed_sequence(output, batch_first=True, total_length=x.size(1))  # (B, T, 2H)
        return output, state


class Tagger(nn.Module):
    """ids (B, T) -> embed -> BiLSTM -> linear -> emissions (B, T, K); the loss is token cross-entropy."""

    def __init__(self, rnn: nn.Module):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, EMBED, padding_idx=0)
        self.rnn = rnn
        self.head = nn.Linear(2 * HIDDEN, TAGS)

    def loss(self, ids: torch.Tensor, lengths: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        output, _ = self.rnn(self.embed(ids), lengths)  # (B, T, 2H)
        logits = self.head(output)  # (B, T, K)
        return F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100)


def _models() -> dict[str, Tagger]:
    torch.manual_seed(0)
    fast = Tagger(Recurrent("lstm", EMBED, HIDDEN, num_layers=LAYERS, bidirectional=True, fast=True))
    reference = Tagger(Recurrent("lstm", EMBED, HIDDEN, num_layers=LAYERS, bidirectional=True, fast=False))
    reference.load_state_dict(fast.state_dict())
    ref = Tagger(TorchBiLSTM(EMBED, HIDDEN, LAYERS))
    ref.load_state_dict({k.replace("rnn.", "rnn.lstm."): v for k, v in fast.state_dict().items()})
    return {"fast": fast, "torch": ref, "reference": reference}


def _batch(seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(MIN_LENGTH, LENGTH + 1, (BATCH,), generator=g)
    lengths[0] = LENGTH  # the padded length is the longest sentence's
    real = torch.arange(LENGTH)[None, :] < lengths[:, None]  # (B, T)
    ids = torch.randint(1, VOCAB, (BATCH, LENGTH), generator=g).masked_fill(~real, 0)
    labels = torch.randint(0, TAGS, (BATCH, LENGTH), generator=g).masked_fill(~real, -100)
    return {"ids": ids, "lengths": lengths, "labels": labels}


def _train_rate(model: Tagger, opt: torch.optim.Optimizer, batch: dict, steps: int) -> float:
    """Real tokens per second over ``steps`` forward + backward + AdamW steps (after one warm-up step)."""

    def step() -> None:
        loss = model.loss(**batch)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return int(batch["lengths"].sum()) * steps / (time.perf_counter() - start)


def _check_same_loss(models: dict[str, Tagger], batch: dict) -> None:
    with torch.no_grad():
        losses = {name: model.loss(**batch).item() for name, model in models.items()}
    check(max(losses.values()) - min(losses.values()) <= 1e-4, f"the three variants disagree before training: {losses}")


def run(quick: bool = False, force_bf16: bool = False) -> list[dict]:
    models = _models()
    batch = _batch(seed=1)
    _check_same_loss(models, batch)
    opts = {name: torch.optim.AdamW(model.parameters(), lr=1e-3) for name, model in models.items()}
    rounds, steps, reference_steps = (1, 2, 1) if quick else (3, 10, 5)
    best: dict[str, float] = {}
    for _ in range(rounds):  # interleaved rounds; keep each variant's best
        for name, model in models.items():
            n = reference_steps if name == "reference" else steps
            best[name] = max(best.get(name, 0.0), _train_rate(model, opts[name], batch, n))
    note = f"best of {rounds} interleaved round(s); real tokens/s, forward + backward + AdamW"
    setup = {"model": f"embedding {EMBED} -> {LAYERS}-layer BiLSTM {HIDDEN} -> linear {TAGS}, vocab {VOCAB}",
             "batch": f"{BATCH} x {MIN_LENGTH}-{LENGTH} tokens ({int(batch['lengths'].sum())} real), packed",
             "threads": torch.get_num_threads()}
    rows = [
        {"benchmark": "lstm", "what": "BiLSTM tagger train tokens/s (fast vs nn.LSTM)", "precision": "fp32",
         "ours": best["fast"], "reference": best["torch"], "ratio": best["fast"] / best["torch"], "note": note},
        {"benchmark": "lstm", "what": "BiLSTM tagger train tokens/s (reference loop vs fast)", "precision": "fp32",
         "ours": best["reference"], "reference": best["fast"], "ratio": best["reference"] / best["fast"],
         "note": note},
    ]
    for row in rows:
        row["setup"] = setup
    return rows


if __name__ == "__main__":
    for row in run(quick=True):
        print(row)
