"""The user's own ``.npz`` data: both layouts, their splits and scaling, and one clear line for each bad file."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from qml.data import SizeLimit, load_data
from qml.data.splits import ANGLE_SCALE
from qml.errors import InputError


def _splits(d):
    return [(d.x_train, d.y_train), (d.x_valid, d.y_valid), (d.x_test, d.y_test)]


def _blobs(per_class=(40, 40, 40), features=5, seed=0):
    """Gaussian blobs, one per class, with class-dependent means: x float64 (N, F), y int64 (N,)."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(per_class)), per_class)
    x = rng.normal(y[:, None] * 2.0, 1.0, (len(y), features))
    return x, y


def _save(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def _raw(d, x):
    return x.double().numpy() / ANGLE_SCALE * d.std.double().numpy() + d.mean.double().numpy()


def _same_rows(x, y, x_file, y_file) -> bool:
    """(x, y) are the file's rows (x_file, y_file) in some order, each once, up to float32 rounding."""
    x, y, x_file, y_file = np.asarray(x), np.asarray(y), np.asarray(x_file), np.asarray(y_file)
    if len(x) != len(x_file):
        return False
    nearest = np.abs(x[:, None, :] - x_file[None, :, :]).max(-1).argmin(1)
    return (sorted(nearest) == list(range(len(x_file))) and np.allclose(x, x_file[nearest], atol=1e-4)
            and (y == y_file[nearest]).all())


# -- the x / y layout -----------------------------------------------------------------------------------------
def test_x_y_file_gives_a_dataset_with_its_feature_and_class_counts(tmp_path):
    x, y = _blobs(features=5)
    d = load_data(_save(tmp_path / "mine.npz", x=x, y=y))
    assert (d.n_features, d.n_classes, d.name, d.source) == (5, 3, "mine.npz", str(tmp_path / "mine.npz"))
    for xs, ys in _splits(d):
        assert xs.dtype == torch.float32 and ys.dtype == torch.long and xs.shape == (len(ys), 5)


def test_x_y_file_is_split_60_15_25_per_class(tmp_path):
    x, y = _blobs(per_class=(40, 20))
    d = load_data(_save(tmp_path / "d.npz", x=x, y=y))
    assert [torch.bincount(ys).tolist() for _, ys in _splits(d)] == [[24, 12], [6, 3], [10, 5]]


def test_splits_partition_the_rows_of_the_file(tmp_path):
    x, y = _blobs()
    d = load_data(_save(tmp_path / "d.npz", x=x, y=y))
    seen_x = np.concatenate([_raw(d, xs) for xs, _ in _splits(d)])
    assert _same_rows(seen_x, torch.cat([ys for _, ys in _splits(d)]), x, y)


def test_features_are_standardized_like_the_builtin_tasks(tmp_path):
    x, y = _blobs()
    d = load_data(_save(tmp_path / "d.npz", x=x * 1000 + 7, y=y))
    xt = d.x_train.double()
    np.testing.assert_allclose(xt.mean(0).numpy(), 0, atol=1e-5)
    np.testing.assert_allclose(xt.std(0, unbiased=False).numpy(), ANGLE_SCALE, rtol=1e-3)


def test_same_seed_gives_identical_splits_and_another_seed_differs(tmp_path):
    x, y = _blobs()
    path = _save(tmp_path / "d.npz", x=x, y=y)
    a, b, c = load_data(path, seed=4), load_data(path, seed=4), load_data(path, seed=5)
    for (xa, ya), (xb, yb) in zip(_splits(a), _splits(b), strict=True):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    assert not torch.equal(a.x_test, c.x_test)


def test_integer_features_and_a_single_feature_are_accepted(tmp_path):
    x = np.arange(12, dtype=np.int16).reshape(12, 1)
    d = load_data(_save(tmp_path / "d.npz", x=x, y=np.repeat(np.array([0, 1], np.uint8), 6)))
    assert d.n_features == 1 and d.n_classes == 2


def test_three_samples_of_a_class_give_one_to_each_split(tmp_path):
    x, y = _blobs(per_class=(3, 3))
    d = load_data(_save(tmp_path / "d.npz", x=x, y=y))
    assert [torch.bincount(ys).tolist() for _, ys in _splits(d)] == [[1, 1], [1, 1], [1, 1]]


def test_size_limit_keeps_a_stratified_subset(tmp_path):
    x, y = _blobs(per_class=(40, 40))
    d = load_data(_save(tmp_path / "d.npz", x=x, y=y), limit=SizeLimit(train=10, valid=4, test=6))
    assert [torch.bincount(ys).tolist() for _, ys in _splits(d)] == [[5, 5], [2, 2], [3, 3]]


def test_a_path_that_is_not_ascii_is_read(tmp_path):
    x, y = _blobs()
    assert load_data(_save(tmp_path / "données-ß.npz", x=x, y=y)).name == "données-ß.npz"


# -- the split layout -----------------------------------------------------------------------------------------
def test_split_file_keeps_its_test_split_and_holds_out_5_percent_of_train(tmp_path):
    x, y = _blobs(per_class=(40, 60), features=3)
    xt, yt = _blobs(per_class=(7, 9), features=3, seed=1)
    d = load_data(_save(tmp_path / "s.npz", x_train=x, y_train=y, x_test=xt, y_test=yt))
    assert d.n_features == 3 and d.n_classes == 2
    assert torch.bincount(d.y_valid).tolist() == [2, 3]
    assert torch.bincount(d.y_train).tolist() == [38, 57]
    assert _same_rows(_raw(d, d.x_test), d.y_test, xt, yt)
    assert _same_rows(np.concatenate([_raw(d, d.x_train), _raw(d, d.x_valid)]), torch.cat([d.y_train, d.y_valid]),
                      x, y)


def test_split_file_holds_out_at_least_one_of_each_class(tmp_path):
    x, y = _blobs(per_class=(2, 2))
    d = load_data(_save(tmp_path / "s.npz", x_train=x, y_train=y, x_test=x[:1], y_test=y[:1]))
    assert torch.bincount(d.y_valid).tolist() == [1, 1] and torch.bincount(d.y_train).tolist() == [1, 1]


def test_test_split_may_lack_a_class(tmp_path):
    x, y = _blobs()
    d = load_data(_save(tmp_path / "s.npz", x_train=x, y_train=y, x_test=x[:5], y_test=np.zeros(5, int)))
    assert d.n_classes == 3 and d.y_test.tolist() == [0] * 5


# -- bad files: one line each, naming the file and what was expected ------------------------------------------
X, Y = _blobs(per_class=(6, 6), features=4)
XT, YT = X[:4], Y[:4]


def _bad_arrays():
    nan_x = X.copy()
    nan_x[3, 2] = np.nan
    inf_x = X.copy()
    inf_x[[1, 5], 0] = np.inf
    return {
        "missing y": (dict(x=X), r"missing array y \(found x\); expected arrays x \(N, F\) and y \(N,\), or "
                                 r"x_train, y_train, x_test, y_test$"),
        "no arrays": (dict(), r"missing arrays x_train, y_train, x_test, y_test \(found no arrays\)"),
        "missing test": (dict(x_train=X, y_train=Y), r"missing arrays x_test, y_test \(found x_train, y_train\)"),
        "both layouts": (dict(x=X, y=Y, x_train=X), r"holds both x / y and x_train; expected one layout"),
        "extra array": (dict(x=X, y=Y, x_valid=X), r"unexpected array x_valid; expected only x, y$"),
        "x is 1-D": (dict(x=X[:, 0], y=Y), r"x has shape \(12,\); expected \(N, F\) with N, F >= 1, one row per "
                                           r"sample$"),
        "x is images": (dict(x=X.reshape(12, 2, 2), y=Y), r"x has shape \(12, 2, 2\); expected \(N, F\) .*; flatten "
                                                          r"images with x.reshape\(len\(x\), -1\)$"),
        "x has no rows": (dict(x=np.zeros((0, 4)), y=np.zeros(0, int)), r"x has shape \(0, 4\); expected \(N, F\)"),
        "x has no columns": (dict(x=np.zeros((12, 0)), y=Y), r"x has shape \(12, 0\); expected \(N, F\)"),
        "y is 2-D": (dict(x=X, y=Y[:, None]), r"y has shape \(12, 1\); expected \(N,\), one integer label per "
                                              r"sample$"),
        "lengths differ": (dict(x=X, y=Y[:-1]), r"x has 12 rows but y has 11 labels; expected one label per row$"),
        "NaN": (dict(x=nan_x, y=Y), r"x holds 1 NaN or infinite value \(first at row 3, column 2\); expected finite "
                                    r"numbers$"),
        "inf": (dict(x=inf_x, y=Y), r"x holds 2 NaN or infinite values \(first at row 1, column 0\)"),
        "single class": (dict(x=X, y=np.zeros(12, int)), r"y holds a single class \(0\); expected at least 2 "
                                                          r"classes$"),
        "labels from 1": (dict(x=X, y=Y + 1), r"y holds labels 1, 2; expected 0..1, every class present \(renumber "
                                              r"them, e.g. np.unique\(y, return_inverse=True\)\[1\]\)$"),
        "a label skipped": (dict(x=X, y=Y * 2), r"y holds labels 0, 2; expected 0..1, every class present"),
        "negative labels": (dict(x=X, y=Y - 1), r"y holds labels -1, 0; expected 0..1"),
        "two of a class": (dict(x=X[4:], y=Y[4:]), r"class 0 of y has fewer than 3 samples; expected at least 3 per "
                                                   r"class \(one each for training, validation and test\)$"),
        "one in y_train": (dict(x_train=X[5:], y_train=Y[5:], x_test=XT, y_test=YT),
                           r"class 0 of y_train has fewer than 2 samples; expected at least 2 per class \(training "
                           r"and validation\)$"),
        "test label unknown": (dict(x_train=X, y_train=Y, x_test=XT, y_test=np.array([0, 1, 3, 3])),
                               r"y_test holds label 3 that y_train lacks; expected labels of the training classes "
                               r"0..1$"),
        "test features differ": (dict(x_train=X, y_train=Y, x_test=XT[:, :3], y_test=YT),
                                 r"x_test has 3 features but x_train has 4; expected the same F in both$"),
        "string features": (dict(x=X.astype(str), y=Y), r"x holds <U\d+ values; expected real numbers \(an int or "
                                                         r"float array\)$"),
        "bool features": (dict(x=X > 0, y=Y), r"x holds bool values; expected real numbers"),
        "complex features": (dict(x=X + 1j, y=Y), r"x holds complex128 values; expected real numbers"),
        "float labels": (dict(x=X, y=Y.astype(float)), r"y holds float64 values; expected integer class labels 0..k-1 "
                                                       r"\(y.astype\(int\) if they are whole numbers\)$"),
        "object array": (dict(x=np.array([X[0], "a"], dtype=object), y=Y),
                         r"an array cannot be read \(.*allow_pickle=False.*\); expected plain numeric arrays saved "
                         r"with numpy.savez, no pickled objects$"),
    }


BAD = _bad_arrays()


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_file_is_one_input_error_line_naming_it(tmp_path, case):
    arrays, pattern = BAD[case]
    _expect(_save(tmp_path / "bad.npz", **arrays), pattern)


def _expect(path: Path, pattern: str) -> None:
    """``load_data(path)`` raises an InputError of one line that starts with the path and matches ``pattern``."""
    with pytest.raises(InputError) as info:
        load_data(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}: "), message
    assert re.search(pattern, message), message


def test_a_missing_file_is_named(tmp_path):
    _expect(tmp_path / "nope.npz", r"no such file; expected a NumPy .npz file with arrays x \(N, F\) and y \(N,\), "
                                   r"or x_train, y_train, x_test, y_test$")


def test_a_folder_is_not_a_file(tmp_path):
    _expect(tmp_path, r"not a file; expected a NumPy .npz file")


def test_a_text_file_is_not_an_npz(tmp_path):
    path = tmp_path / "data.npz"
    path.write_bytes("x,y\n1,0\n".encode("utf-16"))
    _expect(path, r"not a .npz \(zip\) archive, or a truncated one; expected a .npz file \(numpy.savez\) with arrays")


def test_a_single_npy_array_is_not_an_npz(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, X)
    _expect(path, r"a single .npy array; expected a .npz file \(numpy.savez\)")


def test_a_truncated_npz_is_refused(tmp_path):
    path = _save(tmp_path / "d.npz", x=X, y=Y)
    path.write_bytes(path.read_bytes()[:-40])
    _expect(path, r"not a .npz \(zip\) archive, or a truncated one")


@pytest.mark.parametrize("members, pattern", [
    ({"x.npy": b"\x93NUMPY garbage", "y.npy": b""}, r"an array cannot be read \(.*\); expected plain numeric arrays"),
    ({"x": b"1,2,3", "y": b"0"}, r"member x is not a .npy array; expected a file written by numpy.savez$"),
], ids=["damaged member", "member not npy"])
def test_a_zip_whose_members_are_not_npy_arrays_is_refused(tmp_path, members, pattern):
    path = tmp_path / "d.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    _expect(path, pattern)
