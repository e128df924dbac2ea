"""What students may see in feedback: nbgrader's feedback minus the hidden tests.

Stock nbgrader 0.9 renders autograded notebooks as they are, hidden tests included (upstream
issues 917 and 1363), and a failing hidden assert's traceback quotes its line, expected value and
all. nbgrader_config.py adds these preprocessors to `generate_feedback`.
"""
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor


class HideHiddenTestFailures(NbGraderPreprocessor):
    """Replace the traceback of a failed test cell that holds hidden tests by its last line.

    The traceback quotes the source line that failed; the error's name and message stay, since
    test messages are written for students and never state the expected value.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        if utils.is_grade(cell) and cell.cell_type == "code" and resources.get("has_hidden", {}).get(cell_index):
            for output in cell.outputs:
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}" if output.evalue else output.ename]
        return cell, resources


class MarkHiddenTestCells(NbGraderPreprocessor):
    """Remember which cells hold hidden tests, before ClearHiddenTests removes them."""

    def preprocess_cell(self, cell, resources, cell_index):
        if "### BEGIN HIDDEN TESTS" in cell.source:
            resources.setdefault("has_hidden", {})[cell_index] = True
        return cell, resources
