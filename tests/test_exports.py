"""`make export`: grades from a real gradebook, in the course's CSVs and the LMSs' formats.

A throw-away course collects a Canvas download of two submissions (the reference solution and an
untouched notebook, one flagged late), grades them with the real `make grade`, and every exported
file is parsed back and checked against nbgrader's gradebook.
"""
import csv
import zipfile

import pytest
from nbgrader.api import Gradebook

from conftest import copy_course, make
from test_lms import NOTEBOOK, OTHER, build_zip

ASSIGNMENT = "02_syntax"
ON_TIME, LATE = (2026, 11, 30, 10, 0, 0), (2026, 12, 2, 8, 15, 0)


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("exports")
    root = copy_course(tmp / "course")
    archive = build_zip(tmp / "submissions.zip", [
        ("lefèvrezoé_45678_700001_02_syntax.ipynb", NOTEBOOK, ON_TIME),
        ("doejane_LATE_12345_700002_02_syntax.ipynb", OTHER, LATE),
    ])
    roster = tmp / "canvas-roster.csv"
    roster.write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section,02_syntax (4242),Current Score\n"
        "    Points Possible,,,,,14,\n"
        "\"Doe, Jane\",12345,S001,jdoe,Section A,,\n"
        "\"Lefèvre, Zoé\",45678,S004,zlefevre,Section B,,\n"
        "\"Absent, Al\",56789,S005,aabsent,Section B,,\n", encoding="utf-8")
    result = make("collect-lms", root, ASSIGNMENT=ASSIGNMENT, ZIP=archive, LMS="canvas", ROSTER=roster,
                  DUE="2026-12-01 23:59 UTC")
    assert result.returncode == 0, result.stdout + result.stderr
    result = make("grade", root)
    assert result.returncode == 0, result.stdout + result.stderr
    result = make("export", root, LMS="canvas", ROSTER=roster)
    assert result.returncode == 0, result.stdout + result.stderr
    return root, tmp, result.stdout


def gradebook_scores(root):
    """{student: (score, max, timestamp, penalty, {(notebook, cell): points})} straight from nbgrader's API."""
    with Gradebook(f"sqlite:///{root / 'autograder' / 'gradebook.db'}") as gb:
        found = {}
        for student in gb.students:
            sub = gb.find_submission(ASSIGNMENT, student.id)
            found[student.id] = (sub.score - sub.late_submission_penalty, sub.max_score, sub.timestamp,
                                 sub.late_submission_penalty,
                                 {(nb.name, g.name): g.score for nb in sub.notebooks for g in nb.grades})
        return found


def test_grades_csv_sorted_and_from_the_gradebook(graded):
    root, _, _ = graded
    scores = gradebook_scores(root)
    assert set(scores) == {"12345", "45678"}
    full, top, _, _, _ = scores["45678"]
    assert full == top > 0 and scores["12345"][0] == 0  # the reference solution, the untouched notebook
    for path in (root / "autograder" / "grades.csv", root / "autograder" / "exports" / "grades.csv"):
        rows = list(csv.DictReader(open(path, newline="")))
        assert [(r["student_id"], r["assignment"]) for r in rows] == [("12345", ASSIGNMENT), ("45678", ASSIGNMENT)]
        for row in rows:
            score, top, timestamp, penalty, _ = scores[row["student_id"]]
            assert (float(row["score"]), float(row["max_score"]), float(row["late_submission_penalty"])) == (score, top, penalty)
            assert row["timestamp"] == str(timestamp)
        assert rows[0]["timestamp"] == "2026-12-02 08:15:00"  # Canvas's zip time reached the gradebook
        assert rows[0]["duedate"] == "2026-12-01 23:59:00"


def test_per_exercise_csv(graded):
    root, _, _ = graded
    scores = gradebook_scores(root)
    header, possible, *rows = read_csv(root / "autograder" / "exports" / f"{ASSIGNMENT}-exercises.csv")
    cells = [tuple(h.split("/")) for h in header[1:-3]]
    assert header[0] == "student_id" and header[-3:] == ["score", "submitted", "late"] and possible[0] == "points possible"
    assert set(cells) == set(scores["45678"][4])  # every graded cell, once
    with Gradebook(f"sqlite:///{root / 'autograder' / 'gradebook.db'}") as gb:
        maxima = {(nb.name, c.name): c.max_score for nb in gb.find_assignment(ASSIGNMENT).notebooks for c in nb.grade_cells}
    assert [float(p) for p in possible[1:-3]] == [maxima[c] for c in cells]
    assert float(possible[-3]) == sum(maxima.values())
    assert [r[0] for r in rows] == ["12345", "45678"]
    for row in rows:
        points = scores[row[0]][4]
        assert [float(p) for p in row[1:-3]] == [points[c] for c in cells]
        assert float(row[-3]) == scores[row[0]][0]
    assert [r[-2:] for r in rows] == [["2026-12-02 08:15:00", "True"], ["2026-11-30 10:00:00", "False"]]


