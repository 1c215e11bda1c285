"""Backpropagation against the adjoint gradient: peak memory and time of one forward + backward of QNN-k at
batch 1 (the QNN-k workload of bench/README.md, 4 blocks), each in its own process so that its peak resident
memory (above the process after building the model) is its own; and the largest difference between the two
gradients (complex64, relative to the largest gradient).

    python bench/adjoint.py                            # 18, 20, 22 qubits
    python bench/adjoint.py --qubits 20,22,24 --json bench/results/adjoint.json
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

HERE = Path(__file__).resolve().parent


def child(k: int, method: str, blocks: int) -> dict:
    import torch

    sys.path.insert(0, str(HERE))
    from workload import build_circuit

    import qml

    torch.set_num_threads(1)
    torch.manual_seed(0)
    m = qml.QuantumModule(build_circuit(k, blocks), diff_method=method)
    x = torch.rand(1, 16, generator=torch.Generator().manual_seed(1))
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    m(x).sum().backward()
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
    grad_file = Path(os.environ["QML_BENCH_GRAD"])
    torch.save(m.theta.grad, grad_file)
    return {"qubits": k, "method": method, "seconds": seconds, "peak_mib": peak / 1024,
            "state_mib": (1 << k) * 8 / 2**20, "blocks": len(m.engine.plan(True, 1).blocks)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--qubits", default="18,20,22")
    ap.add_argument("--blocks", type=int, default=4)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(int(args.child[0]), args.child[1], args.blocks)))
        return
    import tempfile

    import torch

    rows = []
    print(f"{os.cpu_count()} cores, 1 torch thread, QNN-k with {args.blocks} blocks, batch 1, forward + backward, "
          f"complex64")
    print("| qubits | state | fused blocks | backprop peak | adjoint peak | backprop s | adjoint s "
          "| max |Δgrad| / max |grad| |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for k in [int(v) for v in args.qubits.split(",")]:
            out, grads = {}, {}
            for method in ("backprop", "adjoint"):
                grad_file = Path(tmp) / f"{k}-{method}.pt"
                proc = subprocess.run([sys.executable, __file__, "--blocks", str(args.blocks), "--child", str(k),
                                       method], capture_output=True, text=True,
                                      env={**os.environ, "QML_BENCH_GRAD": str(grad_file)})
                if proc.returncode != 0:
                    out[method] = {"error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
                    continue
                out[method] = json.loads(proc.stdout.strip().splitlines()[-1])
                grads[method] = torch.load(grad_file, weights_only=True)
            b, a = out.get("backprop", {}), out.get("adjoint", {})
            diff = (float((grads["adjoint"] - grads["backprop"]).abs().max() / grads["backprop"].abs().max())
                    if len(grads) == 2 else None)
            row = {"qubits": k, "backprop": b, "adjoint": a, "relative_grad_difference": diff}
            rows.append(row)
            if "error" in b or "error" in a:
                print(f"| {k} | failed: {b.get('error') or a.get('error')} |", flush=True)
                continue
            print(f"| {k} | {b['state_mib']:.0f} MiB | {b['blocks']} | {b['peak_mib']:.0f} MiB | "
                  f"{a['peak_mib']:.0f} MiB | {b['seconds']:.2f} | {a['seconds']:.2f} | {diff:.1e} |", flush=True)
    if args.json:
        write_json(args.json, {"rows": rows})


if __name__ == "__main__":
    main()
