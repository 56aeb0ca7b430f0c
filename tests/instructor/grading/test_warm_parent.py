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
