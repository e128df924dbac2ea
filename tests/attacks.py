"""Submissions that attack the grader, with the exact points each graded cell must get.

Most are the quiz of 08 (fast to grade): ten questions, one point each, the right letters below.
An attack that could read, write or reach what it must not would earn a point it is denied here:
its answer returns the right letter only if the forbidden thing worked. `tests/test_corpus.py`
grades them in the same batch as the corpus and also checks that nothing outside the scratch
folders changed and that no process of theirs outlives grading.
"""
import copy
import json

import nbformat

QUIZ = "08_summary_and_practice"
RIGHT = dict(zip(range(1, 11), "AABCCCDABD"))
TIMEOUT = 20  # seconds per cell in the test batch (GRADE_ARGS), so hanging attacks end quickly


def answer(q, body):
    """The source of answer cell q: `def answer_qNN(): <body>`."""
    return f"def answer_q{q:02d}():\n" + "".join(f"    {line}\n" for line in body.splitlines())


def honest(q):
    return answer(q, f"return {RIGHT[q]!r}")


def quiz_points(**points):
    """{qNN_test: points}: 1 for every question unless named (q01=0)."""
    return {f"q{q:02d}_test": points.get(f"q{q:02d}", 1) for q in RIGHT}


def answers(first, others=honest):
    """Answer cells: question 1 gets `first`, the others `others(q)`."""
    return {"q01_answer": first, **{f"q{q:02d}_answer": others(q) for q in range(2, 11)}}


def if_works(attempt):
    """Answer 1 is right only if `attempt` (code that raises when it fails) succeeds."""
    return answer(1, f"try:\n{indent(attempt)}\n    return 'A'\nexcept BaseException:\n    return 'Z'")


def indent(code, by="    "):
    return "".join(by + line + "\n" for line in code.splitlines()).rstrip("\n")


def delete_cell(grade_id):
    def change(nb):
        nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != grade_id]
    return change


def edit_cell(target, **fields):
    """Set fields of the nbgrader metadata of cell `target` (or its source, with source=...)."""
    def change(nb):
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade_id") == target:
                if "source" in fields:
                    cell.source = fields["source"]
                meta.update({k: v for k, v in fields.items() if k != "source"})
    return change


def duplicate_cell(grade_id, times):
    def change(nb):
        i = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
        copies = [nbformat.from_dict(copy.deepcopy(dict(nb.cells[i]))) for _ in range(times)]
        for n, cell in enumerate(copies):
            cell["id"] = f"{nb.cells[i]['id']}-copy{n}"
        nb.cells[i + 1:i + 1] = copies
    return change


