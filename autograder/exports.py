"""Grades from the gradebook, for the course and for the LMS: what `make export` runs.

Everything is read from nbgrader's gradebook (`autograder/gradebook.db`) and written to
`autograder/exports/` (git-ignored: it holds student data):

- `grades.csv`: nbgrader's CSV export columns, one row per student and assignment, sorted by student
  then assignment (`make grade` writes the same file as `autograder/grades.csv`);
- `<assignment>-exercises.csv`: one row per student, one column per graded cell (`notebook/grade_id`,
  in the notebook's order) with its points, the total, the submission time and the late flag (the LMS's, or after the
  due date), and a first row `points possible`;
- Canvas: `canvas-grades.csv` in the layout of Canvas's gradebook export, which its gradebook
  import reads back (Student, ID, SIS User ID, SIS Login ID, Section, one column per assignment, a
  `Points Possible` row); `canvas-feedback-<assignment>/`: one zip of feedback pages per student, to
  attach in SpeedGrader (Canvas has no bulk upload of feedback files);
- Moodle: `moodle-grades.csv` for the gradebook's CSV import (an identifier column, e-mail address
  or ID number, mapped to the user; one grade column per assignment); `moodle-worksheet-<assignment>.csv`
  in the assignment's offline grading worksheet format (`Identifier` = "Participant N"); and
  `moodle-feedback-<assignment>.zip` for "Upload multiple feedback files in a zip", whose folders are
  named as Moodle's download named them.

The LMS's ids come from the roster (the LMS's own export, see autograder/lms.py) or, without one,
from what `make collect-lms` recorded in `autograder/downloaded/<assignment>/collected.csv`.
"""
import argparse
import csv
import sys
import zipfile
from pathlib import Path

import nbformat
from nbgrader.api import MissingEntry

from autograder.lms import DOWNLOADED, open_gradebook, read_roster

REPO = Path(__file__).resolve().parent.parent
EXPORTS = Path("autograder") / "exports"
GRADES_FIELDS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
                 "raw_score", "late_submission_penalty", "score", "max_score"]


def text(value):
    return "" if value is None else str(value)


def grade_rows(gradebook):
    """nbgrader's CSV export rows (a zero for a student without a submission), sorted by student, assignment."""
    rows = []
    for assignment in gradebook.assignments:
        for student in gradebook.students:
            row = {"assignment": assignment.name, "duedate": text(assignment.duedate), "student_id": student.id,
                   "last_name": text(student.last_name), "first_name": text(student.first_name),
                   "email": text(student.email), "max_score": assignment.max_score}
            try:
                submission = gradebook.find_submission(assignment.name, student.id)
            except MissingEntry:
                row.update(timestamp="", raw_score=0.0, late_submission_penalty=0.0, score=0.0)
            else:
                penalty = submission.late_submission_penalty
                row.update(timestamp=text(submission.timestamp), raw_score=submission.score,
                           late_submission_penalty=penalty, score=max(0.0, submission.score - penalty))
            rows.append(row)
    return sorted(rows, key=lambda r: (r["student_id"], r["assignment"]))


def write_grades_csv(gradebook, path):
    """`grades.csv`: nbgrader's export columns, sorted by student and assignment, quoted where needed."""
    with open(path, "w", newline="") as fh:
        out = csv.DictWriter(fh, GRADES_FIELDS)
        out.writeheader()
        out.writerows(grade_rows(gradebook))


def graded_cells(root, assignment):
    """[(notebook, grade_id, max_score)] of an assignment, in each source notebook's cell order."""
    cells = []
    for notebook in sorted(assignment.notebooks, key=lambda nb: nb.name):
        source = root / "source" / assignment.name / f"{notebook.name}.ipynb"
        order = []
        if source.exists():
            order = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nbformat.read(source, as_version=4).cells]
        position = {name: i for i, name in enumerate(order)}
        for cell in sorted(notebook.grade_cells, key=lambda c: (position.get(c.name, len(order)), c.name)):
            cells.append((notebook.name, cell.name, cell.max_score))
    return cells


