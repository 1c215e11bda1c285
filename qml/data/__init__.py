"""Room ``data``: offline datasets and their preprocessing to circuit-sized features."""

from qml.data.datasets import Dataset, SizeLimit, load_task, task_names

__all__ = ["Dataset", "SizeLimit", "load_task", "task_names"]
