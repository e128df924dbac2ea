"""The benchmark of lesson 09: every imbalance method, two learners, the same folds on every data set.

One model per (learner, method) is an imbalanced-learn pipeline (encoding, the method's sampler,
the learner). Each is wrapped in scikit-learn's `TunedThresholdClassifierCV`, which picks the
threshold that maximises F1 on out-of-fold predictions of the training folds only, then refits on
the whole training folds. That refitted model gives the probabilities (AP, ROC AUC, Brier: they do
not depend on the threshold) and the labels at the default threshold; the tuned model gives the
labels at the tuned threshold.
"""
import numpy as np
import pandas as pd
from imblearn.ensemble import BalancedBaggingClassifier
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.pipeline import Pipeline
from imblearn.under_sampling import RandomUnderSampler
from scipy.stats import binomtest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, f1_score, precision_recall_curve, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.preprocessing import StandardScaler

LEARNERS = ("logistic", "boosting")
METHODS = ("none", "class weights", "random over", "SMOTE", "random under", "balanced bagging")
# Small settings keep the whole benchmark near a minute on one core.
INNER_SPLITS = 2  # folds of the training folds that give the out-of-fold probabilities for the threshold
TIE = 0.005  # a mean difference within ±TIE is a tie
# 12 small trees at a high learning rate. The L2 penalty on leaf values (none by default) costs no
# time and, measured on these data sets, lifts the model's ranking to logistic regression's level;
# with it, 12 trees ranked as well as 20 did, in a quarter less time.
BOOSTING = dict(max_iter=12, max_leaf_nodes=8, min_samples_leaf=5, learning_rate=0.5, l2_regularization=1.0,
                early_stopping=False)


def make_model(learner, method, random_state):
    """An unfitted imblearn Pipeline: scale numbers and one-hot encode categories, the method, the learner.

    `learner` is one of `LEARNERS`, `method` one of `METHODS`. Class weights are the learner's
    `class_weight="balanced"`; the samplers resample the encoded training data to a 1:1 ratio;
    balanced bagging fits 10 copies of the learner, each on a balanced random undersample.
    """
    weight = "balanced" if method == "class weights" else None
    if learner == "logistic":
        model = LogisticRegression(class_weight=weight, max_iter=1000)
    elif learner == "boosting":
        model = HistGradientBoostingClassifier(**BOOSTING, class_weight=weight, random_state=random_state)
    else:
        raise ValueError(f"Unknown learner={learner!r}; choose one of {LEARNERS}.")
    if method not in METHODS:
        raise ValueError(f"Unknown method={method!r}; choose one of {METHODS}.")
    if method == "balanced bagging":
        model = BalancedBaggingClassifier(model, n_estimators=5, random_state=random_state)
    samplers = {"random over": RandomOverSampler, "SMOTE": SMOTE, "random under": RandomUnderSampler}
    sampler = samplers[method](random_state=random_state) if method in samplers else "passthrough"
    return Pipeline([("scale", StandardScaler()), ("sampler", sampler), ("model", model)])


def tuned_threshold(model, X, y, cv):
    """The probability threshold that maximises F1 on out-of-fold predictions of `model` on (X, y).

    `cross_val_predict` gives every row of (X, y) a probability from a model that did not see it;
    `precision_recall_curve` gives F1 at every distinct probability at once. This is what
    `TunedThresholdClassifierCV(scoring="f1")` does, without scoring F1 once per candidate
    threshold (which costs most of a benchmark's time on small data sets).
    """
    proba = cross_val_predict(model, X, y, cv=cv, method="predict_proba")[:, 1]
    precision, recall, thresholds = precision_recall_curve(y, proba)
    total = precision[:-1] + recall[:-1]
    f1 = np.divide(2 * precision[:-1] * recall[:-1], total, out=np.zeros_like(total), where=total > 0)
    return float(thresholds[np.argmax(f1)])


