"""Aer evaluation of 256 inputs x 1024 shots: qml's batched executor (one transpile, parameter arrays in
batch-sized PUBs, one run call) against binding and running one circuit per input, side by side in one run.
Writes bench/results/aer_batching.json.

    python bench/aer_batching.py --device ibm_quito --inputs 256 --shots 1024
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

import qml
from qml.backends.aer_executor import AerExecutor
from qml.backends.base import parameter_rows, unpack_bitarray, z_from_bits
from qml.noise import load_snapshot


def one_by_one(executor: AerExecutor, module, x, shots: int) -> np.ndarray:
    """The naive path: bind each input into the transpiled circuit and run it on its own."""
    transpiled = executor.transpile(module)
    rows = parameter_rows(transpiled, x)
    sampler = executor.sampler(shots)
    params = list(transpiled.parameters)
    out = []
    for row in rows:
        bound = transpiled.assign_parameters(dict(zip(params, row, strict=True)))
        pub = sampler.run([(bound,)], shots=shots).result()[0]
        out.append(z_from_bits(unpack_bitarray(pub.data.meas.array, module.n_wires).astype(float)))
    return np.stack(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="ibm_quito")
    parser.add_argument("--inputs", type=int, default=256)
    parser.add_argument("--shots", type=int, default=1024)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "aer_batching.json")
    args = parser.parse_args()
    torch.manual_seed(0)
    c = qml.Circuit(4)
    c.encode("4x4_ryzxy")
    for _ in range(2):
        c.layer("u3").ring("cu3")
    module = qml.QuantumModule(c)
    x = torch.randn(args.inputs, 16) * 0.3
    executor = AerExecutor(load_snapshot(args.device), None, seed=0)
    executor.expectations(module, x[:4], args.shots)  # warm-up: imports, noise model, first transpile

    start = time.perf_counter()
    batched = executor.expectations(module, x, args.shots).numpy()
    t_batched = time.perf_counter() - start
    start = time.perf_counter()
    single = one_by_one(executor, module, x, args.shots)
    t_single = time.perf_counter() - start
    diff = float(np.abs(batched - single).mean())
    result = {"device": args.device, "inputs": args.inputs, "shots": args.shots, "batched_s": round(t_batched, 3),
              "one_by_one_s": round(t_single, 3), "speedup": round(t_single / t_batched, 1),
              "mean_abs_diff_z": round(diff, 4), "machine": platform.processor() or platform.machine(),
              "threads": torch.get_num_threads()}
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
