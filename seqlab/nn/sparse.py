"""Sparse layers for bag-of-words input: CSR helpers and a linear layer whose backward touches only the non-zero
entries.

Shapes:
    N rows (documents), V columns (terms), K outputs.

    as_features        any (N, V) matrix (torch dense/COO/CSR, scipy.sparse, numpy) -> torch dense or CSR
    csr_rows           rows of a CSR matrix in any order (torch cannot index CSR tensors)
    csr_transpose      (N, V) CSR -> (V, N) CSR
    bow_matmul         x (N, V) @ W (V, K), with a hand-written CSR backward (``_CSRMatmul``)
    SparseLinear       ``nn.Linear`` for dense or CSR input, y = x W + b
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn


def _csr(crow: torch.Tensor, col: torch.Tensor, values: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    with warnings.catch_warnings():  # "sparse CSR support is in beta": we only build, slice and multiply it
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(crow, col, values, tuple(shape), check_invariants=False)


def as_features(x: Any, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Any (N, V) matrix as a torch tensor of ``dtype``: sparse CSR stays CSR (COO and scipy sparse become
    CSR), dense stays dense (numpy arrays and lists become tensors)."""
    if hasattr(x, "tocsr"):  # scipy.sparse
        x = x.tocsr()
        x.sort_indices()
        return _csr(torch.from_numpy(x.indptr.astype(np.int64)), torch.from_numpy(x.indices.astype(np.int64)),
                    torch.from_numpy(x.data).to(dtype), x.shape)
    x = torch.as_tensor(x)
    if x.layout == torch.sparse_coo:
        x = x.coalesce().to_sparse_csr()
    if x.layout == torch.sparse_csr:
        return x if x.dtype == dtype else _csr(x.crow_indices(), x.col_indices(), x.values().to(dtype), x.shape)
    if x.layout != torch.strided:
        raise TypeError(f"features must be dense, sparse CSR or COO, got layout {x.layout}")
    return x.to(dtype)


def csr_rows(x: torch.Tensor, rows: torch.Tensor | Sequence[int]) -> torch.Tensor:
    """Rows of a CSR matrix, in the given order (torch cannot index CSR tensors): (N, V) -> (len(rows), V)."""
    rows = torch.as_tensor(rows, dtype=torch.long)
    crow, col, values = x.crow_indices(), x.col_indices(), x.values()
    start, length = crow[rows], crow[rows + 1] - crow[rows]  # (R,), (R,)
    new_crow = torch.zeros(len(rows) + 1, dtype=torch.long)
    torch.cumsum(length, 0, out=new_crow[1:])
    entries = torch.repeat_interleave(start - new_crow[:-1], length) + torch.arange(int(new_crow[-1]))  # (nnz,)
    return _csr(new_crow, col[entries], values[entries], (len(rows), x.shape[1]))


def csr_transpose(x: torch.Tensor) -> torch.Tensor:
    """(N, V) CSR -> its transpose (V, N) as CSR: one stable sort of the column ids."""
    col = x.col_indices()
    order = torch.sort(col, stable=True).indices  # entries grouped by column, rows ascending within each
    row = torch.repeat_interleave(torch.arange(x.shape[0], device=col.device), x.crow_indices().diff())  # (nnz,)
    crow = torch.zeros(x.shape[1] + 1, dtype=torch.long, device=col.device)
    torch.cumsum(torch.bincount(col, minlength=x.shape[1]), 0, out=crow[1:])
    return _csr(crow, row[order], x.values()[order], (x.shape[1], x.shape[0]))


def bow_matmul(x: torch.Tensor, weight: torch.Tensor, x_t: torch.Tensor | None = None) -> torch.Tensor:
    """x (N, V) dense or sparse CSR @ weight (V, K) -> (N, K), differentiable in ``weight``.

    For CSR the gradient x^T @ grad is computed by hand (``_CSRMatmul``): autograd through torch.sparse.mm or
    F.embedding_bag sorts the indices or transposes x on every backward, ~10x slower. Pass ``x_t``
    (``csr_transpose(x)``) when the same x is multiplied many times, as in full-batch L-BFGS: the gradient is
    then one sparse matmul."""
    if x.layout != torch.sparse_csr:
        return x.to(weight.dtype) @ weight
    if x.dtype != weight.dtype:
        x = _csr(x.crow_indices(), x.col_indices(), x.values().to(weight.dtype), x.shape)
    return _CSRMatmul.apply(x, weight, x_t)


class _CSRMatmul(torch.autograd.Function):
    """y = x W for a constant CSR x; dL/dW = x^T dL/dy, from x^T when given, else scattered entry by entry."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor, x_t: torch.Tensor | None) -> torch.Tensor:
        ctx.x, ctx.x_t = x, x_t
        with torch.autocast(x.device.type, enabled=False):  # sparse kernels have no bf16: stay in weight's dtype
            return torch.sparse.mm(x, weight)  # (N, K)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[None, torch.Tensor, None]:  # grad (N, K)
        x, x_t = ctx.x, ctx.x_t
        grad = grad.to(x.dtype)
        if x_t is not None:
            return None, torch.sparse.mm(x_t, grad), None  # (V, N) @ (N, K)
        crow, col, values = x.crow_indices(), x.col_indices(), x.values()
        row = torch.repeat_interleave(torch.arange(len(crow) - 1, device=crow.device), crow.diff())  # (nnz,)
        grad_weight = grad.new_zeros(x.shape[1], grad.shape[1])  # (V, K)
        return None, grad_weight.index_add_(0, col, grad[row] * values[:, None]), None


class SparseLinear(nn.Module):
    """``nn.Linear`` for bag-of-words input, dense or sparse CSR: y = x W + b.

    The weight is stored (in_features, out_features), one row per term (the transpose of nn.Linear's), so
    that x @ W needs no transposed copy of the (V, out) matrix. Initialised as nn.Linear."""

    def __init__(self, in_features: int, out_features: int, *, dtype: torch.dtype | None = None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(in_features, out_features, dtype=dtype))  # (V, K)
        self.bias = nn.Parameter(torch.empty(out_features, dtype=dtype))  # (K,)
        bound = 1 / math.sqrt(in_features)  # nn.Linear's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor, x_t: torch.Tensor | None = None) -> torch.Tensor:
        """x (N, V) -> (N, K); ``x_t``: x transposed, optional (see ``bow_matmul``)."""
        if x.shape[-1] != self.in_features:
            raise ValueError(f"expected {self.in_features} features, got {x.shape[-1]}")
        return bow_matmul(x, self.weight, x_t) + self.bias  # (N, K)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"
