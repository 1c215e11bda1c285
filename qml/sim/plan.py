"""Compile a circuit into an execution plan: vectorized matrix groups, a product-state prefix and fused blocks.

The plan is pure data (numpy index arrays), built once per circuit. The engine turns it into a handful of
batched torch operations:

1. all angles of a gate family are gathered and turned into matrices in one vectorized call per family;
2. the matrices are laid out in one flat *pool* per kind (unbatched: shared by all samples; batched: per
   sample, because an angle depends on an input feature). Addresses 0 and 1 of a pool hold the numbers 0 and 1;
3. leading single-qubit gates act on ``|0...0>`` as a product state: one 2x2 product per wire, then a Kronecker
   product — so an input encoder costs almost nothing;
4. the remaining gates are fused greedily into blocks of at most ``k`` wires. Each block's matrix is gathered
   from its pool with one index (embedding every gate in the block's space), multiplied as a balanced tree,
   and applied to the state with one matrix product.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from qml.circuit.circuit import Op
from qml.circuit.gates import GATES
from qml.circuit.params import ParamRef, const

ZERO, ONE = 0, 1


@dataclass
class Group:
    """Ops whose matrices are computed by one vectorized call."""

    family: str  # "trig" or "u3"
    batched: bool
    ops: list[int] = field(default_factory=list)
    params: list[tuple[ParamRef, ...]] = field(default_factory=list)
    entries: int = 4  # pool entries per op (d*d of the stored matrix)
    offset: int = 0  # address of the group's first entry in its pool


@dataclass
class Block:
    """Fused ops on at most k wires; ``wires`` is the local order, wires[0] the least significant bit."""

    batched: bool
    ops: list[int]
    wires: tuple[int, ...] = ()
    perm: tuple[int, ...] | None = None  # axis permutation of the (2, ..., 2, B) state before applying
    span: tuple[int, int] = (1, 1)  # (L, R): state viewed as (L, 2**k, R, B) around the block's axes


@dataclass
class Plan:
    ops: list[Op]
    n_wires: int
    zero_start: bool
    groups: list[Group]
    const_pool: np.ndarray  # complex: [0, 1, constant gate matrices...]
    pool_size: dict[bool, int]  # batched -> number of entries
    own_index: list[np.ndarray]  # per op: (d, d) addresses into its kind's pool
    op_batched: list[bool]
    prefix: list[list[int]]  # per wire: leading 1-qubit ops (only when zero_start)
    blocks: list[Block]
    final_perm: tuple[int, ...] | None


def _lower(op: Op) -> tuple[str, tuple[ParamRef, ...]]:
    g = GATES[op.gate]
    if g.family == "u3" and g.num_params == 2:  # U2(phi, lam) = U3(pi/2, phi, lam)
        return "u3", (const(math.pi / 2), *op.params)
    return g.family, op.params


def _assign_pools(ops: list[Op]) -> tuple[list[Group], np.ndarray, dict[bool, int], list[np.ndarray], list[bool]]:
    """Group ops by family and kind and give every op the addresses of its matrix entries."""
    const_entries: list[complex] = [0.0, 1.0]
    groups: dict[tuple[str, bool, int], Group] = {}
    own: list[np.ndarray | None] = [None] * len(ops)
    placement: list[tuple[Group, int] | None] = [None] * len(ops)
    batched = [op.is_batched for op in ops]
    for i, op in enumerate(ops):
        g = GATES[op.gate]
        family, params = _lower(op)
        if family == "const":
            base = len(const_entries)
            const_entries.extend(g.matrix.reshape(-1).tolist())
            own[i] = base + np.arange(g.dim * g.dim).reshape(g.dim, g.dim)
            continue
        stored = 2 if family == "u3" else g.dim
        key = (family, batched[i], stored)
        grp = groups.setdefault(key, Group(family, batched[i], entries=stored * stored))
        placement[i] = (grp, len(grp.ops))
        grp.ops.append(i)
        grp.params.append(params)
    size = {False: len(const_entries), True: 2}
    ordered = sorted(groups.values(), key=lambda grp: (grp.batched, grp.family, grp.entries))
    for grp in ordered:
        grp.offset = size[grp.batched]
        size[grp.batched] += grp.entries * len(grp.ops)
    for i, op in enumerate(ops):
        if placement[i] is None:
            continue
        grp, pos = placement[i]
        base = grp.offset + pos * grp.entries
        u = base + np.arange(4).reshape(2, 2)
        if grp.family == "u3" and GATES[op.gate].controlled:
            m = np.full((4, 4), ZERO)
            m[0, 0] = m[2, 2] = ONE
            m[np.ix_([1, 3], [1, 3])] = u
            own[i] = m
        elif grp.family == "u3":
            own[i] = u
        else:
            d = GATES[op.gate].dim
            own[i] = base + np.arange(d * d).reshape(d, d)
    return ordered, np.array(const_entries, dtype=np.complex128), size, own, batched


def _prefix(ops: list[Op], n_wires: int) -> tuple[list[list[int]], list[int]]:
    """Split off, per wire, the single-qubit ops that come before any multi-qubit op on that wire."""
    prefix: list[list[int]] = [[] for _ in range(n_wires)]
    closed = [False] * n_wires
    rest: list[int] = []
    for i, op in enumerate(ops):
        if len(op.wires) == 1 and not closed[op.wires[0]]:
            prefix[op.wires[0]].append(i)
            continue
        for w in op.wires:
            closed[w] = True
        rest.append(i)
    return prefix, rest


MAX_BLOCK_OPS = 64  # a block holds at most this many ops: a deep circuit becomes more blocks, not longer ones


def _fuse(ops: list[Op], order: list[int], batched: list[bool], k_max: dict[bool, int]) -> list[Block]:
    """Greedy fusion respecting gate order on every wire: an op joins the block (at or after the last
    block touching its wires) that already shares most of its wires and still has room (wires and
    ``MAX_BLOCK_OPS``)."""
    blocks: list[Block] = []
    block_wires: list[set[int]] = []
    frontier: dict[int, int] = {}
    for i in order:
        wires = set(ops[i].wires)
        lo = max((frontier[w] for w in wires if w in frontier), default=0)
        best, best_shared = None, -1
        for bi in range(len(blocks) - 1, lo - 1, -1):
            b = blocks[bi]
            if b.batched != batched[i] or len(block_wires[bi] | wires) > k_max[b.batched] \
                    or len(b.ops) >= MAX_BLOCK_OPS:
                continue
            shared = len(block_wires[bi] & wires)
            if shared > best_shared:
                best, best_shared = bi, shared
        if best is None:
            blocks.append(Block(batched[i], []))
            block_wires.append(set())
            best = len(blocks) - 1
        blocks[best].ops.append(i)
        block_wires[best] |= wires
        for w in wires:
            frontier[w] = best
    for b, ws in zip(blocks, block_wires, strict=False):
        b.wires = tuple(sorted(ws))
    return blocks


MIN_COLUMNS = 8  # a block applied in the middle of the state needs L products of width R*B at least this wide


def _layout(blocks: list[Block], n_wires: int, batch: int) -> tuple[int, ...] | None:
    """Fix each block's local wire order and the state permutation before it; return the final permutation.

    The state is kept batch-last as (2, ..., 2, B); ``axes[j]`` is the wire on axis j (canonical: n-1, ..., 0).
    A block is applied where it lies, without moving the state, when its wires are adjacent and it leads (one
    matrix product), ends the state at batch 1 (one product from the right), or sits in the middle with products
    at least ``MIN_COLUMNS`` wide. Otherwise the block's wires are moved, and the cost model picks the move: of the
    orders that let the block be applied (its wires next to their longest adjacent run, at the front, or at the
    end), the one whose permutation has the fewest runs of axes that stay together. A copy's cost grows with
    that count (at 20 qubits a permutation of 2-4 runs copies the state at memory speed, one of 15 runs 10x
    slower), and moves that keep the order tidy keep later blocks adjacent.
    """
    axes = list(range(n_wires - 1, -1, -1))
    for b in blocks:
        pos = {w: j for j, w in enumerate(axes)}
        inside = sorted(b.wires, key=lambda w: pos[w])
        if not _fits(axes, inside, pos, batch):
            rest = [w for w in axes if w not in b.wires]
            options = [_gather_axes(axes, inside, pos)] + ([rest + inside] if batch == 1 else []) + [inside + rest]
            fitting = [o for o in options if _fits(o, sorted(b.wires, key=o.index), {w: j for j, w in enumerate(o)},
                                                   batch)]
            new_axes = min(fitting, key=lambda o: len(axis_runs([pos[w] for w in o])))
            b.perm = (*(pos[w] for w in new_axes), n_wires)
            axes = new_axes
            pos = {w: j for j, w in enumerate(axes)}
            inside = sorted(b.wires, key=lambda w: pos[w])
        first = pos[inside[0]]
        b.span = (1 << first, 1 << (n_wires - first - len(inside)))
        b.wires = tuple(reversed(inside))
    canonical = list(range(n_wires - 1, -1, -1))
    if axes == canonical:
        return None
    pos = {w: j for j, w in enumerate(axes)}
    return (*(pos[w] for w in canonical), n_wires)


def axis_runs(perm) -> list[list[int]]:
    """[first input axis, length] of each run of axes that stay next to each other in ``perm``, in output order;
    a permutation's copy costs more the more runs it has."""
    runs: list[list[int]] = []
    for a in perm:
        if runs and runs[-1][0] + runs[-1][1] == a:
            runs[-1][1] += 1
        else:
            runs.append([a, 1])
    return runs


