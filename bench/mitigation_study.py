"""Error mitigation on the Quito, Lima and Manila twins (issue 17): accuracy raw vs readout-mitigated (mthree) vs
ZNE (two-qubit folding, scales 1,3,5, linear fit) vs both, on the same test inputs and shots.

Models are trained as in the QuantumNAT studies (bench/README.md): U3+CU3 2 blocks on the trivial layout, Adam lr
0.02, batch 32; ``plain`` without noise (one run per seed, shared by the devices) and ``noise_norm`` with the
device's noise injected at factor 0.5 and post-measurement normalisation (one run per device and seed). Each model
is evaluated once per device with ``evaluate_run(..., mitigation=Mitigation(readout=True, zne=True))``: one Aer
run holds the evaluation's circuits, the readout calibration circuits and the folded copies, so every method is
scored on the same inputs. Mean over seeds with 95 % t intervals (``qml.runs.stats``); the paired test is the
exact McNemar test of each method against raw on the same inputs, pooled over seeds.

    OMP_NUM_THREADS=1 python bench/mitigation_study.py --out /tmp/mitigation   # -> bench/results/mitigation.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from qml.backends.mitigation import Mitigation
from qml.runs import StudyConfig, evaluate_run, train_run
from qml.runs.stats import stratified_mcnemar, t_interval

METHODS = ("raw", "readout", "zne", "readout+zne")
MODELS = ("plain", "noise_norm")
RESULTS = Path(__file__).parent / "results" / "mitigation.json"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("/tmp/mitigation_study"), help="study folder (runs)")
    p.add_argument("--devices", nargs="+", default=["ibm_quito", "ibm_lima", "ibm_manila"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--task", default="mnist4")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--limit", type=int, default=1000, help="first N test inputs (mnist4 has 1000)")
    p.add_argument("--shots", type=int, default=1024)
    p.add_argument("--results", type=Path, default=RESULTS)
    args = p.parse_args()

    study = StudyConfig(methods=list(MODELS), devices=args.devices, tasks=[args.task], seeds=args.seeds,
                        epochs=args.epochs, lr=0.02, noise_factor=0.5, shots=args.shots, limit=args.limit)
    mitigation = Mitigation(readout=True, zne=True)
    start, cells = time.perf_counter(), []
    for cell in study.cells():
        run = cell.run_folder(args.out, study)
        t0 = time.perf_counter()
        if not (run / "model.pt").is_file():
            train_run(study.run_config(cell), run, progress=False, say=lambda text: None)
        trained = time.perf_counter() - t0
        e = evaluate_run(run, f"aer:{cell.device}", shots=args.shots, limit=args.limit, seed=cell.seed,
                         layout=list(range(4)), mitigation=mitigation)
        rows = {r.mitigation or "raw": r for r in (e, *e.mitigated)}
        noise_free = json.loads((run / "result.json").read_text())["test_accuracy"]
        cells.append({"device": cell.device, "seed": cell.seed, "model": cell.method, "n": e.n,
                      "noise_free_accuracy": noise_free, "train_s": round(trained, 1), "eval_s": round(e.seconds, 1),
                      **{m: {"accuracy": rows[m].accuracy, "executions": rows[m].executions,
                             "correct": "".join("1" if c else "0" for c in rows[m].correct)} for m in METHODS}})
        print(f"{cell}: " + ", ".join(f"{m} {rows[m].accuracy:.3f}" for m in METHODS)
              + f" (train {trained:.0f} s, eval {e.seconds:.1f} s)", flush=True)
    table = summarise(cells, args.devices)
    doc = {"task": args.task, "epochs": args.epochs, "limit": args.limit, "shots": args.shots, "seeds": args.seeds,
           "models": list(MODELS), "mitigation": mitigation.to_dict(), "wall_s": round(time.perf_counter() - start),
           "table": table, "cells": cells}
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(doc, indent=1) + "\n")
    print(markdown(table))
    print(f"wrote {args.results} ({doc['wall_s']} s)")


def summarise(cells: list[dict], devices: list[str]) -> list[dict]:
    """Per device and model: each method's mean accuracy over seeds with its t interval, the McNemar test against
    raw pooled over seeds, and the executions per input it needs."""
    out = []
    for device in devices:
        for model in MODELS:
            group = sorted((c for c in cells if c["device"] == device and c["model"] == model), key=lambda c: c["seed"])
            if not group:
                continue
            row = {"device": device, "model": model, "n": group[0]["n"], "seeds": len(group),
                   "noise_free": t_interval([c["noise_free_accuracy"] for c in group]).estimate}
            for m in METHODS:
                i = t_interval([c[m]["accuracy"] for c in group])
                test = stratified_mcnemar([(outcomes(c[m]), outcomes(c["raw"])) for c in group])
                row[m] = {"mean": i.estimate, "low": i.low, "high": i.high, "b": test.b, "c": test.c,
                          "p": test.p_value, "executions_per_input": group[0][m]["executions"] / group[0]["n"]}
            out.append(row)
    return out


def outcomes(method: dict) -> list[bool]:
    return [x == "1" for x in method["correct"]]


def markdown(table: list[dict]) -> str:
    lines = ["| device | model | noise-free | raw | readout | zne | readout+zne |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for row in table:
        cells = []
        for m in METHODS:
            r = row[m]
            text = f"{r['mean']:.3f} ± {(r['high'] - r['mean']) if r['high'] is not None else float('nan'):.3f}"
            if m != "raw":
                verdict = ("better" if r["b"] > r["c"] else "worse") if r["p"] < 0.05 else "n.s."
                text += f" ({verdict}, p={r['p']:.2g})"
                text = f"**{text}**" if verdict == "better" else text
            cells.append(text)
        lines.append(f"| {row['device']} | {row['model']} | {row['noise_free']:.3f} | " + " | ".join(cells) + " |")
    first = table[0]
    lines += ["", "Executions per input (circuits x shots, calibration shared by the inputs): "
              + ", ".join(f"{m} {first[m]['executions_per_input']:,.0f}" for m in METHODS)]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
