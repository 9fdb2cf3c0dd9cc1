"""BLEU and chrF against sacreBLEU: tokeniser, sufficient statistics and scores equal to the last digit."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sacrebleu.metrics import BLEU as SacreBLEU
from sacrebleu.metrics import CHRF as SacreCHRF
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

from seqlab.data.formats import read_lines
from seqlab.metrics.bleu import BLEU, CHRF, corpus_bleu, corpus_chrf, tokenize_13a
from seqlab.metrics.sequence import MetricError

FAST = settings(max_examples=100, deadline=None)

# Words that exercise the 13a rules: punctuation, digits around . , -, HTML entities, <skipped>.
WORDS = ["a", "dog", "runs", "The", "the", "in", "park", ".", ",", "!", "3.5", "1,000", "20-30", "well-known",
         "don't", "(hi)", "&amp;", "&quot;", "<skipped>", "U.S.", "e-mail", "naïve", "Straße", "x", "—"]
sentences = st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join)


def sacre_bleu_dict(hypotheses, streams, **options):
    score = SacreBLEU(**options).corpus_score(hypotheses, streams)
    return {"bleu": score.score, "precisions": score.precisions, "brevity_penalty": score.bp,
            "hyp_len": score.sys_len, "ref_len": score.ref_len, "matches": score.counts, "totals": score.totals}


def ours_bleu_dict(hypotheses, references, **options):
    result = BLEU(**options)
    result.update(hypotheses, references)
    result = result.compute()
    del result["length_ratio"]
    return result


def perturb(sentence: str, rng: random.Random) -> str:
    words = sentence.split()
    for _ in range(rng.randint(0, 4)):
        choice = rng.random()
        if choice < 0.3 and words:
            del words[rng.randrange(len(words))]
        elif choice < 0.6 and words:
            words[rng.randrange(len(words))] = rng.choice(words)
        else:
            words.insert(rng.randrange(len(words) + 1), rng.choice(["the", "a", "dog", ".", ","]))
    return " ".join(words)


# --------------------------------------------------------------------------- tokeniser

@FAST
@given(st.text(alphabet=st.sampled_from("ab1.,-'&;<>\"()[]{}/\\|:?!@#$%^*_+=~` \n\téß—"), max_size=30))
def test_13a_tokenizer_matches_sacrebleu_on_random_text(line):
    assert tokenize_13a(line) == Tokenizer13a()(line)


def test_13a_tokenizer_fixed_cases():
    assert tokenize_13a("Hello, world! It costs $3.50 (approx.).") == "Hello , world ! It costs $ 3.50 ( approx . ) ."
    assert tokenize_13a("1,000 people; 20-30 years &amp; more") == "1,000 people ; 20 - 30 years & more"
    assert tokenize_13a("  ") == ""


# --------------------------------------------------------------------------- real sentences

def test_multi30k_val_matches_sacrebleu_exactly(data_dir):
    references = read_lines(data_dir / "multi30k" / "val.en")
    rng = random.Random(0)
    hypotheses = [perturb(r, rng) for r in references]
    # streamed in uneven batches: the statistics add up to sacreBLEU's over the whole corpus
    bleu, chrf = BLEU(), CHRF()
    for start in range(0, len(references), 97):
        bleu.update(hypotheses[start:start + 97], references[start:start + 97])
        chrf.update(hypotheses[start:start + 97], references[start:start + 97])
    result = bleu.compute()
    del result["length_ratio"]
    assert result == sacre_bleu_dict(hypotheses, [references])
    assert 20 < result["bleu"] < 90  # a realistic score, not a degenerate 0 or 100
    assert chrf.compute() == SacreCHRF().corpus_score(hypotheses, [references]).score

    # chrF++ and two references each (the second a perturbed copy), on a slice to stay fast
    hypotheses, references = hypotheses[:200], references[:200]
    assert (corpus_chrf(hypotheses, references, word_order=2)
            == SacreCHRF(word_order=2).corpus_score(hypotheses, [references]).score)
    second = [perturb(r, rng) for r in references]
    both = [list(pair) for pair in zip(references, second, strict=True)]
    assert ours_bleu_dict(hypotheses, both) == sacre_bleu_dict(hypotheses, [references, second])
    assert corpus_chrf(hypotheses, both) == SacreCHRF().corpus_score(hypotheses, [references, second]).score


# --------------------------------------------------------------------------- random sentences

@st.composite
def corpora(draw, max_refs=1):
    """(hypotheses, per-hypothesis reference lists, sacreBLEU streams padded with None)."""
    n = draw(st.integers(1, 6))
    hypotheses = draw(st.lists(sentences, min_size=n, max_size=n))
    references = [draw(st.lists(sentences, min_size=1, max_size=max_refs)) for _ in range(n)]
    width = max(len(refs) for refs in references)
    streams = [[refs[k] if k < len(refs) else None for refs in references] for k in range(width)]
    return hypotheses, references, streams


@FAST
@given(corpora())
def test_bleu_and_chrf_match_sacrebleu_on_random_sentences(corpus):
    hypotheses, references, streams = corpus
    references = [refs[0] for refs in references]  # plain strings: one reference each
    assert ours_bleu_dict(hypotheses, references) == sacre_bleu_dict(hypotheses, streams)
    assert corpus_chrf(hypotheses, references) == SacreCHRF().corpus_score(hypotheses, streams).score


@FAST
@given(corpora(max_refs=3), st.booleans())
def test_multiple_references_and_options_match_sacrebleu(corpus, lowercase):
    hypotheses, references, streams = corpus
    for tokenize in ("13a", "none"):
        assert (ours_bleu_dict(hypotheses, references, lowercase=lowercase, tokenize=tokenize)
                == sacre_bleu_dict(hypotheses, streams, lowercase=lowercase, tokenize=tokenize))
    for word_order in (0, 2):
        assert (corpus_chrf(hypotheses, references, lowercase=lowercase, word_order=word_order)
                == SacreCHRF(lowercase=lowercase, word_order=word_order).corpus_score(hypotheses, streams).score)


# --------------------------------------------------------------------------- edge cases

def test_empty_hypotheses_score_zero_as_in_sacrebleu():
    references = ["a dog runs in the park .", "the cat sleeps"]
    result = BLEU()
    result.update(["", ""], references)
    result = result.compute()
    assert result["bleu"] == 0.0 == SacreBLEU().corpus_score(["", ""], [references]).score
    assert result["brevity_penalty"] == 0.0 and result["hyp_len"] == 0 and result["ref_len"] == 10
    assert corpus_chrf(["", ""], references) == 0.0 == SacreCHRF().corpus_score(["", ""], [references]).score
    # one empty hypothesis among good ones only shortens the corpus
    mixed = ["a dog runs in the park .", ""]
    assert ours_bleu_dict(mixed, references) == sacre_bleu_dict(mixed, [references])
    # empty reference, short hypotheses (orders with no n-grams give BLEU 0)
    assert ours_bleu_dict(["a b", "c"], ["", "c"]) == sacre_bleu_dict(["a b", "c"], [["", "c"]])
    assert corpus_chrf(["a b", "c"], ["", "c"]) == SacreCHRF().corpus_score(["a b", "c"], [["", "c"]]).score


def test_perfect_match_is_100():
    assert corpus_bleu(["the cat sat on the mat ."], ["the cat sat on the mat ."]) == pytest.approx(100.0)
    assert corpus_chrf(["the cat sat on the mat ."], ["the cat sat on the mat ."]) == pytest.approx(100.0)


@pytest.mark.parametrize("metric", [BLEU, CHRF])
def test_misaligned_and_empty_input_raise_clear_errors(metric):
    m = metric()
    with pytest.raises(MetricError, match="3 hypotheses for 2 references"):
        m.update(["a", "b", "c"], ["a", "b"])
    with pytest.raises(MetricError, match="empty corpus"):
        m.compute()
    m.update([], [])  # an empty batch is fine; the corpus is still empty
    with pytest.raises(MetricError, match="empty corpus"):
        m.compute()
    with pytest.raises(MetricError, match="example 0"):
        m.update([["a", "tokenised", "list"]], ["a"])
    with pytest.raises(MetricError, match="example 0"):
        m.update(["a"], [[]])  # no reference at all
    with pytest.raises(MetricError, match="one string"):
        m.update("a string", ["a"])


def test_reset_forgets_statistics():
    m = BLEU()
    m.update(["a b c d"], ["a b c d"])
    m.reset()
    m.update(["x y z w"], ["a b c d"])
    assert m.compute()["bleu"] == 0.0 and m.compute()["totals"] == [4, 3, 2, 1]
    with pytest.raises(MetricError, match="tokenizer"):
        BLEU(tokenize="spm")
