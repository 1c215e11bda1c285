"""``vowel4``: four vowels of the UCI "Connectionist Bench (Vowel Recognition - Deterding Data)" file
``vowel-context.data``, PCA to 10 features (fitted on the training split), then standardized like every task.

Classes 0, 5, 1, 6 (labels 0..3 in that order), the ones QuantumNAS calls hid, hId, had, hOd, as in TorchQuantum's
``examples/configs/vowel/four0516/default.yml`` (``digits_of_interest: [0, 5, 1, 6]``). QuantumNAS splits the
990 rows at random, ignoring the file's train/test flag; qml does the same with the stratified, seeded 60 / 15 / 25
split of the digits tasks (360 rows: 216 / 56 / 88)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from qml.data.files import Source, find_files
from qml.data.splits import Dataset, SizeLimit, select_classes, stratified_split, stratified_take, to_dataset
from qml.errors import InputError

VOWEL_CLASSES = (0, 5, 1, 6)
N_COMPONENTS = 10
_COLUMNS = 14  # train/test flag, speaker, sex, 10 features, class
VOWEL = Source(
    "UCI vowel (Deterding)", ("vowel", "vowel/raw"),
    "download it from https://archive.ics.uci.edu/ml/machine-learning-databases/undocumented/connectionist-bench/"
    "vowel/vowel-context.data and pass its folder with --data-dir (data_dir= in Python) or QML_DATA_DIR")


def read_vowel(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Features (N, 10) float64 and classes (N,) int64 0-10 of a ``vowel-context.data`` file (plain or gzip)."""
    path = Path(path)
    raw = path.read_bytes()
    try:
        text = (gzip.decompress(raw) if raw.startswith(b"\x1f\x8b") else raw).decode("ascii")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a vowel-context.data text file ({exc})") from None
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        tokens = line.split()
        if not tokens:
            continue
        if len(tokens) != _COLUMNS:
            raise InputError(f"{path} line {number}: expected {_COLUMNS} whitespace-separated columns (train/test "
                             f"flag, speaker, sex, 10 features, class), found {len(tokens)}")
        try:
            rows.append([float(t) for t in tokens])
        except ValueError:
            raise InputError(f"{path} line {number}: not a number among {line.strip()!r}") from None
        label = rows[-1][-1]
        if label != int(label) or not 0 <= label <= 10:
            raise InputError(f"{path} line {number}: class {tokens[-1]!r} is not an integer from 0 to 10")
    if not rows:
        raise InputError(f"{path}: no data rows")
    table = np.array(rows)
    return table[:, 3:13], table[:, 13].astype(np.int64)


def load_vowel(name: str = "vowel4", seed: int = 0, data_dir: str | Path | None = None,
               limit: SizeLimit | None = None, classes: tuple[int, ...] = VOWEL_CLASSES) -> Dataset:
    from sklearn.decomposition import PCA

    limit = limit or SizeLimit()
    (path,) = find_files(name, VOWEL, ("vowel-context.data",), data_dir)
    x, y = select_classes(*read_vowel(path), classes)
    if len(np.unique(y)) < len(classes):
        raise InputError(f"{path}: {name} needs classes {', '.join(map(str, classes))}; some have no rows")
    rng = np.random.default_rng(seed)
    test, valid, train = stratified_split(y, (0.25, 0.15), rng)
    parts = [idx[stratified_take(y[idx], n, rng)] for idx, n in
             ((train, limit.train), (valid, limit.valid), (test, limit.test))]
    pca = PCA(n_components=min(N_COMPONENTS, len(parts[0])), random_state=seed).fit(x[parts[0]])
    return to_dataset(name, [(pca.transform(x[idx]), y[idx]) for idx in parts], len(classes), rng,
                      source=str(path))
