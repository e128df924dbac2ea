"""The class report's statistics on small hand-made tables, and the report built from a small
hand-made gradebook with hostile notebooks (no grading here: tests/test_corpus.py builds it for the
graded corpus and opens it in a browser)."""
import json
import math
import re
from html.parser import HTMLParser

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder import report
from conftest import REPO

# nbgrader 0.9's own gradebook calls under SQLAlchemy 2 (see autograder/grade.py): noise here.
pytestmark = pytest.mark.filterwarnings("ignore:.*not in session, add operation along")


def test_facility_is_the_share_passing():
    assert report.facility([1, 0, 1, 1]) == 0.75
    assert report.facility([]) is None


def test_corrected_item_total_correlates_the_item_with_the_rest():
    item, total = [1, 0, 1, 0, 1], [5, 1, 4, 2, 2]
    rest = [t - i for t, i in zip(total, item)]  # 4, 1, 3, 2, 1
    mi, mr = sum(item) / 5, sum(rest) / 5
    cov = sum((a - mi) * (b - mr) for a, b in zip(item, rest))
    expected = cov / math.sqrt(sum((a - mi) ** 2 for a in item) * sum((b - mr) ** 2 for b in rest))
    assert report.corrected_item_total(item, total) == pytest.approx(expected)
    assert report.corrected_item_total([1, 0], [1, 2]) == pytest.approx(-1)  # the weaker student passed


@pytest.mark.parametrize("item, total", [
    ([1, 1, 1], [3, 5, 2]),  # everybody passes: no spread in the item
    ([0, 1, 0], [2, 3, 2]),  # the rest is the same for everyone
    ([1], [3]),  # one submission
    ([], []),
])
def test_corrected_item_total_is_undefined_without_spread(item, total):
    assert report.corrected_item_total(item, total) is None


def test_upper_lower_index_compares_the_top_and_bottom_27_percent():
    # 10 submissions: groups of round(2.7) = 3. Top 3 by total pass 3 of 3, bottom 3 pass 1 of 3.
    passed = [0, 1, 0, 0, 1, 0, 1, 1, 1, 1]
    total = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert report.upper_lower_index(passed, total) == pytest.approx(1 - 1 / 3)
    assert report.upper_lower_index([1, 0], [1, 2]) == -1  # groups of one at least
    assert report.upper_lower_index([1], [1]) is None


def test_flags():
    assert report.flags(0.0, None, 0.0) == ["nobody passes"]
    assert report.flags(1.0, None, 0.0) == ["everybody passes"]
    assert report.flags(0.5, -0.2, 0.1) == ["discriminates negatively"]
    assert report.flags(0.5, 0.3, -0.5) == ["discriminates negatively"]
    assert report.flags(0.5, 0.3, 0.4) == []


def test_failure_messages_are_grouped_without_numbers_and_names():
    a = report.normalise_message("AssertionError: answer_q01() returned 'Z': return one letter")
    b = report.normalise_message('AssertionError: answer_q01() returned "Option A":  return one letter')
    assert a == b == "AssertionError: answer_q01() returned '…': return one letter"
    assert report.normalise_message("IndexError: index 328 is out of bounds for axis 0 with size 328") == \
        report.normalise_message("IndexError: index 12 is out of bounds for axis 1 with size 12.5")
    assert report.normalise_message("NameError: name 'x' is not defined") == \
        report.normalise_message("NameError: name 'my_answer' is not defined")


OPTIONS = ["A", "B", "C", "D"]


@pytest.mark.parametrize("source, chosen", [
    ('def answer_q01():\n    return "B"\n', "B"),
    ('def answer_q01():\n    """Doc."""\n    return " c "\n', "C"),
    ('def answer_q01():\n    raise NotImplementedError()\n', "no answer"),
    ('def answer_q01():\n    return "E"\n', "other"),
    ('def answer_q01():\n    return "A" if 1 else "B"\n', "other"),
    ('def answer_q01():\n    return "A"\ndef answer_q01():\n    return "D"\n', "D"),  # the last definition
    ('def answer_q01(:\n', "other"),
    ('answer_q01 = lambda: "A"\n', "other"),
    ("(" * 200_000, "other"),  # deeply nested: the parser gives up, the report does not
])
def test_chosen_option_reads_the_code_without_running_it(source, chosen):
    assert report.chosen_option(source, "answer_q01", OPTIONS) == chosen


