"""Graded test cells depend only on imports, locked setup cells and the student's answers.

A test cell that used a lesson's variables would fail for a reason unrelated to the exercise when
the student changed that lesson cell, and it ties grading to code outside the exercise. Keeping
tests self-contained also lets the grader run them away from the student's code: it binds exactly
these names (autograder/execute.py, whose name analysis this test shares).
"""
import ast
import builtins

import pytest

from autograder.execute import bound_names, top_level_names, used_names
from conftest import notebooks_in, read


def imported_names(tree):
    return bound_names(ast.Module(body=[n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))],
                                  type_ignores=[]))


def graded_notebooks():
    return [p for p in notebooks_in("source")
            if any(c.metadata.get("nbgrader", {}).get("grade") for c in read(p).cells)]


@pytest.mark.parametrize("path", graded_notebooks(), ids=lambda p: p.stem)
def test_test_cells_use_only_imports_setup_and_answers(path):
    cells = read(path).cells
    allowed = set(dir(builtins))
    for cell in cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        meta = cell.metadata.get("nbgrader", {})
        allowed |= imported_names(tree)
        if meta.get("solution") or (meta.get("locked") and not meta.get("grade")):
            allowed |= top_level_names(tree)
    for cell in cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "code":
            tree = ast.parse(cell.source)
            outside = used_names(tree) - bound_names(tree) - allowed
            assert not outside, f"{meta['grade_id']} uses lesson variables {sorted(outside)}"
