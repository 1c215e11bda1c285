"""What a study is made of: ``StudyConfig`` — the grid methods x devices x tasks x seeds and the budgets every cell
shares — read from a TOML or JSON file (fields left out take their defaults) and stored as ``STUDY/study.json``
(every field written, checked against its schema on resume); ``Cell``, one point of the grid."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from qml.errors import InputError, did_you_mean
from qml.runs.config import RunConfig, SearchConfig, check_noise_factor
from qml.runs.schema import from_doc

TRAINED = ("plain", "noise", "noise_norm", "noise_norm_quant")  # each trains its own run folder
NOISY = TRAINED[1:]  # trained with the device's noise injected: swept over ``noise_factors``
SEARCHED = ("searched", "searched_pruned", "random", "human_trivial", "human_searched", "human_best",
            "trainfree")  # share a search: the study's strategy (search.strategy), or for trainfree its own
METHODS = TRAINED + SEARCHED


@dataclass
class StudySearchBudget:
    """The budget of the one search each (task, device, seed) shares (see ``SearchConfig``): ``strategy``
    ``evolution`` (QuantumNAS: SuperCircuit and evolution budgets) or ``trainfree`` (Élivágar-style: ``candidates``
    scored with ``replicas`` Clifford replicas each); the ``finalists`` best retrained, one picked; its retraining
    uses the study's epochs, learning rate, noise factor and shots."""

    ADDED_LATER = ("strategy", "candidates", "replicas", "finalists", "super_noise")

    strategy: str = "evolution"
    candidates: int = 256
    replicas: int = 32
    finalists: int = 3
    super_epochs: int = 40
    super_noise: float = 0.0
    sampler: str = "restricted"
    population: int = 40
    parents: int = 10
    mutations: int = 20
    crossovers: int = 10
    generations: int = 40
    valid_size: int = 300
    fitness: str = "esr"
    prune_ratio: float = 0.5
    space_blocks: int | None = None


