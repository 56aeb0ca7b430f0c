"""Red team, session 11b: the last words of a call stopped at its limit (0edf598).
(The attacks that take over 5 s each also carry ``two_process_suite``: `make test-two-process`.)

The broker sends SIGUSR1 to S's processes when a call runs past its limit; S's handler sends one
``OUTPUT`` frame of what the student's code printed; the broker passes the first such frame to T,
drops the rest, and kills S. Attacked here as a student, through ``grade_task`` on the demo chapter.

HELD (each earns no more than the same notebook without the trick; an honest one keeps its marks):
- a student's own SIGUSR1 handler that sends the right answer as a REPLY to the stopped call (before
  and after its OUTPUT), a request asking T to run code, a second OUTPUT frame, or a fake "All tests
  passed": the broker drops all but the first OUTPUT frame; the text shows in the test's cell only,
  the score comes from the StudentTimeout;
- OUTPUT frames outside a stop (written to the descriptor, or S's handler run by raising SIGUSR1):
  out of turn, S is lost, the call fails;
- handlers that sleep, block signals and spin, send half a frame, flood small frames, fork eight
  children that each send last words, send 20 MB (T's output cap keeps 2 MB) or 200 MB: each costs
  the call its limit plus at most LAST_WORDS_S; the notebook is graded with cube's point;
- a process named "bwrap..." is not signalled: it loses only its own last words;
- honest: loops in time.sleep, in NumPy matmuls, in SVDs of seconds (the output printed before may be
  lost: S's handler waits for NumPy to return), after 2.4 MB of prints, a learner's own SIGUSR1
  handler (full marks), SIGUSR1 reset to default or ignored, forked children that print 100 kB each
  (no garbled frame reached T), a stopped call nested S -> T -> S (its output in the test's cell,
  before the stop); no line of a hidden test reaches an output.

BROKE, fixed:
- the broker passed S's OUTPUT frame to T as S wrote it. A body T could not read (a list, not
  msgpack, a map cut short) raised in T's ``Channel.read``: the StudentTimeout after it stayed
  unread, T's stream was one answer behind, and every later cell failed ("an answer to message 4,
  expected 5"; the notebook lost cube's point, only its own). The broker now reads it and sends a
  frame of its own with only the strings under stdout and stderr, or nothing (``_pass_output``).
- S's handler packed the learner's text as printed: a lone surrogate (``print('\\udc80')``) made
  msgpack raise in the learner's code and the output was lost; now replaced as ``extras_out`` does.
"""

from __future__ import annotations

import json
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

import msgpack
import nbformat
import pytest

from autograder.instructor.grading.broker import Broker
from autograder.instructor.grading.protocol import CONTROL, HEADER, OUTPUT, REQUEST
from tests.instructor.demo_course import index_of, outputs
from tests.instructor.demo_course import with_cell as answer

from . import test_two_process as two_process
from .test_broker import _frames_until_reply, _send

pytestmark = [pytest.mark.xdist_group("two_process")]

demo, score = two_process.demo, two_process.score
HIDDEN_CODE = "np.array([-3.0])"  # a line of the demo's hidden test

# The student's way to S's protocol descriptor and its frames' header (all of it S's own).
FRAMES = '''import gc, os, signal, struct, time, msgpack
CHANNEL = next(o for o in gc.get_objects() if type(o).__name__ == "Channel")
HEADER = struct.Struct("!IBQd")
def frame(kind, msgid, body):
    data = body if type(body) is bytes else msgpack.packb(body, use_bin_type=True)
    return HEADER.pack(len(data), kind, msgid, 0.0) + data
def send(*frames):
    for data in frames:
        view = memoryview(data)
        while view:
            view = view[os.write(CHANNEL.write_fd, view):]
def current_msgid(f):
    while f is not None:
        if f.f_code.co_name == "serve" and "msgid" in f.f_locals:
            return f.f_locals["msgid"]
        f = f.f_back
    return 0
'''
LOOP = "    while True:\n        pass\n"
FAKE_PASS = "square([2]) passed\\nsquare of a negative number passed\\nAll tests passed: 3/3\\n"


