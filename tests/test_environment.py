"""Every pin of the course names one version, in every file that pins it, and that is what is installed.

Students get requirements.txt (pip, `make lab`) or environment.yml (conda, Binder): the same
packages at the same versions, and nothing for tests or hubs. The hub adds
autograder/hub/requirements.txt (pip, `make hub-env`) or autograder/hub/environment-hub.yml (its
image's Dockerfile), again the same pins; requirements-dev.txt adds the test tools on top (`make test`).
"""
import re
from importlib.metadata import version

import pytest
import yaml

from conftest import REPO

STUDENT_PIP, STUDENT_CONDA = REPO / "requirements.txt", REPO / "environment.yml"
HUB_PIP, HUB_CONDA = REPO / "autograder" / "hub" / "requirements.txt", REPO / "autograder" / "hub" / "environment-hub.yml"
DEV_PIP = REPO / "requirements-dev.txt"
NOT_FOR_STUDENTS = {"jupyterhub", "nbval", "pytest", "pytest-xdist", "selenium"}


def pip_pins(path=STUDENT_PIP, follow=True):
    """{name: version} of a requirements file, with the files it includes (`-r`) when `follow`."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("-r "):
            if follow:
                pins.update(pip_pins(path.parent / line[3:].strip()))
        elif line:
            name, _, pinned = line.partition("==")
            assert pinned, f"{path.name}: {line!r} is not pinned with =="
            assert name.lower() not in pins, f"{path.name}: {name} is pinned twice"
            pins[name.lower()] = pinned
    return pins


def conda_pins(path=STUDENT_CONDA):
    env = yaml.safe_load(path.read_text())
    pins = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str) and not re.match(r"(python|pip)\b", dep):
            name, _, pinned = dep.partition("==")
            assert pinned, f"{path.name}: {dep!r} is not pinned with =="
            pins[name.lower()] = pinned
    return pins


def test_environment_yml_matches_requirements():
    assert conda_pins() == pip_pins()


def test_the_hub_images_additions_match_the_hubs_requirements():
    assert conda_pins(HUB_CONDA) == pip_pins(HUB_PIP, follow=False)


def test_each_file_adds_to_the_one_below_it():
    """Hub on top of students, tests on top of the hub: nothing pinned twice at other versions."""
    assert pip_pins(HUB_PIP) == {**pip_pins(), **pip_pins(HUB_PIP, follow=False)}
    assert pip_pins(DEV_PIP) == {**pip_pins(HUB_PIP), **pip_pins(DEV_PIP, follow=False)}


def test_students_get_no_test_or_hub_tools():
    assert not NOT_FOR_STUDENTS & set(pip_pins()), "requirements.txt is the lean student environment"
    assert NOT_FOR_STUDENTS <= set(pip_pins(DEV_PIP))


def test_environment_yml_installs_the_course_package():
    env = yaml.safe_load(STUDENT_CONDA.read_text())
    pip_section = [d for d in env["dependencies"] if isinstance(d, dict)]
    assert pip_section == [{"pip": ["-e ."]}]


def test_the_hub_image_installs_both_environment_files():
    dockerfile = (REPO / "autograder" / "hub" / "Dockerfile").read_text()
    for path in (STUDENT_CONDA, HUB_CONDA):
        assert f"--file {path.relative_to(REPO)}" in dockerfile, f"the hub's image does not install {path.name}"


@pytest.mark.parametrize("path", [STUDENT_PIP, HUB_PIP, DEV_PIP], ids=lambda p: str(p.relative_to(REPO)))
def test_installed_versions_are_the_pinned_ones(path):
    """The tests run in the full environment (`make test`), which holds every file's pins."""
    wrong = {name: (pinned, version(name)) for name, pinned in pip_pins(path).items() if version(name) != pinned}
    assert not wrong, f"installed versions differ from {path.name} (pinned, installed): {wrong}"
