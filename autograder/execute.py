"""nbgrader's Execute step, split in two: the student's cells in a sandboxed kernel, the tests here.

nbgrader_config.py puts `SandboxedExecute` where nbgrader's `Execute` was, so both `make grade` and
`nbgrader autograde` use it. After nbgrader's own sanitizing (locked cells and tests restored from
the gradebook, duplicated ids dropped, missing graded cells added back), each code cell is run:
- answer cells and any cell the student wrote: in the kernel only;
- locked setup cells (imports, data): in the kernel and here, from the gradebook's copy;
- test cells: here only, from the gradebook's copy, with the answers they use fetched from the kernel
  as data or called there (`autograder.answers`).
So the tests' expected values never enter the student's process, and the verdict (did the test cell
raise?) is reached here, where student code cannot patch NumPy, builtins or the output machinery.
"""
import ast
import builtins
import contextlib
import io
import json
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager
from nbformat.v4 import output_from_msg
from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer, List, Unicode

from autograder import answers, kernel_side, sandbox

MAX_OUTPUT_BYTES = 1_000_000  # per cell: more is cut, so output bombs cannot fill the disk or the feedback
MAX_RESTARTS = 3  # a kernel that keeps dying is not restarted again


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


def parse(source):
    try:
        return ast.parse(source)
    except SyntaxError:
        return ast.Module(body=[], type_ignores=[])


class KernelDied(Exception):
    def __init__(self, message, started=True):
        super().__init__(message)
        self.started = started  # False: it was dead before the code sent to it began


class SandboxBroken(RuntimeError):
    """A fresh kernel did not start: the grader's setup is at fault, not the student (no grade given)."""


