"""Load test of ``seqlab serve`` on 127.0.0.1: requests/s, p50/p99 latency and errors for N concurrent clients of a
classifier and of streamed generation, and the speed-up of dynamic batching over one request at a time.

    taskset -c 1 python benchmarks/serve_load.py        # trains short runs, then loads: about 3 minutes, 1 core
    python benchmarks/serve_load.py --markdown          # the table as markdown too, for the README
    python benchmarks/serve_load.py --classifier runs/sst2_minilm --generator runs/shakespeare_gpt
    python benchmarks/run.py serve_load --quick         # the CI smoke run (tiny runs, tiny counts)

The runs: without ``--classifier`` / ``--generator`` the benchmark trains the shipped recipes for a few steps into a
temporary directory (sst2_minilm and sst2_bilstm at their recipe sizes, shakespeare_char_gpt at its; ``--quick``
trains a tiny BiLSTM and a tiny GPT). The weights are barely trained, which is honest for a speed test: the
arithmetic of a request does not depend on what the weights hold.

Two servers run side by side as subprocesses of this one, each on a free port: "batched" (the defaults,
``--max-batch 32 --wait-ms 5``) serves the classifiers and the language model, "one at a time" (``--max-batch 1
--wait-ms 0``) serves the classifiers. Each client is a coroutine with its own httpx.AsyncClient (its own
connection) that sends its next request when the last one is answered (a closed loop), until the request count or
the time limit is reached; its first request, which connects, is not timed. A classify request is one SST-2
validation sentence; a generate request streams (server-sent events) a fixed number of tokens from one of four
prompts with a fixed seed. Latency is from sending to the last byte; for a stream also to its first piece of text.
The classify rounds alternate between the two servers and each keeps its best round (background load on a shared
machine hits both alike).

Before timing, the run checks that both servers give the same label (probability to 1e-4; a different label only
for a tie at p = 0.5) for every sentence, sent concurrently so that the batched server really batches them, and
records each prompt's text streamed alone. Under load, every answer must be well-formed and equal to those
references (a stream's text too: concurrent streams must not disturb each other). An error (an HTTP status other
than 200, an exception, a malformed or different answer) fails the run, after the load that saw it.

The server and the clients share whatever CPUs this process may use (``taskset -c 1 python ...`` pins both to one
core); the table gives the CPU seconds each side used, since the clients' share is taken from the server. (httpx
costs about 0.6 ms of CPU per request with a client per connection, and over 1 ms, with a longer latency tail, when
16 coroutines share one AsyncClient's pool: hence a client each.) Inputs per model call come from the server's own
counts (GET /v1/models, "batching").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
from common import DATA_DIR, REPO, BenchmarkMismatch, check

from seqlab.serve.app import free_port, run_name


@dataclass(frozen=True)
class Settings:
    """The load, per mode; the command line overrides any of it."""

    clients: int = 16  # concurrent classify clients
    requests: int = 1500  # classify requests per round and server, at most
    seconds: float = 10.0  # per classify round and server, at most
    rounds: int = 2  # classify rounds per server, alternating; the best is kept
    gen_clients: int = 8  # concurrent streams
    streams: int = 64  # generate requests, at most
    gen_seconds: float = 30.0
    max_new_tokens: int = 32
    probe_seconds: float = 8.0  # one classify client alone, then beside the streams
    sentences: int = 128  # the SST-2 validation sentences sent (and checked)


QUICK = Settings(clients=8, requests=64, seconds=5, rounds=1, gen_clients=4, streams=8, gen_seconds=10,
                 max_new_tokens=8, probe_seconds=1.5, sentences=32)

BATCHED = ["--max-batch", "32", "--wait-ms", "5"]  # the serve defaults, spelt out
ONE_AT_A_TIME = ["--max-batch", "1", "--wait-ms", "0"]
TOKEN = secrets.token_urlsafe(16)  # the servers require it: the guard middleware runs as it would in production
PROMPTS = ["ROMEO:", "To be or not to be", "First Citizen:\n", "KING HENRY:"]
FALLBACK_SENTENCES = ["a charming and often affecting journey .", "unflinchingly bleak and desperate",
                      "the acting is superb", "a dull , lifeless mess of a movie ."]

# (directory name, recipe, overrides): a few steps, one sample of a few tokens; no evaluation before the end
_FEW_STEPS = ["--train.eval_every=100000"]
FULL_RUNS = {"classifiers": [("sst2_minilm", "sst2_minilm", ["--train.steps=5", "--train.batch_size=8"]),
                             ("sst2_bilstm", "sst2_bilstm", ["--train.steps=20"])],
             "generator": ("shakespeare_gpt", "shakespeare_char_gpt",
                           ["--train.steps=5", "--sample.n=1", "--sample.max_new_tokens=8"])}
QUICK_RUNS = {"classifiers": [("tiny_bilstm", "sst2_bilstm",
                               ["--train.steps=5", "--rnn.embed_dim=32", "--rnn.hidden_size=32"])],
              "generator": ("tiny_gpt", "shakespeare_char_gpt",
                            ["--train.steps=5", "--gpt.n_layers=1", "--gpt.d_model=32", "--gpt.n_heads=2",
                             "--sample.n=1", "--sample.max_new_tokens=8"])}


# ---- the runs ---------------------------------------------------------------------------------------------------


def train(name: str, recipe: str, overrides: list[str], out: Path) -> Path:
    """A recipe trained for a few steps into out/name with ``seqlab train`` (a subprocess, like a user would)."""
    run_dir = out / name
    cmd = [sys.executable, "-m", "seqlab", "train", str(REPO / "configs" / f"{recipe}.yaml"), "--out", str(run_dir),
           "--data-dir", str(DATA_DIR), "--quiet", *_FEW_STEPS, *overrides]
    done = subprocess.run(cmd, capture_output=True, text=True, env=_child_env())
    if done.returncode != 0:
        raise RuntimeError(f"training {recipe} failed ({' '.join(cmd)}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return run_dir


def _child_env() -> dict[str, str]:
    """Our environment, with one torch thread per CPU we may use unless OMP_NUM_THREADS says otherwise."""
    return {"OMP_NUM_THREADS": str(len(os.sched_getaffinity(0))), **os.environ}


def sentences(n: int) -> list[str]:
    """The first n SST-2 validation sentences (a fixed handful when the data are absent)."""
    if not (DATA_DIR / "sst2").is_dir():
        return (FALLBACK_SENTENCES * n)[:n]
    from seqlab.data import load

    return [example.text for example in load("sst2", "validation", data_dir=DATA_DIR)[:n]]


# ---- the servers ------------------------------------------------------------------------------------------------


@dataclass
class Server:
    label: str  # "batched" or "one at a time", for the table
    url: str
    process: subprocess.Popen
    log: Path

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (Linux /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(label: str, runs: list[Path], options: list[str], token: str, log: Path) -> Server:
    """``seqlab serve`` on a free port of 127.0.0.1, its output going to ``log``; not waited for."""
    port = free_port()
    cmd = [sys.executable, "-m", "seqlab", "serve", *map(str, runs), "--host", "127.0.0.1", "--port", str(port),
           "--token", token, *options]
    with open(log, "wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=_child_env())
    return Server(label, f"http://127.0.0.1:{port}", process, log)


def wait_ready(server: Server, names: list[str], token: str, timeout: float = 300.0) -> None:
    """Until GET /v1/models lists our runs: another program may hold the port once we let it go."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the {server.label} server exited ({server.process.returncode}):\n{_tail(server.log)}")
        with contextlib.suppress(httpx.TransportError):
            response = httpx.get(f"{server.url}/v1/models", headers={"Authorization": f"Bearer {token}"}, timeout=5)
            served = [m["name"] for m in response.json()["models"]] if response.status_code == 200 else []
            check(set(names) <= set(served), f"{server.url} serves {served}, not our {names}: another server?")
            return
        time.sleep(0.2)
    raise RuntimeError(f"the {server.label} server did not answer in {timeout:.0f} s:\n{_tail(server.log)}")


