"""Autograde every submission, in parallel, write feedback, export grades: what `make grade` runs.

Submissions lie where nbgrader expects them (`autograder/submitted/<student_id>/<assignment>/`) and
are never modified. Each is first checked and copied to `autograder/staged/`: notebooks that are
empty, too large or not notebooks at all are set aside with a reason, and a single notebook saved
under another name is graded under the expected one. nbgrader records the source version in the
gradebook. Then each submission becomes one task, as data: its notebooks' bytes, the assignment's
source files and a gradebook holding only that assignment and that student. Worker processes (one
per core by default, or the workers of a Dask cluster with `--scheduler`) run nbgrader's autograde
and feedback on a task in a private folder, with student code sandboxed (autograder/execute.py,
autograder/sandbox.py), and send back JSON: scores, feedback pages, autograded notebooks. This process
checks that JSON, writes the pages and is the only writer of the course's gradebook: it merges each
result as it arrives, then records it in `autograder/grading/results/`.
A grader killed mid-batch loses nothing: run again, and results already recorded for unchanged
submissions are merged again instead of graded again, so a batch is never graded twice.
A submission with nothing to grade gets a zero, never a missing row. One line per student and
assignment says what happened; the same lines go to `autograder/grading-report.txt`, and
`autograder/grades.csv` has nbgrader's CSV export columns, sorted by student and assignment.
"""
import argparse
import ctypes
import datetime
import functools
import hashlib
import json
import multiprocessing
import os
import re
import resource
import shutil
import signal
import socket
import sys
import tempfile
import time
import uuid
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from tqdm import tqdm
from traitlets.config import PyFileConfigLoader

import imbalanced_course
from autograder import execute, exports, feedback as pages, lms, sandbox

REPO = Path(__file__).resolve().parent.parent
STAGED = Path("autograder") / "staged"
GRADING = Path("autograder") / "grading"  # the grader's own files: recorded results, gradebook template
COURSE_GRADEBOOK = Path("autograder") / "gradebook.db"
MAX_NOTEBOOK_MB = 20  # far above any honest answer; stops output bombs before a kernel sees them

# nbgrader 0.9 builds gradebook rows before adding them to the session, which SQLAlchemy 2 reports
# as SAWarning "... not in session, add operation along ... will not proceed". The rows are added
# explicitly right after, so nothing is lost; the warning is noise for instructors.
warnings.filterwarnings("ignore", message=".*not in session, add operation along", module="nbgrader")


def load_api(root, gradebook=None, worker=0, limits=None, config_folder=REPO, hide=()):
    """nbgrader's API for the course at `root`, configured by the nbgrader_config.py in
    `config_folder` (the repository's; a grading task carries a copy), and the folder where students'
    submissions lie. `gradebook` replaces the course's gradebook file; `worker` picks the sandbox's
    account; `limits` sets SandboxedExecute's timeout, budget and max_reply_mb where given; `hide`
    names more folders the kernel must not see."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(config_folder)).load_config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.db_url = f"sqlite:///{gradebook or root / COURSE_GRADEBOOK}"
    config.SandboxedExecute.worker = worker
    config.SandboxedExecute.hide = [str(root), *hide]
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


@functools.cache
def code_fingerprint():
    """A fingerprint of the grading code this process imports, wherever it is installed: a worker
    running another version is refused."""
    h = hashlib.sha256()
    for package in (Path(__file__).parent, Path(imbalanced_course.__file__).parent):
        for path in sorted([*package.glob("*.py"), *package.glob("templates/*/*.j2")]):  # the feedback page's too
            h.update(f"{package.name}/{path.relative_to(package)}".encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def grader_fingerprint():
    """A fingerprint of the grader itself: results recorded by another version are graded again."""
    return code_fingerprint() + hashlib.sha256((REPO / "nbgrader_config.py").read_bytes()).hexdigest()


# Each worker process keeps one slot number for its life: it names its scratch folders (kernels take
# their accounts host-wide, sandbox.take_account).
_slot = None


def limit_memory(memory_bytes):
    """The grader's own work on a student's choices (tests fitting a rebuilt estimator, decoding a
    reply) is bounded too: past this a MemoryError fails that test, not the machine."""
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = memory_bytes if hard == resource.RLIM_INFINITY else min(memory_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def start_worker(slots, memory_bytes):
    """Set up a worker process of the local pool."""
    global _slot
    _slot = slots.get()
    limit_memory(memory_bytes)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the batch from the main process
    try:  # die with the main process, even if it is killed outright: no orphan grading goes on
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def files_of(folder):
    """{relative path: bytes} of every file under `folder`."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def write_files(folder, files):
    for name, data in files.items():
        path = Path(folder) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def empty_gradebook(root, course_id):
    """A new, empty gradebook file of the course, made once per run: nbgrader stamps every new
    gradebook with its schema version by running `alembic` in a subprocess (seconds each), and a
    copy of this one needs no stamp."""
    path = root / GRADING / "assignments" / "empty.db"
    path.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    Gradebook(f"sqlite:///{path}", course_id).close()
    return path


