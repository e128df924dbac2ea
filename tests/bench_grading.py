"""`make bench`: one batch graded by stock nbgrader, one after the other, then by `make grade`.

The batch is the submission corpus of tests/test_corpus.py (every corpus case, every reference
solution and untouched notebook: 49 submissions), copied into two fresh course folders. Both runs do
the same work: record the source in a new gradebook, autograde every submission, write feedback and
export grades.csv. Stock nbgrader 0.9.6 runs with its own Execute step and no sandbox; `make grade`
runs with every protection this machine allows (it prints which). Prints both wall times, their
ratio and the seconds per submission, and checks that both runs gave every submission the same score.
Then, per submission, where `make grade`'s time went: the durations each worker recorded while it
graded (autograder/grade.py's `phases` in every recorded result), summed over the batch.
"""
import argparse
import collections
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import REPO, copy_course  # noqa: E402
from test_corpus import CASES, fill_answers  # noqa: E402

# Stock nbgrader, with the course's folders: nbgrader_config.py of the repository minus its own
# Execute replacement, feedback preprocessors and added-back cells.
STOCK_CONFIG = """
c = get_config()
c.CourseDirectory.course_id = "imbalanced-course"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "stock-release"
c.CourseDirectory.submitted_directory = "autograder/submitted"
c.CourseDirectory.autograded_directory = "autograder/autograded"
c.CourseDirectory.feedback_directory = "autograder/feedback"
c.CourseDirectory.db_url = "sqlite:///autograder/gradebook.db"
c.Execute.timeout = 300
"""


def build_batch(root, cases=CASES):
    """A fresh course at `root` holding the corpus submissions `cases` (all by default); returns their number."""
    copy_course(root)
    for student, assignment, notebook, origin, answers, _ in cases:
        folder = root / "autograder" / "submitted" / student / assignment
        others = lambda _, names, nb=notebook: [n for n in names if n.endswith(".ipynb") and n != f"{nb}.ipynb"]
        shutil.copytree(REPO / origin / assignment, folder, ignore=others)
        fill_answers(folder / f"{notebook}.ipynb", answers)
    return len(cases)


def cpu_seconds():
    """CPU time the whole machine has spent busy so far, from /proc/stat (the kernels of `make grade`
    die by SIGKILL with their sandbox, so their time never reaches this process's rusage)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def run(command, cwd):
    started = time.monotonic()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(map(str, command))} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return time.monotonic() - started, result.stdout


def stock(root, nbgrader):
    """Stock nbgrader's commands, one assignment after the other, as its documentation runs them."""
    (root / "nbgrader_config.py").write_text(STOCK_CONFIG)
    assignments = sorted({a for _, a, *_ in CASES})
    started = time.monotonic()
    for assignment in assignments:
        for step in ("generate_assignment", "autograde", "generate_feedback"):
            run([nbgrader, step, assignment, "--force", "--log-level=ERROR"], root)
    run([nbgrader, "export", "--log-level=ERROR"], root)
    return time.monotonic() - started


PHASES = {  # recorded name: what it covers
    "kernel start": "kernel start (scratch folder, sandbox, interpreter, helper; and stop)",
    "imports": "imports of the lesson's modules in the kernel (scikit-learn, imbalanced-learn...)",
    "student cells": "the student's cells, in the kernel",
    "tests": "the tests, in the grader (with their calls into the kernel)",
    "imports in the grader": "the lesson's imports in the grader",
    "feedback": "feedback pages (nbgrader generate_feedback)",
    "bookkeeping": "nbgrader's bookkeeping (gradebook copy, config, autograde's own steps)",
}


def phase_breakdown(root, n, workers):
    """Lines saying how many seconds per submission each phase took, from the recorded results."""
    total = collections.Counter()
    for path in (root / "autograder" / "grading" / "results").glob("*/*.json"):
        total.update(json.loads(path.read_text())["result"].get("phases", {}))
    whole = sum(total.values())
    lines = [f"Per submission, worker-seconds (a worker grades one at a time; {workers} ran at once):"]
    for name in sorted(total, key=lambda k: list(PHASES).index(k) if k in PHASES else len(PHASES)):
        lines.append(f"  {total[name] / n:6.2f} s  {100 * total[name] / whole:4.1f} %  {PHASES.get(name, name)}")
    lines.append(f"  {whole / n:6.2f} s  in all")
    return lines


def scores(path):
    with open(path, newline="") as f:
        return {(row["student_id"], row["assignment"]): float(row["score"]) for row in csv.DictReader(f)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args()
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as scratch:
        stock_root, ours_root = Path(scratch) / "stock", Path(scratch) / "ours"
        n = build_batch(stock_root)
        build_batch(ours_root)
        print(f"Batch: {n} submissions of {len({a for _, a, *_ in CASES})} assignments "
              f"(tests/corpus/ plus every reference and untouched notebook); {os.cpu_count()} cores.", flush=True)
        cpu = cpu_seconds()
        stock_seconds = stock(stock_root, bin_dir / "nbgrader")
        stock_cpu, cpu = cpu_seconds() - cpu, cpu_seconds()
        print(f"stock nbgrader autograde, sequential: {stock_seconds:7.1f} s  ({stock_seconds / n:.2f} s per submission)"
              f"; machine CPU {stock_cpu:.0f} s, {stock_cpu / stock_seconds:.2f} cores busy on average", flush=True)
        ours_seconds, output = run([sys.executable, "-m", "autograder.grade", "--root", ours_root,
                                    "--workers", str(args.workers)], REPO)
        ours_cpu = cpu_seconds() - cpu
        print(f"make grade, {args.workers} workers:        {ours_seconds:7.1f} s  ({ours_seconds / n:.2f} s per submission)"
              f"; machine CPU {ours_cpu:.0f} s, {ours_cpu / ours_seconds:.2f} cores busy on average")
        print(f"machine CPU-seconds per submission: stock {stock_cpu / n:.2f}, make grade {ours_cpu / n:.2f}")
        print(f"ratio (stock / make grade): {stock_seconds / ours_seconds:.2f}x")
        lines = output.splitlines()
        start = lines.index("Sandbox protections:")
        print("\n".join(lines[start:start + 7]))
        print("\n".join(phase_breakdown(ours_root, n, args.workers)))
        stock_scores = scores(stock_root / "grades.csv")
        ours = scores(ours_root / "autograder" / "grades.csv")
        differ = sorted(k for k in ours if stock_scores.get(k) != ours[k])
        print(f"Same score from both for {len(ours) - len(differ)} of {len(ours)} rows"
              + (f"; differ: {differ}" if differ else "."))


if __name__ == "__main__":
    main()