def stop_server(server: Server) -> None:
    """Ctrl-C (uvicorn finishes what is in flight), then a kill if it does not exit."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGINT)
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            print(f"the {server.label} server did not stop on SIGINT in 30 s: killed", file=sys.stderr)
            server.process.kill()
            server.process.wait()


@contextlib.contextmanager
def serving(specs: list[tuple[str, list[Path], list[str]]], token: str) -> Iterator[list[Server]]:
    """The servers (label, runs, options), started together (they load their models meanwhile) and stopped
    however the block ends."""
    with tempfile.TemporaryDirectory(prefix="serve_load_") as logs:
        servers: list[Server] = []
        try:
            for i, (label, runs, options) in enumerate(specs):
                servers.append(start_server(label, runs, options, token, Path(logs) / f"server{i}.log"))
            for server, (_, runs, _) in zip(servers, specs, strict=True):
                wait_ready(server, [run_name(run) for run in runs], token)
            yield servers
        finally:
            for server in servers:
                stop_server(server)


def _tail(log: Path, chars: int = 3000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.is_file() else ""


# ---- the clients ------------------------------------------------------------------------------------------------


class BadAnswer(Exception):
    """An answer that is not what the API promises, or differs from the reference."""


@dataclass
class Stats:
    """What one load (a server, a number of clients) measured."""

    clients: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, of the answered requests
    first_pieces: list[float] = field(default_factory=list)  # seconds to a stream's first text
    errors: list[str] = field(default_factory=list)
    cpu: tuple[float, float] | None = None  # CPU seconds of the server and of this process, when measured
    batching: tuple[int, int] | None = None  # model calls and the inputs in them (GET /v1/models), for classify

    def summary(self) -> dict:
        done = len(self.latencies)
        out = {"clients": self.clients, "requests": done + len(self.errors), "errors": len(self.errors),
               "seconds": round(self.seconds, 2), "requests_per_s": done / self.seconds if self.seconds else 0.0,
               "p50_ms": percentile(self.latencies, 50) * 1e3, "p99_ms": percentile(self.latencies, 99) * 1e3,
               "max_ms": max(self.latencies, default=0.0) * 1e3, "first_errors": sorted(set(self.errors))[:5]}
        if self.cpu is not None:
            out |= {"server_cpu_s": round(self.cpu[0], 2), "client_cpu_s": round(self.cpu[1], 2)}
        if self.batching is not None:
            out |= {"model_calls": self.batching[0], "items_per_call": self.batching[1] / max(self.batching[0], 1)}
        if self.first_pieces:
            out |= {"first_piece_p50_ms": percentile(self.first_pieces, 50) * 1e3,
                    "first_piece_p99_ms": percentile(self.first_pieces, 99) * 1e3}
        return out


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile: a value that was measured (p99 of 100 latencies is the 99th smallest)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * q / 100) - 1)]


# a request: (client, request number) -> seconds to the first piece of text (streams) or None
Send = Callable[[httpx.AsyncClient, int], Awaitable[float | None]]


async def load(https: Sequence[httpx.AsyncClient | None], send: Send, requests: int, seconds: float,
               server: Server | None = None, *, warm_up: bool = True) -> Stats:
    """A closed-loop client per connection of ``https`` (one AsyncClient each: a shared connection pool costs more
    CPU and serves its requests unfairly), sending until ``requests`` were sent or ``seconds`` passed; requests
    in flight then are finished and counted. With ``warm_up``, each client first sends one request, untimed, so
    that connecting is not measured."""
    stats, sent = Stats(len(https)), 0

    async def attempt(http: httpx.AsyncClient | None, i: int) -> tuple[float, float | None] | None:
        began = time.perf_counter()
        try:
            first = await send(http, i)
        except (httpx.HTTPError, BadAnswer, ValueError, KeyError, TypeError) as err:
            stats.errors.append(f"{type(err).__name__}: {err}"[:300])
            return None
        return time.perf_counter() - began, None if first is None else first - began

    async def client(http: httpx.AsyncClient | None) -> None:
        nonlocal sent
        while sent < requests and time.perf_counter() < deadline:
            i, sent = sent, sent + 1
            timing = await attempt(http, i)
            if timing is not None:
                stats.latencies.append(timing[0])
                if timing[1] is not None:
                    stats.first_pieces.append(timing[1])

    if warm_up:
        await asyncio.gather(*(attempt(http, k) for k, http in enumerate(https)))
    cpu = (server.cpu_seconds() if server else 0.0, time.process_time())
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(*(client(http) for http in https))
    stats.seconds = time.perf_counter() - start
    if server is not None:  # (a load beside another shares the CPU time with it: not measured)
        stats.cpu = (server.cpu_seconds() - cpu[0], time.process_time() - cpu[1])
    return stats


def _ok(response: httpx.Response) -> dict:
    if response.status_code != 200:
        raise BadAnswer(f"HTTP {response.status_code}: {response.text[:200]}")
    return response.json()


def classify_sender(server: Server, model: str, texts: list[str], reference: list[dict] | None) -> Send:
    """POST /v1/predict with text i % len(texts); the answer checked against the reference's when given."""

    async def send(http: httpx.AsyncClient, i: int) -> None:
        k = i % len(texts)
        body = _ok(await http.post(f"{server.url}/v1/predict", json={"model": model, "inputs": [texts[k]]}))
        outputs = body.get("outputs")
        if body.get("model") != model or not isinstance(outputs, list) or len(outputs) != 1:
            raise BadAnswer(f"not one output for one input: {str(body)[:200]}")
        answer = well_formed(outputs[0])
        if reference is not None:
            same_prediction(answer, reference[k], texts[k], tol=1e-4, exception=BadAnswer)

    return send


