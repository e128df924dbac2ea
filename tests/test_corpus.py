"""`make grade` on the submission corpus: exact points per graded cell, grades.csv, feedback, report.

Every graded notebook also gets two submissions written by no one: its executed solution
(`reference`: full marks) and its untouched student version (`untouched`: zero). The attacks of
`tests/attacks.py` are graded in the same batch.
"""
import csv
import hashlib
import html
from html.parser import HTMLParser
import importlib.util
import os
import re
import shutil
import socket
import threading
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

import attacks
from conftest import ARTIFACTS, REPO, copy_course, make, read, survivors

CORPUS = REPO / "tests" / "corpus"


def graded_cells(nb):
    """{grade_id: points} of a notebook's graded cells."""
    return {c.metadata.nbgrader["grade_id"]: c.metadata.nbgrader["points"]
            for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}


def load_corpus():
    """(student_id, assignment, notebook, answers, expected) for every case."""
    cases = []
    for path in sorted((REPO / "source").glob("*/*.ipynb")):
        assignment, notebook = path.parent.name, path.stem
        points = graded_cells(read(path))
        if not points:
            continue
        cases.append((f"{notebook}--reference", assignment, notebook, "solutions", {}, points))
        cases.append((f"{notebook}--untouched", assignment, notebook, "notebooks", {}, dict.fromkeys(points, 0)))
        corpus_file = CORPUS / f"{notebook}.py"
        if corpus_file.exists():
            spec = importlib.util.spec_from_file_location(notebook, corpus_file)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            assert (module.ASSIGNMENT, module.NOTEBOOK) == (assignment, notebook), corpus_file
            for name, case in module.CASES.items():
                assert set(case["expected"]) == set(points), f"{corpus_file.name}:{name} must list every graded cell"
                cases.append((f"{notebook}--{name}", assignment, notebook, "notebooks", case["answers"], case["expected"]))
    return cases


CASES = load_corpus()


def load_attacks():
    """(student_id, assignment, notebook, origin, answers, expected), and {student_id: notebook change}."""
    cases, changes = [], {}
    quiz = graded_cells(read(REPO / "source" / attacks.QUIZ / f"{attacks.QUIZ}.ipynb"))
    ex01 = graded_cells(read(REPO / "source" / "01_why_imbalance_hurts" / "01_exercises.ipynb"))
    for group, assignment, notebook, points in [
            (attacks.ATTACKS | attacks.BOUNDARY_ATTACKS, attacks.QUIZ, attacks.QUIZ, quiz),
            (attacks.NUMPY_ATTACKS, "01_why_imbalance_hurts", "01_exercises", ex01)]:
        for name, case in group.items():
            expected = dict.fromkeys(points, 0) if case["expected"] == "zero" else case["expected"]
            assert set(expected) == set(points), name
            student = f"attack--{name}"
            cases.append((student, assignment, notebook, "notebooks", case["answers"], expected))
            changes[student] = case.get("change")
    return cases, changes


ATTACK_CASES, ATTACK_CHANGES = load_attacks()


def fill_answers(path, answers):
    """Replace the named answer cells of the notebook at `path` with a student's code."""
    nb = read(path)
    ids = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    for grade_id, code in answers.items():
        assert ids[grade_id].metadata.nbgrader.get("solution"), f"{grade_id} is not an answer cell"
        ids[grade_id].source = code
    nbformat.write(nb, path)


