"""The size guard: what a simulation will need, compared with what the machine has, before anything is allocated.

A statevector of n qubits at batch B holds B x 2^n amplitudes (8 bytes each in complex64, 16 in complex128).
A forward pass without gradients keeps about three of them at a time (the state, a permuted copy, the result);
backpropagation keeps one per fused block for the backward pass. The fused blocks' matrices come on top (per
sample for blocks whose angles depend on the inputs). ``estimate`` adds these up; ``check`` raises one clear
``MemoryBudgetError`` when the estimate exceeds the memory available (Linux ``MemAvailable``, or the free memory
of a CUDA device), saying how much is needed and what to do instead. Estimates under ``CHECK_ABOVE`` are not
checked (reading the available memory would cost more than the small simulations it guards)."""

from __future__ import annotations

from pathlib import Path

import torch

from qml.errors import MemoryBudgetError

CHECK_ABOVE = 256 << 20  # bytes
STATES_NO_GRAD = 3
STATES_GRAD_EXTRA = 3
STATES_ADJOINT = 6  # the final state, the uncomputed one, the cotangent, and one block's forward and backward


def available_bytes(device: torch.device) -> int | None:
    """Memory a new allocation can use on ``device``, or None when it cannot be told."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def estimate(n_wires: int, batch: int, itemsize: int, n_blocks: int, block_entries: tuple[int, int], grad: bool,
             adjoint: bool = False) -> tuple[int, int]:
    """(bytes needed, bytes of one state) for a forward pass (and what the backward pass keeps when ``grad``: one
    state per block for backpropagation, a few for the adjoint method). ``block_entries`` is the fused blocks'
    matrix entries (unbatched, per sample)."""
    state = batch * (1 << n_wires) * itemsize
    states = STATES_NO_GRAD if not grad else STATES_ADJOINT if adjoint else n_blocks + STATES_GRAD_EXTRA
    unbatched, batched = block_entries
    matrices = 2 * (unbatched + batched * batch) * itemsize + (unbatched + batched) * 8  # tree products, indices
    return state * states + matrices, state


def check(n_wires: int, batch: int, dtype: torch.dtype, n_blocks: int, block_entries: tuple[int, int], grad: bool,
          device: torch.device, adjoint: bool = False) -> None:
    itemsize = dtype.itemsize
    need, state = estimate(n_wires, batch, itemsize, n_blocks, block_entries, grad, adjoint)
    if need < CHECK_ABOVE:
        return
    have = available_bytes(device)
    if have is None or need <= have:
        return
    where = "on the GPU" if device.type == "cuda" else "in memory"
    kept = (f"{STATES_ADJOINT} states of {gib(state)} for the adjoint gradient" if grad and adjoint
            else f"one {gib(state)} state kept per fused block ({n_blocks}) for backpropagation" if grad
            else f"{STATES_NO_GRAD} states of {gib(state)}")
    advice = ["a smaller batch" if batch > 1 else None,
              "torch.no_grad() for inference" if grad else None,
              "diff_method='adjoint' (a few states instead of one per block)" if grad and not adjoint else None,
              "complex64 (the default)" if itemsize == 16 else None,
              "a GPU with more memory" if device.type != "cuda" or grad else None]
    raise MemoryBudgetError(
        f"simulating {n_wires} qubits at batch {batch} needs about {gib(need)} ({kept}); {gib(have)} are available "
        f"{where}: use {', '.join(a for a in advice if a) or 'fewer qubits'}")


__all__ = ["available_bytes", "check", "estimate"]
