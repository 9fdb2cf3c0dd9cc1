"""Test perplexity of a trained Transformer-XL against the length of its evaluation memory (Dai et al. 2019, the
paper's tables 8-9: more memory at test time than in training keeps helping, since relative positions have no range).

    python benchmarks/xl_memory_sweep.py runs/wikitext2_xl --mems 0 32 64 128 256 512 1024
    python benchmarks/xl_memory_sweep.py runs/wikitext2_xl --gpt runs/wikitext2_gpt_word   # the vanilla line too
    python benchmarks/xl_memory_sweep.py runs/wikitext2_xl --gpt runs/wikitext2_gpt_word --plot-only  # redraw

Each memory length M reads the whole split as the run's evaluation does (eval_batch_size rows, segments of the
training length L, memory of M states), so M = 0 is XL without recurrence: every segment alone. With ``--gpt``, the
vanilla model's perplexity from its evaluation (metrics of ``seqlab eval --split test``, the sliding window) is drawn
as a line. Writes benchmarks/results/xl_memory.json and xl_memory.png.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch

import seqlab
from seqlab.tasks.lm import encode, read_stream, segment_loss

RESULTS = Path(__file__).resolve().parent / "results"


def sweep(run_dir: Path, mems: list[int], split: str, data_dir: str | None) -> list[dict]:
    lm = seqlab.load(run_dir)
    cfg = lm.config
    ids = encode(lm.vocab, read_stream(cfg.data, split, data_dir))
    rows = []
    for mem in mems:
        started = time.perf_counter()
        total, count = segment_loss(lm.model, ids, cfg.data.eval_batch_size, cfg.data.seq_len, mem)
        rows.append({"eval_mem_len": mem, "perplexity": math.exp(total / count), "tokens": count,
                     "seconds": round(time.perf_counter() - started, 1)})
        print(f"memory {mem:>5}: perplexity {rows[-1]['perplexity']:8.2f}  ({rows[-1]['seconds']} s)", flush=True)
    return rows


def plot(rows: list[dict], segment: int, train_mem: int, vanilla: float | None, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    ax.plot([r["eval_mem_len"] for r in rows], [r["perplexity"] for r in rows], "o-", label="Transformer-XL")
    if vanilla is not None:
        ax.axhline(vanilla, color="tab:red", linestyle="--",
                   label=f"vanilla Transformer, sliding window ({vanilla:.1f})")
    ax.axvline(train_mem, color="grey", linestyle=":", label=f"training memory ({train_mem})")
    ax.set_xscale("symlog", linthresh=segment)
    ax.set_xlabel(f"evaluation memory length (states per layer; segment L = {segment})")
    ax.set_ylabel("test perplexity")
    ax.set_title("WikiText-2: Transformer-XL perplexity vs memory")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a trained Transformer-XL run directory")
    parser.add_argument("--mems", type=int, nargs="+", default=[0, 16, 32, 64, 128, 256, 512, 1024])
    parser.add_argument("--split", default="test")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--gpt", type=Path, default=None, help="a vanilla GPT run evaluated on the same split")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--plot-only", action="store_true", help="redraw from the JSON of an earlier sweep")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    if args.plot_only:
        rows = json.loads((args.out / "xl_memory.json").read_text())["rows"]
    else:
        rows = sweep(args.run, args.mems, args.split, args.data_dir)
    cfg = json.loads((args.run / "config.json").read_text())
    vanilla = None
    if args.gpt is not None:
        metrics = json.loads((args.gpt / "metrics.json").read_text()).get(f"eval_{args.split}_beam1")
        if metrics is None:
            raise SystemExit(f"{args.gpt}/metrics.json has no {args.split} evaluation; run "
                             f"`seqlab eval {args.gpt} --split {args.split}` first")
        vanilla = metrics["perplexity"]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "xl_memory.json").write_text(json.dumps({"run": str(args.run), "split": args.split, "rows": rows,
                                                         "vanilla_perplexity": vanilla}, indent=2))
    plot(rows, cfg["data"]["seq_len"], cfg["xl"]["mem_len"], vanilla, args.out / "xl_memory.png")
    print(f"wrote {args.out / 'xl_memory.json'} and xl_memory.png")


if __name__ == "__main__":
    main()
