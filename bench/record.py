"""What every benchmark records beside its figures: the machine, its load and the thread counts, and the JSON."""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path


def machine() -> dict:
    """CPU model, cores, load average now, Python, and torch's version, thread count and GPU when torch is loaded."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "loadavg_end": os.getloadavg()}
    torch = sys.modules.get("torch")
    if torch is not None:
        info.update(torch_threads=torch.get_num_threads(), torch=torch.__version__)
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    return info


def write_json(path: Path, report: dict) -> None:
    """``report`` with the machine record added, as indented JSON."""
    path.write_text(json.dumps({**report, "machine": machine()}, indent=1))
    print(f"wrote {path}")
