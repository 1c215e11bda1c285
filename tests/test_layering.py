"""The rooms of ``qml/`` (DESIGN.md §3) import only the rooms below them: every module's imports, top-level and
function-local, absolute and relative, are read with ``ast`` and checked against ``MAY_IMPORT``. The first-party
plugin and the built-in circuits reach the core only through its public packages."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

# room (package under qml/) -> the other rooms its modules may import; a module may always import its own room
MAY_IMPORT: dict[str, tuple[str, ...]] = {
    "circuit": (),
    "data": (),
    "sim": ("circuit",),
    "device": ("sim", "circuit"),
    "noise": ("device", "sim", "circuit"),
    "train": ("noise", "device", "sim", "circuit", "data"),
    "passes": ("train", "noise", "device", "sim", "circuit", "data"),
    "search": ("train", "noise", "device", "sim", "circuit", "data"),
    "backends": ("device", "noise", "sim", "circuit"),
    "runs": ("search", "passes", "backends", "train", "noise", "device", "sim", "circuit", "data"),
    "cli": ("runs", "search", "passes", "backends", "train", "noise", "device", "sim", "circuit", "data"),
}
# modules directly under qml/, used by every room; they import only each other
SHARED = ("errors", "files", "plugins")
# ``import qml`` / ``from qml import X``: qml/__init__.py re-exports these rooms (each imported on first use of one of
# its names, so ``import qml`` alone imports no torch), so a room below them may not import the root
ROOT_REEXPORTS = ("circuit", "sim")
# what the first-party plugin and the built-in circuits may import from qml: the root and public packages only
PUBLIC = ("qml", *(f"qml.{room}" for room in MAY_IMPORT), "qml.errors", "qml.files")

REPO = Path(__file__).resolve().parents[1]
QML = REPO / "qml"
PUBLIC_ONLY = {"plugins/qml-quantum/qml_quantum": "qml_quantum", "circuits": "qml._circuits"}  # folder -> package


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    imported: str
    why: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: imports {self.imported}: {self.why}"


def imported_modules(source: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, module) for every import in ``source`` (the module named ``module``), relative imports resolved;
    ``from P import N`` gives ``P.N`` when that is a qml module on disk, else ``P``."""
    out = []
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            parent = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                child = f"{parent}.{alias.name}"
                out.append((node.lineno, child if is_qml_module(child) else parent))
    return sorted(set(out))


def is_qml_module(name: str) -> bool:
    parts = name.split(".")
    if parts[0] != "qml" or len(parts) == 1:
        return False
    path = QML.joinpath(*parts[1:])
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def room_of(imported: str) -> str | None:
    """The room an imported qml module belongs to: a room name, "shared", "root", or None for an unknown one."""
    parts = imported.split(".")
    if len(parts) == 1:
        return "root"
    if parts[1] in SHARED:
        return "shared"
    return parts[1] if parts[1] in MAY_IMPORT else None


def room_violations(source: str, module: str, is_package: bool, path: str) -> list[Violation]:
    """Imports of the qml module ``module`` that run against ``MAY_IMPORT``."""
    parts = module.split(".")
    if len(parts) == 1:
        importer, own, others = "the root package qml", None, set(ROOT_REEXPORTS)
    elif parts[1] in SHARED:
        importer, own, others = f"shared module qml.{parts[1]}", None, set()
    elif parts[1] in MAY_IMPORT:
        importer, own, others = f"room {parts[1]}", parts[1], set(MAY_IMPORT[parts[1]])
    else:
        return [Violation(path, 1, module, f"qml.{parts[1]} is not a room of MAY_IMPORT; add it to the table")]
    allowed = others | {own}
    may = ", ".join(sorted(others)) or "no other room"
    out = []
    for line, imported in imported_modules(source, module, is_package):
        if imported.split(".")[0] != "qml":
            continue  # third-party
        room = room_of(imported)
        if room == "shared" or room in allowed or (room == "root" and set(ROOT_REEXPORTS) <= allowed):
            continue
        if room is None:
            why = f"{'.'.join(imported.split('.')[:2])} is not a room of MAY_IMPORT"
        elif room == "root":
            why = (f"the root package re-exports rooms {', '.join(ROOT_REEXPORTS)}; {importer} may import {may}: "
                   f"import from the room itself")
        else:
            why = f"{importer} may not import room {room} (it may import {may})"
        out.append(Violation(path, line, imported, why))
    return out


