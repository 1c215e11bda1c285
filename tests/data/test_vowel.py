"""vowel4 from a vowel-context.data file: 10 PCA features, QuantumNAS's four classes, splits, errors."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch

from qml.data import SizeLimit, load_task
from qml.data.splits import ANGLE_SCALE
from qml.data.vowel import VOWEL_CLASSES, read_vowel
from qml.errors import InputError

from .synthetic import vowel_rows, write_vowel


@pytest.fixture
def vowel_dir(tmp_path):
    write_vowel(tmp_path / "vowel-context.data", vowel_rows())
    return tmp_path


def test_reader_returns_the_ten_features_and_the_class(tmp_path):
    rows = vowel_rows(per_class=2)
    x, y = read_vowel(write_vowel(tmp_path / "vowel-context.data", rows))
    assert x.shape == (22, 10) and y.dtype == np.int64
    np.testing.assert_allclose(x, rows[:, 3:13], atol=5e-4)
    np.testing.assert_array_equal(y, rows[:, 13])


def test_reader_accepts_gzip(tmp_path):
    plain = write_vowel(tmp_path / "vowel-context.data", vowel_rows(per_class=1))
    packed = tmp_path / "vowel-context.data.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    np.testing.assert_array_equal(read_vowel(packed)[0], read_vowel(plain)[0])


def test_vowel4_uses_classes_0_5_1_6_as_labels_0_to_3():
    assert VOWEL_CLASSES == (0, 5, 1, 6)


def test_vowel4_has_ten_features_four_classes_and_the_60_15_25_split(vowel_dir):
    d = load_task("vowel4", data_dir=vowel_dir)
    assert d.n_classes == 4 and d.n_features == 10
    assert [len(d.y_train), len(d.y_valid), len(d.y_test)] == [216, 56, 88]
    for y, per_class in ((d.y_train, 54), (d.y_valid, 14), (d.y_test, 22)):
        assert torch.bincount(y).tolist() == [per_class] * 4


def test_labels_follow_the_class_order(tmp_path):
    """Only class 5 gets a large first feature, so label 1 (= class 5) is the one whose rows stand out."""
    rows = vowel_rows()
    rows[rows[:, 13] == 5, 3] += 100
    d = load_task("vowel4", data_dir=write_vowel(tmp_path / "v" / "vowel-context.data", rows).parent)
    first_pc = d.x_train[:, 0].abs()
    assert set(d.y_train[first_pc > first_pc.median() * 2].tolist()) == {1}


def test_pca_features_are_decorrelated_and_scaled_on_the_training_split(vowel_dir):
    x = load_task("vowel4", data_dir=vowel_dir).x_train.double().numpy()
    np.testing.assert_allclose(x.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(0), ANGLE_SCALE, rtol=1e-3)
    corr = np.corrcoef(x.T)
    np.testing.assert_allclose(corr - np.diag(np.diag(corr)), 0, atol=1e-5)


def test_same_seed_same_task_other_seed_differs(vowel_dir):
    a, b, c = (load_task("vowel4", seed=s, data_dir=vowel_dir) for s in (2, 2, 3))
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.x_test, c.x_test)


def test_vowel_sub_folder_and_env_var_are_searched(tmp_path, monkeypatch):
    write_vowel(tmp_path / "vowel" / "vowel-context.data", vowel_rows(per_class=20))
    monkeypatch.setenv("QML_DATA_DIR", str(tmp_path))
    assert load_task("vowel4", limit=SizeLimit(train=8)).y_train.tolist().count(0) == 2


def test_missing_vowel_file_says_where_to_get_it(tmp_path):
    with pytest.raises(InputError) as info:
        load_task("vowel4", data_dir=tmp_path)
    assert str(info.value) == (
        f"vowel4 needs the UCI vowel (Deterding) file vowel-context.data (or vowel-context.data.gz); looked in "
        f"{tmp_path}, {tmp_path}/vowel, {tmp_path}/vowel/raw: download it from https://archive.ics.uci.edu/ml/"
        f"machine-learning-databases/undocumented/connectionist-bench/vowel/vowel-context.data and pass its "
        f"folder with --data-dir (data_dir= in Python) or QML_DATA_DIR; qml downloads nothing")


@pytest.mark.parametrize("line, message", [
    ("0 0 0 1 2 3", "line 2: expected 14 whitespace-separated columns .*, found 6"),
    ("0 0 0 1 2 3 4 5 6 7 8 9 x 3", "line 2: not a number among '0 0 0 1 2 3 4 5 6 7 8 9 x 3'"),
    ("0 0 0 1 2 3 4 5 6 7 8 9 10 11", "line 2: class '11' is not an integer from 0 to 10"),
    ("0 0 0 1 2 3 4 5 6 7 8 9 10 2.5", "line 2: class '2.5' is not an integer from 0 to 10"),
])
def test_malformed_rows_are_reported_with_file_and_line(tmp_path, line, message):
    path = tmp_path / "vowel-context.data"
    path.write_text("0 0 0 1 2 3 4 5 6 7 8 9 10 0\n" + line + "\n")
    with pytest.raises(InputError, match=f"{path} {message}"):
        read_vowel(path)


def test_empty_file_has_no_data_rows(tmp_path):
    (tmp_path / "vowel-context.data").write_text("\n")
    with pytest.raises(InputError, match="vowel-context.data: no data rows"):
        load_task("vowel4", data_dir=tmp_path)


def test_binary_file_is_not_a_vowel_file(tmp_path):
    path = tmp_path / "vowel-context.data"
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InputError, match="vowel-context.data: not a vowel-context.data text file"):
        read_vowel(path)


def test_file_lacking_a_class_is_an_error(tmp_path):
    rows = vowel_rows(per_class=5)
    write_vowel(tmp_path / "vowel-context.data", rows[rows[:, 13] != 6])
    with pytest.raises(InputError, match="vowel4 needs classes 0, 5, 1, 6; some have no rows"):
        load_task("vowel4", data_dir=tmp_path)
