"""A kernel in the sandbox sees, writes and reaches only what it should, and leaves no process behind
(autograder/instructor/grading/sandbox.py).

One kernel answers most questions: each probe is a cell that prints one JSON value.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, DeadKernelError
from nbformat.v4 import new_code_cell, new_notebook

import autograder
from autograder.instructor.grading import sandbox as sandbox_module
from autograder.instructor.grading.sandbox import (
    SANDBOX_UID,
    Limits,
    Sandbox,
    bwrap_problem,
    iter_sandbox_processes,
    mount_args,
)

# Starts kernels; one xdist worker, so the probed kernel (a module fixture) starts once.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("sandbox")]

PACKAGE = Path(autograder.__file__).resolve().parent
REPO = PACKAGE.parent
GiB = 2**30


def _require_bwrap() -> None:
    if (problem := bwrap_problem()) is not None:
        pytest.skip(problem)


def _run(cells: list[str], scratch: Path, *, enabled: bool = True, **client_options) -> list[str]:
    """Run code cells in one sandboxed kernel; return each cell's stdout."""
    nb = new_notebook(cells=[new_code_cell(source) for source in cells])
    with Sandbox(scratch, enabled=enabled) as sandbox:
        NotebookClient(nb, km=sandbox.kernel_manager(), timeout=60, **client_options).execute(cleanup_kc=True)
    return ["".join(out.get("text", "") for out in cell.outputs if out.output_type == "stream")
            for cell in nb.cells]


PROBES = {
    "uid": "os.getuid()",
    "cwd": "os.getcwd()",
    "pids": "sorted(int(p) for p in os.listdir('/proc') if p.isdigit())",
    "repo_entries": f"sorted(os.listdir({str(REPO)!r}))",
    "repo_hidden": f"[p for p in ('solutions', 'grading', 'pyproject.toml', '.git', 'tests') "
                   f"if os.path.lexists(os.path.join({str(REPO)!r}, p))]",
    "autograder": "__import__('autograder').__file__",
    "numpy_torch": "[__import__('numpy').__version__, __import__('torch').__version__]",
    "write_package": f"write({str(PACKAGE / 'planted.py')!r})",
    "write_prefix": "write(os.path.join(sys.prefix, 'planted.pth'))",
    "write_root": f"write({str(REPO / 'numpy.py')!r})",
    "write_scratch": "write('made_inside.txt')",
    "write_dev": "write('/dev/planted')",
    "tmpfs_bytes": "[os.statvfs(p).f_blocks * os.statvfs(p).f_frsize for p in ('/tmp', '/dev/shm')]",
    "connect_grader": "connect(('127.0.0.1', GRADER_PORT))",
    "connect_out": "connect(('1.1.1.1', 53))",
    "env": "{k: os.environ.get(k) for k in ('BACKPROP_LAB_GRADING', 'BACKPROP_LAB_DEVICE', "
           "'HOME', 'OMP_NUM_THREADS', 'SANDBOX_TEST_SECRET')}",
    "rlimit_data": "resource.getrlimit(resource.RLIMIT_DATA)[0]",
    "history": "get_ipython().history_manager.enabled",
    "shadowed": "[hasattr(__import__(name), 'SHADOWED') for name in ('autograder', 'tqdm')]",
    "file_too_large": "too_large()",
    "memory_hog": "hog()",
    "alive_after_hog": "'alive'",
}

PRELUDE = """\
import json, os, resource, socket, sys
def write(path):
    try:
        with open(path, 'w') as f:
            f.write('x')
        return 'written'
    except OSError as error:
        return type(error).__name__ + ': ' + str(error.errno)
def connect(address):
    try:
        socket.create_connection(address, timeout=3).close()
        return 'connected'
    except OSError as error:
        return type(error).__name__
def too_large():
    try:
        with open('/tmp/big', 'wb') as f:
            f.seek(FILE_BYTES)  # sparse: nothing is written below the limit
            f.write(b'x')
        return 'written'
    except OSError as error:
        return error.errno
def hog():
    import numpy
    try:
        block = numpy.empty(6 * 2**30, dtype=numpy.uint8)  # reserved, not touched: harmless if unlimited
        return 'allocated %d bytes' % block.nbytes
    except MemoryError:
        return 'MemoryError'
"""


@pytest.fixture(scope="module")
def probed(tmp_path_factory) -> dict:
    _require_bwrap()
    scratch = tmp_path_factory.mktemp("scratch")
    for name in ("autograder", "tqdm"):  # a submission's fake harness, and a package not imported yet
        (scratch / f"{name}.py").write_text("SHADOWED = True\n")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    os.environ["SANDBOX_TEST_SECRET"] = "grader-only"
    try:
        cells = [PRELUDE + f"GRADER_PORT = {listener.getsockname()[1]}\nFILE_BYTES = {Limits().file_bytes}"]
        cells += [f"print(json.dumps({code}))" for code in PROBES.values()]
        outputs = _run(cells, scratch)
    finally:
        del os.environ["SANDBOX_TEST_SECRET"]
        listener.close()
    answers = {name: json.loads(out) if out else None for name, out in zip(PROBES, outputs[1:])}
    answers["scratch"] = scratch
    return answers


