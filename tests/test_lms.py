"""`make collect-lms`: realistic Canvas and Moodle downloads, collected by nbgrader's zip_collect.

Each zip is built here as the LMS names its files; the tests assert exactly who was collected, with
what submission time and late flag, and what was left out and why.
"""
import csv
import subprocess
import zipfile

import pytest

from autograder.lms import LatePenaltyPerDay, collection_note
from conftest import REPO, copy_course, make

NOTEBOOK = (REPO / "solutions" / "02_syntax" / "02_syntax.ipynb").read_bytes()
OTHER = (REPO / "notebooks" / "02_syntax" / "02_syntax.ipynb").read_bytes()


def build_zip(path, entries):
    """A zip of (name, content, (year, month, day, hour, minute, second)) entries."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, content, when in entries:
            archive.writestr(zipfile.ZipInfo(name, when), content)
    return path


def collected(root, assignment="02_syntax"):
    with open(root / "autograder" / "downloaded" / assignment / "collected.csv", newline="") as fh:
        return {row["student_id"]: (row["notebook"], row["submitted"], row["late"]) for row in csv.DictReader(fh)}


def skipped(root, assignment="02_syntax"):
    with open(root / "autograder" / "downloaded" / assignment / "skipped.csv", newline="") as fh:
        return {row["file"].split("/")[-1]: row["reason"] for row in csv.DictReader(fh)}


def submitted(root, assignment="02_syntax"):
    """{student: (sorted file names, timestamp.txt)} of what lies in autograder/submitted/."""
    found = {}
    for folder in sorted((root / "autograder" / "submitted").glob(f"*/{assignment}")):
        stamp = folder / "timestamp.txt"
        found[folder.parent.name] = (sorted(p.name for p in folder.iterdir() if p.name != "timestamp.txt"),
                                     stamp.read_text() if stamp.exists() else None)
    return found


@pytest.fixture
def course(tmp_path):
    return copy_course(tmp_path / "course")


def test_canvas_flat_zip_with_roster(course, tmp_path):
    day = (2026, 11, 30, 10, 0, 0)
    archive = build_zip(tmp_path / "submissions.zip", [
        ("doejane_12345_678901_02_syntax.ipynb", NOTEBOOK, day),
        ("doejane_12345_678905_notes.pdf", b"%PDF-1.4", day),
        ("smithjohn_LATE_23456_678902_02_syntax.ipynb", NOTEBOOK, (2026, 12, 2, 8, 15, 0)),
        # re-uploaded: Canvas adds -1; the older upload is in the zip too
        ("oconnorsean_34567_678800_02_syntax.ipynb", OTHER, (2026, 11, 29, 9, 0, 0)),
        ("oconnorsean_34567_678903_02_syntax-1.ipynb", NOTEBOOK, (2026, 12, 1, 9, 30, 0)),
        ("lefèvrezoé_45678_678904_02_syntax (1).ipynb", NOTEBOOK, day),  # renamed: `make grade` matches its cells
        ("ghoststudent_99999_678906_02_syntax.ipynb", NOTEBOOK, day),
        ("kimmin_56789_678907_02_syntax-2.ipynb", NOTEBOOK, day),  # only the second re-upload is left
    ])
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section,02_syntax (4242)\n"
        "    Points Possible,,,,,14\n"
        "\"Doe, Jane\",12345,S001,jdoe,Section A,\n"
        "\"Smith, John\",23456,S002,jsmith,Section A,\n"
        "\"O'Connor, Seán\",34567,S003,soconnor,Section B,\n"
        "\"Lefèvre, Zoé\",45678,S004,zlefevre,Section B,\n"
        "\"Kim, Min\",56789,S005,mkim,Section B,\n", encoding="utf-8")
    result = make("collect-lms", course, ASSIGNMENT="02_syntax", ZIP=archive, LMS="canvas", ROSTER=roster)
    assert result.returncode == 0, result.stdout + result.stderr
    assert collected(course) == {
        "12345": ("02_syntax.ipynb", "2026-11-30T10:00:00+00:00", "False"),
        "23456": ("02_syntax.ipynb", "2026-12-02T08:15:00+00:00", "True"),
        "34567": ("02_syntax.ipynb", "2026-12-01T09:30:00+00:00", "False"),
        "45678": ("02_syntax (1).ipynb", "2026-11-30T10:00:00+00:00", "False"),
        "56789": ("02_syntax.ipynb", "2026-11-30T10:00:00+00:00", "False"),
    }
    assert submitted(course) == {
        "12345": (["02_syntax.ipynb"], "2026-11-30 10:00:00"),
        "23456": (["02_syntax.ipynb"], "2026-12-02 08:15:00"),
        "34567": (["02_syntax.ipynb"], "2026-12-01 09:30:00"),
        "45678": (["02_syntax (1).ipynb"], "2026-11-30 10:00:00"),
        "56789": (["02_syntax.ipynb"], "2026-11-30 10:00:00"),
    }
    assert (course / "autograder/submitted/34567/02_syntax/02_syntax.ipynb").read_bytes() == NOTEBOOK  # the newest
    assert skipped(course) == {
        "doejane_12345_678905_notes.pdf": "not a notebook (.pdf)",
        "oconnorsean_34567_678800_02_syntax.ipynb": "older than oconnorsean_34567_678903_02_syntax-1.ipynb",
        "ghoststudent_99999_678906_02_syntax.ipynb":
            f"Canvas id 99999 (ghoststudent) is not in the roster {roster}: add them and collect again",
    }
    assert "collected 23456 02_syntax/02_syntax.ipynb: submitted 2026-12-02T08:15:00+00:00, LATE" in result.stdout
    assert "5 notebook(s) of 5 student(s)" in result.stdout
    assert collection_note(course, "02_syntax", "23456") == "submitted 2026-12-02 08:15 UTC, late"
    assert collection_note(course, "02_syntax", "12345") == "submitted 2026-11-30 10:00 UTC"
    assert collection_note(course, "02_syntax", "99999") == ""


def test_moodle_folder_per_participant(course, tmp_path):
    when = (2026, 11, 30, 16, 45, 2)
    archive = build_zip(tmp_path / "PY-2026-02_syntax-123.zip", [
        ("Jane Doe_501_assignsubmission_file_/02_syntax.ipynb", NOTEBOOK, when),
        ("Seán O'Connor_502_assignsubmission_file_/02_syntax.ipynb", NOTEBOOK, (2026, 12, 3, 9, 0, 0)),
        ("Seán O'Connor_502_assignsubmission_file_/data.csv", b"a,b\n1,2\n", when),
        ("Zoé Lefèvre-Martin_503_assignsubmission_file_/02_syntax.ipynb", NOTEBOOK, when),
        ("Zoé Lefèvre-Martin_503_assignsubmission_onlinetext_/onlinetext.html", b"<p>done</p>", when),
    ])
    result = make("collect-lms", course, ASSIGNMENT="02_syntax", ZIP=archive, LMS="moodle",
                  DUE="2026-12-01 23:59 UTC")
    assert result.returncode == 0, result.stdout + result.stderr
    assert collected(course) == {  # no roster: Moodle's participant ids
        "501": ("02_syntax.ipynb", "2026-11-30T16:45:02+00:00", "False"),
        "502": ("02_syntax.ipynb", "2026-12-03T09:00:00+00:00", "True"),  # after DUE
        "503": ("02_syntax.ipynb", "2026-11-30T16:45:02+00:00", "False"),
    }
    assert set(submitted(course)) == {"501", "502", "503"}
    assert skipped(course) == {"data.csv": "not a notebook (.csv)", "onlinetext.html": "not a Moodle submission file name"}
    rows = list(csv.DictReader(open(course / "autograder/downloaded/02_syntax/collected.csv", newline="")))
    assert rows[1]["lms_folder"] == "Seán O'Connor_502_assignsubmission_file_"  # what Moodle's feedback upload reads


def test_moodle_flat_with_worksheet_times(course, tmp_path):
    no_time = (1980, 1, 1, 0, 0, 0)  # entries without a time: the grading worksheet gives it
    archive = build_zip(tmp_path / "flat.zip", [
        ("Jane Doe_601_assignsubmission_file_02_syntax.ipynb", NOTEBOOK, no_time),
        ("Ana Núñez_602_assignsubmission_file_02_syntax.ipynb", NOTEBOOK, no_time),
        ("Bob Stranger_699_assignsubmission_file_02_syntax.ipynb", NOTEBOOK, no_time),
    ])
    worksheet = tmp_path / "worksheet.csv"
    worksheet.write_text(
        "\ufeffIdentifier,\"Full name\",\"Email address\",Status,Grade,\"Maximum Grade\",\"Last modified (submission)\"\n"
        "\"Participant 601\",\"Jane Doe\",jane.doe@example.edu,\"Submitted for grading\",,14.00,\"Monday, 30 November 2026, 11:05 PM\"\n"
        "\"Participant 602\",\"Ana Núñez\",ana.nunez@example.edu,\"Submitted for grading\",,14.00,\"Wednesday, 2 December 2026, 7:30 AM\"\n",
        encoding="utf-8")
    result = make("collect-lms", course, ASSIGNMENT="02_syntax", ZIP=archive, LMS="moodle", ROSTER=worksheet,
                  DUE="2026-12-01 23:59 UTC")
    assert result.returncode == 0, result.stdout + result.stderr
    assert collected(course) == {  # the worksheet's e-mail: one id per student across assignments
        "jane.doe@example.edu": ("02_syntax.ipynb", "2026-11-30T23:05:00+00:00", "False"),
        "ana.nunez@example.edu": ("02_syntax.ipynb", "2026-12-02T07:30:00+00:00", "True"),
    }
    assert "Bob Stranger_699_assignsubmission_file_02_syntax.ipynb" in skipped(course)


def test_nothing_collected_is_an_error(course, tmp_path):
    archive = build_zip(tmp_path / "wrong.zip", [
        ("02_syntax.ipynb", NOTEBOOK, (2026, 11, 30, 10, 0, 0)),
        ("Jane Doe_501_assignsubmission_file_/02_syntax.ipynb", NOTEBOOK, (2026, 11, 30, 10, 0, 0)),
    ])
    result = make("collect-lms", course, ASSIGNMENT="02_syntax", ZIP=archive, LMS="canvas")
    assert result.returncode != 0
    assert "No notebook collected from" in result.stderr and "doejane_12345_678901_02_syntax.ipynb" in result.stderr
    assert "not collected: wrong/02_syntax.ipynb: not a Canvas submission file name" in result.stdout
    assert not (course / "autograder" / "submitted").exists()


def test_student_data_is_ignored_by_git():
    paths = ["autograder/downloaded/02_syntax/archive/s.zip", "autograder/exports/canvas-grades.csv",
             "autograder/submitted/1/02_syntax/02_syntax.ipynb", "autograder/grades.csv"]
    result = subprocess.run(["git", "check-ignore", *paths], cwd=REPO, capture_output=True, text=True)
    assert result.stdout.split() == paths


def test_late_penalty_per_started_day():
    """The policy nbgrader's AssignLatePenalties applies (nbgrader_config.py sets its percentage)."""
    policy = LatePenaltyPerDay(percent_per_day=10)
    assert policy.late_submission_penalty("s", 14.0, 60) == pytest.approx(1.4)  # a minute late: one day started
    assert policy.late_submission_penalty("s", 14.0, 86400 * 2 + 1) == pytest.approx(4.2)
    assert policy.late_submission_penalty("s", 14.0, 86400 * 30) == 14.0  # never below zero
    assert LatePenaltyPerDay().late_submission_penalty("s", 14.0, 3600) is None  # 0 %: lateness recorded, no penalty
