"""``mnist4`` / ``mnist2`` offline: the real MNIST subset qml ships, its split sizes and preprocessing, and when
the user's IDX files are read instead."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qml.data import SizeLimit, load_task
from qml.data.images import crop_pool
from qml.data.mnist import BUNDLED_SOURCE, read_bundled
from qml.data.splits import ANGLE_SCALE
from qml.errors import InputError

from .synthetic import TEST_PER_CLASS, TRAIN_PER_CLASS, vowel_rows, write_mnist, write_vowel

# row 5 of the first image of the MNIST training file (a 5), as printed in countless tutorials
FIRST_TRAINING_IMAGE_ROW_5 = [0] * 12 + [3, 18, 18, 18, 126, 136, 175, 26, 166, 255, 247, 127] + [0] * 4


@pytest.fixture(autouse=True)
def no_env_folder(monkeypatch):
    monkeypatch.delenv("QML_DATA_DIR", raising=False)


@pytest.fixture(scope="module")
def bundled():
    return read_bundled()


def _splits(d):
    return [(d.x_train, d.y_train), (d.x_valid, d.y_valid), (d.x_test, d.y_test)]


def test_bundled_file_holds_500_images_of_each_digit(bundled):
    images, labels = bundled
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (5000,) and np.bincount(labels).tolist() == [500] * 10
    assert (labels == np.repeat(np.arange(10), 500)).all()  # grouped by digit, as the README says


def test_bundled_images_look_like_mnist(bundled):
    """Ink on a black background: about 80 % zero pixels, full-range strokes, MNIST's mean intensity 0.13."""
    images, _ = bundled
    assert images.min() == 0 and images.max() == 255
    assert 0.75 < (images == 0).mean() < 0.85
    assert abs(images.mean() / 255 - 0.1307) < 0.01
    assert (images.max(axis=(1, 2)) >= 250).mean() > 0.99
    assert (images[:, :, :2] == 0).mean() > 0.99  # digits are centred: the outer columns are empty


def test_the_first_five_is_the_first_mnist_training_image(bundled):
    images, labels = bundled
    assert labels[2500] == 5
    assert images[2500][5].tolist() == FIRST_TRAINING_IMAGE_ROW_5


@pytest.mark.parametrize("name, per_class", [("mnist4", 4), ("mnist2", 2)])
def test_mnist_tasks_load_offline_with_200_50_250_images_per_class(name, per_class):
    d = load_task(name)
    assert d.n_classes == per_class and d.n_features == 16 and d.source == BUNDLED_SOURCE
    assert torch.bincount(d.y_train).tolist() == [200] * per_class
    assert torch.bincount(d.y_valid).tolist() == [50] * per_class
    assert torch.bincount(d.y_test).tolist() == [250] * per_class
    for x, y in _splits(d):
        assert x.dtype == torch.float32 and y.dtype == torch.long and x.shape == (len(y), 16)


def test_mnist4_has_a_thousand_test_images():
    assert len(load_task("mnist4").y_test) == 1000


@pytest.mark.parametrize("name, classes", [("mnist4", (0, 1, 2, 3)), ("mnist2", (3, 6))])
def test_features_are_the_cropped_pooled_bundled_images_each_used_once(bundled, name, classes):
    images, labels = bundled
    d = load_task(name)

    def rows(features, digits):
        return sorted((*np.rint(f * 36 * 255).astype(int).tolist(), int(c)) for f, c in zip(features, digits,
                                                                                            strict=True))

    raw = [x.double().numpy() / ANGLE_SCALE * d.std.double().numpy() + d.mean.double().numpy() for x, _ in _splits(d)]
    digits = [classes[k] for _, y in _splits(d) for k in y.tolist()]
    keep = np.isin(labels, classes)
    assert rows(np.concatenate(raw), digits) == rows(crop_pool(images[keep]) / 255, labels[keep])
    assert all(-1e-5 <= r.min() and r.max() <= 1 + 1e-5 for r in raw)  # pixels / 255, up to float32 rounding


def test_a_linear_classifier_separates_the_real_digits():
    """Real digits are far from noise: logistic regression on the 16 features reaches ~0.89 (mnist4)."""
    from sklearn.linear_model import LogisticRegression

    d = load_task("mnist4")
    model = LogisticRegression(max_iter=1000).fit(d.x_train.numpy(), d.y_train.numpy())
    assert model.score(d.x_test.numpy(), d.y_test.numpy()) > 0.8


def test_same_seed_gives_identical_splits_and_another_seed_differs():
    a, b, c = (load_task("mnist2", seed=s) for s in (0, 0, 1))
    for (xa, ya), (xb, yb) in zip(_splits(a), _splits(b), strict=True):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    assert not torch.equal(a.x_test, c.x_test)


def test_size_limit_keeps_a_stratified_subset_of_the_bundled_set():
    d = load_task("mnist4", limit=SizeLimit(train=20, valid=8, test=40))
    assert [torch.bincount(y).tolist() for _, y in _splits(d)] == [[5] * 4, [2] * 4, [10] * 4]


def test_idx_files_in_the_env_folder_are_read_instead(tmp_path, monkeypatch):
    write_mnist(tmp_path / "mnist")
    monkeypatch.setenv("QML_DATA_DIR", str(tmp_path))
    d = load_task("mnist4")
    assert d.source == f"MNIST IDX files in {tmp_path / 'mnist'}"
    assert len(d.y_train) + len(d.y_valid) == 4 * TRAIN_PER_CLASS and len(d.y_test) == 4 * TEST_PER_CLASS


def test_an_env_folder_without_mnist_files_leaves_the_bundled_set(tmp_path, monkeypatch):
    write_vowel(tmp_path / "vowel" / "vowel-context.data", vowel_rows())
    monkeypatch.setenv("QML_DATA_DIR", str(tmp_path))
    assert load_task("mnist2").source == BUNDLED_SOURCE


def test_a_given_data_folder_must_hold_the_idx_files(tmp_path):
    """A folder the user names is read or refused, never passed over for the bundled subset."""
    with pytest.raises(InputError, match="mnist4 needs the MNIST file train-images-idx3-ubyte"):
        load_task("mnist4", data_dir=tmp_path)
