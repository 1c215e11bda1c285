"""The ``ibm`` executor: a trained circuit on an IBM device through qiskit-ibm-runtime's V2 Sampler.

The circuit is bound to its trained angles, measured (``measure_all``: ⟨Z⟩ of logical wire i is clbit i),
transpiled once for the device's target with the chosen layout; the inputs go as parameter rows, one PUB per job
of at most ``max_rows_per_job`` rows, all jobs in one ``Batch``. ``fake:ibm_NAME`` runs the same path in local
testing mode. With a ``HardwareFolder`` job ids reach disk before the first wait and a second call resumes (see
``qml.backends.jobs``): live jobs are fetched by id, local ones without a stored result are run again (a stored
result that cannot be read back counts as missing).

``mitigated_expectations`` adds a ``MitigationPlan``'s circuits (readout calibration, ZNE folds of the same
transpiled circuit) to the same Batch as jobs of their own, recorded in the ledger like the others; the cost
confirmation counts them.
"""

from __future__ import annotations

import hashlib
import uuid
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from torch import Tensor

from qml.backends.base import (
    Capabilities,
    Executor,
    TranspileCache,
    as_tensor,
    parameter_rows,
    unpack_bitarray,
)
from qml.backends.ibm_device import OpenedBackend, open_device
from qml.backends.jobs import FINAL_FAILED, HardwareFolder, JobRecord, Ledger, now, status_name
from qml.backends.mitigation import CAL, METHODS, RAW, Mitigated, Mitigation, MitigationPlan
from qml.device import TWO_QUBIT_GATES
from qml.errors import IBMError, InputError

MAX_EXECUTIONS = 5_000_000  # rows × shots per job; the service allows 10 million per Sampler job
DEFAULT_SHOTS = 1024
POLL_SECONDS = 10.0  # between status queries of a live job (the runtime's own default polls every 0.1-0.5 s)


def wait_result(job, poll_interval: float = POLL_SECONDS):
    """Block until ``job`` is final and return its ``PrimitiveResult`` (tests interrupt here)."""
    if hasattr(job, "wait_for_final_state"):  # live jobs: poll gently, a queue can take hours
        job.wait_for_final_state(poll_interval=poll_interval)
    return job.result()


