"""``qml noise``: list the shipped device snapshots, show one, or write a new one from a backend."""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("noise", help="device noise snapshots: list, show, snapshot",
                       description="Device noise snapshots (calibration data of IBM devices).")
    noise_sub = p.add_subparsers(dest="noise_command", metavar="SUBCOMMAND", required=True)
    lst = noise_sub.add_parser("list", help="one row per shipped snapshot",
                               description="List the shipped snapshots with their median errors and T1/T2.")
    lst.set_defaults(handler=run_list)
    show = noise_sub.add_parser("show", help="summary and per-qubit table of one snapshot",
                                description="Show a snapshot: source, dates, basis, coupling map, per-qubit data.")
    show.add_argument("name", metavar="NAME", help="device name (ibm_quito, quito) or path to a snapshot .json")
    show.set_defaults(handler=run_show)
    snap = noise_sub.add_parser("snapshot", help="write a snapshot JSON from a fake or live backend",
                                description="Write the calibration of a backend as a snapshot JSON file. An ibm_NAME "
                                            "is read from the live device when an IBM Quantum token is available "
                                            "($QISKIT_IBM_TOKEN, qml ibm login, --token-file), else from its fake.")
    snap.add_argument("backend", metavar="BACKEND", help="fake backend (fake_quito, FakeQuitoV2, quito) or ibm_NAME")
    snap.add_argument("--token-file", type=Path, metavar="PATH", help="read the IBM Quantum token from this file")
    snap.add_argument("--offline", action="store_true", help="use the fake backend even when a token is available")
    snap.add_argument("--out", help="file to write, or a folder (existing, or ending in /) to write ibm_<name>.json "
                                    "into (default ./ibm_<name>.json)")
    snap.set_defaults(handler=run_snapshot)


def _fmt(value: float | None, scale: float = 1.0, spec: str = ".2e") -> str:
    return "-" if value is None else format(value * scale, spec)


def run_list(args: argparse.Namespace) -> int:
    from qml.device import list_snapshots, load_snapshot

    print(f"{'device':<14} {'qubits':>6} {'2q':>4} {'1q err':>9} {'2q err':>9} {'readout':>9} "
          f"{'T1 us':>7} {'T2 us':>7}")
    for name in list_snapshots():
        s = load_snapshot(name)
        print(f"{s.device:<14} {s.num_qubits:>6} {s.two_qubit_gate or '-':>4} {_fmt(s.median_1q_error()):>9} "
              f"{_fmt(s.median_2q_error()):>9} {_fmt(s.median_readout_error()):>9} "
              f"{_fmt(s.median_t1(), 1e6, '.1f'):>7} {_fmt(s.median_t2(), 1e6, '.1f'):>7}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from qml.device import load_snapshot

    s = load_snapshot(args.name)
    one_q = {}
    for g in s.one_qubit_gates():
        one_q.setdefault(g.qubits[0], g.error)
    edges = " ".join(f"{a}-{b}" for a, b in s.edges)
    print(f"device         {s.device} ({s.num_qubits} qubits)")
    print(f"source         {s.source_backend} ({s.source_kind}, backend version {s.source_backend_version or '-'}, "
          f"qiskit-ibm-runtime {s.runtime_version or '-'})")
    print(f"calibrated at  {s.calibrated_at or 'unknown'}")
    print(f"written at     {s.written_at}")
    print(f"basis gates    {', '.join(s.basis_gates)}; native 2-qubit gate {s.two_qubit_gate or 'none'}")
    print(f"coupling map   {len(s.coupling_map)} directed edges, {len(s.edges)} pairs:")
    print(textwrap.fill(edges, width=100, initial_indent="  ", subsequent_indent="  ") if edges else "  (none)")
    print(f"median errors  1q {_fmt(s.median_1q_error())}, 2q {_fmt(s.median_2q_error())}, "
          f"readout {_fmt(s.median_readout_error())} (from {s.readout_source})")
    print(f"median T1, T2  {_fmt(s.median_t1(), 1e6, '.1f')} us, {_fmt(s.median_t2(), 1e6, '.1f')} us")
    print()
    print(f"{'qubit':>5} {'T1 us':>8} {'T2 us':>8} {'P(1|0)':>9} {'P(0|1)':>9} {'readout':>9} {'1q err':>9}")
    for q in s.qubits:
        print(f"{q.index:>5} {_fmt(q.t1, 1e6, '.1f'):>8} {_fmt(q.t2, 1e6, '.1f'):>8} "
              f"{_fmt(q.prob_meas1_prep0, 1, '.4f'):>9} {_fmt(q.prob_meas0_prep1, 1, '.4f'):>9} "
              f"{_fmt(q.readout_error, 1, '.4f'):>9} {_fmt(one_q.get(q.index)):>9}")
    return 0


def run_snapshot(args: argparse.Namespace) -> int:
    from qml.device import fake_backend, save_snapshot, snapshot_from_backend

    live = _live_device(args)
    if live is None:
        snap = snapshot_from_backend(fake_backend(args.backend))
    else:
        with live.errors(f"reading the calibration of {live.name}"):
            snap = snapshot_from_backend(live.backend)
    path = Path(args.out or ".")
    if args.out is None or path.is_dir() or args.out.endswith(("/", os.sep)):
        path = path / f"{snap.device}.json"
    print(f"wrote {save_snapshot(snap, path)}", flush=True)
    if live is None:
        print(_offline_note(args, snap), file=sys.stderr)
    return 0


def _offline_note(args: argparse.Namespace, snap) -> str:
    """Where an offline snapshot's numbers come from: loud when an ``ibm_*`` name fell back to them for want of a
    token, since the file looks like the device's own calibration but is years old."""
    what = (f"the offline fake calibration of {snap.device} from qiskit-ibm-runtime's fake provider "
            f"({snap.source_backend}), calibrated {snap.calibrated_at or 'at an unknown date'}")
    if _is_ibm_name(args.backend) and not args.offline:
        return (f"qml: warning: no IBM Quantum token, so this is NOT today's calibration of {snap.device}: it is "
                f"{what}; for today's, give a token (qml ibm login, $QISKIT_IBM_TOKEN or --token-file PATH)")
    return f"qml: note: {what}"


def _is_ibm_name(backend: str) -> bool:
    return backend.strip().lower().startswith("ibm_")


def _live_device(args: argparse.Namespace):
    """The live device for an ``ibm_*`` name when a token is available; ``None`` means: use the fake backend."""
    if args.offline or not _is_ibm_name(args.backend):
        return None
    from qml.backends.account import find_credentials
    from qml.backends.ibm_device import open_device

    creds = find_credentials(args.token_file)
    return None if creds is None else open_device(args.backend.strip().lower(), credentials=creds)
