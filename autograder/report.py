"""The class report: what `make report` writes to `autograder/class-report.html` after `make grade`.

One self-contained page (figures embedded as PNG, no script, nothing loaded) for the instructor:
per assignment the score distribution; per graded cell its facility (share of submissions with
full points) and discrimination (corrected item-total correlation, upper-lower 27 % index), with
flags; the most frequent failure messages of each test cell; for multiple-choice questions how often
each option was chosen; and pairs of submissions whose answer cells are near-identical, for a human
to look at. Scores come from nbgrader's gradebook; messages, chosen options and answers from the
autograded notebooks, which a student's code wrote: they are read as untrusted data (never run,
every string escaped, a notebook that cannot be read is named and skipped).
"""
import argparse
import ast
import base64
import datetime
import html
import io
import itertools
import json
import re
import time
from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (after choosing the backend that needs no display)
import numpy as np  # noqa: E402
from copydetect.detector import CodeFingerprint, compare_files  # noqa: E402
from nbgrader.api import Gradebook  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
UPPER_LOWER = 0.27  # Kelley's share of the class in each of the top and bottom groups
MAX_NOTEBOOK_BYTES = 20 * 2**20  # as grade.py: larger files were never graded
MAX_MESSAGE = 300  # characters of a failure message shown
SIMILAR = 0.8  # both answers of a pair share at least this fraction of their fingerprinted tokens
NOISE, GUARANTEE = 25, 25  # copydetect's defaults: k-grams of 25 tokens, every 25-token match found
CONTENT_SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


# --- Statistics on a table of item scores (rows: submissions, columns: graded cells) -----------

def facility(passed):
    """Share of submissions that passed (1/True) an item: a float in [0, 1], None for no submission."""
    passed = np.asarray(passed, dtype=float)
    return float(passed.mean()) if passed.size else None


def corrected_item_total(item, total):
    """Pearson correlation of an item's scores with the total minus that item, or None when it is
    undefined: fewer than two submissions, or either column constant (no spread to correlate)."""
    item, rest = np.asarray(item, dtype=float), np.asarray(total, dtype=float) - np.asarray(item, dtype=float)
    if item.size < 2 or np.ptp(item) == 0 or np.ptp(rest) == 0:
        return None
    return float(np.corrcoef(item, rest)[0, 1])


def upper_lower_index(passed, total, share=UPPER_LOWER):
    """Pass rate of the top `share` of submissions by total minus that of the bottom `share`
    (groups of round(share * n), at least one; ties in the total keep the given order), or None for
    fewer than two submissions."""
    passed, total = np.asarray(passed, dtype=float), np.asarray(total, dtype=float)
    if passed.size < 2:
        return None
    size = max(1, int(round(share * passed.size)))
    order = np.argsort(total, kind="stable")
    return float(passed[order[-size:]].mean() - passed[order[:size]].mean())


def flags(facility_, correlation, index):
    """What an instructor should look at for an item."""
    found = []
    if facility_ == 0:
        found.append("nobody passes")
    elif facility_ == 1:
        found.append("everybody passes")
    if (correlation is not None and correlation < 0) or (index is not None and index < 0):
        found.append("discriminates negatively")
    return found


def normalise_message(text):
    """A failure message with what varies between students replaced: quoted strings and names
    (`'x'`, `"y"`) by '…', numbers by N, runs of white space by one space."""
    text = re.sub(r"'[^'\n]*'|\"[^\"\n]*\"", "'…'", text)
    text = re.sub(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?!\w)", "N", text)
    return " ".join(text.split())[:MAX_MESSAGE]


