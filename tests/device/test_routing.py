"""``Device.route``: where qiskit's routing lands each op of a logical circuit. The oracle is qiskit's own
transpiled circuit (``transpile_measured``, the circuit the Aer twin and IBM run): each logical wire must end on
the physical qubit that circuit measures it on, and every two-qubit op must land on a coupled pair."""

from __future__ import annotations

import random

import pytest

import qml
from qml.circuit.gates import GATES
from qml.device import Device

ONE = ["rx", "ry", "rz", "u3", "h", "sx"]
TWO = ["cx", "cz", "cu3", "crx", "rzz", "swap"]


def random_circuit(rng: random.Random, n: int = 4) -> qml.Circuit:
    c = qml.Circuit(n)
    for _ in range(rng.randint(4, 14)):
        if rng.random() < 0.5:
            gate, wires = rng.choice(ONE), [rng.randrange(n)]
        else:
            gate, wires = rng.choice(TWO), rng.sample(range(n), 2)
        c.add(gate, wires, *([None] * GATES[gate].num_params))
    if rng.random() < 0.3:
        c.add("ccx", [0, 1, 2])
    return c


def measured_on(device: Device, circuit: qml.Circuit, layout) -> tuple[int, ...]:
    transpiled, _ = device.transpile_measured(qml.QuantumModule(circuit), layout)
    measured = {transpiled.find_bit(i.clbits[0]).index: transpiled.find_bit(i.qubits[0]).index
                for i in transpiled.data if i.operation.name == "measure"}
    return tuple(measured[w] for w in range(circuit.n_wires))


@pytest.mark.parametrize("name,layouts", [("ibm_quito", None), ("ibm_jakarta", None),
                                          ("ibm_torino", [[0, 1, 2, 3], [0, 14, 18, 19]])])
def test_each_wire_ends_where_qiskits_transpiled_circuit_measures_it(name, layouts):
    device, rng = Device.load(name), random.Random(name)
    moved = 0
    for t in range(8):
        circuit = random_circuit(rng)
        layout = layouts[t % 2] if layouts else rng.sample(range(device.num_qubits), 4)
        routing = device.route(circuit, layout)
        assert routing.final == measured_on(device, circuit, layout), (t, layout)
        moved += routing.final != tuple(layout)
        for op, qubits in zip(circuit.ops, routing.placed, strict=True):
            if len(op.wires) == 2:
                assert tuple(sorted(qubits)) in device.edges, (t, op, qubits)
        for swaps in routing.swaps:
            for swap in swaps:
                assert tuple(sorted(swap.qubits)) in device.edges
    assert moved > 0  # the circuits did need routing


def test_a_circuit_on_coupled_qubits_is_not_moved():
    device = Device.load("ibm_quito")  # couples 0-1, 1-2, 1-3, 3-4
    c = qml.Circuit(3).add("cx", [0, 1]).add("cu3", [1, 2], None, None, None).add("ry", 2, None)
    routing = device.route(c, [0, 1, 2])
    assert routing.n_swaps == 0 and routing.final == (0, 1, 2)
    assert routing.placed == ((0, 1), (1, 2), (2,))


def test_a_swap_names_the_wires_it_exchanges_and_the_ops_before_it():
    device = Device.load("ibm_quito")
    c = qml.Circuit(2).add("h", 0).add("cx", [0, 1])  # layout 0, 2: not coupled, one SWAP through qubit 1
    routing = device.route(c, [0, 2])
    ((swap,),) = [s for s in routing.swaps if s]
    assert routing.swaps[1] == (swap,)  # right before the cx
    assert 1 in swap.qubits and swap.wires.count(None) == 1
    wire = next(w for w in swap.wires if w is not None)
    assert swap.after[swap.wires.index(wire)] == (0 if wire == 0 else -1)  # wire 0's last op was the h
    assert tuple(sorted(routing.placed[1])) in device.edges


def test_routing_is_kept_per_architecture_and_layout():
    device = Device.load("ibm_lima")
    a = qml.Circuit(3).add("cx", [0, 2]).add("rx", 1, None)
    b = qml.Circuit(3).add("cx", [0, 2]).add("rx", 1, 0.3)  # same gates and wires, other angles
    assert device.route(a, [0, 1, 2]) is device.route(b, [0, 1, 2])
    assert device.route(a, [0, 1, 3]) is not device.route(a, [0, 1, 2])