def _fits(axes: list[int], inside: list[int], pos: dict[int, int], batch: int) -> bool:
    """True when the block's wires are adjacent and either lead, end the state at batch 1, or leave products at
    least MIN_COLUMNS wide."""
    first, k = pos[inside[0]], len(inside)
    if [pos[w] for w in inside] != list(range(first, first + k)):
        return False
    columns = (1 << (len(axes) - first - k)) * batch
    return first == 0 or columns == 1 or columns >= MIN_COLUMNS


def batch_bucket(batch: int) -> int:
    """Batch sizes that lead to the same layout decisions share a plan."""
    return min(1 << (max(batch, 1).bit_length() - 1), MIN_COLUMNS)


def _gather_axes(axes: list[int], inside: list[int], pos: dict[int, int]) -> list[int]:
    """New axis order: the block's wires outside its longest adjacent run are moved right after that run."""
    runs, start = [], 0
    for j in range(1, len(inside) + 1):
        if j == len(inside) or pos[inside[j]] != pos[inside[j - 1]] + 1:
            runs.append(inside[start:j])
            start = j
    anchor = max(runs, key=len)
    moved = [w for w in inside if w not in anchor]
    rest = [w for w in axes if w not in moved]
    cut = rest.index(anchor[-1]) + 1
    return rest[:cut] + moved + rest[cut:]


