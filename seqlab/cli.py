"""The ``seqlab`` command line.

    seqlab demo [--out DIR] [--minutes M]
    seqlab train CONFIG|RECIPE [--out DIR] [--data-dir D] [--resume] [--print-config] [--key.sub=value ...]
    seqlab train --list                  (the recipes shipped with seqlab, by name)
    seqlab eval MODEL_DIR [--split test] [--data-dir D] [--out DIR] [--beam N] [--json]
    seqlab translate|predict MODEL_DIR [TEXT ...] [--file F]  (texts from standard input when none are given)
    seqlab generate MODEL_DIR [--prompt TEXT] [--max-new-tokens N] [--temperature T] [--top-k K] [--top-p P]
    seqlab viz gradients [--out gradients.png]

Bad input gets one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from seqlab.errors import ConfigError, SeqlabError

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the command and how to get help."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _split_overrides(extra: Sequence[str]) -> list[str]:
    """Unknown arguments of ``train`` must be ``--key.sub=value`` or ``--key.sub value`` overrides."""
    overrides, i = [], 0
    while i < len(extra):
        arg = extra[i]
        # --a.b=v, --a.b v, or a top-level key with '=' (--stop_at_dev_exact_match=0.9); keys are checked later
        if not arg.startswith("--") or ("." not in arg.split("=", 1)[0] and "=" not in arg):
            raise ConfigError(f"unknown option {arg!r} (config overrides look like --model.d_model=256)")
        if "=" not in arg:
            if i + 1 >= len(extra) or extra[i + 1].startswith("--"):
                raise ConfigError(f"override {arg!r} needs a value: {arg}=VALUE")
            arg, i = f"{arg}={extra[i + 1]}", i + 1
        overrides.append(arg[2:])
        i += 1
    return overrides


def _texts(args: argparse.Namespace) -> tuple[list[str], bool]:
    """The input texts, and whether they came line by line from standard input (where a blank line is
    passed through as a blank output line, so outputs stay aligned with input lines)."""
    if getattr(args, "file", None):
        return _file_lines(Path(args.file)), False
    if args.text:
        for i, text in enumerate(args.text, 1):
            if not text.strip():
                raise SeqlabError(f"input {i} is empty: give some text")
        return list(args.text), False
    if sys.stdin is None or sys.stdin.isatty():
        raise SeqlabError("no input text: pass TEXT arguments, --file FILE, or pipe lines on standard input")
    lines = [line.rstrip("\r\n") for line in sys.stdin]
    if not any(line.strip() for line in lines):
        raise SeqlabError("no input text on standard input")
    return lines, True


def _file_lines(path: Path) -> list[str]:
    """One input per line of a UTF-8 file; an empty line is an error naming the file and line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise SeqlabError(f"cannot read {path}: {err.strerror}") from err
    except UnicodeDecodeError as err:
        raise SeqlabError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from err
    for number, line in enumerate(lines, 1):
        if not line.strip():
            raise SeqlabError(f"{path}:{number}: empty line (one input per line; remove blank lines)")
    if not lines:
        raise SeqlabError(f"{path}: no input lines")
    return lines


def _check_decoding(args: argparse.Namespace) -> None:
    if args.beam < 1:
        raise SeqlabError(f"--beam must be at least 1, got {args.beam}")
    if not math.isfinite(getattr(args, "alpha", 0.0)):
        raise SeqlabError(f"--alpha must be a finite number, got {args.alpha}")


def cmd_demo(args: argparse.Namespace) -> None:
    from seqlab.runner import demo

    print(f"seqlab demo: date normalisation with a Transformer, up to {args.minutes:g} minutes, into {args.out}")
    metrics = demo(args.out, minutes=args.minutes, progress=not args.quiet)
    _report(metrics, Path(args.out))
    print(f"\nTry: seqlab translate {args.out} \"4th of July 2019\"")


