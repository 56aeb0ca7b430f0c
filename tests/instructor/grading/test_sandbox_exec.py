"""sandbox_exec.py, the first program inside a sandbox, sets limits and the environment and then execs
(autograder/instructor/grading/sandbox_exec.py)."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from autograder.instructor.grading.sandbox import EXEC_SCRIPT

# Moved with their tests from test_sandbox.py (which starts kernels on one xdist worker).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("sandbox")]


def test_sandbox_exec_sets_limits_and_environment_then_execs():
    probe = "import os, resource; print(resource.getrlimit(resource.RLIMIT_FSIZE), sorted(os.environ))"
    done = subprocess.run([sys.executable, "-I", "-S", str(EXEC_SCRIPT), "--rlimit", "FSIZE=4096",
                           "--setenv", "ONLY=1", "--", sys.executable, "-S", "-c", probe],
                          capture_output=True, text=True, check=True)
    assert done.stdout.split(" ", 2)[:2] == ["(4096,", "4096)"]
    assert "'ONLY'" in done.stdout and "PATH" not in done.stdout


def test_sandbox_exec_cpu_limit_ends_a_busy_loop():
    done = subprocess.run([sys.executable, "-I", "-S", str(EXEC_SCRIPT), "--rlimit", "CPU=1", "--",
                           sys.executable, "-S", "-c", "while True: pass"], timeout=60)
    assert done.returncode == -signal.SIGXCPU
