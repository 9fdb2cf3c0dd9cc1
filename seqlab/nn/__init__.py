"""Shared building blocks: attention scores, multi-head attention, masks, packed (padding-free) batches, positions,
relative positions, caches, the segment memory, layers, CRF, recurrent cells and layers, sparse (bag-of-words) layers,
the adaptive softmax, the character CNN, highway layers, ELMo's scalar mix and the [CLS]-token encoder."""

from seqlab.nn.adaptive import AdaptiveSoftmax
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
from seqlab.nn.charcnn import CharCNN, Highway, ScalarMix
from seqlab.nn.crf import CRF
from seqlab.nn.encoder import ClassTokenEncoder
from seqlab.nn.layers import (
    ACTIVATIONS,
    CrossAttentionLayer,
    DecoderLayer,
    EncoderLayer,
    FeedForward,
    Residual,
    SelfAttentionLayer,
)
from seqlab.nn.masks import causal_mask, lengths_mask, padding_mask, resolve_causal
from seqlab.nn.memory import SegmentMemory
from seqlab.nn.packing import Packing
from seqlab.nn.positional import (
    LearnedPositionalEmbedding,
    ScaledEmbedding,
    SinusoidalPositionalEncoding,
    sinusoidal_table,
)
from seqlab.nn.recurrent import CELLS, ElmanCell, GRUCell, LectureGRUCell, LSTMCell, Recurrent, last_hidden
from seqlab.nn.relative import RelativePositionScores, rel_shift, relative_sinusoids
from seqlab.nn.sparse import SparseLinear, bow_matmul

__all__ = [
    "ACTIVATIONS", "CELLS", "CRF", "AdaptiveSoftmax", "AdditiveScore", "Attention", "CharCNN", "ClassTokenEncoder",
    "ContentScore",
    "CrossAttentionLayer", "DecoderLayer", "DotScore", "ElmanCell", "EncoderLayer", "FeedForward", "GRUCell",
    "GeneralScore", "Highway", "KVCache", "LSTMCell", "LearnedPositionalEmbedding", "LectureGRUCell", "LocationScore",
    "MultiHeadAttention", "Packing", "Recurrent", "RelativePositionScores", "Residual", "ScalarMix", "ScaledDotScore",
    "ScaledEmbedding", "SegmentMemory", "SelfAttentionLayer", "SinusoidalPositionalEncoding", "SparseLinear",
    "bow_matmul", "causal_mask", "last_hidden", "lengths_mask", "padding_mask", "rel_shift", "relative_sinusoids",
    "resolve_causal", "scaled_dot_product_attention", "sinusoidal_table"
]