SOLUTION = REPO / "solutions" / "02_syntax" / "02_syntax.ipynb"
FULL_MARKS = sum(graded_cells(read(REPO / "source" / "02_syntax" / "02_syntax.ipynb")).values())
# Submissions that are broken as files: (student, assignment folder, {file: text or notebook path},
# score in grades.csv or None for no row, the report line's text after "student assignment: ").
BROKEN = [
    ("broken--not-json", "02_syntax", {"02_syntax.ipynb": "{not json"}, 0,
     f"zero 0/{FULL_MARKS}: nothing to grade: 02_syntax.ipynb is not a notebook (NotJSONError"),
    ("broken--json-but-no-notebook", "02_syntax", {"02_syntax.ipynb": '{"cells": 1}'}, 0,
     f"zero 0/{FULL_MARKS}: nothing to grade: 02_syntax.ipynb is not a notebook"),
    ("broken--empty-file", "02_syntax", {"02_syntax.ipynb": ""}, 0,
     f"zero 0/{FULL_MARKS}: nothing to grade: 02_syntax.ipynb is empty (0 bytes)"),
    ("broken--oversized", "02_syntax", {"02_syntax.ipynb": " " * (21 * 2**20)}, 0,
     f"zero 0/{FULL_MARKS}: nothing to grade: 02_syntax.ipynb is 21 MB, above the 20 MB limit"),
    ("broken--empty-folder", "02_syntax", {}, 0, f"zero 0/{FULL_MARKS}: nothing to grade: 02_syntax.ipynb missing"),
    ("broken--renamed", "02_syntax", {"02_syntax (1).ipynb": SOLUTION}, FULL_MARKS,
     f"graded {FULL_MARKS}/{FULL_MARKS} (02_syntax (1).ipynb graded as 02_syntax.ipynb)"),
    ("broken--stray-copy", "02_syntax", {"02_syntax.ipynb": SOLUTION, "scratch.ipynb": SOLUTION}, FULL_MARKS,
     f"graded {FULL_MARKS}/{FULL_MARKS} (scratch.ipynb ignored: not part of the assignment)"),
    ("broken--misspelt-folder", "02_sintax", {"02_syntax.ipynb": SOLUTION}, None,
     "not graded: no assignment named '02_sintax' in source/"),
]


def fingerprints(folder):
    """{path: sha256, or where a link points} of every file and link under `folder`."""
    return {p: os.readlink(p) if p.is_symlink() else hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_symlink() or p.is_file()}


MARKER = "MARKER-written-by-student"
BEFORE_GRADING = {}  # {course root: fingerprints}, for the check that nothing else changed
GRADE_RUN = {}  # {course root: the finished `make grade`}, for what it printed
GRADER_OUTPUTS = ("autograded", "feedback", "grading", "staged", "release", "gradebook.db", "grades.csv",
                  "grading-report.txt", "class-report.html")


