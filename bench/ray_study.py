"""A study in-process against the same study on an embedded local Ray (``--ray --workers N``, one thread each):
wall time, speed-up, Ray's start-up apart, and whether the two give the same cells.

    python bench/ray_study.py [--epochs 60] [--limit 300] [--workers 2] [--json bench/results/ray_study.json]

Both run through the real console script, one after the other, on the same grid (2 methods x 2 devices x
digits4 x 2 seeds = 8 cells by default, with the study's default 60 epochs). The in-process run uses the
machine's default threads (what a user gets: torch's count, with qml's policy of one thread for small states); the
Ray run's workers one torch thread each. Start-up is Ray's own (``timing.json``: starting the local Ray
and its first workers is in the process's wall time, not in the fan-out's)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from record import write_json  # noqa: E402


def run(args: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "qml.cli.main", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"qml {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - start, done.stdout


def cells(study: Path) -> dict:
    return {str(p.relative_to(study)): {k: v for k, v in json.loads(p.read_text()).items() if k != "timings_s"}
            for p in sorted(study.glob("cells/**/cell.json"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "ray_study.json")
    a = parser.parse_args()
    grid = ["--methods", "plain,noise", "--devices", "ibm_quito,ibm_lima", "--tasks", "digits4", "--seeds", "0,1",
            "--epochs", str(a.epochs), "--limit", str(a.limit), "--shots", "1024", "--quiet"]
    load_start = os.getloadavg()
    threads = subprocess.run([sys.executable, "-c", "import torch; print(torch.get_num_threads())"],
                             capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        here, there = Path(tmp) / "in-process", Path(tmp) / "ray"
        wall_here, _ = run(["study", *grid, "--out", str(here)])
        wall_there, _ = run(["study", *grid, "--out", str(there), "--ray", "--workers", str(a.workers)])
        t_here = json.loads((here / "timing.json").read_text())
        t_there = json.loads((there / "timing.json").read_text())
        same = cells(here) == cells(there)
        n = len(cells(here))
    report = {
        "grid": grid, "cells": n, "same_cells": same, "workers": a.workers, "worker_threads": 1,
        "in_process_torch_threads": int(threads), "engine_policy": os.environ.get("QML_THREADS", "auto"),
        "in_process": {"process_wall_s": round(wall_here, 2), **t_here},
        "ray": {"process_wall_s": round(wall_there, 2), **t_there},
        "speedup_process": round(wall_here / wall_there, 2),
        "speedup_fanout": round(t_here["wall_s"] / t_there["wall_s"], 2),
        "ray_startup_s": t_there["ray_startup_s"], "loadavg_start": load_start,
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
    }
    print(f"{n} cells, same results: {same}")
    print(f"in-process: {wall_here:.1f} s (cells {t_here['wall_s']:.1f} s, units' own time {t_here['busy_s']:.1f} s)")
    print(f"Ray {a.workers} workers x 1 thread: {wall_there:.1f} s (Ray start-up {t_there['ray_startup_s']:.1f} s, "
          f"cells {t_there['wall_s']:.1f} s, units' own time {t_there['busy_s']:.1f} s, workers busy "
          f"{100 * t_there['utilisation']:.0f} %)")
    print(f"speed-up: {report['speedup_fanout']:.2f}x on the cells, {report['speedup_process']:.2f}x on the whole "
          f"command")
    write_json(a.json, report)


if __name__ == "__main__":
    main()