def _report(metrics: dict, out: Path) -> None:
    if "exact_match" not in metrics:  # classifiers, taggers, language models: their headline numbers
        from seqlab.report import scalar_metrics, text_table

        print(text_table([{"metric": k, "value": v} for k, v in scalar_metrics(metrics).items() if v is not None]))
        for sample in metrics.get("samples", [])[:1]:
            print(f"\nsample:\n{sample}")
    else:
        print(f"\nexact match on {metrics['n_test']} held-out test dates: {metrics['exact_match']:.4f}")
        print(f"{metrics['steps']} steps, {metrics['parameters']:,} parameters, {metrics['precision']} on "
              f"{metrics['device']}, {metrics['total_seconds']:.0f} s in all")
        width = max(len(e["source"]) for e in metrics["examples"])
        for e in metrics["examples"]:
            print(f"  {e['source']:<{width}}  ->  {e['prediction']}")
    print(f"wrote {', '.join(sorted(p.name for p in out.iterdir() if not p.name.startswith('.')))} to {out}/")


def cmd_train(args: argparse.Namespace, extra: Sequence[str]) -> None:
    from seqlab.runner import default_out, load_run_config, train

    if args.list:
        from seqlab.config import recipe_names, recipe_summary

        names = recipe_names()
        width = max(map(len, names))
        for name in names:
            print(f"{name:<{width}}  {recipe_summary(name)}")
        return
    if args.config is None:
        raise ConfigError("name a config file or a recipe (seqlab train --list shows the recipes)")
    overrides = _split_overrides(extra)
    if args.print_config:
        import yaml

        from seqlab.config import to_dict

        print(yaml.safe_dump(to_dict(load_run_config(args.config, overrides)), sort_keys=False), end="")
        return
    if args.quiet:  # plain log lines (one per log point and evaluation) instead of a progress bar
        import logging

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    out = args.out or str(default_out(args.config))
    metrics = train(args.config, out, overrides=overrides, data_dir=args.data_dir, progress=not args.quiet,
                    resume=args.resume)
    if metrics:  # rank 0 of a torchrun group reports; the other processes return nothing
        _report(metrics, Path(out))


def cmd_eval(args: argparse.Namespace) -> None:
    """Each task supplies ``evaluate(run_dir, split=, data_dir=, beam_size=, out_dir=) -> (metrics, ReportParts)``;
    this command prints the numbers and writes metrics.json (merged) and report.md into --out."""
    import shlex

    from seqlab.report import scalar_metrics, text_table, write_report
    from seqlab.tasks import check_run_dir, get_task, read_run_config

    _check_decoding(args)
    run_dir = check_run_dir(args.model_dir)
    out = Path(args.out) if args.out else run_dir
    if out.exists() and not out.is_dir():
        raise SeqlabError(f"--out {out} is a file; the report needs a directory")
    task = get_task(read_run_config(run_dir).task)
    metrics, parts = task.evaluate(run_dir, split=args.split, data_dir=args.data_dir, beam_size=args.beam,
                                   out_dir=out)
    command = ["seqlab", "eval", str(args.model_dir), "--split", args.split, "--beam", str(args.beam)]
    command += ["--out", str(args.out)] if args.out else []
    command += ["--data-dir", str(args.data_dir)] if args.data_dir else []
    report = write_report(out, metrics, parts, key=f"eval_{args.split}_beam{args.beam}",
                          command=shlex.join(command))
    if args.json:
        print(json.dumps(metrics, indent=2, ensure_ascii=False))
        return
    print(parts.title)
    print(text_table([{"metric": k, "value": v} for k, v in scalar_metrics(metrics).items() if v is not None]))
    if parts.table:
        print(f"\n{parts.table_title}\n{text_table(parts.table)}")
    if parts.examples:
        print(f"\n{parts.examples_title}\n{text_table(parts.examples[:5])}")
    written = ["metrics.json", report.name, *parts.plots.values()]
    print(f"\nwrote {', '.join(written)} to {out}/")