def assignment_gradebook(root, course_api, assignment, empty):
    """A gradebook holding only `assignment` as nbgrader records it from its source, with the course
    gradebook's due date: what every task of that assignment starts from (no student, no other
    assignment). `empty` is the file of `empty_gradebook`."""
    path = root / GRADING / "assignments" / f"{assignment}.db"
    shutil.copy(empty, path)
    api, _ = load_api(root, path)
    result = api.generate_assignment(assignment, force=True, create=True)
    if not result["success"]:
        sys.exit(f"Cannot prepare {assignment} for grading: {nbgrader_error(result)}")
    with course_api.gradebook as course, api.gradebook as gb:
        gb.update_or_create_assignment(assignment, duedate=course.find_assignment(assignment).duedate)
    return path


def task_input(root, template, assignment, student, limits, memory_bytes):
    """One submission as data, for a worker that sees nothing else: the staged notebooks and files,
    the assignment's source files, a gradebook holding that assignment and that student only, and the
    nbgrader configuration."""
    with tempfile.TemporaryDirectory() as private:
        gradebook = Path(private) / "gradebook.db"
        shutil.copy(template, gradebook)
        with Gradebook(f"sqlite:///{gradebook}") as gb:
            gb.update_or_create_student(student)
        return {
            "assignment": assignment, "student": student, "limits": limits, "memory_bytes": memory_bytes,
            "hide": [str(root)],  # the course, should the worker's machine hold it
            "config": (REPO / "nbgrader_config.py").read_bytes(),
            "source": files_of(root / "source" / assignment),
            "submission": files_of(root / STAGED / student / assignment),
            "gradebook": gradebook.read_bytes(),
        }


def grade_task(task):
    """Autograde one submission given as data (task_input) and write its feedback, in a private
    folder: what a worker runs, in the local pool or on a Dask worker.

    Returns JSON as bytes, never an object to unpickle: the scores to merge, the feedback pages, the
    autograded notebooks, or the reason it failed, and the sandbox's protections on this worker.
    """
    global _slot
    if _slot is None:  # a Dask worker's first task (its kernels take their uids host-wide: sandbox.take_account)
        _slot = 0
        limit_memory(task["memory_bytes"])
    started = time.monotonic()
    execute.phases.clear()
    assignment, student = task["assignment"], task["student"]
    worker = {"host": socket.gethostname(), "pid": os.getpid(), "slot": _slot, "code": code_fingerprint(),
              "protections": [list(p) for p in sandbox.protections()]}
    try:
        # In memory when it can be: the private gradebook's ~45 commits per submission need not wait
        # for the disk, and all of it is thrown away.
        with tempfile.TemporaryDirectory(prefix="imbc-task-", dir="/dev/shm" if os.access("/dev/shm", os.W_OK) else None) as private:
            private = Path(private)
            course = private / "course"
            write_files(private, {"nbgrader_config.py": task["config"], "gradebook.db": task["gradebook"]})
            write_files(course / "source" / assignment, task["source"])
            write_files(course / STAGED / student / assignment, task["submission"])
            api, _ = load_api(course, private / "gradebook.db", _slot, task["limits"], config_folder=private,
                              hide=task["hide"])
            result = api.autograde(assignment, student, force=True, create=True)
            if not result["success"]:
                return json.dumps({"worker": worker, "error": execute.last_failure or nbgrader_error(result)}).encode()
            feedback_started = time.monotonic()
            feedback = api.generate_feedback(assignment, student, force=True)
            execute.phases["feedback"] += time.monotonic() - feedback_started
            folder = lambda kind: course / kind / student / assignment
            with api.gradebook as gb:
                submission = gb.find_submission(assignment, student)
                result = {
                    "worker": worker,
                    "timestamp": submission.timestamp.isoformat() if submission.timestamp else None,
                    "notebooks": {nb.name: {
                        "grades": {g.name: [g.auto_score, g.needs_manual_grade] for g in nb.grades},
                        "comments": {c.name: c.auto_comment for c in nb.comments},
                        "late_penalty": nb.late_submission_penalty,
                    } for nb in submission.notebooks},
                    "feedback": None if feedback["success"] else nbgrader_error(feedback),
                    "pages": {p.name: p.read_text() for p in folder(api.coursedir.feedback_directory).glob("*.html")},
                    "autograded": {p.name: p.read_text() for p in folder(api.coursedir.autograded_directory).glob("*.ipynb")},
                    # Seconds per phase, for `make bench`: the rest of the time is nbgrader's bookkeeping.
                    "phases": {**execute.phases,
                               "bookkeeping": time.monotonic() - started - sum(execute.phases.values())},
                }
            return json.dumps(result).encode()
    except Exception as error:  # a task never raises: Dask would pickle the exception for the main process
        return json.dumps({"worker": worker, "error": f"{type(error).__name__}: {error}"}).encode()