@dataclass
class StudyConfig:
    """A study: every method on every device, task and seed, each cell evaluated on the device's Aer twin with
    ``shots`` shots on the first ``limit`` test inputs (all when None). ``noise_factor`` is the factor of the noise
    methods and of the search's retraining; each extra factor in ``noise_factors`` adds the noise methods at that
    factor (``noise@0.1``). ``reference`` is the method every other is tested against (default ``human_best``
    when studied, else ``plain``, else the first method)."""

    methods: list[str] = field(default_factory=lambda: ["plain", "noise"])
    devices: list[str] = field(default_factory=lambda: ["ibm_quito"])
    tasks: list[str] = field(default_factory=lambda: ["digits4"])
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    circuit: str = "u3cu3"
    blocks: int = 2
    epochs: int = 60
    batch_size: int = 32
    lr: float = 0.02
    noise_factor: float = 0.5
    noise_factors: list[float] = field(default_factory=list)
    quant_levels: int = 5
    shots: int = 1024
    limit: int | None = None
    reference: str | None = None
    search: StudySearchBudget = field(default_factory=StudySearchBudget)
    data_dir: str | None = None

    def __post_init__(self) -> None:
        for name in ("methods", "devices", "tasks", "seeds"):
            values = getattr(self, name)
            if not values:
                raise InputError(f"{name} must list at least one entry")
            twice = sorted({str(v) for v in values if values.count(v) > 1})
            if twice:
                raise InputError(f"{name} lists {', '.join(twice)} more than once")
        for method in self.methods:
            if method not in METHODS:
                raise InputError(f"unknown method {method!r}{did_you_mean(method, METHODS)}: expected one of "
                                 f"{', '.join(METHODS)}")
        if any(seed < 0 for seed in self.seeds):
            raise InputError(f"seeds must be non-negative integers, got {self.seeds}")
        for name in ("blocks", "epochs", "batch_size", "shots"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if self.limit is not None and self.limit < 1:
            raise InputError(f"limit must be a positive integer or left out, got {self.limit}")
        check_noise_factor(self.lr, "lr")
        for factor in [self.noise_factor, *self.noise_factors]:
            check_noise_factor(factor, "noise factor")
        if self.search.super_noise != 0:  # 0: noise-free SuperCircuit training
            check_noise_factor(self.search.super_noise, "search.super_noise")
        if not 2 <= self.quant_levels <= 64:
            raise InputError(f"quant_levels must be 2 to 64, got {self.quant_levels}")
        if self.reference is not None and self.reference not in self.arms():
            raise InputError(f"reference {self.reference!r} is not one of the study's methods "
                             f"({', '.join(self.arms())}){did_you_mean(self.reference, self.arms())}")

    # -- the grid ------------------------------------------------------------------------------------------
    def arms(self) -> list[str]:
        """The methods as the table lists them: each noise method once more per extra noise factor."""
        out = []
        for method in self.methods:
            out.append(method)
            if method in NOISY:
                out += [f"{method}@{f:g}" for f in self.noise_factors if f != self.noise_factor]
        return out

    def cells(self) -> list[Cell]:
        """Every cell, ordered task, device, seed, method: the cells sharing a search, and one seed's paired
        comparisons, come together."""
        return [Cell(task, device, seed, arm) for task in self.tasks for device in self.devices
                for seed in self.seeds for arm in self.arms()]

    def reference_method(self) -> str:
        if self.reference is not None:
            return self.reference
        return next((m for m in ("human_best", "plain") if m in self.methods), self.methods[0])

    def factor_of(self, arm: str) -> float | None:
        """The noise factor a method trains with (None for the noise-free and search-based ones)."""
        method, _, factor = arm.partition("@")
        if method not in NOISY:
            return None
        return float(factor) if factor else self.noise_factor

    # -- what each cell runs -------------------------------------------------------------------------------
    def run_config(self, cell: Cell) -> RunConfig:
        """The training run of a trained method's cell (trivial layout)."""
        from qml.train import TrainConfig

        factor = self.factor_of(cell.method)
        train = TrainConfig(self.epochs, self.batch_size, self.lr, seed=cell.seed,
                            noise_factor=1.0 if factor is None else factor)
        return RunConfig(cell.task, self.circuit, self.blocks, train, None if factor is None else cell.device,
                         None, norm=cell.base in ("noise_norm", "noise_norm_quant"),
                         quant_levels=self.quant_levels if cell.base == "noise_norm_quant" else None,
                         data_dir=self.data_dir)

    def extra_search(self, method: str) -> str | None:
        """The extra search a method's cells share (``trainfree`` when the study's strategy is another), or None
        for the study's own search."""
        base = method.partition("@")[0]
        return "trainfree" if base == "trainfree" and self.search.strategy != "trainfree" else None

    def search_config(self, task: str, device: str, seed: int, strategy: str | None = None) -> SearchConfig:
        """The search the search-based cells of (task, device, seed) share; ``strategy`` (default the budget's)
        ``trainfree`` is the one the ``trainfree`` method's cells share (no random search, no pruning)."""
        from qml.search.evolution import EvolutionConfig
        from qml.search.supercircuit import SuperTrainConfig
        from qml.search.trainfree import TrainFreeConfig

        s = self.search
        config = SearchConfig(
            task=task, space=self.circuit, space_options={} if s.space_blocks is None else {"n_blocks": s.space_blocks},
            device=device, fitness=s.fitness, valid_size=s.valid_size,
            super_train=SuperTrainConfig(s.super_epochs, sampler=s.sampler, seed=seed, noise_factor=s.super_noise),
            evolution=EvolutionConfig(s.population, s.parents, s.mutations, crossovers=s.crossovers,
                                      generations=s.generations, seed=seed),
            random_baseline="random" in self.methods, retrain_epochs=self.epochs, retrain_lr=self.lr,
            noise_factor=self.noise_factor, prune_ratio=s.prune_ratio if "searched_pruned" in self.methods else None,
            shots=self.shots, seed=seed, data_dir=self.data_dir, strategy=strategy or s.strategy,
            train_free=TrainFreeConfig(candidates=s.candidates, replicas=s.replicas), finalists=s.finalists)
        if strategy is not None and strategy != s.strategy:  # the extra search of the trainfree method
            config = replace(config, random_baseline=False, prune_ratio=None, human_baseline=False)
        return config

    # -- files ---------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, doc: Any, where: str = "study config") -> StudyConfig:
        """A stored ``study.json``: every field must be there."""
        return from_doc(cls, doc, where)

    @classmethod
    def from_file(cls, path: Path | str, **overrides: Any) -> StudyConfig:
        """A study written by hand, as TOML (``.toml``) or JSON: fields left out take their defaults (the
        search budget's too); ``overrides`` (the command line's flags) replace fields of the file."""
        path = Path(path)
        try:
            if path.suffix.lower() == ".toml":
                try:
                    import tomllib
                except ModuleNotFoundError:  # Python 3.10
                    raise InputError(f"{path}: reading TOML needs Python 3.11 or newer; write the study as JSON") \
                        from None

                try:
                    doc = tomllib.loads(path.read_text(encoding="utf-8"))
                except tomllib.TOMLDecodeError as exc:
                    raise InputError(f"{path} is not valid TOML: {exc}") from None
            else:
                from qml.files import read_json

                doc = read_json(path)
        except (FileNotFoundError, IsADirectoryError):
            raise InputError(f"study config {path} does not exist") from None
        except UnicodeDecodeError:
            raise InputError(f"{path} is not a UTF-8 text file") from None
        return cls.from_partial({**doc, **overrides}, str(path))

    @classmethod
    def from_partial(cls, doc: Any, where: str = "study config") -> StudyConfig:
        """Fields given in ``doc`` over the defaults, checked against the schema like a stored file."""
        if not isinstance(doc, dict):
            raise InputError(f"{where}: expected a table of fields, found {type(doc).__name__}")
        full = {**cls().to_dict(), **doc}
        if isinstance(doc.get("search"), dict):
            full["search"] = {**asdict(StudySearchBudget()), **doc["search"]}
        return cls.from_dict(full, where)


@dataclass(frozen=True)
class Cell:
    """One point of the grid: a method (``noise@0.1`` for an extra noise factor) on a device, task and seed."""

    task: str
    device: str
    seed: int
    method: str

    @property
    def base(self) -> str:
        return self.method.partition("@")[0]

    def folder(self, study: Path | str) -> Path:
        """``STUDY/cells/<task>/<device>/<seed>/<method>/``."""
        return search_folder(study, self.task, self.device, self.seed).parent / self.method

    def run_folder(self, study: Path | str, config: StudyConfig) -> Path:
        """Where a trained method's run lives: its own cell folder, or, for a method trained without noise (its
        run does not depend on the device), ``STUDY/cells/<task>/noise-free/<seed>/<method>/``, which the cells
        of every device share."""
        if self.base in TRAINED and config.factor_of(self.method) is None:
            return Path(study) / "cells" / self.task / SHARED / str(self.seed) / self.method
        return self.folder(study)

    def __str__(self) -> str:
        return f"{self.task} {self.device} seed {self.seed} {self.method}"


SHARED = "noise-free"  # not a device name: IBM's start with ibm_, a snapshot file's stem is checked against it


def search_folder(study: Path | str, task: str, device: str, seed: int, extra: str | None = None) -> Path:
    """``STUDY/cells/<task>/<device>/<seed>/search/``: the search the search-based cells share; with ``extra``
    (``trainfree``), ``search-trainfree/``, the extra search of that method."""
    name = Path(device).stem if device.endswith(".json") else device
    return Path(study) / "cells" / task / name / str(seed) / ("search" if extra is None else f"search-{extra}")


__all__ = ["METHODS", "NOISY", "SEARCHED", "TRAINED", "Cell", "StudyConfig", "StudySearchBudget",
           "search_folder"]
