"""Every notebook in notebooks/ runs top to bottom (small settings through environment variables)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def test_there_is_a_tour():
    assert any(p.name.startswith("01_") for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, monkeypatch, capsys):
    monkeypatch.setenv("QML_TOUR_EPOCHS", "2")
    cells = json.loads(path.read_text())["cells"]
    namespace: dict = {"__name__": "__notebook__"}
    for i, cell in enumerate(cells):
        if cell["cell_type"] == "code":
            code = compile("".join(cell["source"]), f"{path.name}[cell {i}]", "exec")
            exec(code, namespace)
    out = capsys.readouterr().out
    if path.name.startswith("01_"):
        assert "max |difference|" in out and "test accuracy" in out
        diff = float(out.split("max |difference|:")[1].split()[0])
        assert diff < 1e-5
    else:
        accuracies = [float(line.split("aer accuracy")[1].split()[0].rstrip(";")) for line in out.splitlines()
                      if "aer accuracy" in line]
        assert len(accuracies) == 4 and all(0.0 <= a <= 1.0 for a in accuracies)
