"""`make grade` gives the reference solution full marks and an untouched notebook zero."""
import csv
import shutil

import pytest

from conftest import REPO, assignments, copy_course, make, read


def points(assignment):
    """Total points of an assignment, from its source notebook's nbgrader metadata."""
    nb = read(REPO / "source" / assignment / f"{assignment}.ipynb")
    return sum(c.metadata.get("nbgrader", {}).get("points", 0) for c in nb.cells)


GRADED = [a for a in assignments() if points(a) > 0]
STUDENTS = {"reference": "solutions", "untouched": "notebooks"}


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    root = copy_course(tmp_path_factory.mktemp("grading"))
    for student, folder in STUDENTS.items():
        for assignment in GRADED:
            shutil.copytree(REPO / folder / assignment, root / "autograder" / "submitted" / student / assignment)
    result = make("grade", root)
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def grades(root):
    with open(root / "autograder" / "grades.csv", newline="") as f:
        return {(row["student_id"], row["assignment"]): row for row in csv.DictReader(f)}


def test_there_is_a_graded_assignment():
    assert GRADED, "no assignment in source/ has graded cells"


@pytest.mark.parametrize("assignment", GRADED)
def test_reference_solution_gets_full_marks(graded_course, assignment):
    row = grades(graded_course)[("reference", assignment)]
    assert float(row["max_score"]) == points(assignment)
    assert float(row["score"]) == points(assignment)


@pytest.mark.parametrize("assignment", GRADED)
def test_untouched_notebook_gets_zero(graded_course, assignment):
    row = grades(graded_course)[("untouched", assignment)]
    assert float(row["score"]) == 0.0
    assert float(row["max_score"]) == points(assignment)


@pytest.mark.parametrize("assignment", GRADED)
@pytest.mark.parametrize("student", STUDENTS)
def test_feedback_and_report(graded_course, student, assignment):
    html = graded_course / "autograder" / "feedback" / student / assignment / f"{assignment}.html"
    assert html.is_file()
    report = (graded_course / "autograder" / "grading-report.txt").read_text().splitlines()
    assert f"{student} {assignment}: graded" in report


def test_one_row_per_student_and_assignment(graded_course):
    with open(graded_course / "autograder" / "grades.csv", newline="") as f:
        keys = [(row["student_id"], row["assignment"]) for row in csv.DictReader(f)]
    assert len(keys) == len(set(keys))
    assert set(keys) == {(s, a) for s in STUDENTS for a in GRADED}