def test_the_kernel_runs_as_nobody_in_the_scratch_folder(probed):
    assert probed["uid"] == SANDBOX_UID
    assert probed["cwd"] == str(probed["scratch"])


def test_the_kernel_sees_only_its_own_processes(probed):
    assert len(probed["pids"]) <= 4 and max(probed["pids"]) < 100, probed["pids"]


def test_the_repository_is_absent_but_the_package_imports(probed):
    assert probed["repo_hidden"] == []
    assert set(probed["repo_entries"]) <= {"autograder", Path(sys.prefix).name}
    assert probed["autograder"] == str(PACKAGE / "__init__.py")
    assert probed["numpy_torch"][0] and probed["numpy_torch"][1]


def test_a_file_in_the_submission_cannot_shadow_a_module(probed):
    assert probed["shadowed"] == [False, False]


def test_only_the_scratch_folder_is_writable(probed):
    assert probed["write_package"] == "OSError: 30"  # EROFS
    assert probed["write_prefix"] == "OSError: 30"
    assert probed["write_root"] == "OSError: 30"
    assert probed["write_dev"] == "OSError: 30"
    assert probed["write_scratch"] == "written"
    assert (probed["scratch"] / "made_inside.txt").read_text() == "x"
    assert not (PACKAGE / "planted.py").exists()


def test_there_is_no_network(probed):
    assert probed["connect_grader"] in ("ConnectionRefusedError", "OSError")
    assert probed["connect_out"] != "connected"


def test_the_environment_is_explicit(probed):
    assert probed["env"] == {"BACKPROP_LAB_GRADING": "1", "BACKPROP_LAB_DEVICE": "cpu", "HOME": "/tmp",
                             "OMP_NUM_THREADS": "1", "SANDBOX_TEST_SECRET": None}
    assert probed["history"] is False


def test_a_file_over_the_limit_cannot_be_written(probed):
    assert probed["file_too_large"] == errno.EFBIG


def test_the_writable_tmpfs_are_capped(probed):
    assert all(0 < size <= Limits().tmp_bytes for size in probed["tmpfs_bytes"]), probed["tmpfs_bytes"]


def test_a_memory_hog_gets_memory_error_and_the_kernel_lives(probed):
    assert probed["rlimit_data"] == Limits().memory_bytes
    assert probed["memory_hog"] == "MemoryError"
    assert probed["alive_after_hog"] == "alive"


# Every process the kernel starts carries MARKER on its command line, so the test sees it from outside.
SPAWN = """\
import os, subprocess, sys
MARKER = {marker!r}
SLEEPER = 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); ' \\
          'signal.signal(signal.SIGHUP, signal.SIG_IGN); time.sleep(600)'
subprocess.Popen(['setsid', sys.executable, '-c', SLEEPER, MARKER], start_new_session=True)
if os.fork() == 0:          # a double-forked daemon in its own session
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, '-c', SLEEPER, MARKER])
    os._exit(0)
"""
ENDINGS = {
    "normal": "print('done')",
    "interrupted": "import time; time.sleep(600)",
    "crash": "import os, signal; os.kill(os.getpid(), signal.SIGKILL)",
    "timeout_ignoring_sigint": "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                               "while True: time.sleep(0.05)",
}


def _wait_for(marker: str, count: int, timeout_s: float = 20) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while len(pids := list(iter_sandbox_processes(marker))) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return pids


@pytest.mark.parametrize("ending", ENDINGS)
def test_no_process_outlives_the_sandbox(tmp_path, ending):
    _require_bwrap()
    marker = f"sandbox-test-{uuid.uuid4().hex}"
    nb = new_notebook(cells=[new_code_cell(SPAWN.format(marker=marker)),
                             new_code_cell("import time; time.sleep(0.5)"),
                             new_code_cell(ENDINGS[ending])])
    seen: list[int] = []
    with Sandbox(tmp_path) as sandbox:
        # nbgrader's way with a cell that runs too long: interrupt it, record a timeout, go on.
        timeout_reply = {"ename": "Timeout", "evalue": "", "traceback": []}
        client = NotebookClient(nb, km=sandbox.kernel_manager(), timeout=3, interrupt_on_timeout=True,
                                error_on_timeout=None if ending == "interrupted" else timeout_reply,
                                on_cell_executed=lambda cell, cell_index, execute_reply: seen.extend(
                                    iter_sandbox_processes(marker)) if cell_index == 1 else None)
        try:
            client.execute()
            error = None
        except (DeadKernelError, CellExecutionError) as raised:
            error = raised
    expected = {"normal": None, "crash": "DeadKernelError", "interrupted": "KeyboardInterrupt",
                "timeout_ignoring_sigint": "Timeout"}[ending]
    said = None if error is None else getattr(error, "ename", type(error).__name__)
    assert said == expected  # "interrupted": the interrupt message reached a kernel in its own session
    assert len(set(seen)) >= 2, "the daemons never started: the test proves nothing"
    assert list(iter_sandbox_processes(marker)) == []


