"""The student's kernel, seen from inside: what it can reach and what limits hold it.

A real sandboxed kernel (autograder/kernel.py's StudentKernel) runs a probe cell that reports
what it sees; the grader's own process does the asserting.
"""
import json
import shutil
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from autograder import sandbox
from autograder.kernel import StudentKernel
from conftest import REPO, survivors

PROBE = """
import json, os, resource, socket
def reachable(path):
    try:
        os.listdir(path) if os.path.isdir(path) else open(path, "rb").close()
        return True
    except OSError:
        return False
def connects(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return True
    except OSError:
        return False
limits = {name: resource.getrlimit(getattr(resource, "RLIMIT_" + name.upper()))[0]
          for name in ("cpu", "as", "nproc", "fsize", "nofile")}
print(json.dumps({"uid": os.getuid(), "pid": os.getpid(), "cwd": os.getcwd(), "env": sorted(os.environ),
                  "limits": limits, "connects": connects(PORT),
                  "reachable": {p: reachable(p) for p in PATHS}}))
"""
SECRETS = [str(REPO / "source" / "08_summary_and_practice" / "08_summary_and_practice.ipynb"),
           str(REPO / "nbgrader_config.py"), "/etc/shadow"]


@pytest.fixture
def probe(tmp_path, monkeypatch):
    """What a kernel in a scratch folder under tmp_path reports, and the scratch folder."""
    monkeypatch.setenv("GRADER_SECRET_TOKEN", "must-not-reach-the-kernel")
    server = socket.create_server(("127.0.0.1", 0))
    # A fresh folder of the system's temporary folder, as the grader makes: pytest's own are 0700.
    base = Path(tempfile.mkdtemp(prefix="imbc-"))
    scratch = sandbox.prepare_scratch(base / "w7", [])
    kernel = StudentKernel(scratch, hide=[str(tmp_path)])
    secret = tmp_path / "gradebook.db"  # a grader's file beside the scratch folders
    secret.write_text("grades")
    code = PROBE.replace("PORT", str(server.getsockname()[1])).replace("PATHS", repr(SECRETS + [str(secret)]))
    try:
        outputs = kernel.run_cell(code, 120, "probe")
    finally:
        kernel.stop()
        server.close()
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert text, outputs
    yield json.loads(text), scratch
    shutil.rmtree(base)


def test_limits_and_environment_hold_in_every_mode(probe):
    seen, scratch = probe
    assert seen["cwd"] == str(scratch)
    assert "GRADER_SECRET_TOKEN" not in seen["env"]
    if sandbox.protections()[1][1]:  # prlimit present
        assert seen["limits"] == sandbox.LIMITS


@pytest.mark.skipif(not sandbox.bubblewrap_works(), reason="bubblewrap cannot make sandboxes here")
def test_kernel_sees_no_course_no_network_no_other_processes(probe):
    seen, _ = probe
    assert not seen["connects"]
    assert not any(seen["reachable"].values()), seen["reachable"]
    assert seen["pid"] < 10  # its own PID namespace: the machine's processes are out of sight


@pytest.mark.skipif(not sandbox.switches_account(), reason="student code runs under its own uid only when grading as root")
def test_kernel_runs_unprivileged(probe):
    seen, _ = probe
    assert sandbox.BASE_UID <= seen["uid"] < sandbox.BASE_UID + sandbox.ACCOUNTS


def test_stopped_kernel_leaves_no_process(probe):
    _, scratch = probe
    assert survivors(scratch) == ""



def test_protections_are_all_on_when_grading_as_root_with_bubblewrap():
    report = sandbox.protections()
    if os.geteuid() == 0 and sandbox.bubblewrap_works():
        assert all(active for _, active, _ in report), report
    else:  # elsewhere the report names what is off, never claims it
        assert any(not active for _, active, _ in report)
    assert "OFF" in sandbox.describe_protections() or all(active for _, active, _ in report)


LINKED_PROBE = """
import sys, tempfile
from pathlib import Path
from autograder import sandbox
from autograder.kernel import StudentKernel
base = Path(tempfile.mkdtemp(prefix="imbc-"))
kernel = StudentKernel(sandbox.prepare_scratch(base / "w6", []), hide=[])
outputs = kernel.run_cell("import sklearn, imblearn, sys; print('kernel runs', sys.prefix)", 120, "probe")
kernel.stop()
print("".join(o.get("text", "") or o.get("evalue", "") for o in outputs))
"""


