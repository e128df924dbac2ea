"""The classroom hub (autograder/hub/): one class through a real JupyterHub on 127.0.0.1.

One hub serves the whole module (pytest-xdist's --dist loadfile keeps it on one worker). As root,
the instructor, the students and the formgrader's grader account are real system accounts, created
here and removed after, so nbgrader's exchange permissions are really exercised. As anyone else,
every server runs as you, and what needs separate accounts is skipped, saying so.

The round trip is the one a class makes, through the same HTTP APIs as JupyterLab's nbgrader
panels: the instructor assigns and releases through the formgrader service, each student fetches
and submits through their own server, the instructor collects, autogrades and releases feedback,
each student fetches it. The browser tests drive headless Chromium through the same pages.
"""
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import nbformat
import pytest

from conftest import ARTIFACTS, REPO

COURSE = "imbalanced-course"
ASSIGNMENT = "08_summary_and_practice"  # the quiz: ten 1-point questions, grades in seconds
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
RIGHT = {"q01": "A", "q02": "A", "q03": "B", "q04": "C", "q05": "C",
         "q06": "C", "q07": "D", "q08": "A", "q09": "B", "q10": "D"}
PARTLY_WRONG = dict.fromkeys(RIGHT, "A")  # right only where the answer is A: q01, q02, q08
AS_ROOT = os.geteuid() == 0
INSTRUCTOR, STUDENT1, STUDENT2, BROWSER_STUDENT = "imbc-instructor", "imbc-student1", "imbc-student2", "imbc-student3"
GRADER = "imbc-grader"
PASSWORD = "imbc-test-password"  # the hub's shared-password authenticator, for the browser tests
ADMIN_TOKEN = os.urandom(16).hex()  # a test-only hub service that starts servers and makes tokens
# The hub's Python environment: the Makefile exports it (make hub-env makes it).
HUB_ENV = Path(os.environ.get("IMBC_HUB_ENV") or ("/opt/imbalanced-course-hub" if AS_ROOT else REPO / ".venv"))
PROXY = REPO / "autograder" / "hub" / "node_modules" / ".bin" / "configurable-http-proxy"
needs_accounts = pytest.mark.skipif(not AS_ROOT, reason="separate system accounts need root: every server runs as you")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(url, token, method="GET", form=None, body=None):
    """(status, parsed JSON or text) of one request to the hub, a server or a service."""
    data, headers = None, {"Authorization": f"token {token}"}
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
    elif body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    elif method != "GET":
        data = b""
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=300) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as err:
        status, text = err.code, err.read().decode()
    try:
        return status, json.loads(text)
    except json.JSONDecodeError:
        return status, text


def ok(status_and_reply):
    """The reply of a request that must succeed (HTTP 2xx and, for nbgrader's API, success)."""
    status, reply = status_and_reply
    assert 200 <= status < 300, f"HTTP {status}: {reply}"
    if isinstance(reply, dict) and "success" in reply:
        assert reply["success"], f"{reply.get('error')}\n{reply.get('log')}"
    return reply


def wait_for(what, check, timeout, log=None):
    """Poll `check` until it returns something true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except OSError:
            pass
        if time.monotonic() > deadline:
            tail = log.read_text()[-4000:] if log and log.exists() else ""
            pytest.fail(f"{what}: not within {timeout} s\n{tail}")
        time.sleep(0.5)


def run(*command):
    return subprocess.run(command, check=True, capture_output=True, text=True)


def remove_account(name):
    try:
        pwd.getpwnam(name)
    except KeyError:
        return
    subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)  # leftovers of this test's account
    run("userdel", "--remove", name)


@pytest.fixture(scope="module")
def accounts():
    """The class's system accounts (as root), removed again after the module."""
    names = [INSTRUCTOR, STUDENT1, STUDENT2, BROWSER_STUDENT, GRADER]
    if not AS_ROOT:
        yield names
        return
    for name in names:
        remove_account(name)  # a run that was killed may have left them
        run("useradd", "--create-home", "--shell", "/usr/sbin/nologin", name)
        Path(pwd.getpwnam(name).pw_dir).chmod(0o700)  # students' work is their own
    try:
        yield names
    finally:
        for name in names:
            remove_account(name)


