"""The Vision Transformer ("An image is worth 16x16 words", Dosovitskiy et al., 2021), from seqlab's blocks, and the
small CNN it is compared with.

    x_p = patches of the image, each flattened     (B, N, P^2 C),  N = HW / P^2
    z_0 = [x_class; x_p E] + E_pos                 (B, 1 + N, D)   E: a linear projection, E_pos: learned
    z_l = EncoderLayer(z_{l-1})                    pre-norm, GELU, as the paper   (seqlab.nn.encoder)
    y   = head(LayerNorm(z_L[:, 0]))               the [CLS] token's final state

The projection E is a convolution with kernel = stride = P: the same linear map applied to each patch, in one call
(``patches`` gives the flattened patches, for checking that).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.models.config import SmallCNNConfig, ViTConfig, check_filled
from seqlab.nn.encoder import ClassTokenEncoder

__all__ = ["SmallCNN", "SmallCNNConfig", "ViT", "ViTConfig", "check_images"]


def check_images(images: torch.Tensor, channels: int, size: list[int]) -> torch.Tensor:
    """(B, C, H, W), or (B, H, W) for one channel, of the configured size -> (B, C, H, W); else a one-line error."""
    if images.dim() == 3 and channels == 1:
        images = images.unsqueeze(1)
    expected = (channels, *size)
    if images.dim() != 4 or tuple(images.shape[1:]) != expected:
        raise ValueError(f"images must have shape (batch, {', '.join(map(str, expected))})"
                         f"{' or (batch, ' + ', '.join(map(str, size)) + ')' if channels == 1 else ''}, "
                         f"got {tuple(images.shape)}")
    return images


class ImageModel(nn.Module):
    def loss(self, images: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """Cross-entropy, with the config's label smoothing (a regulariser that helps a ViT on small data)."""
        return F.cross_entropy(self(images).float(), label, label_smoothing=self.config.label_smoothing)


class ViT(ImageModel):
    def __init__(self, cfg: ViTConfig):
        super().__init__()
        check_filled(n_classes=cfg.n_classes)
        self.config = cfg
        p = cfg.patch_size
        self.grid = (cfg.image_size[0] // p, cfg.image_size[1] // p)
        self.patch_embed = nn.Conv2d(cfg.channels, cfg.d_model, kernel_size=p, stride=p)  # E, on every patch
        self.encoder = ClassTokenEncoder(cfg.d_model, cfg.n_heads, cfg.d_ff, cfg.n_layers, max_tokens=cfg.n_patches,
                                         dropout=cfg.dropout)
        self.head = nn.Linear(cfg.d_model, cfg.n_classes)

    def patches(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> the flattened patches x_p (B, N, C P P), row by row (what E multiplies)."""
        p = self.config.patch_size
        b, c, _, _ = images.shape
        x = images.unfold(2, p, p).unfold(3, p, p)  # (B, C, h, w, P, P)
        return x.permute(0, 2, 3, 1, 4, 5).reshape(b, -1, c * p * p)

    def forward(self, images: torch.Tensor, need_weights: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """images (B, C, H, W) -> logits (B, classes) (and each layer's attention (B, heads, 1 + N, 1 + N))."""
        cfg = self.config
        images = check_images(images, cfg.channels, cfg.image_size)
        x = self.patch_embed(images).flatten(2).transpose(1, 2)  # x_p E: (B, N, D)
        z, weights = self.encoder(x, need_weights=need_weights)
        logits = self.head(z[:, 0])
        return (logits, weights) if need_weights else logits

    @torch.no_grad()
    def cls_attention(self, images: torch.Tensor, layer: int = -1) -> torch.Tensor:
        """How much [CLS] attends to each patch in ``layer`` (mean over heads) -> (B, h, w), rows summing with the
        [CLS]-to-[CLS] weight to 1."""
        _, weights = self(images, need_weights=True)
        cls_to_patches = weights[layer][:, :, 0, 1:].mean(1)  # (B, N)
        return cls_to_patches.view(-1, *self.grid)


class SmallCNN(ImageModel):
    """Conv 3x3 + batch norm + ReLU + 2x2 max-pool per stage, average-pooled to 2x2, dropout, a linear head."""

    def __init__(self, cfg: SmallCNNConfig):
        super().__init__()
        check_filled(n_classes=cfg.n_classes)
        self.config = cfg
        stages, c_in = [], cfg.channels
        for c_out in cfg.filters:
            stages += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2)]
            c_in = c_out
        self.features = nn.Sequential(*stages, nn.AdaptiveAvgPool2d(2))
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(cfg.dropout), nn.Linear(4 * c_in, cfg.n_classes))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        images = check_images(images, self.config.channels, self.config.image_size)
        return self.head(self.features(images))
