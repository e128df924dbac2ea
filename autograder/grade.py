"""Autograde every submission, write feedback, export grades: what `make grade` runs.

Submissions lie where nbgrader expects them (`autograder/submitted/<student_id>/<assignment>/`) and
are never modified. Each is first checked and copied to `autograder/staged/`: notebooks that are
empty, too large or not notebooks at all are set aside with a reason, and a single notebook saved
under another name is graded under the expected one. nbgrader then records the source version in
the gradebook (its checksums restore locked cells), autogrades each staged submission, writes
feedback HTML to `autograder/feedback/` and exports `autograder/grades.csv` in its CSV format. A
submission with nothing to grade gets a zero, never a missing row. One line per student and
assignment says what happened; the same lines go to `autograder/grading-report.txt`.
"""
import argparse
import json
import re
import shutil
import sys
import warnings
from pathlib import Path

import nbformat
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from nbgrader.plugins.export import CsvExportPlugin
from traitlets.config import PyFileConfigLoader

REPO = Path(__file__).resolve().parent.parent
STAGED = Path("autograder") / "staged"
MAX_NOTEBOOK_MB = 20  # far above any honest answer; stops output bombs before a kernel sees them

# nbgrader 0.9 builds gradebook rows before adding them to the session, which SQLAlchemy 2 reports
# as SAWarning "... not in session, add operation along ... will not proceed". The rows are added
# explicitly right after, so nothing is lost; the warning is noise for instructors.
warnings.filterwarnings("ignore", message=".*not in session, add operation along", module="nbgrader")


def load_api(root):
    """nbgrader's API for the course at `root`, configured by the repository's nbgrader_config.py,
    and the folder where students' submissions lie."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.db_url = f"sqlite:///{root / 'autograder' / 'gradebook.db'}"
    # Grading records the source in the gradebook without touching the students' notebooks/.
    config.CourseDirectory.release_directory = str(Path("autograder") / "release")
    submitted = root / config.CourseDirectory.submitted_directory
    # nbgrader grades the checked copies, never the submissions themselves.
    config.CourseDirectory.submitted_directory = str(STAGED)
    return NbGraderAPI(CourseDirectory(config=config), config=config), submitted


def find_submissions(coursedir, submitted):
    """{assignment: [student, ...]} for every folder under `submitted`, and report lines for the rest."""
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


def notebook_problem(path):
    """Why the file at `path` cannot be graded as a notebook, or None when it can."""
    size = path.stat().st_size
    if size == 0:
        return "is empty (0 bytes)"
    if size > MAX_NOTEBOOK_MB * 2**20:
        return f"is {size / 2**20:.0f} MB, above the {MAX_NOTEBOOK_MB} MB limit"
    try:
        nbformat.read(path, as_version=4)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        return f"is not a notebook (not valid JSON: {err})"
    except Exception as err:  # nbformat's own errors: a JSON file that is no notebook
        return f"is not a notebook ({type(err).__name__}: {str(err).splitlines()[0]})"
    return None


def grade_ids(path):
    """The nbgrader cell ids of a notebook: what identifies it whatever its file name."""
    cells = nbformat.read(path, as_version=4).cells
    return {c.metadata["nbgrader"].get("grade_id") for c in cells if "nbgrader" in c.metadata}


def stage(submission, staged, sources):
    """Copy `submission` to `staged`, keeping only gradable notebooks, under their expected names.

    `sources` maps each expected notebook name to its source path. A notebook saved under another
    name ("02_syntax (1).ipynb") is matched to the missing expected notebook whose nbgrader cells it
    shares. Returns notes for the report and whether any expected notebook is left to grade.
    """
    shutil.rmtree(staged, ignore_errors=True)
    shutil.copytree(submission, staged)
    notes, set_aside = [], set()
    for path in sorted(staged.glob("*.ipynb")):
        problem = notebook_problem(path)
        if problem:
            notes.append(f"{path.name} {problem}")
            set_aside.add(path.name)
            path.unlink()
    present = {p.name for p in staged.glob("*.ipynb")}
    missing = {name: grade_ids(sources[name]) for name in sorted(set(sources) - present - set_aside)}
    for extra in sorted(present - set(sources)):
        ids = grade_ids(staged / extra)
        match = max(missing, key=lambda name: len(missing[name] & ids), default=None)
        if match and missing[match] & ids:
            (staged / extra).rename(staged / match)
            notes.append(f"{extra} graded as {match}")
            del missing[match]
        else:
            notes.append(f"{extra} ignored: not part of the assignment")
    notes += [f"{name} missing" for name, ids in missing.items() if ids]  # lessons without exercises may be left out
    return notes, bool(set(sources) & {p.name for p in staged.glob("*.ipynb")})


def nbgrader_error(result):
    """The most telling line of a failed nbgrader call: the exception that stopped it."""
    text = (result.get("error") or "") + "\n" + (result.get("log") or "")
    exceptions = re.findall(r"^\s*(\w+(?:Error|Exception|Exit)\b.*)$", text, flags=re.MULTILINE)
    if exceptions:
        return exceptions[-1].strip()
    lines = [ln.strip() for ln in text.splitlines() if "ERROR" in ln]
    return lines[0] if lines else "nbgrader failed without saying why"


def grade_assignment(api, submitted, assignment, students):
    """Autograde each student's staged submission; yield one report line per student."""
    root = Path(api.coursedir.root)
    sources = {p.name: p for p in (root / api.coursedir.source_directory / assignment).glob("*.ipynb")}
    for student in students:
        notes, gradable = stage(submitted / student / assignment, root / STAGED / student / assignment, sources)
        if not gradable:
            with api.gradebook as gradebook:  # a row in grades.csv, with zero, for this student
                gradebook.update_or_create_student(student)
            yield f"{student} {assignment}: zero: nothing to grade: {'; '.join(notes)}"
            continue
        detail = f" ({'; '.join(notes)})" if notes else ""
        result = api.autograde(assignment, student, force=True, create=True)
        status = "graded" if result["success"] else f"FAILED: {nbgrader_error(result)}"
        yield f"{student} {assignment}: {status}{detail}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO, help="course folder (default: this repository)")
    root = parser.parse_args(argv).root.resolve()
    grades_csv = root / "autograder" / "grades.csv"
    report_file = root / "autograder" / "grading-report.txt"
    api, submitted = load_api(root)
    submissions, report = find_submissions(api.coursedir, submitted)
    for line in report:
        print(line, flush=True)
    if not submissions:
        print(f"No submissions under {submitted}/<student_id>/<assignment>/.")
    for assignment, students in submissions.items():
        result = api.generate_assignment(assignment, force=True, create=True)
        if not result["success"]:
            sys.exit(f"Cannot prepare {assignment} for grading: {nbgrader_error(result)}")
        for line in grade_assignment(api, submitted, assignment, students):
            report.append(line)
            print(line, flush=True)
        api.generate_feedback(assignment, force=True)
    with api.gradebook as gradebook:
        CsvExportPlugin(to=str(grades_csv), parent=api).export(gradebook)
    report_file.write_text("\n".join(report) + "\n")
    print(f"Grades: {grades_csv}\nReport: {report_file}")


if __name__ == "__main__":
    main()
