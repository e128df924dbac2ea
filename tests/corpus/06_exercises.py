"""Realistic submissions for 06_exercises, with the points each graded cell must give."""
ASSIGNMENT = "06_beyond_smote"
NOTEBOOK = "06_exercises"

ZERO = dict.fromkeys([
    "m06_ex1_model", "m06_ex1_settings", "m06_ex1_beats_untuned", "m06_ex1_hidden",
    "m06_ex2_structure", "m06_ex2_tomek", "m06_ex2_enn", "m06_ex2_hidden_minority_zero",
    "m06_ex2_hidden_strings",
    "m06_ex3_counts", "m06_ex3_originals_first", "m06_ex3_on_segments", "m06_ex3_random_state",
    "m06_ex3_spread", "m06_ex3_statistics", "m06_ex3_hidden_minority_zero", "m06_ex3_hidden_strings",
    "m06_ex3_hidden_k3", "m06_ex3_hidden_small_minority",
], 0)
EX1_FULL = {"m06_ex1_model": 1, "m06_ex1_settings": 1, "m06_ex1_beats_untuned": 1, "m06_ex1_hidden": 1}
EX2_FULL = {"m06_ex2_structure": 1, "m06_ex2_tomek": 1, "m06_ex2_enn": 1, "m06_ex2_hidden_minority_zero": 1,
            "m06_ex2_hidden_strings": 1}
EX3_FULL = {"m06_ex3_counts": 1, "m06_ex3_originals_first": 1, "m06_ex3_on_segments": 2,
            "m06_ex3_random_state": 1, "m06_ex3_spread": 1, "m06_ex3_statistics": 1,
            "m06_ex3_hidden_minority_zero": 1, "m06_ex3_hidden_strings": 1, "m06_ex3_hidden_k3": 1,
            "m06_ex3_hidden_small_minority": 1}

