"""A run's hardware folder, ``RUN/hardware/<backend>/``: what was submitted where, and what came back.

- ``jobs.json``: the plan (shots, inputs, rows per job) and every job id, rewritten atomically after each
  submission, so the ids are on disk before anything waits on a result;
- ``results/job-<k>.npz``: the sampled bits of each finished job, stored as soon as it finishes;
- ``circuit.qpy``: the transpiled circuit the jobs run (a resumed run submits the same one);
- ``attempts.log``: one line per attempt (time, outcome; never a token);
- ``result.json`` and ``report.md``: accuracy on the device next to the simulated figures.

Live jobs are fetched again by id (``service.job``) and never submitted twice. Local-mode jobs (``fake:``
backends) live only in the process that ran them: on resume a local job without a stored result is run again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from qml.errors import InputError
from qml.train.run import write_atomic

HARDWARE, JOBS, RESULTS, CIRCUIT, ATTEMPTS, RESULT, REPORT = ("hardware", "jobs.json", "results", "circuit.qpy",
                                                              "attempts.log", "result.json", "report.md")
FINAL_OK, FINAL_FAILED = ("DONE",), ("ERROR", "CANCELLED")


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def folder_name(backend: str) -> str:
    """``ibm_torino`` -> ``ibm_torino``; ``fake:ibm_torino`` -> ``fake_ibm_torino`` (no ``:`` in paths)."""
    return backend.replace(":", "_")


@dataclass
class JobRecord:
    """One job: rows ``start:stop`` of the inputs; its id once submitted (earlier ids of re-run local jobs)."""

    index: int
    start: int
    stop: int
    job_id: str | None = None
    status: str = "PLANNED"  # PLANNED, SUBMITTING, then the service's status names (QUEUED, RUNNING, DONE, ...)
    submitted_at: str | None = None
    tag: str | None = None
    previous_ids: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.stop - self.start


@dataclass
class Ledger:
    """``jobs.json``: which inputs were sent where with which settings, and the jobs that carry them."""

    backend: str  # as typed after --backend: ibm_torino or fake:ibm_torino
    device: str  # the backend's own name
    local: bool
    shots: int
    split: str
    n_inputs: int
    limit: int | None
    layout: list[int]
    max_rows_per_job: int
    inputs_sha256: str  # of the parameter rows and the transpiled circuit: a resume must send the same thing
    created_at: str = field(default_factory=now)
    jobs: list[JobRecord] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str, where: str) -> Ledger:
        try:
            doc = json.loads(text)
            jobs = [JobRecord(**j) for j in doc.pop("jobs")]
            known = {f.name for f in fields(cls)}
            return cls(**{k: v for k, v in doc.items() if k in known}, jobs=jobs)
        except (ValueError, TypeError, KeyError) as exc:
            raise InputError(f"{where} is not a qml job ledger ({type(exc).__name__}); remove it to start over") \
                from None


class HardwareFolder:
    """``RUN/hardware/<backend>/``. Nothing is created until something is written."""

    def __init__(self, run: Path, backend: str) -> None:
        self.run = run
        self.backend = backend
        self.path = run / HARDWARE / folder_name(backend)

    def _ensure(self) -> Path:
        self.path.mkdir(parents=True, exist_ok=True)
        return self.path

    # -- ledger ----------------------------------------------------------------------------------------------------
    def load(self) -> Ledger | None:
        path = self.path / JOBS
        return Ledger.from_json(path.read_text(), str(path)) if path.is_file() else None

    def save(self, ledger: Ledger) -> None:
        write_atomic(self._ensure() / JOBS, ledger.to_json())

    # -- circuit ---------------------------------------------------------------------------------------------------
    def save_circuit(self, circuit) -> None:
        from qiskit import qpy

        tmp = self._ensure() / (CIRCUIT + ".tmp")
        with tmp.open("wb") as f:
            qpy.dump(circuit, f)
        os.replace(tmp, self.path / CIRCUIT)

    def load_circuit(self):
        from qiskit import qpy

        path = self.path / CIRCUIT
        if not path.is_file():
            return None
        with path.open("rb") as f:
            return qpy.load(f)[0]

    # -- results ---------------------------------------------------------------------------------------------------
    def result_path(self, index: int) -> Path:
        return self.path / RESULTS / f"job-{index}.npz"

    def has_bits(self, index: int) -> bool:
        return self.result_path(index).is_file()

    def save_bits(self, index: int, packed: np.ndarray, num_bits: int, job_id: str | None) -> None:
        """Store a finished job's ``BitArray`` (packed bytes, (rows, shots, bytes)) as it came back."""
        path = self.result_path(index)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as f:
            np.savez_compressed(f, bits=np.asarray(packed, dtype=np.uint8), num_bits=num_bits,
                                job_id=np.array(job_id or ""))
        os.replace(tmp, path)

    def load_bits(self, index: int) -> tuple[np.ndarray, int]:
        with np.load(self.result_path(index)) as data:
            return data["bits"], int(data["num_bits"])

    # -- attempts, result, report ----------------------------------------------------------------------------------
    def log_attempt(self, outcome: str) -> None:
        with (self._ensure() / ATTEMPTS).open("a") as f:
            f.write(f"{now()} {self.backend}: {' '.join(outcome.split())}\n")

    def write_result(self, record: dict) -> Path:
        path = self._ensure() / RESULT
        write_atomic(path, json.dumps(record, indent=2))
        return path

    def write_report(self, record: dict) -> Path:
        path = self._ensure() / REPORT
        write_atomic(path, report_markdown(self.run, record))
        return path


