"""The request and response schemas of ``seqlab serve`` (pydantic; imported only when serving). FastAPI validates
requests and responses against them and documents them on /docs."""

# no "from __future__ import annotations": pydantic reads the annotations at class creation
from pydantic import BaseModel, Field, create_model


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


# ---- responses


class ModelInfo(BaseModel):
    name: str
    path: str
    capabilities: list[str]
    family: str | None = Field(description="the adapter's family (attention, embeddings), if any")
    batching: dict[str, dict[str, int]] = Field(description="per capability: model calls (batches) and inputs")


class Models(BaseModel):
    models: list[ModelInfo]


class Prediction(BaseModel):
    label: str
    probability: float


class Translation(BaseModel):
    translation: str


class Filled(BaseModel):
    predictions: str = Field(description="each [MASK]'s candidates, 'piece 12.3%', separated by ' | '")


class Embedding(BaseModel):
    embedding: list[float]


def outputs_of(item: type, name: str) -> type:
    return create_model(name, model=(str, ...), outputs=(list[item], ...))


class Generated(BaseModel):
    model: str
    text: str


class Attention(BaseModel):
    model: str
    family: str
    kind: str
    description: str
    rows: list[str] = Field(description="the tokens (or hops) that attend")
    columns: list[str] = Field(description="the tokens (sentences, layers) attended to")
    layers: list[str]
    heads: int
    weights: list[list[list[list[float]]]] = Field(description="(layers, heads, rows, columns)")
    output: str | None = Field(description="what the model made of the text")


class AttentionRequest(BaseModel):
    model: str
    text: str = Field(description="the sentence (a memory network: the question)")
    story: list[str] | None = Field(None, description="a memory network's story, one sentence per item")