def cmd_predict(args: argparse.Namespace) -> None:
    """Translate (seq2seq), classify (label and probability) or tag (token/TAG) each input line."""
    from seqlab.tasks import load_run as load

    _check_decoding(args)
    texts, from_stdin = _texts(args)
    predictor = load(args.model_dir)
    kept = [t for t in texts if t.strip()] if from_stdin else texts
    if hasattr(predictor, "translate"):
        outputs = iter(predictor.translate(kept, beam_size=args.beam, alpha=args.alpha))
    elif hasattr(predictor, "predict"):
        outputs = iter(f"{label}\t{p:.4f}" for label, p in predictor.predict(kept))
    elif hasattr(predictor, "tag"):
        outputs = iter(" ".join(f"{tok}/{tag}" for tok, tag in predictor.tag(text)) for text in kept)
    else:
        raise SeqlabError(f"{args.model_dir} holds a language model: use seqlab generate {args.model_dir} "
                          "--prompt TEXT")
    for text in texts:
        print(next(outputs) if text.strip() else "")


def cmd_generate(args: argparse.Namespace) -> None:
    from seqlab.tasks import check_run_dir, read_run_config
    from seqlab.tasks import load_run as load

    run_dir = check_run_dir(args.model_dir)
    model = load(run_dir)
    if not hasattr(model, "generate"):
        task = read_run_config(run_dir).task
        use = "translate" if hasattr(model, "translate") else "predict"
        raise SeqlabError(f"{args.model_dir} holds a '{task}' model, which does not generate text; "
                          f"generate needs a language model (use: seqlab {use} {args.model_dir} TEXT)")
    if args.prompt and args.prompt_option:
        raise SeqlabError("give the prompt once: as PROMPT or as --prompt")
    defaults = model.config.sample
    max_new = defaults.max_new_tokens if args.max_new_tokens is None else args.max_new_tokens
    prompt = args.prompt or args.prompt_option or ""
    options = dict(max_new_tokens=max_new, top_k=args.top_k, top_p=args.top_p, seed=args.seed, stop=args.stop,
                   temperature=defaults.temperature if args.temperature is None else args.temperature)
    if args.n == 1:  # stream: each token is printed as it is generated
        print(prompt, end="", flush=True)
        model.generate(prompt, **options, on_text=lambda piece: print(piece, end="", flush=True))
        print()
        return
    for i, sample in enumerate(model.generate(prompt, n=args.n, **options)):
        if i:
            print("\n" + "-" * 40)
        print(sample)


