"""T's warm parent: import the heavy modules once, then fork one fresh grading kernel per notebook.

    python -P warm_parent.py        (started by warm_kernels.WarmParent, inside T's sandbox)

Run as a file, like sandbox_exec.py, never imported: the ``autograder`` package is not imported
here, so nothing that reads the environment at import (the checks' language) is fixed for every
kernel. What is imported is what every grading kernel's setup cell imports and what costs: NumPy,
PyTorch, Matplotlib and ipykernel, about 2 s of CPU per notebook, and scikit-learn's datasets
(chapters 2, 4, 5 and 6), 0.75 s more (docs/SPEED.md).

Requests come one JSON line at a time on stdin, each answered by one JSON line on stdout (which
repeats the request's ``"id"``, if it has one):

- ``{"op": "spawn", "argv": [...], "env": {...}, "cwd": DIR, "log": FILE, "cell_folder": DIR}``:
  fork; the child
  starts a new session, points stdin at /dev/null and stdout and stderr at FILE, closes every
  other descriptor, takes exactly ``env`` as its environment, sets its signals as a fresh
  CPython does (SIGPIPE ignored), reseeds ``random``, NumPy's global generator and torch's
  default one (a cold kernel draws fresh entropy at import), and runs ipykernel with
  ``argv``. Answer ``{"pid": PID}`` (the PID inside the sandbox's namespace).
- ``{"op": "signal", "pid": PID, "signal": N}``: send N to the child's process group (the child
  leads it). Answer ``{"ok": true}`` or ``{"ok": false}`` when it is gone.
- ``{"op": "poll", "pid": PID}``: ``{"returncode": N}``, or ``null`` while it runs.
- ``{"op": "usage"}``: ``{"cpu": SECONDS, "limit": SECONDS or null}``, the parent's own CPU time
  and its RLIMIT_CPU (a few ms a notebook: a grading process that lives for weeks would reach it).

The parent itself never runs a notebook's code: each kernel is a copy of a process that has
only imported modules, so no kernel sees what an earlier one changed (module attributes,
NumPy's error settings, warning filters, Matplotlib's rcParams). End of stdin (the grader gone)
ends the parent, which kills every kernel it forked that still runs (in the sandbox the PID namespace
would end them anyway).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys

_ENVIRONMENT_BEFORE = dict(os.environ)

# ipykernel's debugger: each kernel makes one as it starts, importing debugpy's pydevd (0.08 s of
# CPU a kernel). The import starts no thread (test_warm_kernels: the parent forks with one).
import ipykernel.debugger  # noqa: E402, F401
import ipykernel.kernelapp  # noqa: E402, F401  (imported for the children)
import ipywidgets  # noqa: E402, F401
import matplotlib.pyplot  # noqa: E402, F401  (MPLBACKEND is set: the backend itself loads in the kernel)
import numpy  # noqa: E402, F401
import torch  # noqa: E402
import torch.nn.functional  # noqa: E402, F401

try:  # chapters 2, 4, 5 and 6 load their data with it: 0.75 s of CPU in each of their kernels
    import sklearn.datasets  # noqa: F401
except ImportError:
    pass

# What those imports set in the environment (scikit-learn's ``KMP_*`` defaults): a kernel's own
# environment replaces the parent's, and then gets these as an import in it would (``setdefault``).
SET_BY_IMPORTS = {name: value for name, value in os.environ.items() if _ENVIRONMENT_BEFORE.get(name) != value}

MAX_FD = 65536


def child(request: dict) -> None:
    """In the forked child: become a fresh kernel; never returns."""
    code = 1
    try:
        os.setsid()
        # As CPython leaves them at start (the parent ignored SIGINT): SIGPIPE and SIGXFSZ stay
        # ignored, so a write to a closed socket (the bridge's) raises BrokenPipeError instead of
        # killing the kernel without a word, and a file past RLIMIT_FSIZE raises OSError.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for number in (signal.SIGTERM, signal.SIGCHLD):
            signal.signal(number, signal.SIG_DFL)
        for number in (signal.SIGPIPE, signal.SIGXFSZ):
            signal.signal(number, signal.SIG_IGN)
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.closerange(3, MAX_FD)
        sys.stdin = open(0, closefd=False)  # noqa: SIM115
        sys.stdout = open(1, "w", closefd=False, buffering=1)  # noqa: SIM115
        sys.stderr = open(2, "w", closefd=False, buffering=1)  # noqa: SIM115
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        for name, value in SET_BY_IMPORTS.items():
            os.environ.setdefault(name, value)
        import random

        random.seed()
        numpy.random.seed()
        torch.seed()  # each cold `import torch` draws its own; the parent's would be every kernel's
        sys.argv = ["ipykernel_launcher", *request["argv"]]
        if request.get("cell_folder"):  # the name ipykernel gives each cell's code: as a cold kernel's
            from ipykernel import compiler

            compiler.get_tmp_directory = lambda: request["cell_folder"]
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        os._exit(code)


def ended(pid: int) -> int | None:
    """A kernel's exit code once it has ended, its process group killed first; None while it runs.

    Whatever the kernel started in its group dies with it, as everything in a cold kernel's sandbox
    does when the kernel ends: it would otherwise live on in the PID namespace the next notebooks'
    kernels share. The group is killed while the kernel is an unreaped zombie, so its number cannot
    have been given to another process yet.
    """
    try:
        if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
            return None
    except ChildProcessError:
        return 0
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    _, raw = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(raw)


def preload(modules) -> None:
    """Import what a kernel about to be forked will import at its first use of something its template
    names (warm_kernels.LAZY_IMPORTS), once for every later kernel too. What the import sets in the
    environment is not passed on (a kernel's environment is its own): torch._dynamo's
    TORCHINDUCTOR_CACHE_DIR, which torch works out again in a kernel that compiles. A module that
    fails to import is left to the kernel, which then fails as a cold one would."""
    import importlib

    for name in modules:
        if isinstance(name, str) and name not in sys.modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001  (the kernel's own import says what is wrong)
                pass


def serve(requests, replies) -> None:
    children: dict[int, int | None] = {}

    def reap() -> None:
        for pid, status in list(children.items()):
            if status is None:
                children[pid] = ended(pid)

    for line in requests:
        request = json.loads(line)
        reap()
        op = request.get("op")
        if op == "spawn":
            preload(request.get("preload", ()))
            pid = os.fork()
            if pid == 0:
                child(request)
            children[pid] = None
            answer: dict = {"pid": pid}
        elif op == "signal":
            pid, answer = request["pid"], {"ok": False}
            if children.get(pid, 0) is None:  # never a PID that ended (it may be another's now)
                try:
                    os.killpg(pid, request["signal"])
                    answer = {"ok": True}
                except ProcessLookupError:
                    pass
        elif op == "usage":  # its own CPU time and RLIMIT_CPU: the grader retires it well before
            used = resource.getrusage(resource.RUSAGE_SELF)
            limit = resource.getrlimit(resource.RLIMIT_CPU)[0]
            answer = {"cpu": used.ru_utime + used.ru_stime, "limit": None if limit < 0 else limit}
        elif op == "poll":
            answer = {"returncode": children.get(request["pid"], 0)}
            for pid, status in list(children.items()):  # forget what was reported as ended
                if status is not None and pid != request["pid"]:
                    del children[pid]
        else:
            answer = {"error": f"unknown op {op!r}"}
        if "id" in request:  # the asker's number for this request, repeated
            answer["id"] = request["id"]
        replies.write(json.dumps(answer) + "\n")
        replies.flush()
    reap()
    for pid, status in children.items():  # the grader has gone: so do the kernels (--no-sandbox too)
        if status is None:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C to the grader is the grader's to handle
    serve(sys.stdin, sys.stdout)
