"""Entry-point registries, shared by the rooms that plugins extend (``qml.passes``, ``qml.backends``). Names
are read from distribution metadata only; an entry is imported the first time it is asked for. A plugin that
fails to import (any exception, ``SystemExit`` included; only ``KeyboardInterrupt`` goes through) is recorded
(distribution, version, exception) and the failure is raised again, with its cause, whenever that name is asked
for; nothing else is affected.

A plugin says which qml it works with in its own metadata, as a ``Requires-Dist`` on ``qml-robust`` with a version
specifier (``dependencies = ["qml-robust>=0.1"]``); the running qml-robust is checked against it before the entry
is first imported, and a mismatch is recorded as that entry's failure.

Rules: one name claimed by two different targets is a conflict, reported with both distributions when the name is
asked for; the same target registered twice (an editable install next to a regular one) is not. A second copy of
a distribution further down ``sys.path`` is *shadowed* by the first and contributes nothing. Setting
``QML_DISABLE_PLUGINS=1`` loads only qml's own entries (a comma-separated list of distribution names disables
just those)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from qml.errors import PluginError, did_you_mean

CORE_DISTRIBUTION = "qml-robust"
DISABLE_ENV = "QML_DISABLE_PLUGINS"

NOT_LOADED, LOADED, FAILED, DISABLED, CONFLICT = "not loaded", "loaded", "failed", "disabled", "conflict"


class _Refused(PluginError):
    """qml's own refusal to import a plugin (its requirement on qml-robust is not met), told apart from a
    ``PluginError`` the plugin itself raised while importing."""


def _normalise(dist_name: str) -> str:
    return dist_name.lower().replace("_", "-").replace(".", "-")


@dataclass
class Entry:
    """One name in a group: where it comes from and whether it has been imported."""

    group: str
    name: str
    target: str
    distribution: str
    version: str
    state: str = NOT_LOADED
    error: BaseException | None = None
    rivals: list[Entry] = field(default_factory=list)
    value: Any = None
    requires: str = ""  # the qml-robust its distribution declares, e.g. "qml-robust>=0.1"; "" when none

    @property
    def builtin(self) -> bool:
        return _normalise(self.distribution) == CORE_DISTRIBUTION

    @property
    def reason(self) -> str:
        if self.state == FAILED and isinstance(self.error, _Refused):  # the message says why
            return str(self.error)
        if self.state == FAILED and self.error is not None:
            text = str(self.error)
            return f"{type(self.error).__name__}: {text}" if text else type(self.error).__name__
        if self.state == CONFLICT:
            return "also claimed by " + ", ".join(f"{r.distribution} {r.version} ({r.target})" for r in self.rivals)
        if self.state == DISABLED:
            return f"third-party plugins disabled by {DISABLE_ENV}"
        return ""


@dataclass(frozen=True)
class Shadowed:
    """A distribution found again later on ``sys.path``; the first copy is the one used."""

    distribution: str
    version: str
    location: str


def _disabled(dist: str) -> bool:
    setting = os.environ.get(DISABLE_ENV, "").strip()
    if not setting or setting.lower() in ("0", "false", "no"):
        return False
    if _normalise(dist) == CORE_DISTRIBUTION:
        return False
    if setting.lower() in ("1", "true", "yes", "all"):
        return True
    return _normalise(dist) in {_normalise(s) for s in setting.split(",")}


def core_version() -> str | None:
    """The version of the qml-robust distribution first on ``sys.path``; ``None`` when qml runs uninstalled."""
    try:
        return metadata.version(CORE_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None


def _core_requirement(dist: metadata.Distribution) -> str:
    """What ``dist`` requires of qml-robust (``"qml-robust>=0.1"``), from its ``Requires-Dist`` lines that apply
    without extras; ``""`` when it declares nothing."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.specifiers import SpecifierSet

    found, specifier = False, SpecifierSet()
    for line in dist.requires or ():
        try:
            req = Requirement(line)
        except InvalidRequirement:  # pip refuses to install such metadata; nothing to check against
            continue
        if _normalise(req.name) == CORE_DISTRIBUTION and (req.marker is None or req.marker.evaluate({"extra": ""})):
            found, specifier = True, specifier & req.specifier
    return f"{CORE_DISTRIBUTION}{specifier}" if found else ""


def _unmet(requires: str) -> str:
    """Why the running qml-robust does not satisfy ``requires``; ``""`` when it does or cannot be told."""
    from packaging.requirements import Requirement
    from packaging.version import InvalidVersion, Version

    have = core_version()
    if not requires or have is None:
        return ""
    try:  # a development build of qml satisfies ">=0.1" as its release would
        if Requirement(requires).specifier.contains(Version(have), prereleases=True):
            return ""
    except InvalidVersion:
        return ""
    return f"needs {requires}, this is {CORE_DISTRIBUTION} {have}"