def well_formed(output: dict) -> dict:
    label, p = output.get("label"), output.get("probability")
    if not isinstance(label, str) or not isinstance(p, float) or not 0.0 <= p <= 1.0:
        raise BadAnswer(f"a prediction should be a label and a probability: {output}")
    return output


def same_prediction(ours: dict, reference: dict, text: str, *, tol: float, exception: type = AssertionError) -> None:
    """The same label with the same probability (to ``tol``); a different label only for a tie of the top two
    classes (both probabilities at most 1/2 + tol), which rounding may break either way."""
    p, q = ours["probability"], reference["probability"]
    tie = max(p, q) <= 0.5 + tol
    if abs(p - q) > tol or (ours["label"] != reference["label"] and not tie):
        raise exception(f"{text!r}: {ours} here, {reference} one at a time")


def sse_event(line: str) -> str | None:
    """The text of one server-sent-events line, "" for ``data: [DONE]``, None for a line that carries none."""
    if not line.startswith("data: "):
        return None
    data = line.removeprefix("data: ")
    if data == "[DONE]":
        return ""
    text = json.loads(data)["text"]
    if not isinstance(text, str) or not text:
        raise BadAnswer(f"an event without text: {line[:200]}")
    return text


def stream_sender(server: Server, model: str, max_new_tokens: int, reference: dict[int, str] | None,
                  texts: dict[int, str] | None = None) -> Send:
    """POST /v1/generate, streamed: prompt and seed i % 4; the text must end with [DONE] and match the reference
    (the same prompt and seed streamed alone). ``texts`` collects each prompt's text when given."""

    async def send(http: httpx.AsyncClient, i: int) -> float:
        k = i % len(PROMPTS)
        body = {"model": model, "prompt": PROMPTS[k], "max_new_tokens": max_new_tokens, "seed": k, "stream": True}
        pieces, first, done = [], None, False
        async with http.stream("POST", f"{server.url}/v1/generate", json=body) as response:
            if response.status_code != 200:
                await response.aread()
                _ok(response)
            async for line in response.aiter_lines():
                text = sse_event(line)
                if text is not None and done:
                    raise BadAnswer(f"an event after [DONE]: {line[:100]}")
                if text == "":
                    done = True
                elif text is not None:
                    first = first or time.perf_counter()
                    pieces.append(text)
        if not done or first is None:
            raise BadAnswer(f"the stream ended without text or without [DONE]: {''.join(pieces)!r}")
        if reference is not None and "".join(pieces) != reference[k]:
            raise BadAnswer(f"prompt {k}: {''.join(pieces)!r} under load, {reference[k]!r} alone")
        if texts is not None:
            texts[k] = "".join(pieces)
        return first

    return send


