"""Model families, one file each; their configs, torch-free, in ``seqlab.models.config``.

The names below are imported on first use, so that ``seqlab.models.config`` (and a recipe's
``--print-config``) never loads PyTorch.
"""

from __future__ import annotations

from seqlab.lazy import lazy_getattr

_LAZY = {**dict.fromkeys(("Recurrent", "RNNClassifier", "RNNLanguageModel", "RNNTagger"), "seqlab.models.rnn"),
         "Transformer": "seqlab.models.transformer", "GPT": "seqlab.models.gpt",
         "TransformerXL": "seqlab.models.transformer_xl", "MemN2N": "seqlab.models.memnet",
         **dict.fromkeys(("KerasSeriesTransformer", "SeriesTransformer", "ResNet1D", "CNNLSTM", "SeriesLSTM"),
                         "seqlab.models.timeseries"),
         **dict.fromkeys(("ViT", "SmallCNN"), "seqlab.models.vit"),
         **dict.fromkeys(("BiLM", "ElmoFeatures", "load_bilm", "nearest_contexts"), "seqlab.models.elmo"),
         **dict.fromkeys(("Bert", "BertForPreTraining", "BertClassifier", "BertTagger", "SentenceEncoder",
                          "load_pretrained", "load_sentence_encoder"), "seqlab.models.bert"),
         **dict.fromkeys(("BertConfig", "ElmoConfig", "GPTConfig", "MemN2NConfig", "RNNClassifierConfig", "RNNLMConfig",
                          "RNNTaggerConfig", "TransformerConfig", "TransformerXLConfig", "KerasSeriesConfig",
                          "SeriesTransformerConfig", "ResNet1DConfig", "CNNLSTMConfig", "SeriesLSTMConfig", "ViTConfig",
                          "SmallCNNConfig"), "seqlab.models.config")}

__all__ = sorted(_LAZY)


__getattr__ = lazy_getattr("seqlab.models", _LAZY)
