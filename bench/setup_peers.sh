#!/usr/bin/env bash
# Install the bench-only peer simulators (PennyLane, TorchQuantum) on top of the qml environment.
# qiskit-aer's EstimatorV2 peer needs nothing beyond qiskit-aer itself.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python -m pip install -r "$here/requirements-peers.txt"
# Declared deps of these two are wrong for this stack (torchvision, tensorboard, tensorpack...);
# what they really import is in requirements-peers.txt, torchvision is stubbed in bench/_stubs.
python -m pip install --no-deps torchquantum-ng==0.2.0 torchpack==0.3.1
python "$here/check_peers.py"
