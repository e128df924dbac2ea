"""Where a student's kernel runs: its own process tree, a private scratch folder, limits, no network.

With bubblewrap (Debian package `bubblewrap`), the kernel sees the machine read-only, with the course
folder, home folders and temporary folders replaced by empty ones: only its scratch folder (holding
the submission's data files, never a notebook), the Python environment and the course's support
package are there. It has no network and its own process namespace, so nothing it starts survives
it. As root, it also runs under an unprivileged user id that no other kernel on the host holds
(`take_account`), so one student's fork bomb cannot starve another's kernel nor signal it. Limits on CPU time, memory, processes, file size and open
files come from prlimit. Elsewhere, each missing protection is named by `protections()`.
"""
import fcntl
import functools
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import imbalanced_course

# Far above what an honest answer needs; each stops one kind of runaway code.
LIMITS = {
    "cpu": 600,  # seconds of CPU time
    "as": 4 * 2**30,  # bytes of address space (memory)
    "nproc": 256,  # processes and threads of the account
    "fsize": 64 * 2**20,  # bytes in one file
    "nofile": 256,  # open files
}
REPO = Path(__file__).resolve().parent.parent
BASE_UID, ACCOUNTS = 64000, 256  # kernels run as uids BASE_UID .. BASE_UID + ACCOUNTS - 1: ids no account uses
# One lock file per uid, in a folder only root can write: holding its lock is holding the uid. /run
# is emptied at boot, and the lock goes with its holder's process, however that ends.
ACCOUNT_LOCKS = Path("/run/imbalanced-course/accounts")
ENVIRONMENT = {  # everything the kernel's environment holds: no secret of the grader's leaks in
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    # The sandbox has no writable /dev/shm, so joblib's probe for process pools fails and warns in the
    # student's first import; grading kernels run one process anyway.
    "JOBLIB_MULTIPROCESSING": "0",
}


def is_root():
    return os.geteuid() == 0


@functools.cache
def bubblewrap_works():
    """True when bubblewrap can make a sandbox here (as root, or with unprivileged user namespaces)."""
    if not shutil.which("bwrap"):
        return False
    probe = ["bwrap", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
             "--unshare-net", "--unshare-pid", "--die-with-parent", "true"]  # what every sandbox mounts
    return subprocess.run(probe, capture_output=True).returncode == 0


@functools.cache
def switches_account():
    """True when student code runs under an account of its own: as root, with a Python that account can run.

    bubblewrap shows the kernel the environment wherever it lies; without it, the account must be able
    to reach it (a Python under root's home is out of its reach).
    """
    if not is_root():
        return False
    if bubblewrap_works():
        return True
    probe = ["setpriv", f"--reuid={BASE_UID}", f"--regid={BASE_UID}", "--clear-groups", sys.executable, "-c", "pass"]
    return subprocess.run(probe, capture_output=True).returncode == 0


def protections():
    """[(protection, active, how)] for student code graded on this machine, as this user."""
    bwrap = bubblewrap_works()
    limits = ", ".join(f"{k}={v}" for k, v in LIMITS.items())
    why_no_bwrap = "bubblewrap not installed" if not shutil.which("bwrap") else "bubblewrap cannot create namespaces here"
    return [
        ("own process per submission, verdict computed outside it", True, "tests run in the grader, answers in a kernel"),
        ("limits on CPU, memory, processes, file size, open files", bool(shutil.which("prlimit")), limits),
        ("no network", bwrap, "own network namespace" if bwrap else why_no_bwrap),
        ("private filesystem view (course, homes, /tmp hidden)", bwrap, "bubblewrap mounts" if bwrap else why_no_bwrap),
        ("nothing outlives its grading", True, "own PID namespace" if bwrap else "killed with its grading worker"),
        ("an unprivileged account of its own", switches_account(),
         f"a uid of {BASE_UID}-{BASE_UID + ACCOUNTS - 1} held by one kernel on this host" if switches_account() else
         f"runs as you (uid {os.getuid()}): grade as root for this" if not is_root() else
         "runs as root: install bubblewrap, or a Python every account can run"),
    ]


def describe_protections():
    """A short list, one protection a line; why, for those that are off."""
    lines = [f"  {'on ' if active else 'OFF'}  {name}" + ("" if active else f": {how}")
             for name, active, how in protections()]
    return "\n".join(["Sandbox protections:", *lines])


def summarize_protections(found):
    """One line for a list of (protection, active, how), such as a Dask worker reports: which are off, and why."""
    off = [f"{name} ({how})" for name, active, how in found if not active]
    return "all protections on" if not off else "OFF: " + "; ".join(off)


def readable_roots():
    """[(folder, where the kernel sees it)] it must read: the Python installation, the environment and
    the support package, each at its real place and at the path the grader knows it by (they differ
    when `.venv` or a folder above it is a symbolic link: the kernel runs `sys.executable` by that path).
    A folder inside another listed one at the same place comes with it."""
    known = {Path(os.path.abspath(p)) for p in (sys.base_prefix, sys.prefix, Path(imbalanced_course.__file__).parent,
                                                 *(sysconfig.get_paths()[k] for k in ("stdlib", "purelib", "platlib")))}
    pairs = {(p.resolve(), p.resolve()) for p in known} | {(p.resolve(), p) for p in known}
    real = {source for source, target in pairs if source == target}
    return sorted(((s, t) for s, t in pairs if s != t or not any(other in s.parents for other in real)),
                  key=lambda pair: (len(pair[1].parts), str(pair[1])))


