"""Pure numeric kernels of the statevector engine: gate matrices from angles, products, application.

Everything here is batched over leading dimensions and free of Python loops over samples or gates.
"""

from __future__ import annotations

import contextlib
import math

import torch
from torch import Tensor

from qml.sim.plan import axis_runs


def trig_matrices(t: Tensor, a: Tensor | None, c: Tensor, s: Tensor) -> Tensor:
    """``A + cos(t) C + sin(t) S`` for angles ``t`` (frequency applied) broadcast against constants of shape
    (G, d*d) or (G, d*d, 1); ``a=None`` means A = 0."""
    out = torch.cos(t) * c + torch.sin(t) * s
    return out if a is None else out + a


def untransformed():
    """A context in which new tensors are plain even inside a ``torch.func`` transform, for constants cached across
    calls: a tensor made inside ``vmap`` or ``grad`` is wrapped for that call's level and must not outlive it."""
    disable = getattr(torch._C, "_DisableFuncTorch", None)  # torch's own guard; no public equivalent exists
    return disable() if disable is not None else contextlib.nullcontext()


def transformed(t: Tensor) -> bool:
    """Whether ``t`` is wrapped by a ``torch.func`` transform (vmap, grad, jacrev, ...): its values cannot steer Python
    control flow there, so value checks are skipped."""
    wrapped = getattr(torch._C._functorch, "is_functorch_wrapped_tensor", None)  # no public test exists
    return bool(wrapped is not None and wrapped(t))


_U3_MIX: dict[tuple[torch.dtype, torch.device], tuple[Tensor, Tensor]] = {}


def _u3_mix(dtype: torch.dtype, device: torch.device) -> tuple[Tensor, Tensor]:
    """Linear map (theta, phi, lam) -> 4 magnitude arguments and 4 phases of U3's entries."""
    key = (dtype, device)
    if key not in _U3_MIX:
        with untransformed():
            _U3_MIX[key] = _u3_mix_tensors(dtype, device)
    return _U3_MIX[key]


def _u3_mix_tensors(dtype: torch.dtype, device: torch.device) -> tuple[Tensor, Tensor]:
    w = torch.zeros(3, 8, dtype=torch.float64)
    w[0, :4] = 0.5  # magnitudes cos(theta/2 - c): cos, -sin, sin, cos
    w[2, 5] = w[1, 6] = w[1, 7] = w[2, 7] = 1.0  # phases 0, lam, phi, phi + lam
    b = torch.zeros(8, dtype=torch.float64)
    b[:4] = torch.tensor([0.0, math.pi / 2, -math.pi / 2, 0.0], dtype=torch.float64)
    return w.to(device=device, dtype=dtype), b.to(device=device, dtype=dtype)


def u3_matrices(angles: Tensor) -> Tensor:
    """qiskit's U3(theta, phi, lam) for angles (..., G, 3) -> (..., G, 4) row-major 2x2 entries."""
    w, b = _u3_mix(angles.dtype, angles.device)
    z = torch.addmm(b, angles.reshape(-1, 3), w).view(*angles.shape[:-1], 8)
    mags, phases = torch.cos(z[..., :4]), z[..., 4:]
    return torch.complex(mags * torch.cos(phases), mags * torch.sin(phases))


def tree_product(mats: Tensor) -> Tensor:
    """Ordered product of (..., L, D, D) along L (L a power of two): the last matrix ends up leftmost.

    Pairs are multiplied level by level with one ``bmm`` each, so L matrices cost log2(L) calls."""
    lead, (length, d) = mats.shape[:-3], mats.shape[-3:-1]
    m = mats.reshape(-1, d, d)
    while length > 1:
        first, second = m.view(-1, 2, d, d).unbind(1)
        m = torch.bmm(second, first)
        length //= 2
    return m.view(*lead, d, d)


