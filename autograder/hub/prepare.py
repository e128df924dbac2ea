"""Lay out a course hub's folders under ROOT, as jupyterhub_config.py expects them.

    python autograder/hub/prepare.py --root ROOT [--grader ACCOUNT]

- ROOT/exchange: nbgrader's exchange, writable by every account (sticky, as /tmp: nobody removes
  what others made). nbgrader itself makes the course's outbound/ (readable by all), inbound/
  (students may write but not list it) and feedback/ (reachable only by a file's exact name) in it.
- ROOT/course: the formgrader's course folder: source/ (with the hidden tests), the course's
  nbgrader_config.py and the autograder package. Owned by the grader account, closed to others.
  Running again refreshes source/ and the code and keeps the gradebook and submissions.
- ROOT/grader-tmp: the formgrader's temporary folder (grading's scratch), the grader's alone.
- ROOT/jupyter: nbgrader's settings for every account; ROOT/hub: the hub's database and secret.
"""
import argparse
import os
import pwd
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HUB = Path(__file__).resolve().parent


def chown_tree(path, account):
    uid, gid = pwd.getpwnam(account)[2:4]
    for folder, dirs, files in os.walk(path):
        for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
            os.lchown(name, uid, gid)


def prepare(root, grader=None):
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)  # every account goes through it to reach the exchange and the settings
    for name, mode in [("exchange", 0o1777), ("jupyter", 0o755), ("hub", 0o700)]:
        (root / name).mkdir(exist_ok=True)
        (root / name).chmod(mode)
    shutil.copyfile(HUB / "nbgrader_config.py", root / "jupyter" / "nbgrader_config.py")
    (root / "jupyter" / "nbgrader_config.py").chmod(0o644)

    course = root / "course"
    shutil.copytree(REPO / "source", course / "source", dirs_exist_ok=True)
    shutil.copyfile(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
    (course / "autograder").mkdir(exist_ok=True)
    for module in (REPO / "autograder").glob("*.py"):
        shutil.copyfile(module, course / "autograder" / module.name)
    shutil.copytree(REPO / "autograder" / "templates", course / "autograder" / "templates", dirs_exist_ok=True)  # feedback's
    (root / "grader-tmp").mkdir(exist_ok=True)  # the formgrader's TMPDIR: grading's scratch folders
    for folder in [course, root / "grader-tmp"]:
        if grader:
            chown_tree(folder, grader)
        folder.chmod(0o700)  # source/ holds the hidden tests; the gradebook holds everyone's grades
    return root


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="the hub's folder (IMBC_HUB_ROOT)")
    parser.add_argument("--grader", help="account that owns the course folder and runs the formgrader (as root)")
    args = parser.parse_args(argv)
    if args.grader:
        try:
            pwd.getpwnam(args.grader)
        except KeyError:
            parser.exit(1, f"No account {args.grader!r}: create it first (useradd -m {args.grader}).\n")
    print(f"Course hub folders ready in {prepare(args.root, args.grader)}")


if __name__ == "__main__":
    main()