class Listener:
    """A TCP server on 127.0.0.1 that counts the connections it accepts (attacks must make none)."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port, self.accepted = self.server.getsockname()[1], 0
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.accepted += 1
            connection.close()


@pytest.fixture(scope="module")
def listener():
    server = Listener()
    yield server
    server.server.close()


def submit(root, cases, port):
    """Write each case's submission under `root`'s autograder/submitted/, attacks pointed at `port`."""
    values = {"{root}": str(root), "{repo}": str(REPO), "{quiz}": attacks.QUIZ, "{port}": str(port)}
    for student, assignment, notebook, origin, answers, _ in cases:
        folder = root / "autograder" / "submitted" / student / assignment
        # Only the notebook under test (and the assignment's data): the others count as missing.
        others = lambda _, names: [n for n in names if n.endswith(".ipynb") and n != f"{notebook}.ipynb"]
        shutil.copytree(REPO / origin / assignment, folder, ignore=others)
        for key, value in values.items():
            answers = {cell: code.replace(key, value) for cell, code in answers.items()}
        fill_answers(folder / f"{notebook}.ipynb", answers)
        if ATTACK_CHANGES.get(student):
            nb = read(folder / f"{notebook}.ipynb")
            ATTACK_CHANGES[student](nb)
            nbformat.write(nb, folder / f"{notebook}.ipynb")


@pytest.fixture(scope="module")
def graded(tmp_path_factory, listener):
    root = copy_course(tmp_path_factory.mktemp("corpus"))
    submit(root, CASES + ATTACK_CASES, listener.port)
    for student, assignment, files, _, _ in BROKEN:
        folder = root / "autograder" / "submitted" / student / assignment
        folder.mkdir(parents=True)
        for name, content in files.items():
            if isinstance(content, Path):
                shutil.copy(content, folder / name)
            else:
                (folder / name).write_text(content)
    link_attack = root / "autograder" / "submitted" / "attack--symlink_to_gradebook" / attacks.QUIZ
    shutil.copytree(REPO / "notebooks" / attacks.QUIZ, link_attack)
    fill_answers(link_attack / f"{attacks.QUIZ}.ipynb", attacks.answers(attacks.if_works(
        "assert open('data.csv', 'rb').read(6) == b'SQLite'")))
    (link_attack / "data.csv").symlink_to(root / "autograder" / "gradebook.db")
    BEFORE_GRADING[root] = fingerprints(root)
    result = make("grade", root, GRADE_ARGS=f"--timeout {attacks.TIMEOUT}")
    assert result.returncode == 0, result.stdout + result.stderr
    GRADE_RUN[root] = result
    return root


@pytest.mark.parametrize("case", CASES + ATTACK_CASES, ids=[c[0] for c in CASES + ATTACK_CASES])
def test_points_per_graded_cell(graded, case):
    student, assignment, notebook, _, _, expected = case
    with Gradebook(f"sqlite:///{graded / 'autograder' / 'gradebook.db'}") as gb:
        submission = gb.find_submission_notebook(notebook, assignment, student)
        obtained = {grade.name: grade.score for grade in submission.grades}
    assert obtained == expected


def test_grades_csv_has_one_row_per_student_and_assignment(graded):
    with open(graded / "autograder" / "grades.csv", newline="") as f:
        rows = {(row["student_id"], row["assignment"]): row for row in csv.DictReader(f)}
    submitted = {(student, assignment) for student, assignment, *_ in CASES}
    assert set(rows) >= submitted
    for student, assignment, _, _, _, expected in CASES:
        assert float(rows[(student, assignment)]["score"]) == sum(expected.values()), student


def out_of(assignment):
    """The most points an assignment gives: its graded cells in all its notebooks."""
    return sum(sum(graded_cells(read(p)).values()) for p in (REPO / "source" / assignment).glob("*.ipynb"))


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_feedback_and_report_line(graded, case):
    student, assignment, notebook, _, _, expected = case
    assert (graded / "autograder" / "feedback" / student / assignment / f"{notebook}.html").is_file()
    report = (graded / "autograder" / "grading-report.txt").read_text().splitlines()
    line = next(ln for ln in report if ln.startswith(f"{student} {assignment}: "))
    score = f"graded {sum(expected.values()):g}/{out_of(assignment):g}"
    assert line == f"{student} {assignment}: {score}" or line.startswith(f"{student} {assignment}: {score} ("), line


@pytest.mark.parametrize("case", BROKEN, ids=[c[0] for c in BROKEN])
def test_broken_submission_gets_a_reason_and_a_grade(graded, case):
    student, assignment, _, score, reason = case
    report = (graded / "autograder" / "grading-report.txt").read_text().splitlines()
    line = next((ln for ln in report if ln.startswith(f"{student} {assignment}: ")), None)
    assert line is not None, f"no report line for {student}"
    assert line.startswith(f"{student} {assignment}: {reason}"), line
    with open(graded / "autograder" / "grades.csv", newline="") as f:
        rows = {(r["student_id"], r["assignment"]): r for r in csv.DictReader(f)}
    if score is None:
        assert not [key for key in rows if key[0] == student]
    else:
        assert float(rows[(student, assignment)]["score"]) == score
    if reason.startswith("zero"):  # the student reads why, and what to do, in a feedback page
        page = (graded / "autograder" / "feedback" / student / assignment / "02_syntax.html").read_text()
        assert "could not be graded" in page and "What to do" in page
        assert html.escape(reason.split(": ")[-1].split(" (")[0].replace("02_syntax.ipynb ", "")) in page


def test_submissions_are_left_as_handed_in(graded):
    folder = graded / "autograder" / "submitted" / "broken--renamed" / "02_syntax"
    assert sorted(p.name for p in folder.iterdir()) == ["02_syntax (1).ipynb"]
    assert (folder / "02_syntax (1).ipynb").read_bytes() == SOLUTION.read_bytes()


def split_hidden(nb, answers):
    """(lines inside hidden-test regions, all other lines of the notebook and of the answers)."""
    hidden, shown = set(), {" ".join(line.split()) for code in answers.values() for line in code.splitlines()}
    for cell in nb.cells:
        inside = False
        for line in cell.source.splitlines():
            inside = inside or "### BEGIN HIDDEN TESTS" in line
            (hidden if inside else shown).add(" ".join(line.split()))
            inside = inside and "### END HIDDEN TESTS" not in line
    return hidden, shown


def visible_text(page):
    """The text a student reads in a feedback page, white space folded."""
    text = html.unescape(re.sub(r"<[^>]+>", "", re.sub(r"<(style|script)\b.*?</\1>", "", page, flags=re.S)))
    return " ".join(text.split())


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_feedback_never_shows_hidden_tests(graded, case):
    student, assignment, notebook, _, answers, _ = case
    hidden, shown = split_hidden(read(REPO / "source" / assignment / f"{notebook}.ipynb"), answers)
    text = visible_text((graded / "autograder" / "feedback" / student / assignment / f"{notebook}.html").read_text())
    assert "### BEGIN HIDDEN TESTS" not in text
    assert any(line in text for line in shown if len(line) > 20), "feedback should show the notebook"
    own = [line for line in hidden if len(line) > 20 and not any(line in other for other in shown)]
    leaked = [line for line in own if line in text]
    assert not leaked, f"hidden test lines in {student}'s feedback: {leaked[:3]}"


def test_symlinked_file_is_dropped_not_followed(graded):
    with Gradebook(f"sqlite:///{graded / 'autograder' / 'gradebook.db'}") as gb:
        submission = gb.find_submission_notebook(attacks.QUIZ, attacks.QUIZ, "attack--symlink_to_gradebook")
        assert {g.name: g.score for g in submission.grades} == attacks.quiz_points(q01=0)
    report = (graded / "autograder" / "grading-report.txt").read_text()
    score = f"{sum(attacks.quiz_points(q01=0).values())}/{out_of(attacks.QUIZ)}"
    assert f"attack--symlink_to_gradebook 08_summary_and_practice: graded {score} (data.csv ignored: a symbolic link" in report


def test_attacks_changed_nothing_outside_their_scratch_folders(graded, listener):
    after = fingerprints(graded)
    outputs = [graded / "autograder" / name for name in GRADER_OUTPUTS]
    before = BEFORE_GRADING[graded]
    changed = {p for p in set(before) | set(after)
               if before.get(p) != after.get(p) and not any(p == o or o in p.parents for o in outputs)}
    assert not changed
    for folder in (graded, REPO, Path("/tmp"), graded / "source" / attacks.QUIZ):
        assert not (folder / MARKER).exists(), folder
    assert listener.accepted == 0


def test_no_student_process_outlives_grading(graded):
    assert survivors(graded) == ""  # kernels (and the fork bomb's children) name their scratch folder


def test_inputs_a_test_sent_never_come_back_in_the_feedback(graded):
    page = graded / "autograder" / "feedback" / "attack--stores_test_inputs" / "01_why_imbalance_hurts" / "01_exercises.html"
    text = visible_text(page.read_text())
    assert "inputs seen: []" in text  # the student's cells all ran before any test called the answer
    assert "fraud" not in text


class Elements(HTMLParser):
    """Every element of a page with its attributes, and the text of its scripts."""

    def __init__(self, page):
        super().__init__()
        self.elements, self.scripts, self.inside_script = [], [], False
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        self.inside_script = tag == "script"

    def handle_data(self, data):
        if self.inside_script:
            self.scripts.append(data)


def test_student_html_is_inert_in_feedback(graded, browser):
    page = graded / "autograder" / "feedback" / "attack--script_in_outputs" / attacks.QUIZ / f"{attacks.QUIZ}.html"
    text = page.read_text()
    assert "a table stays" in text and "a student's note" in text  # what is harmless still shows
    parsed = Elements(text)
    assert not [s for s in parsed.scripts if "pwned" in s]
    assert not [(t, a) for t, a in parsed.elements if any(k.startswith("on") for k in a)]
    assert not [t for t, _ in parsed.elements if t in ("iframe", "object", "embed", "svg")]
    assert not [a for _, a in parsed.elements if str(a.get("href", "")).strip().lower().startswith("javascript:")]
    assert 'http-equiv="Content-Security-Policy"' in text
    browser.get(page.as_uri())
    assert browser.execute_script("return document.readyState") == "complete"
    assert browser.execute_script("return window.pwned === undefined && parent.pwned === undefined")
    browser.save_screenshot(str(ARTIFACTS / "feedback-inert-student-html.png"))


@pytest.mark.parametrize("student, reason", [
    ("attack--infinite_loop_in_cell", f"q01_answer: no answer within {attacks.TIMEOUT} s, kernel restarted without it"),
    ("attack--infinite_loop_in_answer", f"answer_q01(): the student's code stopped the kernel: no answer within {attacks.TIMEOUT} s"),
    ("attack--kernel_crash", "q01_answer: the kernel died, kernel restarted without it"),
    ("attack--memory_bomb", "answer_q01(): MemoryError (limit 4 GiB)"),
    ("attack--output_bomb", "q01_answer: output cut at 1000000 bytes"),
    ("attack--huge_reply", "answer_q01(): the reply is 509 MB, above the grader's limit of 32 MB"),
    ("attack--huge_reply_past_the_helper", "answer_q01(): the student's code stopped the kernel"),
    ("attack--test_cell_made_ungraded", "nbgrader metadata of q01_test restored"),
])
def test_report_says_what_happened(graded, student, reason):
    report = (graded / "autograder" / "grading-report.txt").read_text().splitlines()
    line = next(ln for ln in report if ln.startswith(student + " "))
    assert reason in line, line


def test_make_grade_prints_the_protections_as_a_list_and_no_padded_progress(graded):
    result = GRADE_RUN[graded]
    lines = result.stdout.splitlines()
    start = lines.index("Sandbox protections:")  # the grader's first line, after make's own
    protections = lines[start + 1:start + 7]
    assert all(ln.startswith(("  on   ", "  OFF  ")) and len(ln) < 120 for ln in protections), lines[:start + 8]
    assert not lines[start + 7].startswith("  ")
    for text in (result.stdout, result.stderr):  # redirected, as here: no bar, no carriage returns
        assert "\r" not in text
        assert not [ln for ln in text.splitlines() if ln != ln.rstrip()]


# --- The class report (`make report`) and the feedback pages' maths, on the graded corpus ---------

class ReportTables(HTMLParser):
    """{data-cell or data-question: [cell texts]} of the class report's tables, its tags and attributes."""

    def __init__(self, page):
        super().__init__()
        self.rows, self.row, self.tags = {}, None, []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        key = attrs.get("data-cell") or attrs.get("data-question")
        if tag == "tr" and key:
            self.row = self.rows.setdefault(key, [])
        elif tag == "td" and self.row is not None:
            self.row.append("")

    def handle_endtag(self, tag):
        if tag == "tr":
            self.row = None

    def handle_data(self, data):
        if self.row is not None and self.row:
            self.row[-1] += data.strip()


