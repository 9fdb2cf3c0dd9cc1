"""ROCKET (Dempster et al., 2020) on the staged UCR datasets: sktime's ROCKET transform and a ridge classifier, the
paper's protocol, beside the paper's accuracies.

    python benchmarks/ucr_rocket.py --data-dir /work/shared/data
    python benchmarks/ucr_rocket.py --datasets GunPoint,CBF --kernels 1000 --out /tmp/rocket.json

The protocol (angus924/rocket, code/reproduce_experiments_ucr.py): 10,000 random kernels on the raw series (the
UCR series are z-normalised already; the script does not normalise them again), then
``RidgeClassifierCV(alphas=np.logspace(-3, 3, 10), normalize=True)`` on the 20,000 features. scikit-learn >= 1.2
has no ``normalize``: its exact equivalent is used, ``StandardScaler()`` then ``RidgeClassifierCV`` with the alphas
scaled by the number of training series (normalize=True divided each centred column by its L2 norm, std x sqrt(n);
StandardScaler divides by the std, so alpha x n gives the same ridge solution and the same leave-one-out choice).
``--ridge plain`` fits ``RidgeClassifierCV(alphas=np.logspace(-3, 3, 10))`` on the unscaled features instead.
sktime's ``RocketClassifier`` is not the paper's classifier (it z-normalises each series, scales without centring
and does not scale the alphas), so it is not used.

Timings as the paper's: fit = kernels + train transform + ridge fit, predict = test transform + prediction, after
a one-off warm-up of the compiled kernels; one run (one seed) per dataset, where the paper averaged 10. The data
come from seqlab's loader (``load("ucr", ...)``), or the UCR 2018 TSV directly where the loader refuses a name.
It prints the table and writes benchmarks/results/ucr_rocket.json.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ALPHAS = np.logspace(-3, 3, 10)
RIDGES = ("paper", "plain")

# the paper's test accuracy, mean of 10 runs (angus924/rocket, results/results_ucr.csv)
PAPER = {"ACSF1": 0.886, "ArrowHead": 0.8143, "Beef": 0.8333, "CBF": 1.0, "Coffee": 1.0, "ECG200": 0.906,
         "ECGFiveDays": 1.0, "Earthquakes": 0.7482, "FaceAll": 0.9465, "GunPoint": 1.0, "ItalyPowerDemand": 0.9696,
         "Lightning2": 0.7590, "MoteStrain": 0.9146, "OSULeaf": 0.9409, "Plane": 1.0,
         "SonyAIBORobotSurface1": 0.9225, "Strawberry": 0.9814, "SyntheticControl": 0.9997, "Trace": 1.0,
         "TwoLeadECG": 0.9991}


def library() -> str:
    import sktime

    return f"sktime {sktime.__version__}"


def read_split(name: str, split: str, data_dir: str) -> tuple[np.ndarray, np.ndarray]:
    """One split as (X [n, 1, T] float64, y [n] int): seqlab's loader, else the UCR 2018 TSV read directly."""
    from seqlab.data import load
    from seqlab.errors import SeqlabError

    try:
        series = load("ucr", split, data_dir=data_dir, name=name)
        labels, rows = [s.label for s in series], [s.values for s in series]
    except SeqlabError:
        path = Path(data_dir) / "ucr" / name / f"{name}_{split.upper()}.tsv"
        if not path.is_file():
            raise
        table = np.loadtxt(path, delimiter="\t", ndmin=2)
        labels, rows = table[:, 0].astype(int).tolist(), table[:, 1:].tolist()
    if len({len(r) for r in rows}) != 1:
        raise ValueError(f"{name} {split}: series of unequal length (ROCKET here needs them padded to one length)")
    X = np.asarray(rows, dtype=np.float64)[:, None, :]
    if np.isnan(X).any():
        raise ValueError(f"{name} {split}: missing values (the paper interpolated them first)")
    return X, np.asarray(labels)


def ridge_classifier(n_train: int, ridge: str = "paper"):
    """The paper's ``RidgeClassifierCV(alphas, normalize=True)`` (``paper``) or the bare one (``plain``)."""
    from sklearn.linear_model import RidgeClassifierCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if ridge == "plain":
        return RidgeClassifierCV(alphas=ALPHAS)
    if ridge == "paper":
        return make_pipeline(StandardScaler(), RidgeClassifierCV(alphas=ALPHAS * n_train))
    raise ValueError(f"ridge must be one of {RIDGES}, got {ridge!r}")