def test_canvas_gradebook_import_and_feedback(graded):
    root, _, stdout = graded
    scores = gradebook_scores(root)
    header, possible, *rows = read_csv(root / "autograder" / "exports" / "canvas-grades.csv")
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "02_syntax (4242)"]
    assert possible == ["    Points Possible", "", "", "", "", str(scores["45678"][1])]
    assert rows == [
        ["Doe, Jane", "12345", "S001", "jdoe", "Section A", str(scores["12345"][0])],
        ["Lefèvre, Zoé", "45678", "S004", "zlefevre", "Section B", str(scores["45678"][0])],
        ["Absent, Al", "56789", "S005", "aabsent", "Section B", ""],  # nothing graded: the import leaves them
    ]
    folder = root / "autograder" / "exports" / f"canvas-feedback-{ASSIGNMENT}"
    zips = sorted(p.name for p in folder.iterdir())
    assert zips == [f"doejane_12345_{ASSIGNMENT}-feedback.zip", f"lefèvrezoé_45678_{ASSIGNMENT}-feedback.zip"]
    with zipfile.ZipFile(folder / zips[1]) as archive:
        page = root / "autograder" / "feedback" / "45678" / ASSIGNMENT / "02_syntax.html"
        assert archive.read("02_syntax.html") == page.read_bytes()


def test_moodle_exports(graded):
    """The same students collected from Moodle, mapped by a grading worksheet with a student_id column."""
    root, tmp, _ = graded
    archive = build_zip(tmp / "moodle.zip", [
        ("Zoé Lefèvre_801_assignsubmission_file_/02_syntax.ipynb", NOTEBOOK, ON_TIME),
        ("Jane Doe_802_assignsubmission_file_/02_syntax.ipynb", OTHER, LATE),
    ])
    worksheet = tmp / "worksheet.csv"
    worksheet.write_text(
        "Identifier,Full name,Email address,ID number,student_id\n"
        "Participant 801,Zoé Lefèvre,zoe@example.edu,S004,45678\n"
        "Participant 802,Jane Doe,jane@example.edu,S001,12345\n", encoding="utf-8")
    result = make("collect-lms", root, ASSIGNMENT=ASSIGNMENT, ZIP=archive, LMS="moodle", ROSTER=worksheet)
    assert result.returncode == 0, result.stdout + result.stderr
    late = {r["student_id"]: r["late"] for r in csv.DictReader(open(root / "autograder/downloaded/02_syntax/collected.csv"))}
    assert late == {"12345": "True", "45678": "False"}  # no DUE given: the gradebook's due date, from the Canvas collect
    result = make("export", root, LMS="moodle", ROSTER=worksheet)
    assert result.returncode == 0, result.stdout + result.stderr
    scores = gradebook_scores(root)
    out = root / "autograder" / "exports"
    assert read_csv(out / "moodle-grades.csv") == [
        ["Full name", "Email address", "ID number", ASSIGNMENT],
        ["Jane Doe", "jane@example.edu", "S001", str(scores["12345"][0])],
        ["Zoé Lefèvre", "zoe@example.edu", "S004", str(scores["45678"][0])],
    ]
    assert read_csv(out / f"moodle-worksheet-{ASSIGNMENT}.csv") == [
        ["Identifier", "Full name", "Email address", "Grade", "Maximum Grade"],
        ["Participant 802", "Jane Doe", "jane@example.edu", str(scores["12345"][0]), str(scores["12345"][1])],
        ["Participant 801", "Zoé Lefèvre", "zoe@example.edu", str(scores["45678"][0]), str(scores["45678"][1])],
    ]
    with zipfile.ZipFile(out / f"moodle-feedback-{ASSIGNMENT}.zip") as archive:
        assert sorted(archive.namelist()) == ["Jane Doe_802_assignsubmission_file_/02_syntax.html",
                                              "Zoé Lefèvre_801_assignsubmission_file_/02_syntax.html"]
        page = root / "autograder" / "feedback" / "12345" / ASSIGNMENT / "02_syntax.html"
        assert archive.read("Jane Doe_802_assignsubmission_file_/02_syntax.html") == page.read_bytes()
