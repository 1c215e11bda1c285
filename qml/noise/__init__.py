"""Device noise for training and simulation: Pauli channels, the ``NoiseModel`` of a circuit on a device layout,
per-sample injection and readout. The device itself (calibration snapshots, names, qiskit ``Target``, Aer noise
model, transpile helpers) lives in ``qml.device``; its snapshot functions are re-exported here for convenience.

    from qml.noise import NoiseModel, load_snapshot
    noise = NoiseModel(load_snapshot("ibm_quito"), layout=[0, 1, 2, 3], factor=0.5)
"""

from qml.device.capture import snapshot_from_backend
from qml.device.fake import fake_backend
from qml.device.library import list_snapshots, load_snapshot, save_snapshot
from qml.device.names import device_name
from qml.device.snapshot import DeviceSnapshot, GateCalibration, QubitCalibration
from qml.noise.model import NoiseModel, OpNoise

__all__ = ["NoiseModel", "OpNoise", "DeviceSnapshot", "GateCalibration", "QubitCalibration", "snapshot_from_backend",
           "save_snapshot", "load_snapshot", "list_snapshots", "fake_backend", "device_name"]