@pytest.fixture(scope="module")
def class_report(graded):
    result = make("report", graded)
    assert result.returncode == 0, result.stdout + result.stderr
    page = (graded / "autograder" / "class-report.html").read_text()
    return page, ReportTables(page)


def pearson(x, y):
    """Pearson's r by its definition, or None where a column is constant."""
    mx, my = sum(x) / len(x), sum(y) / len(y)
    sxx, syy = sum((a - mx) ** 2 for a in x), sum((b - my) ** 2 for b in y)
    if not sxx or not syy:
        return None
    return sum((a - mx) * (b - my) for a, b in zip(x, y)) / (sxx * syy) ** 0.5


def test_class_report_numbers_match_an_independent_count(graded, class_report):
    """Facility and corrected item-total r from grades.csv's students and each notebook's grades."""
    _, tables = class_report
    checked = 0
    with Gradebook(f"sqlite:///{graded / 'autograder' / 'gradebook.db'}") as gb:
        for assignment in gb.assignments:
            submissions = list(gb.assignment_submissions(assignment.name))
            scores = [{g.name: (g.score, g.max_score) for nb in s.notebooks for g in nb.grades} for s in submissions]
            totals = [s.score for s in submissions]
            for notebook in assignment.notebooks:
                for cell in notebook.grade_cells:
                    item = [sc[cell.name][0] for sc in scores]
                    row = tables.rows[f"{assignment.name}/{notebook.name}/{cell.name}"]
                    facility = sum(sc[cell.name][0] == sc[cell.name][1] for sc in scores) / len(scores)
                    assert row[3] == f"{facility:.2f}", (cell.name, row)
                    r = pearson(item, [t - i for t, i in zip(totals, item)])
                    assert row[4] == ("undefined" if r is None else f"{r:.2f}"), (cell.name, row)
                    assert ("nobody passes" in row[6]) == (facility == 0)
                    assert ("everybody passes" in row[6]) == (facility == 1)
                    checked += 1
    assert checked == sum(len(graded_cells(read(p))) for p in (REPO / "source").glob("*/*.ipynb"))


