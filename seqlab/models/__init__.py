"""Model families, one file each."""

from seqlab.models.transformer import Transformer, TransformerConfig

__all__ = ["Transformer", "TransformerConfig"]
