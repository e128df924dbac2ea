"""Nothing one submission leaves behind reaches the next one graded by the same worker.

Real grading (`python -m autograder.grade`, one worker) of two submissions in a row: the first one's
extra cell starts a background process, writes files in its scratch folder, its home and /tmp,
patches a scikit-learn function and sets an environment variable; the second one's extra cell looks
for each of them, from inside its own kernel, and the grader's host looks for what could outlive the
first kernel.
"""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat

from conftest import REPO, copy_course, survivors

MARK = "left-by-a"
LEAVE = f"""
import os, subprocess, sys, sklearn.metrics
subprocess.Popen(["sh", "-c", "sleep 600; : {MARK}"], start_new_session=True)
subprocess.Popen(["sh", "-c", "(sleep 600; : {MARK}) &"])  # a daemon: its parent exits at once
for folder in (os.getcwd(), os.path.expanduser("~"), "/tmp", "/dev/shm"):
    try:  # the scratch folder and home are A's to write; /tmp and /dev/shm are not, in the sandbox
        open(os.path.join(folder, "{MARK}.txt"), "w").write("A was here")
    except OSError:
        pass
sklearn.metrics.f1_score = lambda *args, **kwargs: 1.0
sklearn.LEFT_BY_A = True
os.environ["LEFT_BY_A"] = "1"
print("A ran in", os.getcwd())
"""
LOOK = f"""
import glob, json, os, sklearn, sklearn.metrics
processes = []
for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
    try:
        if b"{MARK}" in open(cmdline, "rb").read():
            processes.append(cmdline)
    except OSError:
        pass
files = [p for folder in (os.getcwd(), os.path.expanduser("~"), "/tmp", "/dev/shm")
         for p in glob.glob(os.path.join(folder, "**", "{MARK}*"), recursive=True)]
print(json.dumps({{"processes": processes, "files": files, "patched": hasattr(sklearn, "LEFT_BY_A"),
                  "f1_score from": sklearn.metrics.f1_score.__module__, "env": "LEFT_BY_A" in os.environ,
                  "cwd": os.getcwd()}}))
"""
ASSIGNMENT = "02_syntax"


def submit(root, student, code):
    folder = root / "autograder" / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    nb = nbformat.read(REPO / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(code))
    nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")


def last_output(root, student):
    nb = nbformat.read(root / "autograder" / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    return "".join(o.get("text", "") for o in nb.cells[-1].outputs)


def test_the_next_submission_sees_nothing_the_previous_one_left(tmp_path):
    root = copy_course(tmp_path / "course")
    submit(root, "a-leaves", LEAVE)  # graded first: students are graded in order
    submit(root, "b-looks", LOOK)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    result = subprocess.run([sys.executable, "-m", "autograder.grade", "--root", str(root), "--workers", "1"],
                            cwd=REPO, capture_output=True, text=True, timeout=900, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    a_ran_in = last_output(root, "a-leaves").split("A ran in ", 1)[1].strip()
    seen = json.loads(last_output(root, "b-looks"))
    assert seen["processes"] == [] and seen["files"] == [], seen
    assert not seen["patched"] and seen["f1_score from"].startswith("sklearn.metrics"), seen
    assert not seen["env"], seen
    assert seen["cwd"] != a_ran_in  # a fresh scratch folder...
    assert not Path(a_ran_in).exists()  # ...and A's is gone from the host
    assert survivors(MARK) == ""  # nothing A started outlived its kernel
    assert not list(Path("/tmp").glob(f"{MARK}*"))  # the kernel's /tmp was its own
    with open(root / "autograder" / "grades.csv", newline="") as grades:  # both solutions keep full marks
        rows = {row["student_id"]: row for row in csv.DictReader(grades)}
    assert {s: float(r["score"]) for s, r in rows.items()} == {s: float(r["max_score"]) for s, r in rows.items()}
    assert set(rows) == {"a-leaves", "b-looks"}
