"""Grading on a Dask cluster of real processes gives the grades local grading gives, row for row,
even when a worker is killed mid-batch; each task carries one student's submission and nothing else.

A `dask scheduler` and two `dask worker` processes run on 127.0.0.1 from this environment, each in
a working folder of its own that holds no copy of the course. The batch: the reference, untouched
and corpus submissions of two notebooks of tests/test_corpus.py, and a few attacks.
"""
import csv
import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

import attacks
from conftest import REPO, copy_course, dask_cluster, survivors
import test_corpus as corpus
from test_corpus import ATTACK_CASES, CASES

from autograder import grade, sandbox

NOTEBOOKS = ("08_summary_and_practice", "02_syntax")
ATTACKS = ("attack--reads_course_files", "attack--kernel_crash")
# Ten submissions: every case of the quiz, the reference and untouched lesson notebook, two attacks.
BATCH = [c for c in CASES if c[2] == NOTEBOOKS[0] or (c[2] == NOTEBOOKS[1] and c[0].split("--")[1] in ("reference", "untouched"))]
BATCH += [c for c in ATTACK_CASES if c[0] in ATTACKS]
BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
       "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def submit(root):
    """The batch's submissions, as tests/test_corpus.py writes them (port 9, discard: nothing listens)."""
    corpus.submit(root, BATCH, 9)
    return root


