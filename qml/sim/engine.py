"""The batched statevector engine: runs a compiled plan with a few dozen torch operations per forward pass.

Constants (index arrays, fixed matrices) are kept on the CPU and copied once per (device, dtype) on first
use, so ``module.to("cuda")`` and ``module.double()`` need nothing special. Autograd flows through the
trainable angles and the input features.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from qml.circuit.circuit import Circuit
from qml.circuit.gates import GATES
from qml.errors import InputError
from qml.sim import kernels
from qml.sim.plan import Plan, batch_bucket, compile_plan, embed_index, identity_index, next_pow2
from qml.sim.threads import backward_threads, thread_scope

REAL_OF = {torch.complex64: torch.float32, torch.complex128: torch.float64}
COMPLEX_OF = {torch.float32: torch.complex64, torch.float64: torch.complex128}


@dataclass
class _GroupConst:
    family: str
    batched: bool
    index: Tensor
    scale: Tensor | None  # None: all ones
    offset: Tensor | None  # None: all zeros
    n_params: int
    trig: tuple[Tensor | None, Tensor, Tensor] | None


@dataclass
class _BlockGroup:
    batched: bool
    index: Tensor  # flat addresses, viewed as (NB, L, D, D)
    shape: tuple[int, int, int]  # NB, L, D


def _vector(values: list[float], neutral: float, shape: tuple[int, ...], dtype: torch.dtype,
            device: torch.device) -> Tensor | None:
    """A per-angle constant, or None when every value is ``neutral`` (so the multiply or add is skipped)."""
    if all(v == neutral for v in values):
        return None
    return torch.tensor(values, dtype=dtype, device=device).view(shape)


class _Prepared:
    """A plan's constants as tensors on one device and dtype."""

    def __init__(self, plan: Plan, n_inputs: int, n_trainable: int, device: torch.device, cdtype: torch.dtype):
        rdtype = REAL_OF[cdtype]
        self.groups: list[_GroupConst] = []
        self.needs_theta_in_src = any(g.batched and any(p.kind == "trainable" for r in g.params for p in r)
                                      for g in plan.groups)
        # angles of several sources, computed before the pools: unbatched ones follow theta and the constant slot,
        # batched ones follow the features (and theta) in the batched source
        self.exprs: dict[bool, list] = {False: [], True: []}
        expr_base = {False: n_trainable + 1, True: n_inputs + (n_trainable if self.needs_theta_in_src else 0)}
        for grp in plan.groups:
            idx, scale, offset = [], [], []
            for refs in grp.params:
                for p in refs:
                    if p.kind == "const":
                        idx.append(0 if grp.batched else n_trainable)
                        scale.append(0.0)
                    elif p.kind == "expr":
                        exprs = self.exprs[grp.batched]
                        if p.expr not in exprs:
                            exprs.append(p.expr)
                        idx.append(expr_base[grp.batched] + exprs.index(p.expr))
                        scale.append(1.0)
                    elif p.kind == "input":
                        idx.append(p.index)
                        scale.append(p.scale)
                    else:
                        idx.append(p.index + (n_inputs if grp.batched else 0))
                        scale.append(p.scale)
                    offset.append(p.offset)
            # batched groups work batch-last: angles (G*P, B), matrices (G, d*d, B)
            column = (-1, 1) if grp.batched else (-1,)
            trig = None
            if grp.family == "trig":
                mats = [GATES[plan.ops[i].gate].trig for i in grp.ops]
                consts = []
                for j in range(3):
                    table = torch.tensor(np.stack([m[j].reshape(-1) for m in mats]), dtype=cdtype, device=device)
                    consts.append(table.unsqueeze(-1) if grp.batched else table)  # (G, d*d[, 1])
                if not any(m[0].any() for m in mats):
                    consts[0] = None  # rotations: A = 0
                trig = tuple(consts)
                freq = [m[3] for m in mats]  # folded into the affine map: cos(f * (scale * v + offset))
                scale = [v * f for v, f in zip(scale, freq, strict=True)]
                offset = [v * f for v, f in zip(offset, freq, strict=True)]
            n_params = len(grp.params[0])
            self.groups.append(_GroupConst(
                grp.family, grp.batched, torch.tensor(idx, dtype=torch.long, device=device),
                _vector(scale, 1.0, column, rdtype, device), _vector(offset, 0.0, column, rdtype, device),
                n_params, trig))
        self.const_pool = torch.tensor(plan.const_pool, dtype=cdtype, device=device)
        self.n_unbatched = plan.pool_size[False]
        self.prefix_index, self.prefix_batched = self._prefix(plan, device)
        self.block_groups, self.block_slot = self._blocks(plan, device)

    @staticmethod
    def _prefix(plan: Plan, device: torch.device) -> tuple[Tensor | None, bool]:
        if not plan.zero_start or not any(plan.prefix):
            return None, False
        batched = any(plan.op_batched[i] for run in plan.prefix for i in run)
        shift = plan.pool_size[False] - 2  # batched entries follow the unbatched pool, without their 0 and 1
        length = max(len(run) for run in plan.prefix)
        idx = np.empty((length, plan.n_wires, 2, 2), dtype=np.int64)  # step-major: one step for all wires
        for w, run in enumerate(plan.prefix):
            for j in range(length):
                if j < len(run):
                    i = run[j]
                    idx[j, w] = plan.own_index[i] + (shift if plan.op_batched[i] else 0)
                else:
                    idx[j, w] = identity_index(2)
        return torch.tensor(idx.reshape(-1), device=device), batched

    @staticmethod
    def _blocks(plan: Plan, device: torch.device) -> tuple[list[_BlockGroup], list[tuple[int, int]]]:
        # grouped by kind, width and length rounded up to a power of two: a block is padded with identities to at
        # most twice its own length (never to the longest block's), so memory grows with the circuit's ops
        keys: dict[tuple[bool, int, int], list[int]] = {}
        for bi, b in enumerate(plan.blocks):
            keys.setdefault((b.batched, len(b.wires), next_pow2(len(b.ops))), []).append(bi)
        groups, slot = [], [(0, 0)] * len(plan.blocks)
        for gi, ((batched, k, length), members) in enumerate(keys.items()):
            dim = 1 << k
            idx = np.empty((len(members), length, dim, dim), dtype=np.int64)
            for j, bi in enumerate(members):
                b = plan.blocks[bi]
                slot[bi] = (gi, j)
                for s in range(length):
                    if s < len(b.ops):
                        op = plan.ops[b.ops[s]]
                        idx[j, s] = embed_index(plan.own_index[b.ops[s]], op.wires, b.wires)
                    else:
                        idx[j, s] = identity_index(dim)
            groups.append(_BlockGroup(batched, torch.tensor(idx.reshape(-1), device=device),
                                      (len(members), length, dim)))
        return groups, slot