def test_quiz_questions_are_found_in_the_quiz():
    cells = report.read_cells(REPO / "source" / "08_summary_and_practice" / "08_summary_and_practice.ipynb")
    questions = report.quiz_questions(cells)
    assert len(questions) == 10
    assert questions["q01_answer"] == ("answer_q01", OPTIONS, "A")
    assert questions["q07_answer"][2] == "D"
    other = report.read_cells(REPO / "source" / "02_syntax" / "02_syntax.ipynb")
    assert report.quiz_questions(other) == {}


STARTER = '''def balanced_weights(y):
    """Return {label: weight} as class_weight='balanced' would compute it."""
    raise NotImplementedError()
'''
ANSWER = '''def balanced_weights(y):
    """Return {label: weight} as class_weight='balanced' would compute it."""
    counts = Counter(y)
    n_samples, n_classes = len(y), len(counts)
    return {label: n_samples / (n_classes * count) for label, count in counts.items()}
'''
RENAMED = '''def balanced_weights(labels):
    """Return {label: weight} as class_weight='balanced' would compute it."""
    tally = Counter(labels)
    total,   k = len(labels), len(tally)   # other names, other spacing
    return {c: total / (k * m) for c, m in tally.items()}
'''
OTHER = '''def balanced_weights(y):
    """Return {label: weight} as class_weight='balanced' would compute it."""
    import numpy as np
    classes, counts = np.unique(np.asarray(y), return_counts=True)
    weights = len(y) / (len(classes) * counts.astype(float))
    return dict(zip(classes.tolist(), weights.tolist()))
'''


def test_similar_pairs_flags_renamed_copies_not_the_starter_code():
    pairs = report.similar_pairs({"ann": ANSWER, "bob": RENAMED, "cy": OTHER, "dee": STARTER, "eve": STARTER}, STARTER)
    assert [(a, b) for a, b, *_ in pairs] == [("ann", "bob")]
    assert pairs[0][2] == pytest.approx(1) and pairs[0][3] == pytest.approx(1)


class Page(HTMLParser):
    """Tags, attributes and the rows of the report's item table."""

    def __init__(self, text):
        super().__init__()
        self.tags, self.rows, self.row = [], {}, None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "tr" and "data-cell" in attrs:
            self.row = self.rows.setdefault(attrs["data-cell"], [])

    def handle_endtag(self, tag):
        if tag == "tr":
            self.row = None

    def handle_data(self, data):
        if self.row is not None and data.strip():
            self.row.append(data.strip())


HOSTILE = '<script>window.pwned=1</script><img src=x onerror="window.pwned=1">'