# ---- the benchmark ----------------------------------------------------------------------------------------------


async def predictions(https: Sequence[httpx.AsyncClient], server: Server, model: str, texts: list[str]
                      ) -> list[dict]:
    """Each text's prediction, sent by all clients at once (so a batching server batches them)."""
    answers: list[dict | None] = [None] * len(texts)

    async def record(http: httpx.AsyncClient, i: int) -> None:
        body = _ok(await http.post(f"{server.url}/v1/predict", json={"model": model, "inputs": [texts[i]]}))
        answers[i] = well_formed(body["outputs"][0])

    stats = await load(https, record, len(texts), float("inf"), warm_up=False)
    check(not stats.errors, f"{server.label} server, {model}: {stats.errors[:3]}")
    return answers


async def measure(batched: Server, single: Server, classifiers: list[str], generator: str | None, texts: list[str],
                  s: Settings) -> dict:
    """Checks first, then the classify rounds, the streams, and a classify client beside the streams."""
    results: dict = {"classify": {}, "generate": None, "probe": None}
    async with contextlib.AsyncExitStack() as stack:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        https = [await stack.enter_async_context(httpx.AsyncClient(headers=headers, timeout=120))
                 for _ in range(max(s.clients, s.gen_clients + 1))]
        clients = https[: s.clients]
        for model in classifiers:
            reference = await predictions(clients, single, model, texts)
            ours = await predictions(clients, batched, model, texts)
            for text, a, b in zip(texts, ours, reference, strict=True):
                same_prediction(a, b, text, tol=1e-4, exception=BenchmarkMismatch)
            rounds: dict[str, list[Stats]] = {batched.label: [], single.label: []}
            for _ in range(s.rounds):  # alternating, so background load hits both servers alike
                for server in (batched, single):
                    send = classify_sender(server, model, texts, reference)
                    before = await batch_counts(clients[0], server, model)
                    stats = await load(clients, send, s.requests, s.seconds, server)
                    after = await batch_counts(clients[0], server, model)
                    stats.batching = (after[0] - before[0], after[1] - before[1])  # the warm-up's included
                    rounds[server.label].append(stats)
            results["classify"][model] = {label: _best(stats) for label, stats in rounds.items()}
        if generator is not None:
            alone: dict[int, str] = {}
            one = stream_sender(batched, generator, s.max_new_tokens, None, alone)
            alone_stats = await load(https[:1], one, len(PROMPTS), float("inf"), warm_up=False)
            check(not alone_stats.errors, f"a stream alone failed: {alone_stats.errors[:3]}")
            streams = stream_sender(batched, generator, s.max_new_tokens, alone)
            results["generate"] = await load(https[: s.gen_clients], streams, s.streams, s.gen_seconds, batched)
            if classifiers:
                results["probe"] = await probe(https, batched, classifiers[0], texts, streams, s)
    return results


