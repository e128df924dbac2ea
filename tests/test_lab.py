"""`make lab`, as README tells students to run it, serves their copy of the course in JupyterLab.

It starts as root (CI is root) and says so once, lands on the start page from `/`, from the bare
`/lab` and keeps deep links, shows none of nbgrader's parts that need a hub, and gives feedback
while a student works: headless Chromium runs an exercise notebook with one right and one wrong
answer, and a lesson with its plots. Screenshots go to tests/artifacts/lab-*.png (README's pictures
in docs/images/ are copies of them).
"""
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

import nbformat
import pytest

from conftest import ARTIFACTS, REPO, read
from test_hub import click, visible, wait_until  # the browser fixture is in conftest.py

START_PAGE = "00_start_here/00_start_here.ipynb"
EXERCISES = "01_why_imbalance_hurts/01_exercises.ipynb"
TRIAL = "01_why_imbalance_hurts/feedback-trial.ipynb"  # the test's own notebook, beside the data it needs
ROOT_NOTE = "You are root"
CURRENT_TAB = "//li[contains(@class, 'lm-TabBar-tab')][contains(@class, 'jp-mod-current')]"


def shown(driver):
    """XPath of the notebook on show: other tabs' notebooks stay in the page, only hidden."""
    tab = wait_until(driver, "a current tab", lambda d: d.find_elements("xpath", CURRENT_TAB), 60)[0]
    return f"//div[@id='{tab.get_attribute('data-id')}']"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, token, data=None, method="GET", timeout=10):
    """(status, Location or final URL, body) of a request that does not follow redirects."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    request = urllib.request.Request(url, data=data, method=method, headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=timeout) as r:
            return r.status, r.url, r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Location", ""), b""


def start_lab(env=None):
    """`make lab` on a free port; (process, base URL, lines it printed so far)."""
    port = free_port()
    args = f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port}"
    lab = subprocess.Popen(["make", "--no-print-directory", "lab", f"LAB_ARGS={args}"], cwd=REPO, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines = []
    threading.Thread(target=lambda: lines.extend(lab.stdout), daemon=True).start()
    return lab, f"http://127.0.0.1:{port}", lines


def stop(lab):
    if lab.poll() is None:
        os.killpg(lab.pid, signal.SIGTERM)
    lab.wait(timeout=30)


@pytest.fixture(scope="module")
def lab():
    # JupyterLab saves the layout it shows: start from the one a fresh clone has.
    (REPO / ".venv" / "workspaces" / "default-37a8.jupyterlab-workspace").unlink(missing_ok=True)
    process, base, lines = start_lab()
    try:
        deadline = time.monotonic() + 300  # a fresh clone installs the environment first
        # The address to open, with its token, is what make lab prints last.
        while not (token := re.search(r"\?token=([0-9a-f]+)", "".join(lines))):
            assert process.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "JupyterLab did not start within 300 s:\n" + "".join(lines)
            time.sleep(1)
        yield {"base": base, "lines": lines, "token": token.group(1)}
    finally:
        stop(process)
        (REPO / "work" / TRIAL).unlink(missing_ok=True)


def test_make_lab_serves_the_students_copy_and_opens_on_the_start_page(lab):
    status, location, _ = get(f"{lab['base']}/", lab["token"])
    assert status == 302 and location.startswith(f"/lab/tree/{START_PAGE}")
    status, _, body = get(f"{lab['base']}/api/contents/{START_PAGE}", lab["token"])
    assert status == 200 and json.loads(body)["content"]["cells"][0]["source"].startswith("# 00 · Start here")
    # The root of the server is the student's copy of notebooks/: no solutions or sources in sight.
    status, _, body = get(f"{lab['base']}/api/contents/", lab["token"])
    names = {item["name"] for item in json.loads(body)["content"]}
    assert names >= {p.name for p in (REPO / "notebooks").iterdir()} and not names & {"solutions", "source", "tests"}
    assert (REPO / "work" / START_PAGE).read_bytes() == (REPO / "notebooks" / START_PAGE).read_bytes() or \
        (REPO / "work" / START_PAGE).stat().st_mtime > (REPO / "notebooks" / START_PAGE).stat().st_mtime


def test_as_root_make_lab_says_once_why_it_allows_root(lab):
    if os.getuid() != 0:
        pytest.skip("not root: this run checks the ordinary path")
    output = "".join(lab["lines"])
    assert output.count(ROOT_NOTE) == 1, output
    assert "Running as root is not recommended" not in output


def test_make_lab_prints_only_what_to_open(lab):
    """No install banners, extension INFO lines or trust warnings: a few lines and the address."""
    output = "".join(lab["lines"])
    assert f"/lab/tree/{START_PAGE}?token=" in output
    assert not [line for line in output.splitlines() if line.startswith(("[I ", "[W "))], output
    assert "Editable installation" not in output and "not trusted" not in output
    assert len(output.splitlines()) <= 12, output


def test_without_root_make_lab_adds_no_allow_root():
    """The non-root path: an `id` that answers 1000 takes it. Being root after all, JupyterLab then
    refuses to start, which shows that make passed no --allow-root and said nothing about root."""
    if os.getuid() != 0:
        pytest.skip("not root: the module's server already ran on the ordinary path")
    fake = REPO / "tests" / "artifacts" / "fake-id"
    fake.mkdir(parents=True, exist_ok=True)
    (fake / "id").write_text("#!/bin/sh\necho 1000\n")
    (fake / "id").chmod(0o755)
    process, _, lines = start_lab(env={**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"})
    try:
        process.wait(timeout=120)
    finally:
        stop(process)
    output = "".join(lines)
    assert ROOT_NOTE not in output
    assert "Running as root is not recommended. Use --allow-root to bypass." in output, output


def test_no_parts_that_need_a_hub_but_validate_stays(lab):
    """Students see no exchange errors and no formgrader; the Validate button's handler answers."""
    for path in ["formgrader", "assignments", "courses"]:
        status, _, _ = get(f"{lab['base']}/{path}", lab["token"])
        assert status == 404, f"/{path} answers {status}: that part of nbgrader needs a hub"
    status, _, body = get(f"{lab['base']}/assignments/validate", lab["token"], method="POST",
                          data=f"path={EXERCISES}".encode(), timeout=300)
    assert status == 200, status
    result = json.loads(body)
    assert result["success"], result  # it ran; the unanswered exercises fail, each with its short message
    assert "Exercise 1, part a: not answered yet" in json.dumps(result["value"])


