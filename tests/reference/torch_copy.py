"""Copy weights from torch.nn reference modules into ours, for parity tests."""

from __future__ import annotations

import torch
from torch import nn

from seqlab.nn import DecoderLayer, EncoderLayer, MultiHeadAttention


@torch.no_grad()
def copy_mha(ours: MultiHeadAttention, ref: nn.MultiheadAttention) -> None:
    ours.in_proj.weight.copy_(ref.in_proj_weight)
    ours.in_proj.bias.copy_(ref.in_proj_bias)
    ours.out_proj.weight.copy_(ref.out_proj.weight)
    ours.out_proj.bias.copy_(ref.out_proj.bias)


@torch.no_grad()
def _copy_ff_and_norms(ours, ref, blocks) -> None:
    ours.feed_forward.w_1.load_state_dict(ref.linear1.state_dict())
    ours.feed_forward.w_2.load_state_dict(ref.linear2.state_dict())
    for block, norm in zip(blocks, [ref.norm1, ref.norm2, getattr(ref, "norm3", None)], strict=False):
        block.norm.load_state_dict(norm.state_dict())


def copy_encoder_layer(ours: EncoderLayer, ref: nn.TransformerEncoderLayer) -> None:
    copy_mha(ours.self_attn, ref.self_attn)
    _copy_ff_and_norms(ours, ref, [ours.attn_block, ours.ff_block])


def copy_decoder_layer(ours: DecoderLayer, ref: nn.TransformerDecoderLayer) -> None:
    self_layer, cross_layer = ours.self_layer, ours.cross_layer
    copy_mha(self_layer.self_attn, ref.self_attn)
    copy_mha(cross_layer.cross_attn, ref.multihead_attn)
    _copy_ff_and_norms(cross_layer, ref, [self_layer.attn_block, cross_layer.cross_block, cross_layer.ff_block])
