"""ELMo's biLM training speed: our fast path against our readable reference path and against a bare ``nn.LSTM``
implementation of the same biLM, training steps (forward, backward, AdamW) on the same batches.

- ours, fast (``ElmoConfig.fast=True``): PyTorch's fused LSTM kernel, and the character CNN run once per distinct
  word of the batch (a 32 x 65 window of WikiText-2 holds ~1,100 distinct words among 2,080);
- ours, reference (``fast=False``): the LSTM as a loop over the cell equations, the CNN over every token;
- bare: what one writes from the paper with torch.nn: ``nn.LSTM(proj_size=P)`` per layer and direction, the same
  character CNN over every token, the same adaptive softmax.

The sizes are the wikitext2_elmo recipe's (CNN 512 filters, P = 256, H = 512, 2 layers, 33,278 words, batches of
32 x 64); the words and batches are WikiText-2's when the data directory has it (else random words). Before timing,
the three losses and the bare model's gradients are checked against ours on the same weights.
"""

from __future__ import annotations

import copy
import time

import torch
from common import DATA_DIR, check_close
from torch import nn

from seqlab.models.elmo import BiLM, ElmoConfig
from seqlab.nn.adaptive import mean_nll, token_nll

RECIPE = dict(proj_size=256, hidden_size=512, num_layers=2, dropout=0.0, adaptive_cutoffs=[2000, 10000])
TINY = dict(proj_size=16, hidden_size=32, num_layers=2, dropout=0.0, adaptive_cutoffs=[50, 200], char_embed_dim=4,
            filters=[(1, 8), (2, 8), (3, 16)])


class BareBiLM(nn.Module):
    """The same biLM written plainly: every token's characters through the CNN, nn.LSTM layers (the weights taken
    from ``ours``, which it keeps its token encoder and softmax from)."""

    def __init__(self, ours: BiLM):
        super().__init__()
        cfg = ours.config
        self.tokens, self.head, self.word_chars = ours.tokens, ours.head, ours.word_chars
        self.forward_layers = nn.ModuleList(self._lstm(cfg, layer) for layer in ours.forward_lm.layers)
        self.backward_layers = nn.ModuleList(self._lstm(cfg, layer) for layer in ours.backward_lm.layers)

    @staticmethod
    def _lstm(cfg: ElmoConfig, ours: nn.Module) -> nn.LSTM:
        lstm = nn.LSTM(cfg.proj_size, cfg.hidden_size, proj_size=cfg.proj_size, batch_first=True)
        lstm.load_state_dict(ours.state_dict())
        return lstm

    def run(self, layers: nn.ModuleList, x: torch.Tensor) -> torch.Tensor:
        for k, lstm in enumerate(layers):
            h, _ = lstm(x)
            x = h + x if k > 0 else h
        return x

    def loss(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        window = torch.cat([inputs, targets[:, -1:]], dim=1)
        x = self.tokens(self.word_chars[window.flatten()].long()).view(*window.shape, -1)
        forward = self.run(self.forward_layers, x[:, :-1])
        backward = self.run(self.backward_layers, x[:, 1:].flip(1))
        return (mean_nll(token_nll(self.head, forward, targets), targets)
                + mean_nll(token_nll(self.head, backward, inputs.flip(1)), inputs)) / 2


def words_and_stream(quick: bool) -> tuple[list[str], torch.Tensor]:
    if not quick and (DATA_DIR / "wikitext-2").is_dir():
        from seqlab.tasks.config import LMData
        from seqlab.tasks.lm import build_vocab, encode, read_stream

        data = LMData(dataset="wikitext-2")
        stream = read_stream(data, "train", DATA_DIR)
        vocab = build_vocab(data, stream)
        return vocab.tokens, encode(vocab, stream)
    generator = torch.Generator().manual_seed(0)
    n = 400 if quick else 33278
    lengths = torch.randint(1, 12, (n,), generator=generator)
    words = [f"w{i}" + "x" * int(k) for i, k in enumerate(lengths)]
    ranks = torch.arange(1, n + 1, dtype=torch.float)
    return words, torch.multinomial(1 / ranks, 200_000, replacement=True, generator=generator)  # Zipf-like


def train_tokens_per_second(model: nn.Module, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> float:
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    start = time.perf_counter()
    for inputs, targets in batches:
        optimizer.zero_grad(set_to_none=True)
        model.loss(inputs, targets).backward()
        optimizer.step()
    return sum(t.numel() for _, t in batches) / (time.perf_counter() - start)


def run(quick: bool = False, force_bf16: bool = False) -> list[dict]:
    words, stream = words_and_stream(quick)
    sizes = TINY if quick else RECIPE
    torch.manual_seed(0)
    ours = BiLM.from_config(ElmoConfig(vocab_size=len(words), **sizes))
    ours.set_vocabulary(words)
    reference = BiLM.from_config(ElmoConfig(vocab_size=len(words), fast=False, **sizes))
    reference.load_state_dict(ours.state_dict())
    bare = BareBiLM(copy.deepcopy(ours))
    batch, seq = (4, 16) if quick else (32, 64)
    generator = torch.Generator().manual_seed(1)
    starts = torch.randint(0, len(stream) - seq - 1, (6, batch, 1), generator=generator)
    batches = [(stream[s + torch.arange(seq)], stream[s + torch.arange(seq) + 1]) for s in starts]

    inputs, targets = batches[0]
    losses = [m.loss(inputs, targets) for m in (ours, reference, bare)]
    check_close(losses[1].detach(), losses[0].detach(), "reference-path loss vs the fast path", tol=1e-5)
    check_close(losses[2].detach(), losses[0].detach(), "bare nn.LSTM biLM loss vs ours", tol=1e-5)
    ours_grad, = torch.autograd.grad(losses[0], ours.forward_lm.layers[0].weight_hh_l0)
    bare_grad, = torch.autograd.grad(losses[2], bare.forward_layers[0].weight_hh_l0)
    check_close(bare_grad, ours_grad, "bare vs ours: gradient of the first forward LSTM", tol=1e-4)

    timed = {"fast": [], "reference": [], "bare": []}
    for _ in range(2):  # interleaved rounds: background load hits all alike; the best of each kept
        timed["fast"].append(train_tokens_per_second(ours, batches[1:]))
        timed["bare"].append(train_tokens_per_second(bare, batches[1:]))
        timed["reference"].append(train_tokens_per_second(reference, batches[1:3]))
    fast, ref, plain = (max(timed[k]) for k in ("fast", "reference", "bare"))
    what = f"biLM train tokens/s, B={batch} T={seq}"
    return [{"benchmark": "elmo", "what": f"{what}: fast vs reference path", "precision": "fp32", "ours": fast,
             "reference": ref, "ratio": fast / ref},
            {"benchmark": "elmo", "what": f"{what}: fast vs bare nn.LSTM biLM", "precision": "fp32", "ours": fast,
             "reference": plain, "ratio": fast / plain}]