async def batch_counts(http: httpx.AsyncClient, server: Server, model: str) -> tuple[int, int]:
    """The model calls the server's batcher made for ``model``'s predictions so far, and the inputs in them."""
    served = (await http.get(f"{server.url}/v1/models")).json()["models"]
    counts = next(m for m in served if m["name"] == model)["batching"].get("predict", {})
    return counts.get("batches", 0), counts.get("items", 0)


def _best(rounds: list[Stats]) -> Stats:
    """The fastest round, unless one had errors: that one is reported (and fails the run)."""
    failed = [stats for stats in rounds if stats.errors]
    return failed[0] if failed else max(rounds, key=lambda stats: len(stats.latencies) / stats.seconds)


async def probe(https: list[httpx.AsyncClient], server: Server, model: str, texts: list[str], streams: Send,
                s: Settings) -> dict[str, Stats]:
    """One classify client alone, then the same beside ``gen_clients`` streams that run as long as it does."""
    send, one, many = classify_sender(server, model, texts, None), https[-1:], https[: s.gen_clients]
    alone = await load(one, send, 10**9, s.probe_seconds)
    during, background = await asyncio.gather(load(one, send, 10**9, s.probe_seconds),
                                              load(many, streams, 10**9, s.probe_seconds))
    return {"alone": alone, "during": during, "streams": background}


