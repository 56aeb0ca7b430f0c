"""The broker between T and S: it relays frames, starts S on T's request and keeps the time limit
(autograder/instructor/grading/broker.py). S and T for real, through it: test_student_process.py."""

from __future__ import annotations

import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

import msgpack
import pytest

from autograder.instructor.grading.broker import LAST_WORDS_S, WALL_FACTOR, Broker, tree_cpu_seconds
from autograder.instructor.grading.protocol import CONTROL, HEADER, OUTPUT, REPLY, REQUEST

# A stand-in S: answers each request with its own body; with "sleep" (idle) or "spin" (busy) in the
# body it never answers.
ECHO_S = f"""
import struct, sys, time
HEADER = struct.Struct({HEADER.format!r})
while True:
    head = sys.stdin.buffer.read(HEADER.size)
    if len(head) < HEADER.size:
        break
    length, kind, msgid, limit = HEADER.unpack(head)
    body = sys.stdin.buffer.read(length)
    if b"sleep" in body:
        time.sleep(60)
    while b"spin" in body:
        pass
    sys.stdout.buffer.write(HEADER.pack(length, {REPLY}, msgid, 0.0) + body)
    sys.stdout.buffer.flush()
"""


def _read_frame(t: socket.socket) -> tuple[int, int, dict]:
    """The next frame T's socket gets: (kind, message id, body)."""
    head = b""
    while len(head) < HEADER.size:
        head += t.recv(HEADER.size - len(head))
    length, kind, msgid, _ = HEADER.unpack(head)
    data = bytearray()  # appended in place: a large frame in linear time (bytes += copies it all)
    while len(data) < length:
        data += t.recv(min(length - len(data), 1 << 20))
    return kind, msgid, msgpack.unpackb(data, raw=False)


def _send(t: socket.socket, kind: int, msgid: int, body: dict, limit: float = 0.0) -> dict:
    data = msgpack.packb(body, use_bin_type=True)
    t.sendall(HEADER.pack(len(data), kind, msgid, limit) + data)
    kind, answered, reply = _read_frame(t)
    assert (kind, answered) == (REPLY, msgid)
    return reply


@pytest.fixture
def folder():
    path = Path(tempfile.mkdtemp(prefix="brk-"))  # short: a Unix socket's path has 107 bytes at most
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_the_broker_relays_starts_s_and_ends_a_call_past_its_limit(folder):
    with Broker(folder / "b.sock", lambda generation: [sys.executable, "-c", ECHO_S], max_frame=1 << 20,
                log=folder / "log") as broker, socket.socket(socket.AF_UNIX) as t:
        t.connect(str(folder / "b.sock"))
        t.settimeout(30)
        lost = _send(t, REQUEST, 1, {"op": "call"})
        assert lost["error"]["type"] == "StudentProcessLost", "no S before T asks for one"
        # The broker's own errors carry its secret, which T learns from a restart's answer (S never sees
        # it): an error S names StudentProcessLost is not taken for S's end (test_redteam_session10).
        assert lost["error"]["token"] == broker.token and len(broker.token) == 32
        assert _send(t, CONTROL, 2, {"op": "restart"}) == {"ok": 1, "token": broker.token}
        assert _send(t, REQUEST, 3, {"op": "call", "x": 7}) == {"op": "call", "x": 7}
        late = _send(t, REQUEST, 4, {"op": "sleep"}, limit=0.5)
        assert late["error"]["type"] == "StudentTimeout" and "0.5 s limit" in late["error"]["message"], late
        assert late["error"]["token"] == broker.token
        assert (broker.timeouts, broker.restarts) == (1, 1)
        assert _send(t, REQUEST, 5, {"op": "call"})["error"]["type"] == "StudentProcessLost"
        assert _send(t, CONTROL, 6, {"op": "restart"})["ok"] == 2
        assert _send(t, REQUEST, 7, {"op": "again"}) == {"op": "again"}


def test_a_call_whose_s_waits_rather_than_computes_gets_more_time_and_a_busy_one_is_stopped(folder):
    """The limit counts S's CPU: an S that sleeps (as one waiting for a core would) used none of it, so
    it is stopped only at WALL_FACTOR times the limit; one that computes is stopped by then too."""
    limit = 0.5
    with Broker(folder / "b.sock", lambda generation: [sys.executable, "-c", ECHO_S], max_frame=1 << 20,
                log=folder / "log") as broker, socket.socket(socket.AF_UNIX) as t:
        t.connect(str(folder / "b.sock"))
        t.settimeout(60)
        timings = {}
        for op in ("sleep", "spin"):
            assert _send(t, CONTROL, 1, {"op": "restart"})["ok"] >= 1
            assert _send(t, REQUEST, 2, {"op": "warm"}) == {"op": "warm"}  # S has started
            started = time.monotonic()
            late = _send(t, REQUEST, 3, {"op": op}, limit=limit)
            timings[op] = time.monotonic() - started
            assert late["error"]["type"] == "StudentTimeout", late
        assert broker.timeouts == 2
    assert timings["sleep"] >= WALL_FACTOR * limit - 0.05, (
        f"an idle S was stopped after {timings['sleep']:.2f} s: its CPU was not what counted")
    assert timings["spin"] < WALL_FACTOR * limit + 5.0, timings  # a loaded machine: within the backstop


