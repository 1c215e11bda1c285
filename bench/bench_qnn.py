"""QNN-k benchmark: qml against its peers on the same workload, in one process, reporting ratios.

    python bench/bench_qnn.py                       # all sizes, all installed peers, 2 torch threads
    python bench/bench_qnn.py --sizes 4,10 --peers torchquantum,pennylane --budget 3
    python bench/bench_qnn.py --sizes 4,10,tc20 --peers tensorcircuit --threads 1   # + TensorCircuit-NG (JAX)

Workload QNN-k (see bench/peers.py): the 16-feature encoder cycled over k qubits, blocks of [U3 on every
qubit + CU3 ring], <Z> on every qubit, loss = sum. The torch-based peers are timed round-robin (one call
each per round) so that machine noise hits all of them alike; each figure is the median over the rounds.
Aer is timed alone right after them (its OpenMP threads spin after each call and would slow the next peer).
Before timing, every peer's forward output is compared with qml's.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from peers import PEERS  # noqa: E402
from record import write_json  # noqa: E402
from workload import QmlPeer  # noqa: E402

SIZES = {4: (256, 2), 10: (256, 2), 16: (32, 2), 20: (1, 4), 24: (1, 4)}
NAMED = {"tc20": (20, 1, 10)}  # TensorCircuit-NG's published workload: 20 qubits, 10 layers, batch 1, value + grad


def size_arg(text: str) -> list[tuple[int, int, int]]:
    """``4,10`` (the sizes of SIZES) or ``tc20`` or ``K/BATCH/BLOCKS``: a list of (qubits, batch, blocks)."""
    out = []
    for item in text.split(","):
        if item in NAMED:
            out.append(NAMED[item])
        elif "/" in item:
            k, batch, blocks = (int(v) for v in item.split("/"))
            out.append((k, batch, blocks))
        elif int(item) in SIZES:
            out.append((int(item), *SIZES[int(item)]))
        else:
            raise argparse.ArgumentTypeError(f"unknown size {item!r}: one of {sorted(SIZES)}, {sorted(NAMED)} or "
                                             "K/BATCH/BLOCKS")
    return out


def build_peers(k: int, n_blocks: int, batch: int, names: list[str], device: str, seed: int):
    rng = np.random.default_rng(seed)
    u3_w, cu3_w = rng.uniform(-np.pi, np.pi, (2, n_blocks, k, 3))
    peers, skipped = {"qml": QmlPeer(k, n_blocks, u3_w, cu3_w, device=device)}, {}
    for name in names:
        try:
            peers[name] = PEERS[name](k, n_blocks, batch, u3_w, cu3_w)
        except Exception as exc:  # a peer that cannot be installed or built is reported, not fatal
            skipped[name] = f"{type(exc).__name__}: {exc}"
    x = torch.tensor(rng.uniform(-np.pi, np.pi, (batch, 16)), dtype=torch.float32)
    return peers, skipped, x


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_round_robin(calls: dict, budget: float, min_rounds: int, max_rounds: int, device: str) -> dict:
    """Median seconds per call of each callable, calling them in turn until the budget is spent."""
    for fn in calls.values():  # warm-up
        fn()
    sync(device)
    times: dict[str, list[float]] = {name: [] for name in calls}
    start = time.perf_counter()
    rounds = 0
    while rounds < min_rounds or (time.perf_counter() - start < budget and rounds < max_rounds):
        for name, fn in calls.items():
            t0 = time.perf_counter()
            fn()
            sync(device)
            times[name].append(time.perf_counter() - t0)
        rounds += 1
    return {name: float(np.median(ts)) for name, ts in times.items()}


def run(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads)
    results, notes = [], [f"load average at the start: {os.getloadavg()}"]
    for k, batch, n_blocks in args.sizes:
        peers, skipped, x = build_peers(k, n_blocks, batch, args.peers, args.device, args.seed)
        for name, why in skipped.items():
            notes.append(f"QNN-{k}: {name} skipped: {why}")
            print(f"QNN-{k}: {name} skipped: {why}", file=sys.stderr)
        reference = peers["qml"].forward(x)
        diffs = {name: float(np.abs(p.forward(x) - reference).max()) for name, p in peers.items()}
        for mode in ("forward", "forward+backward"):
            calls = {}
            for name, p in peers.items():
                if mode == "forward":
                    calls[name] = (lambda p=p, x=x: p.forward(x))
                elif p.supports_backward:
                    calls[name] = (lambda p=p, x=x: p.forward_backward(x))
            # Aer's OpenMP threads keep spinning for a while after each call and would slow down whichever
            # peer runs next, so Aer is timed on its own after the torch-based peers.
            solo = {n: calls.pop(n) for n in list(calls) if n == "aer"}
            min_rounds = 1 if k >= 16 and "pennylane" in calls else 3
            medians = time_round_robin(calls, args.budget, min_rounds, 200, args.device)
            for name, fn in solo.items():
                medians.update(time_round_robin({name: fn}, args.budget / 2, 3, 200, args.device))
            for name, sec in medians.items():
                default = SIZES.get(k) == (batch, n_blocks)
                row = {"workload": f"QNN-{k}" if default else f"QNN-{k} ({n_blocks} blocks)", "qubits": k,
                       "batch": batch, "blocks": n_blocks, "mode": mode,
                       "peer": peers[name].name, "key": name, "median_s": sec, "samples_per_s": batch / sec,
                       "qml_speedup": medians["qml"] and sec / medians["qml"],
                       "max_abs_diff_vs_qml": diffs[name]}
                compile_s = getattr(peers[name], "compile_s", {}).get(mode)
                if compile_s is not None:  # jit compilation, paid once per shape, outside the timed calls
                    row["compile_s"] = compile_s
                results.append(row)
                print(f"QNN-{k:<2} B={batch:<3} {mode:<17} {peers[name].name:<40} {sec * 1e3:10.2f} ms "
                      f"{batch / sec:12.1f} samples/s  qml x{row['qml_speedup']:.2f}  diff {diffs[name]:.1e}")
    return {"date": datetime.date.today().isoformat(), "device": args.device,
            "threads": args.threads, "results": results, "notes": notes}


def table(report: dict) -> str:
    lines = ["| workload | B | mode | peer | ms / call | samples/s | qml ÷ peer (samples/s) | compile s |",
             "|---|---|---|---|---:|---:|---:|---:|"]
    for r in report["results"]:
        compile_s = f"{r['compile_s']:.1f}" if "compile_s" in r else ""
        lines.append(f"| {r['workload']} | {r['batch']} | {r['mode']} | {r['peer']} | {r['median_s'] * 1e3:.2f} | "
                     f"{r['samples_per_s']:.1f} | {r['qml_speedup']:.2f} | {compile_s} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="4,10,16,20", type=size_arg,
                        help="4,10,16,20,24 (QNN-k at its batch and blocks), tc20 or K/BATCH/BLOCKS")
    parser.add_argument("--peers", default="torchquantum,torchquantum_static,pennylane,aer",
                        type=lambda s: [v for v in s.split(",") if v])
    parser.add_argument("--device", default="cpu", help="device for qml (peers stay on the CPU)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--budget", type=float, default=4.0, help="seconds of timing per size and mode")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "qnn_cpu.json")
    args = parser.parse_args()
    unknown = [p for p in args.peers if p not in PEERS]
    if unknown:
        parser.error(f"--peers: unknown {unknown}; known {sorted(PEERS)}")
    report = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    print(table(report))
    write_json(args.out, report)


if __name__ == "__main__":
    main()
