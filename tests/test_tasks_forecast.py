"""The forecast task: windows, the deck's LSTM on (50, 2) windows, the baselines' exact errors on series whose answer
is known, ARIMA's rolling forecasts, a tiny run on sunspots end to end and the predictor's refusals."""

import json
import math

import numpy as np
import pytest
import torch

from seqlab.config import from_dict
from seqlab.errors import ConfigError, SeqlabError
from seqlab.models.config import SeriesLSTMConfig
from seqlab.models.timeseries import SeriesLSTM
from seqlab.tasks.config import ArimaConfig, ForecastRunConfig
from seqlab.tasks.forecast import (
    Forecaster,
    Scaler,
    check_history,
    forecast_scores,
    naive_forecasts,
    seasonal_naive_forecasts,
    truth_at,
    windows,
)

# ---- windows and the deck's model --------------------------------------------------------------------------------


def test_windows_cut_inputs_and_the_next_values_of_the_first_feature():
    values = np.stack([np.arange(10.0), 100 + np.arange(10.0)], axis=1)  # (10, 2)
    x, y = windows(values, window=4, horizon=3)
    assert x.shape == (4, 4, 2) and y.shape == (4, 3)  # M = 10 - 4 - 3 + 1
    np.testing.assert_array_equal(x[0], values[0:4])
    np.testing.assert_array_equal(x[3], values[3:7])
    np.testing.assert_array_equal(y[0], [4, 5, 6])  # feature 0 only: the series itself
    np.testing.assert_array_equal(y[3], [7, 8, 9])
    x, y = windows(values, window=9, horizon=1)
    assert x.shape == (1, 9, 2) and y.tolist() == [[9.0]]
    with pytest.raises(SeqlabError, match="no window"):
        windows(values, window=9, horizon=2)


def test_the_decks_lstm32_on_50_by_2_windows_then_dense2():
    model = SeriesLSTM(SeriesLSTMConfig(features=2, outputs=2, hidden=32))
    assert model(torch.randn(7, 50, 2)).shape == (7, 2)
    # 4 gates x (input and recurrent weights + PyTorch's two bias vectors), then Dense(2)
    expected = 4 * (32 * (2 + 32) + 2 * 32) + 32 * 2 + 2
    assert expected == 4674
    assert sum(p.numel() for p in model.parameters()) == expected


# ---- the baselines' errors where they are known exactly --------------------------------------------------------


def test_naive_and_seasonal_naive_on_a_linear_trend():
    slope, horizon, season = 0.5, 6, 4
    values = 3.0 + slope * np.arange(100)
    origins = np.arange(60, 95)  # each with a full horizon ahead
    truth = truth_at(values, origins, horizon)
    naive = forecast_scores(naive_forecasts(values, origins, horizon), truth)
    assert naive["mae_h1"] == pytest.approx(slope)  # the last value is one step behind
    assert naive["rmse_h1"] == pytest.approx(slope)
    assert naive["mae_all_h"] == pytest.approx(slope * (horizon + 1) / 2)  # h steps behind, h = 1..6
    assert naive["rmse_all_h"] == pytest.approx(slope * math.sqrt(np.mean(np.arange(1, horizon + 1) ** 2)))
    assert naive["mae_by_h"] == pytest.approx(slope * np.arange(1, horizon + 1))
    seasonal = forecast_scores(seasonal_naive_forecasts(values, origins, horizon, season), truth)
    # one season back for h <= 4, two seasons back (the last one observed) for h = 5, 6
    assert seasonal["mae_by_h"] == pytest.approx(slope * np.array([4, 4, 4, 4, 8, 8]))
    assert seasonal["mae_h1"] == pytest.approx(slope * season)


def test_seasonal_naive_is_exact_on_a_periodic_series_and_naive_is_not():
    season, horizon = 12, 12
    values = 10 + np.sin(2 * np.pi * np.arange(240) / season)
    origins = np.arange(200, 229)
    truth = truth_at(values, origins, horizon)
    seasonal = forecast_scores(seasonal_naive_forecasts(values, origins, horizon, season), truth)
    assert seasonal["mae_all_h"] == pytest.approx(0, abs=1e-12) and seasonal["rmse_all_h"] == pytest.approx(0,
                                                                                                         abs=1e-12)
    naive = forecast_scores(naive_forecasts(values, origins, horizon), truth)
    # over whole periods of origins, the mean |sin(a + 2 pi h / 12) - sin(a)| at h = 6 is the mean of 2 |sin|: 4 / pi
    assert naive["mae_by_h"][5] == pytest.approx(4 / np.pi, rel=0.05)
    assert naive["mae_by_h"][11] == pytest.approx(0, abs=1e-12)  # a whole season ahead: the same value