def test_class_report_counts_the_options_chosen(graded, class_report):
    """Options counted from the submitted notebooks (the students' own files) with a pattern."""
    _, tables = class_report
    submitted = sorted((graded / "autograder" / "submitted").glob(f"*/{attacks.QUIZ}/{attacks.QUIZ}.ipynb"))
    with Gradebook(f"sqlite:///{graded / 'autograder' / 'gradebook.db'}") as gb:  # graded, with a notebook
        autograded = {s.student.id for s in gb.assignment_submissions(attacks.QUIZ)
                      if (graded / "autograder" / "autograded" / s.student.id / attacks.QUIZ / f"{attacks.QUIZ}.ipynb").exists()}
    # The last definition's body (its indented lines), less docstrings and comments, is one return of a letter.
    definition = re.compile(r"^def answer_q\d\d\(\):[ \t]*\n((?:[ \t]+.*(?:\n|$)|[ \t]*\n)*)", flags=re.MULTILINE)
    literal = re.compile(r'return\s*(["\'])\s*([A-Da-d])\s*\1')
    expected = {}
    for path in submitted:
        if path.parts[-3] not in autograded:
            continue
        answers = {}
        for c in read(path).cells:  # a pasted copy of an answer cell is not graded: the first counts
            if c.metadata.get("nbgrader", {}).get("solution"):
                answers.setdefault(c.metadata.nbgrader["grade_id"], c.source)
        for q in range(1, 11):
            code = answers.get(f"q{q:02d}_answer", "")
            bodies = definition.findall(code)
            body = [ln.strip() for ln in (bodies[-1] if bodies else "").splitlines()
                    if not re.fullmatch(r'\s*(#.*|""".*"""|)', ln)]
            found = literal.fullmatch(body[0]) if len(body) == 1 else None
            key = found.group(2).upper() if found else "no answer" if body == ["raise NotImplementedError()"] else "other"
            expected.setdefault(q, {}).setdefault(key, 0)
            expected[q][key] += 1
    for q, counts in expected.items():
        row = tables.rows[f"{attacks.QUIZ}/{attacks.QUIZ}/q{q:02d}_answer"]
        shown = dict(zip(["A", "B", "C", "D", "other", "no answer"], (int(x.rstrip(" *")) for x in row[1:])))
        assert {k: v for k, v in shown.items() if v} == counts, (q, row)
        assert row[1 + "ABCD".index(attacks.RIGHT[q])].endswith("*")


