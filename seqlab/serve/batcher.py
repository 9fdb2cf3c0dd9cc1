"""Dynamic batching: requests for one model that arrive within a short window run as one batch, off the event loop.

    batcher = DynamicBatcher(lambda texts: model.predict(texts), max_batch=32, wait_ms=5)
    result = await batcher.submit("one input")          # many coroutines at once -> a few model calls

The first request of a batch waits at most ``wait_ms`` for others (or until ``max_batch`` items are queued), then the
batch runs in a worker thread, so the event loop keeps serving other requests (and generation streams) meanwhile.
One batch runs at a time per model, and the next batch fills while this one runs. When a batch fails, its items run
again one by one, so that a bad input fails its own request only.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import Any


class DynamicBatcher:
    def __init__(self, run: Callable[[list[Any]], Sequence[Any]], *, max_batch: int = 32, wait_ms: float = 5.0):
        if max_batch < 1 or wait_ms < 0:
            raise ValueError("max_batch must be at least 1 and wait_ms not negative")
        self.run, self.max_batch, self.wait = run, max_batch, wait_ms / 1000
        self.queue: asyncio.Queue[tuple[Any, asyncio.Future]] | None = None
        self.worker: asyncio.Task | None = None
        self.batches = self.items = 0  # batches run so far and the inputs in them (GET /v1/models shows both)

    async def submit(self, item: Any) -> Any:
        """The model's output for ``item``, computed in a batch with whatever else arrived."""
        loop = asyncio.get_running_loop()
        if self.worker is None or self.worker.done() or self.worker.get_loop() is not loop:  # (tests start many loops)
            self.queue = asyncio.Queue()
            self.worker = loop.create_task(self._work())
        future = asyncio.get_running_loop().create_future()
        await self.queue.put((item, future))
        return await future

    async def _work(self) -> None:
        while True:
            batch = [await self.queue.get()]
            deadline = asyncio.get_running_loop().time() + self.wait
            while len(batch) < self.max_batch:
                timeout = deadline - asyncio.get_running_loop().time()
                if timeout <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self.queue.get(), timeout))
                except asyncio.TimeoutError:
                    break
            live = [(item, future) for item, future in batch if not future.done()]  # cancelled: timed out
            if live:
                await self._run(live)

    async def _run(self, live: list[tuple[Any, asyncio.Future]]) -> None:
        try:
            outputs = await asyncio.to_thread(self.run, [item for item, _ in live])
            if len(outputs) != len(live):
                raise RuntimeError(f"the model gave {len(outputs)} outputs for {len(live)} inputs")
        except Exception as err:
            if len(live) > 1:  # one bad input must not fail the others: each alone
                for one in live:
                    await self._run([one])
            elif not live[0][1].done():
                live[0][1].set_exception(err)
            return
        self.batches += 1
        self.items += len(live)
        for (_, future), output in zip(live, outputs, strict=True):
            if not future.done():
                future.set_result(output)

    async def close(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.worker
            self.worker = None
