"""Evaluation metrics, one function or class per metric; each class streams (update / compute / reset).

Classification (= scikit-learn): confusion matrix, accuracy, precision, recall/sensitivity/TPR,
specificity/TNR, FPR, F-beta, reports with macro/micro/weighted averages; ROC and PR curves, ROC-AUC,
average precision, threshold selection. Sequences: token accuracy, span F1 (= seqeval), perplexity and
bits per character, corpus BLEU and chrF (= sacrebleu), exact match.
"""

from seqlab.metrics.base import Metric
from seqlab.metrics.bleu import BLEU, CHRF, corpus_bleu, corpus_chrf, tokenize_13a
from seqlab.metrics.classification import (
    ClassificationReport,
    ConfusionMatrixMetric,
    accuracy,
    classification_report,
    confusion_matrix,
    f1_score,
    f_beta_score,
    false_positive_rate,
    precision,
    recall,
    sensitivity,
    specificity,
    true_negative_rate,
    true_positive_rate,
)
from seqlab.metrics.curves import (
    BinaryScoresMetric,
    ThresholdChoice,
    average_precision_score,
    best_fbeta_threshold,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
    youden_threshold,
)
from seqlab.metrics.language_model import BitsPerCharacter, Perplexity, bits_per_character, perplexity
from seqlab.metrics.sequence import (
    MetricError,
    SpanF1,
    TokenAccuracy,
    entity_spans,
    exact_match,
    span_f1,
    token_accuracy,
)

__all__ = [
    "BLEU", "CHRF", "BinaryScoresMetric", "BitsPerCharacter", "ClassificationReport", "ConfusionMatrixMetric",
    "Metric", "MetricError", "Perplexity", "SpanF1", "ThresholdChoice", "TokenAccuracy", "accuracy",
    "average_precision_score", "best_fbeta_threshold", "bits_per_character", "classification_report",
    "confusion_matrix", "corpus_bleu", "corpus_chrf", "entity_spans", "exact_match", "f1_score", "f_beta_score",
    "false_positive_rate", "perplexity", "precision", "precision_recall_curve", "recall", "roc_auc_score",
    "roc_curve", "sensitivity", "span_f1", "specificity", "token_accuracy", "tokenize_13a", "true_negative_rate",
    "true_positive_rate", "youden_threshold",
]
