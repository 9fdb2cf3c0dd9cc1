"""Model families, one file each."""

from seqlab.models.rnn import (
    Recurrent,
    RNNClassifier,
    RNNClassifierConfig,
    RNNLanguageModel,
    RNNLMConfig,
    RNNTagger,
    RNNTaggerConfig,
)
from seqlab.models.transformer import Transformer, TransformerConfig

__all__ = ["RNNClassifier", "RNNClassifierConfig", "RNNLMConfig", "RNNLanguageModel", "RNNTagger", "RNNTaggerConfig",
           "Recurrent", "Transformer", "TransformerConfig"]