def test_scores_match_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    truth, forecasts = rng.normal(size=(20, 5)), rng.normal(size=(20, 5))
    s = forecast_scores(forecasts, truth)
    assert s["mae_h1"] == pytest.approx(metrics.mean_absolute_error(truth[:, 0], forecasts[:, 0]))
    assert s["rmse_h1"] == pytest.approx(math.sqrt(metrics.mean_squared_error(truth[:, 0], forecasts[:, 0])))
    assert s["mae_all_h"] == pytest.approx(metrics.mean_absolute_error(truth.ravel(), forecasts.ravel()))
    assert s["rmse_all_h"] == pytest.approx(math.sqrt(metrics.mean_squared_error(truth.ravel(), forecasts.ravel())))


def test_arima_extended_origin_by_origin_equals_applying_it_to_each_history():
    pytest.importorskip("statsmodels")
    from statsmodels.tsa.arima.model import ARIMA

    from seqlab.tasks.forecast import arima_forecasts

    rng = np.random.default_rng(0)
    values = np.zeros(90)
    for t in range(1, 90):
        values[t] = 0.7 * values[t - 1] + rng.normal()
    origins, cfg = np.arange(70, 80), ArimaConfig(order=(1, 0, 0), seasonal_order=(0, 0, 0, 0), maxiter=50)
    forecasts, info = arima_forecasts(values, origins, 3, cfg)
    assert forecasts.shape == (10, 3) and info["arima_converged"]
    fitted = ARIMA(values[:70], order=(1, 0, 0)).fit(method_kwargs={"maxiter": 50})
    for row, origin in zip(forecasts, origins, strict=True):  # the parameters fitted on values[:70], never refitted
        np.testing.assert_allclose(row, fitted.apply(values[:origin]).forecast(3), rtol=1e-8)


def test_a_fit_cut_short_by_maxiter_is_summarised_not_printed(recwarn):
    pytest.importorskip("statsmodels")
    from seqlab.tasks.forecast import arima_forecasts

    values = np.cumsum(np.random.default_rng(1).normal(size=120))
    _, info = arima_forecasts(values, np.arange(100, 110), 2, ArimaConfig(order=(2, 1, 2), seasonal_order=(0, 0, 0, 0),
                                                                         maxiter=1))
    assert not info["arima_converged"]
    assert any("ConvergenceWarning" in w for w in info["arima_warnings"])
    assert not [w for w in recwarn if "converge" in str(w.message).lower()]


# ---- config --------------------------------------------------------------------------------------------------------


def test_config_fills_the_models_features_and_outputs_from_the_data():
    cfg = from_dict(ForecastRunConfig, {"data": {"dataset": "co2", "calendar": True, "horizon": 6}})
    assert (cfg.model.features, cfg.model.outputs, cfg.model.hidden) == (3, 6, 32)
    assert from_dict(ForecastRunConfig, {"data": {"dataset": "sunspots", "horizon": 10, "test_size": 40,
                                                  "dev_size": 40}}).model.features == 1
    with pytest.raises(ConfigError, match="only co2 has them"):
        from_dict(ForecastRunConfig, {"data": {"dataset": "sunspots", "calendar": True}})
    with pytest.raises(ConfigError, match=r"model\.outputs=5"):
        from_dict(ForecastRunConfig, {"model": {"outputs": 5}})
    with pytest.raises(ConfigError, match="the forecast task evaluates loss"):
        from_dict(ForecastRunConfig, {"train": {"early_stopping": {"metric": "accuracy"}}})


# ---- the predictor's input checks (no training needed) ---------------------------------------------------------


def _forecaster(**data) -> Forecaster:
    cfg = from_dict(ForecastRunConfig, {"data": {"window": 8, "horizon": 4, **data}})
    return Forecaster(SeriesLSTM(cfg.model), Scaler(mean=300.0, std=10.0), cfg)


def test_history_with_nan_or_too_short_is_a_one_line_error():
    with pytest.raises(SeqlabError, match=r"history\[3\] is nan") as err:
        check_history([1.0, 2.0, 3.0, float("nan"), 5.0], window=2)
    assert "\n" not in str(err.value)
    with pytest.raises(SeqlabError, match=r"history\[1\] is inf"):
        check_history([1.0, float("inf")], window=1)
    with pytest.raises(SeqlabError, match="holds 3 values; the model reads the last 8") as err:
        _forecaster().forecast([1.0, 2.0, 3.0])
    assert "\n" not in str(err.value)
    with pytest.raises(SeqlabError, match="list of numbers"):
        check_history(["a", "b"], window=1)


def test_forecast_lengths_and_feeding_back_beyond_the_horizon():
    f, history = _forecaster(), list(300 + np.sin(np.arange(20)))
    assert len(f.forecast(history)) == 4  # the horizon
    long = f.forecast(history, 10)
    assert len(long) == 10 and all(math.isfinite(v) for v in long)
    assert long[:4] == pytest.approx(f.forecast(history))  # the first block is the direct forecast
    assert long[4:8] == pytest.approx(f.forecast(history + long[:4]))  # the next reads it back as history
    with pytest.raises(SeqlabError, match="steps must be"):
        f.forecast(history, 0)
    with pytest.raises(SeqlabError, match="reads no calendar"):
        f.forecast(history, month=3)


