"""S, its sandbox and the broker, driven by T's bridge without a kernel (seconds, not minutes).

What S has and has not (torch, the harness, later chapters' reference), what a time limit and a
crash do (the call fails, S restarts, the cells are replayed, the next call works), and what the
worker sends S of a cell (IPython lines left out with a note, setup imports each in a try).
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder.instructor.grading.broker import WALL_FACTOR, Broker
from autograder.instructor.grading.protocol import StudentCodeError, StudentProcessLost, StudentTimeout
from autograder.instructor.grading.proxy import Bridge
from autograder.instructor.grading.sandbox import Limits, bwrap_problem
from autograder.instructor.grading.student_cells import setup_imports, student_cells, without_ipython
from autograder.instructor.grading.student_sandbox import StudentFolders, student_command

SETUP = ("try:\n    import numpy as np\nexcept ImportError:\n    pass\n"
         "try:\n    import torch\nexcept ImportError:\n    pass\n")


@contextlib.contextmanager
def student(cells: dict[str, str], chapter: int = 4, call_limit: float = 3.0):
    """A bridge to a fresh S for ``chapter``, sandboxed when bwrap works here; yields (bridge, ns)."""
    enabled = bwrap_problem() is None
    with tempfile.TemporaryDirectory(prefix="s-test-") as root:
        root_path = Path(root)
        root_path.chmod(0o755)
        folders = StudentFolders.create(root_path / "s", chapter)
        files = {"setup": SETUP, "cells": {key: {"source": source, "label": f"cell {key}", "notes": []}
                                           for key, source in cells.items()}}

        def command(generation: int) -> list[str]:
            return student_command(folders, Limits(), enabled=enabled, generation=generation,
                                   max_frame=1 << 26)

        with Broker(root_path / "b.sock", command, max_frame=1 << 26, log=root_path / "log") as broker:
            namespace: dict = {}
            bridge = Bridge(str(root_path / "b.sock"), files, call_limit, 1 << 26, namespace)
            bridge.before_request()
            yield bridge, namespace, broker


def run(bridge: Bridge, key: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        bridge.run_cell(key)
    return out.getvalue()


def test_s_has_numpy_and_earlier_chapters_but_not_torch_the_harness_or_later_chapters():
    cells = {"probe": (
        "import importlib\nfound = {}\n"
        "for name in ['numpy', 'matplotlib.pyplot', 'torch', 'IPython', 'autograder.checks',\n"
        "             'autograder.progress', 'autograder.reference.activations',\n"
        "             'autograder.reference.losses', 'autograder.reference.layers',\n"
        "             'autograder.reference.sequential']:\n"
        "    try:\n        importlib.import_module(name)\n        found[name] = True\n"
        "    except ImportError as error:\n        found[name] = str(error)\n"
        "print(sorted(k for k, v in found.items() if v is True))\n"
        "print(found['torch'])\n")}
    with student(cells, chapter=4, call_limit=60.0) as (bridge, namespace, _):  # imports take seconds
        printed = run(bridge, "probe")
    assert ("['autograder.reference.activations', 'autograder.reference.losses', 'matplotlib.pyplot', "
            "'numpy']") in printed, printed
    assert "the tests use PyTorch" in printed


def test_a_loop_fails_its_call_and_the_next_call_finds_the_replayed_cells():
    cells = {"1": "def loop():\n    while True:\n        pass\n\ndef double(x):\n    return 2 * x\n"}
    with student(cells, call_limit=1.5) as (bridge, namespace, broker):
        run(bridge, "1")
        with pytest.raises(StudentTimeout, match="ran past the 1.5 s limit"):
            namespace["loop"]()
        assert namespace["double"](np.arange(3.0)).tolist() == [0.0, 2.0, 4.0]
        assert broker.restarts == 2 and broker.timeouts == 1


def test_a_crash_fails_its_call_and_s_comes_back():
    cells = {"1": "import ctypes, os\ndef crash():\n    ctypes.string_at(0)\n"
                  "def leave():\n    os._exit(3)\ndef one():\n    return 1\n"}
    with student(cells) as (bridge, namespace, _):
        run(bridge, "1")
        with pytest.raises(StudentProcessLost, match="SIGSEGV"):
            namespace["crash"]()
        assert namespace["one"]() == 1
        with pytest.raises(StudentProcessLost, match="exit code 3"):
            namespace["leave"]()
        assert namespace["one"]() == 1


def test_output_is_capped_and_the_cell_still_defines_its_names():
    cells = {"1": "for _ in range(64):\n    print('x' * 2**20)\nvalue = 7\n"}
    with student(cells) as (bridge, namespace, _):
        printed = run(bridge, "1")
    assert namespace["value"] == 7
    assert len(printed) < 3 * 2**20 and "output cut" in printed


def test_ipython_lines_are_left_out_with_a_note_and_valid_python_is_never_changed():
    source, notes = without_ipython("x = 1\n%timeit f(x)\n!ls\nfiles = !ls\nf?\ny = x + 1")
    assert source == "x = 1\npass\npass\npass\npass\ny = x + 1" and len(notes) == 4
    assert "line 2" in notes[0] and "IPython syntax" in notes[0]
    assert without_ipython("ls -la\n") == ("ls -la\n", [])  # Python: a subtraction, not a shell alias
    assert without_ipython("%%time\nx = 1\n")[0] == ""


def test_setup_imports_each_in_a_try_and_which_cells_run_in_s():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import numpy as np\nimport torch\nx = 1"),
                nbformat.v4.new_code_cell("def f(): ...\n"), nbformat.v4.new_code_cell("print(1)")]
    nb.cells[0].metadata["nbgrader"] = {"grade_id": "setup", "locked": True}
    nb.cells[1].metadata["nbgrader"] = {"grade_id": "f", "solution": True}
    text = setup_imports(nb)
    assert "x = 1" not in text and text.count("except ImportError") == 2
    assert student_cells(nb, {2}) == [1, 2] and student_cells(nb, set()) == [1]


def test_an_object_of_a_lost_process_fails_alone_and_starts_nothing_again():
    cells = {"1": "class Box:\n    pass\ndef loop():\n    while True:\n        pass\n"
                  "def take(box):\n    return 1\n",
             "2": "def later():\n    return old_box  # a name of T holding the lost S's object\n"}
    with student(cells, call_limit=1.5) as (bridge, namespace, broker):
        run(bridge, "1")
        box = namespace["Box"]()
        with pytest.raises(StudentTimeout):
            namespace["loop"]()
        with pytest.raises(StudentCodeError, match="made before the student's process restarted"):
            namespace["take"](box)
        namespace["old_box"] = box
        run(bridge, "2")  # the stale object is not sent: the cell runs
        assert namespace["take"](1) == 1 and broker.restarts == 2, "one restart, for the time limit only"


def test_a_future_import_reaches_the_later_cells_as_in_ipython_and_survives_a_restart():
    cells = {"plain": "def before(x: int) -> int:\n    return x\nplain_hints = before.__annotations__\n",
             "future": "from __future__ import annotations\n",
             "typed": "class Node:\n    def add(self, other: Node) -> Node:\n        return self\n"
                      "def loop():\n    while True:\n        pass\n",
             "later": "def child(node: Node) -> Undefined:\n    return node\nhints = child.__annotations__\n"}
    with student(cells, call_limit=1.5) as (bridge, namespace, broker):
        run(bridge, "plain")  # S's own `annotations` (student_process.py) is not the cells' flag
        assert namespace["plain_hints"] == {"x": int, "return": int}
        run(bridge, "future")
        run(bridge, "typed")  # without the flag: NameError, Node is not yet bound in its own body
        with pytest.raises(StudentTimeout):
            namespace["loop"]()
        run(bridge, "later")  # in the fresh S, after the replay of "future"
        assert namespace["hints"] == {"node": "Node", "return": "Undefined"}
        assert broker.restarts == 2


def test_a_cell_that_loses_s_in_its_replay_is_left_out_and_the_later_cells_come_back():
    # "flaky" loops only when it runs again (its first run leaves a file in S's scratch folder):
    # the replay after the first time limit loses S in it, and "later" must still be replayed.
    cells = {"early": "def double(x):\n    return 2 * x\n",
             "flaky": "import os\nwhile os.path.exists('ran-once'):\n    pass\n"
                      "open('ran-once', 'w').close()\n",
             "later": "def triple(x):\n    return 3 * x\ndef loop():\n    while True:\n        pass\n",
             "uses": "def sextuple(x):\n    return double(triple(x))\n"}
    with student(cells, call_limit=1.5) as (bridge, namespace, broker):
        for key in ("early", "flaky", "later"):
            run(bridge, key)
        with pytest.raises(StudentTimeout):
            namespace["loop"]()
        assert namespace["triple"](2) == 6 and namespace["double"](2) == 4
        run(bridge, "uses")  # S itself has the replayed names
        assert namespace["sextuple"](1) == 6
        assert bridge.ran == ["early", "later", "uses"]
        assert broker.restarts == 3 and broker.timeouts == 2, "the loop's limit, then flaky's replay"


def test_the_limit_is_s_on_the_cpu_so_a_wait_gets_more_time_up_to_a_backstop():
    # A loaded machine makes S wait for a core: that must not fail an honest call. A loop burns
    # CPU and is stopped at the limit (above); a wait is stopped at WALL_FACTOR x the limit.
    cells = {"1": "import time\ndef wait(seconds):\n    time.sleep(seconds)\n    return seconds\n"}
    with student(cells, call_limit=1.5) as (bridge, namespace, broker):
        run(bridge, "1")
        assert namespace["wait"](2.5) == 2.5, "past the limit in wall time, but S was not running"
        started = time.monotonic()
        with pytest.raises(StudentTimeout, match="ran past the 1.5 s limit"):
            namespace["wait"](60)
        assert time.monotonic() - started < 1.5 * WALL_FACTOR + 2
        assert broker.timeouts == 1


def test_s_own_failure_reaches_the_brokers_log_not_the_students_output_file():
    """S's fd 2 is the student's output file (a ``print`` of theirs cannot reach the protocol); S's
    own traceback, when its loop fails (here: a frame that is not msgpack), must go to the stderr
    it was started with, the broker's log, which the worker quotes when S does not start."""
    import subprocess
    import sys

    from autograder.instructor.grading.protocol import HEADER, REQUEST

    with tempfile.TemporaryDirectory(prefix="s-test-") as root:
        folders = StudentFolders.create(Path(root) / "s", 4)
        program = [sys.executable, "-I", "-S", str(folders.lib / "student_process.py")]
        options = ["--site", str(Path(np.__file__).parent.parent), "--generation", "1"]
        env = {"TMPDIR": str(folders.run / "tmp"), "PATH": "/usr/bin:/bin"}
        garbage = b"\xc1not msgpack"
        frame = HEADER.pack(len(garbage), REQUEST, 1, 0.0) + garbage
        done = subprocess.run([*program, "--lib", str(folders.lib), *options], input=frame,
                              capture_output=True, timeout=120, env=env)
        assert done.returncode != 0 and done.stdout == b"", done
        assert b"Traceback" in done.stderr and b"Error" in done.stderr, done.stderr[-2000:]
        # S cannot even start (no protocol.py beside it): that too is in the log, not lost
        empty = Path(root) / "empty"
        empty.mkdir()
        done = subprocess.run([*program, "--lib", str(empty), *options], input=b"", capture_output=True,
                              timeout=120, env=env)
        assert done.returncode != 0 and b"No module named 'protocol'" in done.stderr, done.stderr[-2000:]
