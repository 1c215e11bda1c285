"""IDX reader: values, shapes and types of plain and gzip files; one clear error per malformed file."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from qml.data.idx import read_idx
from qml.errors import InputError

from .synthetic import idx_bytes, write_idx


@pytest.mark.parametrize("gz", [False, True])
def test_images_round_trip_plain_and_gzip(tmp_path, gz):
    images = np.arange(3 * 28 * 28, dtype=np.int64).reshape(3, 28, 28).astype(np.uint8)
    path = write_idx(tmp_path / "train-images-idx3-ubyte", images, gz)
    out = read_idx(path)
    assert out.dtype == np.uint8 and out.shape == (3, 28, 28)
    np.testing.assert_array_equal(out, images)


@pytest.mark.parametrize("dtype", ["i1", ">i2", ">i4", ">f4", ">f8"])
def test_other_type_codes_are_read_big_endian_into_native_arrays(tmp_path, dtype):
    values = np.array([[-3, 2], [1, 100]], dtype=dtype)
    out = read_idx(write_idx(tmp_path / "x-idx2", values))
    assert out.dtype.isnative and out.shape == (2, 2)
    np.testing.assert_array_equal(out, values)


def test_gzip_is_recognized_by_content_not_name(tmp_path):
    labels = np.array([3, 1, 4], dtype=np.uint8)
    path = tmp_path / "labels-idx1-ubyte"
    path.write_bytes(gzip.compress(idx_bytes(labels)))
    np.testing.assert_array_equal(read_idx(path), labels)


def test_bad_magic_names_the_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(b"\x12\x34\x56\x78" + bytes(16))
    with pytest.raises(InputError, match=r"train-images-idx3-ubyte: not an IDX file \(magic bytes 12 34 56 78"):
        read_idx(path)


def test_unknown_type_code_is_not_an_idx_file(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"\x00\x00\x07\x01" + bytes(8))
    with pytest.raises(InputError, match="not an IDX file"):
        read_idx(path)


def test_empty_file_is_not_an_idx_file(tmp_path):
    path = tmp_path / "empty"
    path.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty: not an IDX file \(only 0 bytes\)"):
        read_idx(path)


def test_truncated_data_says_how_much_is_missing(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(idx_bytes(np.zeros((2, 28, 28), np.uint8))[:-100])
    with pytest.raises(InputError, match=r"t10k-images-idx3-ubyte: truncated IDX file \(shape 2x28x28 needs 1568 "
                                         r"data bytes, found 1468\)"):
        read_idx(path)


def test_truncated_header_is_reported(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"\x00\x00\x08\x03" + bytes(5))
    with pytest.raises(InputError, match=r"truncated IDX file \(header of 3 dimensions needs 16 bytes, found 9\)"):
        read_idx(path)


def test_trailing_bytes_are_reported(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(idx_bytes(np.zeros(4, np.uint8)) + b"\x00")
    with pytest.raises(InputError, match=r"IDX file with trailing bytes \(shape 4 needs 4 data bytes, found 5\)"):
        read_idx(path)


def test_damaged_gzip_names_the_file(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(1000, np.uint8)))[:20])
    with pytest.raises(InputError, match=r"train-labels-idx1-ubyte.gz: damaged gzip file"):
        read_idx(path)