def test_tree_cpu_seconds_counts_a_busy_process_and_its_children():
    import subprocess

    spin = "while True: pass"
    busy = subprocess.Popen([sys.executable, "-c", "import subprocess, sys\n"
                             f"subprocess.Popen([sys.executable, '-c', {spin!r}])\n{spin}"])
    try:
        time.sleep(1.5)
        assert tree_cpu_seconds(busy.pid) > 0.3  # two spinning processes, on at least one core
    finally:
        subprocess.run(["pkill", "-P", str(busy.pid)], check=False)
        busy.kill()
        busy.wait()
    assert tree_cpu_seconds(busy.pid) is None, "a process that is gone has no CPU time"


def test_a_frame_larger_than_one_read_crosses_whole_both_ways(folder):
    """Frames arrive in chunks of at most 1 MiB; the broker's buffers (bytearrays, so a frame of
    many chunks costs linear time) must hand on each frame whole, and the next one after it."""
    with Broker(folder / "b.sock", lambda generation: [sys.executable, "-c", ECHO_S], max_frame=64 << 20,
                log=folder / "log"), socket.socket(socket.AF_UNIX) as t:
        t.connect(str(folder / "b.sock"))
        t.settimeout(60)
        assert _send(t, CONTROL, 1, {"op": "restart"})["ok"] == 1
        big = bytes(range(256)) * (12 << 12)  # 12 MiB
        assert _send(t, REQUEST, 2, {"op": "call", "x": big}) == {"op": "call", "x": big}
        assert _send(t, REQUEST, 3, {"op": "after"}) == {"op": "after"}


# A stand-in S that never answers its call, and at the broker's SIGUSR1 sends its last words (an OUTPUT
# frame), ignores it, or sends another kind of frame.
LAST_WORDS_STAND_IN = f"""
import signal, struct, sys, time
import msgpack
HEADER = struct.Struct({HEADER.format!r})
mode = sys.argv[1]
def words(number, frame):
    kind = {OUTPUT} if mode == "output" else {REPLY}
    body = msgpack.packb({{"output": {{"stdout": "epoch 1\\n"}}}})
    sys.stdout.buffer.write(HEADER.pack(len(body), kind, 1, 0.0) + body)
    sys.stdout.buffer.flush()
signal.signal(signal.SIGUSR1, signal.SIG_IGN if mode == "ignore" else words)
head = sys.stdin.buffer.read(HEADER.size)
sys.stdin.buffer.read(HEADER.unpack(head)[0])
while True:
    time.sleep(0.01)
"""


def _frames_until_reply(t: socket.socket) -> list[tuple[int, dict]]:
    frames = []
    while not frames or frames[-1][0] != REPLY:
        kind, _, body = _read_frame(t)
        frames.append((kind, body))
    return frames


@pytest.mark.parametrize("mode", ["output", "ignore", "reply"])
def test_a_call_stopped_at_its_limit_passes_on_what_s_printed_and_nothing_else(folder, mode):
    """At a call's limit the broker asks S for the output it has not sent (SIGUSR1) and gives T that one
    OUTPUT frame before the StudentTimeout; an S that ignores the signal, or answers with another frame,
    is stopped all the same, at most LAST_WORDS_S later."""
    command = [sys.executable, "-c", LAST_WORDS_STAND_IN, mode]
    with Broker(folder / "b.sock", lambda generation: command, max_frame=1 << 20, log=folder / "log"), \
            socket.socket(socket.AF_UNIX) as t:
        t.connect(str(folder / "b.sock"))
        t.settimeout(30)
        assert _send(t, CONTROL, 1, {"op": "restart"})["ok"] == 1
        time.sleep(0.5)  # the stand-in's signal handler is set
        data = msgpack.packb({"op": "call"}, use_bin_type=True)
        started = time.monotonic()
        t.sendall(HEADER.pack(len(data), REQUEST, 2, 0.5) + data)
        frames = _frames_until_reply(t)
        took = time.monotonic() - started
    *before, (_, stopped) = frames
    assert stopped["error"]["type"] == "StudentTimeout", stopped
    assert before == ([(OUTPUT, {"output": {"stdout": "epoch 1\n"}})] if mode == "output" else []), before
    assert took < 0.5 * WALL_FACTOR + LAST_WORDS_S + 2, took
