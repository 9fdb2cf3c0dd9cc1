"""``seqlab serve``: trained runs behind a JSON API (FastAPI on uvicorn), with dynamic batching.

    seqlab serve runs/sst2 runs/m30k --port 8000 --token SECRET
    curl -H "Authorization: Bearer SECRET" localhost:8000/v1/models
    curl -H "Authorization: Bearer SECRET" -d '{"model": "sst2", "inputs": ["a fine film"]}' localhost:8000/v1/predict

Each run is served under its directory's name; ``all-MiniLM-L6-v2`` serves the pretrained sentence encoder. What a
run can do follows from its predictor: ``predict`` (classifiers: label and probability), ``translate``, ``fill_mask``,
``generate`` (with ``"stream": true``, server-sent events, one event per piece of text), and through its family's
adapter (seqlab.serve.adapters) ``embed`` and ``attention``. Bad input is an HTTP 4xx whose body is one line of JSON,
``{"error": "..."}``; the OpenAPI page is at /docs, the attention explorer at /explorer.
"""

# no "from __future__ import annotations": FastAPI reads the endpoints' annotations, and the schemas are imported
# inside create_app (pydantic only when serving), where string annotations could not find them
import asyncio
import hmac
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqlab.errors import SeqlabError
from seqlab.serve.adapters import MAX_TOKENS, Adapter, TooLong, adapter_for, attention_view, classifies, embed
from seqlab.serve.batcher import DynamicBatcher

CAPABILITIES = ("predict", "translate", "fill_mask", "generate")  # a predictor's own methods
STATIC = Path(__file__).parent / "static"  # the attention explorer
VERBS = {"fill_mask": "fill-mask", "attention": "show its attention"}  # for "model X cannot ..."


@dataclass
class ServeConfig:
    max_batch: int = 32  # items per model call
    wait_ms: float = 5.0  # how long the first request of a batch waits for others
    max_items: int = 64  # inputs per request
    max_chars: int = 2000  # characters per input
    max_body: int = 1 << 20  # bytes per request body
    timeout_s: float = 30.0  # per request
    max_new_tokens: int = 512  # generation
    max_attention_tokens: int = MAX_TOKENS  # rows and columns of an attention view
    token: str | None = None  # Authorization: Bearer <token> on every endpoint when set


@dataclass
class Served:
    """One run: its predictor, what it can do, and a batcher per batched capability."""

    name: str
    path: str
    predictor: Any
    capabilities: list[str]
    adapter: Adapter | None = None  # its family's attention and embeddings (seqlab.serve.adapters)
    batchers: dict[str, DynamicBatcher] = field(default_factory=dict)

    @property
    def family(self) -> str | None:
        return None if self.adapter is None else self.adapter.family


def capabilities(predictor: Any, adapter: Adapter | None = None) -> list[str]:
    found = [c for c in CAPABILITIES if hasattr(predictor, c) and (c != "predict" or classifies(predictor))]
    if adapter is not None:
        found += [c for c in ("embed", "attention") if getattr(adapter, c) is not None]
    return found


def load_model(run_dir: str | Path) -> Any:
    """A run directory's predictor, or a pretrained model by name (all-MiniLM-L6-v2: its sentence encoder)."""
    from seqlab.models.bert import PRETRAINED, load_sentence_encoder
    from seqlab.tasks import load_run

    if str(run_dir) in PRETRAINED and not Path(run_dir).exists():
        return load_sentence_encoder(str(run_dir))
    return load_run(run_dir)


def load_models(run_dirs: list[str | Path]) -> dict[str, Served]:
    """Each run directory loaded once, named by its directory (a pretrained model by its name)."""
    models: dict[str, Served] = {}
    for run_dir in run_dirs:
        name = run_name(run_dir)
        if name in models:
            raise SeqlabError(f"two runs are named {name!r} ({models[name].path} and {run_dir}): rename one")
        models[name] = served_model(name, str(run_dir), load_model(run_dir))
    return models


def run_name(run_dir: str | Path) -> str:
    """A run is served under its directory's name (a link's own name, not its target's)."""
    return Path(os.path.abspath(run_dir)).name


def served_model(name: str, path: str, predictor: Any) -> Served:
    adapter = adapter_for(predictor)
    return Served(name, path, predictor, capabilities(predictor, adapter), adapter)


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _batch_function(served: Served, capability: str) -> Callable[[list[Any]], list[Any]]:
    predictor = served.predictor
    functions = {
        "predict": lambda texts: [{"label": label, "probability": p} for label, p in predictor.predict(texts)],
        "translate": lambda texts: [{"translation": t} for t in predictor.translate(texts)],
        "fill_mask": lambda texts: [{"predictions": p} for p in predictor.fill_mask(texts)],
        "embed": lambda texts: [{"embedding": v.tolist()} for v in embed(predictor, texts, adapter=served.adapter)],
    }
    return functions[capability]