def _location(dist: metadata.Distribution) -> str:
    path = getattr(dist, "_path", None)
    return str(path) if path is not None else "?"


class Registry:
    """The entries of one entry-point group, e.g. ``qml.passes``."""

    def __init__(self, group: str, kind: str, check: Any = None) -> None:
        self.group = group
        self.kind = kind
        self._check = check
        self._entries: dict[str, Entry] | None = None
        self.shadowed: list[Shadowed] = []

    def refresh(self) -> None:
        """Forget what was read and loaded; the next call reads the metadata again."""
        self._entries = None
        self.shadowed = []

    def _scan(self) -> dict[str, Entry]:
        if self._entries is not None:
            return self._entries
        entries: dict[str, Entry] = {}
        seen: set[str] = set()
        self.shadowed = []
        for dist in metadata.distributions():
            dist_name = dist.metadata["Name"] or "?"
            key = _normalise(dist_name)
            if key in seen:
                if any(ep.group == self.group for ep in dist.entry_points):
                    self.shadowed.append(Shadowed(dist_name, dist.version, _location(dist)))
                continue
            seen.add(key)
            requires = None
            for ep in dist.entry_points:
                if ep.group != self.group:
                    continue
                if requires is None:
                    requires = _core_requirement(dist) if key != CORE_DISTRIBUTION else ""
                new = Entry(self.group, ep.name, ep.value, dist_name, dist.version, requires=requires)
                new.state = DISABLED if _disabled(dist_name) else NOT_LOADED
                old = entries.get(ep.name)
                if old is None:
                    entries[ep.name] = new
                elif old.target != new.target:
                    old.rivals.append(new)
                    old.state = CONFLICT
        self._entries = entries
        return entries

    def entries(self) -> list[Entry]:
        """Every name in the group, sorted, from metadata only (nothing is imported)."""
        return sorted(self._scan().values(), key=lambda e: e.name)

    def names(self) -> list[str]:
        return [e.name for e in self.entries()]

    def entry(self, name: str) -> Entry:
        entries = self._scan()
        if name not in entries:
            known = sorted(entries)
            hint = did_you_mean(name, known)
            listing = ", ".join(known) if known else "none (is qml installed? run: pip install -e .)"
            raise PluginError(f"unknown {self.kind} {name!r}{hint}; installed: {listing}")
        return entries[name]

    def get(self, name: str) -> Any:
        """The object registered under ``name``, imported now if it was not yet."""
        entry = self.entry(name)
        if entry.state == LOADED:
            return entry.value
        if entry.state == CONFLICT:
            claims = [entry, *entry.rivals]
            who = " and ".join(f"{e.distribution} {e.version} ({e.target})" for e in claims)
            raise PluginError(f"{self.kind} {name!r} is claimed by {who}; uninstall one of them")
        if entry.state == DISABLED:
            raise PluginError(f"{self.kind} {name!r} comes from {entry.distribution} {entry.version}, and third-party "
                              f"plugins are disabled by {DISABLE_ENV}")
        if entry.state == NOT_LOADED:
            self._load(entry)
            if entry.state == LOADED:
                return entry.value
        if isinstance(entry.error, _Refused):
            raise PluginError(f"{self.kind} {name!r} (distribution {entry.distribution} {entry.version}) "
                              f"{entry.reason}") from None
        raise PluginError(f"{self.kind} {name!r} from {entry.distribution} {entry.version} failed to load: "
                          f"{entry.reason}") from entry.error

    def _load(self, entry: Entry) -> None:
        """Check the plugin's qml-robust requirement, import the entry and check it; record what happened."""
        unmet = _unmet(entry.requires)
        if unmet:
            entry.state, entry.error = FAILED, _Refused(unmet)
            return
        try:
            value = metadata.EntryPoint(entry.name, entry.target, entry.group).load()
            if self._check is not None:
                self._check(entry.name, value)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # a broken plugin, even one calling sys.exit, must not break anything else
            entry.state, entry.error = FAILED, exc
        else:
            entry.state, entry.value = LOADED, value

    def load_all(self) -> list[Entry]:
        """Import every entry that can be imported (for ``qml plugins``); failures are recorded, not raised."""
        for entry in self.entries():
            try:
                self.get(entry.name)
            except PluginError:
                pass
        return self.entries()
