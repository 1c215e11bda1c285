"""What a run was made from: ``RunConfig`` (a trained circuit) and ``SearchConfig`` (a QuantumNAS search), stored
as ``config.json`` and checked against their schema when read back."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from qml.errors import InputError
from qml.runs.schema import from_doc
from qml.search.evolution import EvolutionConfig
from qml.search.supercircuit import SuperTrainConfig
from qml.search.trainfree import TrainFreeConfig
from qml.train import TrainConfig


@dataclass
class OnChipConfig:
    """On-chip training (QOC): gradients measured by parameter shift on ``backend`` (``torch``, ``torch:DEVICE``,
    ``aer:DEVICE``, ``ibm:ibm_NAME`` or ``ibm:fake:ibm_NAME``) with ``shots`` per circuit; QOC's probabilistic
    gradient pruning skips a fraction ``prune_ratio`` of the gradients in each pruning step (0: none)."""

    backend: str
    shots: int = 1024
    prune_ratio: float = 0.5
    accumulate_window: int = 1
    prune_window: int = 2

    def __post_init__(self) -> None:
        if not isinstance(self.shots, int) or isinstance(self.shots, bool) or self.shots < 1:
            raise InputError(f"shots must be a positive integer, got {self.shots!r}")
        _ = self.schedule  # checks the ratio and windows

    @property
    def schedule(self):
        from qml.train.gradient_pruning import PruningSchedule

        return PruningSchedule(self.prune_ratio, self.accumulate_window, self.prune_window)


@dataclass
class RunConfig:
    """A trained circuit: task, circuit, training settings, device noise and post-processing."""

    task: str = "digits4"
    circuit: str = "u3cu3"
    blocks: int = 2
    train: TrainConfig = field(default_factory=TrainConfig)
    device_name: str | None = None  # noise snapshot, e.g. ibm_quito (None: noise-free training)
    layout: list[int] | None = None
    norm: bool = False
    quant_levels: int | None = None
    data_dir: str | None = None
    space: str | None = None  # a searched circuit: design space name or file, its options and the gene
    space_options: dict | None = None
    gene: list[int] | None = None
    data_file: str | None = None  # the user's .npz (then ``task`` is only its name)
    onchip: OnChipConfig | None = None  # trained on a backend by parameter shift (None: backprop on the simulator)

    ADDED_LATER = ("data_file", "onchip")

    def __post_init__(self) -> None:
        if self.blocks < 1:
            raise InputError(f"blocks must be a positive integer, got {self.blocks}")
        if self.quant_levels is not None and not 2 <= self.quant_levels <= 64:
            raise InputError(f"quant_levels must be 2 to 64, got {self.quant_levels}")
        if self.gene is not None and self.space is None:
            raise InputError("a gene needs the design space it belongs to (field 'space')")
        if self.onchip is not None and self.device_name is not None:
            raise InputError("on-chip training measures the device itself: it takes no injected noise (--device)")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, doc: Any, where: str) -> RunConfig:
        return from_doc(cls, doc, where)


@dataclass
class SearchConfig:
    """A QuantumNAS search: SuperCircuit training, co-search, retraining, pruning and evaluation budgets.

    ``noise_factor`` scales the noise injected while retraining; ``fitness_noise_factor`` the noise the fitness
    scores candidates under (1: the device as calibrated; the ``aer`` fitness can only use 1)."""

    ADDED_LATER = ("fitness_noise_factor", "data_file", "baseline", "strategy", "train_free", "finalists",
                   "human_baseline")
    STRATEGIES = ("evolution", "trainfree")

    task: str = "digits4"
    space: str = "u3cu3"
    space_options: dict = field(default_factory=dict)
    device: str = "ibm_quito"
    fitness: str = "esr"
    valid_size: int = 300
    super_train: SuperTrainConfig = field(default_factory=SuperTrainConfig)
    evolution: EvolutionConfig = field(default_factory=EvolutionConfig)
    random_baseline: bool = True
    retrain_epochs: int = 60
    retrain_lr: float = 0.02
    noise_factor: float = 0.5
    fitness_noise_factor: float = 1.0
    prune_ratio: float | None = 0.5
    shots: int = 1024
    seed: int = 0
    data_dir: str | None = None
    data_file: str | None = None
    baseline: str | None = None  # the human design (a circuit name or file); None: the space file's build()
    strategy: str = "evolution"  # evolution: SuperCircuit + evolutionary co-search; trainfree: Élivágar-style
    train_free: TrainFreeConfig = field(default_factory=TrainFreeConfig)
    # the best candidates retrained with the device's noise, the winner picked by their validation accuracy under
    # qml's noise model (a search folder written before this field has its winner already and keeps it)
    finalists: int = 3
    human_baseline: bool = True  # train and evaluate the human design (a study's extra search shares the other's)

    def __post_init__(self) -> None:
        from qml.search.fitness import KINDS

        for name in ("valid_size", "retrain_epochs", "shots", "finalists"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be a positive integer, got {getattr(self, name)}")
        for name in ("retrain_lr", "noise_factor", "fitness_noise_factor"):
            check_noise_factor(getattr(self, name), name)
        if self.prune_ratio is not None and not 0 < self.prune_ratio < 1:
            raise InputError(f"prune_ratio must be in (0, 1) or null, got {self.prune_ratio}")
        if self.strategy not in self.STRATEGIES:
            raise InputError(f"strategy must be one of {', '.join(self.STRATEGIES)}, got {self.strategy!r}")
        if self.fitness not in KINDS:
            raise InputError(f"fitness must be one of {', '.join(KINDS)}, got {self.fitness!r}")
        if self.fitness == "aer" and self.fitness_noise_factor != 1.0:
            raise InputError("the aer fitness runs the device's Aer twin as calibrated: fitness_noise_factor must "
                             f"be 1, got {self.fitness_noise_factor:g}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, doc: Any, where: str = "search config") -> SearchConfig:
        return from_doc(cls, doc, where)


def check_noise_factor(value: float, name: str = "noise factor") -> float:
    """One rule for every command: a positive, finite number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (value > 0 and math.isfinite(value)):
        raise InputError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)