# Each attack: what it does, its answers (or notebook changes), the points it must get, and what
# stock nbgrader 0.9.6 gives it (measured; see the closing note of the grading issue).
ATTACKS = {
    "equal_to_anything": {
        "why": "returns a str subclass that equals every letter",
        "answers": answers(answer(1, "class Any(str):\n    def __eq__(self, other): return True\n"
                                     "    def __hash__(self): return 0\n    def strip(self): return self\n"
                                     "    def upper(self): return self\nreturn Any('Z')"), others=lambda q: answer(q, "return 'Z'")),
        "expected": quiz_points(**{f"q{q:02d}": 0 for q in RIGHT}),
    },
    "silenced_tracebacks": {
        "why": "replaces IPython's showtraceback so failing tests print nothing; answers B everywhere",
        "answers": answers("get_ipython().showtraceback = lambda *a, **k: None\n" + answer(1, "return 'B'"),
                           others=lambda q: answer(q, "return 'B'")),
        "expected": quiz_points(**{f"q{q:02d}": int(RIGHT[q] == "B") for q in RIGHT}),
    },
    "custom_exception_handler": {
        "why": "installs an IPython handler that swallows every exception; answers B everywhere",
        "answers": answers("get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)\n"
                           + answer(1, "return 'B'"), others=lambda q: answer(q, "return 'B'")),
        "expected": quiz_points(**{f"q{q:02d}": int(RIGHT[q] == "B") for q in RIGHT}),
    },
    "forged_grader_messages": {
        "why": "replaces the grader's helper in its kernel to send 'A' as every answer",
        "answers": answers(
            "import base64\n"
            "def _forged(payload):  # 'a function' when asked what an answer is, 'A' when it is called\n"
            "    from IPython.display import publish_display_data\n"
            "    handle = '{\"value\": {\"$\": \"handle\", \"id\": 1, \"classes\": [\"builtins.function\"], \"callable\": true}}'\n"
            "    reply = handle if b'describe' in base64.b64decode(payload) else '{\"value\": \"A\"}'\n"
            "    publish_display_data({'application/x.imbalanced-course.result+json': reply})\n"
            "__grader__.request = _forged\n" + answer(1, "return 'Z'"), others=lambda q: answer(q, "return 'Z'")),
        "expected": quiz_points(**{f"q{q:02d}": int(RIGHT[q] == "A") for q in RIGHT}),
    },
    "edited_test_cell": {
        "why": "replaces the test of question 1 by `pass`, with a wrong answer",
        "answers": answers(answer(1, "return 'B'")),
        "change": edit_cell("q01_test", source="pass"),
        "expected": quiz_points(q01=0),
    },
    "deleted_test_cell": {
        "why": "deletes the test of question 1, with a wrong answer",
        "answers": answers(answer(1, "return 'B'")),
        "change": delete_cell("q01_test"),
        "expected": quiz_points(q01=0),
    },
    "test_cell_made_ungraded": {
        "why": "marks the test of question 1 as not graded and worth 100 points, with a wrong answer",
        "answers": answers(answer(1, "return 'B'")),
        "change": edit_cell("q01_test", grade=False, points=100),
        "expected": quiz_points(q01=0),
    },
    "renamed_test_id": {
        "why": "changes the grade_id of the test of question 1, with a wrong answer",
        "answers": answers(answer(1, "return 'B'")),
        "change": edit_cell("q01_test", grade_id="q01_test_mine"),
        "expected": quiz_points(q01=0),
    },
    "duplicated_test_cell": {
        "why": "pastes the (passing) test of question 1 five more times to count it six times",
        "answers": answers(honest(1)),
        "change": duplicate_cell("q01_test", 5),
        "expected": quiz_points(),
    },
    "reads_course_files": {
        "why": "answer 1 is right only if it can read the gradebook, the hidden tests or others' work",
        "answers": answers(if_works(
            "import glob\n"
            "paths = ['{root}/autograder/gradebook.db', '{root}/source/{quiz}/{quiz}.ipynb',\n"
            "         '../../../source/{quiz}/{quiz}.ipynb', '{repo}/source/{quiz}/{quiz}.ipynb']\n"
            "paths += glob.glob('{root}/autograder/submitted/*/*/*.ipynb') + glob.glob('/proc/1/root/{root}/*')\n"
            "assert any(open(p, 'rb').read(1) for p in paths if __import__('os').path.exists(p))")),
        "expected": quiz_points(q01=0),
    },
    "writes_outside": {
        "why": "tries to write files in the course, the repository and /tmp, then answers right",
        "answers": answers(
            "for _p in ['{root}/MARKER-written-by-student', '{repo}/MARKER-written-by-student',\n"
            "           '/tmp/MARKER-written-by-student', '{root}/source/{quiz}/MARKER-written-by-student']:\n"
            "    try:\n        open(_p, 'w').write('x')\n    except OSError:\n        pass\n" + honest(1)),
        "expected": quiz_points(),
    },
    "network": {
        "why": "answer 1 is right only if it can connect to a server the test runs on 127.0.0.1",
        "answers": answers(if_works("import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=3).close()")),
        "expected": quiz_points(q01=0),
    },
    "infinite_loop_in_cell": {
        "why": "defines a right answer 1, then loops forever in the same cell",
        "answers": answers(honest(1) + "while True:\n    pass\n"),
        "expected": quiz_points(q01=0),
    },
    "infinite_loop_in_answer": {
        "why": "answer 1 never returns",
        "answers": answers(answer(1, "while True:\n    pass")),
        "expected": quiz_points(q01=0),
    },
    "memory_bomb": {
        "why": "answer 1 allocates 8 GiB",
        "answers": answers(answer(1, "block = bytearray(8 * 2**30)\nreturn 'A'")),
        "expected": quiz_points(q01=0),
    },
    "output_bomb": {
        "why": "prints 50 MB in answer cell 1, then answers right",
        "answers": answers("print('x' * 50_000_000)\n" + honest(1)),
        "expected": quiz_points(),
    },
    "fork_bomb": {
        "why": "forks until refused, each child sleeping 10 minutes in a new session; answers right",
        "answers": answers(
            "import os, time\nfor _ in range(5000):\n    try:\n        if os.fork() == 0:\n"
            "            os.setsid()\n            time.sleep(600)\n            os._exit(0)\n"
            "    except OSError:\n        break\n" + honest(1)),
        "expected": quiz_points(),
    },
    "kernel_crash": {
        "why": "defines a right answer 1, then crashes the kernel (segmentation fault) in the same cell",
        "answers": answers(honest(1) + "import ctypes\nctypes.string_at(0)\n"),
        "expected": quiz_points(q01=0),
    },
    "exit_kernel": {
        "why": "defines a right answer 2, then exits the kernel from the same cell",
        "answers": answers(honest(1), others=lambda q: honest(q) + ("import os\nos._exit(0)\n" if q == 2 else "")),
        "expected": quiz_points(q02=0),
    },
    "quit_kernel_politely": {
        "why": "defines a right answer 3, then calls exit(), which ends a kernel after its cell; "
               "while grading exit() does nothing, so the answer counts",
        "answers": answers(honest(1), others=lambda q: honest(q) + ("exit()\n" if q == 3 else "")),
        "expected": quiz_points(),
    },
}
# 01_exercises: NumPy patched by an answer cell, and a locked cell edited to patch it too.
PATCH = "np.isclose = lambda *a, **k: True\nnp.allclose = lambda *a, **k: True\n"
WRONG_BASELINE = ("def majority_baseline(y_train, y_test):\n"
                  "    return {'accuracy': 0.0, 'minority_recall': 0.0}\n")
