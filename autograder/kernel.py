"""The student's kernel as the grader drives it: start it sandboxed, run cells, ask it for answers.

Threat model: the kernel runs the student's code, so what it sends back is an attacker's. Here its
messages are bounded before they are read whole (a size limit on every socket, since jupyter_client
reads a message entirely before handing it over), outputs are cut past a size, every wait has a
deadline (per cell or call, and the submission's whole budget), and a kernel that dies or hangs is
killed with everything it started and started again, replaying the cells run so far except the one
at fault. Replies are decoded by `answers.py`, which only builds data.
"""
import collections
import contextlib
import json
import os
import queue
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import nbformat
import zmq
from jupyter_client.manager import KernelManager
from nbformat.v4 import output_from_msg

from autograder import answers, kernel_side, sandbox

MAX_OUTPUT_BYTES = 1_000_000  # per cell: more is cut, so output bombs cannot fill the disk or the feedback
MAX_RESTARTS = 3  # a kernel that keeps dying is not restarted again


class KernelDied(Exception):
    def __init__(self, message, started=True):
        super().__init__(message)
        self.started = started  # False: it was dead before the code sent to it began


class SandboxBroken(RuntimeError):
    """A fresh kernel did not start: the grader's setup is at fault, not the student (no grade given)."""


class BudgetExhausted(TimeoutError):
    """The submission's grading time is used up."""


