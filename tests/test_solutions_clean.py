"""The executed reference notebooks show no errors and no warnings."""
import pytest

from conftest import notebooks_in, read


@pytest.mark.parametrize("path", notebooks_in("solutions"), ids=lambda p: p.stem)
def test_no_errors_or_stderr_in_solutions(path):
    nb = read(path)
    bad = [
        (index, output.get("ename") or output.get("text", "")[:200])
        for index, cell in enumerate(nb.cells) if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error" or (output.output_type == "stream" and output.name == "stderr")
    ]
    assert not bad, f"errors or stderr output (warnings) in {path.name}: {bad}"