def grader(root, *options):
    return subprocess.Popen([sys.executable, "-m", "autograder.grade", "--root", str(root),
                             "--timeout", str(attacks.TIMEOUT), *options],
                            cwd=REPO, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def rows(root):
    """[(student, assignment, notebook, cell, score)] of the course's gradebook, sorted."""
    found = []
    with Gradebook(f"sqlite:///{root / 'autograder' / 'gradebook.db'}") as gb:
        for student, assignment, notebook, *_ in BATCH:
            for g in gb.find_submission_notebook(notebook, assignment, student).grades:
                found.append((student, assignment, notebook, g.name, g.score))
    return sorted(found)


def grades_csv(root):
    with open(root / "autograder" / "grades.csv", newline="") as f:
        return sorted((r["student_id"], r["assignment"], r["score"]) for r in csv.DictReader(f))


def kernel_running(pid):
    """True when the process `pid` has a child: the sandboxed kernel of the submission it grades."""
    return bool(subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.strip())


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two workers on 127.0.0.1: (address, [worker process], [its folder], scheduler log)."""
    with dask_cluster(tmp_path_factory.mktemp("dask"), ENV) as running:
        yield running


@pytest.fixture(scope="module")
def graded(tmp_path_factory, cluster):
    """The batch graded locally and on the cluster, one worker killed while it grades a submission."""
    address, workers, _, _ = cluster
    local = submit(copy_course(tmp_path_factory.mktemp("local")))
    on_dask = submit(copy_course(tmp_path_factory.mktemp("on-dask")))
    run = grader(local, "--workers", "2")
    out, err = run.communicate(timeout=1800)
    assert run.returncode == 0, out + err
    run = grader(on_dask, "--scheduler", address)
    results = on_dask / "autograder" / "grading" / "results"
    victim, started = workers[0], time.monotonic()
    while run.poll() is None and not (list(results.glob("*/*.json")) and kernel_running(victim.pid)):
        time.sleep(0.1)
    assert run.poll() is None, "the batch ended before a worker could be killed"
    recorded = len(list(results.glob("*/*.json")))
    victim.kill()
    victim.wait()
    print(f"\nkilled worker-a (pid {victim.pid}) {time.monotonic() - started:.0f} s into the batch, "
          f"while it graded a submission, {recorded} of {len(BATCH)} results recorded")
    out, err = run.communicate(timeout=1800)
    assert run.returncode == 0, out + err
    return local, on_dask, out


def test_the_cluster_grades_like_local_grading_row_for_row(graded):
    local, on_dask, out = graded
    assert f"{len(BATCH)} graded" in out, out
    assert rows(on_dask) == rows(local)
    assert grades_csv(on_dask) == grades_csv(local)
    expected = sorted((s, a, n, cell, float(points)) for s, a, n, _, _, exp in BATCH for cell, points in exp.items())
    assert [r[:4] + (float(r[4]),) for r in rows(on_dask)] == expected


def test_each_workers_sandbox_is_reported(graded):
    _, _, out = graded
    lines = [line for line in out.splitlines() if line.startswith("Sandbox on ")]
    here = sandbox.summarize_protections(sandbox.protections())  # the workers run on this machine
    assert len(lines) >= 2 and all(line.endswith(f": {here}") for line in lines), out


def test_feedback_comes_back_from_the_workers(graded):
    _, on_dask, _ = graded
    for student, assignment, notebook, *_ in BATCH:
        page = on_dask / "autograder" / "feedback" / student / assignment / f"{notebook}.html"
        assert 'http-equiv="Content-Security-Policy"' in page.read_text()


def test_workers_keep_nothing_of_the_course(graded, cluster):
    _, on_dask, _ = graded
    _, _, folders, _ = cluster
    for folder in folders:
        left = [p for p in folder.rglob("*") if p.suffix in (".ipynb", ".db", ".html")]
        assert not left, left
    assert survivors(on_dask) == ""


def test_a_task_holds_only_its_students_submission(graded, tmp_path):
    _, on_dask, _ = graded
    student, assignment, notebook, *_ = BATCH[0]
    template = on_dask / grade.GRADING / "assignments" / f"{assignment}.db"
    task = grade.task_input(on_dask, template, assignment, student, {}, 2**30)
    staged = on_dask / grade.STAGED / student / assignment
    assert task["submission"] == {str(p.relative_to(staged)): p.read_bytes() for p in staged.rglob("*") if p.is_file()}
    assert f"{notebook}.ipynb" in task["submission"]
    assert task["source"].keys() == {str(p.relative_to(on_dask / "source" / assignment))
                                     for p in (on_dask / "source" / assignment).rglob("*") if p.is_file()}
    (tmp_path / "task.db").write_bytes(task["gradebook"])
    with Gradebook(f"sqlite:///{tmp_path / 'task.db'}") as gb:
        assert [s.id for s in gb.students] == [student]
        assert [a.name for a in gb.assignments] == [assignment]
        assert gb.find_assignment(assignment).submissions == []  # no grade of anyone's
    everything = b"".join([*task["submission"].values(), *task["source"].values(), task["gradebook"]])
    others = {s for s, *_ in BATCH} - {student}
    assert not [s for s in others if s.encode() in everything]
    assert task["gradebook"] != (on_dask / "autograder" / "gradebook.db").read_bytes()


def reply(**changes):
    """A worker's reply in the shape grade_task gives, with `changes`."""
    quiz = attacks.QUIZ
    result = {"worker": {"host": "node-1", "pid": 1, "slot": 0, "code": grade.code_fingerprint(), "protections": [["no network", True, "own network namespace"]]},
              "timestamp": None, "feedback": None,
              "notebooks": {quiz: {"grades": {"q01_test": [1.0, False]}, "comments": {"q01_answer": None}, "late_penalty": None}},
              "pages": {f"{quiz}.html": "<html></html>"}, "autograded": {}}
    return json.dumps({**result, **changes}).encode()


@pytest.mark.parametrize("raw, why", [
    (pickle.dumps({"a": 1}), "not JSON"),
    (reply(pages={"../../../gradebook.db.html": ""}), "feedback pages"),
    (reply(autograded={"other.ipynb": "{}"}), "autograded notebooks"),
    (reply(notebooks={attacks.QUIZ: {"grades": {"q01_test": ["10", False]}, "comments": {}, "late_penalty": None}}), "scores"),
    (reply(worker={"host": "node-1", "pid": 1, "code": "another", "protections": [["no network", True, "own network namespace"]]}), "another version of the grader"),
    (reply(timestamp="yesterday"), "ValueError"),
    (reply(worker={"host": "node-1", "pid": 1, "code": grade.code_fingerprint(), "protections": "all on\nfaked line"}),
     "no worker description"),
    (json.dumps([1]).encode(), "no worker description"),
    ({"not": "bytes"}, "not bytes"),
])
def test_a_reply_out_of_shape_is_refused_with_its_reason(raw, why):
    assert "error" not in grade.checked_result(reply(), {attacks.QUIZ})
    result = grade.checked_result(raw, {attacks.QUIZ})
    assert result["error"].startswith("the worker's reply is refused") and why in result["error"], result


def test_a_reply_with_grades_for_cells_the_source_lacks_changes_no_grade(graded, tmp_path):
    """Its shape is right, so only the merge can tell: refused, and the gradebook keeps the grade it had."""
    _, on_dask, _ = graded
    student, assignment = next((s, a) for s, a, nb, *_ in BATCH if nb == attacks.QUIZ)
    forged = {attacks.QUIZ: {"grades": {"q01_test": [1.0, False], "q99_made_up": [1000.0, False]},
                             "comments": {}, "late_penalty": None}}
    result = grade.checked_result(reply(notebooks=forged), {attacks.QUIZ})
    assert "error" not in result  # names are not the shape's to check: the source knows them
    api, _ = grade.load_api(on_dask)
    with api.gradebook as gb:
        before = rows(on_dask)
        job = (assignment, student, [], "fingerprint", tmp_path / "result.json")
        line, status = grade.take_result(on_dask, api, gb, job, result)
    assert status == "FAILED" and "has no graded or answer cell named 'q99_made_up'" in line, line
    assert rows(on_dask) == before
    assert not job[-1].exists()  # nothing recorded: the next run grades it again