def public_violations(source: str, module: str, is_package: bool, path: str) -> list[Violation]:
    """Imports of qml by a plugin or built-in circuit module (other than of its own package) that go past qml's
    public packages."""
    own = ".".join(module.split(".")[: 2 if module.startswith("qml.") else 1])
    why = f"plugins and built-in circuits may import only {', '.join(PUBLIC)} (public packages, not their modules)"
    return [Violation(path, line, imported, why) for line, imported in imported_modules(source, module, is_package)
            if imported.split(".")[0] == "qml" and imported not in PUBLIC
            and imported != own and not imported.startswith(own + ".")]


def module_name(path: Path, root: Path, package: str) -> tuple[str, bool]:
    parts = list(path.relative_to(root).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    return ".".join([package, *(parts[:-1] if is_package else parts)]), is_package


def scan(root: Path, package: str, check) -> list[Violation]:
    files = sorted(root.rglob("*.py"))
    assert files, f"no modules found under {root}"
    out = []
    for path in files:
        module, is_package = module_name(path, root, package)
        out += check(path.read_text(encoding="utf-8"), module, is_package, str(path.relative_to(REPO)))
    return out


def report(violations: list[Violation]) -> str:
    return f"{len(violations)} imports run against the table:\n" + "\n".join(map(str, violations))


# -- the package itself ---------------------------------------------------------------------------------------------
def test_every_qml_module_imports_only_its_own_room_the_rooms_below_it_and_the_shared_modules():
    violations = scan(QML, "qml", room_violations)
    assert not violations, report(violations)


def test_the_root_package_gives_every_name_of_its_all_from_the_room_that_defines_it():
    import qml
    import qml.circuit
    import qml.sim

    rooms = {room: getattr(qml, room) for room in ROOT_REEXPORTS}
    assert rooms == {"circuit": qml.circuit, "sim": qml.sim}
    for name in qml.__all__:
        value = getattr(qml, name)
        homes = [room for room, module in rooms.items() if getattr(module, name, None) is value]
        assert homes or name in {"QmlError", "CircuitError", "ConversionError", "InputError", "__version__"}, name
    assert set(qml.__all__) <= set(dir(qml))
    with pytest.raises(AttributeError, match="no attribute 'Circuitt'"):
        qml.Circuitt  # noqa: B018


@pytest.mark.parametrize("folder", sorted(PUBLIC_ONLY))
def test_the_plugin_and_the_builtin_circuits_import_only_qmls_public_packages(folder):
    violations = scan(REPO / folder, PUBLIC_ONLY[folder], public_violations)
    assert not violations, report(violations)


# -- the checker catches what it should (so the tests above cannot pass by reading nothing) -------------------------
@pytest.mark.parametrize("source,module,line,imported", [
    ("from qml.search.fitness import Fitness\n", "qml.train.run", 1, "qml.search.fitness"),
    ("import os\n\ndef f():\n    import qml.backends\n", "qml.search.fitness", 4, "qml.backends"),
    ("from ..backends import make_executor\n", "qml.search.fitness", 1, "qml.backends"),
    ("from .. import backends\n", "qml.search.fitness", 1, "qml.backends"),
    ("from qml import Circuit\n", "qml.data.datasets", 1, "qml"),
    ("import qml.noise\n", "qml.errors", 1, "qml.noise"),
    ("from qml.nowhere import thing\n", "qml.cli.main", 1, "qml.nowhere"),
])
def test_checker_reports_an_import_against_the_table(source, module, line, imported):
    (violation,) = room_violations(source, module, False, "synthetic.py")
    assert (violation.line, violation.imported) == (line, imported)


@pytest.mark.parametrize("source,module", [
    ("import numpy\nfrom torch import nn\n", "qml.circuit.gates"),
    ("from qml.errors import InputError\nfrom qml.files import atomic_write\n", "qml.circuit.gates"),
    ("from . import gates\nfrom .circuit import Circuit\n", "qml.circuit.library"),
    ("import qml\n", "qml.device.device"),
    ("from qml.device import Device\n", "qml.backends.aer_executor"),
])
def test_checker_accepts_imports_the_table_allows(source, module):
    assert room_violations(source, module, False, "synthetic.py") == []


def test_checker_reports_a_plugin_reaching_into_a_rooms_submodule():
    source = "import torch\nfrom qml.passes import Pass\nfrom qml.passes.base import PassPlan\nfrom . import angles\n"
    (violation,) = public_violations(source, "qml_quantum.gate_prune", False, "synthetic.py")
    assert (violation.line, violation.imported) == (3, "qml.passes.base")


def test_checker_reports_a_plugin_importing_a_shared_module_other_than_errors_and_files():
    (violation,) = public_violations("from qml.plugins import Registry\n", "qml_quantum.angles", False, "s.py")
    assert violation.imported == "qml.plugins"
