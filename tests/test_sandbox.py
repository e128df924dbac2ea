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
    # Worker slot 7: an account no grading run on this 2-core machine uses, even in parallel tests.
    # A fresh folder of the system's temporary folder, as the grader makes: pytest's own are 0700.
    base = Path(tempfile.mkdtemp(prefix="imbc-"))
    scratch = sandbox.prepare_scratch(base / "w7", [], worker=7)
    kernel = StudentKernel(scratch, worker=7, hide=[str(tmp_path)])
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
    assert seen["uid"] == sandbox.BASE_UID + 7


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
kernel = StudentKernel(sandbox.prepare_scratch(base / "w6", [], worker=6), worker=6, hide=[])
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
