"""`make bench`'s batch graded by the local pool, then by a Dask cluster of as many workers on this machine.

    .venv/bin/python tests/bench_dask.py [--workers 2]

The batch of tests/bench_grading.py (every corpus submission) in two fresh course folders: one graded
with `python -m autograder.grade --workers W`, the other with `--scheduler` on a `dask scheduler` and W
one-thread `dask worker` processes on 127.0.0.1 (tests/conftest.py `dask_cluster`, started before the
clock). Prints both wall times, the seconds per submission and what Dask adds per submission, and
checks that both gave the same grades. A benchmark, not a test: it prints what it measures.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_grading import build_batch, scores  # noqa: E402
from conftest import REPO, dask_cluster  # noqa: E402


def grade(root, *options):
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "autograder.grade", "--root", root, *options], cwd=REPO,
                            capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"grading failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return time.monotonic() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory() as scratch:
        local, on_dask = Path(scratch) / "local", Path(scratch) / "dask"
        n = build_batch(local)
        build_batch(on_dask)
        print(f"Batch: {n} submissions; {args.workers} workers; load average {os.getloadavg()[0]:.2f}.", flush=True)
        local_seconds = grade(local, "--workers", str(args.workers))
        print(f"local pool:   {local_seconds:7.1f} s  ({local_seconds / n:.2f} s per submission)", flush=True)
        cluster = Path(scratch) / "cluster"
        cluster.mkdir()
        with dask_cluster(cluster, env, args.workers) as (address, *_):
            dask_seconds = grade(on_dask, "--scheduler", address)
        print(f"Dask cluster: {dask_seconds:7.1f} s  ({dask_seconds / n:.2f} s per submission)")
        print(f"Dask adds {1000 * (dask_seconds - local_seconds) / n:+.0f} ms per submission "
              f"({100 * (dask_seconds / local_seconds - 1):+.1f} %); load average {os.getloadavg()[0]:.2f}.")
        here, there = (scores(root / "autograder" / "grades.csv") for root in (local, on_dask))
        differ = sorted(k for k in here.keys() | there.keys() if here.get(k) != there.get(k))
        print("Same grades from both." if not differ else f"Grades differ: {differ}")


if __name__ == "__main__":
    main()