@functools.cache
def _warm_up() -> None:
    """Load the compiled kernels (numba's on-disk cache) once per process, outside the timings."""
    from sktime.transformations.rocket import Rocket

    X = np.random.default_rng(0).normal(size=(4, 1, 32))
    Rocket(num_kernels=10, normalise=False, n_jobs=1, random_state=0).fit_transform(X)


def run_rocket(name: str, data_dir: str, seed: int = 0, n_kernels: int = 10000, *, ridge: str = "paper") -> dict:
    """ROCKET on one UCR dataset: test accuracy, fit and predict seconds (transform included, as the paper times)."""
    from sktime.transformations.rocket import Rocket

    X_train, y_train = read_split(name, "train", data_dir)
    X_test, y_test = read_split(name, "test", data_dir)
    _warm_up()
    started = time.perf_counter()
    rocket = Rocket(num_kernels=n_kernels, normalise=False, n_jobs=1, random_state=seed)
    features = rocket.fit_transform(X_train).to_numpy()
    classifier = ridge_classifier(len(y_train), ridge).fit(features, y_train)
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    predicted = classifier.predict(rocket.transform(X_test).to_numpy())
    predict_seconds = time.perf_counter() - started
    return {"dataset": name, "accuracy": float(np.mean(predicted == y_test)), "fit_seconds": fit_seconds,
            "predict_seconds": predict_seconds, "library": library()}


def machine() -> dict:
    import numba
    import sklearn

    return {"python": platform.python_version(), "numpy": np.__version__, "scikit-learn": sklearn.__version__,
            "numba": numba.__version__, "numba_threads": numba.get_num_threads(), "library": library(),
            "cpu": platform.processor() or platform.machine(), "cpus": len(os.sched_getaffinity(0))}


def print_table(rows: list[dict]) -> None:
    print(f"{'dataset':<22} {'accuracy':>8} {'paper':>6} {'fit s':>8} {'predict s':>9}")
    for r in rows:
        paper = "" if r["paper_accuracy"] is None else f"{r['paper_accuracy']:.4f}"
        print(f"{r['dataset']:<22} {r['accuracy']:>8.4f} {paper:>6} {r['fit_seconds']:>8.2f} "
              f"{r['predict_seconds']:>9.2f}")
    fit, predict = sum(r["fit_seconds"] for r in rows), sum(r["predict_seconds"] for r in rows)
    print(f"{'mean / total':<22} {np.mean([r['accuracy'] for r in rows]):>8.4f} {'':>6} {fit:>8.2f} {predict:>9.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("SEQLAB_DATA_DIR", str(ROOT.parent / "shared" / "data")))
    parser.add_argument("--datasets", default="", help="comma-separated names (default: every folder in DATA/ucr)")
    parser.add_argument("--seed", type=int, default=0, help="the kernels' random seed")
    parser.add_argument("--kernels", type=int, default=10000, help="number of random kernels (the paper's 10,000)")
    parser.add_argument("--ridge", choices=RIDGES, default="paper",
                        help="paper: RidgeClassifierCV as with normalize=True; plain: on the unscaled features")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "ucr_rocket.json"))
    args = parser.parse_args()
    names = [n for n in args.datasets.split(",") if n] or sorted(
        p.name for p in (Path(args.data_dir) / "ucr").iterdir() if p.is_dir())
    started = time.perf_counter()
    rows = []
    for name in names:
        row = run_rocket(name, args.data_dir, seed=args.seed, n_kernels=args.kernels, ridge=args.ridge)
        rows.append({**row, "paper_accuracy": PAPER.get(name)})
        print(f"{name}: accuracy {row['accuracy']:.4f}, fit {row['fit_seconds']:.1f} s, "
              f"predict {row['predict_seconds']:.1f} s", flush=True)
    seconds = time.perf_counter() - started
    print_table(rows)
    print(f"{len(rows)} datasets, {seconds:.0f} s in all (loading and warm-up included)")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    settings = {"kernels": args.kernels, "seed": args.seed, "ridge": args.ridge, "alphas": "np.logspace(-3, 3, 10)",
                "normalise_series": False, "paper_source": "angus924/rocket results/results_ucr.csv (mean of 10 runs)"}
    out.write_text(json.dumps({"name": "ucr_rocket", "machine": machine(), "settings": settings, "rows": rows,
                               "mean_accuracy": float(np.mean([r["accuracy"] for r in rows])),
                               "seconds": round(seconds, 1)}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
