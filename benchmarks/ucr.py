"""The time-series lab over every staged UCR set: seqlab's models (the Keras FordA Transformer with and without its
attention, the Transformer done right, ResNet, CNN + BiLSTM, LSTM), several seeds each, beside the published anchors
(ROCKET, MiniRocket, InceptionTime, ResNet, 1-NN DTW: benchmarks/ucr_published.csv and .md) and a ROCKET run here
(sktime, benchmarks/ucr_rocket.py), on the default train/test splits.

    python benchmarks/ucr.py                                    # everything (hours of CPU: see --minutes)
    python benchmarks/ucr.py --models keras,keras_noattn --seeds keras=3,keras_noattn=3 --jobs 2
    python benchmarks/ucr.py --datasets GunPoint,ECG200 --minutes keras=1

Each run is ``seqlab train configs/ucr_<model>.yaml --data.name=D --train.seed=S`` into runs/ucr/<model>/<D>/seed<S>,
one thread each, ``--jobs`` at a time, capped at ``--minutes`` per model (the run's metrics say whether the cap or
early stopping ended it); a run that already holds metrics.json is read, not trained again (the script resumes).
It prints the accuracy table, the ablation (attention minus no attention, per set) and writes
benchmarks/results/ucr.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGED = ("ACSF1", "ArrowHead", "Beef", "CBF", "Coffee", "ECG200", "ECGFiveDays", "Earthquakes", "FaceAll", "GunPoint",
          "ItalyPowerDemand", "Lightning2", "MoteStrain", "OSULeaf", "Plane", "SonyAIBORobotSurface1", "Strawberry",
          "SyntheticControl", "Trace", "TwoLeadECG")
RECIPES = {"keras": "ucr_keras.yaml", "keras_noattn": "ucr_keras_noattn.yaml", "keras_full": "ucr_keras_noattn.yaml",
           "transformer": "ucr_transformer.yaml", "resnet": "ucr_resnet.yaml", "cnn_lstm": "ucr_cnn_lstm.yaml",
           "lstm": "ucr_lstm.yaml"}
# keras_full: the Keras model on the example's whole schedule (200 epochs, early stopping), which the CPU affords
# only without its attention: the attention adds a constant (tests/test_timeseries.py), so this is the function the
# Keras model computes, trained as the example trains it
SEEDS = {"keras": 3, "keras_noattn": 3, "keras_full": 3, "transformer": 3, "resnet": 1, "cnn_lstm": 1, "lstm": 1}
# a CPU cap per run: the Keras model's attention over every time step (4 heads of 256) costs T^2, minutes per epoch
# on the longest sets
MINUTES = {"keras": 0.75, "keras_noattn": 0.5, "keras_full": 10.0, "transformer": 1.0, "resnet": 1.5, "cnn_lstm": 1.0,
           "lstm": 0.75}
PUBLISHED = ("rocket", "minirocket", "inceptiontime", "resnet", "dtw")
# The Keras model attends over every step: on ACSF1 (1,460 steps) half an epoch took 348 s of one core here, so a
# capped run would score an untrained model. Longer sets are left out of its runs (the table says so).
KERAS_MAX_LENGTH = 1000


def _pairs(spec: str, cast: type, defaults: dict) -> dict:
    out = dict(defaults)
    for item in filter(None, spec.split(",")):
        key, value = item.split("=")
        out[key] = cast(value)
    return out


def run_one(model: str, dataset: str, seed: int, minutes: float, runs: Path, data_dir: str,
            extra: tuple[str, ...] = ()) -> dict:
    out = runs / model / dataset / f"seed{seed}"
    if not (out / "metrics.json").is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "seqlab", "train", str(ROOT / "configs" / RECIPES[model]), "--out", str(out),
               "--data-dir", data_dir, "--quiet", f"--data.name={dataset}", f"--train.seed={seed}",
               f"--train.max_minutes={minutes}", "--overwrite", *extra]
        with open(out.parent / f"seed{seed}.log", "w") as log:
            code = subprocess.run(cmd, env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=log,
                                  stderr=subprocess.STDOUT).returncode
        if code:  # one failed run (out of memory, ...) is reported, and the others go on
            print(f"{model} {dataset} seed {seed}: failed with exit code {code}, see {out.parent}/seed{seed}.log")
            return {"failed": code}
    return json.loads((out / "metrics.json").read_text())


def run_pair(dataset: str, seed: int, minutes: dict, runs: Path, data_dir: str) -> list[tuple]:
    """The ablation's two arms on one set and seed, on the same budget: the Keras model (its attention makes it slow,
    so the time cap may stop it), then the same without attention for as many epochs as the first trained (or, when
    early stopping ended the first, the same early stopping), never capped by time."""
    with_attention = run_one("keras", dataset, seed, minutes["keras"], runs, data_dir)
    extra = ()
    if with_attention.get("stopped_by") == "time budget":
        extra = (f"--epochs={max(1, math.ceil(with_attention['epochs_trained']))}",)
    without = run_one("keras_noattn", dataset, seed, 60.0, runs, data_dir, extra)
    return [("keras", dataset, seed, with_attention), ("keras_noattn", dataset, seed, without)]


def series_lengths(data_dir: str) -> dict[str, int]:
    with open(Path(data_dir) / "ucr" / "DataSummary.csv") as f:
        return {row["Name"]: int(row["Length"]) for row in csv.DictReader(f) if row["Length"].isdigit()}


def published() -> dict[str, dict[str, float]]:
    with open(ROOT / "benchmarks" / "ucr_published.csv") as f:
        return {row["dataset"]: {k: float(row[k]) for k in PUBLISHED if row[k]} for row in csv.DictReader(f)}


def rocket_here(datasets: list[str], data_dir: str, results: Path) -> dict[str, dict]:
    """ROCKET (sktime) on this machine: read from results/ucr_rocket.json when it covers the sets, else run."""
    path = results / "ucr_rocket.json"
    if path.is_file():
        saved = json.loads(path.read_text())
        rows = {r["dataset"]: r for r in saved["rows"]}
        paper_protocol = saved.get("settings", {}).get("kernels") == 10000 and saved["settings"].get("ridge") == "paper"
        if paper_protocol and all(d in rows for d in datasets):
            return rows
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from ucr_rocket import run_rocket

    return {d: run_rocket(d, data_dir) for d in datasets}


def summarise(done: list[tuple[str, str, int, dict]], models: list[str], datasets: list[str]) -> dict:
    """Per set and model: mean and spread of the test accuracy over the seeds, epochs and training time."""
    out: dict[str, dict[str, dict]] = {d: {} for d in datasets}
    for model in models:
        for d in datasets:
            runs = [m for mm, dd, _, m in done if mm == model and dd == d and "failed" not in m]
            if not runs:
                continue
            acc = [m["accuracy"] for m in runs]
            out[d][model] = {"mean": statistics.mean(acc), "sd": statistics.stdev(acc) if len(acc) > 1 else 0.0,
                             "seeds": len(acc), "epochs": statistics.mean(m["epochs_trained"] for m in runs),
                             "capped": sum(m["stopped_by"] == "time budget" for m in runs),
                             "train_seconds": statistics.mean(m["train_seconds"] for m in runs)}
    return out


def print_tables(summary: dict, models: list[str], pub: dict, rocket: dict) -> dict:
    datasets = list(summary)
    head = f"{'dataset':<22}" + "".join(f"{k[:8]:>9}" for k in PUBLISHED) + f"{'ROCKET*':>9}" + "".join(
        f"{m[:12]:>14}" for m in models)
    print("Test accuracy on the default UCR splits. Published: rocket minirocket inceptiontime resnet dtw; "
          "ROCKET*: sktime, run here; ours: mean ± sd over seeds")
    print(head)
    means: dict[str, list[float]] = {k: [] for k in [*(f"published_{p}" for p in PUBLISHED), "rocket_here", *models]}
    for d in datasets:
        cells = []
        for k in PUBLISHED:
            value = pub.get(d, {}).get(k)
            cells.append(f"{value:>9.3f}" if value is not None else f"{'':>9}")
            if value is not None:
                means[f"published_{k}"].append(value)
        r = rocket.get(d, {}).get("accuracy")
        cells.append(f"{r:>9.3f}" if r is not None else f"{'':>9}")
        if r is not None:
            means["rocket_here"].append(r)
        for m in models:
            s = summary[d].get(m)
            cells.append(f"{s['mean']:>8.3f}±{s['sd']:.3f}" if s else f"{'':>14}")
            if s:
                means[m].append(s["mean"])
        print(f"{d:<22}" + "".join(cells))
    avg = {k: statistics.mean(v) for k, v in means.items() if v}  # over the sets a column has (see "counts")
    avg["counts"] = {k: len(v) for k, v in means.items() if v}
    columns = [*(f"published_{p}" for p in PUBLISHED), "rocket_here"]
    print(f"{'mean':<22}" + "".join(f"{avg[k]:>9.3f}" if k in avg else f"{'':>9}" for k in columns)
          + "".join(f"{avg[m]:>14.3f}" if m in avg else f"{'':>14}" for m in models))
    print("\nseconds of training per run (mean over seeds), epochs, runs stopped by the time cap:")
    for m in models:
        secs = [summary[d][m]["train_seconds"] for d in datasets if m in summary[d]]
        capped = sum(summary[d][m]["capped"] for d in datasets if m in summary[d])
        if secs:
            print(f"  {m:<13} {statistics.mean(secs):7.1f} s per run (max {max(secs):.0f}), {capped} runs capped")
    return avg


def ablation(summary: dict) -> dict:
    """Attention minus no attention (the Keras model, both arms on one budget), per set: the difference of the seed
    means, and whether it exceeds twice its standard error, sqrt(sd_a^2 / n_a + sd_b^2 / n_b)."""
    rows, helps, hurts = [], 0, 0
    for d, s in summary.items():
        if "keras" not in s or "keras_noattn" not in s:
            continue
        a, b = s["keras"], s["keras_noattn"]
        diff = a["mean"] - b["mean"]
        noise = 2 * math.sqrt(a["sd"] ** 2 / a["seeds"] + b["sd"] ** 2 / b["seeds"])
        verdict = "helps" if diff > noise else "hurts" if -diff > noise else "no difference"
        helps, hurts = helps + (verdict == "helps"), hurts + (verdict == "hurts")
        rows.append({"dataset": d, "attention": a["mean"], "no_attention": b["mean"], "difference": diff,
                     "spread": noise, "verdict": verdict})
    if rows:
        print("\nAblation (Keras model): attention minus no attention, test accuracy")
        for r in rows:
            print(f"  {r['dataset']:<22} {r['attention']:.3f} vs {r['no_attention']:.3f}  {r['difference']:+.3f} "
                  f"(2 standard errors {r['spread']:.3f}): {r['verdict']}")
        print(f"  attention helps on {helps}, hurts on {hurts}, no difference beyond 2 standard errors on "
              f"{len(rows) - helps - hurts} of {len(rows)} sets")
    return {"rows": rows, "helps": helps, "hurts": hurts}


NAMES = {"keras": "Keras", "keras_noattn": "Keras, no attention", "keras_full": "Keras, whole schedule",
         "transformer": "Transformer (ours)",
         "resnet": "ResNet", "cnn_lstm": "CNN+BiLSTM", "lstm": "LSTM"}


def markdown(result: dict) -> str:
    """The README's tables from a results file: accuracy beside the anchors, then training time per set."""
    summary, models = result["summary"], [m for m in NAMES if any(m in s for s in result["summary"].values())]
    pub, rocket = result["published"], result["rocket_here"]
    head = ["set", "ROCKET", "MiniRocket", "InceptionTime", "ResNet (dl-4-tsc)", "1-NN DTW", "ROCKET here",
            *[NAMES[m] for m in models]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" + "---:|" * (len(head) - 1)]
    for d, cells in summary.items():
        row = [d, *[f"{pub[d][k]:.3f}" if k in pub.get(d, {}) else "" for k in PUBLISHED],
               f"{rocket[d]['accuracy']:.3f}" if d in rocket else ""]
        row += [f"{cells[m]['mean']:.3f} ± {cells[m]['sd']:.3f}" if m in cells and cells[m]["seeds"] > 1
                else f"{cells[m]['mean']:.3f}" if m in cells else "—" for m in models]
        lines.append("| " + " | ".join(row) + " |")
    means, counts, n = result["means"], result["means"].get("counts", {}), len(summary)

    def mean_cell(k: str) -> str:
        if k not in means:
            return ""
        return f"**{means[k]:.3f}**" + ("" if counts.get(k, n) == n else f" ({counts[k]} sets)")

    columns = [*(f"published_{p}" for p in PUBLISHED), "rocket_here", *models]
    lines.append("| **mean** | " + " | ".join(mean_cell(k) for k in columns) + " |")
    lines += ["", "| set | ROCKET here: fit + predict s | " + " | ".join(f"{NAMES[m]}: s (epochs)" for m in models)
              + " |", "|" + "---|" + "---:|" * (len(models) + 1)]
    for d, cells in summary.items():
        r = rocket.get(d)
        row = [d, f"{r['fit_seconds'] + r['predict_seconds']:.1f}" if r else ""]
        row += [f"{cells[m]['train_seconds']:.0f} ({cells[m]['epochs']:.0f}){'*' if cells[m]['capped'] else ''}"
                if m in cells else "—" for m in models]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(RECIPES))
    parser.add_argument("--datasets", default=",".join(STAGED))
    parser.add_argument("--seeds", default="", help="per model, e.g. keras=3,resnet=1 (defaults: SEEDS)")
    parser.add_argument("--minutes", default="", help="time cap per run and model, e.g. keras=1 (defaults: MINUTES)")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time, one thread each")
    parser.add_argument("--runs-dir", default=str(ROOT / "runs" / "ucr"))
    parser.add_argument("--data-dir", default=os.environ.get("SEQLAB_DATA_DIR", str(ROOT.parent / "shared" / "data")))
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    parser.add_argument("--markdown", action="store_true", help="print the README's tables from the results file")
    args = parser.parse_args()
    if args.markdown:
        print(markdown(json.loads((Path(args.out) / "ucr.json").read_text())))
        return
    models, datasets = args.models.split(","), args.datasets.split(",")
    seeds, minutes = _pairs(args.seeds, int, SEEDS), _pairs(args.minutes, float, MINUTES)
    lengths = series_lengths(args.data_dir)
    skipped = [(m, d) for m in models for d in datasets if m == "keras" and lengths.get(d, 0) > KERAS_MAX_LENGTH]
    paired = "keras" in models and "keras_noattn" in models  # the ablation: both arms on one budget
    jobs = [(m, d, s) for s in range(max(seeds[m] for m in models)) for d in datasets for m in models
            if s < seeds[m] and (m, d) not in skipped
            and not (paired and m == "keras_noattn" and ("keras", d) not in skipped and s < seeds["keras"])]
    started = time.perf_counter()

    def launch(job: tuple[str, str, int]) -> list[tuple]:
        model, d, s = job
        if paired and model == "keras":
            return run_pair(d, s, minutes, Path(args.runs_dir), args.data_dir)
        return [(model, d, s, run_one(model, d, s, minutes[model], Path(args.runs_dir), args.data_dir))]

    with ThreadPoolExecutor(args.jobs) as pool:  # seed-major: every model and set runs once before twice
        done = [run for runs in pool.map(launch, jobs) for run in runs]
    results = Path(args.out)
    results.mkdir(parents=True, exist_ok=True)
    summary = summarise(done, models, datasets)
    rocket = rocket_here(datasets, args.data_dir, results)
    avg = print_tables(summary, models, published(), rocket)
    for m, d in skipped:
        print(f"not run: {m} on {d} ({lengths[d]} steps, longer than {KERAS_MAX_LENGTH}: see KERAS_MAX_LENGTH)")
    result = {"name": "ucr", "summary": summary, "skipped": skipped, "means": avg, "ablation": ablation(summary),
              "rocket_here": rocket, "published": published(), "seeds": seeds, "minutes": minutes,
              "wall_seconds": round(time.perf_counter() - started, 1)}
    (results / "ucr.json").write_text(json.dumps(result, indent=1))
    print(f"wrote {results / 'ucr.json'}")


if __name__ == "__main__":
    main()
