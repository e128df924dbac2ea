"""Realistic submissions for source/04_sample_model/04_exercises.ipynb and the points each deserves."""

ASSIGNMENT = "04_sample_model"
NOTEBOOK = "04_exercises"

ZERO = {"m04_ex1_meets": 0, "m04_ex1_highest": 0, "m04_ex1_heldout": 0, "m04_ex1_hidden_data": 0,
        "m04_ex1_hidden_full": 0, "m04_ex2_min_cost": 0, "m04_ex2_calibrated": 0,
        "m04_ex2_hidden_data": 0, "m04_ex2_hidden_direction": 0}

CASES = {
    "quantile_and_formula": {
        "why": "Exercise 1 takes np.quantile of the positives' probabilities at 1 - target: interpolated "
               "between two positives, it lands just above the right one and misses the target by a row "
               "(not too low, close on the test rows, right at target 1.0); exercise 2 returns the "
               "calibrated formula cost_fp / (cost_fp + cost_fn) without looking at the data.",
        "answers": {
            "m04_ex1_answer": '''\
def threshold_for_recall(y_val, proba_val, target_recall):
    """Highest t such that predicting proba_val >= t reaches target_recall on the validation rows."""
    return float(np.quantile(proba_val[y_val == 1], 1 - target_recall))
''',
            "m04_ex2_answer": '''\
def threshold_for_cost(y_val, proba_val, cost_fn, cost_fp):
    """Threshold t minimising cost_fn * FN + cost_fp * FP when predicting proba_val >= t."""
    return cost_fp / (cost_fp + cost_fn)
''',
        },
        "expected": {**ZERO, "m04_ex1_highest": 1, "m04_ex1_heldout": 1, "m04_ex1_hidden_full": 1,
                     "m04_ex2_calibrated": 1, "m04_ex2_hidden_direction": 1},
    },
    "lowest_threshold_swapped_costs": {
        "why": "Exercise 1 scans the candidates upwards and returns the first that reaches the target: the "
               "lowest, which flags nearly everything (right only at target 1.0, where the lowest "
               "probability here belongs to a positive); exercise 2 searches correctly but multiplies FP "
               "by cost_fn and FN by cost_fp.",
        "answers": {
            "m04_ex1_answer": '''\
def threshold_for_recall(y_val, proba_val, target_recall):
    """Highest t such that predicting proba_val >= t reaches target_recall on the validation rows."""
    for t in np.sort(proba_val):
        if np.mean(proba_val[y_val == 1] >= t) >= target_recall:
            return float(t)
''',
            "m04_ex2_answer": '''\
def threshold_for_cost(y_val, proba_val, cost_fn, cost_fp):
    """Threshold t minimising cost_fn * FN + cost_fp * FP when predicting proba_val >= t."""
    best_t, best_cost = None, None
    for t in np.unique(proba_val):
        flagged = proba_val >= t
        fp = np.sum(flagged & (y_val == 0))
        fn = np.sum(~flagged & (y_val == 1))
        cost = cost_fn * fp + cost_fp * fn
        if best_cost is None or cost < best_cost:
            best_t, best_cost = t, cost
    return float(best_t)
''',
        },
        "expected": {**ZERO, "m04_ex1_meets": 1, "m04_ex1_hidden_full": 1},
    },
    "pr_curve_and_grouped_cumsum": {
        "why": "Right in unusual ways: exercise 1 reads sklearn's precision_recall_curve; exercise 2 groups "
               "rows by distinct probability with np.unique / np.bincount, counts with reversed cumulative "
               "sums and returns np.inf when flagging nothing is cheapest. Full marks.",
        "answers": {
            "m04_ex1_answer": '''\
from sklearn.metrics import precision_recall_curve


def threshold_for_recall(y_val, proba_val, target_recall):
    """Highest t such that predicting proba_val >= t reaches target_recall on the validation rows."""
    _, recall, thresholds = precision_recall_curve(y_val, proba_val)
    return float(thresholds[recall[:-1] >= target_recall].max())
''',
            "m04_ex2_answer": '''\
def threshold_for_cost(y_val, proba_val, cost_fn, cost_fp):
    """Threshold t minimising cost_fn * FN + cost_fp * FP when predicting proba_val >= t."""
    y, p = np.asarray(y_val), np.asarray(proba_val, dtype=float)
    values, inverse = np.unique(p, return_inverse=True)
    pos = np.bincount(inverse, weights=(y == 1), minlength=len(values))
    neg = np.bincount(inverse, weights=(y == 0), minlength=len(values))
    tp = np.cumsum(pos[::-1])[::-1]  # positives flagged by threshold values[i]
    fp = np.cumsum(neg[::-1])[::-1]
    cost = cost_fn * (pos.sum() - tp) + cost_fp * fp
    best = int(np.argmin(cost))
    return float(values[best]) if cost[best] <= cost_fn * pos.sum() else float("inf")
''',
        },
        "expected": {"m04_ex1_meets": 1, "m04_ex1_highest": 1, "m04_ex1_heldout": 1,
                     "m04_ex1_hidden_data": 1, "m04_ex1_hidden_full": 1, "m04_ex2_min_cost": 2,
                     "m04_ex2_calibrated": 1, "m04_ex2_hidden_data": 1, "m04_ex2_hidden_direction": 1},
    },
    "off_by_one_and_grid": {
        "why": "Exercise 1 indexes one position too far down the sorted positives (flags one positive too "
               "many, and fails with an IndexError at target 1.0); exercise 2 tries only the grid "
               "0, 0.01, ..., 1 instead of the validation probabilities.",
        "answers": {
            "m04_ex1_answer": '''\
def threshold_for_recall(y_val, proba_val, target_recall):
    """Highest t such that predicting proba_val >= t reaches target_recall on the validation rows."""
    positives = np.sort(proba_val[y_val == 1])[::-1]
    k = int(np.ceil(target_recall * len(positives)))
    return float(positives[k])
''',
            "m04_ex2_answer": '''\
def threshold_for_cost(y_val, proba_val, cost_fn, cost_fp):
    """Threshold t minimising cost_fn * FN + cost_fp * FP when predicting proba_val >= t."""
    grid = np.linspace(0, 1, 101)
    costs = [cost_fn * np.sum((proba_val < t) & (y_val == 1)) + cost_fp * np.sum((proba_val >= t) & (y_val == 0))
             for t in grid]
    return float(grid[np.argmin(costs)])
''',
        },
        "expected": {**ZERO, "m04_ex1_meets": 1, "m04_ex1_heldout": 1,
                     "m04_ex2_calibrated": 1, "m04_ex2_hidden_direction": 1},
    },
    "brute_force_and_ties_ignored": {
        "why": "Exercise 1 right by brute force, scanning the distinct probabilities downwards (full "
               "marks); exercise 2 ranks the rows and takes cumulative sums row by row, so with tied "
               "probabilities it scores cut-offs that no threshold can make (fails only on the tree's "
               "tied probabilities).",
        "answers": {
            "m04_ex1_answer": '''\
def threshold_for_recall(y_val, proba_val, target_recall):
    """Highest t such that predicting proba_val >= t reaches target_recall on the validation rows."""
    n_positives = np.sum(y_val == 1)
    for t in np.unique(proba_val)[::-1]:
        found = np.sum((proba_val >= t) & (y_val == 1))
        if found / n_positives >= target_recall:
            return float(t)
''',
            "m04_ex2_answer": '''\
def threshold_for_cost(y_val, proba_val, cost_fn, cost_fp):
    """Threshold t minimising cost_fn * FN + cost_fp * FP when predicting proba_val >= t."""
    order = np.argsort(-proba_val)
    ranked_y, ranked_p = y_val[order], proba_val[order]
    tp = np.cumsum(ranked_y == 1)  # flagging the top k + 1 rows
    fp = np.cumsum(ranked_y == 0)
    cost = cost_fn * (tp[-1] - tp) + cost_fp * fp
    return float(ranked_p[np.argmin(cost)])
''',
        },
        "expected": {"m04_ex1_meets": 1, "m04_ex1_highest": 1, "m04_ex1_heldout": 1,
                     "m04_ex1_hidden_data": 1, "m04_ex1_hidden_full": 1, "m04_ex2_min_cost": 2,
                     "m04_ex2_calibrated": 1, "m04_ex2_hidden_data": 0, "m04_ex2_hidden_direction": 1},
    },
}
