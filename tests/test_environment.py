"""The pip pins, the conda environment and the installed packages name the same versions."""
import re
from importlib.metadata import version

import yaml

from conftest import REPO


def pip_pins():
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, pinned = line.partition("==")
            assert pinned, f"requirements.txt: {line!r} is not pinned with =="
            pins[name.lower()] = pinned
    return pins


def conda_pins():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pins = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str) and not re.match(r"(python|pip)\b", dep):
            name, _, pinned = dep.partition("==")
            assert pinned, f"environment.yml: {dep!r} is not pinned with =="
            pins[name.lower()] = pinned
    return pins


def test_environment_yml_matches_requirements():
    assert conda_pins() == pip_pins()


def test_environment_yml_installs_the_course_package():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = [d for d in env["dependencies"] if isinstance(d, dict)]
    assert pip_section == [{"pip": ["-e ."]}]


def test_installed_versions_are_the_pinned_ones():
    wrong = {name: (pinned, version(name)) for name, pinned in pip_pins().items() if version(name) != pinned}
    assert not wrong, f"installed versions differ from requirements.txt (pinned, installed): {wrong}"
