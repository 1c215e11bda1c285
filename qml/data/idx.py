"""Read IDX files (the MNIST / Fashion-MNIST format), plain or gzip-compressed, into numpy arrays.

Layout: two zero bytes, a type code, the number of dimensions, each dimension as a big-endian uint32, then the
values in C order, big-endian. A malformed file is an ``InputError`` naming it."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from qml.errors import InputError

_TYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
          0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{path}: damaged gzip file ({exc})") from None


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in an IDX file; gzip is detected from the content, not the name."""
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise InputError(f"{path}: not an IDX file (only {len(data)} bytes)")
    if data[:2] != b"\0\0" or data[2] not in _TYPES or data[3] == 0:
        raise InputError(f"{path}: not an IDX file (magic bytes {data[:4].hex(' ')}, expected 00 00, a type code "
                         f"08/09/0b/0c/0d/0e and a dimension count)")
    ndim, dtype = data[3], _TYPES[data[2]]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise InputError(f"{path}: truncated IDX file (header of {ndim} dimensions needs {header} bytes, "
                         f"found {len(data)})")
    shape = tuple(int(n) for n in np.frombuffer(data, ">u4", ndim, 4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(data) - header
    if found != expected:
        kind = "truncated IDX file" if found < expected else "IDX file with trailing bytes"
        raise InputError(f"{path}: {kind} (shape {'x'.join(map(str, shape))} needs {expected} data bytes, "
                         f"found {found})")
    return np.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))
