"""How many torch threads should a simulation use? QNN-k forward + backward with 1 and with 2 threads (and with
qml's default policy, ``auto``), on an idle machine and with one core taken by a busy process (as when a study
or a search runs beside it, or on a user's laptop); the ratios choose ``qml.sim.threads.SMALL_STATE``.

    python bench/threads.py                          # sizes 4x256, 8x256, 10x256, 12x64, 16x32, 20x1
    python bench/threads.py --sizes 4x256,10x256 --budget 2 --json bench/results/threads.json

Each (size, load) times the three settings round-robin (one step each per round, medians over rounds), so that
machine noise hits all of them alike. The busy process is a pure-Python loop pinned nowhere (the OS places it).
Recorded: cores, torch's default threads, load average before and after each size.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

import qml
from qml.sim import threads

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from workload import build_circuit  # noqa: E402


def busy(stop) -> None:
    while not stop.is_set():
        sum(i * i for i in range(10000))


def model(n: int) -> qml.QuantumModule:
    """QNN-n of ``bench/README.md``: the 16-feature encoder cycled over n qubits, 2 blocks of U3 + CU3 ring."""
    return qml.QuantumModule(build_circuit(n, 2))


def time_settings(n: int, batch: int, budget: float) -> dict:
    torch.manual_seed(0)
    m = model(n)
    x = torch.rand(batch, m.n_inputs)
    settings = {"1 thread": 1, "2 threads": 2, "auto": "auto"}

    def step(setting) -> float:
        threads.set_threads(setting)
        torch.set_num_threads(2)  # the caller's count: torch's default on this machine
        t = time.perf_counter()
        m(x).sum().backward()
        return time.perf_counter() - t

    for s in settings.values():  # warm-up: plans compiled, pools allocated
        step(s)
    times = {k: [] for k in settings}
    end = time.perf_counter() + budget
    while time.perf_counter() < end or min(len(v) for v in times.values()) < 5:
        for k, s in settings.items():
            times[k].append(step(s))
    threads.set_threads("auto")
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"median_s": med, "rounds": len(times["auto"]), "samples_per_s": {k: batch / v for k, v in med.items()},
            "auto_threads": threads.threads_for(batch << n),
            "ratio_2_over_1": med["2 threads"] / med["1 thread"], "ratio_auto_over_best": med["auto"] / min(
                med["1 thread"], med["2 threads"])}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="4x256,8x256,10x256,12x64,16x32,20x1")
    ap.add_argument("--budget", type=float, default=3.0, help="seconds of timing per size and load")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    rows = []
    print(f"{os.cpu_count()} cores, torch {torch.__version__}, default threads {torch.get_num_threads()}, "
          f"SMALL_STATE {threads.SMALL_STATE}")
    print("| qubits x batch | amplitudes | load | 1 thread | 2 threads | auto (threads) | 2 / 1 | auto / best |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for n, batch in sizes:
        for load in ("idle", "one core busy"):
            stop, proc = mp.Event(), None
            if load != "idle":
                proc = mp.Process(target=busy, args=(stop,), daemon=True)
                proc.start()
                time.sleep(0.5)
            before = os.getloadavg()
            try:
                r = time_settings(n, batch, args.budget)
            finally:
                if proc is not None:
                    stop.set()
                    proc.join()
            r.update({"qubits": n, "batch": batch, "amplitudes": batch << n, "load": load,
                      "loadavg_before": before, "loadavg_after": os.getloadavg()})
            rows.append(r)
            s = r["samples_per_s"]
            print(f"| {n} x {batch} | {batch << n} | {load} | {s['1 thread']:.0f}/s | {s['2 threads']:.0f}/s | "
                  f"{s['auto']:.0f}/s ({r['auto_threads']}) | {r['ratio_2_over_1']:.2f} | "
                  f"{r['ratio_auto_over_best']:.2f} |", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"machine": {"cores": os.cpu_count(), "cpu": platform.processor(),
                                                     "torch": torch.__version__,
                                                     "small_state": threads.SMALL_STATE},
                                         "rows": rows}, indent=1))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
