"""Sequence metrics: exact match, token accuracy, span F1 against seqeval, perplexity and bits per character."""

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from seqeval.scheme import IOBES

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

FAST = settings(max_examples=80, deadline=None)


def test_exact_match():
    assert exact_match(["a", "b", "c"], ["a", "x", "c"]) == pytest.approx(2 / 3)
    assert exact_match([], []) == 0.0
    with pytest.raises(ValueError, match="2 predictions for 1 references"):
        exact_match(["a", "b"], ["a"])


# --------------------------------------------------------------------------- token accuracy

def test_token_accuracy_ignores_padding_and_streams():
    targets = torch.tensor([[1, 2, 3, -100], [4, -100, -100, -100]])
    predictions = torch.tensor([[1, 0, 3, 7], [4, 9, 9, 9]])
    assert token_accuracy(predictions, targets) == 3 / 4
    logits = torch.nn.functional.one_hot(predictions.clamp(min=0), 10).float()  # (B, T, C): argmax taken
    assert token_accuracy(logits, targets) == 3 / 4
    metric = TokenAccuracy()
    metric.update(predictions[:1], targets[:1])
    metric.update(predictions[1:].tolist(), np.asarray(targets[1:]))  # lists and arrays work too
    assert metric.compute() == 3 / 4
    assert token_accuracy([[5, 0]], [[5, 0]], ignore_index=0) == 1.0


def test_token_accuracy_errors():
    with pytest.raises(MetricError, match="no tokens"):
        token_accuracy(torch.tensor([[1, 2]]), torch.tensor([[-100, -100]]))
    with pytest.raises(MetricError, match=r"shape \(1, 3\) for targets of shape \(1, 2\)"):
        token_accuracy(torch.tensor([[1, 2, 3]]), torch.tensor([[1, 2]]))
    with pytest.raises(MetricError, match="no tokens"):
        TokenAccuracy().compute()


# --------------------------------------------------------------------------- span F1 vs seqeval

def seqeval_kwargs(scheme):
    """iob1/iob2: seqeval's default (conlleval) mode; iobes: its strict mode with the IOBES scheme."""
    return {"mode": "strict", "scheme": IOBES} if scheme == "iobes" else {}


def assert_matches_seqeval(references, predictions, scheme):
    with warnings.catch_warnings():  # numpy's "mean of empty slice" for seqeval's NaN macro average
        warnings.simplefilter("ignore", RuntimeWarning)
        _assert_matches_seqeval(references, predictions, scheme)


def _assert_matches_seqeval(references, predictions, scheme):
    ours = span_f1(predictions, references, scheme)
    kwargs = seqeval_kwargs(scheme)
    report = classification_report(references, predictions, output_dict=True, zero_division=0, **kwargs)
    types = [name for name in report if not name.endswith(" avg")]
    assert list(ours["per_type"]) == types
    for name in types:
        expected = report[name]
        assert ours["per_type"][name] == {"precision": expected["precision"], "recall": expected["recall"],
                                          "f1": expected["f1-score"], "support": expected["support"]}
    for ours_key, theirs in [("micro", "micro avg"), ("macro", "macro avg"), ("weighted", "weighted avg")]:
        expected = report[theirs]
        assert ours[ours_key]["support"] == expected["support"]
        for key, their_key in [("precision", "precision"), ("recall", "recall"), ("f1", "f1-score")]:
            assert ours[ours_key][key] == pytest.approx(expected[their_key], rel=1e-12, abs=1e-15, nan_ok=True)
    for average in ("micro", "macro"):
        for function, key in [(precision_score, "precision"), (recall_score, "recall"), (f1_score, "f1")]:
            expected = function(references, predictions, average=average, zero_division=0, **kwargs)
            assert ours[average][key] == pytest.approx(expected, rel=1e-12, abs=1e-15, nan_ok=True)


PREFIXES = {"iob1": "BI", "iob2": "BI", "iobes": "BIES"}


