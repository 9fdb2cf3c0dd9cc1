"""Shared building blocks: attention scores, multi-head attention, masks, positions, caches, layers, CRF."""

from seqlab.nn.attention import (
    AdditiveScore,
    Attention,
    ContentScore,
    DotScore,
    GeneralScore,
    LocationScore,
    MultiHeadAttention,
    ScaledDotScore,
    scaled_dot_product_attention,
)
from seqlab.nn.cache import KVCache
from seqlab.nn.crf import CRF
from seqlab.nn.layers import DecoderLayer, EncoderLayer, FeedForward, Residual
from seqlab.nn.masks import causal_mask, lengths_mask, padding_mask
from seqlab.nn.positional import (
    LearnedPositionalEmbedding,
    ScaledEmbedding,
    SinusoidalPositionalEncoding,
    sinusoidal_table,
)

__all__ = [
    "CRF", "AdditiveScore", "Attention", "ContentScore", "DecoderLayer", "DotScore", "EncoderLayer", "FeedForward",
    "GeneralScore", "KVCache", "LearnedPositionalEmbedding", "LocationScore", "MultiHeadAttention",
    "Residual", "ScaledDotScore", "ScaledEmbedding", "SinusoidalPositionalEncoding", "causal_mask",
    "lengths_mask", "padding_mask", "scaled_dot_product_attention", "sinusoidal_table",
]
