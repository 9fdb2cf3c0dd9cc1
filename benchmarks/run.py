"""Benchmark runner: prints a table and writes JSON (benchmarks/results/<name>.json).

    python benchmarks/run.py                 # every benchmark
    python benchmarks/run.py transformer     # one
    python benchmarks/run.py vectorize       # our BoW / TF-IDF vs scikit-learn on IMDB
    python benchmarks/run.py trainer         # Trainer.fit vs a bare loop; bf16 vs fp32 through the Trainer
    python benchmarks/run.py lstm            # our LSTM layer (fast and reference paths) vs a bare nn.LSTM
    python benchmarks/run.py bow             # BoW + naive Bayes / logistic regression vs scikit-learn on IMDB
    python benchmarks/run.py decoding        # translation search, greedy and beam 5: KV cache / none / nn.Transformer
    python benchmarks/run.py gpt             # GPT vs HF GPT2LMHeadModel: training, generation, KV cache, memory
    python benchmarks/run.py bert            # MiniLM: sentence embeddings vs sentence-transformers, fine-tuning vs HF
    python benchmarks/run.py word2vec        # word2vec skip-gram vs gensim: words/s and analogy / similarity scores
    python benchmarks/run.py xl              # Transformer-XL evaluation with memory vs the vanilla sliding window
    python benchmarks/run.py elmo            # ELMo biLM training: fast path vs reference path vs bare nn.LSTM
    python benchmarks/run.py serve_load      # seqlab serve under load: req/s, p50/p99, errors; batching vs 1 by 1
    python benchmarks/run.py --quick         # small sizes, seconds each: a CI check, not numbers to report

Every benchmark first checks that ours and its reference agree (logits, tokens cached = uncached, matrices,
predictions, weights); the runner goes on through the others after a failure and exits 1 if any failed.
Data (IMDB, Multi30k) come from $SEQLAB_DATA_DIR, else shared/data beside the repository.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import traceback
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bert_vs_hf
import bow_vs_sklearn
import decoding_speed
import elmo_speed
import gpt_vs_hf
import lstm_vs_torch
import serve_load
import trainer_overhead
import transformer_vs_torch
import vectorize_vs_sklearn
import word2vec_vs_gensim
import xl_eval_speed

BENCHMARKS = {"transformer": transformer_vs_torch.run, "vectorize": vectorize_vs_sklearn.run,
              "trainer": trainer_overhead.run, "lstm": lstm_vs_torch.run, "bow": bow_vs_sklearn.run,
              "decoding": decoding_speed.run, "gpt": gpt_vs_hf.run, "bert": bert_vs_hf.run,
              "word2vec": word2vec_vs_gensim.run, "xl": xl_eval_speed.run, "elmo": elmo_speed.run,
              "serve_load": serve_load.run}


def machine() -> dict:
    return {"python": platform.python_version(), "torch": torch.__version__, "threads": torch.get_num_threads(),
            "cpu": platform.processor() or platform.machine(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None}


def print_table(rows: list[dict]) -> None:
    print(f"{'benchmark':<12} {'what':<52} {'prec':<5} {'ours':>10} {'reference':>10} {'ratio':>7}")
    for r in rows:
        if "ratio" in r:
            print(f"{r['benchmark']:<12} {r['what']:<52} {r['precision']:<5} {r['ours']:>10.0f} "
                  f"{r['reference']:>10.0f} {r['ratio']:>6.2f}x")
        else:
            print(f"{r['benchmark']:<12} {r['what']:<52} {r['precision']:<5} {r.get('note', '')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", choices=[[], *BENCHMARKS], help="benchmarks to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run, not numbers to report")
    parser.add_argument("--force-bf16", action="store_true", help="time bf16 even where the CPU emulates it")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"), help="JSON output directory")
    args = parser.parse_args()
    failed = []
    for name in args.names or list(BENCHMARKS):
        start = time.perf_counter()
        try:
            rows = BENCHMARKS[name](quick=args.quick, force_bf16=args.force_bf16)
        except Exception:  # a disagreement with the reference, or a benchmark that broke: report, go on
            traceback.print_exc()
            failed.append(name)
            print(f"FAILED {name} ({time.perf_counter() - start:.0f} s)")
            continue
        print_table(rows)
        out = Path(args.out) / f"{name}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"name": name, "quick": args.quick, "machine": machine(), "rows": rows,
                                   "seconds": round(time.perf_counter() - start, 1)}, indent=2))
        print(f"wrote {out} ({time.perf_counter() - start:.0f} s)")
    if failed:
        sys.exit(f"benchmarks failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