def notebook_with(cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    return nbformat.writes(nb)


def cell(kind, grade_id, source="", outputs=(), solution=False, grade=False, points=1):
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    c = make(source=source)
    c.metadata.nbgrader = {"grade_id": grade_id, "solution": solution, "grade": grade, "locked": not solution,
                           "schema_version": 3, **({"points": points} if grade else {})}
    if kind == "code":
        c.outputs = [nbformat.from_dict(o) for o in outputs]
    return c


def failure(message):
    return {"output_type": "error", "ename": "AssertionError", "evalue": message, "traceback": []}


@pytest.fixture
def small_course(tmp_path):
    """A gradebook of 4 students on a two-question quiz, their autograded notebooks (one broken,
    one full of student HTML), and the source."""
    name, notebook = "quiz", "quiz"
    question = "Pick one.\n\n- A. yes\n- B. no\n- C. maybe\n"
    solution = 'def answer_{}():\n    ### BEGIN SOLUTION\n    return "{}"\n    ### END SOLUTION\n'
    source_cells = []
    for q, right in (("q1", "A"), ("q2", "B")):
        source_cells += [cell("markdown", f"{q}_question", question),
                         cell("code", f"{q}_answer", solution.format(q, right), solution=True),
                         cell("code", f"{q}_test", f"assert answer_{q}() == {right!r}", grade=True)]
    (tmp_path / "source" / name).mkdir(parents=True)
    (tmp_path / "autograder").mkdir()
    (tmp_path / "source" / name / f"{notebook}.ipynb").write_text(notebook_with(source_cells))
    scores = {"s1": (1, 1), "s2": (1, 0), "s3": (0, 0), HOSTILE: (1, 1)}
    answers = {"s1": ("A", "B"), "s2": ("A", "C"), "s3": ("B", "C"), HOSTILE: ("A", "B")}
    with Gradebook(f"sqlite:///{tmp_path / 'autograder' / 'gradebook.db'}") as gb:
        gb.add_assignment(name)
        gb.add_notebook(notebook, name)
        for q in ("q1_test", "q2_test"):
            gb.add_grade_cell(q, notebook, name, max_score=1, cell_type="code")
        for student, points in scores.items():
            gb.add_student(student)
            gb.add_submission(name, student)
            for q, p in zip(("q1_test", "q2_test"), points):
                gb.find_grade(q, notebook, name, student).auto_score = p
        gb.db.commit()
    for student, (a1, a2) in answers.items():
        folder = tmp_path / "autograder" / "autograded" / student / name
        folder.mkdir(parents=True)
        message = HOSTILE if student == HOSTILE else "Not this one: 3 tries."
        cells = [cell("markdown", "q1_question", question + HOSTILE),
                 cell("code", "q1_answer", f'def answer_q1():\n    return "{a1}"\n', solution=True),
                 cell("code", "q1_test", "", [failure(message)] if a1 != "A" else [], grade=True),
                 cell("code", "q2_answer", f'def answer_q2():\n    return "{a2}"\n', solution=True),
                 cell("code", "q2_test", "", [failure(message)] if a2 != "B" else [], grade=True)]
        (folder / f"{notebook}.ipynb").write_text(notebook_with(cells))
    broken = tmp_path / "autograder" / "autograded" / "s3" / name / f"{notebook}.ipynb"
    broken.write_text(json.dumps({"cells": [{"metadata": {"nbgrader": "x"}, "outputs": 5}, 3, None,
                                            {"metadata": {"nbgrader": {"grade_id": "q1_test"}},
                                             "outputs": [{"output_type": "error", "ename": ["E"], "evalue": {"x": 1}}, 7]},
                                            {"metadata": {"nbgrader": {"grade_id": "q1_answer", "solution": True}},
                                             "source": ['def answer_q1():\n', '    return "B"\n']}]}))
    (tmp_path / "autograder" / "autograded" / "s2" / name / "unrelated.ipynb").write_text("{not json")
    return tmp_path


def test_report_of_a_small_class(small_course):
    data = report.analyse(small_course)
    (quiz,) = data["assignments"]
    assert quiz["students"] == sorted(["s1", "s2", "s3", HOSTILE])
    q1, q2 = quiz["items"]
    assert q1["facility"] == 0.75 and q2["facility"] == 0.5
    assert q1["messages"] == {"E": 1}  # the broken s3: its odd fields read as text
    assert q2["messages"] == {"AssertionError: Not this one: N tries.": 1}  # s2
    options = {q["question"]: q["counts"] for q in quiz["quizzes"]}
    assert options["q1_answer"] == {"A": 3, "B": 1}
    assert options["q2_answer"] == {"B": 2, "C": 1, "other": 1}  # the broken notebook has no q2 answer
    page = report.render(data)
    parsed = Page(page)
    assert not [t for t, _ in parsed.tags if t in ("script", "iframe", "object", "embed", "svg")]
    assert not [a for _, a in parsed.tags if any(k.startswith("on") for k in a)]
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in page  # the hostile id and message show, as text
    assert 'http-equiv="Content-Security-Policy"' in page
    images = [a["src"] for t, a in parsed.tags if t == "img"]
    assert images and all(src.startswith("data:image/png;base64,") for src in images)
    assert parsed.rows["quiz/quiz/q1_test"][:3] == ["quiz", "q1_test", "1"]


def test_undefined_discrimination_is_said_not_nan(small_course):
    with Gradebook(f"sqlite:///{small_course / 'autograder' / 'gradebook.db'}") as gb:
        for student in ("s1", "s2", "s3", HOSTILE):
            gb.find_grade("q1_test", "quiz", "quiz", student).auto_score = 1
        gb.db.commit()
    data = report.analyse(small_course)
    page = report.render(data)
    row = Page(page).rows["quiz/quiz/q1_test"]
    assert row[3:] == ["1.00", "undefined", "0.00", "everybody passes"]
    assert not re.search(r"\bnan\b", re.sub(r"<img[^>]*>", "", page), flags=re.IGNORECASE)


def test_make_report_writes_the_page(small_course):
    report.main(["--root", str(small_course)])
    assert (small_course / "autograder" / "class-report.html").read_text().startswith("<!DOCTYPE html>")


def test_make_report_without_a_gradebook_says_what_to_do(tmp_path):
    with pytest.raises(SystemExit, match="run `make grade` first"):
        report.main(["--root", str(tmp_path)])