def looping_square(handler: str) -> str:
    """A square that installs ``handler`` (a SIGUSR1 handler body, with ``n, f``) and loops."""
    return (FRAMES + "def handler(n, f):\n" + handler
            + "def square(x):\n    print('working')\n    signal.signal(signal.SIGUSR1, handler)\n" + LOOP)


def graded(result: dict) -> nbformat.NotebookNode:
    return nbformat.reads(result["notebook"], as_version=4)


def shown(result: dict, grade_id: str) -> str:
    """The outputs of the graded notebook's cell ``grade_id``, as JSON."""
    nb = graded(result)
    return json.dumps(nb.cells[index_of(nb, grade_id)].get("outputs", []))


def assert_as_the_control(result: dict, most: float = 1) -> None:
    """A square that loops loses square's 2 points and keeps cube's; no hidden test shown."""
    record = result["record"]
    assert record["status"] == "graded", record
    assert score(result) <= most, record
    assert record["tests"]["cube__tests"]["score"] == 1 if "cube__tests" in record["tests"] else True, record
    assert HIDDEN_CODE not in outputs(result) and "BEGIN HIDDEN" not in outputs(result)



# -- a student's own SIGUSR1 handler: what T gets from the last words ---------------------------

NOT_OUTPUT = {
    "a_list": "    send(frame(4, 0, [1, 2]))\n",
    "not_msgpack": "    send(frame(4, 0, b'\\xc1\\xc1'))\n",
    "a_map_cut_short": "    send(frame(4, 0, b'\\x81\\xa6output'))\n",
    "output_not_a_dict": "    send(frame(4, 0, {'output': ['x'], 'ok': 4.0}))\n",
}


@pytest.mark.slow
@pytest.mark.two_process_suite
@pytest.mark.parametrize("body", list(NOT_OUTPUT))
def test_last_words_that_are_not_an_output_map_cost_only_the_stopped_call(demo, body):
    """Before the fix, a body T cannot read (not a map, not msgpack) raised in T's read: the broker's
    StudentTimeout was left unread, T's stream was one answer behind, and every later cell failed
    ("an answer to message 4, expected 5"): the notebook lost cube's point (only its own). The broker
    now reads the frame and sends T one of its own (``Broker._pass_output``), or none."""
    grade, solution, _ = demo
    result = grade(answer(solution, "square", looping_square(NOT_OUTPUT[body])))
    assert_as_the_control(result)
    assert score(result) == 1, result["record"]
    test = shown(result, "square__tests")
    assert "StudentTimeout" in test and "ran past" in test, test
    assert "ProtocolError" not in outputs(result)


@pytest.mark.slow
def test_a_forged_reply_and_a_fake_pass_in_the_last_words_earn_nothing(demo):
    """The handler sends the right answer as a REPLY to the call being stopped (before and after its
    OUTPUT frame) and prints a fake "all tests passed": the broker drops the REPLYs, T shows the
    text in the test's cell, and square scores nothing."""
    grade, solution, _ = demo
    handler = ("    ENDPOINT = next(o for o in gc.get_objects() if type(o).__name__ == 'Endpoint')\n"
               "    msgid = current_msgid(f)\n"
               "    right = frame(2, msgid, {'ok': ENDPOINT.encode(np.array([4.0]))})\n"
               f"    send(right, frame(4, 0, {{'output': {{'stdout': '{FAKE_PASS}'}}}}), right)\n")
    result = grade(answer(solution, "square", looping_square(handler)))
    assert_as_the_control(result)
    assert result["record"]["tests"]["square__tests"]["score"] == 0, result["record"]
    test = shown(result, "square__tests")
    assert "All tests passed: 3/3" in test and "ran past" in test, test


