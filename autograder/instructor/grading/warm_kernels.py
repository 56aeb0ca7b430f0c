"""T's grading kernels, forked from a warm parent instead of started cold: two-process grading's trusted side.

    from autograder.instructor.grading.warm_kernels import WarmSandbox

    with WarmSandbox(limits=Limits(), enabled=True, figures=True) as sandbox:
        km = sandbox.kernel_manager()    # a jupyter_client AsyncKernelManager, not started
        NotebookClient(nb, km=km, timeout=30).execute()    # cwd: sandbox.scratch
    # here the kernel is gone and the notebook's folder removed; the warm parent lives on

Why: every grading kernel's first cell imports NumPy, PyTorch and Matplotlib, and ipykernel
itself is imported at start: about 2 s of CPU, a quarter to a third of what a chapter-1 notebook
costs to grade (docs/SPEED.md). Issue #18 asked for warm T kernels reused between notebooks,
reset between students. A kernel that ran one notebook cannot be reset with certainty (module
attributes, NumPy's error state, warning filters, rcParams, caches), so nothing is reused: each
process that grades (a Dask worker, ``make check``) keeps one parent per kind of kernel
(``warm_parent.py``), which imports those modules once and never runs a notebook, and each
notebook's T is a ``fork`` of it. A fork starts from a copy of that untouched parent: no kernel
sees what an earlier one did, and its CPU limit (RLIMIT_CPU) counts from zero.

Only T is made so. T runs the instructor's template and receives the student's results as data
(protocol.py); the student's code runs in S, which is started cold in a sandbox of its own for
each notebook. The one-kernel path, where student code runs in the kernel, never uses this.

The sandbox: the parent runs in one bubblewrap sandbox (sandbox.py's, with the same limits and
environment) whose writable folder is the parent's folder ``W``. Each notebook gets ``W/n<k>``:
its connection file and sockets, the bridge's socket, its working folder (``work``) and its
``HOME`` and ``TMPDIR`` (``home``), removed when the notebook is done. The T's of one parent run
one after the other (a Dask worker grades one notebook at a time) in that one sandbox; they share
its PID namespace and its ``/tmp``, which they do not use. A T's kernel leads its own process
group, and stopping it kills the group (the parent kills it too when the kernel ends on its own).
A parent that does not answer in ``REQUEST_TIMEOUT_S`` is killed with its kernels, and one past
``RETIRE_AT_CPU_SHARE`` of its own CPU limit is replaced when no notebook uses it; either way the
next notebook gets a new parent.

jupyter_client: ``WarmProvisioner`` is a kernel provisioner (jupyter_client's public extension
point, registered as ``backprop-lab-warm`` in pyproject.toml's entry points) that asks the parent
to fork where ``LocalProvisioner`` would start a process; the rest (connection file, ports,
shutdown) is LocalProvisioner's.
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner

from autograder.i18n import ENV_VAR
from autograder.instructor.grading.sandbox import (
    KERNEL_OPTIONS,
    MAX_RUN_DIR_CHARS,
    KernelRun,
    Limits,
    Sandbox,
    kernel_environment,
)

PARENT_SCRIPT = Path(__file__).resolve().with_name("warm_parent.py")
PROVISIONER = "backprop-lab-warm"
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"  # what ipykernel sets when unset
STARTUP_TIMEOUT_S = 120  # the parent's first answer waits for its imports (a loaded machine: tens of s)
# A parent that has used this share of its own RLIMIT_CPU is replaced when no notebook uses it: it
# spends a few ms a notebook (its polls), so a Dask worker of a standing cluster (--scheduler) that
# grades for weeks would otherwise reach the limit, and SIGXCPU would end it with a kernel running.
RETIRE_AT_CPU_SHARE = 0.5
# A parent answers in microseconds; one silent this long is stuck (stopped, or out of memory in a
# fork) and is killed. Without it a request would wait forever, in nbclient's event loop, where no
# cell's time limit can fire: only the coordinator's backstop, and none at all under `make check`.
REQUEST_TIMEOUT_S = 60.0


FOLDER_PREFIX = "backprop-warm-"  # then the grading process's PID: W is "backprop-warm-<pid>-<random>"


def sweep_folders_of_ended_graders() -> None:
    """Remove the folders ``W`` that a grading process killed outright left in the temp folder.

    A grader killed with SIGKILL (a Dask worker its nanny restarts for the backstop) cannot remove
    its parent's folder, which holds the running notebook's files (cells.json: a student's code)
    in a folder every local user may read. Only a folder whose grader's PID no longer runs is
    removed; a PID that runs again (reused) keeps its folder, to be swept later. This assumes the
    graders that share a temp folder share a PID namespace (one machine or container).
    """
    for folder in Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*-*"):
        pid = folder.name[len(FOLDER_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(folder, ignore_errors=True)


# A module a kernel imports only when its code first uses something the template names, and which
# costs: the parent imports it before it forks a kernel for such a template (once: every later
# kernel of that parent has it too). torch's optimizers import torch._dynamo when the first one is
# made: 1.2 s of CPU in each T of chapters 4 to 6, whose tests build torch.optim.SGD and Adam.
LAZY_IMPORTS = {"torch.optim": "torch._dynamo"}


def preloads(template: Any) -> tuple[str, ...]:
    """The ``LAZY_IMPORTS`` modules a grading template's code cells will make its kernel import."""
    code = "\n".join(cell.source for cell in template.cells if cell.cell_type == "code")
    return tuple(sorted({module for name, module in LAZY_IMPORTS.items() if name in code}))


class WarmParentGone(RuntimeError):
    """The warm parent ended (killed, out of memory, the sandbox gone); the next kernel starts a new one."""


@dataclass(frozen=True)
class Kind:
    """What a parent's kernels share: each kind has its own parent."""

    limits: Limits
    enabled: bool
    device: str
    figures: bool


class WarmParent:
    """One warm parent process (warm_parent.py) in its sandbox, and its folder ``W``."""

    def __init__(self, kind: Kind) -> None:
        self.kind = kind
        sweep_folders_of_ended_graders()
        self.folder = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-"))
        self.folder.chmod(0o777)  # the sandbox's user (65534) makes each notebook's files here
        self._lock = threading.Lock()
        self._numbers = itertools.count()
        self.users = 0  # open WarmSandboxes (counted under _PARENTS_LOCK)
        self._asked, self._answered, self._unread = 0, False, b""  # the first answer comes after its imports
        backend = {} if not kind.figures else {"MPLBACKEND": INLINE_BACKEND}
        self._sandbox = Sandbox(scratch=self.folder, limits=kind.limits, enabled=kind.enabled,
                                device=kind.device, env=backend, run_root=self.folder, figures=kind.figures)
        self._sandbox.__enter__()
        run_dir = self._sandbox.run_dir
        assert run_dir is not None
        self.matplotlib_dir = run_dir / "matplotlib"
        self.backend = self._sandbox.env.get("MPLBACKEND", "")
        command = self._sandbox.kernel_command([sys.executable, "-P", str(PARENT_SCRIPT)])
        command = without_language(command)  # each kernel is given its own
        self.log = self.folder / "parent.log"
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                             stderr=log, start_new_session=True)

    def alive(self) -> bool:
        return self._process.poll() is None

    @property
    def answered(self) -> bool:
        """Whether it has answered a request yet (its imports are done)."""
        return self._answered

    def worn_out(self) -> bool:
        """True once the parent has used RETIRE_AT_CPU_SHARE of its own CPU limit (or has ended)."""
        try:
            usage = self.request(op="usage")
        except WarmParentGone:
            return True
        limit = usage.get("limit")
        return limit is not None and usage.get("cpu", 0) >= RETIRE_AT_CPU_SHARE * limit

    def request(self, **message: Any) -> dict[str, Any]:
        """Send one request, read its answer; WarmParentGone if the parent has ended or does not answer.

        Each request carries a number that its answer repeats: an answer nobody waited for (its
        asker was interrupted) is skipped, never taken for the next one's. A parent that has not
        answered in ``REQUEST_TIMEOUT_S`` (``STARTUP_TIMEOUT_S`` while it imports) is killed, with
        its kernels."""
        with self._lock:
            self._asked += 1
            number = self._asked
            line = (json.dumps({**message, "id": number}) + "\n").encode()
            try:
                os.write(self._process.stdin.fileno(), line)  # type: ignore[union-attr]
            except (OSError, ValueError) as error:
                raise WarmParentGone(f"T's warm parent has ended ({error}).") from error
            limit = REQUEST_TIMEOUT_S if self._answered else STARTUP_TIMEOUT_S
            deadline = time.monotonic() + limit
            while True:
                answer = json.loads(self._read_line(deadline, limit))
                if answer.get("id") == number:
                    self._answered = True
                    return answer

    def _read_line(self, deadline: float, limit: float) -> bytes:
        fd = self._process.stdout.fileno()  # type: ignore[union-attr]
        waiting = select.poll()  # not select.select: it refuses descriptors past 1023
        waiting.register(fd, select.POLLIN)
        while b"\n" not in self._unread:
            ready = waiting.poll(max(0.0, deadline - time.monotonic()) * 1000)
            if not ready:
                self.kill()
                raise WarmParentGone(f"T's warm parent did not answer in {limit:g} s and was "
                                     "killed, with its kernels; the next notebook starts a new one.")
            chunk = os.read(fd, 65536)
            if not chunk:
                said = self.log.read_text(errors="replace")[-500:] if self.log.exists() else ""
                code = self._process.poll()
                raise WarmParentGone(f"T's warm parent has ended (exit {code}). {said}".strip())
            self._unread += chunk
        line, _, self._unread = self._unread.partition(b"\n")
        return line

    def kill(self) -> None:
        """Kill bwrap, and so everything in the parent's sandbox."""
        try:
            os.killpg(self._process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._process.wait()

    def new_folder(self) -> Path:
        """A fresh ``W/n<k>`` for one notebook, with its ``work`` and ``home``."""
        folder = self.folder / f"n{next(self._numbers)}"
        for path in (folder, folder / "work", folder / "home"):
            path.mkdir()
            path.chmod(0o777)
        return folder

    def close(self) -> None:
        """End the parent (closing its stdin is enough; then a kill) and remove ``W``."""
        try:
            if self._process.stdin is not None:
                self._process.stdin.close()
            self._process.wait(timeout=5)
        except (subprocess.TimeoutExpired, OSError):
            self.kill()
        finally:
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._sandbox.__exit__(None, None, None)
            shutil.rmtree(self.folder, ignore_errors=True)


def without_language(command: list[str]) -> list[str]:
    """``command`` less sandbox_exec's ``--setenv BACKPROP_LAB_LANG=...`` pair."""
    kept: list[str] = []
    skip = False
    for position, part in enumerate(command):
        if skip:
            skip = False
            continue
        if part == "--setenv" and command[position + 1].startswith(f"{ENV_VAR}="):
            skip = True
            continue
        kept.append(part)
    return kept


_PARENTS: dict[Kind, WarmParent] = {}
_PARENTS_LOCK = threading.Lock()


def parent_for(kind: Kind) -> WarmParent:
    """This process's parent of that kind: started on first use, and again if it has ended."""
    with _PARENTS_LOCK:
        parent = _PARENTS.get(kind)
        # A parent that has not answered yet is still importing, not worn out: asking it would hold
        # this lock (and whoever waits for it: a worker's event loop, warm_up) until its imports end.
        if parent is not None and (not parent.alive() or (parent.users == 0 and parent.answered
                                                          and parent.worn_out())):
            parent.close()
            parent = None
        if parent is None:
            parent = _PARENTS[kind] = WarmParent(kind)
        return parent


def _use(kind: Kind) -> WarmParent:
    """parent_for(kind), counted as used until _release: a parent in use is never retired."""
    parent = parent_for(kind)
    with _PARENTS_LOCK:
        parent.users += 1
    return parent


def _release(parent: WarmParent) -> None:
    with _PARENTS_LOCK:
        parent.users -= 1


@atexit.register
def close_all() -> None:
    """End every warm parent of this process (at exit; tests call it too)."""
    with _PARENTS_LOCK:
        parents = list(_PARENTS.values())
        _PARENTS.clear()
    for parent in parents:
        parent.close()


class ForkedKernel:
    """What LocalProvisioner calls its ``process``: a kernel the parent forked, reached through it."""

    stdin = stdout = stderr = None  # LocalProvisioner.wait closes these if set

    def __init__(self, parent: WarmParent, pid: int) -> None:
        self.parent, self.pid = parent, pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                self.returncode = self.parent.request(op="poll", pid=self.pid)["returncode"]
            except WarmParentGone:  # the parent's sandbox ended: so did every kernel in it
                self.returncode = -signal.SIGKILL
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout or 0)
            time.sleep(0.02)
        return code

    def send_signal(self, number: int) -> None:
        if self.poll() is None:
            try:
                self.parent.request(op="signal", pid=self.pid, signal=int(number))
            except WarmParentGone:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class WarmProvisioner(LocalProvisioner):  # type: ignore[misc]
    """LocalProvisioner, but the kernel is forked by the warm parent its kernel manager names."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        spawn: Spawn = self.parent.backprop_spawn
        answer = spawn.parent.request(op="spawn", argv=cmd[1:], env=spawn.env, cwd=str(spawn.cwd),
                                      log=str(spawn.log), cell_folder=spawn.cell_folder,
                                      preload=list(spawn.preload))
        if "pid" not in answer:
            raise RuntimeError(f"T's warm parent did not start a kernel: {answer}")
        self.process = ForkedKernel(spawn.parent, int(answer["pid"]))
        self.pid, self.pgid = self.process.pid, None  # a PID in the sandbox: signals go through the parent
        self.cwd = str(spawn.cwd)
        return self.connection_info


@dataclass(frozen=True)
class Spawn:
    """What the provisioner hands the parent for one kernel."""

    parent: WarmParent
    env: dict[str, str]
    cwd: Path
    log: Path
    # A cold sandboxed kernel is PID 2 of its namespace, and ipykernel names a cell's code
    # /tmp/ipykernel_2/<hash>.py in every notebook (a warning or traceback of a T cell shows it);
    # a fork's own temp folder and PID would give a new name in every notebook. Unsandboxed, a cold
    # kernel's name has its PID too: None leaves ipykernel's.
    cell_folder: str | None = None
    preload: tuple[str, ...] = ()  # modules the parent imports first (``preloads``)


class WarmSandbox(KernelRun):
    """T's kernels for one notebook run, forked from this process's warm parent of their kind.

    The interface run_cells uses of ``sandbox.Sandbox``: ``limits``, ``scratch`` (the kernel's
    working folder, made here: T needs none of the caller's), ``run_dir`` (where the bridge's
    socket and cells file go, visible inside) and ``kernel_manager()``.
    """

    def __init__(self, limits: Limits | None = None, *, enabled: bool = True, device: str = "cpu",
                 figures: bool = True, preload: tuple[str, ...] = ()) -> None:
        self.limits, self.preload = limits or Limits(), preload
        self.kind = Kind(self.limits, enabled, device, figures)
        self.run_dir: Path | None = None
        self.scratch: Path | None = None
        self._parent: WarmParent | None = None
        self._managers: list[AsyncKernelManager] = []

    def __enter__(self) -> WarmSandbox:
        self._parent = _use(self.kind)
        try:
            self.run_dir = self._parent.new_folder()
            if len(str(self.run_dir)) > MAX_RUN_DIR_CHARS:
                raise ValueError(f"Run folder {self.run_dir} is too long for a Unix socket path; "
                                 "set TMPDIR to a shorter folder.")
        except BaseException:
            _release(self._parent)
            self._parent = None
            raise
        self.scratch = self.run_dir / "work"
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        try:
            super().__exit__(exc_type, exc, traceback)  # the kernels stopped, the notebook's folder removed
        finally:
            if self._parent is not None:
                _release(self._parent)
                self._parent = None

    @property
    def env(self) -> dict[str, str]:
        """A kernel's environment, exactly: a cold kernel's, with its own HOME and TMPDIR."""
        assert self._parent is not None and self.run_dir is not None, "use inside `with`"
        extra = {"MPLCONFIGDIR": str(self._parent.matplotlib_dir)}
        if self._parent.backend:
            extra["MPLBACKEND"] = self._parent.backend
        return kernel_environment(self.kind.device, str(self.run_dir / "home"), extra)

    def kernel_manager(self) -> AsyncKernelManager:
        """A kernel manager, not started, whose kernel the warm parent forks; stopped on exit."""
        assert self._parent is not None and self.run_dir is not None, "use inside `with`"
        log = self.run_dir / f"kernel-{len(self._managers)}.log"
        km = self._new_manager(["ipykernel", "-f", "{connection_file}", *KERNEL_OPTIONS],
                               "Python 3 (warm, sandbox)",
                               {"kernel_provisioner": {"provisioner_name": PROVISIONER}})
        km.backprop_spawn = Spawn(self._parent, self.env, self.run_dir / "work", log,
                                  cell_folder="/tmp/ipykernel_2" if self.kind.enabled else None,
                                  preload=self.preload)
        return km
