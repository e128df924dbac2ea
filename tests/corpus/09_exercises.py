"""Realistic submissions for 09_exercises, with the points each graded cell must give."""
ASSIGNMENT = "09_benchmark"
NOTEBOOK = "09_exercises"

FULL = {"m09_ex1_values": 1, "m09_ex1_lower": 1, "m09_ex1_hidden": 1, "m09_ex2_counts": 1, "m09_ex2_hidden": 1,
        "m09_ex3_pvalue": 1, "m09_ex3_decision": 1, "m09_ex3_hidden": 1, "m09_ex4_test": 1}

# Right answers written the way the reference does, for the exercises a case does not vary.
EX1 = (
    "def mean_differences(scores, method, baseline, higher_is_better=True):\n"
    "    diff = scores[method] - scores[baseline]\n"
    "    if not higher_is_better:\n"
    "        diff = -diff\n"
    "    return diff.groupby(scores['dataset']).mean()\n"
)
EX2 = (
    "def win_tie_loss(differences, tie):\n"
    "    d = np.asarray(list(differences.values()) if isinstance(differences, dict) else differences, dtype=float)\n"
    "    wins, losses = int((d > tie).sum()), int((d < -tie).sum())\n"
    "    return wins, len(d) - wins - losses, losses\n"
)
EX3 = (
    "def sign_test_decision(wins, ties, losses, alpha=0.05):\n"
    "    if wins + losses == 0:\n"
    "        return 1.0, 'no evidence'\n"
    "    p = binomtest(wins, wins + losses).pvalue\n"
    "    if p < alpha:\n"
    "        return p, 'better' if wins > losses else 'worse'\n"
    "    return p, 'no evidence'\n"
)


def plot_answer(letter):
    return f"def answer_plot():\n    return {letter!r}\n"