@st.composite
def tagged_corpora(draw, scheme):
    tags = st.sampled_from(["O"] + [f"{p}-{t}" for p in PREFIXES[scheme] for t in ("PER", "LOC", "ORG")])
    lengths = draw(st.lists(st.integers(0, 10), min_size=1, max_size=5))
    references = [draw(st.lists(tags, min_size=n, max_size=n)) for n in lengths]
    predictions = [draw(st.lists(tags, min_size=n, max_size=n)) for n in lengths]
    return references, predictions


@pytest.mark.parametrize("scheme", ["iob1", "iob2", "iobes"])
def test_span_f1_matches_seqeval_on_random_tags(scheme):
    @FAST
    @given(tagged_corpora(scheme))
    def check(corpus):
        references, predictions = corpus
        assert_matches_seqeval(references, predictions, scheme)

    check()


@pytest.mark.parametrize("scheme", ["iob1", "iob2", "iobes"])
def test_span_f1_matches_seqeval_on_well_formed_tags(scheme):
    """Random well-formed entities: predictions are references with entities dropped, moved or retyped."""
    @settings(max_examples=60, deadline=None)
    @given(st.data())
    def check(data):
        references, predictions = [], []
        for _ in range(data.draw(st.integers(1, 4))):
            n = data.draw(st.integers(0, 12))
            spans = data.draw(st.lists(st.tuples(st.sampled_from(["PER", "LOC"]), st.integers(0, 11),
                                                 st.integers(1, 3)), max_size=4))
            references.append(_tags(spans, n, scheme))
            changed = [(data.draw(st.sampled_from(["PER", "LOC", kind])), start + data.draw(st.integers(-1, 1)),
                        length) for kind, start, length in spans if data.draw(st.booleans())]
            predictions.append(_tags(changed, n, scheme))
        assert_matches_seqeval(references, predictions, scheme)

    check()


def _tags(spans, n, scheme):
    """Tags for the non-overlapping spans among (type, start, length), written in ``scheme``."""
    from seqlab.text.tags import spans_to_tags

    kept, taken = [], set()
    for kind, start, length in spans:
        cells = set(range(start - 1, start + length + 1))  # keep a gap so IOB1 needs no B-
        if start >= 0 and start + length <= n and not cells & taken:
            kept.append((kind, start, start + length))
            taken |= cells
    return spans_to_tags(kept, n, scheme)