@pytest.mark.parametrize("where", ["/tmp", "/opt", str(Path.home())])
def test_grading_works_from_an_environment_reached_through_a_link(where):
    """The environment under a home folder, /opt or /tmp, or a `.venv` that is a symbolic link:
    the kernel runs the interpreter by the path the grader knows, so that path must be in its view."""
    link = Path(tempfile.mkdtemp(prefix="imbc-env-", dir=where)) / "env"
    link.symlink_to(Path(sys.prefix).resolve())
    try:
        result = subprocess.run([str(link / "bin" / "python"), "-c", LINKED_PROBE], capture_output=True, text=True,
                                timeout=300, cwd=REPO)
        assert f"kernel runs {link}" in result.stdout, result.stdout + result.stderr
    finally:
        shutil.rmtree(link.parent)


# A grader process that starts kernels at once, prints the uid each one reports from inside and its
# scratch folder, holds them until its stdin closes, then stops them.
HOLDER = """
import json, sys, tempfile, threading
from pathlib import Path
from autograder import sandbox
from autograder.kernel import StudentKernel
kernels = [StudentKernel(sandbox.prepare_scratch(Path(tempfile.mkdtemp(prefix="imbc-")) / "w", []), hide=[])
           for _ in range(int(sys.argv[1]))]
uids = [None] * len(kernels)
def start(i):
    out = kernels[i].run_cell("import os; print(os.getuid())", 120, "uid")
    uids[i] = int("".join(o.get("text", "") for o in out))
threads = [threading.Thread(target=start, args=(i,)) for i in range(len(kernels))]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps([uids, [str(k.scratch) for k in kernels]]), flush=True)
sys.stdin.read()
for k in kernels: k.stop()
"""


def holders(count, kernels_each):
    """`count` grader processes, started at once, each holding `kernels_each` kernels:
    ([process], [[uid, ...] per process], [scratch folder of each kernel])."""
    processes = [subprocess.Popen([sys.executable, "-c", HOLDER, str(kernels_each)], cwd=REPO, text=True,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE) for _ in range(count)]
    reports = [json.loads(p.stdout.readline() or "[[], []]") for p in processes]
    return processes, [uids for uids, _ in reports], [folder for _, folders in reports for folder in folders]


def lock_holders(uid):
    """Process ids holding uid's lock, from the system's table of locks (/proc/locks)."""
    file = (sandbox.ACCOUNT_LOCKS / str(uid)).stat()
    where = f"{os.major(file.st_dev):02x}:{os.minor(file.st_dev):02x}:{file.st_ino}"
    return {int(fields[4]) for fields in map(str.split, Path("/proc/locks").read_text().splitlines())
            if fields[1] == "FLOCK" and fields[5] == where}


@pytest.mark.skipif(not sandbox.switches_account(), reason="student code runs under its own uid only when grading as root")
def test_concurrent_graders_never_share_an_account_and_a_dead_graders_accounts_come_back():
    # Other graders may run on this host meanwhile: they may take any uid freed, never a held one.
    first, (uids_1, uids_2), scratches = holders(2, 2)
    third = []
    try:
        held = uids_1 + uids_2
        assert len(set(held)) == 4, held  # two graders starting two kernels each at once
        assert all(sandbox.BASE_UID <= uid < sandbox.BASE_UID + sandbox.ACCOUNTS for uid in held)
        assert all(lock_holders(uid) == {first[0].pid} for uid in uids_1)  # no one else can take them
        assert all(lock_holders(uid) == {first[1].pid} for uid in uids_2)
        first[0].kill()  # a grader that crashes: its kernels die with it, the system drops its locks
        first[0].wait()
        assert all(survivors(folder) == "" for folder in scratches[:2])
        assert not any(first[0].pid in lock_holders(uid) for uid in uids_1)
        third, (uids_3,), _ = holders(1, 2)
        assert not set(uids_3) & set(uids_2), (uids_2, uids_3)  # still held by the second grader
    finally:
        for process in first + third:
            if process.poll() is None:
                process.communicate("", timeout=60)


@pytest.mark.skipif(not sandbox.switches_account(), reason="student code runs under its own uid only when grading as root")
def test_an_account_with_a_process_left_is_not_taken_until_it_is_empty():
    free = sandbox.take_account()
    uid = free.uid
    free.release()
    # A process under that uid, holding no lock: what a dying kernel's fork bomb leaves behind.
    left = subprocess.Popen(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "sleep", "60"])
    try:
        for _ in range(100):  # setpriv switches to the uid once started
            if uid in sandbox.accounts_in_use():
                break
            time.sleep(0.1)
        assert uid in sandbox.accounts_in_use()
        taken = [sandbox.take_account() for _ in range(3)]
        assert uid not in [a.uid for a in taken]
        for account in taken:
            account.release()
    finally:
        left.kill()
        left.wait()
