"""Room ``data``: offline datasets and their preprocessing to circuit-sized features."""

from qml.data.datasets import Dataset, SizeLimit, load_task, provide, task_names
from qml.data.user_data import load_data

__all__ = ["Dataset", "SizeLimit", "load_data", "load_task", "provide", "task_names"]