MAX_RESULT_MB = 10 * MAX_NOTEBOOK_MB


def checked_result(raw, notebooks):
    """A worker's reply as plain data, or {"error": why it is refused}: nothing in it is trusted
    beyond its shape (the worker's sandbox may be broken). `notebooks` are the assignment's
    notebook names without .ipynb."""
    def refused(why):
        return {"error": f"the worker's reply is refused: {why}"}
    if not isinstance(raw, bytes):
        return refused(f"{type(raw).__name__}, not bytes")
    if len(raw) > MAX_RESULT_MB * 2**20:
        return refused(f"{len(raw) / 2**20:.0f} MB, above {MAX_RESULT_MB} MB")
    try:
        result = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        return refused(f"not JSON ({err})")
    text = lambda v: isinstance(v, str)
    number = lambda v: v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))
    worker = result.get("worker") if isinstance(result, dict) else None
    protections = worker.get("protections") if isinstance(worker, dict) else None
    described = (isinstance(worker, dict) and text(worker.get("host")) and isinstance(worker.get("pid"), int)
                 and isinstance(protections, list)
                 and all(isinstance(p, list) and len(p) == 3 and text(p[0]) and isinstance(p[1], bool) and text(p[2])
                         for p in protections))
    if not described:  # [(protection, active, how)], as sandbox.protections() gives
        return refused("no worker description")
    if worker.get("code") != code_fingerprint():
        return refused(f"{printable(worker['host'])} runs another version of the grader: install this one there")
    if "error" in result:
        return result if text(result["error"]) else refused("an error that is not text")
    shape = [
        (result.get("timestamp") is None or text(result.get("timestamp")), "timestamp"),
        (result.get("feedback") is None or text(result.get("feedback")), "feedback"),
        (isinstance(result.get("notebooks"), dict) and set(result["notebooks"]) <= notebooks, "notebook names"),
        (isinstance(result.get("pages"), dict) and set(result["pages"]) <= {f"{n}.html" for n in notebooks}
         and all(map(text, result["pages"].values())), "feedback pages"),
        (isinstance(result.get("phases", {}), dict) and all(text(k) and number(v) for k, v in result.get("phases", {}).items()),
         "phases"),
        (isinstance(result.get("autograded"), dict) and set(result["autograded"]) <= {f"{n}.ipynb" for n in notebooks}
         and all(map(text, result["autograded"].values())), "autograded notebooks"),
    ]
    for scores in (result["notebooks"].values() if isinstance(result.get("notebooks"), dict) else []):
        shape.append((isinstance(scores, dict) and number(scores.get("late_penalty"))
                       and isinstance(scores.get("grades"), dict) and isinstance(scores.get("comments"), dict)
                       and all(isinstance(g, list) and len(g) == 2 and number(g[0]) and isinstance(g[1], bool)
                               for g in scores["grades"].values())
                       and all(v is None or text(v) for v in scores["comments"].values()), "scores"))
    wrong = [name for ok, name in shape if not ok]
    if wrong:
        return refused(f"unexpected {', '.join(dict.fromkeys(wrong))}")
    try:
        if result["timestamp"]:
            datetime.datetime.fromisoformat(result["timestamp"])
        incidents = []
        for name, notebook in sorted(result["autograded"].items()):
            found = nbformat.reads(notebook, as_version=4).metadata.get("imbalanced_course", {}).get("incidents", [])
            incidents += [f"{Path(name).stem}: {text}" for text in found if isinstance(text, str)]
    except Exception as err:
        return refused(f"{type(err).__name__}: {err}")
    result["incidents"] = incidents
    return result


