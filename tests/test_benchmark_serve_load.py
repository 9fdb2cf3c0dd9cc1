"""The serve load benchmark's own checks: the clients stop where they are bounded, count every error, and fail on
answers that disagree (the load itself runs in ``benchmarks/run.py --quick``)."""

import asyncio
import sys
from pathlib import Path

import pytest

pytest.importorskip("httpx")
sys.path.append(str(Path(__file__).resolve().parents[1] / "benchmarks"))  # scripts, not a package

import serve_load
from common import BenchmarkMismatch


def test_the_percentiles_are_latencies_that_were_measured():
    latencies = [i / 1000 for i in range(1, 101)]  # 1..100 ms
    assert serve_load.percentile(latencies, 50) == 0.050
    assert serve_load.percentile(latencies, 99) == 0.099
    assert serve_load.percentile([0.3], 99) == 0.3


def test_the_clients_stop_at_the_request_count_and_count_every_error():
    sent = []

    async def send(http, i):
        sent.append(i)
        await asyncio.sleep(0)
        if i % 5 == 0:
            raise serve_load.BadAnswer("HTTP 500: boom")
        return None

    stats = asyncio.run(serve_load.load([None] * 4, send, requests=10, seconds=60, warm_up=False))
    assert sorted(sent) == list(range(10))
    summary = stats.summary()
    assert (summary["requests"], summary["errors"], len(stats.latencies)) == (10, 2, 8)
    assert summary["first_errors"] == ["BadAnswer: HTTP 500: boom"]


def test_the_clients_stop_at_the_time_limit():
    async def send(http, i):
        await asyncio.sleep(0.01)
        return None

    stats = asyncio.run(serve_load.load([None] * 2, send, requests=10**9, seconds=0.1))
    assert 2 <= len(stats.latencies) <= 40 and stats.seconds < 1


def test_predictions_agree_to_the_tolerance_and_differ_only_at_a_tie():
    same = serve_load.same_prediction
    same({"label": "1", "probability": 0.90001}, {"label": "1", "probability": 0.9}, "text", tol=1e-4)
    same({"label": "0", "probability": 0.50001}, {"label": "1", "probability": 0.50002}, "text", tol=1e-4)
    with pytest.raises(BenchmarkMismatch, match="one at a time"):
        same({"label": "1", "probability": 0.91}, {"label": "1", "probability": 0.9}, "text", tol=1e-4,
             exception=BenchmarkMismatch)
    with pytest.raises(serve_load.BadAnswer):  # the label swapped, the probability kept: not a tie
        same({"label": "0", "probability": 0.9}, {"label": "1", "probability": 0.9}, "text", tol=1e-4,
             exception=serve_load.BadAnswer)


def test_server_sent_events_are_read_and_checked():
    assert serve_load.sse_event('data: {"text": "to be"}') == "to be"
    assert serve_load.sse_event("data: [DONE]") == ""
    assert serve_load.sse_event("") is None and serve_load.sse_event(": keep-alive") is None
    with pytest.raises(serve_load.BadAnswer):
        serve_load.sse_event('data: {"text": ""}')
    with pytest.raises(serve_load.BadAnswer):
        serve_load.well_formed({"label": "1", "probability": 1.5})
