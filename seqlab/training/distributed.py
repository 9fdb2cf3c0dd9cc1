"""Multi-process data parallelism on PyTorch's own engine: DistributedDataParallel launched by ``torchrun``.

Every process reads the same stream of global batches (same seed, same order) and keeps its own slice
of each: process r of W takes rows r*B/W ... (r+1)*B/W. That is the distributed sampler of our pipeline:
it needs no per-dataset support, keeps the data position identical on every process (so one checkpoint
resumes them all), and makes a W-process run the same optimisation as a 1-process run at the same
global batch (DDP averages the gradients; each slice's loss is weighted by its share of the batch).

    torchrun --nproc-per-node 2 -m seqlab train configs/dates_transformer.yaml   # gloo on CPU, NCCL on CUDA
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from seqlab.errors import SeqlabError

Batch = dict[str, torch.Tensor]


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 alone logs, draws progress bars and writes files."""
        return self.rank == 0


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_distributed(device: torch.device) -> DistContext:
    """Join the process group torchrun describes in the environment (once per process); single process
    without torchrun. The backend follows the device: NCCL for CUDA, gloo for CPU."""
    if not launched_by_torchrun():
        return DistContext()
    rank, world, local = (int(os.environ[k]) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(local)
        dist.init_process_group(backend=backend)
        atexit.register(_leave)
    return DistContext(rank=rank, world_size=world, local_rank=local)


def _leave() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def split_batch(batch: Batch, parts: int) -> list[tuple[Batch, float]]:
    """Cut a batch into ``parts`` slices along dim 0; each with its share of the examples (the weight of
    its loss, so that the weighted sum of slice losses is the loss of the whole batch)."""
    sizes = {v.shape[0] for v in batch.values() if isinstance(v, torch.Tensor) and v.dim() > 0}
    if len(sizes) != 1:
        raise SeqlabError(f"a batch must hold tensors of one batch size along dim 0, got sizes {sorted(sizes)}")
    n = sizes.pop()
    if n < parts:
        raise SeqlabError(f"a batch of {n} examples cannot be split into {parts} parts (processes x "
                          "grad_accum_steps); use a larger batch_size or drop the last, smaller batch")
    chunks = {k: torch.tensor_split(v, parts) if isinstance(v, torch.Tensor) and v.dim() > 0 else [v] * parts
              for k, v in batch.items()}
    slices = [{k: chunks[k][i] for k in batch} for i in range(parts)]
    return [(s, next(v for v in s.values() if isinstance(v, torch.Tensor)).shape[0] / n) for s in slices]


def shard(batch: Batch, ctx: DistContext) -> tuple[Batch, float]:
    """This process's slice of a global batch, and its share of the examples."""
    if not ctx.enabled:
        return batch, 1.0
    return split_batch(batch, ctx.world_size)[ctx.rank]


def any_rank(flag: bool, ctx: DistContext, device: torch.device) -> bool:
    """True on every process if it is true on any: stop decisions must agree, or the others wait forever."""
    if not ctx.enabled:
        return flag
    value = torch.tensor([float(flag)], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def sum_over_ranks(values: list[float], ctx: DistContext, device: torch.device) -> list[float]:
    """Element-wise sums over the processes (one all-reduce for several numbers)."""
    if not ctx.enabled:
        return values
    tensor = torch.tensor(values, dtype=torch.float64 if device.type == "cpu" else torch.float32, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor.tolist()