def check_setup():
    """Fail with what to run when the setup steps the hub needs have not been run."""
    missing = [f"{path} (make {target})" for path, target in [
        (HUB_ENV / "bin" / "jupyterhub-singleuser", "hub-env"), (PROXY, "hub-proxy")] if not path.exists()]
    assert not missing, f"the hub's setup is missing: {', '.join(missing)}"
    if AS_ROOT:  # every account must be able to run the environment the servers start from
        probe = subprocess.run([str(HUB_ENV / "bin" / "python"), "-c", "import nbgrader, jupyterhub"],
                               user="nobody", capture_output=True, text=True)
        assert probe.returncode == 0, f"{HUB_ENV} cannot be run by other accounts: {probe.stderr}"


@pytest.fixture(scope="module")
def hub(accounts):
    """A running hub for the course: {url, root, log, token(user)}; stopped after the module."""
    check_setup()
    root = Path(tempfile.mkdtemp(prefix="imbc-hub-"))  # not under pytest's tmp: other accounts must get in
    subprocess.run([sys.executable, str(REPO / "autograder" / "hub" / "prepare.py"), "--root", str(root),
                    *(["--grader", GRADER] if AS_ROOT else [])], check=True)
    port = free_port()
    config = root / "hub" / "test_config.py"
    config.write_text(
        f"load_subconfig({str(REPO / 'autograder' / 'hub' / 'jupyterhub_config.py')!r})\n"
        f"c.JupyterHub.hub_port = {free_port()}\n"
        f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{free_port()}'\n"
        f"c.JupyterHub.services.append({{'name': 'imbc-test', 'api_token': {ADMIN_TOKEN!r}}})\n"
        "c.JupyterHub.load_roles.append({'name': 'imbc-test', 'services': ['imbc-test'],\n"
        "    'scopes': ['admin:users', 'admin:servers', 'tokens', 'list:services', 'read:services']})\n")
    env = {**os.environ, "IMBC_HUB_ROOT": str(root), "IMBC_HUB_ENV": str(HUB_ENV), "IMBC_HUB_PORT": str(port),
           "IMBC_HUB_FORMGRADER_PORT": str(free_port()), "IMBC_HUB_INSTRUCTORS": INSTRUCTOR,
           "IMBC_HUB_STUDENTS": ",".join([STUDENT1, STUDENT2, BROWSER_STUDENT]), "IMBC_HUB_GRADER": GRADER,
           "IMBC_HUB_PASSWORD": PASSWORD}
    log = root / "hub.log"
    with open(log, "w") as out:
        process = subprocess.Popen([str(Path(sys.executable).parent / "jupyterhub"), "-f", str(config)],
                                   cwd=root / "hub", env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    tokens = {}

    def token(user):
        if user not in tokens:
            reply = ok(request(f"{url}/hub/api/users/{user}/tokens", ADMIN_TOKEN, "POST", body={"note": "test"}))
            tokens[user] = reply["token"]
        return tokens[user]

    try:
        wait_for("the hub answering", lambda: process.poll() is None and request(f"{url}/hub/api/", ADMIN_TOKEN)[0] == 200
                 or (process.poll() is not None and pytest.fail(log.read_text()[-4000:])), 90, log)
        formgrader = f"{url}/services/{COURSE}/formgrader/api/status"
        wait_for("the formgrader service answering", lambda: request(formgrader, token(INSTRUCTOR))[0] == 200, 90, log)
        yield {"url": url, "root": root, "log": log, "token": token, "process": process}
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the hub stops the servers and services it started
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copyfile(log, ARTIFACTS / "hub.log")
        shutil.rmtree(root, ignore_errors=True)


def start_servers(hub, users):
    """Start the users' single-user servers through the hub's API and wait until each is ready."""
    for user in users:
        status, reply = request(f"{hub['url']}/hub/api/users/{user}/server", ADMIN_TOKEN, "POST")
        assert status in (201, 202, 400), reply  # 400: already running
    for user in users:
        wait_for(f"{user}'s server starting", lambda: request(f"{hub['url']}/hub/api/users/{user}", ADMIN_TOKEN)[1]
                 .get("servers", {}).get("", {}).get("ready"), 120, hub["log"])


def formgrader(hub, path, method="GET"):
    return ok(request(f"{hub['url']}/services/{COURSE}/formgrader/api/{path}", hub["token"](INSTRUCTOR), method))


def student(hub, user, path, method="GET", **kwargs):
    return request(f"{hub['url']}/user/{user}/{path}", hub["token"](user), method, **kwargs)


def assignment_status(hub, user):
    listing = ok(student(hub, user, f"assignments?course_id={COURSE}"))["value"]
    return {a["status"] for a in listing if a["assignment_id"] == ASSIGNMENT}, listing


def answer(notebook, letters):
    """The notebook with each quiz answer cell returning the given letter, written as a student would."""
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if grade_id.endswith("_answer"):
            q = grade_id.removesuffix("_answer")
            cell.source = f"def answer_{q}():\n    return {letters[q]!r}\n"
    return notebook


# Each would set window.pwned in the page that shows the output, if it ran.
INJECTION = ("from IPython.display import HTML, Javascript, display\n"
             "display(HTML('<b>bold stays</b><script>window.pwned = 1</script><img src=x onerror=\"window.pwned = 2\">'))\n"
             "display(Javascript('window.pwned = 3'))\n")


def as_account(user, *command):
    """Run a shell command as `user`'s account; (return code, output)."""
    done = subprocess.run(list(command), user=user, group=pwd.getpwnam(user).pw_gid, extra_groups=[],
                          capture_output=True, text=True, cwd="/")
    return done.returncode, done.stdout + done.stderr


def test_a_class_round_trip(hub):
    started = time.monotonic()
    exchange = hub["root"] / "exchange" / COURSE

    # The instructor generates and releases the assignment through the formgrader service.
    formgrader(hub, f"assignment/{ASSIGNMENT}/assign", "POST")
    formgrader(hub, f"assignment/{ASSIGNMENT}/release", "POST")
    assert (exchange / "outbound" / ASSIGNMENT / NOTEBOOK).is_file()
    assert formgrader(hub, f"assignment/{ASSIGNMENT}")["status"] == "released"

    # Each student sees it, fetches it into their home and submits an answer.
    start_servers(hub, [STUDENT1, STUDENT2])
    answers = {STUDENT1: RIGHT, STUDENT2: PARTLY_WRONG}
    for user, letters in answers.items():
        assert assignment_status(hub, user)[0] == {"released"}
        ok(student(hub, user, "assignments/fetch", "POST", form={"assignment_id": ASSIGNMENT, "course_id": COURSE}))
        assert assignment_status(hub, user)[0] == {"fetched"}
        path = f"api/contents/{ASSIGNMENT}/{NOTEBOOK}"
        fetched = ok(student(hub, user, path))["content"]
        notebook = answer(nbformat.from_dict(fetched), letters)
        if user == STUDENT1:  # HTML with scripts in an output: inert in the instructor's formgrader
            notebook.cells.insert(1, nbformat.v4.new_code_cell(INJECTION))
        ok(student(hub, user, path, "PUT", body={"type": "notebook", "format": "json", "content": notebook}))
        ok(student(hub, user, "assignments/submit", "POST", form={"assignment_id": ASSIGNMENT, "course_id": COURSE}))
        status, listing = assignment_status(hub, user)
        assert "submitted" in status
        # nbgrader lists a student's own submissions only.
        assert {s["student_id"] for a in listing for s in a.get("submissions", [])} <= {user}
    inbound = sorted(p.name for p in (exchange / "inbound").iterdir())
    assert [name.split("+")[0] for name in inbound] == [STUDENT1, STUDENT2]

    # The instructor collects, autogrades each submission and releases the feedback.
    formgrader(hub, f"assignment/{ASSIGNMENT}/collect", "POST")
    for user in answers:
        formgrader(hub, f"submission/{ASSIGNMENT}/{user}/autograde", "POST")
    scores = {s["student"]: (s["score"], s["max_score"]) for s in formgrader(hub, f"submissions/{ASSIGNMENT}")}
    assert scores == {STUDENT1: (10.0, 10.0), STUDENT2: (3.0, 10.0)}
    formgrader(hub, f"assignment/{ASSIGNMENT}/generate_feedback", "POST")
    formgrader(hub, f"assignment/{ASSIGNMENT}/release_feedback", "POST")

    # Each student fetches their own feedback, which shows their score.
    for user, expected in [(STUDENT1, "10.0"), (STUDENT2, "3.0")]:
        ok(student(hub, user, "assignments/fetch_feedback", "POST",
                   form={"assignment_id": ASSIGNMENT, "course_id": COURSE}))
        feedback = ok(student(hub, user, f"api/contents/{ASSIGNMENT}/feedback"))["content"]
        assert len(feedback) == 1, feedback  # one folder per submission, named by its timestamp
        html = ok(student(hub, user, f"api/contents/{urllib.parse.quote(feedback[0]['path'])}/{ASSIGNMENT}.html"))["content"]
        assert f"Score: {expected} / 10.0" in html
        assert "### BEGIN HIDDEN TESTS" not in html
    print(f"round trip: {time.monotonic() - started:.1f} s after the hub was up")


@needs_accounts
def test_students_cannot_reach_each_others_work(hub):
    """Whatever student2's account tries on the file system, student1's work stays out of reach."""
    exchange = hub["root"] / "exchange" / COURSE
    submitted = next((exchange / "inbound").glob(f"{STUDENT1}+*"), None)
    if submitted is None:
        pytest.fail("no submission of student1 in the exchange: the round trip test must run first")
    # nbgrader's exchange: students may drop into inbound/ and feedback/ but not list them ...
    for folder in ["inbound", "feedback"]:
        code, out = as_account(STUDENT2, "ls", str(exchange / folder))
        assert code != 0 and "Permission denied" in out, out
    # ... so searching the whole exchange finds no file of student1's,
    code, out = as_account(STUDENT2, "find", str(hub["root"] / "exchange"))
    assert STUDENT1 not in out
    # and student1's fetched copy, answers and fetched feedback sit in a home others cannot enter.
    home = Path(pwd.getpwnam(STUDENT1).pw_dir)
    for target in [home / ASSIGNMENT / NOTEBOOK, home / ASSIGNMENT / "feedback"]:
        code, out = as_account(STUDENT2, "cat", str(target))
        assert code != 0 and "Permission denied" in out, out
    # The course folder (hidden tests, gradebook, collected submissions) is the grader's alone.
    code, out = as_account(STUDENT2, "ls", str(hub["root"] / "course"))
    assert code != 0 and "Permission denied" in out, out
    # Files in the exchange belong to whoever made them: the grader cannot change a submission.
    assert submitted.stat().st_uid == pwd.getpwnam(STUDENT1).pw_uid


# --- in a browser -------------------------------------------------------------------------------
def wait_until(driver, what, condition, timeout=60):
    """Wait for `condition(driver)`; on time-out, save a screenshot of the page and fail naming `what`."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.25).until(condition)
    except TimeoutException:
        shot = ARTIFACTS / f"hub-failed-{''.join(ch if ch.isalnum() else '-' for ch in what)}.png"
        driver.save_screenshot(str(shot))
        pytest.fail(f"browser: {what}: not within {timeout} s (see {shot})")


def visible(driver, xpath):
    """The elements at `xpath` that are displayed now."""
    from selenium.common.exceptions import StaleElementReferenceException

    try:
        return [e for e in driver.find_elements("xpath", xpath) if e.is_displayed()]
    except StaleElementReferenceException:  # the page redrew itself meanwhile: look again
        return []


def click(driver, what, xpath, timeout=60, nth=0):
    """Click the `nth` displayed element at `xpath`, retrying while JupyterLab redraws it."""
    from selenium.common.exceptions import ElementClickInterceptedException, StaleElementReferenceException

    def clicked(d):
        elements = visible(d, xpath)
        try:
            return len(elements) > nth and (elements[nth].click() or True)
        except (StaleElementReferenceException, ElementClickInterceptedException):
            return False

    wait_until(driver, what, clicked, timeout)


def log_in(driver, hub, user):
    from selenium.webdriver.common.by import By

    driver.get(f"{hub['url']}/hub/login")
    driver.find_element(By.ID, "username_input").send_keys(user)
    driver.find_element(By.ID, "password_input").send_keys(PASSWORD)
    driver.find_element(By.ID, "login_submit").click()


def released(hub):
    """The quiz released to students (the round trip does it; this test may also run alone)."""
    if formgrader(hub, f"assignment/{ASSIGNMENT}")["status"] != "released":
        formgrader(hub, f"assignment/{ASSIGNMENT}/assign", "POST")
        formgrader(hub, f"assignment/{ASSIGNMENT}/release", "POST")


def test_a_student_in_the_browser(hub, browser):
    """Log in, open the assignment list, fetch the quiz, open its notebook and run a cell."""
    from selenium.webdriver.common.keys import Keys

    released(hub)
    log_in(browser, hub, BROWSER_STUDENT)
    menu = "//li[contains(@class, 'lm-MenuBar-item')][normalize-space()='Nbgrader']"
    click(browser, "JupyterLab's Nbgrader menu", menu, 150)  # the server starts on first login
    click(browser, "the Assignment List command", "//li[@data-command='nbgrader:open-assignment-list']")
    row = f"//div[@id='released_assignments_list']//div[contains(@class, 'list_item')][contains(., '{ASSIGNMENT}')]"
    click(browser, "the released quiz's Fetch button", f"{row}//button[normalize-space()='Fetch']")
    fetched = f"//div[@id='fetched_assignments_list']//*[contains(., '{ASSIGNMENT}')]"
    wait_until(browser, "the quiz among the fetched assignments", lambda d: visible(d, fetched))
    browser.save_screenshot(str(ARTIFACTS / "hub-student-assignments.png"))
    assert ok(student(hub, BROWSER_STUDENT, f"api/contents/{ASSIGNMENT}/{NOTEBOOK}"))["type"] == "notebook"
    # Unfolding the fetched quiz shows its notebook, a link of the same name under the folder's.
    links = f"//div[@id='fetched_assignments_list']//a[normalize-space()='{ASSIGNMENT}']"
    click(browser, "the fetched quiz", links)
    click(browser, "the quiz notebook's link", links, nth=1)
    # A cell run before the kernel is ready is dropped: wait for the status bar's "Idle" first.
    idle = "//div[contains(@class, 'jp-StatusBar-Widget')]//*[contains(normalize-space(), '| Idle')]"
    wait_until(browser, "the notebook's kernel ready", lambda d: visible(d, idle), 120)
    first_code = "(//div[contains(@class, 'jp-CodeCell')])[1]"
    click(browser, "the notebook's first code cell", f"{first_code}//div[contains(@class, 'jp-InputArea-editor')]", 90)
    visible(browser, f"{first_code}//div[contains(@class, 'cm-content')]")[0].send_keys(Keys.SHIFT, Keys.ENTER)
    output = f"{first_code}//div[contains(@class, 'jp-OutputArea-output')]"
    shown = wait_until(browser, "the first cell's output", lambda d: next((e for e in visible(d, output) if e.text), None), 120)
    assert re.search(r"class counts: \[950 +50\]", shown.text), shown.text
    browser.save_screenshot(str(ARTIFACTS / "hub-student-notebook.png"))


def test_the_instructors_formgrader_in_the_browser(hub, browser):
    """Log in as the instructor and open the formgrader service: the quiz is listed, released."""
    released(hub)
    log_in(browser, hub, INSTRUCTOR)
    wait_until(browser, "the instructor's JupyterLab", lambda d: "/user/" in d.current_url and "/lab" in d.current_url, 150)
    browser.get(f"{hub['url']}/services/{COURSE}/formgrader")
    row = f"//tr[.//*[normalize-space()='{ASSIGNMENT}']]"
    shown = wait_until(browser, "the quiz in the formgrader", lambda d: visible(d, row), 90)[0]
    assert "released" in shown.text, shown.text
    assert "Manage Assignments" in browser.page_source
    browser.save_screenshot(str(ARTIFACTS / "hub-instructor-formgrader.png"))
    # student1's autograded notebook, as the formgrader shows it, with the instructor's session:
    # the scripts student1 displayed must not run.
    graded = {n["student"]: n["id"] for n in formgrader(hub, f"submitted_notebooks/{ASSIGNMENT}/{ASSIGNMENT}")}
    if STUDENT1 not in graded:
        pytest.fail("student1's submission is not graded: the round trip test must run first")
    browser.get(f"{hub['url']}/services/{COURSE}/formgrader/submissions/{graded[STUDENT1]}/")
    wait_until(browser, "student1's notebook in the formgrader", lambda d: "bold stays" in d.page_source, 90)
    assert browser.execute_script("return window.pwned === undefined")
    browser.save_screenshot(str(ARTIFACTS / "hub-formgrader-inert-student-html.png"))
