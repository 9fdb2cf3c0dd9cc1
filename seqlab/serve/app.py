"""``seqlab serve``: trained runs behind a JSON API (FastAPI on uvicorn), with dynamic batching.

    seqlab serve runs/sst2 runs/m30k --port 8000 --token SECRET
    curl -H "Authorization: Bearer SECRET" localhost:8000/v1/models
    curl -H "Authorization: Bearer SECRET" -d '{"model": "sst2", "inputs": ["a fine film"]}' localhost:8000/v1/predict

Each run is served under its directory's name. What a run can do follows from its predictor: ``predict`` (classifiers:
label and probability), ``translate``, ``fill_mask``, ``generate`` (with ``"stream": true``, server-sent events, one
event per piece of text). Bad input is an HTTP 4xx whose body is one line of JSON, ``{"error": "..."}``; the OpenAPI
page is at /docs.
"""

# no "from __future__ import annotations": FastAPI reads the endpoints' annotations, and the request schemas are
# classes local to create_app (pydantic is imported only when serving)
import asyncio
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqlab.errors import SeqlabError
from seqlab.serve.batcher import DynamicBatcher

CAPABILITIES = ("predict", "translate", "fill_mask", "generate")


@dataclass
class ServeConfig:
    max_batch: int = 32  # items per model call
    wait_ms: float = 5.0  # how long the first request of a batch waits for others
    max_items: int = 64  # inputs per request
    max_chars: int = 2000  # characters per input
    max_body: int = 1 << 20  # bytes per request body
    timeout_s: float = 30.0  # per request
    max_new_tokens: int = 512  # generation
    token: str | None = None  # Authorization: Bearer <token> on every endpoint when set


@dataclass
class Served:
    """One run: its predictor, what it can do, and a batcher per batched capability."""

    name: str
    path: str
    predictor: Any
    capabilities: list[str]
    batchers: dict[str, DynamicBatcher] = field(default_factory=dict)


def capabilities(predictor: Any) -> list[str]:
    found = [c for c in CAPABILITIES if hasattr(predictor, c)]
    return [c for c in found if not (c == "predict" and hasattr(predictor, "forecast"))]  # a forecaster's is arrays


def load_models(run_dirs: list[str | Path]) -> dict[str, Served]:
    """Each run directory loaded once, named by its directory."""
    from seqlab.tasks import load_run

    models: dict[str, Served] = {}
    for run_dir in run_dirs:
        name = Path(run_dir).resolve().name
        if name in models:
            raise SeqlabError(f"two runs are named {name!r} ({models[name].path} and {run_dir}): rename one")
        predictor = load_run(run_dir)
        models[name] = Served(name, str(run_dir), predictor, capabilities(predictor))
    return models


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _batch_function(served: Served, capability: str) -> Callable[[list[Any]], list[Any]]:
    predictor = served.predictor
    if capability == "predict":
        return lambda texts: [{"label": label, "probability": p} for label, p in predictor.predict(texts)]
    if capability == "translate":
        return lambda texts: [{"translation": t} for t in predictor.translate(texts)]
    return lambda texts: [{"predictions": p} for p in predictor.fill_mask(texts)]


def create_app(models: Mapping[str, Served], config: ServeConfig | None = None):
    """The FastAPI application serving ``models``."""
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, StreamingResponse
    from pydantic import BaseModel, Field

    config = config or ServeConfig()
    app = FastAPI(title="seqlab", description="Trained seqlab runs behind an HTTP API.", version="1")

    class Inputs(BaseModel):
        model: str = Field(description="a served run's name (GET /v1/models)")
        inputs: list[str] = Field(description="texts, one output each")

    class GenerateRequest(BaseModel):
        model: str
        prompt: str
        max_new_tokens: int = Field(64, ge=1)
        temperature: float = Field(1.0, gt=0)
        top_k: int | None = Field(None, ge=1)
        top_p: float | None = Field(None, gt=0, le=1)
        seed: int | None = None
        stream: bool = False

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

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
        return error(400, str(err).splitlines()[0] if str(err) else "bad input")

    @app.middleware("http")
    async def guard(request: Request, call_next):
        """The token (compared in constant time), the body size, and the per-request time limit."""
        if config.token is not None:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {config.token}".encode()):
                return error(401, "missing or wrong token: send Authorization: Bearer <token>")
        size = request.headers.get("content-length")
        if size is not None and (not size.isdigit() or int(size) > config.max_body):
            return error(413, f"the request body is over {config.max_body} bytes")
        try:
            return await asyncio.wait_for(call_next(request), config.timeout_s)
        except asyncio.TimeoutError:
            return error(504, f"the request took longer than {config.timeout_s:g} s")

    def served(name: str, capability: str) -> Served:
        if name not in models:
            raise ApiError(404, f"no model {name!r} (served: {', '.join(models) or 'none'})")
        model = models[name]
        if capability not in model.capabilities:
            raise ApiError(400, f"model {name!r} cannot {capability.replace('_', '-')} (it can: "
                                f"{', '.join(model.capabilities) or 'nothing served'})")
        return model

    def check_inputs(texts: list[str]) -> None:
        if not texts:
            raise ApiError(400, "inputs is empty: give at least one text")
        if len(texts) > config.max_items:
            raise ApiError(413, f"{len(texts)} inputs, more than {config.max_items} per request")
        for i, text in enumerate(texts):
            if not text.strip():
                raise ApiError(400, f"inputs[{i}] is empty")
            if len(text) > config.max_chars:
                raise ApiError(413, f"inputs[{i}] has {len(text)} characters, more than {config.max_chars}")

    async def batched(body: Inputs, capability: str) -> dict:
        model = served(body.model, capability)
        check_inputs(body.inputs)
        batcher = model.batchers.get(capability)
        if batcher is None:
            batcher = model.batchers[capability] = DynamicBatcher(
                _batch_function(model, capability), max_batch=config.max_batch, wait_ms=config.wait_ms)
        outputs = await asyncio.gather(*(batcher.submit(text) for text in body.inputs))
        return {"model": model.name, "outputs": list(outputs)}

    @app.get("/v1/models")
    async def list_models() -> dict:
        """The served runs and what each can do."""
        return {"models": [{"name": m.name, "path": m.path, "capabilities": m.capabilities} for m in models.values()]}

    @app.post("/v1/predict")
    async def predict(body: Inputs) -> dict:
        """A classifier's label and its probability for each input."""
        return await batched(body, "predict")

    @app.post("/v1/translate")
    async def translate(body: Inputs) -> dict:
        return await batched(body, "translate")

    @app.post("/v1/fill-mask")
    async def fill_mask(body: Inputs) -> dict:
        return await batched(body, "fill_mask")

    @app.post("/v1/generate")
    async def generate(body: GenerateRequest):
        """Text from a language model; with ``stream``, server-sent events: ``data: {"text": piece}`` each, then
        ``data: [DONE]``."""
        model = served(body.model, "generate")
        check_inputs([body.prompt])
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
        return StreamingResponse(_events(predictor.stream(body.prompt, **options)), media_type="text/event-stream")

    return app


async def _events(pieces) -> Any:
    """Server-sent events from a (blocking) generator of text pieces, each drawn in a worker thread."""
    done = object()
    while True:
        piece = await asyncio.to_thread(next, pieces, done)
        if piece is done:
            yield "data: [DONE]\n\n"
            return
        yield f"data: {json.dumps({'text': piece})}\n\n"
