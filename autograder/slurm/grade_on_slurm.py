"""Grade a class on a university's Slurm cluster: Dask workers as Slurm jobs (dask-jobqueue), the
course and the gradebook on the machine that runs this script (a login or service node).

Run it from the course's environment, with dask-jobqueue installed beside it, on a machine the
compute nodes can reach (docs/grading-at-scale.md):

    pip install dask-jobqueue==0.9.0
    python autograder/slurm/grade_on_slurm.py --root ~/imbalanced-course --jobs 20 \
        --account my-course --partition standard --tls ~/grading-tls

It asks Slurm for `--jobs` jobs of one core each; each job runs one Dask worker from the same
environment (an installed copy of the course package on a shared software path, never the course
folder itself), which grades one submission at a time in the sandbox of autograder/sandbox.py.
The scheduler runs in this process and listens over TLS only: other users of the cluster can reach
its port. `--tls` names a folder holding ca.pem, scheduler.pem, worker.pem and grader.pem (each a
certificate and its key) of a CA made for grading. Other options go to autograder.grade.
Written from the dask-jobqueue documentation; never run on a Slurm cluster from here.
"""
import argparse
import sys
from pathlib import Path

from dask_jobqueue import SLURMCluster
from distributed import Security

from autograder import grade


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10, help="Slurm jobs, one worker and one core each (default: 10)")
    parser.add_argument("--account", required=True, help="the Slurm account the jobs are charged to")
    parser.add_argument("--partition", required=True, help="the Slurm partition (queue) they run in")
    parser.add_argument("--walltime", default="02:00:00", help="each job's time limit (default: 2 hours)")
    parser.add_argument("--tls", type=Path, required=True, help="folder of ca.pem, scheduler.pem, worker.pem, grader.pem")
    args, grade_args = parser.parse_known_args(argv)
    ca, scheduler, worker, client = (str(args.tls / f"{name}.pem") for name in ("ca", "scheduler", "worker", "grader"))
    security = Security(tls_ca_file=ca, tls_scheduler_cert=scheduler, tls_scheduler_key=scheduler,
                        tls_worker_cert=worker, tls_worker_key=worker, require_encryption=True)
    cluster = SLURMCluster(
        account=args.account,
        queue=args.partition,
        cores=1,  # one sandboxed kernel per worker, as in local grading
        processes=1,
        memory="8GB",  # a kernel may use 4 GiB (sandbox.py), the worker's own work 6 GiB (grade.py)
        walltime=args.walltime,
        python=sys.executable,  # the same environment on the compute nodes: a shared software path
        protocol="tls://",
        security=security,
        worker_extra_args=["--nthreads", "1"],
        local_directory="$TMPDIR",  # each job's own scratch folder on its node
        job_script_prologue=["export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1"],
    )
    try:
        cluster.scale(jobs=args.jobs)
        grade.main([*grade_args, "--scheduler", cluster.scheduler_address,
                    "--tls-ca-file", ca, "--tls-cert", client, "--tls-key", client])
    finally:
        cluster.close()


if __name__ == "__main__":
    main()