def run_on_zero(mats: Tensor) -> Tensor:
    """Per-wire vectors (n, 2, B) after applying single-qubit gates (L, n, 2, 2, B), in order, to |0>.

    Batch-last elementwise products: for 2x2 matrices this beats a tree of ``bmm`` calls several times."""
    vectors = mats[0, :, :, 0]
    for j in range(1, mats.shape[0]):
        vectors = (mats[j] * vectors.unsqueeze(1)).sum(2)
    return vectors


def kron_state(vectors: Tensor) -> Tensor:
    """Product state from per-wire vectors (n, 2, B) -> (2**n, B), wire 0 the least significant bit."""
    n = vectors.shape[0]
    state = vectors[n - 1]
    for q in range(n - 2, -1, -1):
        state = (state.unsqueeze(1) * vectors[q].unsqueeze(0)).flatten(0, 1)
    return state


MAX_AXES = 25  # torch's CUDA kernels index at most this many axes


def _permuted_once(state: Tensor, perm) -> Tensor:
    runs = axis_runs(perm)
    order = sorted(range(len(runs)), key=lambda r: runs[r][0])  # the runs in input order
    sizes = [math.prod(state.shape[runs[r][0]: runs[r][0] + runs[r][1]]) for r in order]
    where = {r: i for i, r in enumerate(order)}
    merged = state.reshape(sizes).permute([where[r] for r in range(len(runs))])
    return merged.contiguous().view([state.shape[a] for a in perm])


def permute_stages(perm, chunk: int = 10) -> list[list[int]]:
    """``perm`` as a sequence of permutations of at most 2 x ``chunk`` + 2 runs each: stage i puts the next
    ``chunk`` output axes in place after those already placed, keeping the rest in their order."""
    if len(axis_runs(perm)) < MAX_AXES:
        return [list(perm)]
    stages, current = [], list(range(len(perm)))
    for i in range(0, len(perm), chunk):
        placed = list(perm[: i + chunk])
        target = placed + [a for a in current if a not in placed]
        stages.append([current.index(a) for a in target])
        current = target
    return stages


def permuted(state: Tensor, perm: tuple[int, ...]) -> Tensor:
    """``state.permute(perm)``, materialised, for any number of axes: runs of axes that stay next to each other are
    merged first, so the copy works on a few axes (torch's CUDA kernels take at most 25; a 28-qubit state has
    29), and a permutation that scatters more than 24 runs goes in stages (``permute_stages``). Under
    ``MAX_AXES`` axes it is a plain view, as the copy that follows it takes them all."""
    if len(perm) < MAX_AXES:
        return state.permute(perm)
    for stage in permute_stages(perm):
        state = _permuted_once(state, stage)
    return state


def columns_product(mat: Tensor, cols: Tensor) -> Tensor:
    """``mat @ cols[l]`` for every l of ``cols`` (L, D, C): one matrix product when L == 1, one from the right when
    C == 1 (a block on the state's last axes at batch 1), L of them otherwise."""
    if cols.shape[0] == 1:
        return torch.mm(mat, cols[0]).unsqueeze(0)
    if cols.shape[2] == 1:
        return torch.mm(cols[:, :, 0], mat.transpose(0, 1)).unsqueeze(2)
    return torch.bmm(mat.expand(cols.shape[0], -1, -1), cols)


def columns_outer(grad: Tensor, cols: Tensor) -> Tensor:
    """``sum_l grad[l] @ cols[l]^H`` for (L, D, C) operands: a matrix product's gradient with respect to the matrix."""
    if cols.shape[0] == 1:
        return torch.mm(grad[0], cols[0].mH)
    if cols.shape[2] == 1:
        return torch.mm(grad[:, :, 0].transpose(0, 1), cols[:, :, 0].conj())
    d = cols.shape[1]
    if cols.shape[2] < d:  # L products would write more than the state: one product of the (D, L*C) views instead
        return torch.mm(grad.transpose(0, 1).reshape(d, -1), cols.transpose(0, 1).reshape(d, -1).mH)
    return torch.bmm(grad, cols.mH).sum(0)


