"""The warm parent's requests (autograder/instructor/grading/warm_parent.py); its forks are
tested through warm_kernels.py (test_warm_kernels.py)."""

from __future__ import annotations

import io
import json
import os
import signal

from autograder.instructor.grading import warm_parent


def answers(*requests: dict) -> list[dict]:
    replies = io.StringIO()
    warm_parent.serve([json.dumps(r) + "\n" for r in requests], replies)
    return [json.loads(line) for line in replies.getvalue().splitlines()]


def test_a_pid_the_parent_did_not_fork_is_never_signalled_and_reads_as_ended(monkeypatch) -> None:
    sent = []
    monkeypatch.setattr(os, "killpg", lambda *args: sent.append(args))
    assert answers({"op": "signal", "pid": os.getpid(), "signal": int(signal.SIGKILL)},
                   {"op": "poll", "pid": os.getpid()}) == [{"ok": False}, {"returncode": 0}]
    assert sent == []


def test_an_unknown_request_is_answered_with_an_error_and_the_parent_goes_on() -> None:
    assert answers({"op": "exec", "source": "x"}, {"op": "poll", "pid": 1}) == [
        {"error": "unknown op 'exec'"}, {"returncode": 0}]


def test_when_the_grader_goes_every_kernel_still_running_is_killed(monkeypatch) -> None:
    sent = []
    monkeypatch.setattr(os, "fork", lambda: 4242)  # the parent's side of a fork; no child is made
    monkeypatch.setattr(os, "waitid", lambda *args: None)  # still running
    monkeypatch.setattr(os, "killpg", lambda *args: sent.append(args))
    spawn = {"op": "spawn", "argv": [], "env": {}, "cwd": "/", "log": os.devnull, "id": 1}
    assert answers(spawn) == [{"pid": 4242, "id": 1}]  # then stdin ends
    assert sent == [(4242, signal.SIGKILL)]
