"""Time-series classifiers, from the lab of deck 000 and the ECG slides of deck 001.

    KerasSeriesTransformer   the keras-io FordA example, layer for layer (and without its attention: the ablation)
    SeriesTransformer        a Transformer done right for series: patches + positions + [CLS]
    ResNet1D                 Wang et al.'s residual CNN (the strong deep baseline of the UCR benchmarks)
    CNNLSTM                  convolutions, then a bidirectional LSTM
    SeriesLSTM               the deck's LSTM(32) then Dense(n), for classes or forecasts

Every model reads x (B, T, F): B series, T time steps, F features per step (1 for the UCR archive), and a
``mask`` (B, T), True at real steps (series of unequal length are padded at the end), and returns (B, C).
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.models.config import (
    CNNLSTMConfig,
    KerasSeriesConfig,
    ResNet1DConfig,
    SeriesLSTMConfig,
    SeriesTransformerConfig,
    check_filled,
)
from seqlab.nn.attention import MultiHeadAttention
from seqlab.nn.encoder import ClassTokenEncoder
from seqlab.nn.layers import FeedForward, Residual
from seqlab.nn.recurrent import Recurrent, last_hidden

__all__ = ["CNNLSTM", "CNNLSTMConfig", "KerasSeriesConfig", "KerasSeriesTransformer", "ResNet1D", "ResNet1DConfig",
           "SeriesLSTM", "SeriesLSTMConfig", "SeriesModel", "SeriesTransformer", "SeriesTransformerConfig",
           "auto_patch", "masked_mean"]


def masked_mean(x: torch.Tensor, mask: torch.Tensor | None, dim: int = 1) -> torch.Tensor:
    """The mean of x (B, T, D) over its real steps (mask (B, T)) -> (B, D)."""
    if mask is None:
        return x.mean(dim)
    weights = mask.to(x.dtype).unsqueeze(-1)  # (B, T, 1)
    return (x * weights).sum(dim) / weights.sum(dim).clamp(min=1)


class SeriesModel(nn.Module):
    """What every series model shares: its loss, cross-entropy against class ids or squared error against values."""

    def loss(self, x: torch.Tensor, label: torch.Tensor | None = None, mask: torch.Tensor | None = None,
             target: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, T, F); label (B,) class ids, or target (B, outputs) values -> the mean loss."""
        out = self(x, mask).float()  # (B, C)
        if (label is None) == (target is None):
            raise ValueError("give exactly one of label (classification) or target (regression)")
        return F.cross_entropy(out, label) if target is None else F.mse_loss(out, target)


def _keras_glorot_(weight: torch.Tensor, fan_in: int, fan_out: int) -> None:
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    nn.init.uniform_(weight, -bound, bound)


# ---- the keras-io example ----------------------------------------------------------------------------------------


