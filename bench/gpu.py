"""qml's engine on a CUDA GPU against the same engine on that machine's CPU (one process, same workloads).

QNN-k of bench/README.md (the 16-feature encoder cycled over k qubits, 2 blocks of U3 + CU3 ring; 4 blocks for
the large registers), forward + backward, complex64:
- correctness: outputs and gradients on the GPU against complex128 on the CPU;
- throughput: samples per second at QNN-4 B=256, QNN-10 B=256, QNN-16 B=32, QNN-20 B=1 on the GPU, on the CPU with
  all its threads and with one;
- large registers at batch 1 (22-28 qubits): forward and forward + backward on the GPU with backpropagation and
  with the adjoint gradient: time and peak GPU memory;
- the memory-bandwidth floor: each fused block reads and writes the state once, so a forward pass moves at least
  2 x blocks x state bytes; that divided by its time, against a device-to-device copy of the same state.

    python bench/gpu.py --json gpu.json                       # on a machine with a GPU
    python bench/gpu.py --device cpu --quick                  # the script's own check, anywhere
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from workload import build_circuit  # noqa: E402

import qml  # noqa: E402


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def timed(fn, device: str, budget: float, min_reps: int = 3) -> float:
    """Median seconds of ``fn`` over repetitions filling ``budget`` (after one warm-up)."""
    fn()
    sync(device)
    times, end = [], time.perf_counter() + budget
    while time.perf_counter() < end or len(times) < min_reps:
        t = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2]


def model(k: int, blocks: int, device: str, dtype=torch.complex64, diff_method: str = "auto"):
    torch.manual_seed(0)
    return qml.QuantumModule(build_circuit(k, blocks), dtype=dtype, diff_method=diff_method).to(device)


def step(m, x):
    def run():
        m.theta.grad = None
        m(x).sum().backward()
    return run


def correctness(device: str, sizes) -> list[dict]:
    rows = []
    for k, batch in sizes:
        ref = model(k, 2, "cpu", torch.complex128)
        x = torch.rand(batch, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
        out_ref = ref(x)
        out_ref.square().sum().backward()
        for dtype in (torch.complex64, torch.complex128):
            m = model(k, 2, device, dtype)
            m.load_state_dict({"theta": ref.theta.detach().to(m.theta.dtype)})
            out = m(x.to(device, m.theta.dtype))
            out.square().sum().backward()
            adjoint = model(k, 2, device, dtype, diff_method="adjoint")
            adjoint.load_state_dict(m.state_dict())
            adjoint(x.to(device, m.theta.dtype)).square().sum().backward()
            rows.append({"qubits": k, "batch": batch, "dtype": str(dtype),
                         "max_output_error": float((out.detach().cpu().double() - out_ref.detach()).abs().max()),
                         "max_grad_error": float((m.theta.grad.cpu().double() - ref.theta.grad).abs().max()),
                         "max_adjoint_grad_error": float((adjoint.theta.grad.cpu().double()
                                                          - ref.theta.grad).abs().max()),
                         "max_grad": float(ref.theta.grad.abs().max())})
    return rows


def throughput(device: str, sizes, budget: float) -> list[dict]:
    rows = []
    cpu_threads = os.cpu_count() or 1
    for k, batch in sizes:
        row = {"qubits": k, "batch": batch}
        for where, threads in ((device, None), ("cpu", cpu_threads), ("cpu", 1)):
            if where == "cpu" and device == "cpu" and threads == cpu_threads and cpu_threads == 1:
                continue
            if threads is not None:
                torch.set_num_threads(threads)
                qml.set_threads(threads)
            m = model(k, 2, where)
            x = torch.rand(batch, 16, device=where)
            seconds = timed(step(m, x), where, budget)
            label = where if threads is None else f"cpu {threads} thread{'s' if threads > 1 else ''}"
            row[label] = batch / seconds
        qml.set_threads("auto")
        torch.set_num_threads(cpu_threads)
        rows.append(row)
    return rows


def large(device: str, qubits, budget: float) -> list[dict]:
    rows = []
    for k in qubits:
        row = {"qubits": k, "state_mib": (1 << k) * 8 / 2**20}
        x = torch.rand(1, 16, device=device)
        for method in ("forward", "backprop", "adjoint"):
            m = model(k, 4, device, diff_method="adjoint" if method == "adjoint" else "backprop")
            if device == "cuda":
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
            try:
                if method == "forward":
                    def run(m=m, x=x):
                        with torch.no_grad():
                            m(x)
                    seconds = timed(run, device, budget)
                    row["blocks"] = len(m.engine.plan(True, 1).blocks)
                    copy = torch.empty(1 << k, dtype=torch.complex64, device=device)
                    target = torch.empty_like(copy)
                    row["copy_s"] = timed(lambda c=copy, t=target: t.copy_(c), device, budget / 2)
                    moved = 2 * row["blocks"] * (1 << k) * 8
                    row["forward_gb_per_s"] = moved / seconds / 1e9
                    row["copy_gb_per_s"] = 2 * (1 << k) * 8 / row["copy_s"] / 1e9
                else:
                    seconds = timed(step(m, x), device, budget)
            except (torch.OutOfMemoryError, qml.QmlError) as exc:
                row[f"{method}_error"] = str(exc).splitlines()[0][:200]
                continue
            row[f"{method}_s"] = seconds
            if device == "cuda":
                row[f"{method}_peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
            del m
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--quick", action="store_true", help="tiny sizes: check the script itself")
    ap.add_argument("--budget", type=float, default=1.5)
    ap.add_argument("--large", default="22,24,26,28", help="qubits of the batch-1 registers")
    ap.add_argument("--only-large", action="store_true", help="skip correctness and throughput")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    info = {"device": args.device, "torch": torch.__version__, "cores": os.cpu_count(),
            "loadavg": os.getloadavg()}
    if args.device == "cuda":
        info["gpu"] = torch.cuda.get_device_name()
    print(json.dumps(info), flush=True)
    if args.quick:
        check, sizes, big, budget = [(4, 8)], [(4, 16)], [10], 0.1
    else:
        check = [(4, 256), (10, 64), (16, 8)]
        sizes = [(4, 256), (10, 256), (16, 32), (20, 1)]
        big, budget = [int(v) for v in args.large.split(",")], args.budget
    out = {"machine": info}
    if not args.only_large:
        out["correctness"] = correctness(args.device, check)
        for r in out["correctness"]:
            print(json.dumps(r), flush=True)
        out["throughput"] = throughput(args.device, sizes, budget)
        for r in out["throughput"]:
            print(json.dumps(r), flush=True)
    out["large"] = large(args.device, big, budget)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