def write_exercises_csv(root, gradebook, assignment, path):
    """Points per graded cell for every student of the gradebook; blank where nothing was graded."""
    cells = graded_cells(root, assignment)
    header = ["student_id"] + [f"{nb}/{cell}" for nb, cell, _ in cells] + ["score", "submitted", "late"]
    flagged = late_flags(root, assignment.name)
    with open(path, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(header)
        out.writerow(["points possible"] + [points for *_, points in cells] + [assignment.max_score, "", ""])
        for student in sorted(gradebook.students, key=lambda s: s.id):
            try:
                submission = gradebook.find_submission(assignment.name, student.id)
            except MissingEntry:
                out.writerow([student.id] + [""] * len(cells) + [0.0, "", ""])
                continue
            scores = {(g.notebook.name, g.name): g.score for nb in submission.notebooks for g in nb.grades}
            out.writerow([student.id] + [text(scores.get((nb, cell))) for nb, cell, _ in cells]
                         + [max(0.0, submission.score - submission.late_submission_penalty), text(submission.timestamp),
                            student.id in flagged or bool(assignment.duedate and submission.timestamp
                                                          and submission.timestamp > assignment.duedate)])


def late_flags(root, assignment):
    """Students the LMS itself flagged late (Canvas's LATE), as `make collect-lms` recorded them."""
    collected = root / DOWNLOADED / assignment / "collected.csv"
    if not collected.exists():
        return set()
    return {row["student_id"] for row in csv.DictReader(open(collected, newline="", encoding="utf-8")) if row["late"] == "True"}


def lms_people(root, roster):
    """{student_id: row} with the LMS's columns: the roster's rows, else what collect-lms recorded
    (`lms_id`, `name` and, per assignment, `lms_folder`)."""
    people = {}
    if roster:
        for lms_id, row in read_roster(roster).items():
            people[row["student_id"]] = {**row, "lms_id": lms_id}
    for collected in sorted((root / DOWNLOADED).glob("*/collected.csv")):
        assignment = collected.parent.name
        for row in csv.DictReader(open(collected, newline="", encoding="utf-8")):
            person = people.setdefault(row["student_id"], {"lms_id": row["lms_id"], "name": row["name"]}) if not roster \
                else people.get(row["student_id"])
            if person is not None:
                person.setdefault("folders", {})[assignment] = row["lms_folder"]
    return people


def full_name(person):
    return person.get("Student") or person.get("Full name") or person.get("name") or ""


def score_of(rows, student_id, assignment):
    for row in rows:
        if row["student_id"] == student_id and row["assignment"] == assignment:
            return row["score"]
    return ""  # not in the gradebook: blank, so the import changes nothing


def write_canvas(root, gradebook, people, out_dir, roster_header):
    rows, assignments = grade_rows(gradebook), sorted(gradebook.assignments, key=lambda a: a.name)
    # an existing Canvas column ("02_syntax (4242)") is matched by its id; a new name makes a new assignment
    columns = [next((h for h in roster_header if h.split(" (")[0] == a.name), a.name) for a in assignments]
    with open(out_dir / "canvas-grades.csv", "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section"] + columns)
        out.writerow(["    Points Possible", "", "", "", ""] + [a.max_score for a in assignments])
        for student_id, person in sorted(people.items()):
            out.writerow([full_name(person), person["lms_id"], person.get("SIS User ID", ""),
                          person.get("SIS Login ID", ""), person.get("Section", "")]
                         + [score_of(rows, student_id, a.name) for a in assignments])
    for assignment in assignments:
        folder = out_dir / f"canvas-feedback-{assignment.name}"
        for student_id, person in sorted(people.items()):
            pages = sorted((root / "autograder" / "feedback" / student_id / assignment.name).glob("*.html"))
            if not pages:
                continue
            folder.mkdir(exist_ok=True)
            name = "".join(ch for ch in full_name(person) if ch.isalnum()).lower() or "student"
            with zipfile.ZipFile(folder / f"{name}_{person['lms_id']}_{assignment.name}-feedback.zip", "w") as archive:
                for page in pages:
                    archive.write(page, page.name)


def write_moodle(root, gradebook, people, out_dir):
    rows, assignments = grade_rows(gradebook), sorted(gradebook.assignments, key=lambda a: a.name)
    with open(out_dir / "moodle-grades.csv", "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["Full name", "Email address", "ID number"] + [a.name for a in assignments])
        for student_id, person in sorted(people.items()):
            out.writerow([full_name(person), person.get("Email address", ""), person.get("ID number", "")]
                         + [score_of(rows, student_id, a.name) for a in assignments])
    for assignment in assignments:
        with open(out_dir / f"moodle-worksheet-{assignment.name}.csv", "w", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(["Identifier", "Full name", "Email address", "Grade", "Maximum Grade"])
            for student_id, person in sorted(people.items()):
                if assignment.name in person.get("folders", {}):  # participant ids are per assignment
                    lms_id = person["folders"][assignment.name].split("_")[1]
                    out.writerow([f"Participant {lms_id}", full_name(person), person.get("Email address", ""),
                                  score_of(rows, student_id, assignment.name), assignment.max_score])
        with zipfile.ZipFile(out_dir / f"moodle-feedback-{assignment.name}.zip", "w") as archive:
            for student_id, person in sorted(people.items()):
                folder = person.get("folders", {}).get(assignment.name)
                for page in sorted((root / "autograder" / "feedback" / student_id / assignment.name).glob("*.html")):
                    if folder:
                        archive.write(page, f"{folder}/{page.name}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO, help="course folder (default: this repository)")
    parser.add_argument("--lms", choices=["canvas", "moodle"], required=True)
    parser.add_argument("--roster", type=Path, help="the LMS's roster CSV (see docs/instructor-guide.md)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    database = root / "autograder" / "gradebook.db"
    if not database.exists():
        sys.exit(f"No gradebook at {database}: run `make grade` first.")
    out_dir = root / EXPORTS
    out_dir.mkdir(parents=True, exist_ok=True)
    people = lms_people(root, args.roster)
    roster_header = next(csv.reader(open(args.roster, encoding="utf-8-sig")), []) if args.roster else []
    with open_gradebook(root) as gradebook:
        write_grades_csv(gradebook, out_dir / "grades.csv")
        for assignment in gradebook.assignments:
            write_exercises_csv(root, gradebook, assignment, out_dir / f"{assignment.name}-exercises.csv")
        (write_canvas(root, gradebook, people, out_dir, roster_header) if args.lms == "canvas"
         else write_moodle(root, gradebook, people, out_dir))
        missing = sorted(s.id for s in gradebook.students if s.id not in people)
    for student_id in missing:
        print(f"not exported to {args.lms}: {student_id}: no {args.lms} id for them "
              f"({'not in the roster' if args.roster else 'not collected by make collect-lms; give ROSTER='})")
    for path in sorted(out_dir.rglob("*")):
        if path.is_file():
            print(f"wrote {path.relative_to(root)}")


if __name__ == "__main__":
    main()
