"""Design-space files: built-ins by name, users' .py files by path, and errors reported with file and line."""

from __future__ import annotations

import re
import textwrap

import pytest

import qml
from qml.search.loader import load_space, space_names


def _write(tmp_path, name: str, body: str):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body).lstrip("\n"))
    return path


def test_space_names_lists_only_files_defining_space():
    names = space_names()
    assert "u3cu3" in names and names == sorted(names)


def test_user_file_defining_space_is_loaded_with_options(tmp_path):
    path = _write(tmp_path, "mine.py", """
        import qml.search

        def space(n_wires=3, n_blocks=2, variant="front"):
            s = qml.search.DesignSpace("mine", n_wires, n_blocks, variant=variant, encoder="ry")
            return s.layer("ry").layer("cz", "chain")
    """)
    space = load_space(str(path), n_blocks=4, variant="arbitrary")
    assert (space.name, space.n_wires, space.n_blocks, space.variant) == ("mine", 3, 4, "arbitrary")
    assert [layer.gate for layer in space.layers] == ["ry", "cz"]


def test_unknown_name_suggests_the_closest_builtin():
    with pytest.raises(qml.CircuitError, match=r"unknown design space 'u3cu4' \(did you mean 'u3cu3'\?\) "
                                               r"\(built-in spaces: .*u3cu3.*\)"):
        load_space("u3cu4")


def test_unknown_name_without_a_close_match_lists_the_builtins():
    with pytest.raises(qml.CircuitError, match=r"unknown design space 'qqqqqqqq' \(built-in spaces: ibm_basis, "):
        load_space("qqqqqqqq")


def test_missing_file_is_reported():
    with pytest.raises(qml.CircuitError, match="'does/not/exist.py' does not exist"):
        load_space("does/not/exist.py")


def test_syntax_error_reports_file_and_line(tmp_path):
    path = _write(tmp_path, "syntax.py", """
        import qml

        def space(:
            pass
    """)
    with pytest.raises(qml.CircuitError, match=rf"{re.escape(str(path))}:3: syntax error"):
        load_space(str(path))


def test_exception_inside_space_reports_file_and_line(tmp_path):
    path = _write(tmp_path, "boom.py", """
        import qml.search

        def space(n_blocks=2):
            s = qml.search.DesignSpace("boom", 4, n_blocks)
            raise RuntimeError("no luck")
    """)
    with pytest.raises(qml.CircuitError, match=rf"{re.escape(str(path))}:5: RuntimeError: no luck"):
        load_space(str(path))


def test_design_space_error_inside_space_reports_file_and_line(tmp_path):
    path = _write(tmp_path, "badgate.py", """
        import qml.search

        def space():
            s = qml.search.DesignSpace("bad", 4, 2)
            return s.layer("u3").layer("nope", "ring")
    """)
    with pytest.raises(qml.CircuitError, match=rf"{re.escape(str(path))}:5: design space 'bad': unknown gate 'nope'"):
        load_space(str(path))


def test_exception_at_import_time_reports_file_and_line(tmp_path):
    path = _write(tmp_path, "importfail.py", """
        import qml

        VALUE = 1 / 0
    """)
    with pytest.raises(qml.CircuitError, match=rf"{re.escape(str(path))}:3: ZeroDivisionError"):
        load_space(str(path))


def test_file_without_space_is_reported(tmp_path):
    path = _write(tmp_path, "nospace.py", """
        import qml

        def build():
            return qml.Circuit(2)
    """)
    with pytest.raises(qml.CircuitError, match=r"defines no space\(\) function"):
        load_space(str(path))


def test_space_returning_something_else_is_reported(tmp_path):
    path = _write(tmp_path, "wrongtype.py", """
        import qml

        def space():
            return qml.Circuit(2)
    """)
    with pytest.raises(qml.CircuitError, match=r"space\(\) returned Circuit, expected qml.search.DesignSpace"):
        load_space(str(path))


def test_option_space_does_not_accept_is_reported():
    with pytest.raises(qml.CircuitError, match=r"u3cu3\.py: space\(\) does not accept options \['depth'\]"):
        load_space("u3cu3", depth=3)


def test_bad_option_value_is_reported_by_the_design_space():
    with pytest.raises(qml.CircuitError, match=r"u3cu3\.py:\d+: design space 'u3cu3': variant must be"):
        load_space("u3cu3", variant="sideways")