def test_bare_lab_url_opens_the_start_page(lab, browser):
    browser.get(f"{lab['base']}/lab?token={lab['token']}")
    tab = CURRENT_TAB
    tab_shown = wait_until(browser, "a current tab", lambda d: next((t for t in visible(d, tab) if t.text), None), 120)
    assert tab_shown.text.strip() == "00_start_here.ipynb", tab_shown.text
    heading = "//div[contains(@class, 'jp-RenderedMarkdown')]//h1[starts-with(normalize-space(), '00 · Start here')]"
    wait_until(browser, "the start page's title", lambda d: visible(d, heading), 60)
    menus = [m.text for m in visible(browser, "//li[contains(@class, 'lm-MenuBar-item')]")]
    assert "Nbgrader" not in menus, menus  # its entries all need a hub or author the course
    browser.save_screenshot(str(ARTIFACTS / "lab-start-page.png"))
    # A deep link still opens what it names.
    browser.get(f"{lab['base']}/lab/tree/02_syntax/02_syntax.ipynb?token={lab['token']}")
    wait_until(browser, "the deep link's notebook", lambda d: any(
        t.text.strip() == "02_syntax.ipynb" for t in visible(d, tab)), 120)


def run_all(browser, name, wait=True):
    """Run all cells of the notebook on show with Run → Run All Cells; with `wait`, until the last has run."""
    title = name.rsplit("/", 1)[-1]
    wait_until(browser, f"{title} on show", lambda d: any(t.text.strip() == title for t in visible(d, CURRENT_TAB)), 120)
    idle = "//div[contains(@class, 'jp-StatusBar-Widget')]//*[contains(normalize-space(), '| Idle')]"
    wait_until(browser, f"{name}'s kernel ready", lambda d: visible(d, idle), 120)
    prompts = f"{shown(browser)}//div[contains(@class, 'jp-CodeCell')]//div[contains(@class, 'jp-InputPrompt')]"

    def shown_prompts(d):
        # textContent: JupyterLab leaves cells out of view unrendered, which Selenium's .text reads as "".
        return [p.get_attribute("textContent").strip() for p in d.find_elements("xpath", prompts)]

    for attempt in range(3):  # a click that lands while JupyterLab redraws its menu does nothing: again
        click(browser, "the Run menu", "//li[contains(@class, 'lm-MenuBar-item')][normalize-space()='Run']")
        click(browser, "Run All Cells", "//li[contains(@class, 'lm-Menu-item')][.//*[normalize-space()='Run All Cells']]")
        started = lambda d: any(t not in ("", "[ ]:") for t in shown_prompts(d))  # noqa: E731
        try:
            wait_until(browser, "Run All to start", started, 30)
            break
        except pytest.fail.Exception:
            assert attempt < 2, "Run All Cells never started"

    def all_ran(d):
        shown = shown_prompts(d)
        return shown and all(t not in ("", "[ ]:", "[*]:") for t in shown) and visible(d, idle)

    if wait:
        wait_until(browser, f"every cell of {name} run", all_ran, 300)


