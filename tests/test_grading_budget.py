"""A notebook's grading has a time budget: an answer that sleeps just under the call limit in every
call cannot stretch its grading to calls x limit; past the budget the rest fails with that reason."""
import shutil

from nbgrader.api import Gradebook

import attacks
from conftest import REPO, copy_course, make
from test_corpus import fill_answers

BUDGET, TIMEOUT, SLEEP = 60, 20, 15


def test_a_slow_answer_in_every_call_stops_at_the_budget(tmp_path):
    root = copy_course(tmp_path)
    folder = root / "autograder" / "submitted" / "slow" / attacks.QUIZ
    shutil.copytree(REPO / "notebooks" / attacks.QUIZ, folder)
    sleepy = lambda q: attacks.answer(q, f"import time\ntime.sleep({SLEEP})\nreturn {attacks.RIGHT[q]!r}")
    fill_answers(folder / f"{attacks.QUIZ}.ipynb", attacks.answers(sleepy(1), others=sleepy))
    result = make("grade", root, GRADE_ARGS=f"--timeout {TIMEOUT} --budget {BUDGET}")
    assert result.returncode == 0, result.stdout + result.stderr
    with Gradebook(f"sqlite:///{root / 'autograder' / 'gradebook.db'}") as gb:
        scores = {g.name: g.score for g in gb.find_submission_notebook(attacks.QUIZ, attacks.QUIZ, "slow").grades}
    # Each question's test calls its answer twice: 2 x 15 s. Within 60 s at most two questions pass;
    # without a budget all ten would, after 300 s.
    assert sum(scores.values()) <= 2 and all(scores[f"q{q:02d}_test"] == 0 for q in range(3, 11)), scores
    report = (root / "autograder" / "grading-report.txt").read_text()
    assert f"grading time budget of {BUDGET} s used up" in report, report