def test_class_report_is_inert_and_flags_copies(class_report):
    page, tables = class_report
    assert not [t for t, _ in tables.tags if t in ("script", "iframe", "object", "embed", "svg", "link")]
    assert not [a for _, a in tables.tags if any(k.startswith("on") for k in a)]
    images = [a["src"] for t, a in tables.tags if t == "img"]
    assert images and all(src.startswith("data:image/png;base64,") for src in images)
    # The renamed copy of the reference solution is the same answer: flagged for a look.
    assert re.search(r"02_syntax--reference</td><td>broken--renamed</td>", page)


def test_class_report_in_a_browser(class_report, graded, browser):
    browser.get((graded / "autograder" / "class-report.html").as_uri())
    assert browser.execute_script("return document.readyState") == "complete"
    images = browser.find_elements("css selector", "img")
    assert images and all(browser.execute_script("return arguments[0].naturalWidth", i) > 0 for i in images)
    assert browser.execute_script("return window.pwned === undefined")
    browser.set_window_size(1400, 3000)
    browser.save_screenshot(str(ARTIFACTS / "class-report.png"))


def test_feedback_renders_maths_and_names_exercises(graded, browser):
    page = graded / "autograder" / "feedback" / "04_exercises--reference" / "04_sample_model" / "04_exercises.html"
    text = page.read_text()
    assert "<script" not in text and "mathjax.js" not in text.lower()  # nbgrader's template loads it from a CDN
    assert "$$" not in visible_text(text)
    assert '<a href="#m04_ex2_min_cost">Exercise 2: the threshold with the lowest cost (hard, 5 points): m04_ex2_min_cost</a>' in text
    assert ">Test cell</a>" not in text
    browser.get(page.as_uri())
    maths = browser.find_elements("css selector", "math")
    assert len(maths) >= 2 and all(m.size["height"] > 10 for m in maths)
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", maths[0])
    browser.save_screenshot(str(ARTIFACTS / "feedback-maths.png"))
