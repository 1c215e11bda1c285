"""``qml passes list | show | apply`` and ``qml plugins``: the compression-pass registry from the terminal."""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

from qml.errors import InputError, PluginError


def register(sub) -> None:
    p = sub.add_parser("passes", help="list, describe and apply compression passes",
                       description="Compression passes registered in the qml.passes entry-point group.")
    psub = p.add_subparsers(dest="passes_command", metavar="ACTION", required=True)

    ls = psub.add_parser("list", help="every registered pass: what it applies to, where it comes from, its state")
    ls.add_argument("--no-load", action="store_true", help="read metadata only; do not import the passes")
    ls.set_defaults(handler=run_list)

    show = psub.add_parser("show", help="a pass's description and config options with defaults")
    show.add_argument("name")
    show.set_defaults(handler=run_show)

    apply = psub.add_parser(
        "apply", help="train the classical reference model on digits and apply passes to it",
        description="Train a small MLP or CNN on scikit-learn's digits (10 classes, seconds on a CPU), then apply "
                    "the passes in order and print each report. Specs: 'NAME key=value ...', several as separate "
                    "arguments or joined by '->'.")
    apply.add_argument("specs", nargs="*", metavar="SPEC", help="e.g. 'magnitude_prune sparsity=0.7'")
    apply.add_argument("--pipeline", type=Path, help="JSON or TOML file listing the passes")
    apply.add_argument("--model", default="cnn", help="reference model: cnn (default) or mlp")
    apply.add_argument("--epochs", type=int, default=15, help="epochs of dense training before the passes")
    apply.add_argument("--seed", type=int, default=0)
    apply.add_argument("--dry-run", action="store_true", help="print what each pass would change; change nothing")
    apply.add_argument("--out", type=Path, help="write reports.json and the compressed model's state_dict here")
    apply.set_defaults(handler=run_apply)

    plugins = sub.add_parser("plugins", help="installed plugins: loaded, failed with the reason, shadowed",
                             description="Import every registered entry point and report what happened.")
    plugins.set_defaults(handler=run_plugins)


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in [header, *rows]]
    return "\n".join(lines)


def run_list(args: argparse.Namespace) -> int:
    from qml import passes

    entries = passes.available() if args.no_load else passes.registry.load_all()
    rows = []
    for e in entries:
        applies = "/".join(sorted(e.value.applies_to)) if e.value is not None else "?"
        rows.append([e.name, applies, e.distribution, e.version, e.state])
    print(_table(rows, ["NAME", "APPLIES TO", "DISTRIBUTION", "VERSION", "STATE"]))
    failed = [e for e in entries if e.reason]
    for e in failed:
        print(f"  {e.name}: {e.reason}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from qml import passes

    cls = passes.get_pass(args.name)
    entry = passes.registry.entry(args.name)
    doc = (cls.__doc__ or "").strip().splitlines()
    print(f"{cls.name} — {doc[0] if doc else ''}")
    print(f"  from:       {entry.distribution} {entry.version} ({entry.target})")
    print(f"  applies to: {', '.join(sorted(cls.applies_to))}")
    print(f"  changes:    {', '.join(cls.changes) or '-'}")
    print(f"  requires:   {', '.join(cls.requires) or '-'} (context)")
    rows = [[o.name, o.type, repr(o.default), o.allowed, o.doc] for o in cls.Config.describe()]
    print("options:")
    print(_table(rows, ["OPTION", "TYPE", "DEFAULT", "ALLOWED", "DESCRIPTION"]))
    return 0


def run_apply(args: argparse.Namespace) -> int:
    import torch

    from qml.passes import Pipeline, classification_context
    from qml.passes.context import Batches, accuracy, fit
    from qml.passes.reference import MODELS, load_digits10, reference_model

    if args.model not in MODELS:
        raise InputError(f"--model must be one of {', '.join(MODELS)}, got {args.model!r}")
    if args.epochs < 1:
        raise InputError(f"--epochs must be a positive integer, got {args.epochs}")
    if bool(args.specs) == bool(args.pipeline):
        raise InputError("give the passes either as SPEC arguments or with --pipeline FILE (exactly one)")
    if args.out is not None and args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())):
        raise InputError(f"--out {args.out} exists and is not an empty folder; choose a new folder")
    pipeline = Pipeline.from_file(args.pipeline) if args.pipeline else Pipeline(args.specs)

    torch.manual_seed(args.seed)
    data = load_digits10(args.seed, images=args.model == "cnn")
    model = reference_model(args.model)
    if args.dry_run:
        for plan in pipeline.plan(model):
            print(f"{plan.pass_name}:")
            for line in plan.lines():
                print(f"  {line}")
        return 0
    teacher = None
    if any(step.name == "distill" for step in pipeline.steps):
        teacher = reference_model(args.model, width=2)
        fit(teacher, Batches(data.x_train, data.y_train, 64, seed=args.seed + 1), args.epochs, 3e-3)
        print(f"teacher ({args.model}, width 2): test accuracy {accuracy(teacher, data.x_test, data.y_test):.4f}")
    context = classification_context(data.x_train, data.y_train, data.x_test, data.y_test, teacher=teacher,
                                     seed=args.seed, measure_latency=True)
    if not any(step.name == "distill" for step in pipeline.steps):
        fit(model, context.train_loader, args.epochs, 3e-3)
        print(f"dense {args.model}: test accuracy {accuracy(model, data.x_test, data.y_test):.4f}")
    pipeline.check(copy.deepcopy(model), context)
    model, reports = pipeline.apply(model, context)
    for report in reports:
        print(report.summary())
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "reports.json").write_text(json.dumps([r.as_dict() for r in reports], indent=2, default=str))
        torch.save(model.state_dict(), args.out / "model.pt")
        print(f"wrote {args.out / 'reports.json'} and {args.out / 'model.pt'}")
    return 0


def run_plugins(args: argparse.Namespace) -> int:
    from qml import backends, passes
    from qml.plugins import DISABLE_ENV

    registries = (passes.registry, backends.registry)
    listed = [(r, e) for r in registries for e in r.load_all()]
    rows = [[r.group, e.name, e.distribution, e.version, e.requires or "-", e.state, e.reason] for r, e in listed]
    print(_table(rows, ["GROUP", "NAME", "DISTRIBUTION", "VERSION", "REQUIRES", "STATE", "REASON"]))
    for r in registries:
        for s in r.shadowed:
            print(f"shadowed: {s.distribution} {s.version} at {s.location} (an earlier copy on sys.path is used)")
    plugins = {e.distribution for _, e in listed if not e.builtin}
    print(f"{len(listed)} entries, {len(plugins)} third-party distribution(s); "
          f"set {DISABLE_ENV}=1 to load only qml's own")
    if any(e.state == "failed" for _, e in listed):
        raise PluginError("some plugins failed to load (see REASON above)")
    return 0