def status_name(status) -> str:
    """Live jobs report strings (``QUEUED``), local ones qiskit's ``JobStatus`` enum: both become the name."""
    return str(getattr(status, "name", status)).upper()


def job_statuses(ledger: Ledger, folder: HardwareFolder, service=None, token: str | None = None) -> list[str]:
    """A status per job for ``qml jobs``: stored results, the live service's word, or the last one recorded."""
    from qml.backends.account import service_errors

    out = []
    for r in ledger.jobs:
        if folder.has_bits(r.index):
            out.append("DONE (result stored)")
        elif r.job_id is None:
            out.append(r.status if r.status != "SUBMITTING" else "SUBMITTING (id not recorded)")
        elif ledger.local:
            out.append("LOST (local job ended with its process; qml run re-runs it)")
        elif service is None:
            out.append(f"{r.status} (last known)")
        else:
            with service_errors(token, f"fetching job {r.index} ({r.job_id})"):
                out.append(status_name(service.job(r.job_id).status()))
    return out


def list_folders(run: Path) -> list[Path]:
    base = run / HARDWARE
    return sorted(p for p in base.iterdir() if (p / JOBS).is_file()) if base.is_dir() else []


def report_markdown(run: Path, record: dict) -> str:
    """Accuracy on the device next to the run's noise-free and Aer-twin figures (``result.json``, ``eval.jsonl``)."""
    rows = []
    result = read_json(run / "result.json")
    if isinstance(result, dict) and isinstance(result.get("test_accuracy"), (int, float)):
        rows.append(("noise-free (training run)", "test", "all", "exact", result["test_accuracy"]))
    eval_path = run / "eval.jsonl"
    if eval_path.is_file():
        for line in eval_path.read_text().splitlines():
            try:
                e = json.loads(line)
                label = e["backend"] + (" (Aer twin)" if str(e["backend"]).startswith("aer") else "")
                rows.append((label, e.get("split", "test"), e.get("n", "?"), e.get("shots") or "exact",
                             float(e["accuracy"])))
            except (ValueError, KeyError, TypeError):
                continue
    mode = "local testing mode" if record["local"] else "IBM Quantum"
    rows.append((f"**{record['backend']}** ({mode})", record["split"], record["n"], record["shots"],
                 record["accuracy"]))
    lines = [f"# {record['backend']}: accuracy on hardware", "",
             f"Run `{run}`; device `{record['device']}`, physical qubits {record['layout']}, "
             f"{len(record['jobs'])} job(s), finished {record['finished_at']}.", "",
             "| backend | split | inputs | shots | accuracy |", "|---|---|---|---|---|"]
    lines += [f"| {b} | {s} | {n} | {shots} | {acc:.4f} |" for b, s, n, shots, acc in rows]
    t = record.get("transpiled") or {}
    if t:
        ops = ", ".join(f"{k} {v}" for k, v in sorted(t.get("ops", {}).items()))
        lines += ["", f"Transpiled circuit: depth {t.get('depth')}; {ops}."]
    lines += ["", "Job ids: " + ", ".join(f"`{j}`" for j in record["jobs"]), ""]
    return "\n".join(lines)


def read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
