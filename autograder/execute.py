"""nbgrader's Execute step, split in two: the student's cells in a sandboxed kernel, the tests here.

nbgrader_config.py puts `SandboxedExecute` where nbgrader's `Execute` was, so both `make grade` and
`nbgrader autograde` use it. After nbgrader's own sanitizing (locked cells and tests restored from
the gradebook, duplicated ids dropped, missing graded cells added back), the notebook runs in two
passes:
1. every cell that is not a test, in order, in the kernel (`kernel.py`): answer cells, the student's
   own cells, and locked setup cells. Their outputs are made inert (no script can run in a page that
   shows them). All the student's outputs are produced here, before any test has sent the kernel a
   hidden input, so none can come back to the student through the feedback.
2. the tests, and the locked setup cells again, here in the grader, from the gradebook's copies.
   An answer a test uses is fetched from the kernel as plain data, or stays there as a `Remote`
   that the test uses through requests (`answers.py`). This code is the instructor's, but it runs on
   the student's choices (an estimator's parameters), so it is bounded as a whole: the cell's time
   limit, no writes, processes or connections while it runs, and the worker's memory limit.
So the tests' expected values never enter the student's process, and the verdict (did the test cell
raise?) is reached here, where student code cannot patch NumPy, builtins or the output machinery.
Warnings never cost a test its points: they are shown to the student as information on stdout
(a test about warnings records them itself).
"""
import ast
import builtins
import collections
import contextlib
import io
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
import types
import warnings
from pathlib import Path

import nbformat
from joblib import parallel_config
from nbconvert.preprocessors.sanitize import SanitizeHTML
from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor
from threadpoolctl import threadpool_limits
from traitlets import Integer, List, Unicode

from autograder import answers, kernel_side, sandbox
from autograder.kernel import MAX_OUTPUT_BYTES, BudgetExhausted, SandboxBroken, StudentKernel
from imbalanced_course.checks import source_uses_module

# Why the last notebook could not be graded, for the report (nbgrader itself only logs it).
last_failure = None
# Seconds spent per phase in the notebooks graded since the grader last cleared it (`make bench` sums them).
phases = collections.Counter()

# What student output may still hold once made inert: text, images, tables, the course's hint blocks.
INERT = SanitizeHTML(
    tags=["a", "abbr", "b", "blockquote", "br", "code", "details", "div", "em", "h1", "h2", "h3", "h4", "hr", "i",
          "li", "ol", "p", "pre", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th",
          "thead", "tr", "ul"],
    attributes={"*": ["class", "title"], "a": ["href"], "td": ["colspan", "rowspan"], "th": ["colspan", "rowspan"],
                "table": ["border"]},
    strip=True,
)


def bound_names(tree):
    """Names a piece of code binds: assignments, imports, definitions, loop and with targets."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def top_level_names(tree):
    """Names a piece of code binds in its module's namespace (not the arguments or locals of its functions)."""
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        else:
            names |= bound_names(node)
    return names


def used_names(tree):
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def imported_modules(tree):
    """Absolute module names a piece of code imports (`from . import x` apart)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def grade_id_of(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def parse(source):
    try:
        return ast.parse(source)
    except SyntaxError:
        return ast.Module(body=[], type_ignores=[])


class TestTimeout(Exception):
    """A test (or setup) cell ran past its time limit in the grader."""


# --- Bounds on the grader's own work while it runs instructor code on a student's choices --------
_guard = types.SimpleNamespace(on=False)  # one flag for the process: a thread a test starts is held too
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
FORBIDDEN_EVENTS = {"os.mkdir", "os.remove", "os.rename", "os.rmdir", "os.symlink", "os.link", "os.chmod",
                    "os.chown", "os.truncate", "os.utime", "shutil.rmtree", "shutil.move", "subprocess.Popen",
                    "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty", "os.kill",
                    "os.killpg", "socket.connect", "socket.bind", "pty.spawn", "os.startfile"}


def _audit(event, args):
    if not _guard.on:
        return
    if event == "open":
        mode, flags = args[1], args[2]
        if (isinstance(mode, str) and any(c in mode for c in "wax+")) or (isinstance(flags, int) and flags & WRITE_FLAGS):
            raise PermissionError(f"the grader writes no files while it runs a test (tried {args[0]!r})")
    elif event in FORBIDDEN_EVENTS:
        raise PermissionError(f"the grader does not allow {event} while it runs a test")


sys.addaudithook(_audit)  # an audit hook cannot be removed: it stays off until `bounded` turns it on
# joblib counts physical cores with a subprocess the guard refuses, and warns: tell it the count.
os.environ.setdefault("LOKY_MAX_CPU_COUNT", "1")


@contextlib.contextmanager
def unguarded():
    """Lift the guard for the grader's own machinery (talking to or restarting the kernel), and stop
    the test's clock meanwhile: waiting on the kernel has limits of its own (per call, and the budget)."""
    before, _guard.on = _guard.on, False
    left = signal.setitimer(signal.ITIMER_REAL, 0)[0] if in_main_thread() else 0
    try:
        yield
    finally:
        _guard.on = before
        if left:
            signal.setitimer(signal.ITIMER_REAL, left)


