"""What students may see in feedback: nbgrader's feedback minus the hidden tests.

Stock nbgrader 0.9 renders autograded notebooks as they are, hidden tests included (upstream
issues 917 and 1363), and a failing hidden assert's traceback quotes its line, expected value and
all. nbgrader_config.py adds these preprocessors to `generate_feedback`.
"""
import html

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


# A second wall behind the sanitized outputs: the page may run no script at all, inline or loaded,
# and embed no plugin or frame. (Maths in feedback pages then shows as LaTeX source.)
CONTENT_SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:"


def forbid_scripts(path):
    """Put the Content-Security-Policy in the <head> of the feedback page at `path`."""
    page = path.read_text()
    meta = f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'
    if meta not in page:
        path.write_text(page.replace("<head>", f"<head>\n{meta}", 1))


def write_set_aside_page(path, notebook, problem):
    """A feedback page for a notebook that could not be graded: what was wrong, and what to do."""
    path.parent.mkdir(parents=True, exist_ok=True)
    name = html.escape(notebook)
    path.write_text(
        f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n"
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">\n'
        f"<title>{name}: not graded</title></head>\n<body>\n<h1>{name} could not be graded</h1>\n"
        f"<p>Your notebook <code>{name}</code> {html.escape(problem)}, so it scored 0.</p>\n"
        "<p>What to do: open the notebook in JupyterLab and check that it shows your work; save it "
        f"(<em>File → Save</em>) under its original name, <code>{name}</code>, and hand it in again. "
        "If it does not open, start again from the released notebook and copy your answers in. Ask your "
        "instructor to grade it again.</p>\n</body></html>\n")