def chosen_option(answer_source, function, options):
    """The option letter that the answer cell's `function` returns as a literal string ("a " counts
    as A), "no answer" when it still raises NotImplementedError, "other" for anything else. Read from
    the code, never run: the cell was written by a student."""
    try:
        tree = ast.parse(answer_source[:100_000])
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return "other"
    found = None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            found = node  # the last definition wins, as when the cell runs
    if found is None:
        return "other"
    body = [n for n in found.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
    if len(body) == 1 and isinstance(body[0], ast.Return) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        letter = body[0].value.value.strip().upper()
        return letter if letter in options else "other"
    if len(body) == 1 and isinstance(body[0], ast.Raise):
        return "no answer"
    return "other"


# --- Reading the gradebook and the autograded notebooks ------------------------------------------

def read_cells(path):
    """The cells of a notebook as a list of dicts, or raise ValueError saying why it cannot be read."""
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        raise ValueError("larger than 20 MB")
    try:
        cells = json.loads(path.read_text(encoding="utf-8", errors="replace")).get("cells")
    except (ValueError, AttributeError, RecursionError) as error:
        raise ValueError(f"not a notebook ({type(error).__name__})") from None
    if not isinstance(cells, list):
        raise ValueError("not a notebook (no list of cells)")
    return [c for c in cells if isinstance(c, dict)]


def text_of(value):
    """A notebook field that nbformat stores as a string or a list of strings, as one string."""
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    return value if isinstance(value, str) else ""


def grade_id(cell):
    meta = cell.get("metadata")
    meta = meta.get("nbgrader") if isinstance(meta, dict) else None
    return meta.get("grade_id") if isinstance(meta, dict) and isinstance(meta.get("grade_id"), str) else None


def failure_message(cell):
    """The one line a failed test cell left in its outputs ("AssertionError: …"), or None if none."""
    outputs = cell.get("outputs")
    for output in outputs if isinstance(outputs, list) else []:
        if isinstance(output, dict) and output.get("output_type") == "error":
            name, value = text_of(output.get("ename")), text_of(output.get("evalue"))
            line = f"{name}: {value}" if value else name
            return (line.strip().splitlines() or ["(no message)"])[0][:MAX_MESSAGE]
    return None


def quiz_questions(source_cells):
    """{answer grade_id: (function name, options, correct letter)} for the multiple-choice questions
    of a source notebook: an answer cell whose solution returns one letter, under a question cell that
    lists options as "- A. …" lines."""
    questions, options = {}, []
    for cell in source_cells:
        text = text_of(cell.get("source"))
        if cell.get("cell_type") == "markdown":
            found = re.findall(r"^\s*[-*]\s+([A-Z])\.\s", text, flags=re.MULTILINE)
            options = found or options
        elif grade_id(cell) and options and (match := re.search(r"def (answer_\w+)\(", text)):
            solution = re.sub(r"### (BEGIN|END) SOLUTION", "", text)
            correct = chosen_option(solution, match.group(1), options)
            if correct in options:
                questions[grade_id(cell)] = (match.group(1), options, correct)
            options = []
    return questions


def answer_cells(cells):
    """{grade_id: source} of the solution (answer) cells of a notebook."""
    found = {}
    for cell in cells:
        meta = cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell.get("metadata"), dict) else {}
        if isinstance(meta, dict) and meta.get("solution") and grade_id(cell):
            found.setdefault(grade_id(cell), text_of(cell.get("source")))
    return found


def gradebook_scores(root):
    """[(assignment, [(notebook, cell, max points)], {student: {(notebook, cell): score}})] from the
    gradebook, assignments by name; only students with a graded submission."""
    found = []
    with Gradebook(f"sqlite:///{root / 'autograder' / 'gradebook.db'}") as gb:
        for assignment in sorted(gb.assignments, key=lambda a: a.name):
            cells = [(nb.name, cell.name, float(cell.max_score))
                     for nb in sorted(assignment.notebooks, key=lambda n: n.name)
                     for cell in nb.grade_cells]
            scores = {}
            for submission in gb.assignment_submissions(assignment.name):
                scores[submission.student.id] = {(nb.notebook.name, g.name): float(g.score or 0)
                                                 for nb in submission.notebooks for g in nb.grades}
            found.append((assignment.name, cells, scores))
    return found


def similar_pairs(answers, starter, threshold=SIMILAR):
    """[(student, student, similarity of each)] of answer texts that copydetect finds near-identical
    (names, strings and formatting normalised, the starter code left out), most similar first."""
    def fingerprint(code, boilerplate=None):
        return CodeFingerprint("answers.py", NOISE, GUARANTEE - NOISE + 1, boilerplate, fp=io.StringIO(code))
    boilerplate = np.array(sorted(fingerprint(starter).hashes))  # copydetect wants an array
    prints = {}
    for student, code in sorted(answers.items()):
        try:
            prints[student] = fingerprint(code, boilerplate)
        except Exception:  # a tokenizer failure on hostile text: that answer is left out, never the report
            continue
    pairs = []
    for (a, fa), (b, fb) in itertools.combinations(prints.items(), 2):
        if not fa.hashes or not fb.hashes:
            continue
        _, (sim_a, sim_b), _ = compare_files(fa, fb)
        if min(sim_a, sim_b) >= threshold:
            pairs.append((a, b, float(sim_a), float(sim_b)))
    return sorted(pairs, key=lambda p: (-min(p[2], p[3]), p[0], p[1]))


