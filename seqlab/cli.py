"""The ``seqlab`` command line.

    seqlab demo [--out DIR] [--minutes M]
    seqlab train CONFIG|RECIPE [--out DIR] [--data-dir D] [--resume] [--print-config] [--key.sub=value ...]
    seqlab train --list                  (the recipes shipped with seqlab, by name)
    seqlab eval MODEL_DIR [--split test] [--data-dir D] [--out DIR] [--beam N] [--json]
    seqlab translate|predict MODEL_DIR [TEXT ...] [--file F]  (texts from standard input when none are given)
    seqlab generate MODEL_DIR [--prompt TEXT | --file F] [--max-new-tokens N] [--temperature T] [--top-k K]
                    [--top-p P] [--repetition-penalty R] [-n N] [--seed S] [--stop TEXT] [--beam K]
    seqlab export MODEL_DIR OUT_DIR      (a GPT run as a Hugging Face GPT2LMHeadModel directory)
    seqlab viz gradients [--out gradients.png]

Bad input gets one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import re
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from seqlab.errors import ConfigError, SeqlabError
from seqlab.io import check_output_dir, read_line_batches

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


def _input_batches(args: argparse.Namespace) -> Iterator[list[tuple[int, str]]]:
    """Batches of (line number, text): the TEXT arguments, else the lines of --file, else standard input, all read
    by one line reader (lines end at \\n only). A blank line answers with a blank line, so outputs stay aligned
    with input lines. Checked before anything is loaded; the lines themselves are read as they arrive."""
    if args.file and args.text:
        raise SeqlabError("give the input as TEXT arguments or with --file, not both")
    if args.text:
        for i, text in enumerate(args.text, 1):
            if not text.strip():
                raise SeqlabError(f"input {i} is empty: give some text")
        return iter([list(enumerate(args.text, 1))])
    if args.file:
        path = Path(args.file)
        if not path.is_file():
            raise SeqlabError(f"--file {path}: {'not a regular file' if path.exists() else 'no such file'}")
        return read_line_batches(path)
    stdin = _stdin_reader()
    if stdin is None:
        raise SeqlabError("no input text: pass TEXT arguments, --file FILE, or pipe lines on standard input")
    return read_line_batches(stdin, name="standard input")


def _stdin_reader() -> int | Callable[[int], bytes] | None:
    """Standard input when it is a pipe or a file (not a terminal), as a descriptor, or as a read function where
    it has been replaced by a text stream (notebooks, tests)."""
    stream = sys.stdin
    if stream is None:
        return None
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        if not hasattr(stream, "read"):
            return None
        return lambda n: stream.read(n).encode("utf-8", "surrogateescape")
    return None if os.isatty(fd) else fd


def _answer_lines(batches: Iterator[list[tuple[int, str]]], answer: Callable[[list[str]], list[str]], *,
                  what: str = "input text") -> None:
    """Print one answer line per input line (``answer`` escapes what the model wrote), a batch at a time, flushed
    as soon as it is ready."""
    seen = False
    for batch in batches:
        texts = [text for _, text in batch if text.strip()]
        outputs = iter(answer(texts) if texts else [])
        for _, text in batch:
            print(next(outputs) if text.strip() else "")
        sys.stdout.flush()
        seen = seen or bool(texts)
    if not seen:
        raise SeqlabError(f"no {what}: every line was empty")


_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROLS_BUT_LAYOUT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def escape_controls(text: str, *, keep_layout: bool = False) -> str:
    """Model output is data: a control character (an ANSI escape, a carriage return, a line break in a one-line
    answer) is shown as its escape (\\x1b, \\r, \\n) instead of reaching the terminal. ``keep_layout`` keeps
    newlines and tabs (generated text has lines)."""
    pattern = _CONTROLS_BUT_LAYOUT if keep_layout else _CONTROLS
    return pattern.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _int_in(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must lie in {low}..{high:,}, got {value}")
        return value

    return parse


def _float_in(low: float, high: float, *, open_low: bool = False) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not (math.isfinite(value) and (low < value if open_low else low <= value) and value <= high):
            raise argparse.ArgumentTypeError(f"must lie in {'(' if open_low else '['}{low:g}, {high:g}], got {text}")
        return value

    return parse


MAX_BEAM = 64  # wider beams search no better (and often worse: Koehn & Knowles 2017) and cost beam x the time
MAX_NEW_TOKENS = 100_000
MAX_SAMPLES = 100


def cmd_demo(args: argparse.Namespace) -> None:
    from seqlab.runner import demo

    check_output_dir(args.out)
    print(f"seqlab demo: date normalisation with a Transformer, up to {args.minutes:g} minutes, into {args.out}")
    metrics = demo(args.out, minutes=args.minutes, progress=not args.quiet, overwrite=args.overwrite)
    _report(metrics, Path(args.out))
    print(f"\nTry: seqlab translate {args.out} \"4th of July 2019\"")


def _report(metrics: dict, out: Path) -> None:
    if "exact_match" not in metrics:  # classifiers, taggers, language models: their headline numbers
        from seqlab.report import scalar_metrics, text_table

        print(text_table([{"metric": k, "value": v} for k, v in scalar_metrics(metrics).items() if v is not None]))
        for sample in metrics.get("samples", [])[:1]:
            print(f"\nsample:\n{sample}")
        for texts in metrics.get("more_samples", {}).values():
            print(f"\nsample:\n{texts[0]}")
    else:
        print(f"\nexact match on {metrics['n_test']} held-out test dates: {metrics['exact_match']:.4f}")
        print(f"{metrics['steps']} steps, {metrics['parameters']:,} parameters, {metrics['precision']} on "
              f"{metrics['device']}, {metrics['total_seconds']:.0f} s in all")
        if metrics.get("stopped_by") == "time budget":
            print("training was stopped by the time budget, not by convergence: a longer run (--minutes) does better")
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
                    resume=args.resume, overwrite=args.overwrite)
    if metrics:  # rank 0 of a torchrun group reports; the other processes return nothing
        _report(metrics, Path(out))


def cmd_eval(args: argparse.Namespace) -> None:
    """Each task supplies ``evaluate(run_dir, split=, data_dir=, beam_size=, out_dir=) -> (metrics, ReportParts)``;
    this command prints the numbers and writes metrics.json (merged) and report.md into --out."""
    import shlex

    from seqlab.report import scalar_metrics, text_table, write_report
    from seqlab.tasks import check_run_dir, get_task, read_run_config

    run_dir = check_run_dir(args.model_dir)
    out = check_output_dir(args.out) if args.out else run_dir
    task = get_task(read_run_config(run_dir).task)
    split = {"split": args.split} if args.split else {}  # else the task's held-out default
    if args.stride is not None:
        if read_run_config(run_dir).task != "lm":
            raise SeqlabError("--stride is for language models (the lm task)")
        split["stride"] = args.stride
    metrics, parts = task.evaluate(run_dir, **split, data_dir=args.data_dir, beam_size=args.beam, out_dir=out)
    args.split = metrics.get("split", args.split or "test")
    command = ["seqlab", "eval", str(args.model_dir), "--split", args.split, "--beam", str(args.beam)]
    command += ["--stride", str(args.stride)] if args.stride else []
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
    """Translate (seq2seq), classify (label and probability), tag (token/TAG), fill in [MASK] (a pre-trained
    BERT: the top 5 pieces with probabilities) or forecast (a line of numbers: the next values) for each input line."""
    from seqlab.tasks import load_run as load
    from seqlab.tasks.series import parse_values

    batches = _input_batches(args)
    if getattr(args, "story", None) is not None or getattr(args, "plot", None) is not None:
        return _answer_questions(args, batches, load)
    predictor = load(args.model_dir)
    if hasattr(predictor, "read_story"):
        raise SeqlabError(f"{args.model_dir} answers questions about a story: give it with --story FILE")
    if hasattr(predictor, "translate"):
        _answer_lines(batches, lambda texts: [escape_controls(out) for out in
                                              predictor.translate(texts, beam_size=args.beam, alpha=args.alpha)])
    elif hasattr(predictor, "nearest"):  # word vectors: the nearest words to a word or "king - man + woman"
        _answer_lines(batches, lambda texts: [escape_controls(line) for line in predictor.nearest(texts)])
    elif hasattr(predictor, "forecast"):  # a forecaster: each line is a history, the answer its next values
        _answer_lines(batches, lambda texts: ["\t".join(f"{v:.6g}" for v in predictor.forecast(
            parse_values(t, i))) for i, t in enumerate(texts, 1)])
    elif hasattr(predictor, "predict"):
        _answer_lines(batches, lambda texts: [f"{escape_controls(str(label))}\t{p:.4f}"
                                              for label, p in predictor.predict(texts)])
    elif hasattr(predictor, "fill_mask"):
        _answer_lines(batches, lambda texts: [escape_controls(line) for line in predictor.fill_mask(texts)])
    elif hasattr(predictor, "tag"):
        _answer_lines(batches, lambda texts: [" ".join(f"{escape_controls(tok)}/{tag}" for tok, tag in predictor.tag(t))
                                              for t in texts])
    else:
        raise SeqlabError(f"{args.model_dir} holds a language model: use seqlab generate {args.model_dir} "
                          "--prompt TEXT")


def _answer_questions(args: argparse.Namespace, batches: Iterator[list[tuple[int, str]]],
                      load: Callable[[str], object]) -> None:
    """A memory network: each question about the --story, answered with the sentences each hop attended;
    --plot saves the attention per hop (sentences x hops) of the last question."""
    if args.story is None:
        raise SeqlabError("--plot draws a memory network's attention over a story: give the story with --story FILE")
    predictor = load(args.model_dir)
    if not hasattr(predictor, "read_story"):
        raise SeqlabError(f"{args.model_dir} does not read stories: --story needs a memory network (task babi)")
    story = predictor.read_story(args.story)
    reading = None
    for batch in batches:
        for _, question in batch:
            if not question.strip():
                print()
                continue
            reading = predictor.answer(story, question)
            print("\n".join("\t".join(map(escape_controls, line.split("\t"))) for line in reading.lines()), flush=True)
    if args.plot and reading is not None:
        reading.plot(args.plot)
        print(f"attention per hop: {args.plot}", file=sys.stderr)


def cmd_generate(args: argparse.Namespace) -> None:
    from seqlab.tasks import check_run_dir, read_run_config
    from seqlab.tasks import load_run as load

    if args.prompt and args.prompt_option:
        raise SeqlabError("give the prompt once: as PROMPT or as --prompt")
    if args.file and (args.prompt or args.prompt_option):
        raise SeqlabError("give the prompt as PROMPT, --prompt or --file, not two of them")
    if args.beam > 1 and args.n > 1:
        raise SeqlabError("--beam returns the one most probable continuation: use it with -n 1")
    if args.file:
        path = Path(args.file)
        if not path.is_file():
            raise SeqlabError(f"--file {path}: {'not a regular file' if path.exists() else 'no such file'}")
    run_dir = check_run_dir(args.model_dir)
    model = load(run_dir)
    if not hasattr(model, "generate"):
        task = read_run_config(run_dir).task
        use = "translate" if hasattr(model, "translate") else "predict"
        raise SeqlabError(f"{args.model_dir} holds a '{task}' model, which does not generate text; "
                          f"generate needs a language model (use: seqlab {use} {args.model_dir} TEXT)")
    defaults = model.config.sample
    max_new = defaults.max_new_tokens if args.max_new_tokens is None else args.max_new_tokens
    options = dict(max_new_tokens=max_new, top_k=args.top_k, top_p=args.top_p, seed=args.seed, stop=args.stop,
                   repetition_penalty=args.repetition_penalty, beam=args.beam,
                   temperature=defaults.temperature if args.temperature is None else args.temperature)
    prompt = args.prompt or args.prompt_option
    source = read_line_batches(Path(args.file)) if args.file else None
    if source is None and not prompt:
        stdin = _stdin_reader()
        source = None if stdin is None else read_line_batches(stdin, name="standard input")
    if source is None:
        _generate(model, prompt or "", args.n, options)
        return
    first = True  # one prompt per input line, each answered as soon as its line is read
    for batch in source:
        for _, line in batch:
            if not first:
                print("-" * 40)
            _generate(model, line, args.n, options)
            first = False
    if first and not args.file:  # nothing was piped in (e.g. </dev/null): sample from the empty prompt
        _generate(model, "", args.n, options)


def _generate(model, prompt: str, n: int, options: dict) -> None:
    """One sample streams token by token as it is generated; several (or a beam search) are printed when done."""
    if n == 1 and options["beam"] == 1:
        print(escape_controls(prompt, keep_layout=True), end="", flush=True)
        stream_options = {k: v for k, v in options.items() if k != "beam"}
        for piece in model.stream(prompt, **stream_options):
            print(escape_controls(piece, keep_layout=True), end="", flush=True)
        print(flush=True)
        return
    for i, sample in enumerate(model.generate(prompt, n=n, **options)):
        if i:
            print("\n" + "-" * 40)
        print(escape_controls(sample, keep_layout=True), flush=True)


def cmd_serve(args: argparse.Namespace) -> None:
    """Serve trained runs over HTTP (seqlab.serve.app) until Ctrl-C / SIGTERM; in-flight requests finish first."""
    try:
        import uvicorn

        from seqlab.serve.app import ServeConfig, create_app, load_models
    except ImportError as err:
        raise SeqlabError(f"seqlab serve needs fastapi and uvicorn: pip install 'seqlab[serve]' ({err})") from None
    token = args.token or os.environ.get("SEQLAB_TOKEN") or None
    if args.host not in ("127.0.0.1", "localhost", "::1") and token is None:
        print(f"seqlab serve: warning: listening on {args.host} without --token: anyone who reaches it can use it",
              file=sys.stderr)
    models = load_models(args.runs)
    # the models' many long-lived objects leave the garbage collector's scans: a full collection under load was a
    # 100 ms pause of every request in flight (the p99 of benchmarks/serve_load.py), 12-25 ms once frozen
    gc.collect()
    gc.freeze()
    config = ServeConfig(token=token, max_batch=args.max_batch, wait_ms=args.wait_ms, timeout_s=args.timeout)
    for model in models.values():
        print(f"serving {model.name} ({model.path}): {', '.join(model.capabilities) or 'nothing'}", file=sys.stderr)
    print(f"the attention explorer: http://{args.host}:{args.port}/explorer", file=sys.stderr)
    uvicorn.run(create_app(models, config), host=args.host, port=args.port, log_level="warning",
                timeout_graceful_shutdown=args.timeout)


def cmd_export(args: argparse.Namespace) -> None:
    """A trained GPT run as a Hugging Face directory (config.json, model.safetensors, tokenizer.json for BPE)."""
    from seqlab.tasks import load_run as load

    model = load(args.model_dir)
    if not hasattr(model, "save_hf"):
        raise SeqlabError(f"{args.model_dir}: only GPT language models export to Hugging Face (GPT2LMHeadModel)")
    out = Path(args.out)
    if out.is_dir() and any(out.iterdir()):
        raise SeqlabError(f"{args.out} is not empty: export writes into a new or empty directory")
    out = model.save_hf(out)
    print(f"wrote {', '.join(sorted(p.name for p in out.iterdir()))} to {out}/ "
          "(transformers.GPT2LMHeadModel.from_pretrained loads it)")


def build_parser() -> _Parser:
    from seqlab import __version__

    parser = _Parser(prog="seqlab", description="Sequence models from bag-of-words to Transformers: "
                     "train, evaluate and use them.")
    parser.add_argument("--version", action="version", version=f"seqlab {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show Python's traceback for an error (also: SEQLAB_DEBUG=1; may follow the command)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("demo", help="train the date-normalisation Transformer (no download) and report",
                       description="Generate free-form dates in English, French, German and Spanish, train a "
                       "character-level Transformer to write them as ISO 8601, report exact match on held-out "
                       "dates, and save model, vocabulary, metrics and plots.")
    p.add_argument("--out", default="runs/demo", help="run directory to write (default: runs/demo)")
    p.add_argument("--minutes", type=float, default=4.0, help="time budget for the whole run (default: 4)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--overwrite", action="store_true", help="replace the run --out already holds")

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
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run --out already holds (without it, such a directory is refused)")
    p.add_argument("--print-config", action="store_true", help="print the resolved config (YAML) and exit")

    p = sub.add_parser("eval", help="score a trained run on a split; write metrics.json, report.md and plots",
                       description="Evaluate the model in MODEL_DIR on a split of its task's data, print a table "
                       "and write the report (report.md, plots, metrics.json merged under eval_<split>_beam<N>) "
                       "into --out.")
    p.add_argument("model_dir")
    p.add_argument("--split", default=None,
                   help="which split to score (default: test, or validation where the dataset has no test split)")
    p.add_argument("--data-dir", help="dataset directory (else $SEQLAB_DATA_DIR, else the download cache)")
    p.add_argument("--out", help="directory for the report (default: MODEL_DIR)")
    p.add_argument("--beam", type=_int_in(1, MAX_BEAM), default=1, help=f"beam size (1 = greedy, at most {MAX_BEAM})")
    p.add_argument("--stride", type=_int_in(1, 1 << 20), default=None,
                   help="a GPT language model reads the split in windows every STRIDE tokens (default: the recipe's "
                        "data.eval_stride; 1 = the sliding window, one full window a token)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON instead of tables")

    for name, text in [("translate", "map texts through a sequence-to-sequence model"),
                       ("predict", "run a trained model on texts: classifiers print label and probability, taggers "
                        "token/TAG pairs, seq2seq models translate")]:
        p = sub.add_parser(name, help=text, description=f"{text[0].upper()}{text[1:]}. Texts come from the "
                           "arguments, or one per line on standard input.")
        p.add_argument("model_dir")
        p.add_argument("text", nargs="*", help="input texts")
        p.add_argument("--file", help="a UTF-8 file with one input per line")
        p.add_argument("--beam", type=_int_in(1, MAX_BEAM), default=1,
                       help=f"beam size (1 = greedy, at most {MAX_BEAM})")
        p.add_argument("--alpha", type=_float_in(0, 10), default=0.6, help="beam length penalty ((5+|Y|)/6)^alpha")
        if name == "predict":
            p.add_argument("--story", help="memory networks: a story file (one sentence per line); the texts are "
                           "questions about it, answered with the sentences each hop attended")
            p.add_argument("--plot", help="with --story: save the last question's attention per hop as this PNG")

    p = sub.add_parser("generate", help="sample text from a language model",
                       description="Continue a prompt with a trained language model (temperature, top-k and "
                       "top-p sampling).")
    p.add_argument("model_dir")
    p.add_argument("prompt", nargs="?", default="", help="text to continue (or --prompt)")
    p.add_argument("--prompt", dest="prompt_option", default="", help="text to continue")
    p.add_argument("--max-new-tokens", type=_int_in(0, MAX_NEW_TOKENS), default=None,
                   help="tokens to add (default: the model's, 300)")
    p.add_argument("--temperature", type=_float_in(0, 100), default=None,
                   help="0 = greedy; below 1 = safer (default 0.8)")
    p.add_argument("--top-k", type=_int_in(1, 2**31 - 1), default=None, help="sample among the k most likely tokens")
    p.add_argument("--top-p", type=_float_in(0, 1, open_low=True), default=None,
                   help="sample within the top-p probability mass")
    p.add_argument("--seed", type=_int_in(0, 2**63 - 1), default=None, help="random seed, for a repeatable sample")
    p.add_argument("-n", "--num-samples", dest="n", type=_int_in(1, MAX_SAMPLES), default=1,
                   help="number of samples (one sample streams as it is generated)")
    p.add_argument("--repetition-penalty", type=_float_in(0, 100, open_low=True), default=1.0,
                   help="divide the logits of tokens already in the text by this (1 = off; 1.2 is usual)")
    p.add_argument("--beam", type=_int_in(1, MAX_BEAM), default=1,
                   help="beam search of this width for the most probable continuation (1 = sample)")
    p.add_argument("--file", help="a UTF-8 file with one prompt per line")
    p.add_argument("--stop", action="append", default=[], metavar="TEXT",
                   help="stop a sample once its new text holds TEXT (repeatable)")

    p = sub.add_parser("export", help="write a GPT run as a Hugging Face model directory",
                       description="Export a trained GPT language model to a directory that "
                       "transformers.GPT2LMHeadModel.from_pretrained loads.")
    p.add_argument("model_dir")
    p.add_argument("out", help="the directory to write")

    p = sub.add_parser("serve", help="serve trained runs over HTTP (JSON API, dynamic batching, streaming)",
                       description="Serve trained runs over HTTP: GET /v1/models, POST /v1/predict, /v1/translate, "
                       "/v1/fill-mask, /v1/generate (\"stream\": true for server-sent events), /v1/embed, "
                       "/v1/attention; the attention explorer is at /explorer, the OpenAPI page at /docs. Needs the "
                       "serve extra (fastapi, uvicorn).")
    p.add_argument("runs", nargs="+", metavar="RUN", help="trained run directories, served by their names; "
                   "all-MiniLM-L6-v2 serves the pretrained sentence encoder (embeddings, attention)")
    p.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: this machine only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--token", help="require 'Authorization: Bearer TOKEN' (default: $SEQLAB_TOKEN, else none)")
    p.add_argument("--max-batch", type=int, default=32, help="inputs per model call when batching requests")
    p.add_argument("--wait-ms", type=float, default=5.0, help="how long a request waits for others to batch with")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per request (and to finish on shutdown)")

    from seqlab.data.cli import add_commands as add_data_commands
    from seqlab.text.cli import add_commands as add_text_commands
    from seqlab.text.vectors_cli import add_commands as add_vectors_commands
    from seqlab.viz.cli import add_commands as add_viz_commands

    add_data_commands(sub)
    add_text_commands(sub)
    add_vectors_commands(sub)
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
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("SEQLAB_DEBUG", "") not in ("", "0")
    argv = [arg for arg in argv if arg != "--debug"]  # accepted anywhere, also after the command
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
    except SystemExit as done:  # --help, --version, a usage error: argparse has printed it
        return done.code if isinstance(done.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    if args.command in ("translate", "predict"):  # texts given after an option land in ``extra``
        args.text += [arg for arg in extra if not arg.startswith("-")]
        extra = [arg for arg in extra if arg.startswith("-")]
    if extra and args.command != "train":
        parser.error(f"unrecognized arguments for {args.command}: {' '.join(extra)}")
    _short_warnings(args.command)
    try:
        _run(parser, args, extra)
    except Exception as err:
        if debug and not isinstance(err, SeqlabError | BrokenPipeError):
            raise
        return _report_error(args.command, err, debug)
    except KeyboardInterrupt:
        print(f"seqlab {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C
EXIT_INTERNAL = 1


def _run(parser: _Parser, args: argparse.Namespace, extra: list[str]) -> None:
    commands = {"demo": cmd_demo, "eval": cmd_eval, "translate": cmd_predict, "predict": cmd_predict,
                "generate": cmd_generate, "export": cmd_export, "serve": cmd_serve}
    if args.command == "train":
        cmd_train(args, extra)
    elif getattr(args, "handler", None) is not None:  # command groups: seqlab data ..., seqlab text ...
        args.handler(args)
    elif args.command in commands:
        commands[args.command](args)
    else:  # a command group named without its subcommand
        parser.parse_args([args.command, "--help"])


def _report_error(command: str, err: Exception, debug: bool) -> int:
    """One line on stderr for any error; the exit code says whose it was: 2 bad input (a SeqlabError, a file that
    cannot be read or written), 128 + N a signal that stopped training after its checkpoint, 1 a fault of ours."""
    from seqlab.errors import describe_error

    if isinstance(err, BrokenPipeError):  # `seqlab ... | head` closed the pipe: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at interpreter exit
        return 0
    if debug and isinstance(err, SeqlabError):
        traceback.print_exception(err, file=sys.stderr)
    message, code = describe_error(err)
    if code == EXIT_INTERNAL:
        message += " (run with --debug for the traceback)"
    print(f"seqlab {command}: error: {message}", file=sys.stderr)
    return 128 + err.signal if getattr(err, "signal", None) else code


if __name__ == "__main__":
    sys.exit(main())
