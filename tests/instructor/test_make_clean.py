"""`make clean` removes only what can be regenerated: never grading/ (the gradebook, its grades)."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_make_clean_never_touches_grading():
    plan = subprocess.run(["make", "-n", "clean"], cwd=REPO, capture_output=True, text=True,
                          check=True).stdout
    commands = [line for line in plan.splitlines() if line.startswith(("rm ", "find "))]
    assert commands, plan
    assert all("grading" not in line and "gradebook" not in line for line in commands), plan
    assert "kept grading/" in plan
