"""README.md's two set-up commands stay true: CI runs the test command verbatim, and the CLI it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _setup_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section)


def test_readme_has_exactly_two_setup_commands():
    commands = _setup_commands()
    assert len(commands) == 2
    assert all(c.startswith('pip install "torch==2.13.0" ') for c in commands)


def test_ci_runs_the_readme_test_command():
    test_command = _setup_commands()[1]
    assert "pytest" in test_command
    assert test_command in (ROOT / ".ci" / "run").read_text()


def test_main_job_command_is_the_search_on_the_embedded_task():
    assert _setup_commands()[0].endswith("&& qml search --task digits4 --space u3cu3 --device ibm_quito")
