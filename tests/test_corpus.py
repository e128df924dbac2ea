"""`make grade` on the submission corpus: exact points per graded cell, grades.csv, feedback, report.

Every graded notebook also gets two submissions written by no one: its executed solution
(`reference`: full marks) and its untouched student version (`untouched`: zero).
"""
import csv
import html
import importlib.util
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from conftest import REPO, copy_course, make, read

CORPUS = REPO / "tests" / "corpus"


def graded_cells(nb):
    """{grade_id: points} of a notebook's graded cells."""
    return {c.metadata.nbgrader["grade_id"]: c.metadata.nbgrader["points"]
            for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}


def load_corpus():
    """(student_id, assignment, notebook, answers, expected) for every case."""
    cases = []
    for path in sorted((REPO / "source").glob("*/*.ipynb")):
        assignment, notebook = path.parent.name, path.stem
        points = graded_cells(read(path))
        if not points:
            continue
        cases.append((f"{notebook}--reference", assignment, notebook, "solutions", {}, points))
        cases.append((f"{notebook}--untouched", assignment, notebook, "notebooks", {}, dict.fromkeys(points, 0)))
        corpus_file = CORPUS / f"{notebook}.py"
        if corpus_file.exists():
            spec = importlib.util.spec_from_file_location(notebook, corpus_file)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            assert (module.ASSIGNMENT, module.NOTEBOOK) == (assignment, notebook), corpus_file
            for name, case in module.CASES.items():
                assert set(case["expected"]) == set(points), f"{corpus_file.name}:{name} must list every graded cell"
                cases.append((f"{notebook}--{name}", assignment, notebook, "notebooks", case["answers"], case["expected"]))
    return cases


CASES = load_corpus()


def fill_answers(path, answers):
    """Replace the named answer cells of the notebook at `path` with a student's code."""
    nb = read(path)
    ids = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    for grade_id, code in answers.items():
        assert ids[grade_id].metadata.nbgrader.get("solution"), f"{grade_id} is not an answer cell"
        ids[grade_id].source = code
    nbformat.write(nb, path)


SOLUTION = REPO / "solutions" / "02_syntax" / "02_syntax.ipynb"
FULL_MARKS = sum(graded_cells(read(REPO / "source" / "02_syntax" / "02_syntax.ipynb")).values())
# Submissions that are broken as files: (student, assignment folder, {file: text or notebook path},
# score in grades.csv or None for no row, the report line's text after "student assignment: ").
BROKEN = [
    ("broken--not-json", "02_syntax", {"02_syntax.ipynb": "{not json"}, 0,
     "zero: nothing to grade: 02_syntax.ipynb is not a notebook (NotJSONError"),
    ("broken--json-but-no-notebook", "02_syntax", {"02_syntax.ipynb": '{"cells": 1}'}, 0,
     "zero: nothing to grade: 02_syntax.ipynb is not a notebook"),
    ("broken--empty-file", "02_syntax", {"02_syntax.ipynb": ""}, 0,
     "zero: nothing to grade: 02_syntax.ipynb is empty (0 bytes)"),
    ("broken--oversized", "02_syntax", {"02_syntax.ipynb": " " * (21 * 2**20)}, 0,
     "zero: nothing to grade: 02_syntax.ipynb is 21 MB, above the 20 MB limit"),
    ("broken--empty-folder", "02_syntax", {}, 0, "zero: nothing to grade: 02_syntax.ipynb missing"),
    ("broken--renamed", "02_syntax", {"02_syntax (1).ipynb": SOLUTION}, FULL_MARKS,
     "graded (02_syntax (1).ipynb graded as 02_syntax.ipynb)"),
    ("broken--stray-copy", "02_syntax", {"02_syntax.ipynb": SOLUTION, "scratch.ipynb": SOLUTION}, FULL_MARKS,
     "graded (scratch.ipynb ignored: not part of the assignment)"),
    ("broken--misspelt-folder", "02_sintax", {"02_syntax.ipynb": SOLUTION}, None,
     "not graded: no assignment named '02_sintax' in source/"),
]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = copy_course(tmp_path_factory.mktemp("corpus"))
    for student, assignment, notebook, origin, answers, _ in CASES:
        folder = root / "autograder" / "submitted" / student / assignment
        # Only the notebook under test (and the assignment's data): the others count as missing.
        others = lambda _, names: [n for n in names if n.endswith(".ipynb") and n != f"{notebook}.ipynb"]
        shutil.copytree(REPO / origin / assignment, folder, ignore=others)
        fill_answers(folder / f"{notebook}.ipynb", answers)
    for student, assignment, files, _, _ in BROKEN:
        folder = root / "autograder" / "submitted" / student / assignment
        folder.mkdir(parents=True)
        for name, content in files.items():
            if isinstance(content, Path):
                shutil.copy(content, folder / name)
            else:
                (folder / name).write_text(content)
    result = make("grade", root)
    assert result.returncode == 0, result.stdout + result.stderr
    return root


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_points_per_graded_cell(graded, case):
    student, assignment, notebook, _, _, expected = case
    with Gradebook(f"sqlite:///{graded / 'autograder' / 'gradebook.db'}") as gb:
        submission = gb.find_submission_notebook(notebook, assignment, student)
        obtained = {grade.name: grade.score for grade in submission.grades}
    assert obtained == expected


