"""QuantumNAS on three device twins: the searched circuit and layout against the human baseline (U3+CU3, 2 blocks,
trivial layout) trained the same way, and evolutionary against random search at equal budget; all evaluated on
the Aer twin with 1024 shots. Writes bench/results/search.json and prints a Markdown table.

    python bench/search_devices.py --devices ibm_quito ibm_lima ibm_manila --fitness esr
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from qml.runs import SearchConfig, search_run
from qml.search.supercircuit import SuperTrainConfig


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", nargs="+", default=["ibm_quito", "ibm_lima", "ibm_manila"])
    parser.add_argument("--fitness", default="esr")
    parser.add_argument("--super-epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "search.json")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for device in args.devices:
            config = SearchConfig(device=device, fitness=args.fitness, seed=args.seed,
                                  super_train=SuperTrainConfig(args.super_epochs, seed=args.seed))
            start = time.perf_counter()
            results = search_run(Path(tmp) / device, config, quiet=True)
            results["wall_s"] = round(time.perf_counter() - start, 1)
            rows.append(results)
            print(json.dumps({k: results[k] for k in ("device", "timings_s", "wall_s")}), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"settings": {k: str(v) for k, v in vars(args).items()}, "runs": rows}, indent=2))
    print("\n| device | searched (Aer) | searched + pruned (Aer) | random search (Aer) | baseline (Aer) | "
          "searched layout | wall s |")
    print("|---|---:|---:|---:|---:|---|---:|")
    for r in rows:
        w = r["winner"]
        print(f"| {r['device']} | {w['aer']:.3f} | {w.get('pruned_aer', float('nan')):.3f} | {r['random']['aer']:.3f} "
              f"| {r['baseline']['aer']:.3f} | {w['layout']} | {r['wall_s']} |")


if __name__ == "__main__":
    main()
