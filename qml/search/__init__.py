"""Room ``search``: design spaces, the SuperCircuit with shared weights, samplers, the evolutionary co-search of
subcircuit x qubit layout with selectable fitness, random search, and the whole QuantumNAS pipeline."""

from qml.search.space import DesignSpace, Gene, Layer

__all__ = ["DesignSpace", "Gene", "Layer", "load_space", "space_names", "make_sampler"]


def __getattr__(name: str):
    if name in ("load_space", "space_names"):
        from qml.search import loader

        return getattr(loader, name)
    if name == "make_sampler":
        from qml.search.samplers import make_sampler

        return make_sampler
    raise AttributeError(f"module 'qml.search' has no attribute {name!r}")
