"""A run's hardware folder, ``RUN/hardware/<backend>/``: what was submitted where, and what came back.

- ``jobs.json``: the plan (shots, inputs, rows per job) and every job id, rewritten atomically after each
  submission, so the ids are on disk before anything waits on a result;
- ``results/job-<k>.npz``: the sampled bits of each finished job, stored as soon as it finishes;
- ``circuit.qpy``: the transpiled circuit the jobs run (a resumed run submits the same one);
- ``attempts.log``: one line per attempt (time, outcome; never a token);
- ``result.json`` and ``report.md``: accuracy on the device next to the simulated figures;
- ``.lock``: held by the one ``qml run`` at work in the folder (``qml.files.FolderLock``).

Live jobs are fetched again by id (``service.job``) and never submitted twice. Local-mode jobs (``fake:``
backends) live only in the process that ran them: on resume a local job without a stored result is run again.
Every file is written atomically; one that cannot be read back is an ``InputError`` naming it.
"""

from __future__ import annotations

import datetime as dt
import json
import zipfile
import zlib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from qml.errors import FileError, InputError, QmlError
from qml.files import FolderLock, describe_os_error, read_json, write_atomic

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
    """One job: rows ``start:stop`` of the inputs; its id once submitted (earlier ids of re-run local jobs).
    ``circuit`` names what it runs (``qml.backends.mitigation``): ``raw``, the evaluated circuit; ``foldN``, its
    copy folded to N times the two-qubit gates (ZNE); ``cal``, readout calibration circuits ``start:stop``."""

    index: int
    start: int
    stop: int
    job_id: str | None = None
    status: str = "PLANNED"  # PLANNED, SUBMITTING, then the service's status names (QUEUED, RUNNING, DONE, ...)
    submitted_at: str | None = None
    tag: str | None = None
    previous_ids: list[str] = field(default_factory=list)
    circuit: str = "raw"

    @property
    def rows(self) -> int:
        return self.stop - self.start

    def describe(self) -> str:
        """``rows 0-7``; ``x3 rows 0-7`` for a ZNE fold; ``calibration 0-7`` for readout calibration circuits."""
        span = f"{self.start}-{self.stop - 1}"
        if self.circuit == "cal":
            return f"calibration {span}"
        return f"rows {span}" if self.circuit == "raw" else f"x{self.circuit[4:]} rows {span}"


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
    mitigation: dict | None = None  # ``Mitigation.to_dict()`` of the jobs' extra circuits; None: the raw ones alone

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_dict(cls, doc: dict, where: str) -> Ledger:
        try:
            jobs = [JobRecord(**j) for j in doc["jobs"]]
            known = {f.name for f in fields(cls)} - {"jobs"}
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

    def _ensure(self, path: Path | None = None) -> Path:
        path = path or self.path
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FileError(f"cannot create {describe_os_error(exc, path)}") from None
        return path

    def lock(self) -> FolderLock:
        """The folder's lock: one ``qml run`` at a time submits into it (readers such as ``qml jobs`` need none)."""
        return FolderLock(self.path)

    # -- ledger ----------------------------------------------------------------------------------------------------
    def load(self) -> Ledger | None:
        path = self.path / JOBS
        return Ledger.from_dict(read_json(path), str(path)) if path.is_file() else None

    def save(self, ledger: Ledger) -> None:
        write_atomic(self._ensure() / JOBS, ledger.to_json())

    # -- circuit ---------------------------------------------------------------------------------------------------
    def save_circuit(self, circuit) -> None:
        from qiskit import qpy

        def dump(tmp: Path) -> None:
            with tmp.open("wb") as f:
                qpy.dump(circuit, f)

        write_atomic(self._ensure() / CIRCUIT, dump)

    def load_circuit(self):
        """The circuit the earlier jobs ran, ``None`` when none was stored; a damaged file is an ``InputError``."""
        from qiskit import qpy

        path = self.path / CIRCUIT
        if not path.is_file():
            return None
        try:
            with path.open("rb") as f:
                return qpy.load(f)[0]
        except OSError as exc:
            raise FileError(f"cannot read {describe_os_error(exc, path)}") from None
        except Exception as exc:  # qpy's reader fails in many ways on a damaged file (struct, index, Qiskit errors)
            raise InputError(f"{path} is not a readable QPY circuit ({type(exc).__name__}); remove it to submit the "
                             f"circuit transpiled now, or remove {self.path} to start over") from None

    # -- results ---------------------------------------------------------------------------------------------------
    def result_path(self, index: int) -> Path:
        return self.path / RESULTS / f"job-{index}.npz"

    def has_bits(self, index: int) -> bool:
        return self.result_path(index).is_file()

    def save_bits(self, index: int, packed: np.ndarray, num_bits: int, job_id: str | None) -> None:
        """Store a finished job's ``BitArray`` (packed bytes, (rows, shots, bytes)) as it came back."""
        path = self.result_path(index)
        self._ensure(path.parent)

        def dump(tmp: Path) -> None:
            with tmp.open("wb") as f:  # a file object: given a path, numpy would append .npz to the temporary name
                np.savez_compressed(f, bits=np.asarray(packed, dtype=np.uint8), num_bits=num_bits,
                                    job_id=np.array(job_id or ""))

        write_atomic(path, dump)

    def load_bits(self, index: int, shape: tuple[int, int] | None = None) -> tuple[np.ndarray, int]:
        """A stored job's packed bits, (rows, shots, bytes), and bit count; a file that cannot be read back, or
        that holds other ``(rows, shots)`` than ``shape``, is an ``InputError`` naming it."""
        path = self.result_path(index)
        try:
            with np.load(path) as data:
                bits, num_bits = np.asarray(data["bits"], dtype=np.uint8), int(data["num_bits"])
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
            raise InputError(f"{path} is not a readable results file ({type(exc).__name__}; expected the npz of "
                             f"bits a finished job returned)") from None
        if shape is not None and (bits.ndim != 3 or bits.shape[:2] != tuple(shape)):
            raise InputError(f"{path} holds bits of shape {bits.shape}, expected ({shape[0]}, {shape[1]}, bytes)")
        return bits, num_bits

    def readable_bits(self, index: int, shape: tuple[int, int] | None = None) -> bool:
        try:
            self.load_bits(index, shape)
        except InputError:
            return False
        return True

    # -- attempts, result, report ----------------------------------------------------------------------------------
    def log_attempt(self, outcome: str) -> None:
        path = self._ensure() / ATTEMPTS
        try:
            with path.open("a", encoding="utf-8") as f:
                f.write(f"{now()} {self.backend}: {' '.join(outcome.split())}\n")
        except OSError as exc:
            raise FileError(f"cannot write {describe_os_error(exc, path)}") from None

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
            again = "re-runs it" if ledger.local or r.job_id is None else "fetches it again"
            out.append("DONE (result stored)" if folder.readable_bits(r.index, (r.rows, ledger.shots))
                       else f"DONE (result file damaged; qml run {again})")
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
    """Accuracy on the device next to the run's noise-free and Aer-twin figures (``result.json``, ``eval.jsonl``),
    one row per estimate (raw, and each error mitigation), each with the number of inputs it was measured on."""
    rows = []
    result = optional_json(run / "result.json")
    if result is not None and isinstance(result.get("test_accuracy"), (int, float)):
        size = record.get("test_size")
        rows.append(("noise-free (training run)", None, "test", f"{size} (all)" if size else "all", "exact",
                     result["test_accuracy"]))
    eval_path = run / "eval.jsonl"
    if eval_path.is_file():
        for line in eval_path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                e = json.loads(line)
                label = e["backend"] + (" (Aer twin)" if str(e["backend"]).startswith("aer") else "")
                rows.append((label, e.get("mitigation"), e.get("split", "test"), e.get("n", "?"),
                             e.get("shots") or "exact", float(e["accuracy"])))
            except (ValueError, KeyError, TypeError, AttributeError):
                continue
    mode = "local testing mode" if record["local"] else "IBM Quantum"
    label = f"**{record['backend']}** ({mode})"
    rows.append((label, None, record["split"], record["n"], record["shots"], record["accuracy"]))
    for m in record.get("mitigated") or []:
        rows.append((label, m["mitigation"], record["split"], record["n"], record["shots"], m["accuracy"]))
    lines = [f"# {record['backend']}: accuracy on hardware", "",
             f"Run `{run}`; device `{record['device']}`, physical qubits {record['layout']}, "
             f"{len(record['jobs'])} job(s), finished {record['finished_at']}.", "",
             "| backend | mitigation | split | inputs | shots | accuracy |", "|---|---|---|---|---|---|"]
    lines += [f"| {b} | {m or 'none'} | {s} | {n} | {shots} | {acc:.4f} |" for b, m, s, n, shots, acc in rows]
    sizes = sorted({str(n) for _, _, _, n, _, _ in rows}, key=lambda v: (len(v), v))
    if len(sizes) > 1:
        lines += ["", f"The rows are measured on different numbers of inputs ({', '.join(sizes)}; each the first "
                      "inputs of its split): accuracies on different inputs differ by sampling alone, and only rows "
                      "with the same inputs compare input by input."]
    t = record.get("transpiled") or {}
    if t:
        ops = ", ".join(f"{k} {v}" for k, v in sorted(t.get("ops", {}).items()))
        lines += ["", f"Transpiled circuit: depth {t.get('depth')}; {ops}."]
    mitigated = [m for m in record.get("mitigated") or [] if "executions" in m]
    if mitigated:
        spent = "; ".join(f"{m['mitigation']} {m['executions']:,}" for m in mitigated)
        lines += ["", f"Executions (circuits x shots) each estimate rests on: raw {record['n'] * record['shots']:,}; "
                      f"{spent}."]
    lines += ["", "Job ids: " + ", ".join(f"`{j}`" for j in record["jobs"]), ""]
    return "\n".join(lines)


def optional_json(path: Path) -> dict | None:
    """The JSON object in ``path``, or ``None`` when it is missing or unreadable: a figure a report can do without."""
    try:
        return read_json(path)
    except QmlError:
        return None