def test_span_f1_fixed_cases():
    # conlleval: an I- after O (or after another type) starts an entity
    assert entity_spans(["O", "I-PER", "I-PER", "I-LOC", "B-LOC"], "iob2") == [
        ("PER", 1, 3), ("LOC", 3, 4), ("LOC", 4, 5)]
    assert entity_spans(["I-PER", "B-PER", "I-PER"], "iob1") == [("PER", 0, 1), ("PER", 1, 3)]
    # strict IOBES: only S-X and B-X I-X* E-X count
    assert entity_spans(["S-PER", "B-LOC", "I-LOC", "E-LOC", "B-PER", "O", "I-PER", "E-PER", "E-PER"],
                        "iobes") == [("PER", 0, 1), ("LOC", 1, 4)]
    assert entity_spans(["B-PER", "B-PER", "E-PER", "B-LOC", "E-PER"], "iobes") == [("PER", 1, 3)]

    references = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG", "I-ORG", "O"]]
    predictions = [["O", "I-PER", "O", "B-LOC"], ["O", "B-ORG", "I-ORG", "O"]]
    result = span_f1(predictions, references, "iob2")
    assert result["per_type"]["PER"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert result["per_type"]["LOC"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    assert result["micro"] == {"precision": 2 / 3, "recall": 2 / 3, "f1": pytest.approx(2 / 3), "support": 3}
    assert result["macro"]["f1"] == pytest.approx(2 / 3)
    assert_matches_seqeval(references, predictions, "iob2")

    iobes_refs = [["S-PER", "O", "B-LOC", "E-LOC"], ["B-ORG", "I-ORG", "E-ORG", "O"]]
    iobes_preds = [["S-PER", "O", "B-LOC", "I-LOC"], ["B-ORG", "I-ORG", "E-ORG", "S-ORG"]]  # LOC left open
    result = span_f1(iobes_preds, iobes_refs, "iobes")
    assert result["micro"]["precision"] == 2 / 3 and result["micro"]["recall"] == 2 / 3
    assert result["per_type"]["LOC"]["recall"] == 0.0
    assert_matches_seqeval(iobes_refs, iobes_preds, "iobes")


def test_span_f1_streams_and_handles_no_entities():
    references = [["B-PER", "O"], ["B-LOC", "I-LOC"], ["O", "B-PER"]]
    predictions = [["B-PER", "O"], ["B-LOC", "O"], ["O", "B-PER"]]
    metric = SpanF1("iob2")
    for pred, ref in zip(predictions, references, strict=True):
        metric.update([pred], [ref])
    assert metric.compute() == span_f1(predictions, references, "iob2")

    nothing = span_f1([["O", "O"], []], [["O", "O"], []])
    assert nothing["micro"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert math.isnan(nothing["macro"]["f1"]) and nothing["weighted"]["f1"] == 0.0 and nothing["per_type"] == {}
    assert_matches_seqeval([["O", "O"], []], [["O", "O"], []], "iob2")


def test_span_f1_errors():
    with pytest.raises(MetricError, match="2 predicted sequences for 1 references"):
        span_f1([["O"], ["O"]], [["O"]])
    with pytest.raises(MetricError, match="sequence 1: 1 predicted tags for 2 reference tags"):
        span_f1([["O"], ["O"]], [["O"], ["O", "O"]])
    with pytest.raises(MetricError, match="'E-PER' is not in the IOB2 scheme"):
        span_f1([["E-PER"]], [["O"]], "iob2")
    with pytest.raises(MetricError, match="'PER' is not in the IOBES scheme"):
        span_f1([["PER"]], [["O"]], "iobes")
    with pytest.raises(MetricError, match="'B-' is not"):
        span_f1([["B-"]], [["O"]])
    with pytest.raises(MetricError, match="unknown tag scheme 'bilou'"):
        SpanF1("bilou")
    with pytest.raises(MetricError, match="not a string"):
        span_f1(["B-PER"], ["B-PER"])
    with pytest.raises(MetricError, match="no sentences"):
        SpanF1().compute()


# --------------------------------------------------------------------------- perplexity, bits per character

def test_perplexity_and_bits_from_summed_log_likelihoods():
    log_probs = torch.log(torch.tensor([0.5, 0.25, 0.125, 0.5], dtype=torch.float64))  # mean nats = 1.25 ln 2
    assert perplexity(log_probs, 4) == pytest.approx(2 ** 1.75)
    assert bits_per_character(float(log_probs.sum()), 4) == pytest.approx(1.75)
    uniform = math.log(1 / 50) * 10  # ten tokens, each one of 50 equally likely
    assert perplexity(uniform, 10) == pytest.approx(50)
    assert bits_per_character(uniform, 10) == pytest.approx(math.log2(50))


def test_perplexity_streams_over_batches():
    ppl, bpc = Perplexity(), BitsPerCharacter()
    for log_likelihood, count in [(-3.0, 2), (-10.5, 7), (0.0, 0), (-1.25, 1)]:
        ppl.update(log_likelihood, count)
        bpc.update(log_likelihood, count)
    assert ppl.compute() == pytest.approx(math.exp(14.75 / 10))
    assert bpc.compute() == pytest.approx(14.75 / 10 / math.log(2))
    ppl.reset()
    with pytest.raises(MetricError, match="no units"):
        ppl.compute()


def test_perplexity_edge_cases():
    assert perplexity(-math.inf, 3) == math.inf  # a token of probability 0
    assert bits_per_character(-math.inf, 3) == math.inf
    assert perplexity(-1e6, 10) == math.inf  # beyond the float range, not OverflowError
    with pytest.raises(MetricError, match="no units"):
        perplexity(0.0, 0)
    with pytest.raises(MetricError, match="nan"):
        perplexity(math.nan, 3)
    with pytest.raises(MetricError, match="inf"):
        perplexity(math.inf, 3)
    with pytest.raises(MetricError, match="whole number"):
        perplexity(-1.0, -2)
    with pytest.raises(MetricError, match="whole number"):
        perplexity(-1.0, 1.5)
