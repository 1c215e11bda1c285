"""Repeated ``AerExecutor.expectations`` calls on one executor: the first builds the device's Aer noise model and
target, the next ones reuse them (issue 11). Prints the first call and the median of five more, with threads and
load. Run at an older commit for the comparison (its executor took a snapshot instead of a Device)."""

from __future__ import annotations

import os
import statistics
import time

import torch

import qml
from qml.backends.aer_executor import AerExecutor
from qml.circuit.library import load_circuit
from qml.data import load_task


def main() -> None:
    data = load_task("digits4")
    torch.manual_seed(0)
    module = qml.QuantumModule(load_circuit("u3cu3", n_blocks=2))
    executor = AerExecutor("ibm_quito", [0, 1, 2, 3], seed=0)
    times = []
    for _ in range(6):
        start = time.perf_counter()
        executor.expectations(module, data.x_test[:20], 256)
        times.append(time.perf_counter() - start)
    print(f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f}: first call "
          f"{times[0]:.3f} s, median of the next five {statistics.median(times[1:]):.3f} s")


if __name__ == "__main__":
    main()
