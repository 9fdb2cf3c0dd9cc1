"""Forecasting long series with the lecture's "LSTM: how to actually run it": windows of shape (batch, timesteps,
features) cut from one long series, LSTM(32), then Dense(horizon), scored against the forecasts a model must beat.

    seqlab train configs/forecast_co2_lstm.yaml --out runs/forecast_co2
    seqlab eval runs/forecast_co2      # MAE / RMSE of the LSTM, naive, seasonal naive and ARIMA on the held-out tail
    seqlab.load("runs/forecast_co2").forecast(last_60_months, month=1)   # the next 12 values (January on)

The series ship inside statsmodels (nothing to download; ``--data-dir`` is not read): co2, the weekly Mauna Loa
record as monthly means (1958-2001, 526 months, season 12), and sunspots, the yearly means (1700-2008, 309 years;
the cycle is about 11 years). The last ``data.test_size`` steps are the held-out tail, the ``data.dev_size`` before
them decide early stopping, and the rest trains; the scaler's mean and std come from the training part.

Windows: input ``x[t - window : t]`` (each step's value, and with ``data.calendar`` the sin and cos of its month:
the deck's (50, 2)-style inputs with more than one feature), target the next ``horizon`` values, all forecast at
once (the next value is step 1). ``data.target: change`` predicts their change from the window's last value
instead, the common remedy for a trending series whose test values lie above everything seen in training.

Scoring is rolling-origin over the tail: at every origin with a full horizon ahead, each method sees the true
history up to the origin and forecasts h = 1..horizon. MAE and RMSE, in the series' units, for the next value and
over all of 1..horizon (RMSE: the root of the mean square over every origin and step), for the LSTM, the naive
forecast (the last value), the seasonal naive one (the value one season before the target) and an ARIMA (fitted once
on everything before the tail, then extended with each new observation without refitting).

The same windowing for text: the deck's 12-character Hamlet windows are what the character-level LM recipes cut
(configs/shakespeare_char_lstm.yaml and shakespeare_char_gpt.yaml, by ``seqlab.data.collate.lm_windows``), with the
next character as the target at every position instead of the next values after the window.
"""

from __future__ import annotations

import math
import time
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch

from seqlab.errors import SeqlabError
from seqlab.io import write_json
from seqlab.models.timeseries import SeriesLSTM
from seqlab.report import ReportParts
from seqlab.tasks.common import begin_run, bucketed_loader, fit_run, read_run_json, write_metrics
from seqlab.tasks.config import ArimaConfig, ForecastData
from seqlab.tasks.config import ForecastRunConfig as RunConfig
from seqlab.tasks.rundir import weights_file
from seqlab.training import load_weights

# model_type -> the class built from cfg.model: the registry a new forecaster plugs into
MODELS = {"lstm": SeriesLSTM}
METHODS = {"lstm": "LSTM", "naive": "naive (last value)", "seasonal_naive": "seasonal naive", "arima": "ARIMA"}
SCALER_FILE = "scaler.json"


# ---- data --------------------------------------------------------------------------------------------------------


@dataclass
class LongSeries:
    """One long series: values (N,), the time of each step in years (N,), each step's month (1-12; None for a
    yearly series), its unit and season."""

    name: str
    values: np.ndarray
    time: np.ndarray
    months: np.ndarray | None
    unit: str
    season: int

    def when(self, i: int) -> str:
        """Step i as a date: 1997-01 for a monthly series, 1969 for a yearly one."""
        year = math.floor(self.time[i] + 1e-9)
        return f"{year}-{int(self.months[i]):02d}" if self.months is not None else str(year)


def load_series(name: str) -> LongSeries:
    """co2 (weekly, with gaps) as monthly means, the five months without a reading interpolated; or sunspots."""
    from statsmodels.datasets import co2, sunspots

    if name == "co2":
        monthly = co2.load_pandas().data["co2"].resample("MS").mean().interpolate()
        index = monthly.index
        return LongSeries("co2 (Mauna Loa, monthly)", monthly.to_numpy(dtype=float),
                          np.asarray(index.year + (index.month - 1) / 12, dtype=float),
                          np.asarray(index.month, dtype=int), "ppm", 12)
    if name == "sunspots":
        data = sunspots.load_pandas().data
        return LongSeries("sunspots (yearly)", data["SUNACTIVITY"].to_numpy(dtype=float),
                          data["YEAR"].to_numpy(dtype=float), None, "sunspot number", 11)
    raise SeqlabError(f"no series named {name!r} (co2, sunspots)")


