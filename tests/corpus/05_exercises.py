"""Realistic submissions for source/05_pitfalls/05_exercises.ipynb, with the points each one earns."""

ASSIGNMENT = "05_pitfalls"
NOTEBOOK = "05_exercises"

NOTHING = {
    "m05_ex1_keys": 0, "m05_ex1_values": 0, "m05_ex1_hidden": 0,
    "m05_ex2_pipeline": 0, "m05_ex2_unfitted": 0, "m05_ex2_scoring": 0, "m05_ex2_real_mix": 0,
    "m05_ex2_hidden": 0,
    "m05_ex3_counts": 0, "m05_ex3_categories": 0, "m05_ex3_originals": 0, "m05_ex3_numeric": 0,
    "m05_ex3_hidden": 0,
    "m05_ex4_identity": 0, "m05_ex4_direction": 0, "m05_ex4_known": 0, "m05_ex4_formula": 0,
    "m05_ex4_edges": 0, "m05_ex4_real": 0,
}

RIGHT_PIPELINE = '''
def leakage_free_pipeline(random_state):
    return make_pipeline(StandardScaler(), SMOTE(random_state=random_state), LogisticRegression())
'''

CASES = {
    "weights_before_smote_and_resample_then_cv": {
        "why": "Ex 1: balanced weights of the original y (before SMOTE). Ex 2: right pipeline, but "
               "honest_cv_score resamples X, y with SMOTE and then cross-validates (the leak).",
        "answers": {
            "m05_ex1_answer": '''
def weights_after_smote(y):
    classes = np.unique(y)
    weights = compute_class_weight("balanced", classes=classes, y=y)
    return dict(zip(classes, weights))
''',
            "m05_ex2_answer": RIGHT_PIPELINE + '''

def honest_cv_score(pipeline, X, y):
    X_res, y_res = SMOTE(random_state=0).fit_resample(X, y)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    return float(cross_val_score(pipeline, X_res, y_res, cv=folds, scoring="average_precision").mean())
''',
        },
        # Balanced data (the scoring check) is left alone by SMOTE, so only the leak checks fail.
        "expected": {**NOTHING, "m05_ex1_keys": 1,
                     "m05_ex2_pipeline": 1, "m05_ex2_unfitted": 1, "m05_ex2_scoring": 1},
    },
    "sklearn_pipeline_and_accuracy": {
        "why": "Ex 2: scikit-learn's Pipeline (cannot fit a sampler) and scoring='accuracy'; the "
               "cross-validation itself is honest.",
        "answers": {
            "m05_ex2_answer": '''
from sklearn.pipeline import Pipeline as SkPipeline


def leakage_free_pipeline(random_state):
    return SkPipeline([("scale", StandardScaler()), ("smote", SMOTE(random_state=random_state)),
                       ("model", LogisticRegression())])


def honest_cv_score(pipeline, X, y):
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    return cross_val_score(pipeline, X, y, cv=folds, scoring="accuracy").mean()
''',
        },
        "expected": {**NOTHING, "m05_ex2_real_mix": 1},
    },
    "no_scaler_and_unshuffled_folds": {
        "why": "Ex 2: pipeline without the StandardScaler; cv=5 (folds not shuffled) instead of the "
               "StratifiedKFold asked for.",
        "answers": {
            "m05_ex2_answer": '''
def leakage_free_pipeline(random_state):
    return make_pipeline(SMOTE(random_state=random_state), LogisticRegression())


def honest_cv_score(pipeline, X, y):
    return float(cross_val_score(pipeline, X, y, cv=5, scoring="average_precision").mean())
''',
        },
        "expected": {**NOTHING, "m05_ex2_unfitted": 1, "m05_ex2_real_mix": 1},
    },
    "smote_on_codes_then_rounded": {
        "why": "Ex 3: plain SMOTE on the coded data, category columns rounded afterwards; breaks on "
               "string categories. Ex 4: odds factor upside down (multiplies the odds by r).",
        "answers": {
            "m05_ex3_answer": '''
def resample_mixed(X, y, categorical_features, random_state=0):
    X_res, y_res = SMOTE(random_state=random_state).fit_resample(X, y)
    X_res = np.array(X_res, dtype=float)
    X_res[:, categorical_features] = np.round(X_res[:, categorical_features])
    return X_res, y_res
''',
            "m05_ex4_answer": '''
def correct_for_resampling(proba, train_prevalence, resampled_prevalence):
    p = np.asarray(proba, dtype=float)
    r = (train_prevalence / (1 - train_prevalence)) / (resampled_prevalence / (1 - resampled_prevalence))
    out = p / (p + r * (1 - p))
    return out if out.ndim else float(out)
''',
        },
        "expected": {**NOTHING, "m05_ex3_counts": 1, "m05_ex3_originals": 1, "m05_ex3_numeric": 1,
                     "m05_ex4_identity": 1, "m05_ex4_edges": 1},
    },
    "smoten_for_mixed_data": {
        "why": "Ex 3: SMOTEN, which treats the numeric columns as categories and copies their values.",
        "answers": {
            "m05_ex3_answer": '''
def resample_mixed(X, y, categorical_features, random_state=0):
    return SMOTEN(random_state=random_state).fit_resample(X, y)
''',
        },
        "expected": {**NOTHING, "m05_ex3_counts": 1, "m05_ex3_categories": 1, "m05_ex3_originals": 1},
    },
    "float_cast_and_string_keys": {
        "why": "Ex 1: right values but keys turned into strings. Ex 3: SMOTENC, but X cast to a float "
               "array first (fine on codes, breaks on string categories and DataFrames).",
        "answers": {
            "m05_ex1_answer": '''
def weights_after_smote(y):
    counts = Counter(np.asarray(y).tolist())
    n_max = max(counts.values())
    total = n_max * len(counts)
    return {str(label): total / (len(counts) * n_max) for label in counts}
''',
            "m05_ex3_answer": '''
def resample_mixed(X, y, categorical_features, random_state=0):
    X = np.asarray(X, dtype=float)
    return SMOTENC(categorical_features=categorical_features, random_state=random_state).fit_resample(X, y)
''',
        },
        "expected": {**NOTHING, "m05_ex1_values": 1, "m05_ex1_hidden": 1,
                     "m05_ex3_counts": 1, "m05_ex3_categories": 1, "m05_ex3_originals": 1,
                     "m05_ex3_numeric": 1},
    },
    "naive_odds_formula": {
        "why": "Ex 4: the right correction written as p / (1 - p): divides by zero at p = 1.",
        "answers": {
            "m05_ex4_answer": '''
def correct_for_resampling(proba, train_prevalence, resampled_prevalence):
    odds = proba / (1 - proba)
    odds = odds * (train_prevalence / (1 - train_prevalence)) / (resampled_prevalence / (1 - resampled_prevalence))
    return odds / (1 + odds)
''',
        },
        "expected": {**NOTHING, "m05_ex4_identity": 1, "m05_ex4_direction": 1, "m05_ex4_known": 1,
                     "m05_ex4_formula": 1, "m05_ex4_real": 1},
    },
    "right_in_unusual_ways": {
        "why": "All right, differently: weights written as 1.0 outright, a Pipeline built from named "
               "steps, a hand-written cross-validation loop, SMOTENC with an explicit target dict, "
               "and the correction as a shift on the logit scale (scipy.special).",
        "answers": {
            "m05_ex1_answer": '''
def weights_after_smote(y):
    # After default SMOTE all classes are as large as the majority: n / (k * n_c) = 1 for every class.
    return dict.fromkeys(np.unique(y).tolist(), 1.0)
''',
            "m05_ex2_answer": '''
from imblearn.pipeline import Pipeline as ImbalancedPipeline


def leakage_free_pipeline(random_state):
    return ImbalancedPipeline(steps=[("scale", StandardScaler()),
                                     ("oversample", SMOTE(random_state=random_state)),
                                     ("classify", LogisticRegression())])


def honest_cv_score(pipeline, X, y):
    X, y = np.asarray(X), np.asarray(y)
    scores = []
    for train, valid in StratifiedKFold(n_splits=5, shuffle=True, random_state=0).split(X, y):
        model = clone(pipeline).fit(X[train], y[train])
        scores.append(average_precision_score(y[valid], model.predict_proba(X[valid])[:, 1]))
    return float(np.mean(scores))
''',
            "m05_ex3_answer": '''
def resample_mixed(X, y, categorical_features, random_state=0):
    counts = Counter(np.asarray(y).tolist())
    target = max(counts.values())
    sampler = SMOTENC(categorical_features=categorical_features, k_neighbors=5,
                      sampling_strategy={label: target for label in counts}, random_state=random_state)
    X_res, y_res = sampler.fit_resample(X, y)
    return X_res, y_res
''',
            "m05_ex4_answer": '''
from scipy.special import expit, logit


def correct_for_resampling(proba, train_prevalence, resampled_prevalence):
    return expit(logit(proba) + logit(train_prevalence) - logit(resampled_prevalence))
''',
        },
        "expected": {**{name: 1 for name in NOTHING}, "m05_ex3_hidden": 2},
    },
    # Correct answers in styles the statement allows: full marks for exercise 2.
    "penalty_written_out_warns": {
        "why": "Ex 2 right, with LogisticRegression(penalty='l2'): the default written out, which "
               "scikit-learn 1.9 answers with a FutureWarning when the pipeline is fitted.",
        "answers": {"m05_ex2_answer": '''
def leakage_free_pipeline(random_state):
    return make_pipeline(StandardScaler(), SMOTE(random_state=random_state), LogisticRegression(penalty="l2"))


def honest_cv_score(pipeline, X, y):
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    return float(cross_val_score(pipeline, X, y, cv=folds, scoring="average_precision").mean())
'''},
        "expected": {**NOTHING, "m05_ex2_pipeline": 1, "m05_ex2_unfitted": 1, "m05_ex2_scoring": 1,
                     "m05_ex2_real_mix": 1, "m05_ex2_hidden": 1},
    },
    "own_pipeline_class": {
        "why": "Ex 2 right, with a Pipeline subclass of the student's own: it stays in the kernel and is "
               "used there (isinstance, steps, fit and predict).",
        "answers": {"m05_ex2_answer": '''
from imblearn.pipeline import Pipeline


class LeakFree(Pipeline):
    """An imbalanced-learn Pipeline with a name of its own."""


def leakage_free_pipeline(random_state):
    return LeakFree([("scale", StandardScaler()), ("smote", SMOTE(random_state=random_state)),
                     ("model", LogisticRegression())])


def honest_cv_score(pipeline, X, y):
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    return float(np.mean(cross_val_score(pipeline, X, y, cv=folds, scoring="average_precision")))
'''},
        "expected": {**NOTHING, "m05_ex2_pipeline": 1, "m05_ex2_unfitted": 1, "m05_ex2_scoring": 1,
                     "m05_ex2_real_mix": 1, "m05_ex2_hidden": 1},
    },
}
