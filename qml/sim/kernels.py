"""Pure numeric kernels of the statevector engine: gate matrices from angles, products, application.

Everything here is batched over leading dimensions and free of Python loops over samples or gates.
"""

from __future__ import annotations

import torch
from torch import Tensor


def trig_matrices(angles: Tensor, a: Tensor, c: Tensor, s: Tensor, freq: Tensor) -> Tensor:
    """``A + cos(f*t) C + sin(f*t) S`` for angles (..., G) and constants (G, d, d) -> (..., G, d*d)."""
    t = angles * freq
    cos = torch.cos(t).unsqueeze(-1)
    sin = torch.sin(t).unsqueeze(-1)
    return a + cos * c + sin * s


def u3_matrices(angles: Tensor) -> Tensor:
    """qiskit's U3(theta, phi, lam) for angles (..., G, 3) -> (..., G, 4) row-major 2x2 entries."""
    theta, phi, lam = angles.unbind(-1)
    half = theta * 0.5
    cos, sin = torch.cos(half), torch.sin(half)
    mags = torch.stack((cos, -sin, sin, cos), -1)
    phases = torch.stack((torch.zeros_like(phi), lam, phi, phi + lam), -1)
    return torch.complex(mags * torch.cos(phases), mags * torch.sin(phases))


def tree_product(mats: Tensor) -> Tensor:
    """Ordered product of (..., L, D, D) along L (L a power of two): the last matrix ends up leftmost."""
    while mats.shape[-3] > 1:
        mats = torch.matmul(mats[..., 1::2, :, :], mats[..., 0::2, :, :])
    return mats.squeeze(-3)


def kron_state(vectors: Tensor) -> Tensor:
    """Product state from per-wire vectors (n, 2, B) -> (2**n, B), wire 0 the least significant bit."""
    n = vectors.shape[0]
    state = vectors[n - 1]
    for q in range(n - 2, -1, -1):
        state = (state.unsqueeze(1) * vectors[q].unsqueeze(0)).flatten(0, 1)
    return state


def apply_unbatched(state: Tensor, mat: Tensor, perm: tuple[int, ...] | None, span: tuple[int, int]) -> Tensor:
    """Apply one (D, D) matrix to the block's axes of a batch-last state (2, ..., 2, B), seen as (L, D, R*B).

    The batch stays the innermost axis, so the product is one large matrix product (L == 1) or L of them,
    and axis permutations move contiguous runs of at least B amplitudes.
    """
    if perm is not None:
        state = state.permute(perm)
    shape = state.shape
    d = mat.shape[-1]
    if span[0] == 1:
        return torch.matmul(mat, state.reshape(d, -1)).view(shape)
    return torch.matmul(mat, state.reshape(span[0], d, -1)).view(shape)


def apply_batched(state: Tensor, mat: Tensor, perm: tuple[int, ...] | None, span: tuple[int, int]) -> Tensor:
    """Apply per-sample matrices (B, D, D) to the block's axes of a batch-last state (2, ..., 2, B)."""
    if perm is not None:
        state = state.permute(perm)
    shape = state.shape
    d = mat.shape[-1]
    s = state.reshape(span[0], 1, d, span[1], shape[-1])
    m = mat.permute(1, 2, 0).reshape(1, d, d, 1, shape[-1])
    return (m * s).sum(2).view(shape)