def benchmark(X, y, seed, n_splits=3):
    """Per-fold scores of every (learner, method) on one data set, all on the same folds.

    Parameters
    ----------
    X : pandas.DataFrame of shape (n_samples, n_features), numeric and ``category`` columns.
        Categories are one-hot encoded once, before the folds (the categories come from the file's
        header, so encoding learns nothing from the data); numbers are scaled inside the pipeline.
    y : array of shape (n_samples,), 0/1 labels, 1 the minority.
    seed : int, seeds the folds (`StratifiedKFold`), the inner threshold-tuning folds, the
        samplers and the learners: one seed is one repetition of the cross-validation, so
        two seeds make repeated stratified folds (2 × `n_splits`).
    n_splits : int, the number of outer folds.

    Returns
    -------
    pandas.DataFrame, one row per (learner, method, fold) with columns learner, method, fold,
    ap, roc_auc, brier, f1_default, f1_tuned.
    """
    X = pd.get_dummies(X, dtype=float).to_numpy()
    outer = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    inner = StratifiedKFold(n_splits=INNER_SPLITS, shuffle=True, random_state=seed)
    rows = []
    for fold, (train, test) in enumerate(outer.split(X, y)):
        for learner in LEARNERS:
            for method in METHODS:
                model = make_model(learner, method, seed)
                threshold = tuned_threshold(model, X[train], y[train], inner)
                model.fit(X[train], y[train])
                proba = model.predict_proba(X[test])[:, 1]
                y_test = y[test]
                rows.append(dict(
                    learner=learner, method=method, fold=fold,
                    ap=average_precision_score(y_test, proba), roc_auc=roc_auc_score(y_test, proba),
                    brier=brier_score_loss(y_test, proba),
                    f1_default=f1_score(y_test, model.predict(X[test])),
                    f1_tuned=f1_score(y_test, (proba >= threshold).astype(int)),
                ))
    return pd.DataFrame(rows)


METRICS = ("ap", "roc_auc", "brier", "f1_default", "f1_tuned")  # brier: lower is better


def paired_differences(scores):
    """Fold by fold, how much each (learner, method) beats no handling at the tuned threshold.

    `scores` stacks `benchmark` outputs with columns `dataset` and `seed` added. Returns one row per
    (dataset, seed, fold, learner, method, metric) with `diff`: the method's score minus the
    baseline's on the same fold, sign flipped for Brier, so that a positive `diff` always means
    better. AP, ROC AUC and Brier do not depend on the threshold: their baseline is no handling.
    F1 is compared at both thresholds with no handling's F1 at the tuned threshold.
    """
    keys = ["dataset", "seed", "fold", "learner"]
    base = scores.loc[scores.method == "none", keys + list(METRICS)].copy()
    base["f1_default"] = base["f1_tuned"]
    both = scores.merge(base, on=keys, how="left", suffixes=("", "_base"))
    rows = []
    for metric in METRICS:
        sign = -1 if metric == "brier" else 1
        keep = both[(both.method != "none") | (metric == "f1_default")]
        rows.append(keep[keys + ["method"]].assign(metric=metric, diff=sign * (keep[metric] - keep[metric + "_base"])))
    return pd.concat(rows, ignore_index=True)


def verdicts(diffs, tie=TIE):
    """Per (learner, method, metric, dataset): mean difference over folds, folds won, and the verdict.

    The verdict is "win" when the mean difference exceeds `tie`, "loss" when it is below `-tie`,
    otherwise "tie".
    """
    per = diffs.groupby(["learner", "method", "metric", "dataset"], sort=False)["diff"].agg(
        mean="mean", folds_won=lambda d: int((d > 0).sum()), folds="size")
    per["verdict"] = np.select([per["mean"] > tie, per["mean"] < -tie], ["win", "loss"], "tie")
    return per


def sign_test(per):
    """Per (learner, method, metric): wins, ties, losses over data sets and the two-sided sign test.

    The sign test is `scipy.stats.binomtest(wins, wins + losses, 0.5)`, ties dropped; with no win
    and no loss its p-value is 1. Also the mean difference over data sets and the folds won.
    """
    def one(group):
        wins, losses = int((group.verdict == "win").sum()), int((group.verdict == "loss").sum())
        p = binomtest(wins, wins + losses, 0.5).pvalue if wins + losses else 1.0
        return pd.Series(dict(mean_diff=group["mean"].mean(), wins=wins, ties=len(group) - wins - losses,
                              losses=losses, p=p, folds_won=group.folds_won.sum(), folds=group.folds.sum()))
    return per.groupby(level=["learner", "method", "metric"], sort=False).apply(one)
