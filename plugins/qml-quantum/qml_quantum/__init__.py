"""qml-quantum: compression passes for parameterized quantum circuits, registered in qml's ``qml.passes``
entry-point group (``gate_prune``, ``angle_quant``, ``measure_norm``, ``measure_quant``, ``circuit_distill``)."""

__version__ = "0.1.0"
