"""`seqlab data ...` commands.

    seqlab data list [--data-dir D]                  datasets, their splits and sizes, and whether they are here
    seqlab data show NAME [--split S] [-n N] [--data-dir D] [--name GunPoint] [--task 3] [--skip-bad] ...
"""

from __future__ import annotations

import argparse
import warnings

from seqlab.data.datasets import DATASETS, SPLIT_ALIASES, describe, is_local, load, summarize
from seqlab.data.formats import ReadReport, SkippedRowsWarning
from seqlab.errors import SeqlabError


def _dataset_options() -> dict[str, list[str]]:
    """Every dataset option with the datasets that take it, to offer as ``--option`` flags."""
    options: dict[str, list[str]] = {}
    for name, dataset in DATASETS.items():
        for option in dataset.info.options:
            options.setdefault(option, []).append(name)
    return options


def cmd_list(args: argparse.Namespace) -> None:
    rows = [("dataset", "splits (canonical sizes)", "files")]
    for name in DATASETS:
        info = describe(name)
        sizes = ", ".join(f"{s} {info.sizes[s]:,}" if s in info.sizes else s for s in info.splits)
        rows.append((name, sizes, "local" if is_local(name, args.data_dir) else "download"))
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    for row in rows:
        print(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}")
    print("\nsizes are examples per split with the default options (ucr and babi: see 'seqlab data show')")


def cmd_show(args: argparse.Namespace) -> None:
    if args.n < 0:
        raise SeqlabError(f"-n must be 0 or more, got {args.n}")
    info = describe(args.dataset)
    options = {key: getattr(args, key) for key in _dataset_options() if getattr(args, key) is not None}
    report = ReadReport()
    with warnings.catch_warnings():  # the report below says what was skipped, once
        warnings.simplefilter("ignore", SkippedRowsWarning)
        examples = load(info.name, args.split, data_dir=args.data_dir, skip_bad=args.skip_bad, report=report,
                        **options)
    print(f"{info.name}: {info.description}")
    print(f"split {SPLIT_ALIASES[args.split.lower()]}: {len(examples):,} examples ({info.example})")
    if report.skipped:
        print(f"skipped {report.skipped:,} bad row(s); first: {report.errors[0]}")
    for i, example in enumerate(examples[: args.n]):
        print(f"\n[{i}]")
        print(summarize(example, width=args.width))


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register the `data` command group; each leaf parser sets `handler=fn(args)`."""
    group = subparsers.add_parser("data", help="list and inspect the datasets",
                                  description="Datasets: where they are, their splits, and what they hold. "
                                  "Files come from --data-dir, else $SEQLAB_DATA_DIR, else the cache "
                                  "($SEQLAB_CACHE or ~/.cache/seqlab), filled by downloading.")
    commands = group.add_subparsers(dest="data_command", metavar="SUBCOMMAND")

    p = commands.add_parser("list", help="datasets, their splits and sizes, and whether their files are here",
                            description="List every dataset with its splits, canonical sizes and whether its "
                            "files are in the data directory or cache.")
    p.add_argument("--data-dir", help="dataset directory (else $SEQLAB_DATA_DIR, else the cache)")
    p.set_defaults(handler=cmd_list)

    p = commands.add_parser("show", help="print a split's size and its first examples",
                            description="Load one split of a dataset and print its size and first examples.")
    p.add_argument("dataset", help=f"one of: {', '.join(DATASETS)}")
    p.add_argument("--split", default="train", help="train, validation (or valid/dev/val) or test (default: train)")
    p.add_argument("-n", type=int, default=3, help="examples to print (default: 3)")
    p.add_argument("--data-dir", help="dataset directory (else $SEQLAB_DATA_DIR, else the cache)")
    p.add_argument("--skip-bad", action="store_true", help="skip malformed rows and say how many, instead of failing")
    p.add_argument("--width", type=int, default=100, help="characters per printed field (default: 100)")
    for option, names in _dataset_options().items():
        helps = "; ".join(f"{name}: {DATASETS[name].info.options[option]}" for name in names)
        p.add_argument(f"--{option}", help=helps)
    p.set_defaults(handler=cmd_show)
