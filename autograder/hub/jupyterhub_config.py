"""JupyterHub for one class of imbalanced-course, with nbgrader's exchange and formgrader.

Start it with `make hub` (README, "Classroom JupyterHub"). The settings a deployment changes come
from the environment, so this file stays as it is:

- IMBC_HUB_ROOT: folder laid out by prepare.py: exchange/, course/ (the formgrader's course
  folder), grader-tmp/, jupyter/ (nbgrader's settings for every account), hub/ (the hub's state).
- IMBC_HUB_ENV: the Python environment every single-user server and the formgrader run in. Each
  account must be able to execute it.
- IMBC_HUB_INSTRUCTORS, IMBC_HUB_STUDENTS: comma-separated user names. IMBC_HUB_GRADER: the account
  that owns the course folder and runs the formgrader (used only when the hub runs as root).
- IMBC_HUB_PASSWORD: set it for a local trial (every student logs in with it). Unset, users log
  in with their system password (PAM); a real deployment puts its own authenticator here.
- IMBC_HUB_PORT, IMBC_HUB_FORMGRADER_PORT: where the hub and the formgrader listen (127.0.0.1).

Run as root, every user's server runs under their own system account (LocalProcessSpawner): the
exchange's permissions then keep students apart. Run as anyone else, all servers run as that one
account in ROOT/home/<user> (SimpleLocalProcessSpawner): fine for a trial, no separation at all.
"""
import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 (provided by traitlets when JupyterHub loads this file)

COURSE = "imbalanced-course"  # the nbgrader course id, and the formgrader service's name


def names(variable, default):
    return [n.strip() for n in os.environ.get(variable, default).split(",") if n.strip()]


ROOT = Path(os.environ.get("IMBC_HUB_ROOT", "/srv/imbalanced-course"))
ENV = Path(os.environ.get("IMBC_HUB_ENV", sys.prefix))
INSTRUCTORS = names("IMBC_HUB_INSTRUCTORS", "instructor")
STUDENTS = names("IMBC_HUB_STUDENTS", "student1,student2")
GRADER = os.environ.get("IMBC_HUB_GRADER", f"grader-{COURSE}")
AS_ROOT = os.geteuid() == 0

# What every server and the formgrader get: the course environment first on PATH (nbgrader starts
# kernels and helpers by name), and nbgrader's settings (course id, exchange) from a folder all
# accounts can read: the repository itself may sit where other accounts cannot go.
ENVIRONMENT = {
    "PATH": f"{ENV / 'bin'}:/usr/local/bin:/usr/bin:/bin",
    "JUPYTER_CONFIG_PATH": str(ROOT / "jupyter"),
    "IMBC_EXCHANGE": str(ROOT / "exchange"),
    "OMP_NUM_THREADS": "1",  # small models; many servers share the cores
}

# --- the hub ------------------------------------------------------------------------------------
c.JupyterHub.ip = "127.0.0.1"  # put a TLS-terminating proxy in front for a real deployment
c.JupyterHub.port = int(os.environ.get("IMBC_HUB_PORT", "8000"))
c.JupyterHub.db_url = f"sqlite:///{ROOT / 'hub' / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(ROOT / "hub" / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(ROOT / "hub" / "proxy.pid")
# The proxy installed by `make hub-proxy` (npm ci in this folder), not whatever is on PATH.
c.ConfigurableHTTPProxy.command = [str(Path(__file__).resolve().parent / "node_modules" / ".bin" / "configurable-http-proxy")]

# --- who is who ---------------------------------------------------------------------------------
c.Authenticator.allowed_users = set(INSTRUCTORS + STUDENTS)
if os.environ.get("IMBC_HUB_PASSWORD"):
    # Local trials and tests only: anyone with this one password logs in as any student.
    c.JupyterHub.authenticator_class = "shared-password"
    c.SharedPasswordAuthenticator.user_password = os.environ["IMBC_HUB_PASSWORD"]
# Otherwise JupyterHub's default, PAM: system accounts and their passwords (needs root).

# One course per hub, its id fixed in nbgrader's settings: plain group names will do (nbgrader's
# formgrade-<course>/nbgrader-<course> convention is for several courses on one hub). The same
# groups and role as the Kubernetes values beside this file.
c.JupyterHub.load_groups = {"instructors": {"users": INSTRUCTORS}, "students": {"users": STUDENTS}}
c.JupyterHub.load_roles = [
    {   # only instructors reach the formgrader
        "name": "instructors",
        "groups": ["instructors"],
        "scopes": [f"access:services!service={COURSE}", "list:services", f"read:services!service={COURSE}"],
    },
    # A server's token may do what its owner may: nbgrader's course list asks the hub about the
    # formgrader with it (a student's server still cannot reach the service).
    {"name": "server", "scopes": ["inherit"]},
]

# --- single-user servers ------------------------------------------------------------------------
c.Spawner.cmd = [str(ENV / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.environment = ENVIRONMENT
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
if AS_ROOT:
    c.JupyterHub.spawner_class = "localprocess"  # each user's server as their own system account
else:
    c.JupyterHub.spawner_class = "simple"
    c.SimpleLocalProcessSpawner.home_dir_template = str(ROOT / "home" / "{username}")

# --- the formgrader, a hub service for the instructors ------------------------------------------
# A Jupyter server of its own, in the course folder, as the course's grader account: instructors
# reach it at /services/imbalanced-course/ and share one gradebook. PYTHONPATH: the course folder
# holds the autograder package that nbgrader_config.py's preprocessors come from. TMPDIR: the
# grader's sandbox scratch folders go in a folder of its own, not in a /tmp one shared with others.
formgrader = {
    "name": COURSE,
    "url": f"http://127.0.0.1:{os.environ.get('IMBC_HUB_FORMGRADER_PORT', '9999')}",
    "command": [str(ENV / "bin" / "jupyterhub-singleuser"), f"--ServerApp.root_dir={ROOT / 'course'}"],
    "cwd": str(ROOT / "course"),
    "environment": {**ENVIRONMENT, "PYTHONPATH": str(ROOT / "course"), "TMPDIR": str(ROOT / "grader-tmp"),
                    "JUPYTERHUB_DEFAULT_URL": "/formgrader"},
    "oauth_no_confirm": True,
}
if AS_ROOT:
    formgrader["user"] = GRADER
c.JupyterHub.services = [formgrader]
