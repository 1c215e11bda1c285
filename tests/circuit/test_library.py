"""Circuit files: built-ins by name, users' .py files by path, and errors reported with file and line."""

from __future__ import annotations

import re
import textwrap

import numpy as np
import pytest
import torch
from qiskit.quantum_info import Operator

import qml
from qml.circuit.library import builtin_names, load_circuit
from tests.reference import qiskit_circuit


def _write(tmp_path, name: str, body: str):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body).lstrip("\n"))
    return path


def test_builtin_u3cu3_is_listed_and_loads():
    assert "u3cu3" in builtin_names()
    c = load_circuit("u3cu3", n_blocks=3)
    assert (c.n_wires, c.n_inputs, c.n_trainable, len(c)) == (4, 16, 3 * 24, 16 + 3 * 8)
    assert c.count_ops() == {"ry": 8, "rz": 4, "rx": 4, "u3": 12, "cu3": 12}


def test_user_file_defining_build_is_loaded_with_options(tmp_path):
    path = _write(tmp_path, "mine.py", """
        import qml

        def build(n_blocks=1, width=3):
            c = qml.Circuit(width, name="mine")
            c.encode("ry")
            for _ in range(n_blocks):
                c.layer("ry").ring("cz")
            return c
    """)
    c = load_circuit(str(path), n_blocks=2, width=3)
    assert c.name == "mine" and c.n_wires == 3 and c.n_trainable == 6
    m = qml.QuantumModule(c, dtype=torch.complex128)
    x = np.linspace(-1, 1, 16)
    np.testing.assert_allclose(m.unitary(torch.tensor(x)).detach().numpy(),
                               Operator(qiskit_circuit(c, m.theta.detach().numpy(), x)).data, atol=1e-12)


def test_exception_raised_inside_build_reports_file_and_line(tmp_path):
    path = _write(tmp_path, "boom.py", """
        import qml

        def build(n_blocks=2):
            c = qml.Circuit(2)
            raise RuntimeError("no luck")
    """)
    with pytest.raises(qml.CircuitError, match=rf"{re.escape(str(path))}:5: RuntimeError: no luck"):
        load_circuit(str(path), n_blocks=2)


def test_circuit_error_inside_build_reports_file_and_line(tmp_path):
    path = _write(tmp_path, "badwire.py", """
        import qml

        def build(n_blocks=2):
            c = qml.Circuit(4)
            c.h(0)
            c.cx(0, 9)
            return c
    """)
    with pytest.raises(qml.CircuitError, match=rf"{re.escape(str(path))}:6: op #1 cx: wire 9 out of range"):
        load_circuit(str(path), n_blocks=2)


def test_type_error_inside_build_reports_file_and_line(tmp_path):
    """A TypeError from the body of build() is a bug in the file, not a wrong option: report where it is."""
    path = _write(tmp_path, "typo.py", """
        import qml

        def build(n_blocks=2):
            c = qml.Circuit(4)
            return len(5)
    """)
    with pytest.raises(qml.CircuitError, match=rf"{re.escape(str(path))}:5: TypeError"):
        load_circuit(str(path), n_blocks=2)


def test_exception_at_import_time_reports_file_and_line(tmp_path):
    path = _write(tmp_path, "importfail.py", """
        import qml

        VALUE = 1 / 0
    """)
    with pytest.raises(qml.CircuitError, match=rf"{re.escape(str(path))}:3: ZeroDivisionError"):
        load_circuit(str(path))


def test_syntax_error_reports_file_and_line(tmp_path):
    path = _write(tmp_path, "syntax.py", """
        import qml

        def build(:
            pass
    """)
    with pytest.raises(qml.CircuitError, match=rf"{re.escape(str(path))}:3: syntax error"):
        load_circuit(str(path))


def test_build_not_accepting_the_options_is_reported(tmp_path):
    path = _write(tmp_path, "noopts.py", """
        import qml

        def build():
            return qml.Circuit(2)
    """)
    with pytest.raises(qml.CircuitError, match=r"build\(\) does not accept options \['n_blocks'\]"):
        load_circuit(str(path), n_blocks=2)


def test_file_without_build_is_reported(tmp_path):
    path = _write(tmp_path, "nobuild.py", "X = 1\n")
    with pytest.raises(qml.CircuitError, match=r"defines no build\(\) function"):
        load_circuit(str(path))


def test_build_returning_something_else_is_reported(tmp_path):
    path = _write(tmp_path, "wrongtype.py", """
        def build():
            return [1, 2]
    """)
    with pytest.raises(qml.CircuitError, match=r"build\(\) returned list, expected qml.Circuit"):
        load_circuit(str(path))


def test_missing_file_is_reported():
    with pytest.raises(qml.CircuitError, match="circuit file 'does/not/exist.py' does not exist"):
        load_circuit("does/not/exist.py")


def test_unknown_builtin_lists_the_builtins():
    with pytest.raises(qml.CircuitError, match=r"unknown circuit 'nope': expected a built-in \(.*u3cu3.*\)"):
        load_circuit("nope")
