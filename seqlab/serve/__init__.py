"""Trained runs behind an HTTP API: ``seqlab serve RUN [RUN ...]`` (seqlab.serve.app), with dynamic batching
(seqlab.serve.batcher). Needs the ``serve`` extra: fastapi and uvicorn."""
