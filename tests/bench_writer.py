"""The single writer's cost per result: what bounds grading on a cluster (docs/grading-at-scale.md).

    .venv/bin/python tests/bench_writer.py [--results 400]

Grades a small batch once with `python -m autograder.grade` (the reference solution of each graded
assignment), then gives the grader's main process those submissions' replies again as if they came
from RESULTS new students, one after the other, with no worker running beside it: per result, what
the main process does with a reply (grade.checked_result, then grade.take_result: merge into the
gradebook, write the pages, record the result). Prints the mean cost per result, the first and last
hundred apart (whether a growing gradebook slows it), and what it implies for 1,000 and 75,000
submissions. A benchmark, not a test: it prints what it measures and fails nothing.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_grading import build_batch  # noqa: E402
from conftest import REPO  # noqa: E402
from test_corpus import CASES  # noqa: E402

from autograder import grade, sandbox  # noqa: E402


def replies(root):
    """[(assignment, reply bytes, the worker-seconds it took)] rebuilt from what grading `root` wrote,
    in a worker's shape."""
    worker = {"host": socket.gethostname(), "pid": os.getpid(), "slot": 0, "code": grade.code_fingerprint(),
              "protections": [list(p) for p in sandbox.protections()]}
    found = []
    for path in sorted((root / grade.GRADING / "results").glob("*/*.json")):
        assignment, student = path.parent.name, path.stem
        kept = json.loads(path.read_text())["result"]
        files = lambda kind, suffix: {p.name: p.read_text() for p in (root / "autograder" / kind / student / assignment).glob(suffix)}
        reply = {"worker": worker, "feedback": None, **kept,
                 "pages": files("feedback", "*.html"), "autograded": files("autograded", "*.ipynb")}
        found.append((assignment, json.dumps(reply).encode(), sum(kept["phases"].values())))
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=400, help="replies to merge (default: 400)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "course"
        n = build_batch(root, [case for case in CASES if case[0].endswith("--reference")])
        subprocess.run([sys.executable, "-m", "autograder.grade", "--root", root], cwd=REPO, check=True,
                       capture_output=True)
        sample = replies(root)
        busy = sum(seconds for *_, seconds in sample) / len(sample)  # a worker's seconds per submission
        print(f"Replies of {n} graded reference solutions, merged {args.results} times as new students; "
              f"load average {os.getloadavg()[0]:.2f}.")
        api, _ = grade.load_api(root)
        seconds = []
        with api.gradebook as gb:
            for i in range(args.results):
                assignment, raw, _ = sample[i % len(sample)]
                student = f"student-{i:06d}"
                job = (assignment, student, [], "bench", root / grade.GRADING / "results" / assignment / f"{student}.json")
                started = time.perf_counter()
                result = grade.checked_result(raw, grade.assignment_notebooks(root, assignment))
                line, status = grade.take_result(root, api, gb, job, result)
                seconds.append(time.perf_counter() - started)
                if status != "graded":
                    sys.exit(f"not merged: {line}")
    mean = sum(seconds) / len(seconds)
    print(f"per result: {1000 * mean:.0f} ms mean; first 100: {1000 * sum(seconds[:100]) / len(seconds[:100]):.0f} ms, "
          f"last 100: {1000 * sum(seconds[-100:]) / len(seconds[-100:]):.0f} ms")
    for total in (1_000, 75_000):
        print(f"{total:>6} submissions: {total * mean / 60:.1f} min of the main process's time, whatever the workers")
    print(f"workers a single writer keeps busy, at this batch's {busy:.1f} worker-seconds per submission: "
          f"about {busy / mean:.0f}")


if __name__ == "__main__":
    main()