def default_fusion(n_wires: int) -> dict[bool, int]:
    """Largest block per kind: whole-register unitaries for small circuits, 4 wires beyond."""
    unbatched = n_wires if n_wires <= 6 else 4
    return {False: unbatched, True: min(n_wires, 2)}


def compile_plan(ops: list[Op], n_wires: int, zero_start: bool = True,
                 fusion: dict[bool, int] | None = None, batch: int = MIN_COLUMNS) -> Plan:
    """Build the plan for ``ops`` on ``n_wires``; ``zero_start`` enables the product-state prefix; ``batch``
    (a ``batch_bucket``) steers where fused blocks are applied."""
    groups, const_pool, size, own, batched = _assign_pools(ops)
    if zero_start:
        prefix, rest = _prefix(ops, n_wires)
    else:
        prefix, rest = [[] for _ in range(n_wires)], list(range(len(ops)))
    blocks = _fuse(ops, rest, batched, fusion or default_fusion(n_wires))
    final_perm = _layout(blocks, n_wires, batch)
    return Plan(list(ops), n_wires, zero_start, groups, const_pool, size, own, batched, prefix, blocks, final_perm)


def embed_index(own: np.ndarray, op_wires: tuple[int, ...], block_wires: tuple[int, ...]) -> np.ndarray:
    """Addresses (D, D) of a gate's matrix embedded in a block: its own entry where the other wires agree,
    ZERO elsewhere. ``own`` is indexed with ``op_wires[0]`` as least significant bit."""
    k = len(block_wires)
    dim = 1 << k
    local = [block_wires.index(w) for w in op_wires]
    idx = np.arange(dim)
    sub = np.zeros(dim, dtype=np.int64)
    for m, p in enumerate(local):
        sub |= ((idx >> p) & 1) << m
    mask = sum(1 << p for p in local)
    rest = idx & ~mask
    out = own[sub[:, None], sub[None, :]]
    return np.where(rest[:, None] == rest[None, :], out, ZERO)


def identity_index(dim: int) -> np.ndarray:
    return np.where(np.eye(dim, dtype=bool), ONE, ZERO)


def next_pow2(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())