def test_no_process_outlives_a_kernel_nobody_shut_down(tmp_path):
    _require_bwrap()
    marker = f"sandbox-test-{uuid.uuid4().hex}"
    with Sandbox(tmp_path) as sandbox:
        km = sandbox.kernel_manager()
        run_sync(km.start_kernel)()
        client = km.client()
        client.start_channels()
        try:
            run_sync(client.wait_for_ready)(timeout=60)
            client.execute(SPAWN.format(marker=marker) + "import time; time.sleep(0.5)")
            assert len(_wait_for(marker, 2)) >= 2
        finally:
            client.stop_channels()
        # the `with` ends with a running kernel, and its daemons
    assert list(iter_sandbox_processes(marker)) == []


def test_without_the_sandbox_the_api_limits_and_environment_stay(tmp_path):
    out = _run(["import os, resource; print(os.getcwd(), os.environ['BACKPROP_LAB_GRADING'], "
                "resource.getrlimit(resource.RLIMIT_DATA)[0], os.getuid())"], tmp_path, enabled=False)
    assert out[0].split() == [str(tmp_path.resolve()), "1", str(Limits().memory_bytes), str(os.getuid())]


def test_the_mounts_come_in_an_order_that_shadows_nothing(tmp_path):
    args = mount_args(tmp_path / "scratch", tmp_path)
    assert args.index("/tmp") < args.index(str(tmp_path))  # --tmpfs /tmp before the binds under /tmp
    assert args[-4:] == ["--remount-ro", "/dev", "--remount-ro", "/"]
    bound = [args[i + 1] for i, flag in enumerate(args) if flag in ("--ro-bind", "--bind")]
    assert "/etc" not in bound and str(REPO) not in bound  # /etc/shadow; solutions/, grading/
    assert str(PACKAGE) in bound or PACKAGE.is_relative_to(Path(sys.prefix).resolve())


def test_bwrap_problem_says_what_to_do_when_bwrap_is_missing(monkeypatch):
    monkeypatch.setattr(sandbox_module, "bwrap_executable", lambda: None)
    sandbox_module.bwrap_problem.cache_clear()
    try:
        problem = sandbox_module.bwrap_problem()
    finally:
        sandbox_module.bwrap_problem.cache_clear()
    assert problem is not None and "--no-sandbox" in problem and "bubblewrap" in problem


def test_bwrap_problem_says_so_when_bwrap_cannot_start_a_sandbox(monkeypatch):
    monkeypatch.setattr(sandbox_module, "bwrap_executable", lambda: Path("/bin/false"))
    sandbox_module.bwrap_problem.cache_clear()
    try:
        problem = sandbox_module.bwrap_problem()
    finally:
        sandbox_module.bwrap_problem.cache_clear()
    assert problem is not None and "could not start a sandbox" in problem and "--no-sandbox" in problem


def test_killing_the_grader_kills_the_kernel(tmp_path):
    """A grader killed mid-run (SIGKILL: no cleanup code runs) takes its kernels' processes along."""
    _require_bwrap()
    marker = f"sandbox-test-{uuid.uuid4().hex}"
    # A killed grader cannot remove its run folder: make it where this test removes it.
    run_root = Path(tempfile.mkdtemp(prefix="sbx-"))
    script = tmp_path / "grader.py"  # not `python -c`: the marker must not be on the grader's command line
    script.write_text(f"""
from pathlib import Path
from jupyter_core.utils import run_sync
from autograder.instructor.grading.sandbox import Sandbox
with Sandbox(Path({str(tmp_path)!r}), run_root=Path({str(run_root)!r})) as sandbox:
    km = sandbox.kernel_manager()
    run_sync(km.start_kernel)()
    client = km.client(); client.start_channels(); run_sync(client.wait_for_ready)(timeout=60)
    client.execute({SPAWN.format(marker=marker)!r})
    import time; time.sleep(600)
""")
    grader = subprocess.Popen([sys.executable, str(script)], env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        assert len(_wait_for(marker, 2, timeout_s=40)) >= 2
    finally:
        grader.send_signal(signal.SIGKILL)
        grader.wait()
        deadline = time.monotonic() + 10
        while list(iter_sandbox_processes(marker)) and time.monotonic() < deadline:
            time.sleep(0.1)
        shutil.rmtree(run_root)
    assert list(iter_sandbox_processes(marker)) == []


def test_a_read_only_folder_under_tmp_gets_a_read_only_parent(monkeypatch, tmp_path):
    """A clone in /tmp: its folder (on sys.path) must not be writable inside the sandbox's /tmp."""
    from autograder.instructor.grading import sandbox

    monkeypatch.setattr(sandbox, "read_only_paths", lambda: [Path("/tmp/clone/autograder"),
                                                             Path("/tmp/clone/.venv")])
    (tmp_path / "run").mkdir()
    args = sandbox.mount_args(tmp_path / "scratch", tmp_path / "run")
    assert args.count("/tmp/clone") == 2  # --tmpfs /tmp/clone ... --remount-ro /tmp/clone
    assert args.index("/tmp/clone") < args.index("/tmp/clone/autograder")
    assert args[-6:-4] == ["--remount-ro", "/tmp/clone"]