def build_parser() -> _Parser:
    from seqlab import __version__

    parser = _Parser(prog="seqlab", description="Sequence models from bag-of-words to Transformers: "
                     "train, evaluate and use them.")
    parser.add_argument("--version", action="version", version=f"seqlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("demo", help="train the date-normalisation Transformer (no download) and report",
                       description="Generate free-form dates in English, French, German and Spanish, train a "
                       "character-level Transformer to write them as ISO 8601, report exact match on held-out "
                       "dates, and save model, vocabulary, metrics and plots.")
    p.add_argument("--out", default="runs/demo", help="run directory to write (default: runs/demo)")
    p.add_argument("--minutes", type=float, default=4.0, help="time budget for the whole run (default: 4)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("train", help="train from a YAML config or a recipe's name (--list shows them), with overrides",
                       description="Train the recipe a config file describes (see configs/), or a recipe shipped "
                       "with seqlab by its name (seqlab train sst2_nb; seqlab train --list shows them). Any "
                       "config key can be overridden: --model.d_model=256 --train.steps=500.")
    p.add_argument("config", nargs="?",
                   help="YAML config file (configs/dates_transformer.yaml) or a recipe's name (dates_transformer)")
    p.add_argument("--list", action="store_true", help="list the recipes shipped with seqlab and exit")
    p.add_argument("--out", help="run directory (default: runs/<config name>)")
    p.add_argument("--data-dir", help="dataset directory (else $SEQLAB_DATA_DIR, else the download cache)")
    p.add_argument("--quiet", action="store_true", help="no progress bar: plain log lines, for log files")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its last checkpoint (exactly as if never stopped)")
    p.add_argument("--print-config", action="store_true", help="print the resolved config (YAML) and exit")

    p = sub.add_parser("eval", help="score a trained run on a split; write metrics.json, report.md and plots",
                       description="Evaluate the model in MODEL_DIR on a split of its task's data, print a table "
                       "and write the report (report.md, plots, metrics.json merged under eval_<split>_beam<N>) "
                       "into --out.")
    p.add_argument("model_dir")
    p.add_argument("--split", default="test", help="which split to score (default: test; dates: test, validation)")
    p.add_argument("--data-dir", help="dataset directory (else $SEQLAB_DATA_DIR, else the download cache)")
    p.add_argument("--out", help="directory for the report (default: MODEL_DIR)")
    p.add_argument("--beam", type=int, default=1, help="beam size (1 = greedy)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON instead of tables")

    for name, text in [("translate", "map texts through a sequence-to-sequence model"),
                       ("predict", "run a trained model on texts: classifiers print label and probability, taggers "
                        "token/TAG pairs, seq2seq models translate")]:
        p = sub.add_parser(name, help=text, description=f"{text[0].upper()}{text[1:]}. Texts come from the "
                           "arguments, or one per line on standard input.")
        p.add_argument("model_dir")
        p.add_argument("text", nargs="*", help="input texts")
        p.add_argument("--file", help="a UTF-8 file with one input per line")
        p.add_argument("--beam", type=int, default=1, help="beam size (1 = greedy)")
        p.add_argument("--alpha", type=float, default=0.6, help="beam length penalty ((5+|Y|)/6)^alpha")

    p = sub.add_parser("generate", help="sample text from a language model",
                       description="Continue a prompt with a trained language model (temperature, top-k and "
                       "top-p sampling).")
    p.add_argument("model_dir")
    p.add_argument("prompt", nargs="?", default="", help="text to continue (or --prompt)")
    p.add_argument("--prompt", dest="prompt_option", default="", help="text to continue")
    p.add_argument("--max-new-tokens", type=int, default=None, help="tokens to add (default: the model's, 300)")
    p.add_argument("--temperature", type=float, default=None, help="0 = greedy; below 1 = safer (default 0.8)")
    p.add_argument("--top-k", type=int, default=None, help="sample among the k most likely tokens")
    p.add_argument("--top-p", type=float, default=None, help="sample within the top-p probability mass")
    p.add_argument("--seed", type=int, default=None, help="random seed, for a repeatable sample")
    p.add_argument("-n", type=int, default=1, help="number of samples (one sample streams as it is generated)")
    p.add_argument("--stop", action="append", default=[], metavar="TEXT",
                   help="stop a sample once its new text holds TEXT (repeatable)")

    from seqlab.data.cli import add_commands as add_data_commands
    from seqlab.text.cli import add_commands as add_text_commands
    from seqlab.viz.cli import add_commands as add_viz_commands

    add_data_commands(sub)
    add_text_commands(sub)
    add_viz_commands(sub)
    return parser


def _short_warnings(command: str) -> None:
    """Our warnings (truncated or unknown input...) print as one line, without Python's source location."""

    def show(message, category, filename, lineno, file=None, line=None):
        if category is UserWarning:
            print(f"seqlab {command}: warning: {message}", file=file or sys.stderr)
        else:
            print(warnings.formatwarning(message, category, filename, lineno, line), end="", file=file or sys.stderr)

    warnings.showwarning = show


def main(argv: Sequence[str] | None = None) -> int:
    with warnings.catch_warnings():  # restores the warning printer when main() is called from Python
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    if args.command in ("translate", "predict"):  # texts given after an option land in ``extra``
        args.text += [arg for arg in extra if not arg.startswith("-")]
        extra = [arg for arg in extra if arg.startswith("-")]
    if extra and args.command != "train":
        parser.error(f"unrecognized arguments for {args.command}: {' '.join(extra)}")
    commands = {"demo": cmd_demo, "eval": cmd_eval, "translate": cmd_predict, "predict": cmd_predict,
                "generate": cmd_generate}
    _short_warnings(args.command)
    try:
        if args.command == "train":
            cmd_train(args, extra)
        elif getattr(args, "handler", None) is not None:  # command groups: seqlab data ..., seqlab text ...
            args.handler(args)
        elif args.command in commands:
            commands[args.command](args)
        else:  # a command group named without its subcommand
            parser.parse_args([args.command, "--help"])
    except SeqlabError as err:
        print(f"seqlab {args.command}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"seqlab {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `seqlab ... | head` closed the pipe: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at interpreter exit
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
