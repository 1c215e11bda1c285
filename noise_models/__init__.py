"""Shipped device noise snapshots (one JSON per device); read them with ``qml.noise.load_snapshot``."""