def in_main_thread():
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def bounded(seconds, cwd):
    """Run grader-side code with no writes, processes or connections, one thread, at most `seconds`."""
    clock = types.SimpleNamespace(expired=None)

    def expire(*_):
        # Compiled code interrupted here may raise an error of its own instead: `clock` keeps the cause.
        clock.expired = TestTimeout(f"the test ran longer than {seconds:.0f} s")
        raise clock.expired

    in_main = in_main_thread()
    before = os.getcwd()
    if in_main:
        previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.01))
    try:
        os.chdir(cwd)
        with parallel_config(backend="sequential"), threadpool_limits(limits=1):
            _guard.on = True
            try:
                yield clock
            finally:
                _guard.on = False
    finally:
        if in_main:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        os.chdir(before)


class GraderKernel(StudentKernel):
    """The student's kernel, talked to with the guard lifted (the guard is for code run on their choices)."""

    def request(self, payload, label):
        with unguarded():
            try:
                return super().request(payload, label)
            except TestTimeout:  # the test's time ran out while the kernel was busy: it is stopped
                self.restart_later()
                raise


def information(message):
    """How a warning is shown to the student: on stdout, as information, costing nothing."""
    return f"Warning (for information, no points lost): {message.category.__name__}: {message.message}\n"


class SandboxedExecute(NbGraderPreprocessor):
    """Runs a sanitized submission as the module docstring says, and records each cell's outputs."""

    timeout = Integer(300, help="Seconds a cell (or a test's calls into the kernel) may run.").tag(config=True)
    budget = Integer(1200, help="Seconds one notebook's grading may take in all; past it, the remaining "
                                "cells and tests fail with that reason.").tag(config=True)
    max_reply_mb = Integer(32, help="MB a reply from the student's kernel may hold; a larger one is refused.").tag(config=True)
    worker = Integer(0, help="Grading worker number: names its scratch folders (accounts are taken host-wide).").tag(config=True)
    scratch_root = Unicode("", help="Folder for scratch folders (default: the system's temporary folder; keep its path short).").tag(config=True)
    hide = List(Unicode(), help="More folders the kernel must not see (the course).").tag(config=True)

    def preprocess(self, nb, resources):
        global last_failure
        last_failure = None
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            source_nb = gb.find_notebook(info["notebook"], info["assignment"])
            cells = {c.name: (c.cell_type, c.locked, c.source) for c in source_nb.source_cells}
            tests = {c.name for c in source_nb.grade_cells} - {c.name for c in source_nb.solution_cells}
            solutions = {c.name for c in source_nb.solution_cells}
        if not tests:  # a lesson without graded cells: nothing to execute for a grade
            for cell in nb.cells:
                if cell.cell_type == "code":
                    cell.outputs, cell.execution_count = [], None
            return nb, resources
        answer_names = set().union(*(top_level_names(parse(cells[n][2])) for n in solutions)) if solutions else set()
        setup_names = set().union(*(top_level_names(parse(s)) for n, (t, locked, s) in cells.items()
                                    if locked and t == "code" and n not in tests))
        answer_names -= setup_names
        source_path = self.source_path(info)
        source_nb_cells = nbformat.read(source_path, as_version=4).cells
        source_text = {c.source for c in source_nb_cells}
        student_code = [c.source for c in nb.cells if c.cell_type == "code" and grade_id_of(c) not in tests]

        started = time.monotonic()
        # A short, fresh path: the kernel's sockets live in it, and a socket path has at most 107 bytes.
        base = Path(tempfile.mkdtemp(prefix="imbc-", dir=self.scratch_root or None))
        scratch = base / f"w{self.worker}"
        # The kernel gets the assignment's own data files, never files from the submission's folder.
        sandbox.prepare_scratch(scratch, [p for p in source_path.parent.iterdir() if p.suffix != ".ipynb"])
        folder = Path(resources.get("metadata", {}).get("path") or ".")
        kernel = GraderKernel(scratch, [*self.hide, str(folder)], self.timeout,
                              self.max_reply_mb * 2**20, self.budget)
        kernel.source_check = lambda name, prefix: source_uses_module(student_code, name, prefix)
        # The lesson's own imports load before the student's cells: their cost is measured apart.
        kernel.preimport = sorted(set().union(*(imported_modules(parse(c.source)) for c in source_nb_cells if
                                                c.cell_type == "code" and grade_id_of(c) not in tests)))
        phases["kernel start"] += time.monotonic() - started
        started = time.monotonic()
        namespace = {"__name__": "__main__", "__builtins__": builtins}
        self.import_like_the_source(namespace, source_path)
        phases["imports in the grader"] += time.monotonic() - started
        code_cells = [(count, cell) for count, cell in enumerate(nb.cells, start=1) if cell.cell_type == "code"]
        try:
            started, in_kernel = time.monotonic(), sum(kernel.phases.values())
            for cell in nb.cells:  # markdown the student wrote or changed: made inert like outputs
                if cell.cell_type in ("markdown", "raw") and cell.source not in source_text:
                    INERT.preprocess_cell(cell, {}, 0)
            for count, cell in code_cells:  # pass 1: the kernel
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                cell.execution_count = count
                if grade_id in tests:
                    continue
                if grade_id in cells and cells[grade_id][1] and grade_id not in solutions:
                    cell.source = cells[grade_id][2]
                cell.outputs = INERT.sanitize_code_outputs(kernel.run_cell(cell.source, self.timeout, grade_id or f"cell {count}"))
            phases["student cells"] += time.monotonic() - started - (sum(kernel.phases.values()) - in_kernel)
            started, in_kernel = time.monotonic(), sum(kernel.phases.values())
            for count, cell in code_cells:  # pass 2: here
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                if grade_id in tests:
                    cell.source = cells[grade_id][2]
                    cell.outputs = self.run_here(cell.source, namespace, kernel, answer_names, grade_id, source_path.parent)
                elif grade_id in cells and cells[grade_id][1] and grade_id not in solutions:
                    self.run_here(cell.source, namespace, kernel, answer_names, grade_id, source_path.parent)
            phases["tests"] += time.monotonic() - started - (sum(kernel.phases.values()) - in_kernel)
            # The grader reads these back for its report (nbgrader keeps notebook metadata).
            nb.metadata.setdefault("imbalanced_course", {})["incidents"] = list(dict.fromkeys(kernel.incidents))
        except SandboxBroken as error:
            last_failure = str(error)
            raise
        finally:
            started = time.monotonic()
            kernel.stop()
            shutil.rmtree(base, ignore_errors=True)
            phases.update(kernel.phases)
            phases["kernel start"] += time.monotonic() - started  # and its stop
        return nb, resources

    def source_path(self, info):
        coursedir = CourseDirectory(config=self.config)
        folder = Path(coursedir.format_path(coursedir.source_directory, ".", info["assignment"]))
        return (folder / f"{info['notebook']}.ipynb").resolve()

    def import_like_the_source(self, namespace, path):
        """Run here every import of the source notebook: tests may use any name a lesson cell imports."""
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                imports = [n for n in parse(cell.source).body if isinstance(n, (ast.Import, ast.ImportFrom))]
                exec(compile(ast.Module(body=imports, type_ignores=[]), str(path), "exec"), namespace)

    def run_here(self, source, namespace, kernel, answer_names, grade_id, data_folder):
        """Run instructor code (a test or a setup cell) in the grader; its outputs, as nbgrader reads them."""
        tree = parse(source)
        try:
            for name in sorted(used_names(tree) & answer_names):
                value = kernel.describe(name)
                if value is None:
                    namespace.pop(name, None)
                else:
                    namespace[name] = value
            seconds = kernel.seconds(self.timeout)
        except (answers.AnswerCrashed, BudgetExhausted) as error:
            return [error_output(error, [])]
        stdout, stderr = io.StringIO(), io.StringIO()
        outputs, clock = [], types.SimpleNamespace(expired=None)
        try:
            # Each cell starts from the same warning filters, whatever the cells before did; warnings
            # that reach no test's own record are information for the student.
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr), warnings.catch_warnings():
                warnings.simplefilter("default")
                warnings.showwarning = lambda *args, **kwargs: stdout.write(information(warnings.WarningMessage(*args[:4])))
                with bounded(seconds, data_folder) as clock:
                    last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
                    body = ast.Module(body=tree.body[:-1] if last else tree.body, type_ignores=[])
                    exec(compile(body, f"<cell {grade_id}>", "exec"), namespace)
                    value = eval(compile(ast.Expression(last.value), f"<cell {grade_id}>", "eval"), namespace) if last else None
            if value is not None:
                outputs.append(nbformat.v4.new_output("execute_result", data={"text/plain": safe_repr(value)}))
        except Exception as error:
            frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == f"<cell {grade_id}>"]
            outputs.append(error_output(clock.expired or error, frames, source))
        streams = [nbformat.v4.new_output("stream", name=n, text=s.getvalue()[:MAX_OUTPUT_BYTES])
                   for n, s in (("stdout", stdout), ("stderr", stderr)) if s.getvalue()]
        return streams + outputs


def safe_repr(value):
    try:
        return repr(value)[:MAX_OUTPUT_BYTES]
    except Exception as error:
        return f"<unprintable {type(value).__name__}: {type(error).__name__}>"


def error_output(error, frames, source=""):
    """An nbformat error output for an exception raised by a test, quoting the test's lines only."""
    lines = source.splitlines()
    trace = [f"Cell line {f.lineno}: {lines[f.lineno - 1].strip() if 0 < f.lineno <= len(lines) else ''}" for f in frames]
    name = type(error).__name__
    return nbformat.v4.new_output("error", ename=name, evalue=str(error), traceback=trace + [f"{name}: {error}"])
