"""Realistic submissions for 02_syntax, with the points each graded cell must give."""
ASSIGNMENT = "02_syntax"
NOTEBOOK = "02_syntax"

ZERO = dict.fromkeys([
    "smallest_counts", "smallest_smote", "smallest_hidden",
    "ratio_counts", "ratio_smote", "ratio_hidden",
    "fraction_counts", "fraction_originals", "fraction_smote", "fraction_hidden",
    "weights_formula", "weights_fit", "weights_hidden",
], 0)

CASES = {
    "float_strategy_everywhere": {
        "why": "uses a float sampling_strategy for the fraction exercise: right for two classes only",
        "answers": {
            "fraction_answer": (
                "def oversample_to_fraction(X, y, fraction, random_state=0):\n"
                "    return SMOTE(sampling_strategy=fraction, random_state=random_state).fit_resample(X, y)\n"
            ),
        },
        "expected": {**ZERO, "fraction_counts": 1, "fraction_originals": 1, "fraction_smote": 1},
    },
    "random_oversampling": {
        "why": "copies minority samples (RandomOverSampler) instead of interpolating",
        "answers": {
            "smallest_answer": (
                "from imblearn.over_sampling import RandomOverSampler\n"
                "def oversample_smallest_class(X, y, random_state=0):\n"
                "    ros = RandomOverSampler(sampling_strategy='minority', random_state=random_state)\n"
                "    return ros.fit_resample(X, y)\n"
            ),
        },
        "expected": {**ZERO, "smallest_counts": 1, "smallest_hidden": 1},
    },
    "every_minority_class": {
        "why": "resamples every class but the majority ('auto') where only the smallest was asked",
        "answers": {
            "smallest_answer": (
                "def oversample_smallest_class(X, y, random_state=0):\n"
                "    return SMOTE(random_state=random_state).fit_resample(X, y)\n"
            ),
        },
        "expected": ZERO,
    },
    "ratio_without_guard": {
        "why": "forgets that SMOTE refuses a ratio that is already reached",
        "answers": {
            "ratio_answer": (
                "def oversample_to_ratio(X, y, ratio, random_state=0):\n"
                "    return SMOTE(sampling_strategy=ratio, random_state=random_state).fit_resample(X, y)\n"
            ),
        },
        "expected": {**ZERO, "ratio_counts": 1, "ratio_smote": 1},
    },
    "weights_with_string_keys": {
        "why": "turns every label into a string key: right for string labels only",
        "answers": {
            "weights_answer": (
                "def balanced_class_weights(y):\n"
                "    labels, counts = np.unique(y, return_counts=True)\n"
                "    return {str(l): len(y) / (len(labels) * c) for l, c in zip(labels, counts)}\n"
            ),
        },
        "expected": {**ZERO, "weights_hidden": 1},
    },
    "weights_inverted": {
        "why": "gives the larger class the larger weight (n_c / n_samples)",
        "answers": {
            "weights_answer": (
                "def balanced_class_weights(y):\n"
                "    labels, counts = np.unique(y, return_counts=True)\n"
                "    return {l: c / len(y) for l, c in zip(labels, counts)}\n"
            ),
        },
        "expected": ZERO,
    },
    "right_in_other_ways": {
        "why": "correct answers written differently: a dict for the smallest class, a callable, a loop",
        "answers": {
            "smallest_answer": (
                "def oversample_smallest_class(X, y, random_state=0):\n"
                "    counts = Counter(y)\n"
                "    smallest = min(counts, key=counts.get)\n"
                "    target = {smallest: max(counts.values())}\n"
                "    return SMOTE(sampling_strategy=target, random_state=random_state).fit_resample(X, y)\n"
            ),
            "ratio_answer": (
                "def oversample_to_ratio(X, y, ratio, random_state=0):\n"
                "    try:\n"
                "        return SMOTE(sampling_strategy=ratio, random_state=random_state).fit_resample(X, y)\n"
                "    except ValueError:\n"
                "        return X, y\n"
            ),
            "fraction_answer": (
                "def oversample_to_fraction(X, y, fraction, random_state=0):\n"
                "    def targets(labels):\n"
                "        counts = Counter(labels)\n"
                "        goal = int(fraction * max(counts.values()))\n"
                "        return {k: goal for k, n in counts.items() if n < goal}\n"
                "    return SMOTE(sampling_strategy=targets, random_state=random_state).fit_resample(X, y)\n"
            ),
            "weights_answer": (
                "def balanced_class_weights(y):\n"
                "    y = np.asarray(y)\n"
                "    labels = sorted(set(y.tolist()))\n"
                "    weights = {}\n"
                "    for label in labels:\n"
                "        weights[label] = len(y) / (len(labels) * np.sum(y == label))\n"
                "    return weights\n"
            ),
        },
        "expected": {k: (2 if k == "fraction_hidden" else 1) for k in ZERO},
    },
}