RIGHT_BASELINE = ("def majority_baseline(y_train, y_test):\n"
                  "    labels, counts = np.unique(y_train, return_counts=True)\n"
                  "    majority, minority = labels[np.argmax(counts)], labels[np.argmin(counts)]\n"
                  "    y_test = np.asarray(y_test)\n"
                  "    found = y_test[y_test == minority] == majority\n"
                  "    return {'accuracy': float(np.mean(y_test == majority)), 'minority_recall': 0.0}\n")
NUMPY_ATTACKS = {
    "patched_numpy": {
        "why": "answers exercise 1 with constants and makes np.isclose and np.allclose always true",
        "answers": {"m01_ex1_answer": PATCH + WRONG_BASELINE},
        "expected": "zero",
    },
    "stores_test_inputs": {
        "why": "a right answer 1 that keeps every input a test sends it, and a cell at the end that "
               "prints them into the feedback (the hidden test's labels 'normal' and 'fraud')",
        "answers": {"m01_ex1_answer": "SEEN = []\n" + RIGHT_BASELINE.replace(
            "    labels, counts", "    SEEN.append((list(y_train), list(y_test)))\n    labels, counts")},
        "change": lambda nb: nb.cells.append(nbformat.v4.new_code_cell("print('inputs seen:', SEEN)")),
        "expected": {"m01_ex1_integers": 1, "m01_ex1_shifted": 1, "m01_ex1_hidden": 1, "m01_ex2_structure": 0,
                     "m01_ex2_precision_recall": 0, "m01_ex2_f1": 0, "m01_ex2_balanced": 0, "m01_ex2_hidden": 0},
    },
    "edited_locked_cell": {
        "why": "adds the same patch to the locked imports cell",
        "answers": {"m01_ex1_answer": WRONG_BASELINE},
        "change": lambda nb: [setattr(c, "source", c.source + "\n" + PATCH) for c in nb.cells
                              if c.metadata.get("nbgrader", {}).get("grade_id") == "m01_imports"],
        "expected": "zero",
    },
}


# The boundary: a helper in the kernel replaced to answer every request of the grader with a forged
# reply, each naming code the grader would run if it trusted the reply (here: write the marker).
# The grader builds data only, so every test sees an inert value and fails.
RESULT_MIME = "application/x.imbalanced-course.result+json"
WRITE_MARKER = "touch {root}/MARKER-written-by-student"


