import pytest

from seqlab.training.schedules import build_schedule, cosine, inverse_sqrt, linear, noam_rate


@pytest.mark.parametrize("d_model,warmup", [(512, 4000), (128, 100)])
def test_inverse_sqrt_with_the_paper_peak_is_the_paper_schedule(d_model, warmup):
    peak = d_model**-0.5 * warmup**-0.5
    mult = inverse_sqrt(warmup)
    for step in [1, 2, 10, warmup - 1, warmup, warmup + 1, 5 * warmup, 100_000]:
        assert peak * mult(step - 1) == pytest.approx(noam_rate(step, d_model, warmup), rel=1e-12)


def test_noam_peaks_at_warmup():
    rates = [noam_rate(s, 512, 4000) for s in range(1, 20000, 10)]
    assert max(range(len(rates)), key=rates.__getitem__) * 10 + 1 == pytest.approx(4000, abs=10)


def test_linear_and_cosine_endpoints():
    lin, cos = linear(10, 100), cosine(10, 100, min_ratio=0.1)
    assert lin(9) == cos(9) == 1.0  # step 10: end of warmup
    assert lin(0) == cos(0) == 0.1
    assert lin(99) == 0.0
    assert cos(99) == pytest.approx(0.1)


def test_unknown_schedule():
    with pytest.raises(ValueError, match="unknown schedule"):
        build_schedule("exp", 10, 100)