def printable(text):
    """`text` on one line with no control characters: a worker's words cannot fake lines of the log."""
    return "".join(ch if ch.isprintable() else " " for ch in text)


def write_outputs(root, api, assignment, student, result):
    """The feedback pages (scripts forbidden here, whatever the worker did) and autograded notebooks,
    each replacing the folder the last grading wrote."""
    for kind, files in ((api.coursedir.feedback_directory, result["pages"]),
                        (api.coursedir.autograded_directory, result["autograded"])):
        folder = root / kind / student / assignment
        shutil.rmtree(folder, ignore_errors=True)
        write_files(folder, {name: text.encode() for name, text in files.items()})
    for page in (root / api.coursedir.feedback_directory / student / assignment).glob("*.html"):
        pages.forbid_scripts(page)


def merge(gb, assignment, student, result):
    """Write a worker's scores into the course's gradebook `gb` (this process is its only writer);
    return the submission. Each notebook's cells are read in one query: one query per cell made
    merging the main process's largest cost."""
    gb.update_or_create_student(student)
    extra = {"timestamp": datetime.datetime.fromisoformat(result["timestamp"])} if result["timestamp"] else {}
    submission = gb.update_or_create_submission(assignment, student, **extra)
    notebooks = {nb.name: nb for nb in submission.notebooks}
    for name, scores in result["notebooks"].items():
        notebook = notebooks[name]  # checked_result allows only the assignment's notebooks
        grades, comments = {g.name: g for g in notebook.grades}, {c.name: c for c in notebook.comments}
        unknown = sorted((set(scores["grades"]) - set(grades)) | (set(scores["comments"]) - set(comments)))
        if unknown:
            raise ValueError(f"{name} has no graded or answer cell named {', '.join(map(repr, unknown))}")
        for grade_id, (auto_score, needs_manual) in scores["grades"].items():
            grades[grade_id].auto_score, grades[grade_id].needs_manual_grade = auto_score, needs_manual
        for comment_id, text in scores["comments"].items():
            comments[comment_id].auto_comment = text
        notebook.late_submission_penalty = scores["late_penalty"]
    gb.db.commit()
    return submission


def with_notes(line, notes):
    """A report line with its notes, if any, in brackets."""
    return line + (f" ({'; '.join(notes)})" if notes else "")


@functools.cache
def assignment_notebooks(root, assignment):
    """The names (without .ipynb) of the notebooks of `assignment` in `root`'s source: those a
    worker's reply may name (checked_result)."""
    return frozenset(Path(name).stem for name in (root / "source" / assignment).glob("*.ipynb"))


def graded_line(root, submission, notes):
    """The report line of a graded submission: its score as the course's gradebook now holds it,
    when the LMS says it was handed in (and if late), and the notes."""
    assignment, student = submission.assignment.name, submission.student.id
    collected = lms.collection_note(root, assignment, student)
    notes = [collected, *notes] if collected else notes
    score = f"{submission.score:g}/{submission.max_score:g}"
    return with_notes(f"{student} {assignment}: graded {score}", notes)


def take_result(root, api, gb, job, result):
    """Merge a checked result (checked_result) of `job` into the course's gradebook `gb`, write its
    pages and record it: this process's work for each result. Returns the report line and "graded",
    or "FAILED" when the result is an error or cannot be merged."""
    assignment, student, notes, fingerprint, done = job
    if "error" not in result:
        try:
            submission = merge(gb, assignment, student, result)
        except Exception as error:  # grades of cells the source does not have, say
            gb.db.rollback()
            result = {"error": f"the worker's reply is refused: {type(error).__name__}: {error}"}
    if "error" in result:
        gb.update_or_create_student(student)  # a row in grades.csv; the report says why it is empty
        return with_notes(f"{student} {assignment}: FAILED: {result['error']}", notes), "FAILED"
    write_outputs(root, api, assignment, student, result)
    notes = notes + result["incidents"]
    if result["feedback"]:
        notes.append(f"no feedback: {result['feedback']}")
    line = graded_line(root, submission, notes)
    kept = {k: result[k] for k in ("timestamp", "notebooks", "phases") if k in result}  # enough to merge again
    record(done, {"fingerprint": fingerprint, "line": line, "result": kept})
    return line, "graded"