class StudentKernel:
    """A sandboxed kernel for one notebook. If it dies or hangs, the next use starts a new one and
    replays the cells run so far, except those that killed it."""

    def __init__(self, scratch, hide, call_timeout=300, max_reply_bytes=kernel_side.MAX_REPLY_BYTES, budget=None):
        self.scratch, self.hide, self.call_timeout = Path(scratch), hide, call_timeout
        self.max_reply_bytes = max_reply_bytes
        self.budget = budget  # seconds for the whole notebook; past them nothing more runs for it
        self.deadline = None if budget is None else time.monotonic() + budget
        self.km = self.kc = None
        self.account = None  # the unprivileged account the running kernel holds (sandbox.take_account)
        self.history = []  # sources run so far, replayed after a restart
        self.restarts = 0
        self.incidents = []  # what went wrong, for the grading report
        self.answer_names = {}  # handle number -> answer name, for checks on the submitted source
        self.source_check = None  # f(answer name, prefix) -> bool, set by the grader
        self.preimport = []  # modules the lesson imports: loaded before the student's cells, timed apart
        self.phases = collections.Counter()  # seconds spent starting the kernel and importing, for `make bench`

    def seconds(self, wanted):
        """`wanted` seconds, or what is left of the submission's budget; BudgetExhausted when nothing is."""
        if self.deadline is None:
            return wanted
        left = self.deadline - time.monotonic()
        if left <= 0:
            message = f"grading time budget of {self.budget} s used up: the remaining cells and tests failed"
            if message not in self.incidents:
                self.incidents.append(message)
            raise BudgetExhausted(message)
        return min(wanted, left)

    def start(self):
        """Start the kernel, load the grader's helper, replay the cells run so far."""
        while True:
            if self.restarts > MAX_RESTARTS:
                raise KernelDied(f"the kernel died {self.restarts} times: not started again")
            started = time.monotonic()
            self._launch()
            # exit() would end the kernel some time after its cell: while grading, it does nothing.
            setup = ("import types as _t\n__grader__ = _t.ModuleType('__grader__')\n"
                     f"exec({Path(kernel_side.__file__).read_text()!r}, __grader__.__dict__)\ndel _t\n"
                     f"__grader__.MAX_REPLY_BYTES = {self.max_reply_bytes}\n"
                     "get_ipython().ask_exit = lambda: print('exit() does nothing while grading')\n")
            try:
                self._execute(setup, self.seconds(60))
                self.phases["kernel start"] += time.monotonic() - started
                started = time.monotonic()
                if self.preimport:  # errors are the student's to meet in their own import
                    self._execute(f"import importlib as _i\nfor _m in {self.preimport!r}:\n    try:\n"
                                  "        _i.import_module(_m)\n    except Exception:\n        pass\ndel _i, _m\n",
                                  self.seconds(120))
                self.phases["imports"] += time.monotonic() - started
                for i, source in enumerate(self.history):
                    try:
                        self._execute(source, self.seconds(300))
                    except (TimeoutError, KernelDied):
                        del self.history[i]  # it killed the kernel this time: never replay it again
                        raise KernelDied("a replayed cell stopped the kernel") from None
                return
            except BudgetExhausted:
                self.stop()
                raise
            except (TimeoutError, KernelDied):
                self.restart_later()

    def _launch(self):
        ipc = self.scratch / "ipc"
        km = KernelManager(transport="ipc", ip=str(ipc), connection_file=str(self.scratch / "kernel.json"))
        # Each launch takes an account no other kernel holds, and an empty one: a restart never waits
        # for the processes of the kernel it replaces to finish dying.
        try:
            self.account = sandbox.take_account()
        except (OSError, RuntimeError) as error:
            raise SandboxBroken(f"no account for the kernel: {error}") from None
        try:
            sandbox.give_scratch(self.scratch, self.account)
        except OSError as error:
            self.stop()
            raise SandboxBroken(f"the scratch folder could not be handed to the kernel: {error}") from None
        prefix = sandbox.kernel_command_prefix(self.scratch, self.account, self.hide)
        km.format_kernel_cmd = lambda extra_arguments=None, _f=km.format_kernel_cmd: prefix + _f(extra_arguments)
        km.write_connection_file()
        if self.account is not None:
            os.chown(km.connection_file, self.account.uid, self.account.uid)
        # The kernel's own messages go to a file only the grader holds open (a path in scratch could be
        # swapped for a link by student code); its last lines explain a kernel that will not start.
        self.console = tempfile.TemporaryFile()
        self.km = km
        # Every socket to the kernel drops a message above the limit before reading it: twice what a
        # reply may hold (an honest kernel refuses a larger reply itself, with a reason), and room
        # for a cell's burst of printing, which is then cut to MAX_OUTPUT_BYTES.
        context = zmq.Context()
        context.setsockopt(zmq.MAXMSGSIZE, 2 * self.max_reply_bytes + 16 * 2**20)
        try:
            km.start_kernel(env=sandbox.kernel_environment(self.scratch), cwd=str(self.scratch),
                            stdout=self.console, stderr=subprocess.STDOUT,
                            extra_arguments=["--HistoryManager.hist_file=:memory:"])
            self.kc = km.client(context=context)
            self.kc.start_channels()
            self._wait_until_ready(120)
        except Exception as error:
            self.console.seek(0)
            last = self.console.read().decode(errors="replace").strip().splitlines()[-3:]
            self.stop()
            raise SandboxBroken(f"the sandboxed kernel did not start: {error} {' | '.join(last)}".strip()) from None

    def _wait_until_ready(self, timeout):
        """Return once the kernel answers on its shell channel and publishes on IOPub.

        jupyter_client's `wait_for_ready` does this, then waits for 0.2 s of silence on IOPub before
        returning: 0.2 s idle per kernel. Messages left on IOPub are harmless here, as `_execute`
        reads only those answering its own request.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.kc.kernel_info()
            with contextlib.suppress(queue.Empty):
                if self.kc.get_shell_msg(timeout=1)["msg_type"] == "kernel_info_reply":
                    with contextlib.suppress(queue.Empty):
                        self.kc.get_iopub_msg(timeout=0.2)  # IOPub is connected: it saw the request
                        return
            if not self.km.is_alive():
                raise RuntimeError("the kernel died before replying to kernel_info")
        raise RuntimeError(f"the kernel did not answer within {timeout} s")

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
        if self.account is not None:  # its processes may still be dying: the next taker checks
            self.account.release()
        self.km = self.kc = self.account = None

    def _execute(self, code, timeout):
        """(outputs, result text or None) of running `code`; TimeoutError or KernelDied when it fails."""
        msg_id = self.kc.execute(code, store_history=False, allow_stdin=False)
        deadline = time.monotonic() + timeout
        outputs, result, size, idle, busy = [], None, 0, False, False
        while not idle:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no answer within {timeout:.0f} s")
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
                busy, idle = True, content.get("execution_state") == "idle"
            elif kind == "display_data" and kernel_side.RESULT_MIME in content.get("data", {}):
                if result is None:  # the first reply counts: a reply published twice changes nothing
                    result = content["data"][kernel_side.RESULT_MIME]
            elif kind in ("stream", "display_data", "execute_result", "error"):
                size += len(json.dumps(content))
                if size <= MAX_OUTPUT_BYTES:
                    with contextlib.suppress(Exception):  # a malformed output is dropped, not trusted
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
            if not isinstance(error, BudgetExhausted):  # that one is reported once, by `seconds`
                self.incidents.append(f"{label}: {error}, kernel restarted without it")
            return [nbformat.v4.new_output("error", ename=name, evalue=str(error), traceback=[f"{name}: {error}"])]
        self.history.append(source)
        if any(o.get("ename") == "MemoryError" for o in outputs):
            self.incidents.append(f"{label}: MemoryError (limit {sandbox.LIMITS['as'] // 2**30} GiB)")
        if any("[output cut by the grader" in o.get("text", "") for o in outputs):
            self.incidents.append(f"{label}: output cut at {MAX_OUTPUT_BYTES} bytes")
        return outputs

    def _run(self, code, timeout):
        """Run `code`, starting the kernel first if needed. A kernel found dead before `code` started
        was killed by the previous cell on its way out (exit()): that cell is dropped, `code` retried."""
        for attempt in range(2):
            if self.km is None:
                self.start()
            try:
                return self._execute(code, self.seconds(timeout))
            except BudgetExhausted:
                raise
            except (TimeoutError, KernelDied) as error:
                self.restart_later()
                if isinstance(error, KernelDied) and not error.started and self.history and attempt == 0:
                    self.history.pop()
                    continue
                raise

    def restart_later(self):
        self.stop()
        self.restarts += 1

    def request(self, payload, label):
        """The decoded answer to a request for `__grader__.request`; the student's exception is raised."""
        try:
            _, text = self._run(f"__grader__.request({payload!r})", self.call_timeout)
        except BudgetExhausted as error:
            raise answers.AnswerCrashed(str(error)) from None
        except (TimeoutError, KernelDied) as error:
            error = answers.AnswerCrashed(f"the student's code stopped the kernel: {error}")
            self.incidents.append(f"{label}(): {error}")
            raise error from None
        if text is None:
            error = answers.AnswerCrashed(
                "the kernel sent no result: the grading helper was changed, or the reply was above the "
                f"{self.max_reply_bytes / 2**20:.0f} MB limit")
            self.incidents.append(f"{label}(): {error}")
            raise error
        try:
            value, error = answers.decode_reply(text, self)
        except (ValueError, RecursionError) as bad:  # not JSON, or absurdly nested: the helper was tampered with
            value, error = answers.Unsupported(f"undecodable reply ({type(bad).__name__})"), None
        if isinstance(error, MemoryError):
            self.incidents.append(f"{label}(): MemoryError (limit {sandbox.LIMITS['as'] // 2**30} GiB)")
        elif isinstance(error, answers.AnswerCrashed):
            self.incidents.append(f"{label}(): {error}")
        if error is not None:
            raise error
        return value

    def describe(self, name):
        """The student's `name` as the grader sees it (data or a `Remote`), or None when it is not defined."""
        value = self.request(answers.pack("describe", name), name)
        if isinstance(value, answers.Remote):
            self.answer_names[value._number] = name
        return value

    def source_uses_module(self, remote, prefix):
        name = self.answer_names.get(remote._number)
        if name is None or self.source_check is None:
            raise TypeError("only an answer of the notebook can be checked on its source")
        return self.source_check(name, prefix)
