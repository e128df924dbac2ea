"""Feedback pages' maths as MathML and their contents' exercise names, without grading: on markdown
text and small notebooks here, in Chromium for the rendering (the graded corpus's pages are checked
in tests/test_corpus.py)."""
import html

import nbformat
import pytest

from autograder import feedback
from conftest import ARTIFACTS, REPO, read


def test_inline_and_display_maths_become_mathml():
    text = feedback.markdown_with_mathml(r"weights $\dfrac{n}{k \cdot n_c}$ and $$x_{new} = x_i + u\,(x_j - x_i)$$")
    assert text.startswith('weights <math xmlns="http://www.w3.org/1998/Math/MathML" display="inline">')
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">' in text
    assert "$" not in text and "<mfrac>" in text and "<msub>" in text


@pytest.mark.parametrize("text", [
    "it costs $5 and $10 a month",  # money, not maths
    "in code: `$x$` and\n\n```\nprint('$y$')\n```\n",
    r"broken $\frac{1}{$ formula",  # latex2mathml cannot read it: left as written
])
def test_what_is_no_formula_stays_as_written(text):
    assert feedback.markdown_with_mathml(text) == text


def test_markdown_characters_inside_formulas_are_not_markup():
    text = feedback.markdown_with_mathml(r"$\text{cost\_fn} \cdot x_* [a]$")
    assert "cost&#95;fn" in text and "\\_" not in text  # LaTeX's \_ is an underscore, written so markdown leaves it
    assert "*" not in text and "[a]" not in text


@pytest.mark.parametrize("latex", [
    r"\text{<script>window.pwned=1</script>}",
    r"\href{javascript:window.pwned=1}{x}",
    r"\text{<img src=x onerror=window.pwned=1>}",
])
def test_a_students_formula_carries_no_script(latex):
    text = feedback.markdown_with_mathml(f"${latex}$")
    assert "<math" in text
    assert "<script" not in text and "<img" not in text and "href" not in text and "onerror=" not in text


def test_test_cells_are_named_by_the_heading_above_them():
    nb = read(REPO / "source" / "02_syntax" / "02_syntax.ipynb")
    nb, _ = feedback.NameTestCells().preprocess(nb, {})
    names = {c.metadata.nbgrader["grade_id"]: c.metadata.get("exercise") for c in nb.cells if "nbgrader" in c.metadata}
    assert names["smallest_counts"] == "Exercise 1: only the smallest class (easy, 3 points): smallest_counts"
    assert names["weights_hidden"].startswith("Exercise 4: ")
    assert names["smallest_answer"] is None  # answer cells are not listed in the contents


def test_a_test_cell_without_a_heading_is_named_by_its_id():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("assert True")])
    nb.cells[0].metadata.nbgrader = {"grade_id": "t1", "grade": True, "solution": False, "points": 1}
    nb, _ = feedback.NameTestCells().preprocess(nb, {})
    assert nb.cells[0].metadata.exercise == "t1"


def test_chromium_renders_the_mathml_without_any_script(browser, tmp_path):
    body = feedback.markdown_with_mathml(
        r"A weight $w_c = \dfrac{n_{samples}}{n_{classes} \cdot n_c}$ for each class, and SMOTE's point"
        "\n\n$$x_{new} = x_i + \\lambda\\,(x_j - x_i), \\quad \\lambda \\in [0, 1]$$\n")
    page = tmp_path / "maths.html"
    page.write_text(f'<!DOCTYPE html><html><head><meta charset="utf-8">'
                    f'<meta http-equiv="Content-Security-Policy" content="{html.escape(feedback.CONTENT_SECURITY_POLICY)}">'
                    f'</head><body style="font-size:20px"><p>{body}</p></body></html>')
    browser.get(page.as_uri())
    maths = browser.find_elements("css selector", "math")
    assert len(maths) == 2
    # MathML Core layout: Chromium gives <math> its own display type and a real height.
    assert [browser.execute_script("return getComputedStyle(arguments[0]).display", m) for m in maths] == \
        ["math", "block math"]  # "math" is inline
    assert all(m.size["height"] > 20 for m in maths)
    browser.save_screenshot(str(ARTIFACTS / "feedback-maths-mathml.png"))