def build_runs(quick: bool, out: Path, classifiers: list[str] | None, generator: str | None
               ) -> tuple[list[Path], Path, list[str]]:
    """The runs given, or recipes trained for a few steps (in ``out``); with a note of how each was made."""
    recipes, notes = QUICK_RUNS if quick else FULL_RUNS, []
    if classifiers:
        clf_runs = [Path(c) for c in classifiers]
        notes += [f"{c}: given" for c in classifiers]
    else:
        clf_runs = [train(name, recipe, extra, out) for name, recipe, extra in recipes["classifiers"]]
        notes += [f"{name}: {recipe} recipe, {' '.join(extra)}" for name, recipe, extra in recipes["classifiers"]]
    if generator:
        gen_run, notes = Path(generator), [*notes, f"{generator}: given"]
    else:
        name, recipe, extra = recipes["generator"]
        gen_run, notes = train(name, recipe, extra, out), [*notes, f"{name}: {recipe} recipe, {' '.join(extra)}"]
    return clf_runs, gen_run, notes


def run(quick: bool = False, force_bf16: bool = False, *, classifiers: list[str] | None = None,
        generator: str | None = None, settings: Settings | None = None) -> list[dict]:
    """The benchmark's rows (run.py's table); ``force_bf16`` is accepted for the runner and unused (fp32)."""
    s = settings or (QUICK if quick else Settings())
    texts = sentences(s.sentences)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="serve_load_runs_") as tmp:
        clf_runs, gen_run, notes = build_runs(quick, Path(tmp), classifiers, generator)
        trained = time.perf_counter() - started
        specs = [("batched", [*clf_runs, gen_run], BATCHED), ("one at a time", clf_runs, ONE_AT_A_TIME)]
        with serving(specs, TOKEN) as (batched, single):
            names = [run_name(r) for r in clf_runs]
            results = asyncio.run(measure(batched, single, names, run_name(gen_run), texts, s))
    setup = {"settings": asdict(s), "runs": notes, "sentences": f"{len(texts)} SST-2 validation sentences",
             "prompts": PROMPTS, "servers": {"batched": BATCHED, "one at a time": ONE_AT_A_TIME},
             "cpus": sorted(os.sched_getaffinity(0)), "omp_num_threads": _child_env()["OMP_NUM_THREADS"],
             "train_seconds": round(trained, 1), "weights": "a few training steps: speed does not depend on them"}
    rows = table_rows(results, s)
    for row in rows:
        row["setup"] = setup
    failures = [f"{row['what']}: {row['stats']['first_errors']}" for row in rows
                if row.get("stats", {}).get("errors")]
    if failures:
        print_load_table(rows)  # what the loads measured, before the failure
    check(not failures, "errors under load:\n" + "\n".join(failures))
    return rows


def table_rows(results: dict, s: Settings) -> list[dict]:
    """run.py's rows: the speed-up of batching, and each load's requests/s, latency and errors as notes."""
    rows = []
    for model, best in results["classify"].items():
        fast, slow = best["batched"].summary(), best["one at a time"].summary()
        rows.append({"benchmark": "serve_load", "what": f"{model} req/s, {s.clients} clients: batched vs 1 by 1",
                     "precision": "fp32", "ours": fast["requests_per_s"], "reference": slow["requests_per_s"],
                     "ratio": fast["requests_per_s"] / (slow["requests_per_s"] or math.nan),
                     "reference_is": " ".join(ONE_AT_A_TIME)})
        for label, stats in (("batched", fast), ("one at a time", slow)):
            rows.append(_note_row(f"{model}, {label}", stats, load="classify", server=label))
    if results["generate"] is not None:
        stats = results["generate"].summary()
        stats["tokens_per_s"] = stats["requests_per_s"] * s.max_new_tokens
        rows.append(_note_row(f"generate, {s.gen_clients} streams of {s.max_new_tokens} tokens", stats,
                              load="generate", server="batched"))
    if results["probe"] is not None:
        for key, label in (("alone", "classify, 1 client alone"),
                           ("during", f"classify, 1 client beside {s.gen_clients} streams"),
                           ("streams", f"the {s.gen_clients} streams beside it")):
            rows.append(_note_row(label, results["probe"][key].summary(), load=f"probe: {key}", server="batched"))
    return rows


