"""Autograde every submission, write feedback, export grades: what `make grade` runs.

Submissions lie where nbgrader expects them (`autograder/submitted/<student_id>/<assignment>/`).
For each assignment that has submissions, nbgrader first records the source version in the
gradebook (its checksums restore locked cells), then autogrades each student, writes feedback HTML
to `autograder/feedback/`, and exports `autograder/grades.csv` in nbgrader's CSV format. One line
per student and assignment says whether it was graded; the same lines go to
`autograder/grading-report.txt`.
"""
import argparse
import sys
import warnings
from pathlib import Path

from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from nbgrader.plugins.export import CsvExportPlugin
from traitlets.config import PyFileConfigLoader

REPO = Path(__file__).resolve().parent.parent

# nbgrader 0.9 builds gradebook rows before adding them to the session, which SQLAlchemy 2 reports
# as SAWarning "... not in session, add operation along ... will not proceed". The rows are added
# explicitly right after, so nothing is lost; the warning is noise for instructors.
warnings.filterwarnings("ignore", message=".*not in session, add operation along", module="nbgrader")


def load_api(root):
    """nbgrader's API, configured by the repository's nbgrader_config.py, for the course at `root`."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.db_url = f"sqlite:///{root / 'autograder' / 'gradebook.db'}"
    # Grading records the source in the gradebook without touching the students' notebooks/.
    config.CourseDirectory.release_directory = str(Path("autograder") / "release")
    return NbGraderAPI(CourseDirectory(config=config), config=config)


def find_submissions(coursedir):
    """{assignment: [student, ...]} for every submitted folder, and a list of problems found."""
    submitted = Path(coursedir.root) / coursedir.submitted_directory
    known = {p.name for p in (Path(coursedir.root) / coursedir.source_directory).iterdir() if p.is_dir()}
    found, problems = {}, []
    for folder in sorted(submitted.glob("*/*")):
        if not folder.is_dir():
            continue
        student, assignment = folder.parent.name, folder.name
        if assignment in known:
            found.setdefault(assignment, []).append(student)
        else:
            problems.append(f"{student} {assignment}: not graded: no assignment named {assignment!r} in source/")
    return found, problems


def first_error_line(result):
    """The most telling line of a failed nbgrader call, for the report."""
    text = (result.get("error") or "") + (result.get("log") or "")
    lines = [ln.strip() for ln in text.splitlines() if "ERROR" in ln or "Error" in ln]
    return lines[-1] if lines else "unknown error (see nbgrader's log above)"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO, help="course folder (default: this repository)")
    root = parser.parse_args(argv).root.resolve()
    grades_csv = root / "autograder" / "grades.csv"
    report_file = root / "autograder" / "grading-report.txt"
    api = load_api(root)
    submissions, report = find_submissions(api.coursedir)
    if not submissions:
        print(f"No submissions under {api.coursedir.submitted_directory}/<student_id>/<assignment>/.")
    for assignment, students in submissions.items():
        result = api.generate_assignment(assignment, force=True, create=True)
        if not result["success"]:
            sys.exit(f"Cannot prepare {assignment} for grading: {first_error_line(result)}")
        for student in students:
            result = api.autograde(assignment, student, force=True, create=True)
            status = "graded" if result["success"] else f"FAILED: {first_error_line(result)}"
            report.append(f"{student} {assignment}: {status}")
            print(report[-1], flush=True)
        api.generate_feedback(assignment, force=True)
    with api.gradebook as gradebook:
        CsvExportPlugin(to=str(grades_csv), parent=api).export(gradebook)
    report_file.write_text("\n".join(report) + "\n")
    print(f"Grades: {grades_csv}\nReport: {report_file}")


if __name__ == "__main__":
    main()
