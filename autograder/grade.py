"""Autograde every submission, in parallel, write feedback, export grades: what `make grade` runs.

Submissions lie where nbgrader expects them (`autograder/submitted/<student_id>/<assignment>/`) and
are never modified. Each is first checked and copied to `autograder/staged/`: notebooks that are
empty, too large or not notebooks at all are set aside with a reason, and a single notebook saved
under another name is graded under the expected one. nbgrader records the source version in the
gradebook; then worker processes (one per core by default) each run nbgrader's autograde and
feedback for one submission at a time, against a private copy of the gradebook, with student code
sandboxed (autograder/execute.py, autograder/sandbox.py). Only this process writes the course's
gradebook: it merges each result as it arrives, then records it in `autograder/grading/results/`.
A grader killed mid-batch loses nothing: run again, and results already recorded for unchanged
submissions are merged again instead of graded again, so a batch is never graded twice.
A submission with nothing to grade gets a zero, never a missing row. One line per student and
assignment says what happened; the same lines go to `autograder/grading-report.txt`, and
`autograder/grades.csv` is nbgrader's CSV export.
"""
import argparse
import ctypes
import datetime
import hashlib
import json
import multiprocessing
import os
import re
import resource
import shutil
import signal
import sys
import tempfile
import time
import uuid
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import nbformat
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from nbgrader.plugins.export import CsvExportPlugin
from tqdm import tqdm
from traitlets.config import PyFileConfigLoader

from autograder import execute, feedback as pages, sandbox

REPO = Path(__file__).resolve().parent.parent
STAGED = Path("autograder") / "staged"
GRADING = Path("autograder") / "grading"  # the grader's own files: recorded results, gradebook template
MAX_NOTEBOOK_MB = 20  # far above any honest answer; stops output bombs before a kernel sees them

# nbgrader 0.9 builds gradebook rows before adding them to the session, which SQLAlchemy 2 reports
# as SAWarning "... not in session, add operation along ... will not proceed". The rows are added
# explicitly right after, so nothing is lost; the warning is noise for instructors.
warnings.filterwarnings("ignore", message=".*not in session, add operation along", module="nbgrader")


def load_api(root, gradebook=None, worker=0, limits=None):
    """nbgrader's API for the course at `root`, configured by the repository's nbgrader_config.py,
    and the folder where students' submissions lie. `gradebook` replaces the course's gradebook
    file; `worker` picks the sandbox's account; `limits` sets SandboxedExecute's timeout, budget
    and max_reply_mb where given."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.db_url = f"sqlite:///{gradebook or root / 'autograder' / 'gradebook.db'}"
    config.SandboxedExecute.worker = worker
    config.SandboxedExecute.hide = [str(root)]
    for name, value in (limits or {}).items():
        if value:
            setattr(config.SandboxedExecute, name, value)
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
    shares. Returns notes for the report, whether any expected notebook is left to grade, and
    {notebook: what is wrong with it} for the expected notebooks that cannot be graded.
    """
    shutil.rmtree(staged, ignore_errors=True)
    shutil.copytree(submission, staged, symlinks=True)
    notes, set_aside, problems = [], set(), {}
    for link in sorted(p for p in staged.rglob("*") if p.is_symlink()):  # could point at anything of the grader's
        notes.append(f"{link.relative_to(staged)} ignored: a symbolic link")
        link.unlink()
    for path in sorted(staged.glob("*.ipynb")):
        problem = notebook_problem(path)
        if problem:
            notes.append(f"{path.name} {problem}")
            set_aside.add(path.name)
            problems[path.name] = problem
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
    problems.update({name: "is missing from the submission" for name, ids in missing.items() if ids})
    for name in sorted(set(sources) & {p.name for p in staged.glob("*.ipynb")}):
        notes += restore_nbgrader_cells(staged / name, sources[name])
    problems = {name: problem for name, problem in problems.items() if name in sources}
    return notes, bool(set(sources) & {p.name for p in staged.glob("*.ipynb")}), problems


def comparable(meta):
    return {k: v for k, v in meta.items() if k not in ("checksum", "cell_type")}  # nbgrader adds them when releasing