def _note_row(what: str, stats: dict, **extra) -> dict:
    note = (f"{stats['requests_per_s']:.1f} req/s, p50 {stats['p50_ms']:.0f} ms, p99 {stats['p99_ms']:.0f} ms, "
            f"{stats['errors']} errors / {stats['requests']}")
    if "first_piece_p50_ms" in stats:
        note += f", first piece p50 {stats['first_piece_p50_ms']:.0f} ms"
    return {"benchmark": "serve_load", "what": what, "precision": "fp32", "note": note, "stats": stats, **extra}


# ---- the table --------------------------------------------------------------------------------------------------

COLUMNS = ["load", "server", "clients", "requests", "errors", "req/s", "p50 ms", "p99 ms", "first piece p50/p99 ms",
           "inputs per model call", "CPU s server/clients"]


def load_table(rows: list[dict]) -> list[list[str]]:
    """One line per load (the rows that carry stats), then the batching speed-ups."""
    lines = []
    for row in rows:
        if "stats" not in row:
            continue
        st = row["stats"]
        first = (f"{st['first_piece_p50_ms']:.0f} / {st['first_piece_p99_ms']:.0f}" if "first_piece_p50_ms" in st
                 else "")
        lines.append([row["what"], row["server"], str(st["clients"]), str(st["requests"]), str(st["errors"]),
                      f"{st['requests_per_s']:.1f}", f"{st['p50_ms']:.1f}", f"{st['p99_ms']:.1f}", first,
                      f"{st['items_per_call']:.1f}" if "items_per_call" in st else "",
                      f"{st['server_cpu_s']:.1f} / {st['client_cpu_s']:.1f}" if "server_cpu_s" in st else ""])
    return lines


def print_load_table(rows: list[dict], markdown: bool = False) -> None:
    """The loads as a table (markdown for the README), the speed-ups of batching, and how the runs were made."""
    lines = load_table(rows)
    speedups = [f"dynamic batching, {r['what']}: {r['ours']:.1f} vs {r['reference']:.1f} = {r['ratio']:.2f}x"
                for r in rows if "ratio" in r]
    setup = rows[0]["setup"] if rows else {}
    notes = [f"runs: {'; '.join(setup['runs'])} ({setup['weights']})",
             f"server and clients on CPUs {setup['cpus']}, OMP_NUM_THREADS={setup['omp_num_threads']}"] if setup else []
    if markdown:
        print("| " + " | ".join(COLUMNS) + " |")
        print("|" + "|".join("---" if i < 2 else "---:" for i in range(len(COLUMNS))) + "|")
        for line in lines:
            print("| " + " | ".join(line) + " |")
        print()
        for line in speedups + notes:
            print(f"- {line}")
        return
    widths = [max(len(c), *(len(line[i]) for line in lines)) for i, c in enumerate(COLUMNS)]
    for line in [COLUMNS, *lines]:
        cells = zip(line, widths, strict=True)
        print("  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(cells)))
    print("\n".join(speedups + notes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny runs and counts: a smoke run (CI)")
    parser.add_argument("--classifier", action="append", metavar="RUN", help="a classifier run (repeatable)")
    parser.add_argument("--generator", metavar="RUN", help="a language-model run")
    parser.add_argument("--markdown", action="store_true", help="also print the table as markdown (README)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"), help="JSON output directory")
    defaults = QUICK if "--quick" in sys.argv else Settings()
    for name, value in asdict(defaults).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    args = parser.parse_args()
    settings = Settings(**{name: getattr(args, name) for name in asdict(defaults)})
    start = time.perf_counter()
    rows = run(args.quick, classifiers=args.classifier, generator=args.generator, settings=settings)
    print_load_table(rows)
    if args.markdown:
        print()
        print_load_table(rows, markdown=True)
    from run import machine  # run.py imports every benchmark: only now

    out = Path(args.out) / "serve_load.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"name": "serve_load", "quick": args.quick, "machine": machine(), "rows": rows,
                               "seconds": round(time.perf_counter() - start, 1)}, indent=2))
    print(f"wrote {out} ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
