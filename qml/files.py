"""Files as every room writes them: atomic writes that never leave a ``.tmp`` behind, JSON reads whose errors
name the file, and the lock that gives a folder one writer at a time. Used by all rooms, like ``qml.errors``."""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qml.errors import FileError, InputError

LOCK = ".lock"


def describe_os_error(exc: OSError, path: Path | str | None = None) -> str:
    """``cannot write runs/x/model.pt: No space left on device`` from an ``OSError``."""
    where = path if path is not None else (exc.filename or "")
    return f"{where}: {exc.strerror or exc}" if where else str(exc.strerror or exc)


def write_atomic(path: Path, data: str | bytes | Callable[[Path], None]) -> None:
    """Write ``data`` (text, bytes, or a function that writes a given path, e.g. ``torch.save``) to ``path``
    through a temporary file in the same folder and one rename: a reader or a killed writer sees the old file
    or the new one, never half of one. Any failure removes the temporary file and raises a one-line error."""
    path = Path(path)
    if not path.parent.is_dir():  # torch.save says so with a RuntimeError, not an OSError
        raise FileError(f"cannot write {path}: its folder {path.parent} does not exist (moved or deleted while "
                        f"qml was writing to it?)")
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    try:
        if callable(data):
            data(tmp)
        elif isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise FileError(f"cannot write {describe_os_error(exc, path)}") from None
    finally:
        if tmp.exists():
            try:
                tmp.unlink()
            except OSError:
                pass


def write_json(path: Path, doc: Any) -> None:
    write_atomic(path, json.dumps(doc, indent=2) + "\n")


def append_line(path: Path, doc: dict) -> None:
    """Append one JSON line (metrics, evaluations); a failure is one line."""
    try:
        with Path(path).open("a", encoding="utf-8") as f:
            f.write(json.dumps(doc) + "\n")
    except OSError as exc:
        raise FileError(f"cannot write {describe_os_error(exc, path)}") from None


def read_json(path: Path, expect: type = dict) -> Any:
    """The JSON document in ``path``, of type ``expect``; every problem is one ``InputError`` naming the file."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise InputError(f"{path} does not exist") from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not a UTF-8 text file") from None
    except OSError as exc:
        raise FileError(f"cannot read {describe_os_error(exc, path)}") from None
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise InputError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(doc, expect):
        kind = {dict: "object", list: "list"}.get(expect, expect.__name__)
        raise InputError(f"{path}: expected a JSON {kind}, found {type(doc).__name__}")
    return doc


def read_lines(path: Path) -> list[dict]:
    """The JSON objects of a JSON-lines file; a torn last line (a writer killed mid-line) is dropped."""
    path = Path(path)
    if not path.exists():
        return []
    rows = []
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            if i == len(lines) - 1:
                break
            raise InputError(f"{path}: line {i + 1} is not valid JSON") from None
        if isinstance(row, dict):
            rows.append(row)
    return rows


class FolderLock:
    """One writer per folder: an exclusive ``flock`` on ``FOLDER/.lock``, released by the kernel when the holder
    exits (a lock left by a killed process is free again, so it is taken over safely). The file names the
    holder, so a second writer gets one line saying who holds it."""

    def __init__(self, folder: Path, purpose: str = "") -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK
        self.purpose = purpose or " ".join(Path(a).name if i == 0 else a for i, a in enumerate(sys.argv))
        self._fd: int | None = None

    def acquire(self) -> FolderLock:
        if self._fd is not None:
            return self
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise FileError(f"cannot lock {describe_os_error(exc, self.folder)}") from None
        if not _try_lock(fd):
            holder = _holder(fd)
            os.close(fd)
            raise InputError(f"{self.folder} is in use by {holder}; wait for it to finish or stop it "
                             f"(one writer per run folder)")
        info = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "command": self.purpose}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock; the file stays (removing it would race a new holder)
            self._fd = None

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _try_lock(fd: int) -> bool:
    if os.name == "nt":  # pragma: no cover - Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f"process {info['pid']} on {info['host']} ({info['command']}, since {info['since']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"
