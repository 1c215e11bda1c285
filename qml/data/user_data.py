"""The user's own data: a NumPy ``.npz`` file with arrays ``x`` (N, F) and ``y`` (N,), or ``x_train``, ``y_train``,
``x_test``, ``y_test``. Labels are integers 0..k-1, every class present in the training labels, k >= 2.

With ``x`` / ``y`` each class is split stratified and seeded 60 / 15 / 25 (train / validation / test) as for
``digits4``; with a test split given, 5 % of each class of the training split is held out for validation, as for
the IDX image tasks. Every held-out part gets at least one sample of each class, so a class needs 3 samples
(``x`` / ``y``) or 2 in the training split. Features are standardized like every task's (``splits.to_dataset``);
``Dataset.n_features`` is F, for the caller to choose an encoder. A bad file is one ``InputError`` line naming the
file, what is wrong and what was expected."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from qml.data.splits import Dataset, SizeLimit, stratified_split, stratified_take, to_dataset
from qml.errors import InputError

WHOLE = ("x", "y")
SPLIT = ("x_train", "y_train", "x_test", "y_test")
SPLIT_FRACTIONS = (0.25, 0.15)  # test, validation, as for digits4
VALID_FRACTION = 0.05  # carved from x_train, as for the IDX image tasks
_EXPECTED = "arrays x (N, F) and y (N,), or x_train, y_train, x_test, y_test"


def load_data(path: str | Path, seed: int = 0, limit: SizeLimit | None = None) -> Dataset:
    """The task stored in the ``.npz`` file ``path``; ``seed`` fixes the split and any subset, ``limit`` caps each
    split (stratified, seeded; ``None`` keeps everything). The dataset is named after the file."""
    path = Path(path)
    arrays = read_npz(path)
    limit = limit or SizeLimit()
    rng = np.random.default_rng(seed)
    if "x" in arrays:
        x, y = _pair(path, arrays, "x", "y")
        n_classes = _check_classes(path, y, "y", minimum=3, why="one each for training, validation and test")
        test, valid, train = stratified_split(y, SPLIT_FRACTIONS, rng, minimum=1)
        parts = [(x, y, train, limit.train), (x, y, valid, limit.valid), (x, y, test, limit.test)]
    else:
        x_train, y_train = _pair(path, arrays, "x_train", "y_train")
        x_test, y_test = _pair(path, arrays, "x_test", "y_test")
        if x_test.shape[1] != x_train.shape[1]:
            raise InputError(f"{path}: x_test has {x_test.shape[1]} features but x_train has {x_train.shape[1]}; "
                             f"expected the same F in both")
        n_classes = _check_classes(path, y_train, "y_train", minimum=2, why="training and validation")
        unknown = np.unique(y_test[(y_test < 0) | (y_test >= n_classes)])
        if len(unknown):
            raise InputError(f"{path}: y_test holds label{'s' if len(unknown) > 1 else ''} {_listing(unknown)} that "
                             f"y_train lacks; expected labels of the training classes 0..{n_classes - 1}")
        valid, train = stratified_split(y_train, (VALID_FRACTION,), rng, minimum=1)
        parts = [(x_train, y_train, train, limit.train), (x_train, y_train, valid, limit.valid),
                 (x_test, y_test, np.arange(len(y_test)), limit.test)]
    splits = []
    for features, labels, idx, most in parts:
        keep = idx[stratified_take(labels[idx], most, rng)]
        splits.append((features[keep], labels[keep]))
    return to_dataset(path.name, splits, n_classes, rng, source=str(path))


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of one layout (``x``, ``y`` or the four split arrays), read without pickle; anything else is an
    ``InputError`` naming the file."""
    if not path.is_file():
        what = "not a file" if path.exists() else "no such file"
        raise InputError(f"{path}: {what}; expected a NumPy .npz file with {_EXPECTED}")
    if not zipfile.is_zipfile(path):
        with path.open("rb") as f:
            npy = f.read(6) == b"\x93NUMPY"
        kind = "a single .npy array" if npy else "not a .npz (zip) archive, or a truncated one"
        raise InputError(f"{path}: {kind}; expected a .npz file (numpy.savez) with {_EXPECTED}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = set(archive.files)
            if names & set(WHOLE) and names & set(SPLIT):
                raise InputError(f"{path}: holds both x / y and {', '.join(sorted(names & set(SPLIT)))}; expected "
                                 f"one layout: {_EXPECTED}")
            layout = WHOLE if names & set(WHOLE) else SPLIT
            missing = [n for n in layout if n not in names]
            if missing:
                found = ", ".join(sorted(names)) or "no arrays"
                raise InputError(f"{path}: missing array{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                                 f"(found {found}); expected {_EXPECTED}")
            extra = sorted(names - set(layout))
            if extra:
                raise InputError(f"{path}: unexpected array{'s' if len(extra) > 1 else ''} {', '.join(extra)}; "
                                 f"expected only {', '.join(layout)}")
            arrays = {name: archive[name] for name in layout}
    except InputError:
        raise
    except ValueError as exc:  # object arrays (pickle refused) or a malformed .npy member
        raise InputError(f"{path}: an array cannot be read ({exc}); expected plain numeric arrays saved with "
                         f"numpy.savez, no pickled objects") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise InputError(f"{path}: damaged .npz file ({exc}); expected a file written by numpy.savez") from None
    for name, value in arrays.items():
        if not isinstance(value, np.ndarray):  # a zip member not stored as .npy comes back as bytes
            raise InputError(f"{path}: member {name} is not a .npy array; expected a file written by numpy.savez")
    return arrays


def _pair(path: Path, arrays: dict[str, np.ndarray], xname: str, yname: str) -> tuple[np.ndarray, np.ndarray]:
    """Features as float64 (N, F) and labels as int64 (N,), checked for shape, dtype and finiteness."""
    x, y = arrays[xname], arrays[yname]
    if x.dtype.kind not in "iuf":
        raise InputError(f"{path}: {xname} holds {x.dtype} values; expected real numbers (an int or float array)")
    if y.dtype.kind not in "iu":
        raise InputError(f"{path}: {yname} holds {y.dtype} values; expected integer class labels 0..k-1 "
                         f"(y.astype(int) if they are whole numbers)")
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        hint = "; flatten images with x.reshape(len(x), -1)" if x.ndim > 2 else ""
        raise InputError(f"{path}: {xname} has shape {x.shape}; expected (N, F) with N, F >= 1, one row per "
                         f"sample{hint}")
    if y.ndim != 1:
        raise InputError(f"{path}: {yname} has shape {y.shape}; expected (N,), one integer label per sample")
    if len(y) != len(x):
        raise InputError(f"{path}: {xname} has {len(x)} rows but {yname} has {len(y)} labels; expected one label "
                         f"per row")
    x = x.astype(np.float64)
    bad = ~np.isfinite(x)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise InputError(f"{path}: {xname} holds {int(bad.sum())} NaN or infinite value"
                         f"{'s' if bad.sum() > 1 else ''} (first at row {row}, column {col}); expected finite numbers")
    return x, y.astype(np.int64)


def _check_classes(path: Path, y: np.ndarray, yname: str, minimum: int, why: str) -> int:
    """k, after checking that ``y`` holds every label 0..k-1, k >= 2, each at least ``minimum`` times."""
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        raise InputError(f"{path}: {yname} holds a single class ({classes[0]}); expected at least 2 classes")
    if classes[0] != 0 or classes[-1] != len(classes) - 1:
        raise InputError(f"{path}: {yname} holds labels {_listing(classes)}; expected 0..{len(classes) - 1}, every "
                         f"class present (renumber them, e.g. np.unique({yname}, return_inverse=True)[1])")
    few = classes[counts < minimum]
    if len(few):
        raise InputError(f"{path}: class{'es' if len(few) > 1 else ''} {_listing(few)} of {yname} "
                         f"{'have' if len(few) > 1 else 'has'} fewer than {minimum} samples; expected at least "
                         f"{minimum} per class ({why})")
    return len(classes)


def _listing(values: np.ndarray, most: int = 8) -> str:
    shown = ", ".join(str(v) for v in values[:most])
    return shown + (f", ... ({len(values)} in all)" if len(values) > most else "")