@pytest.mark.slow
def test_output_frames_outside_a_stop_lose_s_and_earn_nothing(demo):
    """A right square that also sends OUTPUT frames of its own (written to the descriptor, and by
    raising SIGUSR1 so that S's handler sends one) mid-call: out of turn, S is lost, square's test
    fails; cube, in a fresh S, keeps its point. The same notebook without the trick scores 3."""
    grade, solution, _ = demo
    for trick in ("send(frame(4, 0, {'output': {'stdout': 'passed'}}))",
                  "signal.raise_signal(signal.SIGUSR1)"):
        source = FRAMES + f"def square(x):\n    print('passed')\n    {trick}\n    return x**2\n"
        result = grade(answer(solution, "square", source))
        record = result["record"]
        assert record["status"] == "graded" and score(result) == 1, (trick, record)
        assert record["tests"]["square__tests"]["score"] == 0, (trick, record)
        assert HIDDEN_CODE not in outputs(result)


# -- handlers that hang, fork, flood, or send half a frame or a huge one ----------------------------

VANDALS = {
    "sleeps": "    time.sleep(120)\n",
    "blocks_signals": "    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM, signal.SIGINT])\n"
                      "    while True:\n        pass\n",
    "half_a_frame": "    send(frame(4, 0, {'output': {'stdout': 'x' * 1000}})[:200])\n    time.sleep(120)\n",
    "floods_small_frames": ("    block = frame(2, 7, {'ok': 1}) * 10000\n"
                            "    while True:\n        send(block)\n"),
    "forks": "    for _ in range(8):\n        if os.fork() == 0:\n"
             "            send(frame(4, 0, {'output': {'stdout': 'child ' * 5000}}))\n"
             "            while True:\n                pass\n    while True:\n        pass\n",
    "asks_t_to_run_code": ("    send(frame(1, 99, {'op': 'call', 'target': 1, 'args': [], 'kwargs': {}}),\n"
                           "         frame(4, 0, {'output': {'stdout': 'first'}}),\n"
                           "         frame(4, 0, {'output': {'stdout': 'second'}}))\n"),
    "a_20_mb_frame": "    send(frame(4, 0, {'output': {'stdout': 'y' * 20_000_000}}))\n",
    "a_200_mb_frame": "    send(frame(4, 0, {'output': {'stdout': 'y' * 200_000_000}}))\n",
}


@pytest.mark.slow
@pytest.mark.two_process_suite
@pytest.mark.parametrize("vandal", list(VANDALS))
def test_a_handler_that_hangs_forks_floods_or_sends_too_much_costs_only_its_call(demo, vandal):
    grade, solution, _ = demo
    result = grade(answer(solution, "square", looping_square(VANDALS[vandal])))
    assert_as_the_control(result)
    assert score(result) == 1, result["record"]
    assert result["record"]["seconds"] < 90, result["record"]
    assert result["notebook"] is not None and len(result["notebook"]) < 5_000_000, result["record"]
    if vandal == "asks_t_to_run_code":  # the request is dropped, and the second OUTPUT frame too
        test = shown(result, "square__tests")
        assert "first" in test and "second" not in test, test


@pytest.mark.slow
@pytest.mark.two_process_suite
def test_a_process_that_names_itself_bwrap_only_loses_its_own_last_words(demo):
    """The broker does not signal a process whose name starts with "bwrap"; S can take that name
    (/proc/self/comm): no last words, the same stop, cube keeps its point."""
    grade, solution, _ = demo
    source = ("def square(x):\n    print('hidden from the signal')\n"
              "    with open('/proc/self/comm', 'w') as comm:\n        comm.write('bwrap-s')\n" + LOOP)
    result = grade(answer(solution, "square", source))
    assert_as_the_control(result)
    assert score(result) == 1, result["record"]
    test = shown(result, "square__tests")
    assert "ran past" in test and "hidden from the signal" not in test, test