RENORMALIZE_FROM = 64  # complex64: from this many blocks on (0: never), the final state is rescaled to norm 1;
# every block is linear, so one rescaling at the end equals one after every block (bench/deep_circuits.py)
DIFF_METHODS = ("auto", "backprop", "adjoint")
ADJOINT_ABOVE = 256 << 20  # "auto": the adjoint gradient when backprop would keep more than this many bytes of states


def _apply(state: Tensor, mat: Tensor, batched: bool, perm, span) -> Tensor:
    return (kernels.apply_batched if batched else kernels.apply_unbatched)(state, mat, perm, span)


def _block(mats: list[Tensor], slot: tuple[int, int], batched: bool) -> Tensor:
    gi, j = slot
    return mats[gi][:, j] if batched else mats[gi][j]


def _run_blocks(state: Tensor, steps, mats: list[Tensor]) -> Tensor:
    for slot, batched, perm, span in steps:
        state = _apply(state, _block(mats, slot, batched), batched, perm, span)
    return state


class _Adjoint(torch.autograd.Function):
    """The blocks applied to a state, differentiated by the adjoint method: the forward pass keeps only the final
    state; the backward pass walks the blocks in reverse, uncomputing each state (a block is unitary: its inverse
    is its conjugate transpose) and carrying the cotangent back through it, so a few states are alive at any time
    instead of one per block. Each block's gradient uses the formulas of the kernels' own backward (``_reverse``),
    so both methods give the same numbers up to the rounding of the uncomputation."""

    generate_vmap_rule = True  # plain torch ops, no in-place writes into inputs: torch.func transforms compose

    @staticmethod
    def forward(state: Tensor, steps, *mats: Tensor) -> Tensor:
        with torch.no_grad():
            return _run_blocks(state, steps, list(mats))

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        state, steps, *mats = inputs
        ctx.steps, ctx.input_shape = steps, state.shape
        ctx.save_for_backward(output, *mats)
        ctx.save_for_forward(state, *mats)

    @staticmethod
    def jvp(ctx, d_state: Tensor | None, _steps, *d_mats: Tensor | None) -> Tensor:
        """Forward mode (torch.func.jvp, jacfwd): the tangent carried through the blocks with the state,
        d(M s) = dM s + M ds; nothing is kept."""
        state, *mats = ctx.saved_tensors
        tangent = d_state
        for slot, batched, perm, span in ctx.steps:
            mat = _block(mats, slot, batched)
            if tangent is not None:
                tangent = _apply(tangent, mat, batched, perm, span)
            if d_mats[slot[0]] is not None:
                term = _apply(state, _block(list(d_mats), slot, batched), batched, perm, span)
                tangent = term if tangent is None else tangent + term
            state = _apply(state, mat, batched, perm, span)
        return torch.zeros_like(state) if tangent is None else tangent

    @staticmethod
    def backward(ctx, grad: Tensor):
        psi, *mats = ctx.saved_tensors
        want = [ctx.needs_input_grad[2 + i] for i in range(len(mats))]
        parts: dict[tuple[int, int], Tensor] = {}  # (group, block) -> its matrix's gradient
        for slot, batched, perm, span in reversed(ctx.steps):
            mat = _block(mats, slot, batched)
            psi, grad, grad_mat = _reverse(psi, grad, mat, batched, perm, span, want[slot[0]])
            if grad_mat is not None:
                parts[slot] = grad_mat + parts[slot] if slot in parts else grad_mat
        batched_group = {slot[0]: batched for slot, batched, _, _ in ctx.steps}
        grads = []
        for gi, m in enumerate(mats):
            if not want[gi]:
                grads.append(None)
                continue
            axis = 1 if batched_group[gi] else 0  # batched groups: (B, NB, D, D)
            zero = torch.zeros_like(m.select(axis, 0))
            grads.append(torch.stack([parts.get((gi, j), zero) for j in range(m.shape[axis])], axis))
        return (grad.reshape(ctx.input_shape), None, *grads)


