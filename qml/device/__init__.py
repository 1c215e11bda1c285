"""Room ``device``: a device resolved once from its calibration snapshot (shipped JSON, a file, a fake backend or
the live device), with its names, coupling map, native gates, layout checks, qiskit ``Target``, Aer noise model
and transpile helpers.

    from qml.device import Device
    quito = Device.load("ibm_quito")
    quito.check_layout([1, 3, 0, 4], 4); quito.target; quito.aer_noise_model
"""

from qml.device.capture import snapshot_from_backend
from qml.device.device import Device, active_qubits, compact
from qml.device.fake import fake_backend
from qml.device.layout import check_layout
from qml.device.library import list_snapshots, load_snapshot, save_snapshot
from qml.device.names import device_name
from qml.device.placement import success_probability
from qml.device.snapshot import TWO_QUBIT_GATES, DeviceSnapshot, GateCalibration, QubitCalibration

__all__ = ["Device", "DeviceSnapshot", "GateCalibration", "QubitCalibration", "TWO_QUBIT_GATES", "active_qubits",
           "check_layout", "compact", "device_name", "fake_backend", "list_snapshots", "load_snapshot",
           "save_snapshot", "snapshot_from_backend", "success_probability"]
