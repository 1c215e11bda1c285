"""TorchQuantum's layer templates and encoders by name, built as qml ops.

A template is a prelude, a block repeated ``n_blocks`` times and a coda, each a list of steps over all wires: a
single-qubit gate on every wire, or a two-qubit gate on the pairs (w, w + 1) — around a ring with ``circular``
(for two wires that is (0, 1) then (1, 0), as tq does). Gates with angles get new trainable slots, in tq's order,
so a tq ``state_dict`` of the same template maps onto them one to one (``from_torchquantum`` gives the map).
Each template here is checked against tq's own (recorded op histories in the tests).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import qml
from qml.errors import ConversionError, did_you_mean
from qml_torchquantum.convert import FROM_TQ

Step = tuple  # ("one", gate) | ("pairs", gate, circular)

# name -> (prelude, block, coda)
TEMPLATES: dict[str, tuple[tuple[Step, ...], tuple[Step, ...], tuple[Step, ...]]] = {
    "U3CU3Layer0": ((), (("one", "u3"), ("pairs", "cu3", True)), ()),
    "CU3Layer0": ((), (("pairs", "cu3", False),), ()),
    "RXYZCXLayer0": ((), (("one", "rx"), ("one", "ry"), ("one", "rz"), ("pairs", "cx", True)), ()),
    "RZZLayer0": ((), (("pairs", "rzz", True),), ()),
    "SethLayer0": ((), (("pairs", "rzz", True), ("one", "ry")), ()),
    "FarhiLayer0": ((), (("pairs", "rzx", True), ("pairs", "rxx", True)), ()),
    "CXRZSXLayer0": ((("one", "rz"), ("pairs", "cx", False)), (("one", "rz"), ("one", "sx")), (("one", "rz"),)),
}


def _pairs(n_wires: int, circular: bool) -> list[tuple[int, int]]:
    return [(w, (w + 1) % n_wires) for w in range(n_wires if circular else n_wires - 1)]


def add_layer(circuit: qml.Circuit, name: str, n_blocks: int = 1, wires: Sequence[int] | None = None) -> qml.Circuit:
    """Append tq's layer template ``name`` (e.g. ``"U3CU3Layer0"``, tq's ``arch={"n_blocks": n_blocks}``) on
    ``wires`` (default all); returns the circuit."""
    key = next((k for k in TEMPLATES if k.lower() == str(name).lower()), None)
    if key is None:
        raise ConversionError(f"unknown TorchQuantum layer template {name!r}{did_you_mean(str(name), list(TEMPLATES))}"
                              f" (known: {', '.join(TEMPLATES)})")
    if not isinstance(n_blocks, int) or n_blocks < 1:
        raise ConversionError(f"n_blocks must be a positive integer, got {n_blocks!r}")
    ws = list(range(circuit.n_wires)) if wires is None else list(wires)
    prelude, block, coda = TEMPLATES[key]
    for step in (*prelude, *block * n_blocks, *coda):
        if step[0] == "one":
            for w in ws:
                circuit.add(step[1], w)
        else:
            if len(ws) < 2:
                raise ConversionError(f"{key} needs at least 2 wires, got {ws}")
            for a, b in _pairs(len(ws), step[2]):
                circuit.add(step[1], (ws[a], ws[b]))
    return circuit


def add_encoder(circuit: qml.Circuit, spec: str | Sequence[Mapping], first_feature: int = 0) -> qml.Circuit:
    """Append a tq encoder: a ``GeneralEncoder`` function list (``[{"input_idx": [i], "func": "ry", "wires":
    [w]}, ...]``) or a name of tq's encoder table. With torchquantum importable any name of its table works (its
    list is used); without it, the names qml's own encoders spell the same way (``4x4_ryzxy``, ``10_ryzx``,
    ``8x2_ry``, ...), which the tests check against tq's table."""
    if isinstance(spec, str):
        try:
            import torchquantum
        except ImportError:
            try:
                return circuit.encode(spec, first_feature=first_feature)
            except qml.CircuitError as exc:
                raise ConversionError(f"encoder {spec!r}: not one qml spells the same way ({exc}); install "
                                      "torchquantum to use its table, or pass the function list") from None
        table = torchquantum.encoder_op_list_name_dict
        if spec not in table:
            raise ConversionError(f"unknown TorchQuantum encoder {spec!r}{did_you_mean(spec, list(table))}")
        spec = table[spec]
    for i, item in enumerate(spec):
        func = str(item.get("func", "")).lower()
        gate = FROM_TQ.get(func)
        if gate is None:
            raise ConversionError(f"encoder item #{i}: no qml gate for {func!r}")
        indices = list(item.get("input_idx") or [])
        params = [qml.Input(first_feature + int(j)) for j in indices]
        try:
            circuit.add(gate, list(item["wires"]), *params)
        except qml.CircuitError as exc:
            raise ConversionError(f"encoder item #{i}: {exc}") from None
    return circuit
