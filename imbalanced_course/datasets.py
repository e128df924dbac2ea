"""The real imbalanced data sets shipped with the benchmark lesson (09), read from local files.

Each file is a KEEL-format copy (`.dat`) of a UCI Machine Learning Repository data set, shipped
unchanged in `source/09_benchmark/data/` with its provenance, citation, licence and sha256 in that
folder's `PROVENANCE.md`. Nothing is downloaded.
"""
import re
from pathlib import Path

import numpy as np
import pandas as pd

# name -> file name in the data folder, from the least to the most imbalanced.
DATASETS = {
    "new-thyroid1": "new-thyroid1.dat",
    "glass6": "glass6.dat",
    "ecoli3": "ecoli3.dat",
    "shuttle-c0-vs-c4": "shuttle-c0-vs-c4.dat",
    "page-blocks-1-3_vs_4": "page-blocks-1-3_vs_4.dat",
    "abalone9-18": "abalone9-18.dat",
    "dermatology-6": "dermatology-6.dat",
    "flare-F": "flare-F.dat",
    "car-good": "car-good.dat",
    "winequality-red-4": "winequality-red-4.dat",
    "yeast6": "yeast6.dat",
    "kr-vs-k-zero_vs_eight": "kr-vs-k-zero_vs_eight.dat",
}

_ATTRIBUTE = re.compile(r"@attribute\s+([^\s{\[]+)\s*(.*)", re.IGNORECASE)


def load_dataset(name, folder="data"):
    """Read one shipped data set: features and a 0/1 label, 1 for the minority class.

    Parameters
    ----------
    name : str
        A key of `DATASETS`, e.g. ``"ecoli3"``.
    folder : str or Path
        The folder holding the files; ``"data"`` is the one beside the benchmark notebooks.

    Returns
    -------
    X : pandas.DataFrame of shape (n_samples, n_features)
        Numeric attributes as float64 columns; nominal attributes as ``category`` columns whose
        categories are those the file's header declares, in its order.
    y : numpy.ndarray of shape (n_samples,), dtype int64
        1 where the file's class is ``positive`` (the minority), 0 where it is ``negative``.

    Raises
    ------
    ValueError
        If `name` is not one of the shipped data sets.
    """
    if name not in DATASETS:
        raise ValueError(f"Unknown data set name={name!r}; choose one of {sorted(DATASETS)}.")
    path = Path(folder) / DATASETS[name]
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().lower() == "@data") + 1
    columns = {}  # name -> declared categories, or None for a numeric attribute
    for line in lines[:start]:
        match = _ATTRIBUTE.match(line.strip())
        if match:
            kind = match.group(2).strip()
            columns[match.group(1)] = [v.strip() for v in kind.strip("{}").split(",")] if kind.startswith("{") else None
    *features, label = columns
    table = pd.read_csv(path, skiprows=start, header=None, names=list(columns), dtype=str, skipinitialspace=True)
    table = table.apply(lambda column: column.str.strip())
    X = pd.DataFrame({
        col: pd.Categorical(table[col], categories=columns[col]) if columns[col] else table[col].astype(float)
        for col in features
    })
    classes = set(table[label])
    if classes != {"positive", "negative"}:
        raise ValueError(f"{path}: expected the classes 'positive' and 'negative', found {sorted(classes)}.")
    return X, (table[label] == "positive").to_numpy().astype(np.int64)
