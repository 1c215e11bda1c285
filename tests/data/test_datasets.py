"""Bundled offline tasks: sizes, classes, disjoint stratified splits and determinism per seed."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

import qml
from qml.data import SizeLimit, load_task, task_names
from qml.data.datasets import ANGLE_SCALE, sklearn_digits


@pytest.fixture(scope="module")
def digits4():
    return load_task("digits4", seed=0)


def _pooled_digits(classes):
    bunch = load_digits()
    keep = np.isin(bunch.target, classes)
    images = bunch.images[keep] / 16.0
    pooled = images.reshape(-1, 4, 2, 4, 2).mean((2, 4)).reshape(-1, 16)
    return pooled, bunch.target[keep]


def _splits(d):
    return [(d.x_train, d.y_train), (d.x_valid, d.y_valid), (d.x_test, d.y_test)]


def test_task_names_are_listed():
    assert task_names() == ["digits2", "digits4", "fashion2", "fashion4", "mnist2", "mnist4", "vowel4"]


def test_the_digits_are_read_exactly_as_scikit_learn_loads_them():
    """``sklearn_digits`` reads scikit-learn's file without importing scikit-learn: the same arrays, bit for bit."""
    images, target = sklearn_digits()
    bunch = load_digits()
    assert images.dtype == bunch.images.dtype and target.dtype == bunch.target.dtype
    assert np.array_equal(images, bunch.images) and np.array_equal(target, bunch.target)


def test_digits4_has_four_classes_and_sixteen_float32_features(digits4):
    assert digits4.n_classes == 4
    assert digits4.n_features == 16
    for x, y in _splits(digits4):
        assert x.dtype == torch.float32 and y.dtype == torch.long
        assert x.shape[1] == 16 and x.shape[0] == y.shape[0] > 0
        assert set(y.tolist()) == {0, 1, 2, 3}


def test_digits2_has_two_classes(digits4):
    d = load_task("digits2")
    assert d.n_classes == 2 and d.n_features == 16
    assert set(d.y_train.tolist()) == {0, 1}


def test_digits4_splits_partition_the_samples(digits4):
    """Undoing the standardization, the three splits together are exactly the pooled images of digits 0-3
    (as a multiset), so no sample is in two splits and none is lost."""
    pooled, target = _pooled_digits((0, 1, 2, 3))
    assert sum(len(x) for x, _ in _splits(digits4)) == len(target)
    rows = []
    for x, y in _splits(digits4):
        raw = x.double().numpy() / ANGLE_SCALE * digits4.std.double().numpy() + digits4.mean.double().numpy()
        # pooled pixels are multiples of 1/64, so they are recovered exactly as integers
        rows.extend((*np.rint(r * 64).astype(int).tolist(), int(label))
                    for r, label in zip(raw, y.tolist(), strict=True))
    expected = [(*np.rint(r * 64).astype(int).tolist(), int(t)) for r, t in zip(pooled, target, strict=True)]
    assert sorted(rows) == sorted(expected)


def test_digits4_split_sizes_are_about_60_15_25(digits4):
    sizes = np.array([len(x) for x, _ in _splits(digits4)], dtype=float)
    np.testing.assert_allclose(sizes / sizes.sum(), [0.60, 0.15, 0.25], atol=0.01)


def test_training_split_is_standardized_and_scaled(digits4):
    x = digits4.x_train.double()
    varying = digits4.std > 1e-3
    np.testing.assert_allclose(x.mean(0).numpy(), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(0, unbiased=False)[varying].numpy(), ANGLE_SCALE, rtol=1e-3)


def test_same_seed_gives_identical_splits(digits4):
    again = load_task("digits4", seed=0)
    for (xa, ya), (xb, yb) in zip(_splits(digits4), _splits(again), strict=True):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_different_seed_gives_different_splits(digits4):
    other = load_task("digits4", seed=1)
    assert not torch.equal(other.y_test, digits4.y_test) or not torch.equal(other.x_test, digits4.x_test)


def test_unknown_task_is_an_input_error_listing_the_tasks():
    with pytest.raises(qml.InputError, match="unknown task 'mnist': expected one of digits2, digits4, fashion2, "
                                             "fashion4, mnist2, mnist4, vowel4$"):
        load_task("mnist")


def test_digits_honour_a_size_limit():
    d = load_task("digits2", limit=SizeLimit(train=10, valid=4, test=6))
    assert [len(d.y_train), len(d.y_valid), len(d.y_test)] == [10, 4, 6]
    assert torch.bincount(d.y_train).tolist() == [5, 5]


@pytest.mark.parametrize("name", ["digits4", "digits2"])
def test_a_data_folder_given_to_a_task_that_reads_none_is_refused(tmp_path, name):
    """Silently ignoring it would let a user believe their files were read."""
    with pytest.raises(qml.InputError) as info:
        load_task(name, data_dir=tmp_path)
    assert str(info.value) == (
        f"{name} reads no data folder (its images ship with scikit-learn), but {tmp_path} was given; leave out "
        f"--data-dir (data_dir= in Python), or pick a task that reads files: fashion2, fashion4, mnist2, mnist4, "
        f"vowel4")


def test_digits_name_their_source(digits4):
    assert digits4.source == "scikit-learn's bundled digits (load_digits)"
