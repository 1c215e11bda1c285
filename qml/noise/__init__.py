"""Device noise: calibration snapshots of IBM devices, read from any qiskit ``BackendV2`` or shipped as JSON.

    from qml.noise import load_snapshot
    snap = load_snapshot("ibm_quito")
    snap.gate_error("cx", (0, 1)), snap.readout_confusion(0), snap.median_2q_error()
"""

from qml.noise.capture import snapshot_from_backend
from qml.noise.fake import fake_backend
from qml.noise.library import list_snapshots, load_snapshot, save_snapshot
from qml.noise.model import NoiseModel, OpNoise
from qml.noise.names import device_name
from qml.noise.snapshot import DeviceSnapshot, GateCalibration, QubitCalibration

__all__ = ["NoiseModel", "OpNoise", "DeviceSnapshot", "GateCalibration", "QubitCalibration", "snapshot_from_backend",
           "save_snapshot", "load_snapshot", "list_snapshots", "fake_backend", "device_name"]