def record(path, entry):
    """Write a result file whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(entry))
    os.replace(partial, path)


def grade_locally(workers, memory_bytes, tasks):
    """Grade (job, task) pairs in `workers` local processes; yield (job, reply, None) as they finish,
    or (job, None, why) when the worker itself failed. Workers die with this process (see start_worker)."""
    context = multiprocessing.get_context("spawn")
    slots = context.Queue()
    for slot in range(workers):
        slots.put(slot)
    with ProcessPoolExecutor(workers, mp_context=context, initializer=start_worker,
                             initargs=(slots, memory_bytes)) as pool:
        futures = {pool.submit(grade_task, task): job for job, task in tasks}
        for future in as_completed(futures):
            try:
                yield futures[future], future.result(), None
            except Exception as error:  # the worker itself failed: say so, keep grading the others
                yield futures[future], None, f"{type(error).__name__}: {error}"


def grade_on_dask(address, tls, tasks):
    """Grade (job, task) pairs on the workers of the Dask cluster at `address`, over TLS when `tls`
    names (CA file, certificate, key); yield (job, reply, None) as they finish, or (job, None, why).

    This process unpickles nothing a worker chose: it takes results only as msgpack (which carries
    bytes, no objects), only through the scheduler, and never reads a failed task's exception (Dask
    would unpickle it). A worker that dies mid-task costs a retry on another; after
    `distributed.scheduler.allowed-failures` deaths Dask gives up (KilledWorker).
    """
    # Imported here: local grading's worker processes import this module and need none of Dask.
    import dask
    from distributed import Client, Security, as_completed as completed

    security = Security(tls_ca_file=tls[0], tls_client_cert=tls[1], tls_client_key=tls[2],
                        require_encryption=True) if all(tls) else None
    allowed = dask.config.get("distributed.scheduler.allowed-failures")
    with Client(address, security=security, serializers=["msgpack"], deserializers=["msgpack"],
                direct_to_workers=False) as client:
        # By name from the installed package: under `python -m autograder.grade` this module is
        # __main__, whose functions Dask would ship by value instead.
        from autograder.grade import grade_task as by_name
        futures = {}
        for job, task in tasks:
            # pure=False: the same submission graded again is a new task, never a cached result.
            futures[client.submit(by_name, task, pure=False, key=f"grade-{job[0]}-{job[1]}-{uuid.uuid4().hex}")] = job
        for future in completed(futures):
            job = futures.pop(future)
            if future.status != "finished":  # grade_task never raises: Dask gave up on it
                yield job, None, (f"Dask gave up on it (KilledWorker: a worker died grading it, {allowed + 1} times "
                            "in all, or could not run it); it is graded again on the next run")
                continue
            try:
                yield job, future.result(), None
            except Exception as error:  # a reply msgpack does not carry: refused unread
                yield job, None, f"the worker's reply is refused: {type(error).__name__}: {error}"
            future.release()


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
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="grade on the workers of this Dask cluster (tcp://HOST:8786 or tls://HOST:8786; "
                             "docs/grading-at-scale.md) instead of --workers local processes")
    parser.add_argument("--tls-ca-file", help="with --scheduler: the CA certificate the cluster's certificates are signed by")
    parser.add_argument("--tls-cert", help="with --scheduler: this grader's certificate (PEM)")
    parser.add_argument("--tls-key", help="with --scheduler: this grader's private key (PEM)")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be 1 or more")
    tls = [args.tls_ca_file, args.tls_cert, args.tls_key]
    if any(tls) and not (all(tls) and args.scheduler):
        parser.error("--tls-ca-file, --tls-cert and --tls-key go together, with --scheduler")
    if args.scheduler and args.scheduler.startswith("tls://") != all(tls):
        parser.error("a tls:// scheduler needs --tls-ca-file, --tls-cert and --tls-key, and they need a tls:// scheduler")
    root = args.root.resolve()
    started = time.monotonic()
    code_fingerprint()  # of the code as this process starts, which workers' replies must match
    grades_csv = root / "autograder" / "grades.csv"
    report_file = root / "autograder" / "grading-report.txt"
    api, submitted = load_api(root)
    print(sandbox.describe_protections(), flush=True)
    submissions, report = find_submissions(api.coursedir, submitted)
    for line in report:
        print(line, flush=True)
    if not submissions:
        print(f"No submissions under {submitted}/<student_id>/<assignment>/.")
    empty = functools.cache(lambda: empty_gradebook(root, api.coursedir.course_id))
    if submissions and not (root / COURSE_GRADEBOOK).exists():
        shutil.copy(empty(), root / COURSE_GRADEBOOK)  # what nbgrader would make, without a second alembic run

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
                    out_of = gradebook.find_assignment(assignment).max_score
                report.append(f"{student} {assignment}: zero 0/{out_of:g}: nothing to grade: {'; '.join(notes)}")
                counts["zero"] += 1
                print(report[-1], flush=True)
                continue
            jobs.append((assignment, student, notes, digest(staged) + source_fingerprint))

    # One session on the course's gradebook from here on: opening one costs more than most merges.
    course_gradebook = api.gradebook
    todo = []
    for assignment, student, notes, fingerprint in jobs:
        done = root / GRADING / "results" / assignment / f"{student}.json"
        entry = json.loads(done.read_text()) if done.exists() else None
        if entry and entry["fingerprint"] == fingerprint and not args.regrade:
            merge(course_gradebook, assignment, student, entry["result"])  # idempotent: the gradebook may be new
            report.append(entry["line"])
            counts["unchanged"] += 1
        else:
            todo.append((assignment, student, notes, fingerprint, done))

    limits = {"timeout": args.timeout, "budget": args.budget, "max_reply_mb": args.max_reply_mb}
    memory_bytes = int(args.worker_memory_gb * 2**30)
    # Each assignment's gradebook is made when its first task is: workers grade the first ones meanwhile.
    template = functools.cache(lambda assignment: assignment_gradebook(root, api, assignment, empty()))
    tasks = ((job, task_input(root, template(job[0]), job[0], job[1], limits, memory_bytes)) for job in todo)
    if args.scheduler:
        graded, workers = grade_on_dask(args.scheduler, tls, tasks), "Dask"
    else:
        workers = min(args.workers, len(todo)) or 1
        graded = grade_locally(workers, memory_bytes, tasks)
    seen_workers, writing = set(), 0.0  # seconds this process spends on results: what bounds a cluster
    # No bar when stderr is no terminal: its padded lines would clutter a log.
    bar = tqdm(total=len(todo), desc=f"Grading ({workers} workers)", unit="submission", file=sys.stderr, disable=None)
    with course_gradebook as gb, bar:
        for job, raw, failure in graded:
            received = time.perf_counter()
            result = {"error": failure} if failure else checked_result(raw, assignment_notebooks(root, job[0]))
            worker = result.get("worker")
            if worker and (worker["host"], worker.get("pid")) not in seen_workers:
                seen_workers.add((worker["host"], worker.get("pid")))
                if args.scheduler:  # each worker's sandbox may differ from this machine's
                    summary = sandbox.summarize_protections(worker["protections"])
                    bar.write(printable(f"Sandbox on {worker['host']} (process {worker['pid']}): {summary}"))
            line, status = take_result(root, api, gb, job, result)
            counts[status] += 1
            writing += time.perf_counter() - received
            report.append(line)
            bar.write(line)
            bar.update()

    for student, assignment, problems in set_aside:  # after the workers' feedback, which replaces the folder
        folder = root / api.coursedir.feedback_directory / student / assignment
        for name, problem in problems.items():
            pages.write_set_aside_page(folder / f"{Path(name).stem}.html", name, problem)
    with api.gradebook as gradebook:
        exports.write_grades_csv(gradebook, grades_csv)  # nbgrader's columns, sorted by student and assignment
    report_file.write_text("\n".join(sorted(report)) + "\n")  # printed as they came, saved in order
    elapsed = time.monotonic() - started
    summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    print(f"Done in {elapsed:.1f} s with {workers} workers: {summary or 'nothing to grade'}.")
    if todo:
        print(f"Checking and writing results here: {1000 * writing / len(todo):.0f} ms per submission.")
    print(f"Grades: {grades_csv}\nReport: {report_file}")


if __name__ == "__main__":
    main()