CASES = {
    "numpy_only_dict_binom_tails": {
        "why": "right throughout without pandas methods: a dict comprehension over np.unique for ex1, "
               "np.count_nonzero for ex2, the two-sided p-value as twice the smaller binomial tail "
               "(scipy.stats.binom; equal to binomtest's for p=0.5) for ex3, a lower-case letter for ex4",
        "answers": {
            "m09_ex1_answer": (
                "def mean_differences(scores, method, baseline, higher_is_better=True):\n"
                "    names = scores['dataset'].to_numpy()\n"
                "    d = scores[method].to_numpy(dtype=float) - scores[baseline].to_numpy(dtype=float)\n"
                "    if not higher_is_better:\n"
                "        d = -d\n"
                "    return {name: float(d[names == name].mean()) for name in np.unique(names)}\n"
            ),
            "m09_ex2_answer": (
                "def win_tie_loss(differences, tie):\n"
                "    if isinstance(differences, dict):\n"
                "        differences = list(differences.values())\n"
                "    d = np.asarray(differences, dtype=float)\n"
                "    return (np.count_nonzero(d > tie), np.count_nonzero(np.abs(d) <= tie), np.count_nonzero(d < -tie))\n"
            ),
            "m09_ex3_answer": (
                "from scipy.stats import binom\n"
                "\n"
                "\n"
                "def sign_test_decision(wins, ties, losses, alpha=0.05):\n"
                "    n = wins + losses\n"
                "    p = 1.0 if n == 0 else min(1.0, 2 * binom.cdf(min(wins, losses), n, 0.5))\n"
                "    if p < alpha and wins != losses:\n"
                "        return float(p), 'better' if wins > losses else 'worse'\n"
                "    return float(p), 'no evidence'\n"
            ),
            "m09_ex4_answer": plot_answer("c"),
        },
        "expected": FULL,
    },
    "lambdas_and_a_callable_helper_class": {
        "why": "right throughout: ex1 and ex2 are lambdas (ex2 through a pandas Series, which takes a "
               "dict, a Series or an array), ex3 is an instance of a class with __call__ that holds the "
               "default alpha, ex4 a letter with spaces",
        "answers": {
            "m09_ex1_answer": (
                "mean_differences = lambda scores, method, baseline, higher_is_better=True: (\n"
                "    (scores[method] - scores[baseline]) * (1 if higher_is_better else -1)\n"
                ").groupby(scores['dataset']).mean()\n"
            ),
            "m09_ex2_answer": (
                "as_series = lambda values: pd.Series(values, dtype=float)\n"
                "win_tie_loss = lambda differences, tie: (\n"
                "    int((as_series(differences) > tie).sum()),\n"
                "    int((as_series(differences).abs() <= tie).sum()),\n"
                "    int((as_series(differences) < -tie).sum()),\n"
                ")\n"
            ),
            "m09_ex3_answer": (
                "class SignTest:\n"
                "    \"\"\"The sign test as an object: call it like the function.\"\"\"\n"
                "\n"
                "    def __init__(self, default_alpha=0.05):\n"
                "        self.default_alpha = default_alpha\n"
                "\n"
                "    def __call__(self, wins, ties, losses, alpha=None):\n"
                "        alpha = self.default_alpha if alpha is None else alpha\n"
                "        p = binomtest(wins, wins + losses).pvalue if wins + losses else 1.0\n"
                "        if p >= alpha:\n"
                "            return p, 'no evidence'\n"
                "        return p, ('better' if wins > losses else 'worse')\n"
                "\n"
                "\n"
                "sign_test_decision = SignTest()\n"
            ),
            "m09_ex4_answer": plot_answer(" C "),
        },
        "expected": FULL,
    },
    "counts_as_a_namedtuple": {
        "why": "right throughout; ex2 returns its counts as a namedtuple (a tuple, as the statement asks), "
               "a class defined in the notebook that crosses to the grader as its items",
        "answers": {
            "m09_ex1_answer": EX1,
            "m09_ex2_answer": (
                "from collections import namedtuple\n"
                "\n"
                "Counts = namedtuple('Counts', 'wins ties losses')\n"
                "\n"
                "\n"
                "def win_tie_loss(differences, tie):\n"
                "    d = pd.Series(differences, dtype=float)\n"
                "    return Counts(int((d > tie).sum()), int((d.abs() <= tie).sum()), int((d < -tie).sum()))\n"
            ),
            "m09_ex3_answer": EX3,
            "m09_ex4_answer": plot_answer("C"),
        },
        "expected": FULL,
    },
    "ignores_loss_direction_ties_at_boundary_one_sided": {
        "why": "ex1 never flips the sign for a loss; ex2 counts a difference of exactly ±tie as a win "
               "or a loss (>=); ex3 uses the one-sided test (alternative='greater'), so 2 wins against "
               "10 losses is 'no evidence'; ex4 trusts the mean bar (A)",
        "answers": {
            "m09_ex1_answer": (
                "def mean_differences(scores, method, baseline, higher_is_better=True):\n"
                "    return (scores[method] - scores[baseline]).groupby(scores['dataset']).mean()\n"
            ),
            "m09_ex2_answer": (
                "def win_tie_loss(differences, tie):\n"
                "    d = np.asarray(list(differences.values()) if isinstance(differences, dict) else differences, dtype=float)\n"
                "    wins, losses = int((d >= tie).sum()), int((d <= -tie).sum())\n"
                "    return wins, len(d) - wins - losses, losses\n"
            ),
            "m09_ex3_answer": (
                "def sign_test_decision(wins, ties, losses, alpha=0.05):\n"
                "    if wins + losses == 0:\n"
                "        return 1.0, 'no evidence'\n"
                "    p = binomtest(wins, wins + losses, alternative='greater').pvalue\n"
                "    if p < alpha:\n"
                "        return p, 'better' if wins > losses else 'worse'\n"
                "    return p, 'no evidence'\n"
            ),
            "m09_ex4_answer": plot_answer("A"),
        },
        "expected": {**dict.fromkeys(FULL, 0), "m09_ex1_values": 1, "m09_ex2_counts": 1},
    },
    "pooled_mean_dict_counts_no_direction": {
        "why": "ex1 averages over the whole table (one number, not one per data set); ex2 returns a dict "
               "{'wins': ..} instead of a tuple; ex3's p-value is right but any p < alpha is called "
               "'better'; ex4 answers B (one weights dot is left of the line)",
        "answers": {
            "m09_ex1_answer": (
                "def mean_differences(scores, method, baseline, higher_is_better=True):\n"
                "    sign = 1 if higher_is_better else -1\n"
                "    return float(sign * (scores[method] - scores[baseline]).mean())\n"
            ),
            "m09_ex2_answer": (
                "def win_tie_loss(differences, tie):\n"
                "    d = pd.Series(differences, dtype=float)\n"
                "    return {'wins': int((d > tie).sum()), 'ties': int((d.abs() <= tie).sum()), 'losses': int((d < -tie).sum())}\n"
            ),
            "m09_ex3_answer": (
                "def sign_test_decision(wins, ties, losses, alpha=0.05):\n"
                "    p = binomtest(wins, wins + losses).pvalue if wins + losses else 1.0\n"
                "    return p, 'better' if p < alpha else 'no evidence'\n"
            ),
            "m09_ex4_answer": plot_answer("B"),
        },
        "expected": {**dict.fromkeys(FULL, 0), "m09_ex3_pvalue": 1, "m09_ex3_hidden": 1},
    },
    "ties_counted_in_the_test": {
        "why": "ex1 and ex2 right; ex3 keeps the ties in the sign test's n (binomtest(wins, wins + ties + "
               "losses)), which makes every p-value too large and 12 ties a 'significant' loss; ex4 right",
        "answers": {
            "m09_ex1_answer": EX1,
            "m09_ex2_answer": EX2,
            "m09_ex3_answer": (
                "def sign_test_decision(wins, ties, losses, alpha=0.05):\n"
                "    n = wins + ties + losses\n"
                "    p = binomtest(wins, n).pvalue if n else 1.0\n"
                "    if p < alpha:\n"
                "        return p, 'better' if wins > losses else 'worse'\n"
                "    return p, 'no evidence'\n"
            ),
            "m09_ex4_answer": plot_answer("C"),
        },
        "expected": {**FULL, "m09_ex3_pvalue": 0, "m09_ex3_decision": 0, "m09_ex3_hidden": 0},
    },
}
