"""A grader killed mid-batch loses nothing; grading again gives the same grades, never twice.

One batch of quiz submissions: half right (10 points), half untouched (0). The grader is killed
outright (SIGKILL, as an out-of-memory kill or a closed laptop would) once it has recorded two
results; then it is run again, again, and once more with --regrade.
"""
import csv
import shutil
import subprocess
import sys
import time

import pytest
from nbgrader.api import Gradebook

from conftest import REPO, copy_course, survivors

QUIZ = "08_summary_and_practice"
STUDENTS = {f"student{i}": ("solutions", 10.0) if i % 2 else ("notebooks", 0.0) for i in range(8)}


def grade(root, *options):
    return subprocess.run([sys.executable, "-m", "autograder.grade", "--root", str(root), *options],
                          cwd=REPO, capture_output=True, text=True, timeout=900)


def scores(root):
    with open(root / "autograder" / "grades.csv", newline="") as f:
        rows = [(row["student_id"], row["assignment"], float(row["score"])) for row in csv.DictReader(f)]
    assert len(rows) == len({r[:2] for r in rows}), "a student appears twice"
    return {student: score for student, _, score in rows}


@pytest.fixture(scope="module")
def killed_then_finished(tmp_path_factory):
    root = copy_course(tmp_path_factory.mktemp("resume"))
    for student, (origin, _) in STUDENTS.items():
        shutil.copytree(REPO / origin / QUIZ, root / "autograder" / "submitted" / student / QUIZ)
    results = root / "autograder" / "grading" / "results" / QUIZ
    grader = subprocess.Popen([sys.executable, "-m", "autograder.grade", "--root", str(root), "--workers", "1"],
                              cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while len(list(results.glob("*.json"))) < 2 and grader.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert grader.poll() is None, "the grader finished before it could be killed: make the batch longer"
    grader.kill()
    grader.wait()
    recorded_when_killed = len(list(results.glob("*.json")))
    left_running = survivors(root)
    second = grade(root)
    return root, recorded_when_killed, left_running, second


def test_killing_the_grader_stops_every_worker_and_kernel(killed_then_finished):
    _, _, left_running, _ = killed_then_finished
    assert left_running == ""


def test_second_run_finishes_the_batch_without_grading_anything_twice(killed_then_finished):
    root, recorded, _, second = killed_then_finished
    assert second.returncode == 0, second.stderr
    assert 2 <= recorded < len(STUDENTS)
    summary = next(line for line in second.stdout.splitlines() if line.startswith("Done in"))
    assert f"{len(STUDENTS) - recorded} graded, {recorded} unchanged" in summary, summary
    assert scores(root) == {student: score for student, (_, score) in STUDENTS.items()}
    with Gradebook(f"sqlite:///{root / 'autograder' / 'gradebook.db'}") as gb:
        assert len(gb.find_assignment(QUIZ).submissions) == len(STUDENTS)


def test_grading_again_is_idempotent(killed_then_finished):
    root, *_ = killed_then_finished
    expected = (root / "autograder" / "grades.csv").read_text()
    again = grade(root)
    assert again.returncode == 0, again.stderr
    assert f"{len(STUDENTS)} unchanged" in again.stdout
    assert (root / "autograder" / "grades.csv").read_text() == expected
    regraded = grade(root, "--regrade")
    assert regraded.returncode == 0, regraded.stderr
    assert f"{len(STUDENTS)} graded" in regraded.stdout
    assert (root / "autograder" / "grades.csv").read_text() == expected


def test_a_gradebook_lost_after_grading_is_rebuilt_from_the_recorded_results(killed_then_finished):
    root, *_ = killed_then_finished
    (root / "autograder" / "gradebook.db").unlink()
    rebuilt = grade(root)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert scores(root) == {student: score for student, (_, score) in STUDENTS.items()}
