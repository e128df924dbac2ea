"""What students may see in feedback: nbgrader's feedback minus the hidden tests, readable offline.

Stock nbgrader 0.9 renders autograded notebooks as they are, hidden tests included (upstream
issues 917 and 1363), and a failing hidden assert's traceback quotes its line, expected value and
all. It also loads MathJax from a CDN, which the page's no-script policy (below) blocks anyway, and
lists every test cell in its contents as "Test cell". nbgrader_config.py adds these preprocessors
and the template TEMPLATES to `generate_feedback`: maths becomes MathML, which browsers render
natively, with no script and nothing to download.
"""
import html
import re
from pathlib import Path

import bleach
import nbgrader
from latex2mathml.converter import convert as latex_to_mathml
from nbconvert.exporters import HTMLExporter
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


class NameTestCells(NbGraderPreprocessor):
    """Give each graded test cell the name of its exercise, for the page's contents: the nearest
    heading above it (a markdown line starting with #), or its grade_id where there is none."""

    def preprocess(self, nb, resources):
        heading = None
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                lines = [ln.lstrip("#").strip() for ln in cell.source.splitlines() if ln.startswith("#")]
                heading = lines[-1] if lines else heading
            elif utils.is_grade(cell) and not utils.is_solution(cell):
                grade_id = cell.metadata.nbgrader["grade_id"]
                cell.metadata["exercise"] = f"{heading}: {grade_id}" if heading else grade_id
        return nb, resources


# MathML Core elements and attributes that latex2mathml writes; anything else in a formula (its
# \href, raw HTML in its \text) is dropped, since a student may have written the markdown.
MATHML_TAGS = ["math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msub", "msup", "msubsup", "mfrac",
               "msqrt", "mroot", "mstyle", "mover", "munder", "munderover", "mtable", "mtr", "mtd", "mpadded",
               "mphantom", "menclose", "semantics", "annotation"]
MATHML_ATTRIBUTES = ["display", "displaystyle", "scriptlevel", "mathvariant", "stretchy", "fence", "separator",
                     "lspace", "rspace", "width", "height", "depth", "minsize", "maxsize", "accent", "accentunder",
                     "movablelimits", "symmetric", "largeop", "linethickness", "columnalign", "rowspacing",
                     "columnspacing", "columnlines", "rowlines", "frame", "notation", "xmlns"]
# $$…$$ and \[…\] display maths, $…$ and \(…\) inline (an opening $ not followed by a space, a closing
# one not preceded by a space nor followed by a digit: "$5 and $10" stays text).
MATH = re.compile(r"\$\$(?P<d1>.+?)\$\$|\\\[(?P<d2>.+?)\\\]|\\\((?P<i1>.+?)\\\)|(?<![\\$])\$(?P<i2>[^\s$](?:[^$]*?[^\s$\\])?)\$(?!\d)",
                  flags=re.DOTALL)
CODE = re.compile(r"(```.*?```|~~~.*?~~~|`[^`\n]*`)", flags=re.DOTALL)  # maths inside code stays as written


def mathml(latex, display):
    """The MathML of one formula, sanitized, with the characters markdown would read as markup
    (emphasis, links, escapes) written as character references; None when it cannot be converted."""
    try:
        markup = latex_to_mathml(latex.strip(), display="block" if display else "inline")
    except Exception:  # latex2mathml's errors on malformed input have no common base class
        return None
    markup = bleach.clean(markup, tags=MATHML_TAGS, attributes=MATHML_ATTRIBUTES, strip=True)
    def text(match):  # latex2mathml keeps \_ inside \text{} as written: LaTeX shows _
        plain = re.sub(r"\\([_&%#$])", r"\1", match.group(1))
        return ">" + re.sub(r"[*_`\\\[\]~|$]", lambda c: f"&#{ord(c.group())};", plain) + "<"
    return re.sub(r">([^<]+)<", text, markup)


def markdown_with_mathml(text):
    """Markdown text with its LaTeX formulas replaced by MathML, code spans and blocks untouched."""
    def formula(match):
        latex = next(v for v in match.groupdict().values() if v is not None)
        converted = mathml(latex, display=bool(match.group("d1") or match.group("d2")))
        return converted if converted else match.group(0)
    parts = CODE.split(text)
    return "".join(part if i % 2 else MATH.sub(formula, part) for i, part in enumerate(parts))


class MathToMathML(NbGraderPreprocessor):
    """Write the maths of markdown cells as MathML: rendered by the browser, no script needed."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "markdown":
            cell.source = markdown_with_mathml(cell.source)
        return cell, resources


# nbgrader's feedback template, less its MathJax script tag, with each test cell's exercise named in
# the contents (NameTestCells): templates/feedback/ beside this file, searched after nbgrader's own
# feedback folder, whose index.html.j2 it extends.
TEMPLATE_FILE = "imbalanced_course_feedback.html.j2"
TEMPLATE_BASEDIRS = [str(Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates"),
                     str(Path(__file__).parent / "templates")]


class FeedbackExporter(HTMLExporter):
    """The HTML exporter of feedback pages only (nbgrader_config.py gives it TEMPLATE_FILE): set on
    HTMLExporter, the template would replace the formgrader's view of submissions too, which broke it."""


# A second wall behind the sanitized outputs: the page may run no script at all, inline or loaded,
# and embed no plugin or frame.
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
