"""A Python client for ``seqlab serve``, in a few lines of httpx.

    from seqlab.serve.client import Client
    api = Client("http://127.0.0.1:8000", token="SECRET")
    api.models()                                        # [{"name": "sst2", "capabilities": ["predict"], ...}]
    api.predict("sst2", ["a fine film"])                # [{"label": "positive", "probability": 0.97}]
    api.embed("all-MiniLM-L6-v2", ["a fine film"])      # a (1, 384) numpy array
    api.attention("m30k", "Ein Mann fährt Fahrrad.")    # rows, columns, weights (layers, heads, rows, columns)
    for piece in api.generate("gpt", "ROMEO:", max_new_tokens=50, stream=True):
        print(piece, end="", flush=True)

An HTTP error raises ``ServeError`` with the server's one-line message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from seqlab.errors import SeqlabError

if TYPE_CHECKING:
    import numpy as np


class ServeError(SeqlabError):
    def __init__(self, status: int, message: str):
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


class Client:
    def __init__(self, base_url: str = "http://127.0.0.1:8000", *, token: str | None = None, timeout: float = 60.0,
                 session: Any = None):
        """``session``: an httpx.Client to use instead of a new one (e.g. FastAPI's TestClient)."""
        import httpx

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = session or httpx.Client(base_url=base_url, timeout=timeout)
        self.http.headers.update(headers)

    def _check(self, response: Any) -> Any:
        if response.status_code >= 400:
            try:
                message = response.json().get("error", response.text)
            except ValueError:
                message = response.text
            raise ServeError(response.status_code, message)
        return response

    def _post(self, path: str, body: dict) -> dict:
        return self._check(self.http.post(path, json=body)).json()

    def models(self) -> list[dict]:
        return self._check(self.http.get("/v1/models")).json()["models"]

    def predict(self, model: str, inputs: list[str]) -> list[dict]:
        return self._post("/v1/predict", {"model": model, "inputs": inputs})["outputs"]

    def translate(self, model: str, inputs: list[str]) -> list[str]:
        return [o["translation"] for o in self._post("/v1/translate", {"model": model, "inputs": inputs})["outputs"]]

    def fill_mask(self, model: str, inputs: list[str]) -> list[str]:
        return [o["predictions"] for o in self._post("/v1/fill-mask", {"model": model, "inputs": inputs})["outputs"]]

    def embed(self, model: str, inputs: list[str]) -> np.ndarray:
        """(N, D) float32 embeddings."""
        import numpy as np

        outputs = self._post("/v1/embed", {"model": model, "inputs": inputs})["outputs"]
        return np.asarray([o["embedding"] for o in outputs], dtype=np.float32)

    def attention(self, model: str, text: str, *, story: list[str] | None = None) -> dict:
        """The attention view: ``rows`` attend over ``columns``; ``weights`` (layers, heads, rows, columns) as a
        numpy array; a memory network's ``story`` sentences are its columns."""
        import numpy as np

        body = {"model": model, "text": text} | ({} if story is None else {"story": story})
        view = self._post("/v1/attention", body)
        return view | {"weights": np.asarray(view["weights"], dtype=np.float32)}

    def generate(self, model: str, prompt: str, *, stream: bool = False, **options: Any) -> str | Iterator[str]:
        """The generated text; with ``stream``, an iterator over its pieces as the server sends them."""
        body = {"model": model, "prompt": prompt, **options}
        if not stream:
            return self._post("/v1/generate", body)["text"]
        return self._stream(body)

    def _stream(self, body: dict) -> Iterator[str]:
        with self.http.stream("POST", "/v1/generate", json={**body, "stream": True}) as response:
            if response.status_code >= 400:
                response.read()
                self._check(response)
            for line in response.iter_lines():
                if not line.startswith("data: "):
                    continue
                data = line.removeprefix("data: ")
                if data == "[DONE]":
                    return
                yield json.loads(data)["text"]