@pytest.mark.slow
@pytest.mark.two_process_suite
def test_forked_children_that_print_do_not_garble_the_last_words(demo):
    """S's handler is inherited by a child the student forked: at the stop, parent and children
    each send their last words (100 kB, over a pipe's atomic size) at once. T gets whole text or
    none; the stream stays in step and cube keeps its point."""
    grade, solution, _ = demo
    source = ("import os\ndef square(x):\n    print('p' * 100_000)\n"
              "    for _ in range(3):\n        if os.fork() == 0:\n            break\n" + LOOP)
    result = grade(answer(solution, "square", source))
    assert_as_the_control(result)
    assert score(result) == 1, result["record"]
    assert "ProtocolError" not in outputs(result)


# -- honest notebooks -------------------------------------------------------------------------

HONEST_LOOPS = {
    "in_time_sleep": "import time\ndef square(x):\n    print('epoch 0')\n    while True:\n"
                     "        time.sleep(0.05)\n",
    "in_numpy": "def square(x):\n    print('epoch 0')\n    a = np.ones((400, 400))\n    while True:\n"
                "        a = np.tanh(a @ a / 400)\n",
    "after_printing_a_lone_surrogate": "def square(x):\n    print('epoch 0', '\\udc80')\n" + LOOP,
    "after_printing_a_lot": "def square(x):\n    for i in range(200_000):\n        print('epoch', i)\n"
                            + LOOP,
}


@pytest.mark.slow
@pytest.mark.two_process_suite
@pytest.mark.parametrize("loop", list(HONEST_LOOPS))
def test_an_honest_loop_shows_what_it_printed_and_keeps_the_rest(demo, loop):
    grade, solution, _ = demo
    result = grade(answer(solution, "square", HONEST_LOOPS[loop]))
    assert_as_the_control(result)
    assert score(result) == 1, result["record"]
    test = shown(result, "square__tests")
    assert "epoch 0" in test and "ran past" in test, test


@pytest.mark.slow
@pytest.mark.two_process_suite
def test_a_loop_inside_one_long_c_call_is_stopped_as_before(demo):
    """An SVD of seconds: S's handler runs only once NumPy returns, after LAST_WORDS_S, so what the
    learner printed may be lost; the stop, the score and the rest of the notebook are as before."""
    grade, solution, _ = demo
    source = ("def square(x):\n    print('epoch 0')\n    a = np.random.default_rng(0).random((1500, 1500))\n"
              "    while True:\n        np.linalg.svd(a)\n")
    result = grade(answer(solution, "square", source))
    assert_as_the_control(result)
    assert score(result) == 1, result["record"]
    assert "ran past" in shown(result, "square__tests")


@pytest.mark.slow
@pytest.mark.two_process_suite
@pytest.mark.parametrize("action", ["SIG_DFL", "SIG_IGN"])
def test_a_loop_after_the_learner_reset_sigusr1_is_stopped_as_before(demo, action):
    """A learner who set SIGUSR1 back to its default (S dies at the signal) or to ignored: no last
    words, the same StudentTimeout, cube keeps its point."""
    grade, solution, _ = demo
    source = f"import signal\nsignal.signal(signal.SIGUSR1, signal.{action})\ndef square(x):\n" + LOOP
    result = grade(answer(solution, "square", source))
    assert_as_the_control(result)
    assert score(result) == 1, result["record"]
    assert "ran past" in shown(result, "square__tests")


@pytest.mark.slow
def test_an_honest_learners_own_sigusr1_handler_keeps_full_marks(demo):
    grade, solution, _ = demo
    own = ("import signal\ncalls = []\nsignal.signal(signal.SIGUSR1, lambda n, f: calls.append(n))\n"
           "def square(x):\n    signal.raise_signal(signal.SIGUSR1)\n    print('calls', len(calls))\n"
           "    return x**2\n")
    result = grade(answer(solution, "square", own))
    assert result["record"]["status"] == "graded" and score(result) == 3, result["record"]
    assert "calls 1" in outputs(result)


