"""The benchmark lesson's helpers: the shipped data sets load as documented, the analysis compares as it says."""
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from conftest import REPO
from imbalanced_course.benchmark import paired_differences, sign_test, tuned_threshold, verdicts
from imbalanced_course.datasets import DATASETS, load_dataset

DATA = REPO / "source" / "09_benchmark" / "data"
ROW = re.compile(r"^\| `(?P<file>[^`]+)` \| (?P<rows>\d+) \| (?P<features>\d+) \((?P<nominal>\d+) nominal\) \| (?P<minority>\d+) ")


def documented():
    """{file: (rows, features, nominal, minority)} from the file table of PROVENANCE.md."""
    rows = (ROW.match(line) for line in (DATA / "PROVENANCE.md").read_text().splitlines())
    return {m["file"]: tuple(int(m[k]) for k in ("rows", "features", "nominal", "minority")) for m in rows if m}


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_each_data_set_loads_with_the_documented_shape(name):
    X, y = load_dataset(name, folder=DATA)
    assert isinstance(X, pd.DataFrame) and y.dtype == np.int64 and set(np.unique(y)) == {0, 1}
    assert (len(X), X.shape[1], int((X.dtypes == "category").sum()), int(y.sum())) == documented()[DATASETS[name]]
    assert y.mean() < 0.2, "label 1 must be the minority"
    assert not X.isna().any().any()
    numeric = X.select_dtypes(exclude="category")
    assert all(dtype == np.float64 for dtype in numeric.dtypes)


def test_unknown_name_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match=r"name='ecoli'.*ecoli3"):
        load_dataset("ecoli", folder=DATA)


def test_tuned_threshold_maximises_f1_on_out_of_fold_probabilities():
    X, y = make_classification(n_samples=400, weights=[0.9], flip_y=0.05, random_state=3)
    cv = StratifiedKFold(n_splits=2, shuffle=True, random_state=0)
    model = LogisticRegression()
    threshold = tuned_threshold(model, X, y, cv)
    proba = cross_val_predict(model, X, y, cv=cv, method="predict_proba")[:, 1]
    best = max(f1_score(y, proba >= t) for t in np.unique(proba))
    assert f1_score(y, proba >= threshold) == pytest.approx(best)
    assert threshold != 0.5


def test_differences_are_paired_signed_and_counted():
    folds = [dict(dataset=d, seed=0, fold=f, learner="logistic", method=m, ap=ap, roc_auc=0.9, brier=brier,
                  f1_default=0.4, f1_tuned=0.5)
             for d, shift in (("a", 0.1), ("b", -0.1), ("c", 0.0))
             for f in range(2)
             for m, ap, brier in (("none", 0.5 + f, 0.05), ("SMOTE", 0.5 + f + shift, 0.08))]
    diffs = paired_differences(pd.DataFrame(folds))
    ap = diffs[diffs.metric == "ap"].set_index("dataset")["diff"]
    assert np.allclose(ap.loc["a"], 0.1) and np.allclose(ap.loc["b"], -0.1)
    assert np.allclose(diffs[diffs.metric == "brier"]["diff"], -0.03), "a higher Brier score is worse"
    none_default = diffs[(diffs.method == "none") & (diffs.metric == "f1_default")]["diff"]
    assert np.allclose(none_default, -0.1), "the default threshold is compared with the tuned baseline"
    assert set(diffs[diffs.method == "none"].metric) == {"f1_default"}
    summary = sign_test(verdicts(diffs))
    row = summary.loc[("logistic", "SMOTE", "ap")]
    assert (row.wins, row.ties, row.losses, row.p) == (1, 1, 1, 1.0)
