"""What a finished search study (``qml study`` with the methods ``searched`` and ``trainfree``) says beyond its
table: per (task, device, seed), which finalist each strategy picked (the human design on its best layout is
finalist 0 of both) and what each strategy's stages cost, read from the searches' ``results.json``.

    python bench/search_study.py STUDY [--json OUT.json]

Prints one line per search and a summary: how often each strategy kept the human design, and the median wall
time of finding the candidates (SuperCircuit + co-search, which includes random search at the same budget,
against training-free scoring) and of retraining the finalists."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

SEARCHES = {"evolution": "search", "trainfree": "search-trainfree"}


def summarise(study: Path) -> dict:
    rows = []
    for results in sorted(study.glob("cells/*/*/*/search*/results.json")):
        strategy = "trainfree" if results.parent.name == "search-trainfree" else "evolution"
        doc = json.loads(results.read_text())
        task, device, seed = results.parts[-5], results.parts[-4], int(results.parts[-3])
        finalists = doc["winner"].get("finalists", [])
        picked = next((i for i, f in enumerate(finalists) if f.get("picked")), 0)
        t = doc["timings_s"]
        finding = t.get("supercircuit", 0.0) + t.get("search", 0.0)
        rows.append({"task": task, "device": device, "seed": seed, "strategy": strategy, "picked": picked,
                     "kept_human": bool(finalists) and picked == 0,
                     "valid_noisy": [f["valid_noisy_accuracy"] for f in finalists],
                     "aer": doc["winner"]["aer"], "finding_s": round(finding, 1),
                     "finalists_s": round(t.get("retrain_winner", 0.0), 1)})
    summary = {}
    for strategy in SEARCHES:
        mine = [r for r in rows if r["strategy"] == strategy]
        if mine:
            summary[strategy] = {
                "searches": len(mine), "kept_human": sum(r["kept_human"] for r in mine),
                "median_finding_s": statistics.median(r["finding_s"] for r in mine),
                "median_finalists_s": statistics.median(r["finalists_s"] for r in mine)}
    return {"study": str(study), "searches": rows, "summary": summary}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("study", type=Path)
    p.add_argument("--json", type=Path, help="write the summary here")
    args = p.parse_args(argv)
    if not (args.study / "study.json").is_file():
        print(f"error: {args.study} is not a qml study (no study.json)", file=sys.stderr)
        return 2
    out = summarise(args.study)
    for r in out["searches"]:
        print(f"{r['task']} {r['device']} seed {r['seed']} {r['strategy']}: picked finalist {r['picked']}"
              f"{' (the human design)' if r['kept_human'] else ''} of validation accuracies {r['valid_noisy']}; "
              f"twin {r['aer']:.3f}; finding {r['finding_s']} s, finalists {r['finalists_s']} s")
    for strategy, s in out["summary"].items():
        print(f"{strategy}: kept the human design in {s['kept_human']} of {s['searches']} searches; median "
              f"finding {s['median_finding_s']} s, finalists {s['median_finalists_s']} s")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
