"""What a finished search study (``qml study`` with the methods ``searched`` and ``trainfree``) says beyond its
table: per (task, device, seed), which finalist each strategy picked (the human design on its best layout is
finalist 0 of both) and what each strategy's stages cost, read from the searches' ``results.json``.

    python bench/search_study.py STUDY [--json OUT.json]

Prints one line per search and a summary: how often each strategy kept the human design, and the median wall
time of finding the candidates (SuperCircuit + co-search against training-free scoring; in searches run before
random search was timed apart, ``random_search`` missing, the co-search time includes it) and of retraining the
finalists."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

SEARCHES = {"evolution": "search", "trainfree": "search-trainfree"}
RESUMED_BELOW_S = 10.0  # a fresh search here takes 20 s or more to find its candidates


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
        clean = [json.loads((results.parent / f["run"] / "result.json").read_text())["test_accuracy"]
                 for f in finalists]
        row = {"task": task, "device": device, "seed": seed, "strategy": strategy, "picked": picked,
               "kept_human": bool(finalists) and picked == 0,
               "valid_noisy": [round(f["valid_noisy_accuracy"], 4) for f in finalists],
               "test_noise_free": clean, "aer": doc["winner"]["aer"], "finding_s": round(finding, 1),
               "finalists_s": round(t.get("retrain_winner", 0.0), 1),
               # a resumed search times only its last attempt: replaying the cached scores takes seconds
               "resumed": finding < RESUMED_BELOW_S}
        human = doc.get("human_layouts", {}).get("best_layout")
        if human is not None:  # what the noise of the twin takes from the human design on its best layout
            clean_human = human.get("noise_free", doc["baseline"]["noise_free"])
            row["human_noise_loss"] = round(clean_human - human["aer"], 4)
        rows.append(row)
    summary = {}
    for strategy in SEARCHES:
        mine = [r for r in rows if r["strategy"] == strategy]
        timed = [r for r in mine if not r["resumed"]]
        if mine:
            summary[strategy] = {
                "searches": len(mine), "kept_human": sum(r["kept_human"] for r in mine), "timed": len(timed),
                "median_finding_s": round(statistics.median(r["finding_s"] for r in timed), 1) if timed else None,
                "median_finalists_s": round(statistics.median(r["finalists_s"] for r in timed), 1) if timed else None}
    gaps = [(r["valid_noisy"][0] - max(r["valid_noisy"][1:]), r["test_noise_free"][0] - max(r["test_noise_free"][1:]))
            for r in rows if r["kept_human"] and len(r["valid_noisy"]) > 1]
    if gaps:  # how far the best challenger fell short of the human design (finalist 0)
        summary["challenger_shortfall"] = {"valid_noisy_mean": round(statistics.mean(g[0] for g in gaps), 4),
                                           "test_noise_free_mean": round(statistics.mean(g[1] for g in gaps), 4),
                                           "searches": len(gaps)}
    losses = [r["human_noise_loss"] for r in rows if "human_noise_loss" in r]
    if losses:
        summary["human_noise_loss"] = {"mean": round(statistics.mean(losses), 4), "max": max(losses),
                                       "searches": len(losses)}
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
              f"{' (the human design)' if r['kept_human'] else ''} of validation accuracies {r['valid_noisy']}"
              f" (noise-free test {r['test_noise_free']}); twin {r['aer']:.3f}; finding {r['finding_s']} s"
              f"{' (resumed)' if r['resumed'] else ''}, finalists {r['finalists_s']} s")
    for strategy in SEARCHES:
        s = out["summary"].get(strategy)
        if s:
            print(f"{strategy}: kept the human design in {s['kept_human']} of {s['searches']} searches; median over "
                  f"{s['timed']} searches not resumed: finding {s['median_finding_s']} s, finalists "
                  f"{s['median_finalists_s']} s")
    if "challenger_shortfall" in out["summary"]:
        gap = out["summary"]["challenger_shortfall"]
        print(f"where the human design was kept ({gap['searches']} searches), the best challenger fell short of it by "
              f"{gap['valid_noisy_mean']:.4f} in validation accuracy under the noise model and by "
              f"{gap['test_noise_free_mean']:.4f} in noise-free test accuracy, on average")
    if "human_noise_loss" in out["summary"]:
        loss = out["summary"]["human_noise_loss"]
        print(f"the twin's noise takes {loss['mean']:.4f} on average (at most {loss['max']:.4f}) from the human "
              f"design on its best layout ({loss['searches']} searches): all a noise-adaptive search can win back")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