def scroll_to(browser, xpath):
    element = wait_until(browser, f"element {xpath}", lambda d: d.find_elements("xpath", xpath), 60)[0]
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    time.sleep(0.5)
    return element


def test_feedback_while_working_and_run_all_runs_everything(lab, browser):
    """Exercise 1 answered right, exercise 2 wrong (precision and recall swapped), then Run All."""
    nb = read(REPO / "work" / EXERCISES)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in read(REPO / "solutions" / EXERCISES).cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id == "m01_ex1_answer":
            cell.source = answers[grade_id]
        elif grade_id == "m01_ex2_answer":
            cell.source = answers[grade_id].replace("ratio(correct, predicted), ratio(correct, actual)",
                                                    "ratio(correct, actual), ratio(correct, predicted)")
            assert cell.source != answers[grade_id], "the wrong answer must differ from the reference"
    model = {"type": "notebook", "format": "json", "content": json.loads(nbformat.writes(nb))}
    status, _, _ = get(f"{lab['base']}/api/contents/{TRIAL}", lab["token"], data=json.dumps(model).encode(), method="PUT")
    assert status in (200, 201)

    browser.get(f"{lab['base']}/lab/tree/{TRIAL}?token={lab['token']}")
    validate = "//*[contains(@class, 'jp-Toolbar')]//*[normalize-space()='Validate']"
    wait_until(browser, "nbgrader's Validate button", lambda d: visible(d, validate), 120)
    run_all(browser, TRIAL)
    panel = shown(browser)
    outputs = [e.get_attribute("textContent") for e in browser.find_elements("xpath", f"{panel}//div[contains(@class, 'jp-OutputArea-output')]")]
    text = "\n".join(outputs)
    assert "Exercise 1, part a: correct" in text and "Exercise 1, part b: correct" in text
    assert "Exercise 1, part c: hidden checks on other data, run when your work is graded." in text
    assert "Exercise 2, part b: not yet. Precision and recall are swapped" in text
    assert "Traceback" not in text, "a failed check shows its message, not a traceback"
    shot = scroll_to(browser, f"{panel}//div[contains(@class, 'jp-OutputArea-output')][contains(., 'Exercise 1, part a: correct')]")
    browser.save_screenshot(str(ARTIFACTS / "lab-feedback-right.png"))
    shot = scroll_to(browser, f"{panel}//div[contains(@class, 'jp-OutputArea-output')][contains(., 'not yet. Precision and recall')]")
    browser.save_screenshot(str(ARTIFACTS / "lab-feedback-wrong.png"))
    # Run All went on past the failing tests: the notebook's last code cell ran too.
    last = browser.find_elements("xpath", f"{panel}//div[contains(@class, 'jp-CodeCell')]")[-1]
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", last)
    time.sleep(0.5)
    browser.save_screenshot(str(ARTIFACTS / "lab-run-all.png"))
    # JupyterLab's kernels talk over local sockets, with nothing to warn about; only the kernel that
    # nbgrader's Validate starts on its own (once in this module) says it uses TCP.
    assert "".join(lab["lines"]).count("without encryption") <= 1, "".join(lab["lines"])
    assert shot and last.find_element("xpath", ".//div[contains(@class, 'jp-InputPrompt')]").text.strip() not in ("", "[ ]:")
    assert "[ ]:" not in [p.get_attribute("textContent").strip() for p in browser.find_elements(
        "xpath", f"{panel}//div[contains(@class, 'jp-CodeCell')]//div[contains(@class, 'jp-InputPrompt')]")]


def test_a_lesson_with_its_plot(lab, browser):
    lesson = "01_why_imbalance_hurts/01a_accuracy_paradox.ipynb"
    browser.get(f"{lab['base']}/lab/tree/{lesson}?token={lab['token']}")
    run_all(browser, lesson, wait=False)
    panel = shown(browser)
    plot = f"({panel}//div[contains(@class, 'jp-OutputArea-output')]//img)[1]"
    wait_until(browser, "the lesson's first plot", lambda d: d.find_elements("xpath", plot), 300)
    scroll_to(browser, plot)
    browser.save_screenshot(str(ARTIFACTS / "lab-lesson-plot.png"))
    errors = visible(browser, f"{panel}//div[contains(@class, 'jp-OutputArea-output')][@data-mime-type='application/vnd.jupyter.stderr']")
    assert not errors, [e.text for e in errors]
