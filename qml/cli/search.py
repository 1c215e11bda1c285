"""``qml search --task digits4 --space u3cu3 --device ibm_quito``: the QuantumNAS pipeline in a run folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from qml.cli.args import add_ray_flags, default_out, noise_factor_arg, open_pool, positive_int, task_and_data
from qml.errors import InputError


def register(sub) -> None:
    p = sub.add_parser("search", help="noise-adaptive search of circuit and qubit mapping (QuantumNAS)",
                       description="Find a circuit and its qubits: --strategy evolution (QuantumNAS: train a "
                                   "SuperCircuit, co-search subcircuit x layout with evolution) or trainfree "
                                   "(Élivágar-style: score candidates on connected regions by Clifford noise "
                                   "resilience and representational capacity, no training); then retrain the "
                                   "best few with the device's noise, keep the one with the best noisy validation "
                                   "accuracy, prune it (qml-quantum plugin) and evaluate it on the Aer twin next to "
                                   "the human design on the trivial layout and trained on its best layout. Every "
                                   "stage resumes with --resume.")
    p.add_argument("--task", help="dataset (default digits4; see qml train --help)")
    p.add_argument("--data", type=Path, metavar="FILE.npz", help="your own data instead of --task (see qml train)")
    p.add_argument("--data-dir", type=Path)
    p.add_argument("--space", default="u3cu3", help="design space: a built-in name (u3cu3, zz_ry, rxyz, zx_xx, "
                                                    "ibm_basis) or a .py file defining space()")
    p.add_argument("--variant", default="front", choices=("front", "arbitrary"))
    p.add_argument("--baseline", help="the human design to compare against: a circuit name or a .py file defining "
                                      "build(n_blocks=...) (default: the design space file's own build())")
    p.add_argument("--space-blocks", type=positive_int, help="blocks of the SuperCircuit (default: the space's)")
    p.add_argument("--device", default="ibm_quito", help="device snapshot (qml noise list)")
    p.add_argument("--strategy", default="evolution", choices=("evolution", "trainfree"),
                   help="evolution (QuantumNAS, default) or trainfree (Élivágar-style, no SuperCircuit)")
    p.add_argument("--candidates", type=positive_int, default=256, help="trainfree: candidates scored")
    p.add_argument("--replicas", type=positive_int, default=32,
                   help="trainfree: Clifford replicas per candidate for its noise resilience")
    p.add_argument("--samples-per-class", type=positive_int, default=8,
                   help="trainfree: training inputs per class for the representational capacity")
    p.add_argument("--angle-draws", type=positive_int, default=16,
                   help="trainfree: random angle sets for the representational capacity")
    p.add_argument("--fitness", default="esr", choices=("esr", "esr_routed", "torch", "aer"))
    p.add_argument("--valid-size", type=positive_int, default=300)
    p.add_argument("--super-epochs", type=positive_int, default=40)
    p.add_argument("--sampler", default="restricted", help="uniform, front, restricted or progressive")
    p.add_argument("--super-noise", type=noise_factor_arg, default=0.0,
                   help="noise-aware SuperCircuit training: inject the device's noise at this factor, on the human "
                        "design's best layout and 7 random connected ones (default: off, noise-free as in QuantumNAS)")
    p.add_argument("--population", type=positive_int, default=40)
    p.add_argument("--parents", type=positive_int, default=10)
    p.add_argument("--mutations", type=int, default=20)
    p.add_argument("--mutation-prob", type=float, default=0.4)
    p.add_argument("--crossovers", type=int, default=10)
    p.add_argument("--generations", type=positive_int, default=40)
    p.add_argument("--no-random-baseline", action="store_true", help="skip random search at equal budget")
    p.add_argument("--finalists", type=positive_int, default=3,
                   help="best candidates retrained with the device's noise; the one with the best validation "
                        "accuracy under the noise model wins (default 3; 1: retrain the best only)")
    p.add_argument("--retrain-epochs", type=positive_int, default=60)
    p.add_argument("--noise-factor", type=noise_factor_arg, default=0.5,
                   help="noise factor T while retraining (default 0.5)")
    p.add_argument("--fitness-noise-factor", type=noise_factor_arg, default=1.0,
                   help="noise factor the fitness scores candidates under (default 1: the device as calibrated)")
    p.add_argument("--prune-ratio", type=float, default=0.5, help="gate pruning ratio; 0 to skip")
    p.add_argument("--shots", type=positive_int, default=1024)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, help="run folder (default runs/search-TASK-SPACE-DEVICE)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out where it stopped")
    p.add_argument("--quiet", action="store_true")
    add_ray_flags(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from qml.runs import SearchConfig, search_run
    from qml.search.evolution import EvolutionConfig
    from qml.search.supercircuit import SuperTrainConfig
    from qml.search.trainfree import TrainFreeConfig

    task, data_file = (args.task or "digits4", None) if args.resume else task_and_data(args)
    out: Path = args.out or default_out(Path("runs") / f"search-{task}-{Path(args.space).stem}-{args.device}",
                                          args.resume)
    config = None
    if not args.resume:
        if not 0 <= args.prune_ratio < 1:
            raise InputError(f"--prune-ratio must be in [0, 1), got {args.prune_ratio}")
        options = {"variant": args.variant}
        if args.space_blocks:
            options["n_blocks"] = args.space_blocks
        space = args.space
        if Path(space).is_file():
            space = str(Path(space).resolve())  # the run must find its space file from any folder
        baseline = args.baseline
        if baseline is not None and Path(baseline).is_file():
            baseline = str(Path(baseline).resolve())
        config = SearchConfig(
            baseline=baseline, task=task, data_file=data_file, space=space, space_options=options, device=args.device,
            fitness=args.fitness, valid_size=args.valid_size,
            super_train=SuperTrainConfig(args.super_epochs, sampler=args.sampler, seed=args.seed,
                                         noise_factor=args.super_noise),
            evolution=EvolutionConfig(args.population, args.parents, args.mutations, args.mutation_prob,
                                      args.crossovers, args.generations, args.seed),
            random_baseline=not args.no_random_baseline, retrain_epochs=args.retrain_epochs,
            noise_factor=args.noise_factor, fitness_noise_factor=args.fitness_noise_factor,
            prune_ratio=args.prune_ratio or None, shots=args.shots, seed=args.seed,
            data_dir=None if args.data_dir is None else str(Path(args.data_dir).resolve()), strategy=args.strategy,
            train_free=TrainFreeConfig(args.candidates, args.replicas, args.samples_per_class, args.angle_draws),
            finalists=args.finalists)
    pool = open_pool(args)
    try:
        search_run(out, config, resume=args.resume, quiet=args.quiet, pool=pool)
    finally:
        if pool is not None:
            pool.close()
    return 0
