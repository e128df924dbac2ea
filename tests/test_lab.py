"""`make lab` serves JupyterLab with the course start page as its landing page."""
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request

from conftest import REPO

TOKEN = "course-test"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url):
    """(status, final URL, body) of a GET that does not follow redirects."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(url, timeout=5) as r:
            return r.status, r.url, r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Location", ""), b""


def test_make_lab_opens_the_start_page():
    port = free_port()
    args = f"--no-browser --allow-root --ServerApp.ip=127.0.0.1 --ServerApp.port={port} --IdentityProvider.token={TOKEN}"
    lab = subprocess.Popen(["make", "--no-print-directory", "lab", f"LAB_ARGS={args}"], cwd=REPO,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                status, location, _ = get(f"{base}/?token={TOKEN}")
                break
            except OSError:
                assert lab.poll() is None, lab.stdout.read().decode()
                assert time.monotonic() < deadline, "JupyterLab did not start within 120 s"
                time.sleep(1)
        assert status == 302
        assert location.startswith("/lab/tree/notebooks/00_start_here/00_start_here.ipynb")
        status, _, body = get(f"{base}/api/contents/notebooks/00_start_here/00_start_here.ipynb?token={TOKEN}")
        assert status == 200
        assert json.loads(body)["content"]["cells"][0]["source"].startswith("# 00 · Start here")
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        lab.wait(timeout=30)