def kernel_command_prefix(scratch, account, hide=()):
    """The command that wraps a kernel's command line to run it sandboxed in `scratch`, as `account`
    (from `take_account`; None: as the grader's own account).

    `hide` names more folders to replace by empty ones: the course, wherever it is.
    """
    scratch = Path(scratch)
    limits = [f"--{name}={value}" for name, value in LIMITS.items()] if shutil.which("prlimit") else []
    prefix = ["prlimit", *limits, "--"] if limits else []
    if account is not None:
        uid = account.uid
        prefix += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--pdeathsig=KILL", "--"]
    else:
        prefix += ["setpriv", "--pdeathsig=KILL", "--"]
    if not bubblewrap_works():
        return prefix
    hidden = {Path(p) for p in ("/root", "/home", "/tmp", "/var", "/run", "/srv", "/mnt", "/media", "/opt", "/work")}
    hidden |= {Path(p).resolve() for p in hide} | {Path.cwd(), REPO, scratch.parent}
    bwrap = ["bwrap", "--ro-bind", "/", "/"]
    for folder in sorted(hidden):
        if folder.is_dir() and folder != Path("/"):
            bwrap += ["--tmpfs", str(folder)]
    made = set()
    for source, target in readable_roots():
        # Folders bubblewrap makes on the way to a mount point are private (0700): open them to the
        # kernel's account, which must pass through them.
        for folder in reversed(target.parents):
            if any(h in folder.parents for h in hidden) and folder not in made:
                bwrap += ["--perms", "0755", "--dir", str(folder)]
                made.add(folder)
        bwrap += ["--ro-bind", str(source), str(target)]
    bwrap += ["--bind", str(scratch), str(scratch), "--proc", "/proc", "--dev", "/dev",
              "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
              "--die-with-parent", "--new-session", "--chdir", str(scratch), "--clearenv"]
    for name, value in kernel_environment(scratch).items():
        bwrap += ["--setenv", name, value]
    return bwrap + ["--"] + prefix


class Account:
    """An unprivileged uid, held by one kernel until `release` (or until its holder's process ends)."""

    def __init__(self, uid, lock):
        self.uid, self._lock = uid, lock

    def release(self):
        if self._lock is not None:
            os.close(self._lock)  # closing the only descriptor of the lock file drops the lock
            self._lock = None

    def __repr__(self):
        return f"Account(uid={self.uid})"


def take_account():
    """An account for one kernel, unique on this host, or None when student code cannot run under one.

    A uid is taken only when its lock file is free (no grader, worker or test holds it, in any process)
    and no process runs under it (a dead kernel's processes still dying, which would count against
    its process limit and could signal the next kernel's).
    """
    if not switches_account():
        return None
    ACCOUNT_LOCKS.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder = ACCOUNT_LOCKS.stat()
    if folder.st_uid != 0 or folder.st_mode & 0o022:
        raise PermissionError(f"{ACCOUNT_LOCKS} must belong to root and be writable by root only")
    busy = accounts_in_use()
    for uid in range(BASE_UID, BASE_UID + ACCOUNTS):
        if uid in busy:
            continue
        lock = os.open(ACCOUNT_LOCKS / str(uid), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock)
            continue
        if uid not in accounts_in_use():  # checked again with the lock held: nothing can start under it now
            return Account(uid, lock)
        os.close(lock)
    raise RuntimeError(f"all {ACCOUNTS} grading accounts (uids {BASE_UID}-{BASE_UID + ACCOUNTS - 1}) are in use")


def accounts_in_use():
    """The real uids of every process on the machine."""
    uids = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            line = next(line for line in status.read_text().splitlines() if line.startswith("Uid:"))
        except (OSError, StopIteration):
            continue
        uids.update(int(u) for u in line.split()[1:])  # real, effective, saved and filesystem uids
    return uids


def kernel_environment(scratch):
    home = Path(scratch) / "home"
    return {**ENVIRONMENT, "HOME": str(home), "MPLCONFIGDIR": str(home / "matplotlib"),
            "IPYTHONDIR": str(home / "ipython")}


def prepare_scratch(scratch, files):
    """Make `scratch` (mode 0700) with `files` (paths to copy in); `give_scratch` hands it to a kernel's account.

    Its parent is made 0711: accounts can reach their own scratch folder but not list the others.
    """
    scratch = Path(scratch)
    scratch.parent.mkdir(parents=True, exist_ok=True)
    if scratch.parent.stat().st_uid == os.geteuid():  # someone else's folder is theirs to keep
        scratch.parent.chmod(0o711)
    (scratch / "home").mkdir(mode=0o700, parents=True)
    scratch.chmod(0o700)
    for path in files:
        target = scratch / path.name
        (shutil.copytree if path.is_dir() else shutil.copy)(path, target)
    fonts = font_list()
    if fonts:  # a copy of the grader's: a kernel that changes it changes its own
        (scratch / "home" / "matplotlib").mkdir()
        shutil.copy(fonts, scratch / "home" / "matplotlib" / fonts.name)
    return scratch


@functools.cache
def font_list():
    """matplotlib's list of the machine's fonts, as the grader built it (None without matplotlib).

    Each kernel has a fresh MPLCONFIGDIR: without a copy of this list, matplotlib would scan every
    font again in every kernel (about a second per submission, measured).
    """
    try:
        from matplotlib import font_manager
    except ImportError:
        return None
    import matplotlib
    path = Path(matplotlib.get_cachedir()) / f"fontlist-v{font_manager.FontManager.__version__}.json"
    return path if path.is_file() else None


def give_scratch(scratch, account):
    """Make everything in `scratch` the account's (a restarted kernel runs under another account)."""
    if account is None:
        return
    # Through folder descriptors, never following a link: a name swapped for one leads nowhere.
    for _, folders, files, folder in os.fwalk(scratch):
        os.chown(folder, account.uid, account.uid)
        for name in folders + files:
            os.chown(name, account.uid, account.uid, dir_fd=folder, follow_symlinks=False)