def _reverse(psi: Tensor, grad: Tensor, mat: Tensor, batched: bool, perm, span, want_mat: bool):
    """One block backwards: the state before it (uncomputed: the block is unitary), the cotangent before it, and
    the block matrix's gradient — the formulas of the kernels' own backward (for out = M s: ds = M^H dout,
    dM = dout s^H), with the uncomputation and the cotangent in one product."""
    shape = psi.shape
    d = mat.shape[-1]
    if batched:  # out[l, i, r, b] = sum_j M_b[i, j] s[l, j, r, b]
        cut = (span[0], d, span[1], shape[-1])  # five axes at most: CUDA kernels take 25 (28 qubits have 29)
        both = torch.stack((psi.reshape(cut), grad.reshape(cut)))
        back = torch.einsum("bij,klirb->kljrb", mat.conj(), both)
        before, grad_before = back[0], back[1]
        grad_mat = torch.einsum("lirb,ljrb->bij", both[1], before.conj()) if want_mat else None
    else:  # as kernels._MatrixOnColumns
        p, g = psi.reshape(span[0], d, -1), grad.reshape(span[0], d, -1)
        inverse = mat.mH.resolve_conj()  # conjugated before a broadcast, not after
        before, grad_before = kernels.columns_product(inverse, p), kernels.columns_product(inverse, g)
        grad_mat = kernels.columns_outer(g, before) if want_mat else None
    before, grad_before = before.reshape(shape), grad_before.reshape(shape)
    if perm is not None:  # the block's permutation undone
        inverse = tuple(int(i) for i in np.argsort(perm))
        before, grad_before = kernels.permuted(before, inverse), kernels.permuted(grad_before, inverse)
    return before, grad_before, grad_mat



