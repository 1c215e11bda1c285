"""Room ``sim``: the batched torch statevector engine, measurements and the ``QuantumModule``."""

from qml.sim.engine import StatevectorEngine
from qml.sim.measure import Counts, Expval, ExpZ, Measurement, Probs
from qml.sim.module import QuantumModule
from qml.sim.threads import get_threads, set_threads

__all__ = ["StatevectorEngine", "Counts", "Expval", "ExpZ", "Measurement", "Probs", "QuantumModule", "get_threads",
           "set_threads"]
