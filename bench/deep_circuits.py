"""Deep circuits: memory, time and single-precision accuracy of qml's engine against qiskit's ``Statevector``.

Random 10-qubit circuits of N gates (rx, ry, rz, u3, h, cx, cz, crx, rzz on random wires, trainable angles at
random values), batch 1, forward without gradient. Each case runs in its own process so that its peak resident
memory (above the process after imports and the circuit's construction) is its own. Reported: qml's time and peak
memory (complex64, with and without the final renormalisation, and complex128), qiskit ``Statevector``'s time
on the same bound circuit, the largest amplitude error against it and the norm error ‖ψ‖ − 1.

    python bench/deep_circuits.py                                   # N = 1000, 10000, 32000, 80000
    python bench/deep_circuits.py --gates 1000,10000 --json bench/results/deep_circuits.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from record import write_json  # bench/ is the script's directory, first on sys.path

GATES_1 = ("rx", "ry", "rz", "u3", "h")
GATES_2 = ("cx", "cz", "crx", "rzz")


def build(n_wires: int, n_gates: int, seed: int):
    import numpy as np

    import qml

    rng = np.random.default_rng(seed)
    c = qml.Circuit(n_wires)
    for _ in range(n_gates):
        if rng.random() < 0.6:
            c.add(str(rng.choice(GATES_1)), int(rng.integers(n_wires)))
        else:
            a, b = rng.choice(n_wires, 2, replace=False)
            c.add(str(rng.choice(GATES_2)), (int(a), int(b)))
    return c


def child(n_wires: int, n_gates: int, mode: str, seed: int) -> dict:
    import numpy as np
    import torch

    import qml
    from qml.sim import engine

    torch.set_num_threads(1)
    c = build(n_wires, n_gates, seed)
    torch.manual_seed(seed)
    m = qml.QuantumModule(c, dtype=torch.complex128 if mode == "complex128" else torch.complex64)
    if mode == "complex64, no renormalisation":
        engine.RENORMALIZE_FROM = 0
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    with torch.no_grad():
        state = m.engine(m.theta, None)[0].to(torch.complex128).numpy()
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
    from qiskit.quantum_info import Statevector

    qc = qml.to_qiskit(c, theta=m.theta.detach().double().numpy())
    t = time.perf_counter()
    ref = Statevector(qc).data
    qiskit_s = time.perf_counter() - t
    return {"gates": n_gates, "wires": n_wires, "mode": mode, "qml_s": seconds, "qiskit_s": qiskit_s,
            "peak_mib": peak / 1024, "max_amplitude_error": float(np.abs(state - ref).max()),
            "norm_error": float(np.linalg.norm(state) - 1), "blocks": len(m.engine.plan(True, 1).blocks)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gates", default="1000,10000,32000,80000")
    ap.add_argument("--wires", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.wires, int(args.child[0]), args.child[1], int(args.child[2]))))
        return
    rows = []
    print(f"{os.cpu_count()} cores, 1 torch thread, {args.wires} qubits, batch 1, forward without gradient")
    print("| gates | mode | blocks | qml s | qiskit Statevector s | qml peak MiB | max amplitude error | ‖ψ‖ − 1 |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for n in [int(v) for v in args.gates.split(",")]:
        for mode in ("complex64", "complex64, no renormalisation", "complex128"):
            proc = subprocess.run([sys.executable, __file__, "--wires", str(args.wires), "--child", str(n), mode,
                                   str(args.seed)], capture_output=True, text=True)
            if proc.returncode != 0:
                row = {"gates": n, "mode": mode, "error": proc.stderr.strip().splitlines()[-1:]}
                print(f"| {n} | {mode} | failed: {row['error']} |", flush=True)
            else:
                row = json.loads(proc.stdout.strip().splitlines()[-1])
                print(f"| {n} | {mode} | {row['blocks']} | {row['qml_s']:.2f} | {row['qiskit_s']:.2f} | "
                      f"{row['peak_mib']:.0f} | {row['max_amplitude_error']:.1e} | {row['norm_error']:+.1e} |",
                      flush=True)
            rows.append(row)
    if args.json:
        write_json(args.json, {"rows": rows})


if __name__ == "__main__":
    main()
