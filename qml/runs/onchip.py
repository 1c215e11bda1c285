"""On-chip training (QOC): the classifier's ⟨Z⟩ and their gradients are measured on a backend, by parameter shift
(``qml.backends.shift``), instead of simulated and back-propagated. One training step is one batch of circuits
(the inputs and their shifted copies) sent in one executor call; QOC's probabilistic gradient pruning
(``qml.train.gradient_pruning``) leaves out the shifted circuits of a fraction of the parameters. Validation and
test accuracies are measured on the same backend. On IBM Quantum each call's job ids reach
``RUN/onchip/<call>/`` before it waits, so a resumed run fetches the jobs of the epoch it redoes instead of
paying for them again."""

from __future__ import annotations

from collections.abc import Callable

from qml.errors import InputError
from qml.runs.config import OnChipConfig

IBM_PREFIXES = ("ibm_", "fake:")


def is_ibm(backend: str) -> bool:
    return backend.startswith(IBM_PREFIXES)


class OnChipMeasurer:
    """``measurer(qmodule, x, training)`` for ``QuantumClassifier.set_measurer``: a training step measures the
    inputs and the shifted circuits of the slots the pruner keeps; evaluation only the inputs."""

    def __init__(self, executors: Callable[[int], object], config: OnChipConfig, circuit, seed: int) -> None:
        from qml.backends.shift import ShiftCounter, ShiftPlan
        from qml.train.gradient_pruning import GradientPruner

        self.executors = executors
        self.config = config
        self.plan = ShiftPlan(circuit)
        self.counter = ShiftCounter()
        self.seed = seed
        pruning = config.prune_ratio > 0
        self.pruner = GradientPruner(circuit.n_trainable, config.schedule, seed) if pruning else None
        self.calls = 0
        self.epochs: list[dict] = []  # cumulative cost at the end of each epoch

    def __call__(self, qmodule, x, training: bool):
        from qml.backends.shift import measure_by_shift

        executor = self.executors(self.calls)
        if getattr(executor, "generator", None) is not None:  # torch with shots: each call its own draw, on resume too
            executor.generator.manual_seed(self.seed * 1_000_003 + self.calls)
        active = self.pruner.mask() if training and self.pruner is not None else None
        self.calls += 1
        return measure_by_shift(executor, qmodule, x, self.config.shots, active=active, plan=self.plan,
                                counter=self.counter)

    def after_backward(self, grad) -> None:
        if self.pruner is not None:
            self.pruner.observe(grad)

    def end_epoch(self, epoch: int) -> None:
        self.epochs.append(self.cost())

    def cost(self) -> dict:
        return {"circuits": self.counter.circuits, "executions": self.counter.executions}

    def state_dict(self) -> dict:
        return {"calls": self.calls, "counter": {"circuits": self.counter.circuits, "calls": self.counter.calls,
                                                 "executions": self.counter.executions},
                "epochs": [dict(e) for e in self.epochs],
                "pruner": None if self.pruner is None else self.pruner.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.calls = int(state["calls"])
        for name, value in state["counter"].items():
            setattr(self.counter, name, int(value))
        self.epochs = [dict(e) for e in state["epochs"]]
        if self.pruner is not None:
            self.pruner.load_state_dict(state["pruner"])


def estimate(config: OnChipConfig, plan, n_slots: int, sizes: tuple[int, int, int], epochs: int,
             batch_size: int) -> dict:
    """About how many circuits and executions the whole training runs: each step's inputs and their shifted
    circuits (a pruning step shifts ``schedule.kept`` of the ``n_slots`` slots: counted as that share of all
    shifted circuits), a validation each epoch and the test at the end. ``sizes``: train, valid, test inputs."""
    train, valid, test = sizes
    schedule = config.schedule
    shifted = plan.circuits(1, None) - 1  # per input, every slot measured
    window = schedule.accumulate + schedule.prune
    batches = [min(batch_size, train - i) for i in range(0, train, batch_size)] * epochs
    share = schedule.kept(n_slots) / n_slots if config.prune_ratio > 0 and n_slots else 1.0
    circuits = sum(b * (1 + shifted * (1.0 if k % window < schedule.accumulate else share))
                   for k, b in enumerate(batches))
    circuits = int(round(circuits)) + valid * epochs + test
    return {"circuits": circuits, "executions": circuits * config.shots, "steps": len(batches)}


def executors_for(config: OnChipConfig, layout, seed: int, run_path, say: Callable[[str], None]):
    """``executor(call)``: the same executor for every call on torch and Aer; on IBM a new one per call writing its
    job ids to ``RUN/onchip/<call>/`` (the device is opened once, the circuit transpiled once)."""
    if not is_ibm(config.backend):
        from qml.backends import make_executor

        if config.backend.split(":")[0] not in ("torch", "aer"):
            raise InputError(f"--on must be torch, torch:DEVICE, aer:DEVICE, ibm_NAME or fake:ibm_NAME, got "
                             f"{config.backend!r}")
        executor = make_executor(config.backend, layout=layout, seed=seed)
        return lambda call: executor
    from qml.backends.ibm import IBMExecutor
    from qml.backends.ibm_device import open_device, parse_spec
    from qml.backends.jobs import HardwareFolder

    spec, _ = parse_spec(config.backend)
    device = open_device(spec)
    first = IBMExecutor(device, layout, seed=seed, log=say)

    def executor(call: int):
        if run_path is None:
            return first
        folder = HardwareFolder(run_path / "onchip" / f"{call:06d}", spec)
        return first.with_folder(folder, context={"split": "train"})

    return executor


def describe_cost(config: OnChipConfig, estimated: dict) -> str:
    steps = estimated["steps"]
    return (f"on-chip training on {config.backend}: {steps} steps, about {estimated['circuits']:,} circuits x "
            f"{config.shots} shots = {estimated['executions']:,} executions"
            + (f" (gradient pruning {config.prune_ratio:g}, windows {config.accumulate_window}/"
               f"{config.prune_window})" if config.prune_ratio > 0 else " (no gradient pruning)"))