CASES = {
    "defaults_bincount_no_guard": {
        "why": "ex1 relies on TunedThresholdClassifierCV's defaults (balanced accuracy, 5 folds: right); "
               "ex2 takes label 0 as the majority with np.bincount; ex3 is right but never checks that "
               "the minority has more than k_neighbors rows",
        "answers": {
            "m06_ex1_answer": (
                "def make_strong_baseline(random_state):\n"
                "    return TunedThresholdClassifierCV(HistGradientBoostingClassifier(random_state=random_state))\n"
            ),
            "m06_ex2_answer": (
                "def cleaning_effect(X, y):\n"
                "    before = np.bincount(y)\n"
                "    out = {}\n"
                "    for name, sampler in [('tomek', TomekLinks()), ('enn', EditedNearestNeighbours())]:\n"
                "        _, y_res = sampler.fit_resample(X, y)\n"
                "        after = np.bincount(y_res, minlength=2)\n"
                "        out[name] = {'majority': before[0] - after[0], 'minority': before[1] - after[1]}\n"
                "    return out\n"
            ),
            "m06_ex3_answer": (
                "def smote_from_scratch(X, y, k_neighbors=5, random_state=0):\n"
                "    X = np.asarray(X, dtype=float)\n"
                "    y = np.asarray(y)\n"
                "    labels, counts = np.unique(y, return_counts=True)\n"
                "    minority = labels[np.argmin(counts)]\n"
                "    X_min = X[y == minority]\n"
                "    n_new = counts.max() - counts.min()\n"
                "    nn = NearestNeighbors(n_neighbors=k_neighbors + 1).fit(X_min)\n"
                "    idx = nn.kneighbors(X_min, return_distance=False)[:, 1:]\n"
                "    rng = np.random.default_rng(random_state)\n"
                "    i = rng.integers(0, len(X_min), n_new)\n"
                "    j = idx[i, rng.integers(0, k_neighbors, n_new)]\n"
                "    u = rng.uniform(0, 1, (n_new, 1))\n"
                "    X_new = X_min[i] + u * (X_min[j] - X_min[i])\n"
                "    return np.vstack([X, X_new]), np.concatenate([y, np.full(n_new, minority)])\n"
            ),
        },
        "expected": {**EX1_FULL,
                     "m06_ex2_structure": 1, "m06_ex2_tomek": 1, "m06_ex2_enn": 1,
                     "m06_ex2_hidden_minority_zero": 0, "m06_ex2_hidden_strings": 0,
                     **EX3_FULL, "m06_ex3_hidden_small_minority": 0},
    },
    "f1_all_classes_self_neighbour": {
        "why": "ex1 tunes for F1 (fails on string labels without pos_label); ex2 cleans both classes "
               "(sampling_strategy='all'); ex3 asks NearestNeighbors for k neighbours and keeps the row "
               "itself among them (a fifth of the synthetic rows are copies, so they are not spread along "
               "the segments either), with no size check",
        "answers": {
            "m06_ex1_answer": (
                "def make_strong_baseline(random_state):\n"
                "    hgb = HistGradientBoostingClassifier(random_state=random_state)\n"
                "    return TunedThresholdClassifierCV(hgb, scoring='f1', cv=5)\n"
            ),
            "m06_ex2_answer": (
                "def cleaning_effect(X, y):\n"
                "    labels, counts = np.unique(y, return_counts=True)\n"
                "    maj, mino = labels[np.argmax(counts)], labels[np.argmin(counts)]\n"
                "    result = {}\n"
                "    for key, sampler in {'tomek': TomekLinks(sampling_strategy='all'),\n"
                "                         'enn': EditedNearestNeighbours(sampling_strategy='all')}.items():\n"
                "        _, y_res = sampler.fit_resample(X, y)\n"
                "        result[key] = {'majority': int((y == maj).sum() - (y_res == maj).sum()),\n"
                "                       'minority': int((y == mino).sum() - (y_res == mino).sum())}\n"
                "    return result\n"
            ),
            "m06_ex3_answer": (
                "def smote_from_scratch(X, y, k_neighbors=5, random_state=0):\n"
                "    X, y = np.asarray(X, dtype=float), np.asarray(y)\n"
                "    labels, counts = np.unique(y, return_counts=True)\n"
                "    minority = labels[np.argmin(counts)]\n"
                "    X_min = X[y == minority]\n"
                "    n_new = counts.max() - len(X_min)\n"
                "    idx = NearestNeighbors(n_neighbors=k_neighbors).fit(X_min).kneighbors(X_min, return_distance=False)\n"
                "    rng = np.random.default_rng(random_state)\n"
                "    base = rng.integers(0, len(X_min), n_new)\n"
                "    other = idx[base, rng.integers(0, k_neighbors, n_new)]\n"
                "    u = rng.random((n_new, 1))\n"
                "    new = X_min[base] + u * (X_min[other] - X_min[base])\n"
                "    return np.vstack([X, new]), np.concatenate([y, np.full(n_new, minority, dtype=y.dtype)])\n"
            ),
        },
        "expected": {**ZERO,
                     "m06_ex1_model": 1, "m06_ex1_beats_untuned": 1,
                     "m06_ex2_structure": 1,
                     "m06_ex3_counts": 1, "m06_ex3_originals_first": 1, "m06_ex3_random_state": 1,
                     "m06_ex3_statistics": 1, "m06_ex3_hidden_minority_zero": 1,
                     "m06_ex3_hidden_strings": 1, "m06_ex3_hidden_k3": 1},
    },
    "untuned_model_one_u_minority_is_one": {
        "why": "ex1 returns the untuned HistGradientBoostingClassifier; ex2 passes n_neighbors=5 to ENN; "
               "ex3 draws a single u for all synthetic rows and takes label 1 as the minority",
        "answers": {
            "m06_ex1_answer": (
                "def make_strong_baseline(random_state):\n"
                "    return HistGradientBoostingClassifier(random_state=random_state)\n"
            ),
            "m06_ex2_answer": (
                "def cleaning_effect(X, y):\n"
                "    y = np.asarray(y)\n"
                "    labels, counts = np.unique(y, return_counts=True)\n"
                "    maj, mino = labels[np.argmax(counts)], labels[np.argmin(counts)]\n"
                "    out = {}\n"
                "    for name, s in (('tomek', TomekLinks()), ('enn', EditedNearestNeighbours(n_neighbors=5))):\n"
                "        _, kept = s.fit_resample(X, y)\n"
                "        out[name] = {'majority': int(np.sum(y == maj) - np.sum(kept == maj)),\n"
                "                     'minority': int(np.sum(y == mino) - np.sum(kept == mino))}\n"
                "    return out\n"
            ),
            "m06_ex3_answer": (
                "def smote_from_scratch(X, y, k_neighbors=5, random_state=0):\n"
                "    X, y = np.asarray(X, dtype=float), np.asarray(y)\n"
                "    X_min = X[y == 1]\n"
                "    if len(X_min) <= k_neighbors:\n"
                "        raise ValueError(f'need more than k_neighbors={k_neighbors} minority samples')\n"
                "    n_new = int(np.sum(y != 1) - len(X_min))\n"
                "    idx = NearestNeighbors(n_neighbors=k_neighbors + 1).fit(X_min).kneighbors(X_min)[1][:, 1:]\n"
                "    rng = np.random.default_rng(random_state)\n"
                "    u = rng.random()\n"
                "    base = rng.integers(0, len(X_min), n_new)\n"
                "    nb = idx[base, rng.integers(0, k_neighbors, n_new)]\n"
                "    new = X_min[base] + u * (X_min[nb] - X_min[base])\n"
                "    return np.vstack([X, new]), np.concatenate([y, np.ones(n_new, dtype=y.dtype)])\n"
            ),
        },
        "expected": {**ZERO,
                     "m06_ex2_structure": 1, "m06_ex2_tomek": 1,
                     "m06_ex3_counts": 1, "m06_ex3_originals_first": 1, "m06_ex3_on_segments": 2,
                     "m06_ex3_random_state": 1, "m06_ex3_statistics": 1,
                     "m06_ex3_hidden_k3": 1, "m06_ex3_hidden_small_minority": 1},
    },
    "scorer_object_sample_indices_imblearn_smote": {
        "why": "ex1 right in an unusual way (a balanced-accuracy scorer object, a shuffled StratifiedKFold "
               "of 5 folds); ex2 right in an unusual way (counts from sample_indices_); ex3 calls "
               "imbalanced-learn's SMOTE instead of writing it: no points there",
        "answers": {
            "m06_ex1_answer": (
                "from sklearn.metrics import make_scorer\n"
                "from sklearn.model_selection import StratifiedKFold\n"
                "\n"
                "\n"
                "def make_strong_baseline(random_state):\n"
                "    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=random_state)\n"
                "    return TunedThresholdClassifierCV(\n"
                "        estimator=HistGradientBoostingClassifier(random_state=random_state),\n"
                "        scoring=make_scorer(balanced_accuracy_score), cv=folds,\n"
                "    )\n"
            ),
            "m06_ex2_answer": (
                "def cleaning_effect(X, y):\n"
                "    y = np.asarray(y)\n"
                "    counts = Counter(y.tolist())\n"
                "    majority = max(counts, key=counts.get)\n"
                "    result = {}\n"
                "    for name, sampler in [('tomek', TomekLinks()), ('enn', EditedNearestNeighbours())]:\n"
                "        sampler.fit_resample(X, y)\n"
                "        removed = np.setdiff1d(np.arange(len(y)), sampler.sample_indices_)\n"
                "        is_major = y[removed] == majority\n"
                "        result[name] = {'majority': int(is_major.sum()), 'minority': int((~is_major).sum())}\n"
                "    return result\n"
            ),
            "m06_ex3_answer": (
                "def smote_from_scratch(X, y, k_neighbors=5, random_state=0):\n"
                "    smote = SMOTE(k_neighbors=k_neighbors, random_state=random_state)\n"
                "    return smote.fit_resample(X, y)\n"
            ),
        },
        "expected": {**ZERO, **EX1_FULL, **EX2_FULL},
    },
    "loops_and_randomstate": {
        "why": "ex3 right in an unusual way: explicit Python loops, neighbours by sorting a distance "
               "matrix, numpy's legacy RandomState; the other exercises unanswered",
        "answers": {
            "m06_ex3_answer": (
                "def smote_from_scratch(X, y, k_neighbors=5, random_state=0):\n"
                "    X = np.array(X, dtype=float)\n"
                "    y = np.array(y)\n"
                "    labels = list(set(y.tolist()))\n"
                "    sizes = [int(np.sum(y == lab)) for lab in labels]\n"
                "    small = labels[int(np.argmin(sizes))]\n"
                "    P = X[y == small]\n"
                "    if P.shape[0] < k_neighbors + 1:\n"
                "        raise ValueError('k_neighbors is too large for the minority class: ' + str(P.shape[0]) + ' samples')\n"
                "    dist = np.sqrt(((P[:, None, :] - P[None, :, :]) ** 2).sum(axis=2))\n"
                "    np.fill_diagonal(dist, np.inf)\n"
                "    neigh = np.argsort(dist, axis=1)[:, :k_neighbors]\n"
                "    rs = np.random.RandomState(random_state)\n"
                "    rows = []\n"
                "    for _ in range(max(sizes) - min(sizes)):\n"
                "        i = rs.randint(len(P))\n"
                "        j = neigh[i, rs.randint(k_neighbors)]\n"
                "        gap = rs.uniform(0.0, 1.0)\n"
                "        rows.append(P[i] + gap * (P[j] - P[i]))\n"
                "    new = np.array(rows).reshape(-1, X.shape[1])\n"
                "    new_labels = np.array([small] * len(new), dtype=y.dtype)\n"
                "    return np.concatenate([X, new]), np.concatenate([y, new_labels])\n"
            ),
        },
        "expected": {**ZERO, **EX3_FULL},
    },
    "base_row_drawn_once": {
        "why": "ex3 draws the base row x_i once, before the loop, so every synthetic row grows from the "
               "same minority row: on segments, spread, reproducible, but the wrong distribution",
        "answers": {
            "m06_ex3_answer": (
                "def smote_from_scratch(X, y, k_neighbors=5, random_state=0):\n"
                "    X, y = np.asarray(X, dtype=float), np.asarray(y)\n"
                "    labels, counts = np.unique(y, return_counts=True)\n"
                "    minority = labels[np.argmin(counts)]\n"
                "    X_min = X[y == minority]\n"
                "    if len(X_min) <= k_neighbors:\n"
                "        raise ValueError('the minority class needs more samples than k_neighbors')\n"
                "    nn = NearestNeighbors(n_neighbors=k_neighbors + 1).fit(X_min)\n"
                "    neighbours = nn.kneighbors(X_min, return_distance=False)[:, 1:]\n"
                "    rng = np.random.default_rng(random_state)\n"
                "    i = rng.integers(len(X_min))\n"
                "    new_rows = []\n"
                "    for _ in range(counts.max() - len(X_min)):\n"
                "        j = rng.choice(neighbours[i])\n"
                "        new_rows.append(X_min[i] + rng.random() * (X_min[j] - X_min[i]))\n"
                "    X_new = np.array(new_rows)\n"
                "    return np.vstack([X, X_new]), np.append(y, [minority] * len(X_new))\n"
            ),
        },
        "expected": {**ZERO, **EX3_FULL, "m06_ex3_statistics": 0},
    },
    "synthetic_rows_first": {
        "why": "ex3 puts the synthetic rows before the original ones; its error message does not name "
               "k_neighbors",
        "answers": {
            "m06_ex3_answer": (
                "def smote_from_scratch(X, y, k_neighbors=5, random_state=0):\n"
                "    X, y = np.asarray(X, dtype=float), np.asarray(y)\n"
                "    labels, counts = np.unique(y, return_counts=True)\n"
                "    minority = labels[np.argmin(counts)]\n"
                "    X_min = X[y == minority]\n"
                "    if len(X_min) <= k_neighbors:\n"
                "        raise ValueError('not enough minority samples')\n"
                "    n_new = counts.max() - len(X_min)\n"
                "    idx = NearestNeighbors(n_neighbors=k_neighbors + 1).fit(X_min).kneighbors(X_min)[1][:, 1:]\n"
                "    rng = np.random.default_rng(random_state)\n"
                "    base = rng.integers(0, len(X_min), n_new)\n"
                "    nb = idx[base, rng.integers(0, k_neighbors, n_new)]\n"
                "    X_new = X_min[base] + rng.random((n_new, 1)) * (X_min[nb] - X_min[base])\n"
                "    y_new = np.full(n_new, minority, dtype=y.dtype)\n"
                "    return np.vstack([X_new, X]), np.concatenate([y_new, y])\n"
            ),
        },
        "expected": {**ZERO, **EX3_FULL, "m06_ex3_originals_first": 0, "m06_ex3_hidden_minority_zero": 0,
                     "m06_ex3_hidden_strings": 0, "m06_ex3_hidden_small_minority": 0},
    },
    "scorer_object": {
        "why": "ex1 right, with scoring=make_scorer(balanced_accuracy_score): an estimator holding a "
               "callable, which stays in the kernel and is judged by what it computes",
        "answers": {
            "m06_ex1_answer": (
                "from sklearn.metrics import make_scorer\n\n\n"
                "def make_strong_baseline(random_state):\n"
                "    return TunedThresholdClassifierCV(HistGradientBoostingClassifier(random_state=random_state),\n"
                "                                      scoring=make_scorer(balanced_accuracy_score), cv=5)\n"
            ),
        },
        "expected": {**ZERO, **EX1_FULL},
    },
}