def restore_nbgrader_cells(path, source_path):
    """Give every cell the nbgrader metadata its grade_id has in the source; return notes on changes.

    nbgrader restores locked cells' text but trusts other metadata, and stops with "Inconsistent
    checksums" when a locked cell's flags were edited: one student's edit must not fail their grade.
    Cells whose grade_id the source does not know, and answer cells pasted twice (after the first),
    become ordinary cells; pasted copies of tests and setup cells are dropped; duplicated cell ids
    are renewed so the notebook stays valid.
    """
    nb = nbformat.read(path, as_version=4)
    source = {c.metadata["nbgrader"]["grade_id"]: c for c in nbformat.read(source_path, as_version=4).cells
              if "grade_id" in c.metadata.get("nbgrader", {})}
    changed, copies, ids, seen, dropped = set(), set(), set(), set(), []
    for i, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader")
        grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
        original = source.get(grade_id)
        if meta is not None and original is None:
            del cell.metadata["nbgrader"]
            changed.add(str(grade_id))
        elif original is not None and grade_id in seen:  # a copy: the student's own code, without nbgrader's marks
            del cell.metadata["nbgrader"]
            copies.add(grade_id)
            if not original.metadata["nbgrader"].get("solution"):
                dropped.append(i)  # a copy of a test or setup cell: nothing of the student's in it
        elif original is not None and (comparable(meta) != comparable(original.metadata["nbgrader"])
                                       or cell.cell_type != original.cell_type):
            changed.add(grade_id)
            if original.metadata["nbgrader"].get("solution"):  # keep the student's answer, in a cell of the right kind
                make = nbformat.v4.new_code_cell if original.cell_type == "code" else nbformat.v4.new_markdown_cell
                nb.cells[i] = make(source=cell.source, metadata={**cell.metadata, "nbgrader": original.metadata["nbgrader"]})
            else:
                nb.cells[i] = nbformat.from_dict(original)
        if original is not None:
            seen.add(grade_id)
        if nb.cells[i].get("id") in ids or not nb.cells[i].get("id"):
            nb.cells[i]["id"] = uuid.uuid4().hex[:12]
        ids.add(nb.cells[i]["id"])
    nb.cells = [c for i, c in enumerate(nb.cells) if i not in dropped]
    nbformat.write(nb, path)
    notes = [f"{path.name}: nbgrader metadata of {', '.join(sorted(changed))} restored"] if changed else []
    return notes + ([f"{path.name}: copies of {', '.join(sorted(copies))} not graded"] if copies else [])


def nbgrader_error(result):
    """The most telling line of a failed nbgrader call: the exception that stopped it."""
    text = (result.get("error") or "") + "\n" + (result.get("log") or "")
    exceptions = re.findall(r"^\s*(\w+(?:Error|Exception|Exit)\b.*)$", text, flags=re.MULTILINE)
    if exceptions:
        return exceptions[-1].strip()
    lines = [ln.strip() for ln in text.splitlines() if "ERROR" in ln]
    return lines[0] if lines else "nbgrader failed without saying why"


def digest(folder):
    """A fingerprint of every file under `folder`: same submission and source, same grade."""
    h = hashlib.sha256()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        h.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def grader_fingerprint():
    """A fingerprint of the grader itself: results recorded by another version are graded again."""
    h = hashlib.sha256()
    for path in sorted([*(REPO / "autograder").glob("*.py"), *(REPO / "imbalanced_course").glob("*.py"),
                        REPO / "nbgrader_config.py"]):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


# Each worker process keeps one slot number for its life: it picks the sandbox's account.
_slot = None


