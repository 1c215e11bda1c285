"""MNIST / Fashion-MNIST tasks from IDX files: features, classes, splits, seeds, where files are found, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from qml.data import SizeLimit, load_task
from qml.data.files import Source, candidate_dirs, find_files
from qml.data.images import FASHION, IMAGE_LIMIT, crop_pool
from qml.data.splits import ANGLE_SCALE
from qml.errors import InputError

from .synthetic import TEST_PER_CLASS, TRAIN_PER_CLASS, write_idx, write_mnist

IMAGE_TASKS = ["mnist4", "mnist2", "fashion4", "fashion2"]


def _splits(d):
    return [(d.x_train, d.y_train), (d.x_valid, d.y_valid), (d.x_test, d.y_test)]


def _raw_features(d, x):
    """Undo the standardization: pooled pixels in 0..1."""
    return x.double().numpy() / ANGLE_SCALE * d.std.double().numpy() + d.mean.double().numpy()


def test_crop_pool_matches_a_hand_computation_on_a_tiny_image():
    image = np.arange(36, dtype=float).reshape(1, 6, 6)  # value = 6 * row + col
    # centre crop 4x4 keeps rows and columns 1..4; 2x2 blocks start at rows / columns 1 and 3
    expected = [(7 + 8 + 13 + 14) / 4, (9 + 10 + 15 + 16) / 4, (19 + 20 + 25 + 26) / 4, (21 + 22 + 27 + 28) / 4]
    np.testing.assert_allclose(crop_pool(image, crop=4, pool=2), [expected])


def test_crop_pool_of_a_28x28_image_keeps_rows_and_columns_2_to_25():
    image = np.arange(28 * 28, dtype=float).reshape(1, 28, 28)  # value = 28 * row + col
    # block (i, j) covers rows 2+6i..7+6i and columns 2+6j..7+6j: mean row 4.5 + 6i, mean column 4.5 + 6j
    expected = [28 * (4.5 + 6 * i) + 4.5 + 6 * j for i in range(4) for j in range(4)]
    out = crop_pool(image)
    assert out.shape == (1, 16)
    np.testing.assert_allclose(out[0], expected)
    assert out[0, 0] == 130.5 and out[0, 15] == 652.5


@pytest.mark.parametrize("name", IMAGE_TASKS)
def test_image_tasks_give_sixteen_float32_features_and_their_classes(mnist_dir, name):
    d = load_task(name, data_dir=mnist_dir)
    n_classes = int(name[-1])
    assert d.name == name and d.n_classes == n_classes and d.n_features == 16
    for x, y in _splits(d):
        assert x.dtype == torch.float32 and y.dtype == torch.long
        assert x.shape == (len(y), 16)
        assert set(y.tolist()) == set(range(n_classes))


@pytest.mark.parametrize("name, classes", [("mnist4", (0, 1, 2, 3)), ("fashion2", (3, 6))])
def test_features_are_the_cropped_pooled_images_of_the_chosen_classes(tmp_path, name, classes):
    """Undoing the standardization, train + valid are images of the chosen classes from the train file (each
    once, label k = classes[k]) and test is exactly those images of the t10k file."""
    arrays = write_mnist(tmp_path)
    d = load_task(name, data_dir=tmp_path)

    def as_rows(features, labels):
        return sorted((*np.rint(f * 36 * 255).astype(int).tolist(), int(c)) for f, c in zip(features, labels,
                                                                                              strict=True))

    def expected(images, labels):
        keep = np.isin(labels, classes)
        return as_rows(crop_pool(images[keep]) / 255, labels[keep])

    seen = as_rows(np.concatenate([_raw_features(d, d.x_train), _raw_features(d, d.x_valid)]),
                   [classes[k] for k in torch.cat([d.y_train, d.y_valid]).tolist()])
    assert seen == expected(arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"])
    test = as_rows(_raw_features(d, d.x_test), [classes[k] for k in d.y_test.tolist()])
    assert test == expected(arrays["t10k-images-idx3-ubyte"], arrays["t10k-labels-idx1-ubyte"])


def test_validation_is_a_stratified_five_percent_of_the_train_file(mnist_dir):
    d = load_task("mnist4", data_dir=mnist_dir)
    held_out = round(0.05 * TRAIN_PER_CLASS)
    assert torch.bincount(d.y_valid).tolist() == [held_out] * 4
    assert torch.bincount(d.y_train).tolist() == [TRAIN_PER_CLASS - held_out] * 4
    assert torch.bincount(d.y_test).tolist() == [TEST_PER_CLASS] * 4


def test_training_split_is_standardized_and_scaled(mnist_dir):
    x = load_task("fashion4", data_dir=mnist_dir).x_train.double()
    np.testing.assert_allclose(x.mean(0).numpy(), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(0, unbiased=False).numpy(), ANGLE_SCALE, rtol=1e-3)


def test_gzip_and_plain_files_give_the_same_task(mnist_dir, mnist_gz_dir):
    a, b = load_task("mnist4", seed=3, data_dir=mnist_dir), load_task("mnist4", seed=3, data_dir=mnist_gz_dir)
    for (xa, ya), (xb, yb) in zip(_splits(a), _splits(b), strict=True):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_same_seed_gives_identical_splits_and_another_seed_differs(mnist_dir):
    a, b, c = (load_task("fashion4", seed=s, data_dir=mnist_dir) for s in (0, 0, 1))
    for (xa, ya), (xb, yb) in zip(_splits(a), _splits(b), strict=True):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    assert not torch.equal(a.x_valid, c.x_valid)


def test_size_limit_keeps_a_stratified_subset(mnist_dir):
    d = load_task("mnist4", data_dir=mnist_dir, limit=SizeLimit(train=20, valid=4, test=6))
    assert torch.bincount(d.y_train).tolist() == [5, 5, 5, 5]
    assert torch.bincount(d.y_valid).tolist() == [1, 1, 1, 1]
    assert sorted(torch.bincount(d.y_test).tolist()) == [1, 1, 2, 2]


def test_default_limit_is_five_thousand_training_images_and_everything_else():
    assert IMAGE_LIMIT == SizeLimit(train=5000, valid=None, test=None)


def test_size_limit_rejects_non_positive_sizes():
    with pytest.raises(InputError, match="SizeLimit.train must be a positive integer or None, got 0"):
        SizeLimit(train=0)


def test_env_var_names_the_data_folder(tmp_path, monkeypatch):
    write_mnist(tmp_path / "root" / "fashion-mnist")
    monkeypatch.setenv("QML_DATA_DIR", str(tmp_path / "root"))
    assert load_task("fashion2").n_classes == 2


def test_data_dir_wins_over_the_env_var(tmp_path, monkeypatch):
    write_mnist(tmp_path / "given", seed=5)
    write_mnist(tmp_path / "env", seed=9)
    monkeypatch.setenv("QML_DATA_DIR", str(tmp_path / "env"))
    given = load_task("mnist2", data_dir=tmp_path / "given")
    assert torch.equal(given.x_test, load_task("mnist2", data_dir=tmp_path / "given").x_test)
    assert not torch.equal(given.x_test, load_task("mnist2").x_test)


def test_usual_sub_folders_are_searched(tmp_path):
    write_mnist(tmp_path / "MNIST" / "raw", gz=True)
    assert load_task("mnist4", data_dir=tmp_path).n_classes == 4


def test_system_folder_is_searched_only_without_a_given_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("QML_DATA_DIR", raising=False)
    assert candidate_dirs(FASHION) == [Path("/usr/share/datasets/fashion-mnist")]
    assert Path("/usr/share/datasets/fashion-mnist") not in candidate_dirs(FASHION, tmp_path)
    monkeypatch.setenv("QML_DATA_DIR", str(tmp_path))
    assert candidate_dirs(FASHION) == [tmp_path, tmp_path / "fashion-mnist", tmp_path / "fashion",
                                       tmp_path / "FashionMNIST/raw", Path("/usr/share/datasets/fashion-mnist")]


def test_missing_files_say_what_was_looked_for_where_and_how_to_get_it(tmp_path):
    with pytest.raises(InputError) as info:
        load_task("fashion4", data_dir=tmp_path)
    assert str(info.value) == (
        f"fashion4 needs the Fashion-MNIST file train-images-idx3-ubyte (or train-images-idx3-ubyte.gz); "
        f"looked in {tmp_path}, {tmp_path}/fashion-mnist, {tmp_path}/fashion, {tmp_path}/FashionMNIST/raw: "
        f"install it with 'apt install dataset-fashion-mnist' or download the four IDX files from "
        f"https://github.com/zalandoresearch/fashion-mnist and pass their folder with --data-dir (data_dir= in "
        f"Python) or QML_DATA_DIR; qml downloads nothing")


def test_without_any_folder_the_error_says_none_was_given(monkeypatch):
    monkeypatch.delenv("QML_DATA_DIR", raising=False)
    with pytest.raises(InputError, match=r"^x needs the Test file a \(or a.gz\); no data folder was given: get it "
                                         r"somewhere; qml downloads nothing$"):
        find_files("x", Source("Test", ("sub",), "get it somewhere"), ("a", "b"))


def test_image_tasks_name_the_folder_they_read(mnist_dir):
    assert load_task("mnist4", data_dir=mnist_dir).source == f"MNIST IDX files in {mnist_dir}"


def test_system_folder_appears_in_the_error_when_nothing_is_found(tmp_path, monkeypatch):
    monkeypatch.delenv("QML_DATA_DIR", raising=False)
    source = Source("Test", ("sub",), "get it somewhere", (tmp_path / "system",))
    with pytest.raises(InputError, match=f"x needs the Test file a \\(or a.gz\\); looked in {tmp_path}/system: "
                                         f"get it somewhere; qml downloads nothing"):
        find_files("x", source, ("a", "b"))


def test_one_missing_file_of_four_names_that_file_and_folder(mnist_dir):
    (mnist_dir / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(InputError, match=f"mnist4 needs the MNIST file t10k-labels-idx1-ubyte \\(or "
                                         f"t10k-labels-idx1-ubyte.gz\\); looked in {mnist_dir}: download"):
        load_task("mnist4", data_dir=mnist_dir)


def test_a_data_folder_that_does_not_exist_is_an_error(tmp_path, monkeypatch):
    with pytest.raises(InputError, match=f"data folder {tmp_path}/nope is not a folder"):
        load_task("mnist4", data_dir=tmp_path / "nope")
    monkeypatch.setenv("QML_DATA_DIR", str(tmp_path / "gone"))
    with pytest.raises(InputError, match=f"QML_DATA_DIR {tmp_path}/gone is not a folder"):
        load_task("fashion4")


def test_malformed_idx_file_is_named(mnist_dir):
    (mnist_dir / "train-images-idx3-ubyte").write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(InputError, match=f"{mnist_dir}/train-images-idx3-ubyte: not an IDX file"):
        load_task("fashion2", data_dir=mnist_dir)


def test_images_and_labels_of_different_lengths_are_an_error(mnist_dir):
    write_idx(mnist_dir / "t10k-labels-idx1-ubyte", np.zeros(7, np.uint8))
    with pytest.raises(InputError, match=r"t10k-images-idx3-ubyte has 100 images but .*t10k-labels-idx1-ubyte has "
                                         r"7 labels"):
        load_task("mnist4", data_dir=mnist_dir)


def test_images_that_are_not_three_dimensional_are_an_error(mnist_dir):
    write_idx(mnist_dir / "train-images-idx3-ubyte", np.zeros((400, 784), np.uint8))
    with pytest.raises(InputError, match=r"train-images-idx3-ubyte: expected images of at least 24x24 "
                                         r"\(N x H x W\), found shape 400x784"):
        load_task("mnist4", data_dir=mnist_dir)


def test_a_train_file_lacking_a_class_is_an_error(tmp_path):
    arrays = write_mnist(tmp_path)
    labels = arrays["train-labels-idx1-ubyte"].copy()
    labels[labels == 6] = 7
    write_idx(tmp_path / "train-labels-idx1-ubyte", labels)
    with pytest.raises(InputError, match="mnist2 needs classes 3, 6, found 0, 1, 2, 3, 4, 5, 7, 8, 9"):
        load_task("mnist2", data_dir=tmp_path)
