"""notebooks/ and solutions/ are exactly what `make notebooks` generates from source/."""
import pytest

from conftest import REPO, notebooks_in, read


def without_outputs(nb):
    """A notebook's cells with outputs and execution counts removed (nbval checks the outputs)."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def relative_files(root, folder):
    return sorted(str(p.relative_to(root / folder)) for p in (root / folder).rglob("*") if p.is_file())


@pytest.mark.parametrize("folder", ["notebooks", "solutions"])
def test_same_files_as_generated(generated_course, folder):
    assert relative_files(REPO, folder) == relative_files(generated_course, folder), (
        f"{folder}/ holds other files than `make notebooks` makes from source/: run `make notebooks`."
    )


@pytest.mark.parametrize("path", notebooks_in("notebooks"), ids=lambda p: p.stem)
def test_student_version_is_generated(generated_course, path):
    generated = generated_course / path.relative_to(REPO)
    assert path.read_text() == generated.read_text(), f"{path.relative_to(REPO)} drifted: run `make notebooks`."


@pytest.mark.parametrize("path", notebooks_in("solutions"), ids=lambda p: p.stem)
def test_solution_is_generated(generated_course, path):
    generated = generated_course / path.relative_to(REPO)
    assert without_outputs(read(path)) == without_outputs(read(generated)), (
        f"{path.relative_to(REPO)} drifted from source/: run `make notebooks`."
    )


@pytest.mark.parametrize("path", notebooks_in("source"), ids=lambda p: p.stem)
def test_source_is_committed_without_outputs(path):
    nb = read(path)
    assert nb == without_outputs(read(path)), f"{path.relative_to(REPO)}: clear its outputs before committing."


def test_every_source_notebook_is_generated():
    names = [str(p.relative_to(REPO / "source")) for p in notebooks_in("source")]
    for folder in ("notebooks", "solutions"):
        assert [str(p.relative_to(REPO / folder)) for p in notebooks_in(folder)] == names, folder
