"""The comparison protocol of lessons 06a-06c: one data set, the same folds for every method.

Every method is cross-validated on the same `CV` folds, so two methods can be compared fold by fold
(paired): `paired` reports the mean difference, its spread, and in how many folds one is better.
`CV` is one stratified 5-fold split (the first repetition of the 5 x 2 folds these lessons used
before): the second repetition re-split the same 1,500 rows, took as many fits again and changed
none of the lessons' conclusions.
Standard deviations are NumPy's default (ddof=0), as everywhere in the course.
"""
import numpy as np
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.metrics import make_scorer, precision_score, recall_score
from sklearn.model_selection import StratifiedKFold, cross_validate

RANDOM_STATE = 0
COST_FN, COST_FP = 10, 1  # a missed minority case costs 10, a false alarm 1


def lesson_data():
    """X, y: 1,500 rows, 8 features, about 8.5 % minority, each class made of two clusters."""
    return make_classification(
        n_samples=1500, n_features=8, n_informative=4, n_redundant=2,
        n_clusters_per_class=2, weights=[0.92], flip_y=0.01, class_sep=1.0,
        random_state=RANDOM_STATE,
    )


def cost_per_row(y_true, y_pred):
    """Average misclassification cost: COST_FN per missed minority case, COST_FP per false alarm."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    fn = np.sum((y_true == 1) & (y_pred == 0))
    fp = np.sum((y_true == 0) & (y_pred == 1))
    return (COST_FN * fn + COST_FP * fp) / len(y_true)


def mean_probability(y_true, proba):
    """Average predicted probability of the minority class (compare with its true share)."""
    return np.mean(proba)


cost_scorer = make_scorer(cost_per_row, greater_is_better=False)
SCORING = {
    "AP": "average_precision",
    "bal_acc": "balanced_accuracy",
    "recall_min": make_scorer(recall_score, zero_division=0),
    "prec_min": make_scorer(precision_score, zero_division=0),
    "Brier": "neg_brier_score",
    "log_loss": "neg_log_loss",
    "cost": cost_scorer,
    "mean_p": make_scorer(mean_probability, response_method="predict_proba"),
}
NEGATED = {"Brier", "log_loss", "cost"}  # scikit-learn maximises, so these come back negated
LOWER_IS_BETTER = NEGATED
CV = StratifiedKFold(n_splits=5, shuffle=True, random_state=RANDOM_STATE)


def evaluate(model, X, y, scoring=SCORING, cv=CV):
    """Cross-validate `model` on the folds of `cv`; return {metric: array of fold scores}."""
    result = cross_validate(model, X, y, cv=cv, scoring=scoring, n_jobs=1)
    return {m: (-1 if m in NEGATED else 1) * result[f"test_{m}"] for m in scoring}


def table(results, names, metrics=("AP", "bal_acc", "recall_min", "prec_min", "Brier", "cost")):
    """DataFrame of 'mean ± std' over the folds, one row per name in `names`."""
    return pd.DataFrame({
        name: {m: f"{results[name][m].mean():.3f} ± {results[name][m].std():.3f}" for m in metrics}
        for name in names
    }).T


def paired(results, a, b, metrics=("AP", "bal_acc", "Brier", "cost")):
    """`a` minus `b` fold by fold, per metric: mean ± std and the folds where `a` is better."""
    row = {}
    for m in metrics:
        diff = results[a][m] - results[b][m]
        better = np.sum(diff < 0) if m in LOWER_IS_BETTER else np.sum(diff > 0)
        row[m] = f"{diff.mean():+.3f} ± {diff.std():.3f} ({better}/{len(diff)} better)"
    return row


def paired_table(results, pairs, metrics=("AP", "bal_acc", "Brier", "cost")):
    """One row per (a, b) pair in `pairs`, labelled 'a − b', from `paired`."""
    return pd.DataFrame({f"{a} − {b}": paired(results, a, b, metrics) for a, b in pairs}).T