class StudentKernel:
    """A sandboxed kernel for one notebook. If it dies or hangs, the next use starts a new one and
    replays the cells run so far, except those that killed it."""

    def __init__(self, scratch, worker, hide, call_timeout=300):
        self.scratch, self.worker, self.hide, self.call_timeout = Path(scratch), worker, hide, call_timeout
        self.km = self.kc = None
        self.history = []  # sources run so far, replayed after a restart
        self.restarts = 0
        self.incidents = []  # what went wrong, for the grading report

    def start(self):
        """Start the kernel, load the grader's helper, replay the cells run so far."""
        while True:
            if self.restarts > MAX_RESTARTS:
                raise KernelDied(f"the kernel died {self.restarts} times: not started again")
            self._launch()
            # exit() would end the kernel some time after its cell: while grading, it does nothing.
            setup = ("import types as _t\n__grader__ = _t.ModuleType('__grader__')\n"
                     f"exec({Path(kernel_side.__file__).read_text()!r}, __grader__.__dict__)\ndel _t\n"
                     "get_ipython().ask_exit = lambda: print('exit() does nothing while grading')\n")
            try:
                self._execute(setup, 60)
                for i, source in enumerate(self.history):
                    try:
                        self._execute(source, 300)
                    except (TimeoutError, KernelDied):
                        del self.history[i]  # it killed the kernel this time: never replay it again
                        raise KernelDied("a replayed cell stopped the kernel") from None
                return
            except (TimeoutError, KernelDied):
                self.restart_later()

    def _launch(self):
        ipc = self.scratch / "ipc"
        km = KernelManager(transport="ipc", ip=str(ipc), connection_file=str(self.scratch / "kernel.json"))
        prefix = sandbox.kernel_command_prefix(self.scratch, self.worker, self.hide)
        km.format_kernel_cmd = lambda extra_arguments=None, _f=km.format_kernel_cmd: prefix + _f(extra_arguments)
        km.write_connection_file()
        if sandbox.switches_account():
            uid = sandbox.BASE_UID + self.worker
            os.chown(km.connection_file, uid, uid)
        # The kernel's own messages go to a file only the grader holds open (a path in scratch could be
        # swapped for a link by student code); its last lines explain a kernel that will not start.
        self.console = tempfile.TemporaryFile()
        self.km = km
        try:
            km.start_kernel(env=sandbox.kernel_environment(self.scratch), cwd=str(self.scratch),
                            stdout=self.console, stderr=subprocess.STDOUT,
                            extra_arguments=["--HistoryManager.hist_file=:memory:"])
            self.kc = km.client()
            self.kc.start_channels()
            self.kc.wait_for_ready(timeout=120)
        except Exception as error:
            self.console.seek(0)
            last = self.console.read().decode(errors="replace").strip().splitlines()[-3:]
            self.stop()
            raise SandboxBroken(f"the sandboxed kernel did not start: {error} {' | '.join(last)}") from None

    def stop(self):
        """End the kernel at once, and with it everything it started (its PID namespace, or its
        process group without bubblewrap). No polite shutdown: a dead or hostile kernel never answers."""
        if self.kc is not None:
            with contextlib.suppress(Exception):
                self.kc.stop_channels()
        if self.km is not None:
            process = getattr(self.km.provisioner, "process", None)
            if process is not None and process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)  # jupyter_client starts kernels in a session of their own
                process.kill()
                process.wait(10)
            with contextlib.suppress(Exception):
                self.km.cleanup_resources()
        self.km = self.kc = None

    def _execute(self, code, timeout):
        """(outputs, result text or None) of running `code`; TimeoutError or KernelDied when it fails."""
        msg_id = self.kc.execute(code, store_history=False, allow_stdin=False)
        deadline = time.monotonic() + timeout
        outputs, result, size, idle, busy = [], None, 0, False, False
        while not idle:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no answer within {timeout} s")
            try:
                msg = self.kc.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                if not self.km.is_alive():
                    raise KernelDied("the kernel died", started=busy) from None
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "status":
                busy, idle = True, content["execution_state"] == "idle"
            elif kind == "display_data" and kernel_side.RESULT_MIME in content.get("data", {}):
                result = content["data"][kernel_side.RESULT_MIME]
            elif kind in ("stream", "display_data", "execute_result", "error"):
                size += len(json.dumps(content))
                if size <= MAX_OUTPUT_BYTES:
                    outputs.append(output_from_msg(msg))
                elif size - len(json.dumps(content)) <= MAX_OUTPUT_BYTES:
                    outputs.append(nbformat.v4.new_output(
                        "stream", name="stdout", text=f"\n[output cut by the grader after {MAX_OUTPUT_BYTES} bytes]\n"))
        return outputs, result

    def run_cell(self, source, timeout, label):
        """Outputs of a notebook cell run in the kernel; a cell that hangs or kills it gets an error."""
        try:
            outputs, _ = self._run(source, timeout)
        except (TimeoutError, KernelDied) as error:
            name = "CellTimeoutError" if isinstance(error, TimeoutError) else "DeadKernelError"
            self.incidents.append(f"{label}: {error}, kernel restarted without it")
            return [nbformat.v4.new_output("error", ename=name, evalue=str(error), traceback=[f"{name}: {error}"])]
        self.history.append(source)
        if any(o.get("ename") == "MemoryError" for o in outputs):
            self.incidents.append(f"{label}: MemoryError (limit {sandbox.LIMITS['as'] // 2**30} GiB)")
        if any("[output cut by the grader" in o.get("text", "") for o in outputs):
            self.incidents.append(f"{label}: output cut at {MAX_OUTPUT_BYTES} bytes")
        return outputs

    def ask(self, code, timeout):
        """The result message of a `__grader__` call; AnswerCrashed when the kernel dies or hangs."""
        try:
            _, result = self._run(code, timeout)
        except (TimeoutError, KernelDied) as error:
            raise answers.AnswerCrashed(f"the student's code stopped the kernel: {error}") from None
        if result is None:
            raise answers.AnswerCrashed("the kernel sent no result: the grading helper was changed or removed")
        return result

    def _run(self, code, timeout):
        """Run `code`, starting the kernel first if needed. A kernel found dead before `code` started
        was killed by the previous cell on its way out (exit()): that cell is dropped, `code` retried."""
        for attempt in range(2):
            if self.km is None:
                self.start()
            try:
                return self._execute(code, timeout)
            except (TimeoutError, KernelDied) as error:
                self.restart_later()
                if isinstance(error, KernelDied) and not error.started and self.history and attempt == 0:
                    self.history.pop()
                    continue
                raise

    def restart_later(self):
        self.stop()
        self.restarts += 1

    def call(self, name, payload, check=None):
        try:
            text = self.ask(f"__grader__.call({name!r}, {payload!r}, check={check!r})", self.call_timeout)
        except answers.AnswerCrashed as error:
            self.incidents.append(f"{name}(): {error}")
            raise
        value, error = answers.decode_message(text)
        if isinstance(error, MemoryError):
            self.incidents.append(f"{name}(): MemoryError (limit {sandbox.LIMITS['as'] // 2**30} GiB)")
        if error is not None:
            raise error
        return value

    def describe(self, name):
        """What the student's `name` is, as the grader will see it, or None when it is not defined."""
        message = json.loads(self.ask(f"__grader__.describe({name!r})", 60))
        if message.get("callable"):
            return answers.RemoteAnswer(self, name)
        if "value" in message:
            return answers.decode(message["value"])
        return None