def analyse(root):
    """Everything the report shows, as plain data: {"assignments": [...], "unreadable": [...]}."""
    root = Path(root)
    autograded, unreadable, assignments = root / "autograder" / "autograded", [], []
    release = root / "autograder" / "release"
    for assignment, cells, scores in gradebook_scores(root):
        students = sorted(scores)
        table = np.array([[scores[s].get((nb, c), 0.0) for nb, c, _ in cells] for s in students])
        table = table.reshape(len(students), len(cells))  # also when nobody submitted
        maxima = np.array([m for *_, m in cells])
        passed = table >= maxima  # full points on the cell
        totals = table.sum(axis=1)
        items = []
        for j, (notebook, cell, points) in enumerate(cells):
            f = facility(passed[:, j])
            r = corrected_item_total(table[:, j], totals)
            d = upper_lower_index(passed[:, j], totals)
            items.append({"notebook": notebook, "cell": cell, "points": points, "facility": f,
                          "correlation": r, "upper_lower": d, "flags": flags(f, r, d) if students else [],
                          "messages": Counter(), "examples": {}})
        by_cell = {(it["notebook"], it["cell"]): it for it in items}
        quizzes, similar = [], []
        for notebook in sorted({nb for nb, *_ in cells}):
            source_path = root / "source" / assignment / f"{notebook}.ipynb"
            source_cells = read_cells(source_path) if source_path.exists() else []
            questions = quiz_questions(source_cells)
            counts = {q: Counter() for q in questions}
            answers = {}
            for student in students:
                path = autograded / student / assignment / f"{notebook}.ipynb"
                if not path.exists():
                    continue
                try:
                    nb_cells = read_cells(path)
                except (ValueError, OSError) as error:
                    unreadable.append(f"{student} {assignment}/{notebook}.ipynb: {error}")
                    continue
                for cell in nb_cells:
                    item = by_cell.get((notebook, grade_id(cell)))
                    message = failure_message(cell) if item else None
                    if message:
                        key = normalise_message(message)
                        item["messages"][key] += 1
                        item["examples"].setdefault(key, message)
                submitted = answer_cells(nb_cells)
                for q, (function, options, _) in questions.items():
                    counts[q][chosen_option(submitted.get(q, ""), function, options)] += 1
                answers[student] = "\n\n".join(submitted.get(q, "") for q in answer_cells(source_cells))
            for q, (function, options, correct) in questions.items():
                quizzes.append({"notebook": notebook, "question": q, "options": options, "correct": correct,
                                "counts": counts[q]})
            starter_path = release / assignment / f"{notebook}.ipynb"
            if not starter_path.exists():
                starter_path = root / "notebooks" / assignment / f"{notebook}.ipynb"
            starter = "\n\n".join(answer_cells(read_cells(starter_path)).values()) if starter_path.exists() else ""
            similar += [(notebook, *pair) for pair in similar_pairs(answers, starter)]
        assignments.append({"name": assignment, "students": students, "totals": totals,
                            "max_total": float(maxima.sum()), "items": items, "quizzes": quizzes,
                            "similar": similar})
    return {"assignments": assignments, "unreadable": unreadable}


# --- The page ------------------------------------------------------------------------------------

