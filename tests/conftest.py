"""Shared fixtures: the repository, its notebooks, and throw-away copies of the course."""
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "tests" / "artifacts"  # screenshots and logs of a run (git-ignored)
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


def notebooks_in(folder):
    """Every notebook under `folder` (a path relative to the repository), sorted."""
    return sorted((REPO / folder).glob("*/*.ipynb"))


def read(path):
    return nbformat.read(path, as_version=4)


def make(target, course_root, **variables):
    """Run `make TARGET COURSE_ROOT=... [NAME=value ...]` from the repository, as a user would."""
    return subprocess.run(
        ["make", "--no-print-directory", target, f"COURSE_ROOT={course_root}", *(f"{k}={v}" for k, v in variables.items())],
        cwd=REPO, capture_output=True, text=True, timeout=1800,
    )


def survivors(marker, wait=10):
    """Command lines of processes mentioning `marker` (a course or scratch path), after up to `wait` s."""
    for _ in range(wait * 10):
        found = subprocess.run(["pgrep", "-a", "-f", str(marker)], capture_output=True, text=True).stdout
        if not found:
            return ""
        time.sleep(0.1)
    return found


def copy_course(destination):
    """A course folder holding a copy of source/ and nothing generated."""
    shutil.copytree(REPO / "source", destination / "source")
    (destination / "autograder").mkdir()
    return destination


@pytest.fixture(scope="session")
def generated_course(tmp_path_factory):
    """The course as `make notebooks` generates it from source/, in a fresh folder."""
    root = copy_course(tmp_path_factory.mktemp("generated"))
    result = make("notebooks", root)
    assert result.returncode == 0, result.stdout + result.stderr
    return root


@pytest.fixture
def browser():
    """Headless Chromium driven by Selenium with Debian's driver, named explicitly: Selenium Manager
    then has nothing to download."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        message = "Debian's chromium and chromium-driver are missing: `make system-packages` installs them as root"
        if os.geteuid() == 0 or os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"]:
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def dask_cluster(base, env, workers=2):
    """A `dask scheduler` and `workers` one-thread `dask worker` processes on 127.0.0.1, run from this
    environment, each worker in a folder of its own under `base` that holds no copy of the course:
    (address, [worker process], [its folder], scheduler log), all killed on leaving."""
    bin_dir = Path(sys.executable).parent
    address = f"tcp://127.0.0.1:{free_port()}"
    log = base / "scheduler.log"
    processes = [subprocess.Popen([bin_dir / "dask", "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                                   "--no-dashboard"], cwd=base, env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"))]
    folders = []
    try:
        for i in range(workers):
            folder = base / f"worker-{chr(ord('a') + i)}"
            folder.mkdir()
            folders.append(folder)
            processes.append(subprocess.Popen([bin_dir / "dask", "worker", address, "--name", folder.name, "--nthreads", "1",
                                               "--no-nanny", "--no-dashboard", "--local-directory", str(folder)],
                                              cwd=folder, env=env, stdout=subprocess.DEVNULL,
                                              stderr=(base / f"{folder.name}.log").open("w")))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and log.read_text().count("Register worker") < workers:
            time.sleep(0.5)
        assert log.read_text().count("Register worker") == workers, log.read_text()
        yield address, processes[1:], folders, log
    finally:
        for process in processes:
            process.kill()
            process.wait()