def create_app(models: Mapping[str, Served], config: ServeConfig | None = None):
    """The FastAPI application serving ``models``."""
    from fastapi import Depends, FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
    from fastapi.security import HTTPBearer
    from fastapi.staticfiles import StaticFiles

    from seqlab.serve.schemas import (
        Attention,
        AttentionRequest,
        Embedding,
        Filled,
        Generated,
        GenerateRequest,
        Inputs,
        Models,
        Prediction,
        Translation,
        outputs_of,
    )

    config = config or ServeConfig()
    # with a token, the OpenAPI page offers "Authorize" (the check itself is the guard below)
    bearer = [Depends(HTTPBearer(auto_error=False))] if config.token is not None else []
    app = FastAPI(title="seqlab", description="Trained seqlab runs behind an HTTP API.", version="1",
                  dependencies=bearer)

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    app.add_middleware(BodyLimit, limit=config.max_body)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, err: ApiError) -> JSONResponse:
        return error(err.status, err.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, err: RequestValidationError) -> JSONResponse:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
        return error(422, f"{where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(SeqlabError)
    async def bad_input(_: Request, err: SeqlabError) -> JSONResponse:
        return error(_status(err), _one_line(err) or "bad input")

    @app.exception_handler(Exception)
    async def failed(_: Request, err: Exception) -> JSONResponse:  # a bug, not bad input: still one line of JSON
        return error(500, f"the model failed: {type(err).__name__}: {_one_line(err)}")

    @app.middleware("http")
    async def guard(request: Request, call_next):
        """The token (compared in constant time) and the per-request time limit (a stream's: until its first
        piece). The pages (the explorer, the OpenAPI page and schema) hold no data and are served without the
        token; they ask for it."""
        if config.token is not None and not _is_page(request.url.path):
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {config.token}".encode()):
                return error(401, "missing or wrong token: send Authorization: Bearer <token>")
        try:
            return await asyncio.wait_for(call_next(request), config.timeout_s)
        except asyncio.TimeoutError:
            return error(504, f"the request took longer than {config.timeout_s:g} s")

    def served(name: str, capability: str) -> Served:
        if name not in models:
            raise ApiError(404, f"no model {name!r} (served: {', '.join(models) or 'none'})")
        model = models[name]
        if capability not in model.capabilities:
            raise ApiError(400, f"model {name!r} cannot {VERBS.get(capability, capability)} (it can: "
                                f"{', '.join(model.capabilities) or 'nothing served'})")
        return model

    def check_inputs(texts: list[str], field: str = "inputs") -> None:
        if not texts:
            raise ApiError(400, f"{field} is empty: give at least one text")
        if len(texts) > config.max_items:
            raise ApiError(413, f"{len(texts)} {field}, more than {config.max_items} per request")
        for i, text in enumerate(texts):
            check_text(text, f"{field}[{i}]")

    def check_text(text: str, field: str) -> None:
        if not text.strip():
            raise ApiError(400, f"{field} is empty")
        if len(text) > config.max_chars:
            raise ApiError(413, f"{field} has {len(text)} characters, more than {config.max_chars}")

    async def batched(body: Inputs, capability: str) -> dict:
        model = served(body.model, capability)
        check_inputs(body.inputs)
        batcher = model.batchers.get(capability)
        if batcher is None:
            batcher = model.batchers[capability] = DynamicBatcher(
                _batch_function(model, capability), max_batch=config.max_batch, wait_ms=config.wait_ms)
        outputs = await asyncio.gather(*(batcher.submit(text) for text in body.inputs), return_exceptions=True)
        for i, output in enumerate(outputs):
            if isinstance(output, SeqlabError):  # the batcher ran the failing input alone: the error is its own
                raise ApiError(_status(output), f"inputs[{i}]: {_one_line(output)}")
            if isinstance(output, BaseException):
                raise output
        return {"model": model.name, "outputs": outputs}

    @app.get("/v1/models", response_model=Models)
    async def list_models() -> dict:
        """The served runs, what each can do, and how its requests were batched so far."""
        return {"models": [{"name": m.name, "path": m.path, "capabilities": m.capabilities, "family": m.family,
                            "batching": {c: {"batches": b.batches, "items": b.items} for c, b in m.batchers.items()}}
                           for m in models.values()]}

    @app.post("/v1/predict", response_model=outputs_of(Prediction, "Predictions"))
    async def predict(body: Inputs) -> dict:
        """A classifier's label and its probability for each input."""
        return await batched(body, "predict")

    @app.post("/v1/translate", response_model=outputs_of(Translation, "Translations"))
    async def translate(body: Inputs) -> dict:
        return await batched(body, "translate")

    @app.post("/v1/fill-mask", response_model=outputs_of(Filled, "FilledMasks"))
    async def fill_mask(body: Inputs) -> dict:
        return await batched(body, "fill_mask")

    @app.post("/v1/embed", response_model=outputs_of(Embedding, "Embeddings"))
    async def embed_texts(body: Inputs) -> dict:
        """A vector per input (BERT: mean-pooled, unit length; word2vec: the mean of its words' unit vectors)."""
        return await batched(body, "embed")

    @app.post("/v1/attention", responses={200: {"model": Attention}})  # written as JSON bytes in a thread
    async def attention(body: AttentionRequest) -> Response:
        """The attention the model pays reading the text: ``weights`` (layers, heads, rows, columns), each row
        attending over the columns (see ``description``); at most ``max_attention_tokens`` rows and columns."""
        model = served(body.model, "attention")
        check_text(body.text, "text")
        if body.story is not None:
            check_inputs(body.story, "story")

        def view() -> bytes:  # the JSON of L x H x T x T numbers is built off the event loop too
            seen = attention_view(model.predictor, body.text, body.story, adapter=model.adapter,
                                  max_tokens=config.max_attention_tokens)
            return json.dumps({"model": model.name, **seen.to_dict()}).encode()

        return Response(await asyncio.to_thread(view), media_type="application/json")

    @app.get("/", include_in_schema=False)
    async def home():
        return RedirectResponse("/explorer")

    @app.api_route("/explorer", methods=["GET", "HEAD"], include_in_schema=False)
    async def explorer():
        return FileResponse(STATIC / "explorer.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.post("/v1/generate", response_model=Generated, responses={200: {"content": {"text/event-stream": {}}}})
    async def generate(body: GenerateRequest):
        """Text from a language model; with ``stream``, server-sent events: ``data: {"text": piece}`` each, then
        ``data: [DONE]``."""
        model = served(body.model, "generate")
        check_text(body.prompt, "prompt")
        if body.max_new_tokens > config.max_new_tokens:
            raise ApiError(413, f"max_new_tokens={body.max_new_tokens} is over {config.max_new_tokens}")
        options = {"max_new_tokens": body.max_new_tokens, "temperature": body.temperature, "top_k": body.top_k,
                   "top_p": body.top_p, "seed": body.seed}
        predictor = model.predictor
        if not body.stream:
            text = await asyncio.to_thread(lambda: predictor.generate(body.prompt, **options))
            return {"model": model.name, "text": text if isinstance(text, str) else text[0]}
        if not hasattr(predictor, "stream"):
            raise ApiError(400, f"model {model.name!r} does not stream: leave out \"stream\"")
        pieces = predictor.stream(body.prompt, **options)
        first = await asyncio.to_thread(next, pieces, None)  # a bad prompt fails here, before the 200 is sent
        return StreamingResponse(_events(first, pieces), media_type="text/event-stream")

    return app


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes gets a 413, whether it declares its length or arrives in
    chunks without one (those are read here, up to the limit, and handed on)."""

    def __init__(self, app: Any, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:  # the server reads no more than it declares
            if not declared.isdigit() or int(declared) > self.limit:
                return await self.refuse(scope, receive, send)
            return await self.app(scope, receive, send)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return None
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                return await self.refuse(scope, receive, send)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)

    async def refuse(self, scope: dict, receive: Callable, send: Callable) -> None:
        from starlette.responses import JSONResponse

        await JSONResponse({"error": f"the request body is over {self.limit} bytes"}, status_code=413)(
            scope, receive, send)


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (the OS picks it)."""
    import socket

    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _is_page(path: str) -> bool:
    return path in ("/", "/explorer", "/docs", "/docs/oauth2-redirect", "/openapi.json") or path.startswith("/static/")


async def _events(first: str | None, pieces) -> Any:
    """Server-sent events from a (blocking) generator of text pieces, each drawn in a worker thread: ``data:
    {"text": piece}`` each, then ``data: [DONE]``; a failure midway ends the stream with ``event: error``."""
    done = object()
    piece = done if first is None else first
    while piece is not done:
        yield f"data: {json.dumps({'text': piece})}\n\n"
        try:
            piece = await asyncio.to_thread(next, pieces, done)
        except Exception as err:
            yield f"event: error\ndata: {json.dumps({'error': _one_line(err)})}\n\n"
            return
    yield "data: [DONE]\n\n"


def _status(err: SeqlabError) -> int:
    """Bad input is a 400; a text longer than an attention view shows, a 413."""
    return 413 if isinstance(err, TooLong) else 400


def _one_line(err: BaseException) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else ""


class BackgroundServer:
    """The app served by uvicorn in a thread, e.g. from a notebook or a test:

        with BackgroundServer(create_app(load_models(["runs/m30k"]))) as server:
            print(server.url)          # http://127.0.0.1:<a free port>; the explorer at server.url + "/explorer"
    """

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, start_timeout: float = 30.0,
                 stop_timeout: float = 30.0):
        import uvicorn

        port = port or free_port(host)
        self.url = f"http://{host}:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                                    timeout_graceful_shutdown=stop_timeout))
        self.start_timeout, self.stop_timeout = start_timeout, stop_timeout
        self.thread: Any = None

    def start(self) -> "BackgroundServer":
        import threading
        import time

        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + self.start_timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise SeqlabError(f"the server did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """In-flight requests finish first (uvicorn's graceful shutdown, at most ``stop_timeout`` seconds)."""
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(self.stop_timeout + 5)

    def __enter__(self) -> "BackgroundServer":
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