class SandboxedExecute(NbGraderPreprocessor):
    """Runs a sanitized submission as the module docstring says, and records each cell's outputs."""

    timeout = Integer(300, help="Seconds a cell (or a test's calls into the kernel) may run.").tag(config=True)
    worker = Integer(0, help="Grading worker number: picks the unprivileged account.").tag(config=True)
    scratch_root = Unicode("", help="Folder for scratch folders (default: the system's temporary folder; keep its path short).").tag(config=True)
    hide = List(Unicode(), help="More folders the kernel must not see (the course).").tag(config=True)

    def preprocess(self, nb, resources):
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

        folder = Path(resources.get("metadata", {}).get("path") or ".")
        # A short, fresh path: the kernel's sockets live in it, and a socket path has at most 107 bytes.
        base = Path(tempfile.mkdtemp(prefix="imbc-", dir=self.scratch_root or None))
        scratch = base / f"w{self.worker}"
        sandbox.prepare_scratch(scratch, [p for p in folder.iterdir() if p.suffix != ".ipynb"], self.worker)
        kernel = StudentKernel(scratch, self.worker, [*self.hide, str(folder)], self.timeout)
        namespace = {"__name__": "__main__", "__builtins__": builtins}
        self.import_like_the_source(namespace, info)
        try:
            for count, cell in enumerate(nb.cells, start=1):
                if cell.cell_type != "code":
                    continue
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                cell.execution_count = count
                label = grade_id or f"cell {count}"
                if grade_id in tests:
                    cell.source = cells[grade_id][2]
                    cell.outputs = self.run_here(cell.source, namespace, kernel, answer_names, grade_id)
                elif grade_id in cells and cells[grade_id][1] and grade_id not in solutions:
                    cell.source = cells[grade_id][2]
                    cell.outputs = kernel.run_cell(cell.source, self.timeout, label)
                    self.run_here(cell.source, namespace, kernel, answer_names, grade_id)
                else:
                    cell.outputs = kernel.run_cell(cell.source, self.timeout, label)
            # The grader reads these back for its report (nbgrader keeps notebook metadata).
            nb.metadata.setdefault("imbalanced_course", {})["incidents"] = list(dict.fromkeys(kernel.incidents))
        finally:
            kernel.stop()
            shutil.rmtree(base, ignore_errors=True)
        return nb, resources

    def import_like_the_source(self, namespace, info):
        """Run here every import of the source notebook: tests may use any name a lesson cell imports."""
        coursedir = CourseDirectory(config=self.config)
        path = Path(coursedir.format_path(coursedir.source_directory, ".", info["assignment"])) / f"{info['notebook']}.ipynb"
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                imports = [n for n in parse(cell.source).body if isinstance(n, (ast.Import, ast.ImportFrom))]
                exec(compile(ast.Module(body=imports, type_ignores=[]), str(path), "exec"), namespace)

    def run_here(self, source, namespace, kernel, answer_names, grade_id):
        """Run instructor code (a test or a setup cell) in the grader; its outputs, as nbgrader reads them."""
        tree = parse(source)
        try:
            for name in sorted(used_names(tree) & answer_names):
                value = kernel.describe(name)
                if value is None:
                    namespace.pop(name, None)
                else:
                    namespace[name] = value
        except answers.AnswerCrashed as error:
            return [error_output(error, [])]
        stdout, stderr = io.StringIO(), io.StringIO()
        outputs = []
        try:
            # Each cell starts from the same warning filters, whatever the cells before did.
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr), warnings.catch_warnings():
                last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
                body = ast.Module(body=tree.body[:-1] if last else tree.body, type_ignores=[])
                exec(compile(body, f"<cell {grade_id}>", "exec"), namespace)
                value = eval(compile(ast.Expression(last.value), f"<cell {grade_id}>", "eval"), namespace) if last else None
            if value is not None:
                outputs.append(nbformat.v4.new_output("execute_result", data={"text/plain": repr(value)}))
        except Exception as error:
            frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == f"<cell {grade_id}>"]
            outputs.append(error_output(error, frames, source))
        streams = [nbformat.v4.new_output("stream", name=n, text=s.getvalue()[:MAX_OUTPUT_BYTES])
                   for n, s in (("stdout", stdout), ("stderr", stderr)) if s.getvalue()]
        return streams + outputs


def error_output(error, frames, source=""):
    """An nbformat error output for an exception raised by a test, quoting the test's lines only."""
    lines = source.splitlines()
    trace = [f"Cell line {f.lineno}: {lines[f.lineno - 1].strip() if 0 < f.lineno <= len(lines) else ''}" for f in frames]
    name = type(error).__name__
    return nbformat.v4.new_output("error", ename=name, evalue=str(error), traceback=trace + [f"{name}: {error}"])
