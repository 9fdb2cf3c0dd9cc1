"""`seqlab viz ...` commands: plots that illustrate the lectures, drawn from untrained models or trained runs.

    seqlab viz gradients [--out gradients.png] [--steps 100] [--hidden 64] [--input 32] [--seed 0]
                         [--cells rnn,lstm,gru[,gru_lecture]] [--carry-bias 1]
    seqlab viz elmo-weights RUN [RUN ...] [--out elmo_layer_weights.png]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from seqlab.errors import SeqlabError
from seqlab.io import check_output_file

CELLS = ("rnn", "lstm", "gru", "gru_lecture")  # seqlab.nn.recurrent.CELLS, named here so the CLI starts without torch
DEFAULT_CELLS = ("rnn", "lstm", "gru")
LIMITS = {"--steps": 10_000, "--hidden": 4096, "--input": 4096}  # beyond: minutes of float64 autograd, GBs
DEFAULT_CARRY_BIAS = 1.0


def _cells(value: str) -> list[str]:
    cells = [c.strip().lower() for c in value.split(",") if c.strip()]
    unknown = [c for c in cells if c not in CELLS]
    if unknown or not cells:
        raise SeqlabError(f"--cells takes a comma-separated list of {', '.join(CELLS)}, got {value!r}")
    return list(dict.fromkeys(cells))  # each once, in the order given


def cmd_gradients(args: argparse.Namespace) -> None:
    from seqlab.viz.gradients import decay_per_step, gradient_norms, plot_gradient_norms

    cells = _cells(args.cells)
    for flag, value in (("--steps", args.steps), ("--hidden", args.hidden), ("--input", args.input)):
        if not 1 <= value <= LIMITS[flag]:
            raise SeqlabError(f"{flag} must lie in 1..{LIMITS[flag]}, got {value}")
    if not (math.isfinite(args.carry_bias) and abs(args.carry_bias) <= 20):
        raise SeqlabError(f"--carry-bias (--forget-bias) must be a finite number in [-20, 20], got {args.carry_bias}")
    check_output_file(args.out)
    norms = {cell: gradient_norms(cell, steps=args.steps, input_size=args.input, hidden_size=args.hidden,
                                  seed=args.seed, carry_bias=args.carry_bias) for cell in cells}
    setting = (f"untrained, carry-gate bias {args.carry_bias:+g} (LSTM forget gate, GRU update gate)"
               if args.carry_bias else "untrained, PyTorch's initialisation (no gate bias)")
    plot_gradient_norms(norms, args.out, title=f"|dL/dh_t|, loss at the last step: {setting}")
    T = args.steps
    columns = [("t=T", T), ("t=T-10", T - 10), ("t=T-50", T - 50), ("t=1", 1)]
    columns = [(name, t) for name, t in columns if t >= 1]
    print(f"|dL/dh_t|, loss at the last step t=T={T} (hidden {args.hidden}, input {args.input}, seed {args.seed}; "
          f"{setting})")
    width = max(6, *map(len, cells))
    print(f"{'cell':<{width}}" + "".join(f"{name:>11}" for name, _ in columns) + f"{'t=1 / t=T':>12}{'per step':>10}")
    for cell, values in norms.items():
        row = "".join(f"{values[t - 1]:>11.2e}" for _, t in columns)
        print(f"{cell:<{width}}{row}{values[0] / values[-1]:>12.2e}{decay_per_step(values):>10.3f}")
    print(f"wrote {args.out}")


def cmd_elmo_weights(args: argparse.Namespace) -> None:
    """The layer weights each downstream run learnt over the biLM's layers, side by side."""
    from seqlab.models.elmo import layer_weights
    from seqlab.tasks import load_run
    from seqlab.viz.plots import plot_layer_weights

    check_output_file(args.out)
    weights = {}
    for run in args.runs:
        predictor = load_run(run)
        mix = layer_weights(predictor.model)
        if mix is None:
            raise SeqlabError(f"{run} reads no ELMo vectors (its config has no elmo.bilm)")
        name = _run_name(predictor.config)
        name = f"{name} ({Path(run).name})" if name in weights else name
        weights[name] = mix["elmo_layer_weights"]
        shown = "  ".join(f"s_{j}={w:.3f}" for j, w in enumerate(mix["elmo_layer_weights"]))
        print(f"{name:<24} {shown}  gamma={mix['elmo_gamma']:.3f}")
    plot_layer_weights(weights, args.out)
    print(f"wrote {args.out}")


def _run_name(cfg) -> str:
    field = getattr(cfg.data, "tag_field", None)
    return f"{cfg.data.dataset} {field}" if field else cfg.data.dataset


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register the `viz` command group; each leaf parser sets `handler=fn(args)`."""
    group = subparsers.add_parser("viz", help="plots that illustrate the lectures",
                                  description="Plots drawn from small untrained models, to see an effect "
                                  "the lectures describe.")
    commands = group.add_subparsers(dest="viz_command", metavar="SUBCOMMAND")

    p = commands.add_parser("gradients", help="vanishing gradients through time: RNN vs LSTM vs GRU",
                            description="Plot |dL/dh_t|, the gradient of a loss at the last time step with "
                            "respect to each earlier hidden state, for untrained single-layer cells reading "
                            "the same random inputs (log scale), and print it at a few steps. The gated cells "
                            "start with their carry gate biased by --carry-bias (default 1), as they are usually "
                            "initialised and as training pushes them: then the RNN's gradient vanishes ~18 orders "
                            "of magnitude faster over 100 steps.")
    p.add_argument("--out", default="gradients.png", help="PNG file to write (default: gradients.png)")
    p.add_argument("--steps", type=int, default=100, help="sequence length T (default: 100)")
    p.add_argument("--hidden", type=int, default=64, help="hidden size (default: 64)")
    p.add_argument("--input", type=int, default=32, help="input size (default: 32)")
    p.add_argument("--seed", type=int, default=0, help="seed for the inputs and the weights (default: 0)")
    p.add_argument("--cells", default=",".join(DEFAULT_CELLS),
                   help="comma-separated cells of " + ", ".join(CELLS) + " (default: rnn,lstm,gru; gru_lecture is "
                   "the GRU as the lecture writes it, r applied before the recurrent matrix)")
    p.add_argument("--carry-bias", "--forget-bias", dest="carry_bias", type=float, default=DEFAULT_CARRY_BIAS,
                   help="moves the gate that keeps the state towards keeping it: the LSTM's forget-gate bias and the "
                   "GRU's update-gate bias (default: 1, the common LSTM forget-gate bias of Jozefowicz et al. 2015; "
                   "0: PyTorch's initialisation, where the untrained gated cells decay almost as fast as the RNN)")
    p.set_defaults(handler=cmd_gradients)

    p = commands.add_parser("elmo-weights", help="which biLM layers each task's ELMo mix uses (s_0 .. s_L)",
                            description="Plot, side by side, the softmax-normalised layer weights that downstream "
                            "runs with ELMo vectors (elmo.bilm in their config) learnt: the token layer and each "
                            "biLSTM layer, as Peters et al. (2018) discuss for NER, POS and sentiment.")
    p.add_argument("runs", nargs="+", help="run directories of tag or classify recipes with ELMo")
    p.add_argument("--out", default="elmo_layer_weights.png", help="PNG file to write")
    p.set_defaults(handler=cmd_elmo_weights)
