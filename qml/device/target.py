"""A device snapshot as qiskit sees a device: a ``Target`` for transpilation (basis gates, coupling map, errors,
durations, T1/T2) and a qiskit-aer ``NoiseModel`` (depolarizing + thermal relaxation per calibrated gate, as
qiskit-aer builds from a backend, plus the snapshot's asymmetric readout confusion)."""

from __future__ import annotations

from qml.errors import NoiseError


def to_target(snapshot):
    """A qiskit ``Target`` with every calibrated instruction of the snapshot."""
    from qiskit.circuit import Delay, Measure, Parameter, Reset
    from qiskit.circuit.library import get_standard_gate_name_mapping
    from qiskit.providers import QubitProperties
    from qiskit.transpiler import InstructionProperties, Target

    props = [QubitProperties(t1=q.t1, t2=q.t2, frequency=q.frequency) for q in snapshot.qubits]
    target = Target(description=f"qml snapshot of {snapshot.device}", num_qubits=snapshot.num_qubits,
                    dt=snapshot.dt, qubit_properties=props)
    standard = get_standard_gate_name_mapping()
    by_gate: dict[str, dict] = {}
    for cal in snapshot.gates:
        by_gate.setdefault(cal.gate, {})[cal.qubits] = InstructionProperties(duration=cal.duration, error=cal.error)
    for name, table in by_gate.items():
        if name == "measure":
            target.add_instruction(Measure(), table)
        elif name == "reset":
            target.add_instruction(Reset(), table)
        elif name == "delay":
            target.add_instruction(Delay(Parameter("t")), table)
        elif name in standard:
            target.add_instruction(standard[name], table)
        else:
            raise NoiseError(f"snapshot {snapshot.device}: gate {name!r} is not a qiskit standard gate")
    return target


def to_aer_noise_model(snapshot, *, gate_error: bool = True, thermal: bool = True, readout: bool = True):
    """The qiskit-aer ``NoiseModel`` of the snapshot."""
    from qiskit_aer.noise import NoiseModel, ReadoutError
    from qiskit_aer.noise.device.models import basic_device_gate_errors

    target = to_target(snapshot)
    model = NoiseModel(basis_gates=[g for g in snapshot.basis_gates if g not in ("measure", "reset", "delay")])
    if gate_error or thermal:
        for name, qubits, error in basic_device_gate_errors(gate_error=gate_error, thermal_relaxation=thermal,
                                                            target=target):
            model.add_quantum_error(error, name, qubits, warnings=False)
    if readout:
        for i in range(snapshot.num_qubits):
            m = snapshot.readout_confusion(i)
            if m[0, 1] > 0 or m[1, 0] > 0:
                model.add_readout_error(ReadoutError(m.tolist()), [i], warnings=False)
    return model
