"""How long each solution notebook takes to run top to bottom, against the course's time budget.

    .venv/bin/python tests/bench_notebooks.py [--cells N] [solutions/07_case_study/07b_methods_compared.ipynb ...]

Runs each notebook of solutions/ (or the ones named) in a fresh kernel, one after the other, as
nbval does, with one BLAS thread, and prints its wall time, its kernel's CPU time and the budget it
is held to: 60 s per notebook, 90 s for 09_benchmark (the one allowed past 60 s), 240 s for the
course. With --cells N it also prints each notebook's N slowest cells. The load average is printed
before and after: wall times measured on a busy machine are inflated, CPU times much less so.
A benchmark, not a test: it prints what it measures and fails nothing.
"""
import argparse
import os
import sys
import time
from datetime import datetime
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"  # as the Makefile exports; the kernel inherits it

import nbformat  # noqa: E402
import psutil  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
BUDGET = {"09_benchmark": 90.0}
DEFAULT_BUDGET = 60.0
COURSE_BUDGET = 240.0


def cell_seconds(cell):
    """Wall seconds of an executed cell, from the timestamps nbclient records."""
    t = cell.metadata.get("execution", {})
    start, end = t.get("iopub.execute_input"), t.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def run(path):
    """(wall s, kernel CPU s, executed notebook) for one notebook run in a fresh kernel."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    with client.setup_kernel():
        kernel = psutil.Process(client.km.provisioner.process.pid)
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        cpu = sum(kernel.cpu_times()[:4])  # user + system, children included
    return time.perf_counter() - start, cpu, nb


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--cells", type=int, default=0, help="print each notebook's N slowest cells")
    args = parser.parse_args()
    paths = args.notebooks or sorted((REPO / "solutions").glob("*/*.ipynb"))
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    total_wall = total_cpu = 0.0
    for path in paths:
        wall, cpu, nb = run(path.resolve())
        budget = BUDGET.get(path.stem, DEFAULT_BUDGET)
        total_wall, total_cpu = total_wall + wall, total_cpu + cpu
        flag = "  OVER BUDGET" if wall > budget else ""
        print(f"{path.stem:32s} wall {wall:6.1f} s  cpu {cpu:6.1f} s  (budget {budget:.0f} s){flag}", flush=True)
        slowest = sorted(((cell_seconds(c), i) for i, c in enumerate(nb.cells) if c.cell_type == "code"),
                         reverse=True)[:args.cells]
        for seconds, i in slowest:
            first = nb.cells[i].source.strip().splitlines()[0][:60] if nb.cells[i].source.strip() else ""
            print(f"    cell {i:3d} {seconds:6.1f} s  {first}")
    flag = "  OVER BUDGET" if total_wall > COURSE_BUDGET else ""
    print(f"{'total':32s} wall {total_wall:6.1f} s  cpu {total_cpu:6.1f} s  (budget {COURSE_BUDGET:.0f} s){flag}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    sys.exit(main())