class KerasEncoderBlock(nn.Module):
    """The example's ``transformer_encoder``, LayerNorm eps 1e-6 as Keras. ``norm: pre``: x + Dropout(MHA(LN(x))),
    then x + Conv1D_1x1(Dropout(ReLU(Conv1D_1x1(LN(x))))); ``norm: branch``: x + LN(Dropout(MHA(x))), then
    x + LN(Conv1D_1x1(Dropout(ReLU(Conv1D_1x1(x)))))."""

    def __init__(self, cfg: KerasSeriesConfig):
        super().__init__()
        f, pre = cfg.features, cfg.norm == "pre"
        self.attn = (MultiHeadAttention(f, cfg.heads, head_dim=cfg.head_size, dropout=cfg.dropout)
                     if cfg.attention else None)
        self.attn_block = (Residual(nn.LayerNorm(f, eps=1e-6), dropout=cfg.dropout, norm_first=pre,
                                    branch_norm=not pre) if cfg.attention else None)
        self.feed_forward = FeedForward(f, cfg.ff_dim, dropout=cfg.dropout)  # Conv1D(kernel_size=1) = Linear
        self.ff_block = Residual(nn.LayerNorm(f, eps=1e-6), dropout=0.0, norm_first=pre, branch_norm=not pre)

    def forward(self, x: torch.Tensor, need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (B, T, F) -> (B, T, F), attention weights (B, H, T, T) or None."""
        weights = None
        if self.attn is not None:
            x, weights = self.attn_block.attend(x, lambda h: self.attn(h, need_weights=need_weights))
        return self.ff_block(x, self.feed_forward), weights


class KerasSeriesTransformer(SeriesModel):
    """The keras-io model. On FordA's 500 x 1 it has 93,130 parameters, as Keras reports.

    Why it is wrong (the lab's question): with one feature per step, each LayerNorm normalises a single number, so it
    returns its bias whatever its input. Before a sub-layer (``norm: pre``) it feeds the attention the same vector at
    every step, so the attention weights are uniform and its output a constant; after one (``norm: branch``) it
    erases what the sub-layer computed. Either way every block adds a constant that does not depend on the series, and
    the model is its MLP on the raw series, shifted (tests/test_timeseries.py shows it). Even with more features, the
    steps carry no positions, and the pooling hands the MLP one number per step (or, averaging over time, one
    number)."""

    def __init__(self, cfg: KerasSeriesConfig):
        super().__init__()
        if cfg.length < 1 or cfg.n_classes < 1:
            raise ValueError("the Keras model needs its series length and number of classes (length, n_classes)")
        self.config = cfg
        self.blocks = nn.ModuleList(KerasEncoderBlock(cfg) for _ in range(cfg.blocks))
        layers, width = [], cfg.length if cfg.pool == "features" else cfg.features
        for units in cfg.mlp_units:
            layers += [nn.Linear(width, units), nn.ReLU(), nn.Dropout(cfg.mlp_dropout)]
            width = units
        self.mlp = nn.Sequential(*layers)
        self.head = nn.Linear(width, cfg.n_classes)
        self._init_like_keras()

    def _init_like_keras(self) -> None:
        """Keras' defaults: Glorot-uniform kernels (with Keras' fans for the attention's 3-D kernels), zero biases."""
        cfg = self.config
        for module in self.modules():
            if isinstance(module, nn.Linear):
                _keras_glorot_(module.weight, module.in_features, module.out_features)
                nn.init.zeros_(module.bias)
        for block in self.blocks:
            if block.attn is not None:  # kernels (F, H, Dh) and (H, Dh, F): receptive field F and H
                f, h, dh = cfg.features, cfg.heads, cfg.head_size
                for part in block.attn.in_proj.weight.chunk(3, dim=0):
                    _keras_glorot_(part, h * f, dh * f)
                _keras_glorot_(block.attn.out_proj.weight, dh * h, f * h)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None,
                need_weights: bool = False) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """x (B, T, F) -> logits (B, C) (and, with ``need_weights``, each block's attention (B, H, T, T))."""
        if x.size(1) != self.config.length:
            raise ValueError(f"the Keras model reads series of exactly {self.config.length} steps, got {x.size(1)}")
        weights = []
        for block in self.blocks:
            x, w = block(x, need_weights)
            weights.append(w)
        # GlobalAveragePooling1D: "channels_first" averages the features, (B, T); "channels_last" the steps, (B, F)
        pooled = x.mean(-1) if self.config.pool == "features" else x.mean(1)
        logits = self.head(self.mlp(pooled))
        return (logits, [w for w in weights if w is not None]) if need_weights else logits


# ---- a Transformer for series, done right ------------------------------------------------------------------------


def auto_patch(length: int) -> tuple[int, int]:
    """Patch size and stride for a series of ``length`` steps: patches of T // 16 steps (so about 32 of them, half
    overlapping), kept between 2 and 16 steps."""
    patch = max(2, min(16, length // 16))
    return patch, max(1, patch // 2)


class SeriesTransformer(SeriesModel):
    """Patches of ``patch`` steps every ``stride`` steps, embedded by one convolution (a linear map of each patch),
    into the [CLS] encoder (learned positions, pre-norm layers); the head reads [CLS] (or the mean of the patches).
    Unlike the Keras model, each token carries a shape (a patch, not one number) and knows where it is. A patch starts
    every ``stride`` steps inside the series (zeros fill the last ones), so every step is in one and padding a batch
    changes nothing."""

    def __init__(self, cfg: SeriesTransformerConfig):
        super().__init__()
        check_filled(n_classes=cfg.n_classes, patch=cfg.patch, stride=cfg.stride, max_len=cfg.max_len)
        if cfg.stride > cfg.patch:
            raise ValueError(f"stride={cfg.stride} > patch={cfg.patch} would skip steps")
        self.config = cfg
        self.embed = nn.Conv1d(cfg.features, cfg.d_model, cfg.patch, stride=cfg.stride)
        self.encoder = ClassTokenEncoder(cfg.d_model, cfg.n_heads, cfg.d_ff, cfg.n_layers,
                                         max_tokens=self.n_patches(cfg.max_len), dropout=cfg.dropout)
        self.head = nn.Linear(cfg.d_model, cfg.n_classes)

    def n_patches(self, length: int) -> int:
        """A patch starts every ``stride`` steps inside the series: ceil(T / stride) of them (stride <= patch: they
        cover it)."""
        return -(-length // self.config.stride)

    def tokens(self, x: torch.Tensor, mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (B, T, F), mask (B, T) -> patch embeddings (B, N, D) and which are real (B, N)."""
        cfg = self.config
        if x.size(1) > cfg.max_len:
            raise ValueError(f"the series has {x.size(1)} steps, more than max_len={cfg.max_len}")
        n = self.n_patches(x.size(1))
        x = F.pad(x, (0, 0, 0, (n - 1) * cfg.stride + cfg.patch - x.size(1)))  # zeros to the patch grid
        patches = self.embed(x.transpose(1, 2)).transpose(1, 2)  # (B, N, D)
        return patches, None if mask is None else mask[:, torch.arange(n, device=x.device) * cfg.stride]

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None,
                need_weights: bool = False) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """x (B, T, F), mask (B, T) -> logits (B, C) (and each layer's attention (B, H, 1 + N, 1 + N))."""
        patches, patch_mask = self.tokens(x, mask)
        h, weights = self.encoder(patches, patch_mask, need_weights=need_weights)
        pooled = h[:, 0] if self.config.pool == "cls" else masked_mean(h[:, 1:], patch_mask)
        logits = self.head(pooled)
        return (logits, weights) if need_weights else logits


# ---- convolutional and recurrent classifiers ---------------------------------------------------------------------


def _conv_bn(c_in: int, c_out: int, kernel: int) -> nn.Sequential:
    """Conv1d with Keras' "same" padding (the extra step of an even kernel on the right), then batch norm."""
    return nn.Sequential(nn.ConstantPad1d(((kernel - 1) // 2, kernel // 2), 0.0), nn.Conv1d(c_in, c_out, kernel),
                         nn.BatchNorm1d(c_out))


class ResidualConvBlock(nn.Module):
    """Three conv + batch-norm layers (ReLU between), added to a 1x1-conv (or identity) shortcut, then ReLU."""

    def __init__(self, c_in: int, c_out: int, kernels: list[int]):
        super().__init__()
        sizes = [c_in, *[c_out] * len(kernels)]
        self.convs = nn.ModuleList(_conv_bn(a, b, k) for a, b, k in zip(sizes[:-1], sizes[1:], kernels, strict=True))
        self.shortcut = _conv_bn(c_in, c_out, 1) if c_in != c_out else nn.BatchNorm1d(c_out)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """x (B, C_in, T) -> (B, C_out, T); padded steps are zeroed after each conv so they add nothing."""
        h = x
        for i, conv in enumerate(self.convs):
            h = conv(h)
            h = h if i == len(self.convs) - 1 else F.relu(h)
            h = h if mask is None else h * mask[:, None]
        out = F.relu(h + self.shortcut(x))
        return out if mask is None else out * mask[:, None]


class ResNet1D(SeriesModel):
    """Wang, Yan & Oates (2017): residual blocks of convolutions, global average pooling over time, a linear head.
    Padded steps are zeroed after every layer, so evaluation does not depend on the padding; in training, batch norm's
    statistics still count them (the UCR sets have one length per set)."""

    def __init__(self, cfg: ResNet1DConfig):
        super().__init__()
        check_filled(n_classes=cfg.n_classes)
        self.config = cfg
        sizes = [cfg.features, *cfg.filters]
        self.blocks = nn.ModuleList(ResidualConvBlock(a, b, cfg.kernels) for a, b in itertools.pairwise(sizes))
        self.head = nn.Linear(cfg.filters[-1], cfg.n_classes)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        h = x.transpose(1, 2)  # (B, F, T)
        for block in self.blocks:
            h = block(h, mask)
        return self.head(masked_mean(h.transpose(1, 2), mask))  # (B, C)


class CNNLSTM(SeriesModel):
    """Conv + batch norm + ReLU + max-pool (halving T) per stage, then a BiLSTM; the head reads its last states."""

    def __init__(self, cfg: CNNLSTMConfig):
        super().__init__()
        check_filled(n_classes=cfg.n_classes)
        self.config = cfg
        sizes = [cfg.features, *cfg.filters]
        self.convs = nn.ModuleList(_conv_bn(a, b, cfg.kernel) for a, b in itertools.pairwise(sizes))
        self.lstm = Recurrent("lstm", cfg.filters[-1], cfg.hidden, bidirectional=True)
        self.dropout = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(2 * cfg.hidden, cfg.n_classes)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        h = x.transpose(1, 2)  # (B, F, T)
        lengths = None if mask is None else mask.sum(1)
        for conv in self.convs:
            h = F.relu(conv(h))
            h = h if mask is None else h * mask[:, None]
            if h.size(-1) >= 2:
                h = F.max_pool1d(h, 2)  # (B, C, T // 2)
                lengths = None if lengths is None else (lengths // 2).clamp(min=1)
                mask = None if lengths is None else torch.arange(h.size(-1), device=h.device) < lengths[:, None]
                h = h if mask is None else h * mask[:, None]  # a pair that straddled the end is padding too
        _, state = self.lstm(h.transpose(1, 2), lengths)  # (B, T', C) in
        return self.head(self.dropout(last_hidden(self.lstm, state)))


class SeriesLSTM(SeriesModel):
    """The lecture's "LSTM: how to actually run it": (batch, timesteps, features) windows -> LSTM(hidden) -> the last
    hidden state -> Dense(outputs) (logits for classes, values for a forecast)."""

    def __init__(self, cfg: SeriesLSTMConfig):
        super().__init__()
        check_filled(outputs=cfg.outputs)
        self.config = cfg
        self.lstm = Recurrent("lstm", cfg.features, cfg.hidden, num_layers=cfg.layers,
                              bidirectional=cfg.bidirectional, dropout=cfg.dropout)
        self.head = nn.Linear(cfg.hidden * (2 if cfg.bidirectional else 1), cfg.outputs)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, T, F) -> (B, outputs)."""
        _, state = self.lstm(x, None if mask is None else mask.sum(1))
        return self.head(last_hidden(self.lstm, state))