def windows(values: np.ndarray, window: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """values (N, F) -> inputs X (M, window, F) and targets Y (M, horizon), M = N - window - horizon + 1:
    X[i] = values[i : i + window], Y[i] = the next ``horizon`` values of feature 0 (the series itself)."""
    values = np.asarray(values)
    m = len(values) - window - horizon + 1
    if m < 1:
        raise SeqlabError(f"{len(values)} steps hold no window of {window} steps and {horizon} to forecast")
    steps = np.arange(m)[:, None]  # (M, 1)
    x = values[steps + np.arange(window)]  # (M, window, F)
    y = values[steps + window + np.arange(horizon), 0]  # (M, horizon)
    return x, y


def step_features(scaled: np.ndarray, months: np.ndarray | None) -> np.ndarray:
    """Each step's inputs (..., F): the scaled value, and with ``months`` the sin and cos of the month's angle."""
    if months is None:
        return scaled[..., None]
    angle = 2 * np.pi * (np.asarray(months) - 1) / 12
    return np.stack([scaled, np.sin(angle), np.cos(angle)], axis=-1)


def input_names(data: ForecastData) -> list[str]:
    return ["value", "month_sin", "month_cos"] if data.calendar else ["value"]


@dataclass
class Scaler:
    """Standardisation with the training part's mean and std (saved as JSON in the run directory)."""

    mean: float
    std: float

    @classmethod
    def fit(cls, values: np.ndarray) -> Scaler:
        return cls(mean=float(np.mean(values)), std=float(np.std(values)) or 1.0)

    def scale(self, values: np.ndarray) -> np.ndarray:
        return (values - self.mean) / self.std

    def unscale(self, scaled: np.ndarray) -> np.ndarray:
        return scaled * self.std + self.mean

    @classmethod
    def from_dict(cls, data: dict, where: str) -> Scaler:
        try:
            mean, std = float(data["mean"]), float(data["std"])
        except (KeyError, TypeError, ValueError) as err:
            raise SeqlabError(f"{where}: needs numbers 'mean' and 'std' ({type(err).__name__}: {err})") from err
        if not (math.isfinite(mean) and math.isfinite(std) and std > 0):
            raise SeqlabError(f"{where}: mean must be finite and std positive, got {mean} and {std}")
        return cls(mean=mean, std=std)


@dataclass
class Split:
    """Where the parts start: training [0, dev_start), dev [dev_start, test_start), the tail [test_start, N)."""

    dev_start: int
    test_start: int
    n: int


def split_series(series: LongSeries, data: ForecastData) -> Split:
    n = len(series.values)
    split = Split(dev_start=n - data.test_size - data.dev_size, test_start=n - data.test_size, n=n)
    if split.dev_start < data.window + data.horizon:
        raise SeqlabError(f"{series.name}: {n} steps leave {max(split.dev_start, 0)} to train on after "
                          f"test_size={data.test_size} and dev_size={data.dev_size}, fewer than one window of "
                          f"{data.window} and a horizon of {data.horizon}")
    return split


def examples(features: np.ndarray, data: ForecastData) -> tuple[torch.Tensor, torch.Tensor]:
    """Windows of step features (N, F) -> inputs (M, window, F) and the model's targets (M, horizon): the scaled
    values, or (``data.target: change``) their change from the window's last value."""
    x, y = windows(features, data.window, data.horizon)
    if data.target == "change":
        y = y - x[:, -1, :1]
    return torch.from_numpy(x).float(), torch.from_numpy(y).float()


def collate(rows: list[int], x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """Batch: x (B, window, F), target (B, horizon)."""
    return {"x": x[rows], "target": y[rows]}


# ---- the forecasts a model must beat, and the scores -------------------------------------------------------------


def naive_forecasts(values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """(O, horizon): the last value before each origin, for every step ahead."""
    return np.repeat(values[origins - 1][:, None], horizon, axis=1)


def seasonal_naive_forecasts(values: np.ndarray, origins: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """(O, horizon): the value one season before each target (whole seasons more when the target lies more than a
    season ahead, so only values before the origin are read)."""
    h = np.arange(1, horizon + 1)
    back = season * np.ceil(h / season).astype(int)  # (horizon,)
    if (origins - season < 0).any():
        raise SeqlabError(f"the seasonal naive forecast needs a season ({season} steps) of history")
    return values[origins[:, None] + h[None, :] - 1 - back[None, :]]


def arima_forecasts(values: np.ndarray, origins: np.ndarray, horizon: int, cfg: ArimaConfig
                    ) -> tuple[np.ndarray, dict]:
    """(O, horizon) ARIMA forecasts: fitted once on ``values[:origins[0]]`` (at most ``cfg.maxiter`` iterations),
    then, origin by origin, extended with the observations since the last one, the parameters kept. Its warnings
    (ConvergenceWarning ...) are counted, not printed; returns the forecasts and what the fit reported."""
    from statsmodels.tsa.arima.model import ARIMA

    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitted = ARIMA(values[: origins[0]], order=tuple(cfg.order),
                       seasonal_order=tuple(cfg.seasonal_order)).fit(method_kwargs={"maxiter": cfg.maxiter})
        state, seen, out = fitted, int(origins[0]), []
        for origin in origins:
            if origin > seen:  # the same filter as fitted.apply(values[:origin]), without refiltering all of it
                state, seen = state.extend(values[seen:origin]), int(origin)
            out.append(np.asarray(state.forecast(horizon)))
    said = Counter(f"{w.category.__name__}: {str(w.message).splitlines()[0]}" for w in caught)
    info = {"arima_order": list(cfg.order), "arima_seasonal_order": list(cfg.seasonal_order),
            "arima_converged": bool(fitted.mle_retvals.get("converged", True)) if fitted.mle_retvals else True,
            "arima_seconds": round(time.perf_counter() - started, 2),
            "arima_warnings": [f"{n} x {text}" for text, n in said.items()]}
    return np.stack(out), info


def truth_at(values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """(O, horizon): the true values ahead of each origin (NaN past the series' end)."""
    padded = np.concatenate([values, np.full(horizon, np.nan)])
    return padded[origins[:, None] + np.arange(horizon)[None, :]]


def forecast_scores(forecasts: np.ndarray, truth: np.ndarray) -> dict:
    """MAE and RMSE of (O, H) forecasts: for the next value (h = 1) and over all of h = 1..H, and the MAE at each
    h."""
    err = forecasts - truth
    return {"mae_h1": float(np.abs(err[:, 0]).mean()), "rmse_h1": float(np.sqrt((err[:, 0] ** 2).mean())),
            "mae_all_h": float(np.abs(err).mean()), "rmse_all_h": float(np.sqrt((err**2).mean())),
            "mae_by_h": np.abs(err).mean(0).round(4).tolist()}


# ---- training ----------------------------------------------------------------------------------------------------


def train(cfg: RunConfig, out_dir: str | Path, *, progress: bool = True, data_dir: str | Path | None = None,
          resume: bool = False) -> dict:
    started, cfg, out_dir = begin_run(cfg, out_dir)
    data = cfg.data
    series = load_series(data.dataset)
    split = split_series(series, data)
    scaler = Scaler.fit(series.values[: split.dev_start])
    features = step_features(scaler.scale(series.values), series.months if data.calendar else None)  # (N, F)
    x_train, y_train = examples(features[: split.dev_start], data)
    x_dev, y_dev = examples(features[split.dev_start - data.window : split.test_start], data)
    per_epoch = math.ceil(len(x_train) / cfg.train.batch_size)
    cfg.train.steps, cfg.train.eval_every = cfg.epochs * per_epoch, per_epoch
    model = MODELS[cfg.model_type](cfg.model)
    loader = bucketed_loader(list(range(len(x_train))), partial(collate, x=x_train, y=y_train),
                             [data.window] * len(x_train), cfg.train.batch_size, cfg.train.seed)
    if progress:
        print(f"{series.name}: {len(x_train)} training windows of ({data.window}, {data.features}) -> "
              f"{data.horizon} {'changes' if data.target == 'change' else 'values'}, {len(x_dev)} dev windows, "
              f"the last {data.test_size} steps held out; {per_epoch} steps per epoch")
    facts = fit_run(cfg, model, loader, out_dir, started, evaluate_dev=lambda m: {"loss": mse(m, x_dev, y_dev)},
                    save_vocab=lambda d: save_scaler(d, scaler, data), progress=progress, resume=resume)
    if facts is None:
        return {}
    final = {"final_dev_loss": mse(model, x_dev, y_dev), "final_train_loss": mse(model, x_train, y_train)}
    metrics, _ = evaluate(out_dir, data_dir=data_dir)
    return write_metrics(out_dir, metrics, facts, started, **final, n_train_windows=len(x_train),
                         n_dev_windows=len(x_dev))


@torch.no_grad()
def mse(model: SeriesLSTM, x: torch.Tensor, y: torch.Tensor, batch_size: int = 512) -> float:
    """Mean squared error on windows, in the model's (scaled) target units."""
    model.eval()
    device = next(model.parameters()).device
    total = sum(float(torch.nn.functional.mse_loss(model(x[i : i + batch_size].to(device)).float(),
                                                   y[i : i + batch_size].to(device), reduction="sum"))
                for i in range(0, len(x), batch_size))
    return total / y.numel()


def save_scaler(out_dir: Path, scaler: Scaler, data: ForecastData) -> None:
    """scaler.json, and vocab.json (every run directory has one) naming what a step holds and the scaler's file."""
    write_json(out_dir / SCALER_FILE, {"mean": scaler.mean, "std": scaler.std})
    write_json(out_dir / "vocab.json", {"type": "series", "inputs": input_names(data), "scaler": SCALER_FILE})


# ---- the predictor -----------------------------------------------------------------------------------------------


def check_history(history: Sequence[float], window: int) -> np.ndarray:
    """A history as a float array; a NaN or infinite value (named by its position), a history that is not a flat
    list of numbers, or one shorter than the window is a one-line SeqlabError."""
    try:
        values = np.asarray(history, dtype=float)
    except (TypeError, ValueError) as err:
        raise SeqlabError(f"the history must be a list of numbers ({err})") from err
    if values.ndim != 1:
        raise SeqlabError(f"the history must be a flat list of numbers, got an array of shape {values.shape}")
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise SeqlabError(f"history[{bad[0]}] is {values[bad[0]]}: fill in or drop missing values before "
                          "forecasting")
    if len(values) < window:
        raise SeqlabError(f"the history holds {len(values)} values; the model reads the last {window}: give at "
                          f"least {window}")
    return values


class Forecaster:
    """A trained forecaster: ``forecast(history, steps)`` -> the next ``steps`` values (default: the horizon) from
    the last ``window`` values of ``history``, in the series' units. Beyond the horizon, forecasts are fed back as
    history, ``horizon`` steps at a time. A model with calendar inputs needs the month of the first forecast."""

    def __init__(self, model: SeriesLSTM, scaler: Scaler, config: RunConfig):
        self.model, self.scaler, self.config = model.eval(), scaler, config
        self.window, self.horizon = config.data.window, config.data.horizon

    def forecast(self, history: Sequence[float], steps: int | None = None, *, month: int | None = None
                 ) -> list[float]:
        values = check_history(history, self.window)
        steps = self.horizon if steps is None else steps
        if not isinstance(steps, int) or steps < 1:
            raise SeqlabError(f"steps must be a whole number of at least 1, got {steps!r}")
        calendar = self.config.data.calendar
        if calendar and (not isinstance(month, int) or not 1 <= month <= 12):
            raise SeqlabError(f"this model reads the month of each step: give month= (1-12), the month of the "
                              f"first forecast value, got {month!r}")
        if not calendar and month is not None:
            raise SeqlabError("this model reads no calendar: drop month=")
        out: list[float] = []
        while len(out) < steps:
            months = None
            if calendar:  # the months of the window's steps, the last one just before the next forecast
                months = (month - 1 + len(out) + np.arange(-self.window, 0)) % 12 + 1
            block = self.predict(values[None, -self.window :], None if months is None else months[None])[0]
            out += block.tolist()
            values = np.concatenate([values, block])
        return out[:steps]

    @torch.no_grad()
    def predict(self, history: np.ndarray, months: np.ndarray | None = None) -> np.ndarray:
        """Windows of true values (B, window) (and their months (B, window)) -> the next horizon values (B, H)."""
        x = step_features(self.scaler.scale(history), months)  # (B, window, F)
        device = next(self.model.parameters()).device
        y = self.model(torch.from_numpy(x).float().to(device)).double().cpu().numpy()  # (B, H)
        if self.config.data.target == "change":
            return history[:, -1:] + y * self.scaler.std
        return self.scaler.unscale(y)

    def forecasts_at(self, values: np.ndarray, origins: np.ndarray, months: np.ndarray | None) -> np.ndarray:
        """(O, H): the forecast from the true history before each origin."""
        steps = origins[:, None] + np.arange(-self.window, 0)[None, :]  # (O, window)
        return self.predict(values[steps], None if months is None or not self.config.data.calendar
                            else months[steps])


def load_predictor(run_dir: Path, cfg: RunConfig, *, device: str = "cpu") -> Forecaster:
    inputs = read_run_json(run_dir, "vocab.json")
    if inputs.get("inputs") != input_names(cfg.data) or not isinstance(inputs.get("scaler"), str):
        raise SeqlabError(f"{run_dir}/vocab.json: expected the inputs {input_names(cfg.data)} and a scaler file, "
                          f"got {inputs}")
    scaler = Scaler.from_dict(read_run_json(run_dir, inputs["scaler"]), f"{run_dir}/{inputs['scaler']}")
    model = MODELS[cfg.model_type](cfg.model)
    load_weights(model, weights_file(run_dir))
    return Forecaster(model.to(device), scaler, cfg)


# ---- evaluation --------------------------------------------------------------------------------------------------


def compare(forecaster: Forecaster, series: LongSeries, start: int, end: int) -> tuple[dict, np.ndarray, dict, dict]:
    """Every method's forecasts from each origin in [start, end) (O, H), the truth (O, H; NaN past the end of the
    series), the LSTM's and ARIMA's forecasts of all of [start, end) from its start, and the ARIMA fit's report."""
    cfg, values = forecaster.config, series.values
    origins, horizon, steps = np.arange(start, end), cfg.data.horizon, end - start
    arima, info = arima_forecasts(values[:end], origins, max(horizon, steps), cfg.arima)  # (O, steps)
    forecasts = {"lstm": forecaster.forecasts_at(values, origins, series.months),
                 "naive": naive_forecasts(values, origins, horizon),
                 "seasonal_naive": seasonal_naive_forecasts(values, origins, horizon, series.season),
                 "arima": arima[:, :horizon]}
    month = int(series.months[start]) if cfg.data.calendar else None
    paths = {"lstm": np.array(forecaster.forecast(values[:start], steps, month=month)), "arima": arima[0, :steps]}
    return forecasts, truth_at(values[:end], origins, horizon), paths, info


def evaluate(run_dir: str | Path, *, split: str = "test", data_dir: str | Path | None = None, beam_size: int = 1,
             out_dir: str | Path | None = None) -> tuple[dict, ReportParts]:
    """MAE and RMSE of the LSTM, naive, seasonal naive and ARIMA forecasts on the held-out tail (``split``: test) or
    the dev part, rolling origin; forecast.png shows them against the truth."""
    from seqlab.tasks import load_run

    if split not in ("test", "dev"):
        raise SeqlabError(f"a forecast run is scored on its held-out tail (test) or its dev part, not {split!r}")
    run_dir = Path(run_dir)
    out_dir = Path(out_dir) if out_dir is not None else run_dir
    forecaster: Forecaster = load_run(run_dir)
    cfg = forecaster.config
    series = load_series(cfg.data.dataset)
    parts_at = split_series(series, cfg.data)
    start, end = (parts_at.test_start, parts_at.n) if split == "test" else (parts_at.dev_start, parts_at.test_start)
    horizon = cfg.data.horizon
    forecasts, truth, paths, info = compare(forecaster, series, start, end)
    scored = slice(0, end - start - horizon + 1)  # the origins with a full horizon ahead
    scores = {m: forecast_scores(f[scored], truth[scored]) for m, f in forecasts.items()}
    metrics = {"split": split, "dataset": cfg.data.dataset, "unit": series.unit, "horizon": horizon,
               "window": cfg.data.window, "origins": scored.stop, "from": series.when(start),
               "to": series.when(end - 1)}
    for method, s in scores.items():
        metrics |= {f"{method}_{k}": v for k, v in s.items() if k != "mae_by_h"}
    metrics["mae_by_h"] = {m: s["mae_by_h"] for m, s in scores.items()}
    metrics["table"] = score_table(scores, horizon)
    metrics |= info
    plot_forecast(out_dir / "forecast.png", series, start, end, forecasts, paths, horizon)
    parts = ReportParts(title=f"{series.name} {split} {series.when(start)} to {series.when(end - 1)}: LSTM("
                              f"{cfg.model.hidden}) on ({cfg.data.window}, {cfg.data.features}) windows vs naive, "
                              f"seasonal naive and ARIMA")
    parts.table = metrics["table"]
    parts.table_title = (f"Errors in {series.unit}, rolling origin ({scored.stop} origins): the next value (h=1) and "
                         f"all of h=1..{horizon}")
    parts.plots["The forecasts against the truth"] = "forecast.png"
    if (run_dir / "learning_curve.png").is_file() and out_dir == run_dir:
        parts.plots["Learning curve (training run)"] = "learning_curve.png"
    parts.notes += [f"ARIMA{tuple(cfg.arima.order)}x{tuple(cfg.arima.seasonal_order)} fitted once on the "
                    f"{start} steps before {series.when(start)}, in {info['arima_seconds']} s"
                    f"{'' if info['arima_converged'] else ', stopped by maxiter before converging'}",
                    *info["arima_warnings"],
                    "The same windowing for text: the character-level LM recipes (configs/shakespeare_char_lstm.yaml)"
                    " cut the deck's 12-character Hamlet windows"]
    return metrics, parts


def score_table(scores: dict[str, dict], horizon: int) -> list[dict]:
    return [{"method": METHODS[m], "MAE h=1": round(s["mae_h1"], 4), "RMSE h=1": round(s["rmse_h1"], 4),
             f"MAE h=1..{horizon}": round(s["mae_all_h"], 4), f"RMSE h=1..{horizon}": round(s["rmse_all_h"], 4)}
            for m, s in scores.items()]


def plot_forecast(path: Path, series: LongSeries, start: int, end: int, forecasts: dict, paths: dict,
                  horizon: int) -> None:
    """The series' last part with the truth; the one-step forecasts across [start, end) of the LSTM and ARIMA; and
    their forecasts of all of it from its start (the LSTM's fed back, ``horizon`` steps at a time)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from seqlab.io import atomic_write

    values, t, steps = series.values, series.time, end - start
    shown = slice(max(0, start - steps), end)
    fig, axes = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    for ax, kind in zip(axes, ("one step ahead, from the true history", f"all {steps} steps from {series.when(start)}"),
                        strict=True):
        ax.plot(t[shown], values[shown], color="black", linewidth=1.4, label="truth")
        ax.axvline(t[start], color="grey", linestyle=":", linewidth=1)
        ax.set_ylabel(series.unit)
        ax.set_title(kind, fontsize=10)
        ax.grid(alpha=0.3)
    for method, colour in (("lstm", "tab:blue"), ("arima", "tab:orange")):
        axes[0].plot(t[start:end], forecasts[method][:, 0], ".-", color=colour, markersize=4, linewidth=1,
                     label=METHODS[method])
        fed_back = f" ({horizon} at a time, fed back)" if method == "lstm" and steps > horizon else ""
        axes[1].plot(t[start:end], paths[method], "--", color=colour, linewidth=1.6, label=METHODS[method] + fed_back)
    for ax in axes:
        ax.legend(fontsize=8, loc="upper left")
    axes[1].set_xlabel("year")
    fig.suptitle(f"{series.name}: forecasts of the held-out part ({series.when(start)} to {series.when(end - 1)})")
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=120, bbox_inches="tight", format="png"))
    plt.close(fig)