def forge(*replies):
    """An answer cell that makes the kernel publish `replies` (JSON values) for every request."""
    messages = [json.dumps({"value": reply}) for reply in replies]
    publish = "".join(f"    _p({{{RESULT_MIME!r}: {message!r}}})\n" for message in messages)
    return ("from IPython.display import publish_display_data as _p\n"
            f"def _forged(payload):\n{publish}"
            "__grader__.request = _forged\n")


def estimator(cls, **params):
    return {"$": "estimator", "class": cls, "params": params}


FUNCTION_TRANSFORMER = "sklearn.preprocessing._function_transformer.FunctionTransformer"
FORGED = {
    "function_named_through_attributes": {"$": "function", "name": "sklearn.base:os.system"},
    "class_named_through_attributes": estimator("sklearn.base.os.system", command=WRITE_MARKER),
    "class_that_is_no_estimator": estimator("subprocess.Popen", args=WRITE_MARKER, shell=True),
    "callable_in_nested_parameter": estimator("imblearn.pipeline.Pipeline", steps={"$": "list", "items": [
        {"$": "tuple", "items": ["run", estimator(FUNCTION_TRANSFORMER, func={"$": "function", "name": "os:system"},
                                                  kw_args={"$": "dict", "items": [["command", WRITE_MARKER]]})]}]}),
    "scorer_of_a_named_function": {"$": "scorer", "function": {"$": "function", "name": "os:system"}, "sign": 1,
                                   "kwargs": {"$": "dict", "items": []}, "response_method": "predict"},
    "unknown_tag": {"$": "pickle", "data": "gASVKAAAAAAAAACMAm9zlIwGc3lzdGVtlJOUjAR0cnVllIWUUpQu"},
    "deeply_nested": json.loads("{\"$\": \"list\", \"items\": [" * 200 + "]}" * 200),
    "made_up_handle": {"$": "handle", "id": 10**9, "classes": ["builtins.str"], "callable": True},
}
BOUNDARY_ATTACKS = {
    f"forged_{name}": {
        "why": f"the kernel's helper replaced: every reply is a forged {name.replace('_', ' ')}",
        "answers": answers(forge(reply) + answer(1, "return 'Z'"), others=lambda q: answer(q, "return 'Z'")),
        "expected": quiz_points(**{f"q{q:02d}": 0 for q in RIGHT}),
    } for name, reply in FORGED.items()
}
BOUNDARY_ATTACKS |= {
    "reply_published_twice": {
        "why": "every request answered twice, a wrong letter first, then the right one: the first counts",
        "answers": answers(forge("Z", "A") + answer(1, "return 'Z'"), others=lambda q: answer(q, "return 'Z'")),
        "expected": quiz_points(**{f"q{q:02d}": 0 for q in RIGHT}),
    },
    "huge_reply": {
        "why": "answer 1 returns a 400 MB array: the kernel's helper refuses to send it",
        "answers": answers(answer(1, "import numpy\nreturn numpy.zeros(50_000_000)")),
        "expected": quiz_points(q01=0),
    },
    "huge_reply_past_the_helper": {
        "why": "answer 1 returns a 400 MB array after lifting the helper's limit: the sockets drop it unread",
        "answers": answers("__grader__.MAX_REPLY_BYTES = 10**12\n" + answer(1, "import numpy\nreturn numpy.zeros(50_000_000)")),
        "expected": quiz_points(q01=0),
    },
    "script_in_outputs": {
        "why": "answer cells display scripts, event handlers, a javascript: link, an iframe, SVG with a "
               "script and application/javascript; every answer is right",
        "answers": answers(
            "from IPython.display import HTML, Javascript, SVG, display\n"
            "display(HTML('<script>window.pwned = 1</script><img src=x onerror=\"window.pwned = 2\">'\n"
            "             '<a href=\"javascript:window.pwned = 3\">link</a><iframe src=\"javascript:parent.pwned = 4\"></iframe>'\n"
            "             '<table><tr><td>a table stays</td></tr></table>'))\n"
            "display(Javascript('window.pwned = 5'))\n"
            "display(SVG('<svg xmlns=\"http://www.w3.org/2000/svg\"><script>window.pwned = 6</script></svg>'))\n"
            + honest(1)),
        "change": lambda nb: nb.cells.append(nbformat.v4.new_markdown_cell(
            "<script>window.pwned = 7</script><img src=x onerror='window.pwned = 8'> a student's note")),
        "expected": quiz_points(),
    },
}