class StatevectorEngine(torch.nn.Module):
    """Runs a circuit on a batch of statevectors. Holds no parameters; the angles are passed in.

    ``fusion`` caps the wires of a fused block per kind ({False: unbatched, True: batched}).
    """

    def __init__(self, circuit: Circuit, fusion: dict[bool, int] | None = None, diff_method: str = "auto"):
        super().__init__()
        if diff_method not in DIFF_METHODS:
            raise InputError(f"diff_method must be one of {', '.join(DIFF_METHODS)}, got {diff_method!r}")
        self.diff_method = diff_method
        self.n_wires = circuit.n_wires
        self.n_inputs = circuit.n_inputs
        self.n_trainable = circuit.n_trainable
        self.global_phase = float(circuit.global_phase)
        self._ops = list(circuit.ops)
        self._fusion = fusion
        self._plans: dict[tuple[bool, int], Plan] = {}
        self._prepared: dict[tuple[bool, int, torch.device, torch.dtype], _Prepared] = {}
        self._entries: dict[tuple[bool, int], tuple[int, tuple[int, int]]] = {}

    def plan(self, zero_start: bool = True, batch: int = 256) -> Plan:
        """The compiled plan for starting from |0...0> (or not) and a batch of this size."""
        key = (zero_start, batch_bucket(batch))
        if key not in self._plans:
            self._plans[key] = compile_plan(self._ops, self.n_wires, zero_start, self._fusion, key[1])
        return self._plans[key]

    def uses_adjoint(self, batch: int, dtype: torch.dtype = torch.complex64) -> bool:
        """Whether a gradient at ``batch`` is taken by the adjoint method: ``diff_method`` "adjoint", or "auto" when
        backpropagation would keep more than ``ADJOINT_ABOVE`` bytes of states (one per fused block)."""
        if self.diff_method != "auto":
            return self.diff_method == "adjoint"
        n_blocks = len(self.plan(True, batch).blocks)
        return (n_blocks + 3) * (batch << self.n_wires) * dtype.itemsize > ADJOINT_ABOVE

    def check_memory(self, batch: int, dtype: torch.dtype = torch.complex64, grad: bool = True,
                     device: torch.device | str = "cpu", zero_start: bool = True) -> None:
        """Raise ``MemoryBudgetError`` (one line: how much, what to do) when a forward pass at ``batch`` (and the
        backward pass with ``grad``) would need more memory than ``device`` has (``qml.sim.memory``)."""
        from qml.sim import memory

        key = (zero_start, batch_bucket(batch))
        if key not in self._entries:
            plan, entries = self.plan(zero_start, batch), [0, 0]
            for b in plan.blocks:
                entries[b.batched] += next_pow2(len(b.ops)) << (2 * len(b.wires))
            self._entries[key] = (len(plan.blocks), (entries[0], entries[1]))
        n_blocks, entries = self._entries[key]
        adjoint = grad and self.uses_adjoint(batch, dtype)
        memory.check(self.n_wires, batch, dtype, n_blocks, entries, grad, torch.device(device), adjoint)

    def _prep(self, zero_start: bool, batch: int, device: torch.device, cdtype: torch.dtype) -> _Prepared:
        key = (zero_start, batch_bucket(batch), device, cdtype)
        if key not in self._prepared:
            plan = self.plan(zero_start, batch)
            with kernels.untransformed():  # constants that outlive a torch.func transform's call
                self._prepared[key] = _Prepared(plan, self.n_inputs, self.n_trainable, device, cdtype)
        return self._prepared[key]

    def forward(self, theta: Tensor, x: Tensor | None = None, initial_state: Tensor | None = None) -> Tensor:
        """Statevectors (B, 2**n) for trainable angles ``theta`` (T,), features ``x`` (B, F) and an optional
        initial state (B, 2**n) (default ``|0...0>``). The dtype follows ``theta``: float32 -> complex64.
        The result is a transposed view of the engine's batch-last layout. Forward and backward run with the
        threads of the thread policy (``qml.sim.threads``: one for small states)."""
        batch = x.shape[0] if x is not None else (initial_state.shape[0] if initial_state is not None else 1)
        with thread_scope(batch << self.n_wires) as (threads, caller):
            if threads == caller:
                return self._forward(theta, x, initial_state, batch)
            theta, x = backward_threads(theta, caller), backward_threads(x, caller)
            initial_state = backward_threads(initial_state, caller)
            return backward_threads(self._forward(theta, x, initial_state, batch), threads)

    def _forward(self, theta: Tensor, x: Tensor | None, initial_state: Tensor | None, batch: int) -> Tensor:
        cdtype = COMPLEX_OF[theta.dtype]
        n = self.n_wires
        grad = torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (theta, x, initial_state))
        self.check_memory(batch, cdtype, grad, theta.device, zero_start=initial_state is None)
        prep = self._prep(initial_state is None, batch, theta.device, cdtype)
        pool_u, pool_b = self._pools(prep, theta, x, batch)

        if prep.prefix_index is not None:
            if prep.prefix_batched:  # batch-last pool: (entries, B)
                pool = torch.cat((pool_u.unsqueeze(1).expand(-1, batch), pool_b), 0)
                mats = pool.index_select(0, prep.prefix_index).view(-1, n, 2, 2, batch)
            else:
                mats = pool_u.index_select(0, prep.prefix_index).view(-1, n, 2, 2, 1)
            state = kernels.kron_state(kernels.run_on_zero(mats)).expand(-1, batch)
        elif initial_state is not None:
            state = initial_state.to(device=theta.device, dtype=cdtype).transpose(0, 1).contiguous()
        else:
            state = torch.zeros(1 << n, batch, dtype=cdtype, device=theta.device)
            state[0] = 1
        state = state.reshape((2,) * n + (batch,))

        block_mats = []
        for bg in prep.block_groups:
            nb, length, dim = bg.shape
            if bg.batched:  # per-sample blocks: the batched pool with its 0 and 1, batch moved to the front
                full = torch.cat((prep.const_pool[:2].unsqueeze(1).expand(2, batch), pool_b), 0)
                mats = full.index_select(0, bg.index).view(nb, length, dim, dim, batch).permute(4, 0, 1, 2, 3)
            else:
                mats = pool_u.index_select(0, bg.index).view(nb, length, dim, dim)
            block_mats.append(kernels.tree_product(mats))
        plan = self.plan(initial_state is None, batch)
        steps = [(prep.block_slot[bi], block.batched, block.perm, block.span) for bi, block in enumerate(plan.blocks)]
        if grad and self.uses_adjoint(batch, cdtype):
            state = _Adjoint.apply(state, steps, *block_mats)
        else:
            state = _run_blocks(state, steps, block_mats)
        if cdtype == torch.complex64 and 0 < RENORMALIZE_FROM <= len(steps):  # rounding drifts the norm
            flat = state.reshape(-1, batch)  # two axes: CUDA kernels take at most 25
            state = (flat * torch.rsqrt((flat.real**2 + flat.imag**2).sum(0, keepdim=True))).view(state.shape)
        if plan.final_perm is not None:
            state = kernels.permuted(state, plan.final_perm)
        state = state.reshape(1 << n, batch).transpose(0, 1)
        if self.global_phase:
            state = state * complex(np.exp(1j * self.global_phase))
        return state

    def _pools(self, prep: _Prepared, theta: Tensor, x: Tensor | None, batch: int) -> tuple[Tensor, Tensor | None]:
        """The unbatched pool (entries,) and the batched one without its 0 and 1, batch-last (entries - 2, B)."""
        theta_ext = torch.nn.functional.pad(theta, (0, 1))
        if prep.exprs[False]:
            theta_ext = torch.cat((theta_ext, torch.stack([torch.as_tensor(e.evaluate(theta, None)).to(theta.dtype)
                                                           for e in prep.exprs[False]])))
        src = None
        if x is not None and any(g.batched for g in prep.groups):
            xr = x.to(theta.dtype)
            src = xr.transpose(0, 1)
            if prep.needs_theta_in_src:
                src = torch.cat((src, theta.unsqueeze(1).expand(-1, batch)), 0)
            if prep.exprs[True]:
                values = [torch.as_tensor(e.evaluate(theta, xr)).to(theta.dtype).expand(batch)
                          for e in prep.exprs[True]]
                src = torch.cat((src, torch.stack(values)), 0)
        parts_u, parts_b = [prep.const_pool], []
        for g in prep.groups:
            if g.batched:
                if src is None:
                    raise ValueError("this circuit takes input features; pass x")
                angles = src.index_select(0, g.index)
            else:
                angles = theta_ext.index_select(0, g.index)
            if g.scale is not None:
                angles = angles * g.scale
            if g.offset is not None:
                angles = angles + g.offset
            if g.family == "u3" and g.batched:
                mats = kernels.u3_matrices(angles.view(-1, 3, batch).transpose(1, 2)).transpose(1, 2)
            elif g.family == "u3":
                mats = kernels.u3_matrices(angles.view(-1, 3))
            else:
                mats = kernels.trig_matrices(angles.unsqueeze(1 if g.batched else -1), *g.trig)
            (parts_b if g.batched else parts_u).append(mats.reshape(-1, batch) if g.batched else mats.reshape(-1))
        pool_u = torch.cat(parts_u)
        pool_b = None if not parts_b else parts_b[0] if len(parts_b) == 1 else torch.cat(parts_b)
        return pool_u, pool_b
