"""Layouts (logical wire i -> physical qubit ``layout[i]``) and distances on a device's coupling map."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

import numpy as np

from qml.errors import NoiseError


def check_layout(layout: Sequence[int] | None, n_wires: int, n_qubits: int, device: str) -> tuple[int, ...]:
    """A layout maps logical wire i to physical qubit ``layout[i]``: distinct, on the device, one per wire."""
    if n_wires > n_qubits:
        raise NoiseError(f"the circuit has {n_wires} qubits but device {device} has only {n_qubits}")
    if layout is None:
        return tuple(range(n_wires))
    layout = tuple(layout)
    if len(layout) != n_wires:
        raise NoiseError(f"layout {list(layout)} gives {len(layout)} physical qubits for {n_wires} logical wires")
    bad = [q for q in layout if not isinstance(q, (int, np.integer)) or not 0 <= q < n_qubits]
    if bad:
        raise NoiseError(f"layout {list(layout)}: qubit {bad[0]} is not on device {device} (0..{n_qubits - 1})")
    if len(set(layout)) != len(layout):
        dup = next(q for q in layout if layout.count(q) > 1)
        raise NoiseError(f"layout {list(layout)} uses physical qubit {dup} twice")
    return tuple(int(q) for q in layout)


def distances(n: int, edges: Sequence[tuple[int, int]], source: int) -> list[float]:
    """Hops from ``source`` to every qubit over the undirected ``edges`` (``inf`` where unreachable)."""
    adj: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges:
        adj[a].append(b)
        adj[b].append(a)
    dist = [math.inf] * n
    dist[source] = 0
    todo = deque([source])
    while todo:
        u = todo.popleft()
        for v in adj[u]:
            if dist[v] == math.inf:
                dist[v] = dist[u] + 1
                todo.append(v)
    return dist
