"""``qml ibm login``, ``qml run RUN --backend ibm_torino`` and ``qml jobs RUN``: a trained run on an IBM device.

``qml run`` writes ``RUN/hardware/<backend>/`` (see ``qml.backends.jobs``): the job ids before any wait, each
result as it finishes, then ``result.json`` and ``report.md``. Run it again after a crash or Ctrl-C to resume.
It holds that folder's lock while it works: a second ``qml run`` on it is refused, ``qml jobs`` reads it freely.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from qml.cli.args import confirm_on_terminal
from qml.errors import FileError, IBMError, InputError


def register(sub) -> None:
    from qml.cli.args import layout_arg, positive_int
    from qml.cli.evaluate import add_mitigation_args

    ibm = sub.add_parser("ibm", help="IBM Quantum account (login)",
                         description="Manage the IBM Quantum account qml uses for qml run and qml noise snapshot.")
    ibm_sub = ibm.add_subparsers(dest="ibm_command", metavar="SUBCOMMAND", required=True)
    login = ibm_sub.add_parser("login", help="save an IBM Quantum API token (asked for, never echoed)",
                               description="Save an IBM Quantum Platform token as qiskit-ibm-runtime's default "
                                           "account (~/.qiskit/qiskit-ibm.json). The token is read without echo.")
    login.add_argument("--instance", metavar="CRN", help="IBM Cloud instance CRN or name (default: any of yours)")
    login.add_argument("--token-file", type=Path, metavar="PATH", help="read the token from this file instead")
    login.set_defaults(handler=run_login)

    p = sub.add_parser("run", help="run a trained run on an IBM device (or fake:DEVICE, local testing mode)",
                       description="Transpile a trained run for an IBM device, submit it in batch mode with the V2 "
                                   "Sampler, keep the job ids in RUN/hardware/<backend>/, and report the accuracy on "
                                   "hardware. Run the same command again to resume: submitted jobs are fetched by "
                                   "id, never submitted twice (fake: backends re-run jobs whose results were lost).")
    p.add_argument("run", type=Path, metavar="RUN", help="run folder written by qml train / qml search / qml prune")
    p.add_argument("--backend", required=True, help="IBM device (ibm_torino; needs a token) or fake:ibm_NAME "
                                                    "(qiskit-ibm-runtime's local testing mode, offline)")
    p.add_argument("--shots", type=positive_int, help="shots per input (default 1024; a resume keeps the first)")
    p.add_argument("--limit", type=positive_int, help="only the first N inputs of the split")
    p.add_argument("--split", choices=("test", "valid"), help="inputs to run (default test)")
    p.add_argument("--layout", type=layout_arg, help="physical qubits (default: the run's layout, else trivial)")
    p.add_argument("--max-rows-per-job", type=positive_int, metavar="N",
                   help="inputs per job (default: 5 million executions / shots, half the service's limit)")
    p.add_argument("--yes", action="store_true", help="submit without asking (the cost is printed either way)")
    p.add_argument("--token-file", type=Path, metavar="PATH", help="read the IBM Quantum token from this file")
    p.add_argument("--resubmit-failed", action="store_true", help="submit again jobs that ended ERROR or CANCELLED")
    p.add_argument("--seed", type=int, default=0, help="simulator seed in local testing mode (default 0)")
    add_mitigation_args(p)
    p.set_defaults(handler=run_run)

    j = sub.add_parser("jobs", help="status of the hardware jobs of a run",
                       description="List each job of RUN/hardware/<backend>/ with its id and status (live jobs are "
                                   "asked of IBM Quantum when a token is available).")
    j.add_argument("run", type=Path, metavar="RUN")
    j.add_argument("--backend", help="only this backend (ibm_torino or fake:ibm_torino)")
    j.add_argument("--token-file", type=Path, metavar="PATH", help="read the IBM Quantum token from this file")
    j.set_defaults(handler=run_jobs)


def run_login(args: argparse.Namespace) -> int:
    from qml.backends.account import find_credentials, save_login

    if args.token_file is not None:
        token = find_credentials(args.token_file).token
    else:
        import getpass

        try:
            token = getpass.getpass("IBM Quantum API token (not echoed): ").strip()
        except EOFError:
            token = ""
    if not token:
        raise IBMError("no token given; nothing saved")
    path = save_login(token, args.instance)
    print(f"saved the IBM Quantum account to {path}" + (f" (instance {args.instance})" if args.instance else ""))
    return 0


def _settings(args: argparse.Namespace, ledger, mitigation):
    """Shots, split, limit and mitigation: as given, else as the jobs already submitted were, else the defaults."""
    from qml.backends.mitigation import Mitigation

    if ledger is None:
        return args.shots or 1024, args.split or "test", args.limit, mitigation
    kept_mitigation = Mitigation.from_dict(ledger.mitigation) if ledger.mitigation else None
    for name, given, kept in (("shots", args.shots, ledger.shots), ("split", args.split, ledger.split),
                              ("limit", args.limit, ledger.limit), ("mitigate", mitigation, kept_mitigation)):
        if given is not None and given != kept:
            raise InputError(f"the jobs in {args.run}/hardware were submitted with --{name} {kept or 'none'}; "
                             f"resume with the same value, or remove that backend's folder to start over")
    return ledger.shots, ledger.split, ledger.limit, kept_mitigation


def run_run(args: argparse.Namespace) -> int:
    from qml.backends.ibm_device import open_device, parse_spec
    from qml.backends.jobs import HardwareFolder
    from qml.cli.evaluate import mitigation_of
    from qml.runs import load_run_config

    config = load_run_config(args.run)
    spec, _ = parse_spec(args.backend)
    mitigation = mitigation_of(args)  # flags and optional dependencies are checked before the service is asked
    if mitigation is not None:
        mitigation.check_available()
    folder = HardwareFolder(args.run, spec)
    try:  # first: a missing token or an unreachable service is reported before any slow work
        device = open_device(spec, args.token_file)
    except IBMError as exc:
        _log_failure(folder, f"failed: {exc}")
        raise
    with folder.lock():  # one qml run per folder, from before the jobs are planned until the last result is in
        return _run_locked(args, config, folder, device, mitigation)


def _run_locked(args: argparse.Namespace, config, folder, device, mitigation) -> int:
    from qml.backends.base import as_tensor
    from qml.backends.ibm import IBMExecutor
    from qml.backends.jobs import JOBS, now
    from qml.runs import load_run

    ledger = folder.load()
    shots, split, limit, mitigation = _settings(args, ledger, mitigation)
    if mitigation is not None:
        mitigation.check_available()  # kept from jobs.json
    _, data, model = load_run(args.run, config)
    model.eval()
    x, y = (data.x_test, data.y_test) if split == "test" else (data.x_valid, data.y_valid)
    if limit:
        x, y = x[:limit], y[:limit]
    layout = args.layout or (ledger.layout if ledger else None) or config.layout
    if ledger is not None:
        print(f"resuming {folder.path / JOBS}: {len(ledger.jobs)} job(s)")
    executor = IBMExecutor(device, layout, folder=folder, seed=args.seed, max_rows_per_job=args.max_rows_per_job,
                           confirm=None if args.yes else confirm_on_terminal("submit?"), log=print,
                           resubmit_failed=args.resubmit_failed,
                           context={"split": split, "limit": limit})
    try:
        if mitigation is None:
            z, executions = {"raw": executor.expectations(model.qmodule, x, shots)}, {"raw": len(x) * shots}
        else:
            result = executor.mitigated_expectations(model.qmodule, x, shots, mitigation)
            z, executions = result.z, result.executions
    except IBMError as exc:
        _log_failure(folder, f"failed: {exc}")
        if (folder.path / JOBS).is_file() and "--resubmit-failed" not in str(exc):
            raise IBMError(f"{exc}; the job ids are kept: run the same command again to resume") from None
        raise
    except KeyboardInterrupt:
        if (folder.path / JOBS).is_file():
            _log_failure(folder, "interrupted; job ids kept")
            print(f"qml: the job ids are in {folder.path / JOBS}; resume with: qml run {args.run} "
                  f"--backend {folder.backend}", file=sys.stderr)
        raise
    accuracy = {method: model.accuracy_from(as_tensor(values, model.qmodule.theta), y) for method, values in z.items()}
    t = executor.last_transpiled
    record = {"backend": folder.backend, "device": device.name, "local": device.local, "split": split, "n": len(x),
              "test_size": len(data.x_test), "limit": limit, "shots": shots, "layout": executor.layout,
              "accuracy": accuracy["raw"], "executions": executions["raw"],
              "mitigated": [{"mitigation": m, "accuracy": accuracy[m], "executions": executions[m],
                             "settings": mitigation.to_dict()} for m in accuracy if m != "raw"],
              "jobs": [r.job_id for r in executor.ledger.jobs], "submitted_by_last_call": executor.submitted,
              "transpiled": {"depth": t.depth(), "ops": dict(t.count_ops())}, "finished_at": now()}
    folder.write_result(record)
    report = folder.write_report(record)
    folder.log_attempt(f"finished: accuracy {accuracy['raw']:.4f} ({executor.submitted} job(s) submitted by this "
                       f"call)")
    for method, value in accuracy.items():
        label = executor.describe() + ("" if method == "raw" else f", {method}-mitigated")
        print(f"{label}: {split} accuracy {value:.4f} on {len(x)} inputs x {shots} shots"
              + ("" if mitigation is None else f", {executions[method]:,} executions"))
    print(f"wrote {report}")
    return 0


def _log_failure(folder, outcome: str) -> None:
    """Note a failed attempt in ``attempts.log``; a folder that cannot be written must not hide the failure."""
    try:
        folder.log_attempt(outcome)
    except FileError:
        pass


def run_jobs(args: argparse.Namespace) -> int:
    """Read only: it takes no lock, so it shows the jobs of a ``qml run`` still at work."""
    from qml.backends.ibm_device import parse_spec
    from qml.backends.jobs import RESULT, HardwareFolder, job_statuses, list_folders, optional_json
    from qml.backends.mitigation import Mitigation

    if not args.run.is_dir():
        raise InputError(f"run folder {args.run} does not exist")
    found = list_folders(args.run)
    if args.backend is not None:
        spec, _ = parse_spec(args.backend)
        wanted = HardwareFolder(args.run, spec).path
        if wanted not in found:
            have = ", ".join(p.name for p in found) or "none"
            raise InputError(f"{args.run} has no jobs for {spec} (backends with jobs: {have})")
        found = [wanted]
    if not found:
        raise InputError(f"{args.run} has no hardware jobs; submit with: qml run {args.run} --backend ibm_NAME")
    service, token, looked_up = None, None, False  # the service is asked for once, by the first live ledger
    for path in found:
        ledger = HardwareFolder(args.run, path.name).load()
        folder = HardwareFolder(args.run, ledger.backend)
        if not ledger.local and not looked_up:
            (service, token), looked_up = _service_for(args.token_file), True
        mode = "local testing mode" if ledger.local else "IBM Quantum"
        mitigated = f", mitigation {Mitigation.from_dict(ledger.mitigation)}" if ledger.mitigation else ""
        print(f"{ledger.backend} ({mode}): {len(ledger.jobs)} job(s), {ledger.n_inputs} inputs of split "
              f"{ledger.split} x {ledger.shots} shots{mitigated}, created {ledger.created_at}")
        for record, status in zip(ledger.jobs, job_statuses(ledger, folder, service, token), strict=True):
            print(f"  job {record.index}  {record.describe():<14} {record.job_id or '-':<38} {status}")
        result = optional_json(folder.path / RESULT)
        if result is not None and "accuracy" in result:
            mitigated = "".join(f", {m['mitigation']}-mitigated {m['accuracy']:.4f}"
                                for m in result.get("mitigated") or [] if isinstance(m, dict) and "accuracy" in m)
            print(f"  accuracy {result['accuracy']:.4f}{mitigated} ({result.get('finished_at', 'unknown')})")
    return 0


def _service_for(token_file):
    """The live service to ask for statuses, or ``(None, None)`` with a note (offline: last known statuses)."""
    from qml.backends.account import connect, find_credentials

    try:
        creds = find_credentials(token_file)
        if creds is None:
            print("qml: note: no IBM Quantum token; showing the last known statuses", file=sys.stderr)
            return None, None
        return connect(creds), creds.token
    except IBMError as exc:
        print(f"qml: note: {exc}; showing the last known statuses", file=sys.stderr)
        return None, None