def test_a_calendar_model_needs_the_month_and_reads_the_windows_months():
    f, history = _forecaster(calendar=True), list(300 + np.arange(20.0))
    with pytest.raises(SeqlabError, match=r"give month= \(1-12\)"):
        f.forecast(history)
    months = (np.arange(3 - 1 - 8, 3 - 1) % 12) + 1  # the 8 months before March: July .. February
    assert months[-1] == 2 and months[0] == 7
    direct = f.predict(np.array(history[-8:])[None], months[None])[0]
    assert f.forecast(history, month=3) == pytest.approx(direct.tolist())
    assert f.forecast(history, month=4) != pytest.approx(direct.tolist())  # the month matters


# ---- a tiny run on sunspots, end to end ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sunspots_run(tmp_path_factory):
    pytest.importorskip("statsmodels")
    from seqlab.cli import main

    out = tmp_path_factory.mktemp("runs") / "sunspots"
    assert main(["train", "configs/forecast_sunspots_lstm.yaml", "--out", str(out), "--epochs=2",
                 "--model.hidden=8", "--quiet"]) == 0
    return out


def test_tiny_sunspots_run_writes_the_four_methods_and_the_plots(sunspots_run):
    metrics = json.loads((sunspots_run / "metrics.json").read_text())
    assert [row["method"] for row in metrics["table"]] == ["LSTM", "naive (last value)", "seasonal naive", "ARIMA"]
    for method in ("lstm", "naive", "seasonal_naive", "arima"):
        for key in ("mae_h1", "rmse_h1", "mae_all_h", "rmse_all_h"):
            assert metrics[f"{method}_{key}"] > 0
        assert metrics[f"{method}_rmse_all_h"] >= metrics[f"{method}_mae_all_h"]
    assert metrics["origins"] == 40 - 10 + 1 and metrics["from"] == "1969" and metrics["to"] == "2008"
    assert metrics["train_seconds"] > 0 and metrics["steps"] == 2 * math.ceil(metrics["n_train_windows"] / 32)
    assert metrics["arima_order"] == [9, 0, 0]
    for name in ("forecast.png", "learning_curve.png", "model.safetensors", "scaler.json", "vocab.json"):
        assert (sunspots_run / name).is_file(), name
    scaler = json.loads((sunspots_run / "scaler.json").read_text())
    from statsmodels.datasets import sunspots

    train_part = sunspots.load_pandas().data["SUNACTIVITY"].to_numpy()[: 309 - 80]
    assert scaler == pytest.approx({"mean": train_part.mean(), "std": train_part.std()})


def test_the_loaded_predictor_forecasts_in_the_series_units(sunspots_run):
    import seqlab
    from seqlab.tasks.forecast import load_series

    forecaster = seqlab.load(sunspots_run)
    values = load_series("sunspots").values
    out = forecaster.forecast(values[:269].tolist())
    assert len(out) == 10 and len(forecaster.forecast(values[:269], steps=15)) == 15
    batch = forecaster.forecasts_at(values, np.array([269]), None)[0]  # what the evaluation scores
    assert out == pytest.approx(batch.tolist())
    with pytest.raises(SeqlabError, match=r"history\[5\] is nan"):
        forecaster.forecast([*values[:5], float("nan"), *values[6:269]])
    with pytest.raises(SeqlabError, match="the model reads the last 30"):
        forecaster.forecast(values[:29])


def test_eval_on_the_dev_part_and_refuses_other_splits(sunspots_run, tmp_path):
    from seqlab.tasks.forecast import evaluate

    metrics, parts = evaluate(sunspots_run, split="dev", out_dir=tmp_path)
    assert metrics["from"] == "1929" and metrics["to"] == "1968" and (tmp_path / "forecast.png").is_file()
    assert parts.plots == {"The forecasts against the truth": "forecast.png"} and len(parts.table) == 4
    with pytest.raises(SeqlabError, match="held-out tail"):
        evaluate(sunspots_run, split="validation")


def test_cli_predict_forecasts_a_history_per_line(sunspots_run, capsys):
    import seqlab
    from seqlab.cli import main
    from seqlab.tasks.forecast import load_series

    history = load_series("sunspots").values[:269].tolist()
    capsys.readouterr()
    assert main(["predict", str(sunspots_run), " ".join(map(str, history))]) == 0
    printed = [float(v) for v in capsys.readouterr().out.split()]
    assert printed == pytest.approx(seqlab.load(sunspots_run).forecast(history), rel=1e-5)
    assert main(["predict", str(sunspots_run), "1 2 x"]) == 2