class IBMExecutor(Executor):
    name = "ibm"
    capabilities = Capabilities(exact=False, sampled=True, noise_factor=False, layout=True)
    mitigation_methods = METHODS

    def __init__(self, device: OpenedBackend, layout=None, *, folder: HardwareFolder | None = None,
                 seed: int | None = 0, optimization_level: int = 1, max_rows_per_job: int | None = None,
                 confirm: Callable[[str], bool] | None = None, log: Callable[[str], None] | None = None,
                 poll_interval: float = POLL_SECONDS, resubmit_failed: bool = False,
                 context: dict | None = None) -> None:
        self.device = device
        self.layout = layout
        self.folder = folder
        self.seed = seed or 0
        self.optimization_level = optimization_level
        self.max_rows_per_job = max_rows_per_job
        self.confirm = confirm
        self.log = log or (lambda text: None)
        self.poll_interval = poll_interval
        self.resubmit_failed = resubmit_failed
        self.context = context or {}
        self.last_transpiled = None
        self.ledger: Ledger | None = None
        self.submitted = 0  # jobs this executor submitted (a resume that only fetches submits none)
        self._jobs: dict[int, Any] = {}
        self._bits: dict[int, tuple[np.ndarray, int]] = {}
        self._transpiled = TranspileCache()

    def with_folder(self, folder: HardwareFolder, context: dict | None = None) -> IBMExecutor:
        """A fresh executor for another set of jobs on the same device and layout, writing to ``folder``; it shares
        this one's transpiled circuits (a training sends one job set per step, the circuit transpiled once)."""
        out = IBMExecutor(self.device, self.layout, folder=folder, seed=self.seed,
                          optimization_level=self.optimization_level, context=context)
        out._transpiled = self._transpiled
        return out

    def describe(self) -> str:
        return f"{self.device.name}" + (" (local testing mode)" if self.device.local else " (IBM Quantum)")

    def transpile(self, module):
        """The module's circuit with its trained angles bound, inputs symbolic, measured, on the device."""
        from qml.device.device import transpile_measured

        def make():
            return transpile_measured(module, self.device.backend.target, self.layout, self.device.spec,
                                      self.optimization_level)

        out, self.layout = self._transpiled.get(module, self.layout, make)  # the layout used, on a hit too
        self.last_transpiled = out
        return out

    def expectations(self, module, x: Tensor | None, shots: int | None = DEFAULT_SHOTS) -> Tensor:
        return as_tensor(self._run(module, x, shots, None).z[RAW], module.theta)

    def mitigated_expectations(self, module, x: Tensor | None, shots: int | None, mitigation: Mitigation,
                               log: Callable[[str], None] | None = None) -> Mitigated:
        """⟨Z⟩ raw and mitigated (``Mitigated.z``: method -> (B, n_wires) array); the extra circuits' cost goes
        through the same confirmation as the evaluation's (``log`` defaults to the executor's)."""
        mitigation.check_available()
        return self._run(module, x, shots, mitigation, log)

    def _run(self, module, x, shots, mitigation: Mitigation | None, log=None) -> Mitigated:
        shots = shots or DEFAULT_SHOTS
        x, _ = module.check_input(x)
        circuit = self.transpile(module)
        rows = parameter_rows(circuit, x)
        plan = MitigationPlan(circuit, mitigation)
        bits = self.sample_plan(plan, rows, shots, module.n_wires, log)
        if rows.shape[1] == 0 and x is not None and x.shape[0] > 1:
            bits = {k: v if k == CAL else np.repeat(v, x.shape[0], 0) for k, v in bits.items()}
        return plan.estimate(bits)

    # -- the jobs --------------------------------------------------------------------------------------------------
    def sample(self, circuit, rows: np.ndarray, shots: int, n_bits: int) -> np.ndarray:
        """Bits (rows, shots, n_bits) of ``circuit`` for every parameter row: planned, submitted, resumed, collected."""
        return self.sample_plan(MitigationPlan(circuit, None), rows, shots, n_bits)[RAW]

    def sample_plan(self, plan: MitigationPlan, rows: np.ndarray, shots: int, n_bits: int,
                    log: Callable[[str], None] | None = None) -> dict[str, np.ndarray]:
        """Bits of every circuit of ``plan`` — (rows, shots, n_bits) for those run per input, (circuits, shots,
        n_bits) for readout calibration — planned, submitted, resumed, collected."""
        digest = self._digest(rows, shots, plan.mitigation)
        ledger = self.folder.load() if self.folder else None
        if ledger is not None and ledger.inputs_sha256 != digest:
            had = Mitigation.from_dict(ledger.mitigation) if ledger.mitigation else "none"
            raise InputError(f"{self.folder.path} holds jobs for other inputs or settings ({ledger.n_inputs} inputs "
                             f"of split {ledger.split!r}, {ledger.shots} shots, mitigation {had}); run with the same "
                             f"settings, or remove that folder to start over")
        resumed = ledger is not None
        if not resumed:
            ledger = self._plan(plan, len(rows), shots, digest)
        self.ledger = ledger
        self._read_stored(ledger)
        todo = self._todo(ledger)
        if todo:
            stored = self.folder.load_circuit() if resumed else None
            if stored is not None:  # submit what the earlier jobs ran, and its folds and calibration
                plan = MitigationPlan(stored, plan.mitigation)
            self._approve(plan, ledger, todo, log or self.log)
            if self.folder is not None:
                self.folder.save(ledger)
                self.folder.save_circuit(plan.circuit)
            self._submit(plan, rows, ledger, todo)
        else:
            self._save(ledger)  # ids found by their tags reach disk before any wait
        out: dict[str, list[np.ndarray]] = {}
        for record in ledger.jobs:
            packed, num_bits = self._collect(record)
            out.setdefault(record.circuit, []).append(
                unpack_bitarray(packed, n_bits).reshape(record.rows, shots, n_bits))
        return {key: np.concatenate(parts) for key, parts in out.items()}

    def _digest(self, rows: np.ndarray, shots: int, mitigation: Mitigation | None = None) -> str:
        h = hashlib.sha256(np.ascontiguousarray(rows, dtype=np.float64).tobytes())
        h.update(f"{rows.shape}|{shots}|{self.layout}|{self.device.spec}".encode())
        if mitigation is not None:  # without, the digest of the ledgers written before mitigation
            h.update(repr(mitigation.to_dict()).encode())
        return h.hexdigest()

    def _plan(self, plan: MitigationPlan, n_rows: int, shots: int, digest: str) -> Ledger:
        per_job = self.max_rows_per_job or max(1, MAX_EXECUTIONS // shots)
        if per_job * shots > 2 * MAX_EXECUTIONS:
            raise InputError(f"--max-rows-per-job {per_job} x {shots} shots exceeds the service's 10 million "
                             f"executions per job")
        run_tag = uuid.uuid4().hex[:12]
        jobs = [JobRecord(k, start, stop, tag=f"qml-{run_tag}-job{k}", circuit=key)
                for k, (key, start, stop) in enumerate(plan.spans(n_rows, per_job))]
        return Ledger(self.device.spec, self.device.name, self.device.local, shots,
                      self.context.get("split", "test"), n_rows, self.context.get("limit"), list(self.layout or []),
                      per_job, digest, jobs=jobs, mitigation=plan.mitigation.to_dict() if plan.mitigation else None)

    def _read_stored(self, ledger: Ledger) -> None:
        """Read the stored results; a damaged one counts as missing, saying so (fetched again by id, or re-run)."""
        if self.folder is None:
            return
        for r in ledger.jobs:
            if r.index in self._bits or not self.folder.has_bits(r.index):
                continue
            try:
                self._bits[r.index] = self.folder.load_bits(r.index, (r.rows, ledger.shots))
            except InputError as exc:
                again = "fetched again by id" if r.job_id and not self.device.local else "run again"
                self.log(f"job {r.index}: {exc}; treated as missing: the job is {again}")

    def _todo(self, ledger: Ledger) -> list[JobRecord]:
        """Jobs to submit now: never submitted; local ones without a stored result; failed ones when asked."""
        todo = []
        for r in ledger.jobs:
            if r.index in self._bits:
                continue
            if r.job_id is not None and (self.device.local or (self.resubmit_failed and r.status in FINAL_FAILED)):
                r.previous_ids.append(r.job_id)
                r.job_id, r.status = None, "PLANNED"
            if r.job_id is None and not self.device.local and r.status == "SUBMITTING":
                self._adopt_by_tag(r)
            if r.job_id is None:
                todo.append(r)
        return todo

    def _adopt_by_tag(self, record: JobRecord) -> None:
        """A job submitted just before a crash, its id not yet on disk: find it by its tag, never send it twice."""
        with self.device.errors(f"looking for job {record.index} by its tag"):
            found = self.device.service.jobs(job_tags=[record.tag], backend_name=self.device.name, limit=1)
        if found:
            record.job_id, record.status = found[0].job_id(), "QUEUED"
            self.log(f"job {record.index}: found {record.job_id} by its tag (submitted before the last crash)")

    def _approve(self, plan: MitigationPlan, ledger: Ledger, todo: list[JobRecord], log) -> None:
        circuit = plan.circuit
        rows = sum(r.rows for r in todo)
        ops = circuit.count_ops()
        two_q = sum(n for g, n in ops.items() if g in TWO_QUBIT_GATES)
        cost = (f"{self.describe()}: {rows} circuits x {ledger.shots} shots = {rows * ledger.shots:,} executions in "
                f"{len(todo)} job(s) of at most {ledger.max_rows_per_job} rows; physical qubits {ledger.layout}, "
                f"depth {circuit.depth()}, {two_q} two-qubit gates per circuit")
        if plan.mitigation is not None:
            cost += f"; {plan.cost(ledger.n_inputs, ledger.shots)}"
        log(cost)
        if self.confirm is not None and not self.confirm(cost):
            raise InputError("not submitted (answer y to the prompt, or pass --yes; off a terminal nothing is asked)")

    def _submit(self, plan: MitigationPlan, rows: np.ndarray, ledger: Ledger, todo: list[JobRecord]) -> None:
        from qiskit_ibm_runtime import Batch, SamplerV2

        with self.device.errors(f"submitting to {self.device.name}"), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # SamplerV2 is deprecated in 0.50 for a new one
            with Batch(backend=self.device.backend) as batch:
                sampler = SamplerV2(mode=batch)
                for record in todo:
                    if self.device.local:  # the local service skips a seed of 0
                        sampler.options.simulator.seed_simulator = 1 + self.seed * 100_003 + record.index
                    else:
                        sampler.options.environment.job_tags = [record.tag]
                    variant = plan.variants[record.circuit]
                    if variant.per_input:
                        pubs = [(variant.circuits[0], rows[record.start:record.stop])]
                    else:
                        pubs = [(c,) for c in variant.circuits[record.start:record.stop]]
                    record.status = "SUBMITTING"
                    self._save(ledger)
                    job = sampler.run(pubs, shots=ledger.shots)
                    record.job_id, record.submitted_at = job.job_id(), now()
                    record.status = "QUEUED" if not self.device.local else status_name(job.status())
                    self._jobs[record.index] = job
                    self.submitted += 1
                    self._save(ledger)
                    self.log(f"job {record.index}: submitted {record.job_id} ({record.describe()})")

    def _collect(self, record: JobRecord) -> tuple[np.ndarray, int]:
        if record.index in self._bits:
            return self._bits[record.index]
        with self.device.errors(f"fetching job {record.index} ({record.job_id})"):
            job = self._jobs.get(record.index) or self.device.service.job(record.job_id)
        self.log(f"job {record.index}: waiting for {record.job_id}")
        with self.device.errors(f"waiting for job {record.index} ({record.job_id})"):
            try:
                result = wait_result(job, self.poll_interval)
            except Exception:
                status = _safe_status(job)  # None: the service itself is out of reach; the job may be fine
                if status is None:
                    raise
                record.status = status_name(status)
                self._save(self.ledger)
                if record.status in FINAL_FAILED:
                    raise IBMError(f"job {record.index} ({record.job_id}) ended {record.status} on "
                                   f"{self.device.name}; submit it again with --resubmit-failed") from None
                raise
            if record.circuit == CAL:  # one PUB per calibration circuit: (circuits, shots, bytes)
                packed = np.stack([np.asarray(pub.data.meas.array) for pub in result])
            else:
                packed = np.asarray(result[0].data.meas.array)  # measure_all's register
            num_bits = int(result[0].data.meas.num_bits)
        self._bits[record.index] = (packed, num_bits)
        if self.folder is not None:
            self.folder.save_bits(record.index, packed, num_bits, record.job_id)
        record.status = "DONE"
        self._save(self.ledger)
        self.log(f"job {record.index}: done")
        return packed, num_bits

    def _save(self, ledger: Ledger | None) -> None:
        if self.folder is not None and ledger is not None:
            self.folder.save(ledger)


def _safe_status(job):
    try:
        return job.status()
    except Exception:  # the status query itself failed (network)
        return None


def ibm_backend(device: str | None, layout=None, seed: int | None = 0, noise_factor: float = 1.0) -> IBMExecutor:
    """Entry point of the ``qml.backends`` group: ``ibm:ibm_torino`` or ``ibm:fake:ibm_torino`` (no job folder:
    use ``qml run`` for jobs that survive the process)."""
    if device is None:
        raise InputError("the ibm backend needs a device: ibm:ibm_torino, or ibm:fake:ibm_torino (local testing)")
    if noise_factor != 1.0:  # checked before a token is asked for; make_executor would refuse it after
        raise InputError(f"backend 'ibm:{device}' cannot scale noise: noise factor {noise_factor:g} given, only 1 "
                         "(the device as it is) is possible")
    return IBMExecutor(open_device(device), layout, seed=seed)
