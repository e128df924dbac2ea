"""Each student notebook runs top to bottom, unanswered, failing only where answers are missing."""
import pytest
from nbclient import NotebookClient

from conftest import notebooks_in, read


def errors(nb):
    """(cell index, is a graded test cell, error name) for every error output."""
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                graded = cell.metadata.get("nbgrader", {}).get("grade", False)
                found.append((index, graded, output.ename))
    return found


def has_answer_cells(path):
    return any(c.metadata.get("nbgrader", {}).get("solution") for c in read(path).cells)


# A notebook without answer cells is its solution without outputs, which nbval already runs.
@pytest.mark.parametrize("path", [p for p in notebooks_in("notebooks") if has_answer_cells(p)],
                         ids=lambda p: p.stem)
def test_unanswered_notebook_fails_only_in_graded_tests(path):
    nb = read(path)
    NotebookClient(nb, timeout=300, allow_errors=True, resources={"metadata": {"path": str(path.parent)}}).execute()
    unexpected = [(i, name) for i, graded, name in errors(nb) if not (graded and name == "NotImplementedError")]
    assert not unexpected, f"cells that fail for another reason than an unanswered exercise: {unexpected}"
    assert errors(nb), "an unanswered exercise should fail its tests with NotImplementedError"
