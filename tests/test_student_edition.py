"""`make student-edition` builds what students get: their notebooks and data, the helper package, a
README, the student environment; nothing of the sources, solutions, tests, hidden tests or reference
answers. Every notebook in it runs unanswered as in the full course, with the edition's own package.
"""
import os
import subprocess
import tomllib
import zipfile

import pytest
from nbclient import NotebookClient

from conftest import REPO, notebooks_in, read
from test_student_notebooks import errors

OWN_FILES = {"README.md", "requirements.txt", "environment.yml", "pyproject.toml", "start", "LICENSE",
             "LICENSE-CONTENT.md", "jupyter/jupyter_server_config.json", "jupyter/labconfig/page_config.json"}


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    folder = tmp_path_factory.mktemp("edition") / "imbalanced-course-student"
    result = subprocess.run(["make", "--no-print-directory", "student-edition", f"EDITION={folder}"],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return folder


def files(root):
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def test_it_holds_the_student_notebooks_with_their_data_the_package_and_its_own_files(edition):
    notebooks = files(REPO / "notebooks")
    package = {f"imbalanced_course/{p.name}" for p in (REPO / "imbalanced_course").glob("*.py")}
    assert files(edition) == notebooks | package | OWN_FILES
    for name in notebooks:
        assert (edition / name).read_bytes() == (REPO / "notebooks" / name).read_bytes(), name
    with zipfile.ZipFile(f"{edition}.zip") as archive:
        zipped = {n.removeprefix("imbalanced-course-student/") for n in archive.namelist() if not n.endswith("/")}
    assert zipped == files(edition)


def source_regions(begin, end):
    """Lines (stripped, long enough to be telling) that sit between `begin` and `end` in source/."""
    lines, visible = set(), set()
    for path in notebooks_in("source"):
        for cell in read(path).cells:
            inside = False
            for line in cell.source.splitlines():
                text = line.strip()
                if text.startswith(begin):
                    inside = True
                elif text.startswith(end):
                    inside = False
                elif len(text) > 25:
                    (lines if inside else visible).add(text)
    return lines - visible  # lines that also appear outside such a region are no secret


def edition_text(edition):
    """Every text file of the edition; for notebooks, their cells' sources and outputs as text."""
    texts = []
    for name in sorted(files(edition)):
        path = edition / name
        if name.endswith(".ipynb"):
            for cell in read(path).cells:
                texts.append(cell.source)
                texts.extend(str(output) for output in cell.get("outputs", []))
        elif not name.endswith(".csv"):
            texts.append(path.read_text())
    return "\n".join(texts)


def test_no_hidden_tests_and_no_reference_answers_inside(edition):
    text = edition_text(edition)
    for marker in ["### BEGIN HIDDEN TESTS", "### BEGIN SOLUTION", "### END SOLUTION"]:
        assert marker not in text
    assert not {"source", "solutions", "tests", "autograder"} & {name.split("/")[0] for name in files(edition)}
    hidden = source_regions("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
    answers = source_regions("### BEGIN SOLUTION", "### END SOLUTION")
    assert hidden and answers, "the course has hidden tests and reference answers to keep out"
    leaked = sorted((hidden | answers) & {line.strip() for line in text.splitlines()})
    assert not leaked, f"hidden tests or reference answers in the student edition: {leaked[:5]}"


def test_its_readme_names_the_repository_and_the_binder_link(edition):
    url = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
    readme = (edition / "README.md").read_text()
    assert url in readme and "REPOSITORY_URL" not in readme and "BINDER_URL" not in readme
    binder = url.replace("https://github.com/", "https://mybinder.org/v2/gh/") + "/student-edition?urlpath=lab/tree/"
    assert binder + "00_start_here/00_start_here.ipynb" in readme


def test_the_course_readme_uses_the_same_repository_url():
    url = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
    readme = (REPO / "README.md").read_text()
    assert f"git clone {url}" in readme and "<this repository>" not in readme
    assert url.replace("https://github.com/", "https://mybinder.org/v2/gh/") + "/student-edition?" in readme


@pytest.fixture(scope="module")
def edition_package(edition):
    """Kernels import the edition's own imbalanced_course, not the course's installed one."""
    found = subprocess.run([os.sys.executable, "-c", "import imbalanced_course; print(imbalanced_course.__file__)"],
                           env={**os.environ, "PYTHONPATH": str(edition)}, cwd=edition.parent,
                           capture_output=True, text=True)
    assert found.stdout.startswith(str(edition)), found
    return {**os.environ, "PYTHONPATH": str(edition)}


def edition_notebooks():
    return [p.relative_to(REPO / "notebooks") for p in notebooks_in("notebooks")]


@pytest.mark.parametrize("name", edition_notebooks(), ids=lambda p: p.stem)
def test_every_notebook_runs_unanswered(edition, edition_package, name, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", edition_package["PYTHONPATH"])
    nb = read(edition / name)
    graded = any(c.metadata.get("nbgrader", {}).get("solution") for c in nb.cells)
    NotebookClient(nb, timeout=300, allow_errors=True, resources={"metadata": {"path": str((edition / name).parent)}}).execute()
    unexpected = [(i, e) for i, is_test, e in errors(nb) if not (is_test and e == "NotImplementedError")]
    assert not unexpected, f"cells that fail for another reason than an unanswered exercise: {unexpected}"
    assert bool(errors(nb)) == graded, "only notebooks with exercises fail, and only in their test cells"