def test_grades_csv_has_one_row_per_student_and_assignment(graded):
    with open(graded / "autograder" / "grades.csv", newline="") as f:
        rows = {(row["student_id"], row["assignment"]): row for row in csv.DictReader(f)}
    submitted = {(student, assignment) for student, assignment, *_ in CASES}
    assert set(rows) >= submitted
    for student, assignment, _, _, _, expected in CASES:
        assert float(rows[(student, assignment)]["score"]) == sum(expected.values()), student


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_feedback_and_report_line(graded, case):
    student, assignment, notebook, *_ = case
    assert (graded / "autograder" / "feedback" / student / assignment / f"{notebook}.html").is_file()
    report = (graded / "autograder" / "grading-report.txt").read_text().splitlines()
    assert any(line.startswith(f"{student} {assignment}: graded") for line in report)


@pytest.mark.parametrize("case", BROKEN, ids=[c[0] for c in BROKEN])
def test_broken_submission_gets_a_reason_and_a_grade(graded, case):
    student, assignment, _, score, reason = case
    report = (graded / "autograder" / "grading-report.txt").read_text().splitlines()
    line = next((ln for ln in report if ln.startswith(f"{student} {assignment}: ")), None)
    assert line is not None, f"no report line for {student}"
    assert line.startswith(f"{student} {assignment}: {reason}"), line
    with open(graded / "autograder" / "grades.csv", newline="") as f:
        rows = {(r["student_id"], r["assignment"]): r for r in csv.DictReader(f)}
    if score is None:
        assert not [key for key in rows if key[0] == student]
    else:
        assert float(rows[(student, assignment)]["score"]) == score


def test_submissions_are_left_as_handed_in(graded):
    folder = graded / "autograder" / "submitted" / "broken--renamed" / "02_syntax"
    assert sorted(p.name for p in folder.iterdir()) == ["02_syntax (1).ipynb"]
    assert (folder / "02_syntax (1).ipynb").read_bytes() == SOLUTION.read_bytes()


def split_hidden(nb, answers):
    """(lines inside hidden-test regions, all other lines of the notebook and of the answers)."""
    hidden, shown = set(), {" ".join(line.split()) for code in answers.values() for line in code.splitlines()}
    for cell in nb.cells:
        inside = False
        for line in cell.source.splitlines():
            inside = inside or "### BEGIN HIDDEN TESTS" in line
            (hidden if inside else shown).add(" ".join(line.split()))
            inside = inside and "### END HIDDEN TESTS" not in line
    return hidden, shown


def visible_text(page):
    """The text a student reads in a feedback page, white space folded."""
    text = html.unescape(re.sub(r"<[^>]+>", "", re.sub(r"<(style|script)\b.*?</\1>", "", page, flags=re.S)))
    return " ".join(text.split())


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_feedback_never_shows_hidden_tests(graded, case):
    student, assignment, notebook, _, answers, _ = case
    hidden, shown = split_hidden(read(REPO / "source" / assignment / f"{notebook}.ipynb"), answers)
    text = visible_text((graded / "autograder" / "feedback" / student / assignment / f"{notebook}.html").read_text())
    assert "### BEGIN HIDDEN TESTS" not in text
    assert any(line in text for line in shown if len(line) > 20), "feedback should show the notebook"
    own = [line for line in hidden if len(line) > 20 and not any(line in other for other in shown)]
    leaked = [line for line in own if line in text]
    assert not leaked, f"hidden test lines in {student}'s feedback: {leaked[:3]}"
