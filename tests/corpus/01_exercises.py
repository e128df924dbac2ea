"""Realistic submissions for source/01_why_imbalance_hurts/01_exercises.ipynb and the points each deserves."""

ASSIGNMENT = "01_why_imbalance_hurts"
NOTEBOOK = "01_exercises"

ZERO = {"m01_ex1_integers": 0, "m01_ex1_shifted": 0, "m01_ex1_hidden": 0,
        "m01_ex2_structure": 0, "m01_ex2_precision_recall": 0, "m01_ex2_f1": 0,
        "m01_ex2_balanced": 0, "m01_ex2_hidden": 0}

CASES = {
    "majority_from_test_set": {
        "why": "Takes the majority and minority from y_test instead of y_train; exercise 2 not attempted. "
               "Right only while both sets have the same balance.",
        "answers": {
            "m01_ex1_answer": '''\
def majority_baseline(y_train, y_test):
    """Accuracy and minority recall on y_test of always predicting y_train's most frequent label."""
    labels, counts = np.unique(y_test, return_counts=True)
    majority, minority = labels[np.argmax(counts)], labels[np.argmin(counts)]
    y_pred = np.full(len(y_test), majority)
    accuracy = np.mean(y_pred == y_test)
    minority_recall = np.mean(y_pred[y_test == minority] == minority)
    return {"accuracy": float(accuracy), "minority_recall": float(minority_recall)}
''',
        },
        "expected": {**ZERO, "m01_ex1_integers": 1},
    },
    "assumes_labels_0_and_1": {
        "why": "Exercise 1 predicts 0 everywhere and calls recall_score with its default pos_label=1; "
               "exercise 2 reads the confusion matrix transposed (rows as predictions), which swaps "
               "precision and recall but leaves F1 unchanged.",
        "answers": {
            "m01_ex1_answer": '''\
from sklearn.metrics import accuracy_score, recall_score


def majority_baseline(y_train, y_test):
    """Accuracy and minority recall on y_test of always predicting y_train's most frequent label."""
    y_pred = np.zeros(len(y_test), dtype=int)  # class 0 is the big one
    return {"accuracy": accuracy_score(y_test, y_pred), "minority_recall": recall_score(y_test, y_pred)}
''',
            "m01_ex2_answer": '''\
def per_class_metrics(cm, labels):
    """{label: {"precision", "recall", "f1"}} and "balanced_accuracy", from a confusion matrix."""
    cm = np.asarray(cm)
    result = {}
    for i, label in enumerate(labels):
        tp = cm[i, i]
        precision = tp / cm[i, :].sum()
        recall = tp / cm[:, i].sum()
        f1 = 2 * precision * recall / (precision + recall)
        result[label] = {"precision": precision, "recall": recall, "f1": f1}
    result["balanced_accuracy"] = np.mean([result[label]["recall"] for label in labels])
    return result
''',
        },
        "expected": {**ZERO, "m01_ex1_integers": 1, "m01_ex1_shifted": 1,
                     "m01_ex2_structure": 1, "m01_ex2_f1": 1},
    },
    "counter_and_no_zero_guard": {
        "why": "Exercise 1 right in plain Python with collections.Counter (full marks); exercise 2 right "
               "but divides without a guard, so a class never predicted gets nan (and a RuntimeWarning).",
        "answers": {
            "m01_ex1_answer": '''\
from collections import Counter


def majority_baseline(y_train, y_test):
    """Accuracy and minority recall on y_test of always predicting y_train's most frequent label."""
    ranked = Counter(y_train.tolist()).most_common()
    majority, minority = ranked[0][0], ranked[-1][0]
    hits = [label == majority for label in y_test]
    minority_rows = [label for label in y_test if label == minority]
    found = sum(1 for _ in minority_rows if majority == minority)  # the baseline only says `majority`
    return {"accuracy": sum(hits) / len(hits),
            "minority_recall": found / len(minority_rows) if minority_rows else 0.0}
''',
            "m01_ex2_answer": '''\
def per_class_metrics(cm, labels):
    """{label: {"precision", "recall", "f1"}} and "balanced_accuracy", from a confusion matrix."""
    cm = np.asarray(cm)
    tp = np.diag(cm)
    precision = tp / cm.sum(axis=0)
    recall = tp / cm.sum(axis=1)
    f1 = 2 * precision * recall / (precision + recall)
    out = {label: {"precision": p, "recall": r, "f1": f}
           for label, p, r, f in zip(labels, precision, recall, f1)}
    out["balanced_accuracy"] = recall.mean()
    return out
''',
        },
        "expected": {**ZERO, "m01_ex1_integers": 1, "m01_ex1_shifted": 1, "m01_ex1_hidden": 1,
                     "m01_ex2_structure": 1, "m01_ex2_precision_recall": 1, "m01_ex2_f1": 1,
                     "m01_ex2_balanced": 1},
    },
    "index_keys": {
        "why": "Exercise 2 otherwise right, but keyed by position 0, 1, ... instead of by label: the "
               "visible checks (labels 0 and 1) cannot tell, the hidden string labels can. Exercise 1 "
               "not attempted.",
        "answers": {
            "m01_ex2_answer": '''\
def per_class_metrics(cm, labels):
    """{label: {"precision", "recall", "f1"}} and "balanced_accuracy", from a confusion matrix."""
    cm = np.asarray(cm, dtype=float)
    result = {}
    recalls = []
    for i in range(len(labels)):
        tp, predicted, actual = cm[i, i], cm[:, i].sum(), cm[i, :].sum()
        p = tp / predicted if predicted else 0.0
        r = tp / actual if actual else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        result[i] = {"precision": p, "recall": r, "f1": f}
        recalls.append(r)
    result["balanced_accuracy"] = sum(recalls) / len(recalls)
    return result
''',
        },
        "expected": {**ZERO, "m01_ex2_structure": 1, "m01_ex2_precision_recall": 1, "m01_ex2_f1": 1,
                     "m01_ex2_balanced": 1},
    },
    "hardcoded_zero_and_plain_accuracy": {
        "why": "Exercise 1 hard-codes the majority label 0 (fails on other labels); exercise 2 reports "
               "the plain accuracy (trace / total) as balanced accuracy.",
        "answers": {
            "m01_ex1_answer": '''\
def majority_baseline(y_train, y_test):
    """Accuracy and minority recall on y_test of always predicting y_train's most frequent label."""
    return {"accuracy": float(np.mean(y_test == 0)), "minority_recall": 0}
''',
            "m01_ex2_answer": '''\
def per_class_metrics(cm, labels):
    """{label: {"precision", "recall", "f1"}} and "balanced_accuracy", from a confusion matrix."""
    cm = np.asarray(cm, dtype=float)
    tp = np.diag(cm)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.nan_to_num(tp / cm.sum(axis=0))
        recall = np.nan_to_num(tp / cm.sum(axis=1))
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    result = {label: {"precision": float(p), "recall": float(r), "f1": float(f)}
              for label, p, r, f in zip(labels, precision, recall, f1)}
    result["balanced_accuracy"] = float(np.trace(cm) / cm.sum())
    return result
''',
        },
        "expected": {**ZERO, "m01_ex1_integers": 1, "m01_ex1_shifted": 1,
                     "m01_ex2_structure": 1, "m01_ex2_precision_recall": 1, "m01_ex2_f1": 1},
    },
    "sklearn_dummy_and_loops": {
        "why": "Right in unusual ways: exercise 1 fits a DummyClassifier on a dummy feature and scores it "
               "with recall_score(pos_label=minority, zero_division=0); exercise 2 loops in plain Python "
               "and uses F1 = 2TP / (2TP + FP + FN). Full marks.",
        "answers": {
            "m01_ex1_answer": '''\
from sklearn.dummy import DummyClassifier
from sklearn.metrics import recall_score


def majority_baseline(y_train, y_test):
    """Accuracy and minority recall on y_test of always predicting y_train's most frequent label."""
    baseline = DummyClassifier(strategy="most_frequent").fit(np.zeros((len(y_train), 1)), y_train)
    y_pred = baseline.predict(np.zeros((len(y_test), 1)))
    labels, counts = np.unique(y_train, return_counts=True)
    minority = labels[np.argmin(counts)]
    return {"accuracy": baseline.score(np.zeros((len(y_test), 1)), y_test),
            "minority_recall": recall_score(y_test, y_pred, pos_label=minority, zero_division=0)}
''',
            "m01_ex2_answer": '''\
def per_class_metrics(cm, labels):
    """{label: {"precision", "recall", "f1"}} and "balanced_accuracy", from a confusion matrix."""
    k = len(labels)
    result, recalls = {}, []
    for i, label in enumerate(labels):
        tp = int(cm[i][i])
        fp = sum(int(cm[j][i]) for j in range(k)) - tp
        fn = sum(int(cm[i][j]) for j in range(k)) - tp
        result[label] = {"precision": tp / (tp + fp) if tp + fp else 0.0,
                         "recall": tp / (tp + fn) if tp + fn else 0.0,
                         "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0}
        recalls.append(result[label]["recall"])
    result["balanced_accuracy"] = sum(recalls) / k
    return result
''',
        },
        "expected": {"m01_ex1_integers": 1, "m01_ex1_shifted": 1, "m01_ex1_hidden": 1,
                     "m01_ex2_structure": 1, "m01_ex2_precision_recall": 1, "m01_ex2_f1": 1,
                     "m01_ex2_balanced": 1, "m01_ex2_hidden": 2},
    },
    # Correct answers that raise a harmless warning inside the student's function: full marks.
    "recall_score_warns_without_minority_rows": {
        "why": "Exercise 1 right, with scikit-learn's recall_score on the minority label: on a test set "
               "without minority rows it warns (UndefinedMetricWarning) and returns 0.0, the right value.",
        "answers": {
            "m01_ex1_answer": '''\
from sklearn.metrics import accuracy_score, recall_score


def majority_baseline(y_train, y_test):
    labels, counts = np.unique(y_train, return_counts=True)
    majority, minority = labels[np.argmax(counts)], labels[np.argmin(counts)]
    y_pred = np.full(len(y_test), majority)
    return {"accuracy": float(accuracy_score(y_test, y_pred)),
            "minority_recall": float(recall_score(y_test, y_pred, labels=[minority], average="macro"))}
''',
        },
        "expected": {**ZERO, "m01_ex1_integers": 1, "m01_ex1_shifted": 1, "m01_ex1_hidden": 1},
    },
    "empty_mean_warns_then_handled": {
        "why": "Exercise 1 right: the mean over no minority rows warns (RuntimeWarning, nan), and the "
               "answer then turns nan into 0.0.",
        "answers": {
            "m01_ex1_answer": '''\
def majority_baseline(y_train, y_test):
    values, counts = np.unique(y_train, return_counts=True)
    majority, minority = values[counts.argmax()], values[counts.argmin()]
    y_test = np.asarray(y_test)
    recall = np.mean(np.full(len(y_test), majority)[y_test == minority] == minority)
    return {"accuracy": float(np.mean(y_test == majority)),
            "minority_recall": 0.0 if np.isnan(recall) else float(recall)}
''',
        },
        "expected": {**ZERO, "m01_ex1_integers": 1, "m01_ex1_shifted": 1, "m01_ex1_hidden": 1},
    },
}
