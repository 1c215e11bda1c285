"""TorchQuantum models, op histories and state dicts to qml circuits and weights, and back.

A TorchQuantum (tq) model is traced, not parsed: it runs once on a ``QuantumDevice`` that records its ops
(``record_op``), with probe values in its trainable parameters and its input, so every recorded angle is known to
come from one element of one ``state_dict`` entry, from one feature, or to be a constant. Gates are matched by
name and checked against tq's own simulator in the tests (``tests/plugins/test_torchquantum.py``).

Qubit order: wire ``w`` is wire ``w`` in both, and per-wire expectations (tq's ``MeasureAll``) are the same numbers
in the same columns. Statevectors differ: tq's index has wire 0 as its *most* significant bit, qml's (qiskit's) as
its least; ``tq_order`` converts one to the other.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import torch

import qml
from qml.circuit import ParamRef, ref_value
from qml.errors import ConversionError

# tq's functional names (op_history's "name") -> qml's gate
FROM_TQ = {
    "i": "id", "hadamard": "h", "h": "h", "paulix": "x", "x": "x", "pauliy": "y", "y": "y", "pauliz": "z", "z": "z",
    "s": "s", "sdg": "sdg", "t": "t", "tdg": "tdg", "sx": "sx", "sxdg": "sxdg",
    "rx": "rx", "ry": "ry", "rz": "rz", "phaseshift": "p", "p": "p", "u1": "p", "u2": "u2", "u3": "u3", "u": "u3",
    "cnot": "cx", "cx": "cx", "cy": "cy", "cz": "cz", "ch": "ch", "chadamard": "ch", "swap": "swap",
    "iswap": "iswap", "ecr": "ecr", "echoedcrossresonance": "ecr",
    "rxx": "rxx", "ryy": "ryy", "rzz": "rzz", "rzx": "rzx", "crx": "crx", "cry": "cry", "crz": "crz",
    "cu3": "cu3", "cu1": "cp", "cp": "cp", "cphase": "cp", "toffoli": "ccx", "ccx": "ccx", "ccnot": "ccx",
    "cswap": "cswap",
}
# qml's gate -> the tq functional that runs it
TO_TQ = {"id": "i", "h": "hadamard", "x": "paulix", "y": "pauliy", "z": "pauliz", "s": "s", "sdg": "sdg", "t": "t",
         "tdg": "tdg", "sx": "sx", "sxdg": "sxdg", "rx": "rx", "ry": "ry", "rz": "rz", "p": "phaseshift", "u2": "u3",
         "u3": "u3", "u": "u3", "cx": "cnot", "cy": "cy", "cz": "cz", "ch": "ch", "swap": "swap", "iswap": "iswap",
         "ecr": "ecr", "rxx": "rxx", "ryy": "ryy", "rzz": "rzz", "rzx": "rzx", "crx": "crx", "cry": "cry",
         "crz": "crz", "cp": "cu1", "cu3": "cu3", "ccx": "toffoli", "cswap": "cswap"}

_DAGGER = {"s": "sdg", "sdg": "s", "t": "tdg", "tdg": "t", "sx": "sxdg", "sxdg": "sx"}
_SELF_INVERSE = {"id", "h", "x", "y", "z", "cx", "cy", "cz", "ch", "swap", "ecr", "ccx", "cswap"}
_NEGATED = {"rx", "ry", "rz", "p", "rxx", "ryy", "rzz", "rzx", "crx", "cry", "crz", "cp"}


def _torchquantum():
    try:
        import torchquantum
    except ImportError as exc:
        raise ConversionError(f"converting a live TorchQuantum model needs torchquantum importable ({exc}); "
                              "recorded op histories, templates and state dicts do not") from None
    return torchquantum


def _negate(ref: ParamRef) -> ParamRef:
    if ref.kind == "expr":
        return ParamRef("expr", expr=-ref.expr)
    return ParamRef(ref.kind, ref.index, -ref.scale, -ref.offset)


def _inverse(gate: str, refs: list[ParamRef], where: str) -> tuple[str, list[ParamRef]]:
    """The gate and angles of the inverse of ``gate(refs)`` (tq's ``inverse=True``)."""
    if gate in _SELF_INVERSE:
        return gate, refs
    if gate in _DAGGER:
        return _DAGGER[gate], refs
    if gate in _NEGATED:
        return gate, [_negate(r) for r in refs]
    if gate in ("u3", "cu3"):  # U3(t, f, l)^dagger = U3(-t, -l, -f)
        return gate, [_negate(refs[0]), _negate(refs[2]), _negate(refs[1])]
    if gate == "u2":  # U2(f, l) = U3(pi/2, f, l)
        return "u3", [ParamRef("const", 0, 0.0, -math.pi / 2), _negate(refs[1]), _negate(refs[0])]
    raise ConversionError(f"{where}: the inverse of {gate} is not supported")


def _values(op: Mapping, where: str) -> list[float]:
    params = op.get("params")
    if params is None:
        return []
    values = params if isinstance(params, list) else [params]
    if any(isinstance(v, list) for v in values):
        raise ConversionError(f"{where}: angles recorded for several samples; record the history with a batch of "
                              "one sample (QuantumDevice(bsz=1, record_op=True))")
    return [float(v) for v in values]


AngleSource = Callable[[int, int, float, bool], ParamRef]


def circuit_from_history(history: Sequence[Mapping], circuit: qml.Circuit, source: AngleSource) -> qml.Circuit:
    """Append tq op-history records (``name``, ``wires``, ``params``, ``inverse``, ``trainable``) to ``circuit``;
    ``source(op index, angle position, value, trainable)`` says where each recorded angle comes from (a trainable
    slot it names must exist on ``circuit`` by then)."""
    for i, op in enumerate(history):
        where = f"tq op #{i} '{op.get('name')}'"
        gate = FROM_TQ.get(str(op.get("name", "")).lower())
        if gate is None:
            raise ConversionError(f"{where}: no qml gate for it (supported: {', '.join(sorted(FROM_TQ))})")
        wires = op.get("wires")
        wires = [int(wires)] if isinstance(wires, int) else [int(w) for w in wires]
        values = _values(op, where)
        expected = qml.circuit.GATES[gate].num_params
        if len(values) != expected:
            raise ConversionError(f"{where}: {len(values)} angle(s) recorded, {gate} takes {expected}")
        refs = [source(i, k, v, bool(op.get("trainable"))) for k, v in enumerate(values)]
        if op.get("inverse"):
            gate, refs = _inverse(gate, refs, where)
        try:
            circuit.add(gate, wires, *refs)
        except qml.CircuitError as exc:
            raise ConversionError(f"{where}: {exc}") from None
    return circuit


def _feature_matcher(x: Sequence[float] | None, where: str) -> dict[float, int]:
    if x is None:
        return {}
    table: dict[float, int] = {}
    for i, v in enumerate(float(v) for v in x):
        if v in table:
            raise ConversionError(f"{where}: features {table[v]} and {i} have the same value {v}; record the history "
                                  "with distinct feature values so each angle names its feature")
        table[v] = i
    return table


def from_op_history(history: Sequence[Mapping], n_wires: int, x: Sequence[float] | None = None, *,
                    name: str = "torchquantum") -> qml.Circuit:
    """A qml circuit from a recorded tq op history (one sample). Trainable angles become new trainable slots
    initialised to the recorded values; an angle equal to feature ``i`` of ``x`` (the sample the history was
    recorded with, float32 as tq records it) becomes ``qml.Input(i)``; any other angle is a constant."""
    features = _feature_matcher(None if x is None else torch.as_tensor(x, dtype=torch.float32).tolist(),
                                "from_op_history")
    circuit = qml.Circuit(n_wires, n_inputs=None if x is None else len(x), name=name)

    def source(_op: int, _pos: int, value: float, trainable: bool) -> ParamRef:
        if trainable:
            return ParamRef("trainable", circuit.new_trainable(value))
        if value in features:
            return ParamRef("input", features[value])
        return ParamRef("const", 0, 0.0, value)

    return circuit_from_history(history, circuit, source)


@dataclass
class Converted:
    """A traced tq model: the qml ``circuit``, and for each trainable slot the tq ``state_dict`` entry and flat
    element it is (``slots[j] = (key, index)``), with the tq model's weights at conversion (``state``)."""

    circuit: qml.Circuit
    slots: list[tuple[str, int]]
    state: dict[str, torch.Tensor] = field(repr=False)

    def theta(self, state_dict: Mapping[str, torch.Tensor] | None = None) -> torch.Tensor:
        """qml's ``theta`` from a tq ``state_dict`` (default: the weights at conversion)."""
        sd = self.state if state_dict is None else state_dict
        missing = sorted({key for key, _ in self.slots} - set(sd))
        if missing:
            raise ConversionError(f"the state dict lacks {len(missing)} entr(ies) the slots come from, first "
                                  f"{missing[0]}")
        return torch.tensor([float(torch.as_tensor(sd[key]).reshape(-1)[i]) for key, i in self.slots],
                            dtype=torch.float64)

    def module(self, state_dict: Mapping[str, torch.Tensor] | None = None, **kwargs) -> qml.QuantumModule:
        """A ``qml.QuantumModule`` of the circuit with ``theta`` from ``state_dict`` (default: the weights at
        conversion); ``kwargs`` go to ``QuantumModule`` (``measure=``, ``dtype=``, ...)."""
        module = qml.QuantumModule(self.circuit, **kwargs)
        with torch.no_grad():
            module.theta.copy_(self.theta(state_dict).to(module.theta.dtype))
        return module

    def tq_state_dict(self, theta: torch.Tensor | Sequence[float],
                      state_dict: Mapping[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """A tq ``state_dict`` (a copy of ``state_dict``, default the weights at conversion) with qml's ``theta``
        written into the elements the slots came from; it loads into the tq model. Pass the model's current
        ``state_dict()``: a tq module keeps its last ``QuantumDevice`` as buffers, shaped by that call's batch."""
        theta = torch.as_tensor(theta).detach().reshape(-1)
        if theta.numel() != len(self.slots):
            raise ConversionError(f"theta has {theta.numel()} values, the circuit has {len(self.slots)} slots")
        out = {k: torch.as_tensor(v).detach().clone() for k, v in (self.state if state_dict is None
                                                                    else state_dict).items()}
        for (key, i), value in zip(self.slots, theta.tolist(), strict=True):
            out[key].view(-1)[i] = value
        return out


# probe values: exact in float32, features in (0, 1), weights below -2, so no recorded angle is ambiguous
def _feature_probe(n: int) -> torch.Tensor:
    return torch.tensor([(i + 1) / (n + 2) for i in range(n)], dtype=torch.float32)


def _weight_probe(e: int) -> float:
    return -(2.0 + e / 1024.0)


def from_torchquantum(model: torch.nn.Module, n_inputs: int, *, n_wires: int | None = None,
                      name: str | None = None) -> Converted:
    """Trace a tq model whose ``forward(x)`` makes its own ``tq.QuantumDevice`` (the QuantumNAS style: encoder,
    layers, measurement) into a qml circuit and a map from its trainable slots to the model's ``state_dict``.

    The model runs once on one probe sample with probe values in its trainable parameters (restored afterwards);
    the classical part after the measurement is not converted (``MeasureAll(PauliZ)`` is qml's default ⟨Z⟩ per
    wire)."""
    tq = _torchquantum()
    params = [(k, p) for k, p in model.named_parameters() if p.requires_grad]
    saved = {k: v.detach().clone() for k, v in model.state_dict().items()}
    probe: dict[float, tuple[str, int]] = {}
    devices: list = []
    original_init = tq.QuantumDevice.__init__

    def recording_init(self, *args, **kwargs):
        kwargs["record_op"] = True
        original_init(self, *args, **kwargs)
        devices.append(self)

    try:
        with torch.no_grad():
            e = 0
            for key, p in params:
                values = torch.tensor([_weight_probe(e + j) for j in range(p.numel())], dtype=p.dtype)
                probe.update({float(torch.tensor(v, dtype=torch.float32)): (key, j)
                              for j, v in enumerate(values.tolist())})
                p.copy_(values.view_as(p))
                e += p.numel()
            tq.QuantumDevice.__init__ = recording_init
            model(_feature_probe(n_inputs).unsqueeze(0))
    finally:
        tq.QuantumDevice.__init__ = original_init
        with torch.no_grad():
            for key, p in params:
                p.copy_(saved[key])
    if len(devices) != 1:
        raise ConversionError(f"the model made {len(devices)} QuantumDevices in one forward pass; "
                              "from_torchquantum traces models that make exactly one")
    device = devices[0]
    features = _feature_matcher(_feature_probe(n_inputs).tolist(), "from_torchquantum")
    slots: list[tuple[str, int]] = []
    slot_of: dict[tuple[str, int], int] = {}

    def source(op: int, pos: int, value: float, trainable: bool) -> ParamRef:
        if trainable:
            origin = probe.get(value)
            if origin is None:
                raise ConversionError(f"tq op #{op}: trainable angle {pos} ({value}) is not one element of a "
                                      "parameter (computed from parameters?): not supported")
            if origin not in slot_of:
                slot_of[origin] = circuit.new_trainable(float(saved[origin[0]].reshape(-1)[origin[1]]))
                slots.append(origin)
            return ParamRef("trainable", slot_of[origin])
        if value in features:
            return ParamRef("input", features[value])
        return ParamRef("const", 0, 0.0, value)

    circuit = qml.Circuit(int(n_wires if n_wires is not None else device.n_wires), n_inputs=n_inputs,
                          name=name or type(model).__name__)
    circuit_from_history(device.op_history, circuit, source)
    # after the pass: a tq module registers the device it ran on (its buffers are in the state dict from then on)
    return Converted(circuit, slots, {k: v.detach().clone() for k, v in model.state_dict().items()})


def tq_order(state: torch.Tensor) -> torch.Tensor:
    """A statevector (..., 2**n) in qml's order (wire 0 the least significant bit) in tq's order (wire 0 the most
    significant bit), or back: the bits of the index reversed."""
    dim = state.shape[-1]
    n = dim.bit_length() - 1
    if dim != 1 << n:
        raise ConversionError(f"a statevector has 2**n amplitudes, got {dim}")
    lead = len(state.shape) - 1
    axes = (*range(lead), *reversed(range(lead, lead + n)))
    return state.reshape(*state.shape[:-1], *([2] * n)).permute(axes).reshape(state.shape)


def to_torchquantum(circuit: qml.Circuit, theta: torch.Tensor | Sequence[float] | None = None):
    """A tq ``QuantumModule`` that runs ``circuit`` with tq's own simulator: ``forward(x)`` makes a
    ``QuantumDevice``, applies every op through ``tq.functional`` and returns ``MeasureAll(PauliZ)`` (⟨Z⟩ per wire,
    the columns of qml's default). Its one parameter ``theta`` holds the slots (default: ``theta`` or the circuit's
    initial values, 0 where none)."""
    tq = _torchquantum()
    missing = sorted({op.gate for op in circuit.ops} - set(TO_TQ))
    if missing:
        raise ConversionError(f"no tq gate for {', '.join(missing)}")
    if theta is None:
        theta = [0.0 if v is None else v for v in circuit.trainable_init]
    theta = torch.as_tensor(theta, dtype=torch.float32).reshape(-1)
    if theta.numel() != circuit.n_trainable:
        raise ConversionError(f"theta has {theta.numel()} values, the circuit has {circuit.n_trainable} slots")

    class QmlCircuit(tq.QuantumModule):
        def __init__(self) -> None:
            super().__init__()
            self.n_wires = circuit.n_wires
            self.theta = torch.nn.Parameter(theta.clone())
            self.measure = tq.MeasureAll(tq.PauliZ)

        def forward(self, x: torch.Tensor | None = None) -> torch.Tensor:
            bsz = 1 if x is None else x.shape[0]
            qdev = tq.QuantumDevice(n_wires=circuit.n_wires, bsz=bsz, device=self.theta.device)
            for op in circuit.ops:
                fn = tq.functional.func_name_dict[TO_TQ[op.gate]]
                refs = list(op.params)
                if op.gate == "u2":  # U2(f, l) = U3(pi/2, f, l): tq-ng 0.2.0's u2 does not run
                    refs = [ParamRef("const", 0, 0.0, math.pi / 2), *refs]
                if not refs:
                    fn(qdev, wires=list(op.wires))
                    continue
                xs = None if x is None else x.to(self.theta.dtype)
                rows = bsz if op.is_batched else 1  # one row as tq's own operators hold (tq-ng's cu3 takes no more)
                angles = [torch.as_tensor(ref_value(ref, self.theta, xs), dtype=self.theta.dtype,
                                          device=self.theta.device).expand(rows) for ref in refs]
                fn(qdev, wires=list(op.wires), params=torch.stack(angles, -1))
            return self.measure(qdev)

    return QmlCircuit()