class _MatrixOnColumns(torch.autograd.Function):
    """``mat @ cols[l]`` for every l of the state's columns ``(L, D, C)``, taken after an optional axis permutation
    of the state, with a hand-written backward.

    Autograd's own backward of ``bmm`` with a broadcast matrix materializes conjugated copies of the state, and the
    permutation's backward leaves a strided gradient that every later view copies again; here the two gradients are
    one product each and the state's gradient is permuted back in one copy, so a block costs one product and (with
    a permutation) one copy forward, and two products and one copy backward (measured at 20 qubits, B=1: 230 ->
    ~60 copies per forward + backward). The backward is built from differentiable ops, so higher derivatives work.
    """

    generate_vmap_rule = True  # forward and backward are plain torch ops: torch.func.vmap batches them

    @staticmethod
    def forward(mat: Tensor, state: Tensor, perm: tuple[int, ...] | None, span: tuple[int, int]):
        moved = state if perm is None else permuted(state, perm)
        cols = moved.reshape(span[0], mat.shape[-1], -1)  # a copy when the permutation scatters: kept for backward
        return columns_product(mat, cols).view(moved.shape), cols

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        mat, _, perm, _ = inputs
        out, cols = output
        ctx.save_for_backward(mat, cols)
        ctx.save_for_forward(mat, cols)
        ctx.mark_non_differentiable(cols)
        ctx.perm, ctx.moved_shape = perm, out.shape

    @staticmethod
    def jvp(ctx, d_mat: Tensor | None, d_state: Tensor | None, _perm, _span):
        """Forward mode (torch.func.jvp, jacfwd): d(M s) = dM s + M ds."""
        mat, cols = ctx.saved_tensors
        out = None
        if d_state is not None:
            moved = d_state if ctx.perm is None else permuted(d_state, ctx.perm)
            out = columns_product(mat, moved.reshape(cols.shape))
        if d_mat is not None:
            term = columns_product(d_mat, cols)
            out = term if out is None else out + term
        if out is None:
            out = torch.zeros_like(cols)
        return out.view(ctx.moved_shape), None

    @staticmethod
    def backward(ctx, grad: Tensor, _grad_cols: Tensor | None):
        mat, cols = ctx.saved_tensors
        grad = grad.reshape(cols.shape)
        grad_mat = grad_state = None
        if ctx.needs_input_grad[0]:
            grad_mat = columns_outer(grad, cols)
        if ctx.needs_input_grad[1]:
            grad_state = columns_product(mat.mH.resolve_conj(), grad).view(ctx.moved_shape)
            if ctx.perm is not None:
                inverse = tuple(sorted(range(len(ctx.perm)), key=ctx.perm.__getitem__))
                grad_state = permuted(grad_state, inverse).contiguous()
        return grad_mat, grad_state, None, None


def apply_unbatched(state: Tensor, mat: Tensor, perm: tuple[int, ...] | None, span: tuple[int, int]) -> Tensor:
    """Apply one (D, D) matrix to the block's axes of a batch-last state (2, ..., 2, B), seen as (L, D, R*B).

    The batch stays the innermost axis, so the product is one large matrix product (L == 1) or L of them,
    and axis permutations move contiguous runs of at least B amplitudes.
    """
    return _MatrixOnColumns.apply(mat, state, perm, span)[0]


def apply_batched(state: Tensor, mat: Tensor, perm: tuple[int, ...] | None, span: tuple[int, int]) -> Tensor:
    """Apply per-sample matrices (B, D, D) to the block's axes of a batch-last state (2, ..., 2, B)."""
    if perm is not None:
        state = permuted(state, perm)
    shape = state.shape
    d = mat.shape[-1]
    s = state.reshape(span[0], 1, d, span[1], shape[-1])
    m = mat.permute(1, 2, 0).reshape(1, d, d, 1, shape[-1])
    return (m * s).sum(2).view(shape)