def png(fig):
    """A matplotlib figure as an <img> with the PNG inline (a data: URI: nothing to load)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return f'<img alt="figure" src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}">'


def histogram(name, totals, max_total):
    fig, ax = plt.subplots(figsize=(6, 2.8))
    bins = np.arange(0, max_total + 2) - 0.5 if max_total <= 40 else 20
    ax.hist(totals, bins=bins, color="#4878a8", edgecolor="white")
    ax.set_xlabel(f"score (out of {max_total:g})")
    ax.set_ylabel("submissions")
    ax.set_title(f"{name}: score distribution, {len(totals)} submissions")
    ax.yaxis.get_major_locator().set_params(integer=True)
    return png(fig)


def facility_chart(items):
    fig, ax = plt.subplots(figsize=(6, 0.25 * len(items) + 1))
    labels = [f"{it['notebook']}/{it['cell']}" for it in items]
    ax.barh(labels, [it["facility"] or 0 for it in items], color="#6a9f58")
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("facility: share of submissions with full points")
    ax.tick_params(axis="y", labelsize=7)
    return png(fig)


def number(value, digits=2):
    return "undefined" if value is None else f"{value:.{digits}f}"


def render(data, generated=None):
    """The report as one HTML string; every text from the data is escaped."""
    e = html.escape
    generated = generated or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">',
           "<title>Class report</title><style>",
           "body{font-family:sans-serif;max-width:70em;margin:1em auto;padding:0 1em;color:#222}",
           "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.2em .5em;"
           "text-align:left;vertical-align:top}td.n{text-align:right}.flag{color:#b03020;font-weight:bold}"
           "code{font-size:90%}", "</style></head><body>", "<h1>Class report</h1>",
           f"<p>Generated {e(generated)} from the gradebook and the autograded notebooks. Facility: share "
           "of submissions with full points on the cell. Corrected r: correlation of the cell's score with "
           "the assignment total minus that cell. Upper-lower: facility among the top 27 % of submissions "
           "by total minus that among the bottom 27 %. Similar answers are for a person to look at: "
           "they prove nothing.</p>"]
    for a in data["assignments"]:
        out.append(f'<h2 id="{e(a["name"])}">{e(a["name"])}</h2>')
        if not a["students"]:
            out.append("<p>No graded submission.</p>")
            continue
        totals = np.asarray(a["totals"])
        out.append(f"<p>{len(a['students'])} graded submissions; mean {totals.mean():.2f}, median "
                   f"{np.median(totals):g} out of {a['max_total']:g}.</p>")
        out.append(histogram(a["name"], totals, a["max_total"]))
        out.append(facility_chart(a["items"]))
        out.append('<table class="items"><tr><th>Notebook</th><th>Cell</th><th>Points</th><th>Facility</th>'
                   "<th>Corrected r</th><th>Upper-lower</th><th>Flags</th></tr>")
        for it in a["items"]:
            out.append(f'<tr data-cell="{e(a["name"])}/{e(it["notebook"])}/{e(it["cell"])}"><td>{e(it["notebook"])}</td>'
                       f'<td><code>{e(it["cell"])}</code></td><td class="n">{it["points"]:g}</td>'
                       f'<td class="n">{number(it["facility"])}</td><td class="n">{number(it["correlation"])}</td>'
                       f'<td class="n">{number(it["upper_lower"])}</td>'
                       f'<td class="flag">{e(", ".join(it["flags"]))}</td></tr>')
        out.append("</table>")
        failing = [it for it in a["items"] if it["messages"]]
        if failing:
            out.append("<h3>Most frequent failure messages</h3>"
                       '<table class="messages"><tr><th>Cell</th><th>Submissions</th><th>Message (one example)</th></tr>')
            for it in failing:
                for key, count in it["messages"].most_common(5):
                    out.append(f'<tr><td><code>{e(it["cell"])}</code></td><td class="n">{count}</td>'
                               f'<td>{e(it["examples"][key])}</td></tr>')
            out.append("</table>")
        if a["quizzes"]:
            letters = sorted({o for q in a["quizzes"] for o in q["options"]})
            out.append("<h3>Options chosen (multiple choice)</h3><p>Read from the answer cells' code: "
                       "<em>other</em> is an answer that is no literal letter, <em>no answer</em> a cell left "
                       "as given. The correct option is starred.</p>"
                       '<table class="options"><tr><th>Question</th>'
                       + "".join(f"<th>{e(x)}</th>" for x in [*letters, "other", "no answer"]) + "</tr>")
            for q in a["quizzes"]:
                cells = "".join(f'<td class="n">{q["counts"].get(x, 0)}{" *" if x == q["correct"] else ""}</td>'
                                for x in [*letters, "other", "no answer"])
                out.append(f'<tr data-question="{e(a["name"])}/{e(q["notebook"])}/{e(q["question"])}">'
                           f'<td><code>{e(q["question"])}</code></td>{cells}</tr>')
            out.append("</table>")
        out.append("<h3>Near-identical answers</h3>")
        if a["similar"]:
            out.append(f"<p>Pairs whose answer cells share at least {SIMILAR:.0%} of their code after names, "
                       "strings and formatting are normalised and the starter code is left out (copydetect). "
                       "Worth a look; the same correct idea written plainly can match too.</p>"
                       '<table class="similar"><tr><th>Notebook</th><th>Student</th><th>Student</th><th>Shared</th></tr>')
            for notebook, s1, s2, sim1, sim2 in a["similar"][:50]:
                out.append(f"<tr><td>{e(notebook)}</td><td>{e(s1)}</td><td>{e(s2)}</td>"
                           f'<td class="n">{sim1:.0%} / {sim2:.0%}</td></tr>')
            out.append("</table>" + (f"<p>{len(a['similar']) - 50} more pairs not shown.</p>" if len(a["similar"]) > 50 else ""))
        else:
            out.append("<p>None found.</p>")
    if data["unreadable"]:
        out.append("<h2>Notebooks left out</h2><ul>" + "".join(f"<li>{e(x)}</li>" for x in data["unreadable"]) + "</ul>")
    out.append("</body></html>\n")
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO, help="course folder (default: this repository)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if not (root / "autograder" / "gradebook.db").exists():
        raise SystemExit(f"No gradebook at {root / 'autograder' / 'gradebook.db'}: run `make grade` first.")
    started = time.monotonic()
    target = root / "autograder" / "class-report.html"
    target.write_text(render(analyse(root)), encoding="utf-8")
    print(f"Class report: {target} ({time.monotonic() - started:.1f} s)")


if __name__ == "__main__":
    main()