def start_worker(slots, memory_bytes):
    global _slot
    _slot = slots.get()
    # The grader's own work on a student's choices (tests fitting a rebuilt estimator, decoding a
    # reply) is bounded too: past this a MemoryError fails that test, not the machine.
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = memory_bytes if hard == resource.RLIM_INFINITY else min(memory_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the batch from the main process
    try:  # die with the main process, even if it is killed outright: no orphan grading goes on
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def grade_one(root, template, assignment, student, limits):
    """Autograde and write feedback for one staged submission, against a private gradebook copy.

    Returns the scores to merge into the course's gradebook, or the reason it failed.
    """
    started = time.monotonic()
    execute.phases.clear()
    # The private copy lives in memory when it can: it is thrown away, so its ~45 commits per
    # submission need not wait for the disk.
    with tempfile.TemporaryDirectory(dir="/dev/shm" if os.access("/dev/shm", os.W_OK) else None) as private:
        gradebook = Path(private) / "gradebook.db"
        shutil.copy(template, gradebook)
        api, _ = load_api(root, gradebook, _slot, limits)
        result = api.autograde(assignment, student, force=True, create=True)
        if not result["success"]:
            return {"error": execute.last_failure or nbgrader_error(result)}
        feedback_started = time.monotonic()
        feedback = api.generate_feedback(assignment, student, force=True)
        execute.phases["feedback"] += time.monotonic() - feedback_started
        for page in (root / api.coursedir.feedback_directory / student / assignment).glob("*.html"):
            pages.forbid_scripts(page)
        incidents = []
        for path in sorted((root / api.coursedir.autograded_directory / student / assignment).glob("*.ipynb")):
            found = nbformat.read(path, as_version=4).metadata.get("imbalanced_course", {}).get("incidents", [])
            incidents += [f"{path.stem}: {text}" for text in found]
        with api.gradebook as gb:
            submission = gb.find_submission(assignment, student)
            return {
                "timestamp": submission.timestamp.isoformat() if submission.timestamp else None,
                "notebooks": {nb.name: {
                    "grades": {g.name: [g.auto_score, g.needs_manual_grade] for g in nb.grades},
                    "comments": {c.name: c.auto_comment for c in nb.comments},
                    "late_penalty": nb.late_submission_penalty,
                } for nb in submission.notebooks},
                "feedback": None if feedback["success"] else nbgrader_error(feedback),
                "incidents": incidents,
                # Seconds per phase, for `make bench`: the rest of the time is nbgrader's bookkeeping.
                "phases": {**execute.phases,
                           "bookkeeping": time.monotonic() - started - sum(execute.phases.values())},
            }


def merge(api, assignment, student, result):
    """Write a worker's scores into the course's gradebook: this process is its only writer."""
    with api.gradebook as gb:
        gb.update_or_create_student(student)
        extra = {"timestamp": datetime.datetime.fromisoformat(result["timestamp"])} if result["timestamp"] else {}
        gb.update_or_create_submission(assignment, student, **extra)
        for notebook, scores in result["notebooks"].items():
            for grade_id, (auto_score, needs_manual) in scores["grades"].items():
                grade = gb.find_grade(grade_id, notebook, assignment, student)
                grade.auto_score, grade.needs_manual_grade = auto_score, needs_manual
            for comment_id, text in scores["comments"].items():
                gb.find_comment(comment_id, notebook, assignment, student).auto_comment = text
            gb.find_submission_notebook(notebook, assignment, student).late_submission_penalty = scores["late_penalty"]
        gb.db.commit()


def record(path, entry):
    """Write a result file whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(entry))
    os.replace(partial, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO, help="course folder (default: this repository)")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)),
                        help="submissions graded at once (default: one per core)")
    parser.add_argument("--timeout", type=int, default=None,
                        help="seconds a cell or a call into the student's kernel may run (default: nbgrader_config.py's)")
    parser.add_argument("--budget", type=int, default=None,
                        help="seconds one notebook's grading may take in all (default: nbgrader_config.py's, 20 min)")
    parser.add_argument("--max-reply-mb", type=int, default=None,
                        help="MB a reply from a student's kernel may hold (default: nbgrader_config.py's)")
    parser.add_argument("--worker-memory-gb", type=float, default=6,
                        help="address space each grading worker may use, kernels apart (default: 6)")
    parser.add_argument("--regrade", action="store_true", help="grade again submissions already graded unchanged")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be 1 or more")
    root = args.root.resolve()
    started = time.monotonic()
    grades_csv = root / "autograder" / "grades.csv"
    report_file = root / "autograder" / "grading-report.txt"
    api, submitted = load_api(root)
    print(f"Sandbox: {sandbox.describe_protections()}", flush=True)
    submissions, report = find_submissions(api.coursedir, submitted)
    for line in report:
        print(line, flush=True)
    if not submissions:
        print(f"No submissions under {submitted}/<student_id>/<assignment>/.")

    jobs, set_aside, counts = [], [], {"graded": 0, "unchanged": 0, "zero": 0, "FAILED": 0}
    for assignment, students in submissions.items():
        result = api.generate_assignment(assignment, force=True, create=True)
        if not result["success"]:
            sys.exit(f"Cannot prepare {assignment} for grading: {nbgrader_error(result)}")
        source = root / api.coursedir.source_directory / assignment
        sources = {p.name: p for p in source.glob("*.ipynb")}
        source_fingerprint = digest(source) + grader_fingerprint()  # new tests or a new grader mean grading again
        for student in students:
            staged = root / STAGED / student / assignment
            notes, gradable, problems = stage(submitted / student / assignment, staged, sources)
            if problems:
                set_aside.append((student, assignment, problems))
            if not gradable:
                with api.gradebook as gradebook:  # a row in grades.csv, with zero, for this student
                    gradebook.update_or_create_student(student)
                report.append(f"{student} {assignment}: zero: nothing to grade: {'; '.join(notes)}")
                counts["zero"] += 1
                print(report[-1], flush=True)
                continue
            jobs.append((assignment, student, notes, digest(staged) + source_fingerprint))

    template = root / GRADING / "gradebook-template.db"  # the prepared gradebook, copied by each worker
    template.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(root / "autograder" / "gradebook.db", template)
    todo = []
    for assignment, student, notes, fingerprint in jobs:
        done = root / GRADING / "results" / assignment / f"{student}.json"
        entry = json.loads(done.read_text()) if done.exists() else None
        if entry and entry["fingerprint"] == fingerprint and not args.regrade:
            merge(api, assignment, student, entry["result"])  # idempotent: the gradebook may be new
            report.append(entry["line"])
            counts["unchanged"] += 1
        else:
            todo.append((assignment, student, notes, fingerprint, done))

    workers = min(args.workers, len(todo)) or 1
    slots = multiprocessing.get_context("spawn").Queue()
    for slot in range(workers):
        slots.put(slot)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=start_worker, initargs=(slots, int(args.worker_memory_gb * 2**30))) as pool, \
            tqdm(total=len(todo), desc=f"Grading ({workers} workers)", unit="submission", file=sys.stderr) as bar:
        limits = {"timeout": args.timeout, "budget": args.budget, "max_reply_mb": args.max_reply_mb}
        futures = {pool.submit(grade_one, root, template, job[0], job[1], limits): job for job in todo}
        for future in as_completed(futures):
            assignment, student, notes, fingerprint, done = futures[future]
            try:
                result = future.result()
            except Exception as error:  # the worker itself failed: say so, keep grading the others
                result = {"error": f"{type(error).__name__}: {error}"}
            if "error" in result:
                line = f"{student} {assignment}: FAILED: {result['error']}" + (f" ({'; '.join(notes)})" if notes else "")
                counts["FAILED"] += 1
                with api.gradebook as gradebook:  # a row in grades.csv; the report says why it is empty
                    gradebook.update_or_create_student(student)
            else:
                merge(api, assignment, student, result)
                notes = notes + result["incidents"]
                if result["feedback"]:
                    notes.append(f"no feedback: {result['feedback']}")
                line = f"{student} {assignment}: graded" + (f" ({'; '.join(notes)})" if notes else "")
                record(done, {"fingerprint": fingerprint, "line": line, "result": result})
                counts["graded"] += 1
            report.append(line)
            bar.write(line)
            bar.update()

    for student, assignment, problems in set_aside:  # after the workers' feedback, which replaces the folder
        folder = root / api.coursedir.feedback_directory / student / assignment
        for name, problem in problems.items():
            pages.write_set_aside_page(folder / f"{Path(name).stem}.html", name, problem)
    with api.gradebook as gradebook:
        CsvExportPlugin(to=str(grades_csv), parent=api).export(gradebook)
    report_file.write_text("\n".join(sorted(report)) + "\n")  # printed as they came, saved in order
    elapsed = time.monotonic() - started
    summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    print(f"Done in {elapsed:.1f} s with {workers} workers: {summary or 'nothing to grade'}.")
    print(f"Grades: {grades_csv}\nReport: {report_file}")


if __name__ == "__main__":
    main()