@pytest.mark.slow
@pytest.mark.two_process_suite
def test_a_nested_stopped_call_shows_its_output_in_the_test_cell(tmp_path):
    """S -> T -> S: square calls a test's callback, which calls the learner's square again, which
    prints and loops. Its output shows in square's test cell, before the stop; cube keeps its point."""
    from tests.instructor.demo_course import demo_grader, make_demo_course

    test = ("with exercise('square'):\n"
            "    check_close(square(lambda v: square(v)), np.array([4.0]), name='square via a callback')\n")
    grade, _ = demo_grader(tmp_path, after={}, tests={"square__tests": test})
    _, solution, _ = make_demo_course(tmp_path / "learner")
    outer = "def square(x):\n    if callable(x):\n        print('outer')\n        return x(np.array([2.0]))\n"
    full = grade(answer(solution, "square", outer + "    print('inner', x)\n    return x**2\n"))
    assert full["record"]["status"] == "graded" and score(full) == 3, full["record"]
    result = grade(answer(solution, "square", outer + "    print('inner', x)\n" + LOOP))
    assert_as_the_control(result)
    assert score(result) == 1, result["record"]
    test_cell = shown(result, "square__tests")
    assert "outer" in test_cell and "inner [2.]" in test_cell and "ran past" in test_cell, test_cell
    assert test_cell.index("inner [2.]") < test_cell.index("ran past"), test_cell
    assert "inner" not in shown(result, "cube__tests")


# -- the broker alone: what it passes on of S's last words -------------------------------------

RAW_LAST_WORDS = {
    "a_list": (b"\x92\x01\x02", []),
    "not_msgpack": (b"\xc1\xc1", []),
    "cut_short": (b"\x81\xa6output", []),
    "extra_keys": (b"\x82\xa6output\x82\xa6stdout\xa2hi\xa5other\x01\xa2ok\x01",
                   [{"output": {"stdout": "hi"}}]),
    # a header that says 64 MiB, over LAST_WORDS_MAX_BYTES: not read; T is told its size
    "too_long": (b"", [{"output": {"stderr": f"[{64 << 20} bytes of output before the stop: "
                                             "too long to show]\n"}}]),
}


@pytest.mark.slow
@pytest.mark.parametrize("words", list(RAW_LAST_WORDS))
def test_the_broker_passes_only_readable_output_strings_then_the_timeout(words):
    """S's OUTPUT body, whatever its bytes: T gets a frame of the broker's own holding only the
    strings under stdout and stderr, or none, and then its StudentTimeout (never bytes it cannot read)."""
    data, expected = RAW_LAST_WORDS[words]
    claimed = 64 << 20 if words == "too_long" else len(data)
    stand_in = (f"import signal, struct, sys, time\nHEADER = struct.Struct({HEADER.format!r})\n"
                f"def words(n, f):\n    sys.stdout.buffer.write(HEADER.pack({claimed}, {OUTPUT}, 1, 0.0)"
                f" + {data!r})\n    sys.stdout.buffer.flush()\n"
                "signal.signal(signal.SIGUSR1, words)\nhead = sys.stdin.buffer.read(HEADER.size)\n"
                "sys.stdin.buffer.read(HEADER.unpack(head)[0])\nwhile True:\n    time.sleep(0.01)\n")
    folder = Path(tempfile.mkdtemp(prefix="lw-"))
    try:
        with Broker(folder / "b.sock", lambda generation: [sys.executable, "-c", stand_in], max_frame=1 << 20,
                    log=folder / "log"), socket.socket(socket.AF_UNIX) as t:
            t.connect(str(folder / "b.sock"))
            t.settimeout(30)
            assert _send(t, CONTROL, 1, {"op": "restart"})["ok"] == 1
            time.sleep(0.5)  # the stand-in's handler is set
            body = msgpack.packb({"op": "call"}, use_bin_type=True)
            t.sendall(HEADER.pack(len(body), REQUEST, 2, 0.5) + body)
            *before, (_, stopped) = _frames_until_reply(t)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert stopped["error"]["type"] == "StudentTimeout", stopped
    assert before == [(OUTPUT, body) for body in expected], before
