"""Lessons stay short, and numbers in their prose come from outputs printed above them.

The budget (issue 11): no markdown cell over 150 words (hint blocks aside), no lesson notebook over
40 cells. The number check is a heuristic on the executed solutions: a number stated in a markdown
cell must be printed by a code cell earlier in the same section (a section starts at a markdown cell
opening with '#').
"""
import re

import pytest

from conftest import notebooks_in, read

MAX_WORDS = 150
MAX_CELLS = 40

# Over the cell budget, and why.
CELL_BUDGET_EXEMPT = {
    "08_summary_and_practice": "ten graded questions, each with its statement, answer, test, "
                               "explanation and check cell; its lesson part is 08a",
}
# Over the word budget, and why. Graded cells (locked statements) are never counted; the course
# map's table cell is skipped by its heading.
WORD_BUDGET_EXEMPT = {
    "01_exercises": "exercise statements (the exercise notebooks are another engineer's scope)",
    "04_exercises": "exercise statements",
    "05_exercises": "exercise statements",
    "06_exercises": "exercise statements",
}
HINT = re.compile(r"<details>.*?</details>", re.S)
# Number check. Exempt from it: small integers (below 100), years, numbers inside code spans,
# links and formulas, and numbers that appear in a code cell of the section (parameter values).
# Summary sections (their heading starts with one of SUMMARY_HEADINGS) may quote any figure printed
# earlier in the notebook. A prose number matches a printed one if it is that number rounded to the
# prose's decimals, or the same as a percentage.
SUMMARY_HEADINGS = ("## What", "## Summary", "## Conclusions", "## Reading", "### Reading")
NUMBER_EXEMPT = {
    "00_start_here": "course map, no outputs",
    "01_exercises": "exercise notebook", "04_exercises": "exercise notebook",
    "05_exercises": "exercise notebook", "06_exercises": "exercise notebook",
    "02_syntax": "exercise notebook", "08_summary_and_practice": "practice questions",
}
NUMBER = re.compile(r"(?<![\w.,])[−-]?(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?![\w.]\d)")
SKIP = re.compile(r"`[^`]*`|\$[^$]*\$|\]\([^)]*\)|doi:\S+|arXiv:\S+|https?://\S+|#\d+|"
                  r"(?:scikit-learn|imbalanced-learn|Python|nbgrader|CC BY) \d+(?:\.\d+)*|[\d.]+ ?: ?[\d.]+")
ALLOWED = {0.5}  # the default threshold and the chance level of ROC AUC
def words(text):
    return len(HINT.sub("", text).split())


@pytest.mark.parametrize("path", notebooks_in("source"), ids=lambda p: p.stem)
def test_markdown_cells_are_short(path):
    if path.stem in WORD_BUDGET_EXEMPT:
        pytest.skip(WORD_BUDGET_EXEMPT[path.stem])
    long = [(i, words(c.source)) for i, c in enumerate(read(path).cells)
            if c.cell_type == "markdown" and not c.metadata.get("nbgrader")
            and not c.source.startswith("## Course map") and words(c.source) > MAX_WORDS]
    assert not long, f"{path.name}: markdown cells over {MAX_WORDS} words (index, words): {long}"


@pytest.mark.parametrize("path", notebooks_in("source"), ids=lambda p: p.stem)
def test_lesson_fits_the_cell_budget(path):
    if path.stem in CELL_BUDGET_EXEMPT:
        pytest.skip(CELL_BUDGET_EXEMPT[path.stem])
    n = len(read(path).cells)
    assert n <= MAX_CELLS, f"{path.name}: {n} cells, budget {MAX_CELLS}"


def output_text(cell):
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", ""))
        parts.append(out.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def values(text):
    """Every number in `text`, as floats (1_000 and 1,000 read as 1000)."""
    text = re.sub(r"(?<=\d)_(?=\d)", "", text.replace("−", "-"))
    return {float(n.replace(",", "")) for n in NUMBER.findall(text)}


def claimed(text):
    """(string, value, decimals) for each number in prose that the check applies to."""
    found = []
    for n in NUMBER.findall(SKIP.sub(" ", text)):
        value = float(n.replace(",", ""))
        decimals = len(n.split(".")[1]) if "." in n else 0
        if (decimals == 0 and (value < 100 or 1900 <= value <= 2030)) or value in ALLOWED:
            continue
        found.append((n, value, decimals))
    return found


def is_printed(value, decimals, printed):
    return any(round(v, decimals) == value or round(100 * v, decimals) == value for v in printed)


def sections(nb):
    """Lists of cell indices, one per section: a section starts at a '#' or '##' heading."""
    found = [[]]
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and re.match(r"#{1,2} ", cell.source.lstrip()) and found[-1]:
            found.append([])
        found[-1].append(i)
    return found


def unprinted_numbers(nb):
    """(cell index, number) for each number in prose that no earlier output of its section prints.

    Numbers written in any code cell of the section count as printed (parameter values).
    """
    missing, everything = [], set()
    for cells in sections(nb):
        heading = nb.cells[cells[0]].source.lstrip()
        summary = nb.cells[cells[0]].cell_type == "markdown" and heading.startswith(SUMMARY_HEADINGS)
        printed = set().union(*[values(nb.cells[i].source) for i in cells if nb.cells[i].cell_type == "code"])
        for i in cells:
            cell = nb.cells[i]
            if cell.cell_type == "code":
                printed |= values(output_text(cell))
                everything |= values(output_text(cell)) | values(cell.source)
                continue
            known = {abs(v) for v in (printed | everything if summary else printed)}
            for text, value, decimals in claimed(cell.source):
                if not is_printed(abs(value), decimals, known):
                    missing.append((i, text))
    return missing


@pytest.mark.parametrize("path", notebooks_in("solutions"), ids=lambda p: p.stem)
def test_numbers_in_prose_are_printed_above(path):
    if path.stem in NUMBER_EXEMPT:
        pytest.skip(NUMBER_EXEMPT[path.stem])
    missing = unprinted_numbers(read(path))
    assert not missing, f"{path.name}: numbers in prose with no earlier output in their section: {missing}"


def test_the_number_check_can_fail():
    import nbformat
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("## A section"),
        nbformat.v4.new_code_cell("print(0.123)", outputs=[nbformat.v4.new_output("stream", text="0.123\n")]),
        nbformat.v4.new_markdown_cell("It printed 0.123 (12.3 %, about 0.12) and then 0.456, 1,234 and 2024."),
        nbformat.v4.new_markdown_cell("## Next section: 0.123 again"),
    ])
    assert unprinted_numbers(nb) == [(2, "0.456"), (2, "1,234"), (3, "0.123")]
