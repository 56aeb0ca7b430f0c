"""Red team, session 12: the changes of 2026-12-07 (evening) attacked.

- bef89ed, the broker writes S's frames as its pipe takes them (``Broker.s_out``). Held: T's restart
  while most of a 4 MB frame is still owed to an S that stopped reading: the restart is answered at
  once, the new S gets none of the old frame's tail and T's stream stays in step; a 64 MB argument
  owed to an S that never reads: the call's clock still runs (stopped within WALL_FACTOR x its limit),
  and what was owed is let go; an S that closes its stdin and goes on answering: the call it answered
  counts, the next is StudentProcessLost (not a hang), a restart works; an S that makes its own end of
  the pipe non-blocking changes nothing on the broker's end (separate open file descriptions).
- 388d2eb + 7495f02, the rendering caches keyed by source. Held: the rendering is a function of the
  source alone (no attachment, cell metadata, page language or i18n context reaches it): a course
  cell repeated on a page of another language, with attachments or odd metadata, renders the same,
  and a page rendered after others is byte for byte the page rendered alone.
  BROKE, fixed in feedback.py: the bound on the memory the caches hold. The comment said about 120 MB
  each; a 10,000-character source renders to 24 times as many characters of highlighted code (13 times
  for markdown headings), and one character outside the BMP makes Python keep the whole string at
  4 bytes a character: 0.96 MB (code) and 0.54 MB (markdown) an entry, about 3 GB for 2,048 of each,
  from one student's notebook of short cells (a student's code cells and written answers are cached
  too: only their length was checked). ``cached_by_source`` now also lets go of the least recently
  used past ``CACHED_BYTES`` (32 MB each; the whole course renders to 0.6 MB of markdown, 3.2 MB of
  code), counted with sys.getsizeof.
- c831407, Dask's instruments off: the backstop's test of a wedged worker
  (test_redteam_backstop.py::test_a_worker_too_busy_to_answer_does_not_blind_the_backstop) passes
  in the same time with the new settings (19 s) as with the old (23 s, one run each, a loaded
  machine); the tick only feeds Dask's own metrics and warnings.
- d4565c1, pydevd preloaded in the warm parent. Held: its import starts no thread and sets no trace
  function (it sets sys.breakpointhook to debugpy's and PYDEVD_USE_FRAME_EVAL, as every kernel's own
  import did before); a kernel that turns tracing on and plants state in pydevd leaves none of it to
  the next kernel of the parent. S gets nothing new: it has no path into T, and its environment is
  the broker's own.
"""

from __future__ import annotations

import os
import socket
import sys
import time

import msgpack
import nbformat
import pytest

from autograder.instructor.grading.broker import LAST_WORDS_S, WALL_FACTOR, Broker
from autograder.instructor.grading.protocol import CONTROL, HEADER, OUTPUT, REPLY, REQUEST
from tests.instructor.grading.test_broker import ECHO_S, _read_frame, _send, folder  # noqa: F401

# An S that reads nothing and answers nothing.
DEAF_S = "import time\ntime.sleep(600)\n"


def _sock(folder_path):
    t = socket.socket(socket.AF_UNIX)
    t.connect(str(folder_path / "b.sock"))
    t.settimeout(30)
    return t


def _frame(kind: int, msgid: int, body: dict, limit: float = 0.0) -> bytes:
    data = msgpack.packb(body, use_bin_type=True)
    return HEADER.pack(len(data), kind, msgid, limit) + data


def test_a_restart_while_half_a_frame_is_owed_gives_the_new_s_none_of_its_tail(folder):  # noqa: F811
    commands = {1: DEAF_S, 2: ECHO_S}
    with Broker(folder / "b.sock", lambda g: [sys.executable, "-c", commands[g]], max_frame=1 << 30,
                log=folder / "log") as broker, _sock(folder) as t:
        assert _send(t, CONTROL, 1, {"op": "restart"})["ok"] == 1
        # 4 MB for the deaf S (unlimited call): its pipe takes 64 KB, the rest is owed
        t.sendall(_frame(REQUEST, 2, {"op": "call", "x": b"\xab" * (4 << 20)}))
        time.sleep(1.0)
        assert 0 < len(broker.s_out) < (4 << 20) + 100, "the frame's tail is owed, the loop goes on"
        began = time.monotonic()
        t.sendall(_frame(CONTROL, 3, {"op": "restart"}))
        kind, msgid, body = _read_frame(t)
        # the waiting call is dropped with the old S (stack cleared): the restart's answer comes next
        assert (kind, msgid, body["ok"]) == (REPLY, 3, 2) and time.monotonic() - began < 5
        assert broker.s_out == b""
        # the new S reads a whole frame that starts where T's next frame starts: no old bytes first
        assert _send(t, REQUEST, 4, {"op": "call", "y": 1}) == {"op": "call", "y": 1}
        assert _send(t, REQUEST, 5, {"op": "call", "z": b"\x01" * (2 << 20)}) == {
            "op": "call", "z": b"\x01" * (2 << 20)}


def test_a_64_mb_argument_owed_to_an_s_that_never_reads_is_timed_and_let_go(folder):  # noqa: F811
    with Broker(folder / "b.sock", lambda g: [sys.executable, "-c", DEAF_S], max_frame=1 << 30,
                log=folder / "log") as broker, _sock(folder) as t:
        assert _send(t, CONTROL, 1, {"op": "restart"})["ok"] == 1
        began = time.monotonic()
        late = _send(t, REQUEST, 2, {"op": "call", "x": b"\x00" * (64 << 20)}, limit=0.5)
        took = time.monotonic() - began
        assert late["error"]["type"] == "StudentTimeout", late
        assert took < WALL_FACTOR * 0.5 + 3, f"the clock ran while the frame was owed: {took:.1f} s"
        assert broker.s_out == b"" and broker.process is None, "what the dead S was owed is let go"
        assert _send(t, CONTROL, 3, {"op": "restart"})["ok"] == 2


# Answers one request, then closes its stdin and goes on answering what it already has
CLOSING_S = f"""
import os, struct, sys, time
HEADER = struct.Struct({HEADER.format!r})
head = sys.stdin.buffer.read(HEADER.size)
length, kind, msgid, limit = HEADER.unpack(head)
body = sys.stdin.buffer.read(length)
os.close(0)
time.sleep(0.3)
sys.stdout.buffer.write(HEADER.pack(length, {REPLY}, msgid, 0.0) + body)
sys.stdout.buffer.flush()
time.sleep(600)
"""


def test_an_s_that_closes_its_stdin_costs_its_next_call_not_the_broker(folder):  # noqa: F811
    commands = {1: CLOSING_S, 2: ECHO_S}
    with Broker(folder / "b.sock", lambda g: [sys.executable, "-c", commands[g]], max_frame=1 << 20,
                log=folder / "log"), _sock(folder) as t:
        assert _send(t, CONTROL, 1, {"op": "restart"})["ok"] == 1
        assert _send(t, REQUEST, 2, {"op": "call", "a": 1}, limit=5) == {"op": "call", "a": 1}
        began = time.monotonic()
        lost = _send(t, REQUEST, 3, {"op": "call", "b": 2}, limit=5)
        assert lost["error"]["type"] == "StudentProcessLost" and time.monotonic() - began < 3, lost
        assert lost["error"]["message"].startswith("the student's process closed its input"), lost
        assert _send(t, CONTROL, 4, {"op": "restart"})["ok"] == 2
        assert _send(t, REQUEST, 5, {"op": "call", "c": 3}, limit=5) == {"op": "call", "c": 3}


# Makes its end of the pipe non-blocking, then reads as ECHO_S does (retrying when nothing is there)
NONBLOCKING_S = f"""
import os, struct, sys, time
os.set_blocking(0, False)
HEADER = struct.Struct({HEADER.format!r})
def read(n):
    data = b""
    while len(data) < n:
        try:
            chunk = os.read(0, n - len(data))
        except BlockingIOError:
            time.sleep(0.001)
            continue
        if not chunk:
            sys.exit(0)
        data += chunk
    return data
while True:
    length, kind, msgid, limit = HEADER.unpack(read(HEADER.size))
    body = read(length)
    sys.stdout.buffer.write(HEADER.pack(length, {REPLY}, msgid, 0.0) + body)
    sys.stdout.buffer.flush()
"""


def test_an_s_that_makes_its_stdin_non_blocking_shares_nothing_with_the_broker(folder):  # noqa: F811
    with Broker(folder / "b.sock", lambda g: [sys.executable, "-c", NONBLOCKING_S], max_frame=1 << 30,
                log=folder / "log") as broker, _sock(folder) as t:
        assert _send(t, CONTROL, 1, {"op": "restart"})["ok"] == 1
        big = {"op": "call", "x": b"\x07" * (8 << 20)}
        assert _send(t, REQUEST, 2, big, limit=20) == big
        assert not os.get_blocking(broker.process.stdin.fileno())  # the broker's end: its own setting
        assert os.get_blocking(broker.process.stdout.fileno())



# Reads only the header of its request (16 MB: most of it stays owed), says what it printed when asked
# (SIGUSR1), and spins
HALF_READ_S = f"""
import signal, struct, sys
import msgpack
HEADER = struct.Struct({HEADER.format!r})
def words(number, frame):
    body = msgpack.packb({{"output": {{"stdout": "half read\\n"}}}})
    sys.stdout.buffer.write(HEADER.pack(len(body), {OUTPUT}, 1, 0.0) + body)
    sys.stdout.buffer.flush()
signal.signal(signal.SIGUSR1, words)
sys.stdin.buffer.raw.read(HEADER.size)
while True:
    pass
"""


def test_last_words_while_most_of_the_request_is_owed_then_nothing_owed_is_kept(folder):  # noqa: F811
    with Broker(folder / "b.sock", lambda g: [sys.executable, "-c", HALF_READ_S], max_frame=1 << 30,
                log=folder / "log") as broker, _sock(folder) as t:
        assert _send(t, CONTROL, 1, {"op": "restart"})["ok"] == 1
        time.sleep(0.5)  # its handler is set
        began = time.monotonic()
        t.sendall(_frame(REQUEST, 2, {"op": "call", "x": b"\x00" * (16 << 20)}, limit=0.5))
        frames = []
        while not frames or frames[-1][0] != REPLY:
            kind, _, body = _read_frame(t)
            frames.append((kind, body))
        took = time.monotonic() - began
        assert frames[0] == (OUTPUT, {"output": {"stdout": "half read\n"}}), frames
        assert frames[-1][1]["error"]["type"] == "StudentTimeout" and len(frames) == 2
        assert took < 0.5 * WALL_FACTOR + LAST_WORDS_S + 2, took
        assert broker.s_out == b""
        assert _send(t, CONTROL, 3, {"op": "restart"})["ok"] == 2

# ---- the feedback pages' rendering caches (388d2eb, 7495f02)

def _worst_code(number: int) -> str:
    """Just under CACHED_CELL_CHARS of code that highlights to 24 times as many characters, one of
    them outside the BMP (Python then holds the whole rendering at 4 bytes a character)."""
    from autograder.instructor.grading import feedback

    head = f"# {number}\U0001F600\n"
    return head + "a(" * ((feedback.CACHED_CELL_CHARS - len(head)) // 2)


@pytest.mark.slow
@pytest.mark.two_process_suite
def test_the_rendering_caches_hold_a_bounded_number_of_bytes_whatever_the_cells():
    """One student's notebook of short, distinct code cells (each under CACHED_CELL_CHARS) that render
    large: what a worker keeps of them afterwards is bounded in bytes, not only in entries (2,048
    entries of 0.96 MB each were 2 GB for the code cache alone, 0.54 MB each for markdown). Fails
    with 7495f02's lru_cache: 48 entries, 46 MB."""
    from autograder.instructor.grading import feedback

    highlight = feedback.page_exporter().environment.filters["highlight_code"]
    highlight.cache_clear()
    try:
        sizes = []
        for number in range(48):
            source = _worst_code(number)
            assert len(source) <= feedback.CACHED_CELL_CHARS
            sizes.append(sys.getsizeof(source) + sys.getsizeof(highlight(source)))
        # the entries are alike (each about 0.97 MB): what is held is their number times that
        held = highlight.cache_info().currsize * max(sizes)
    finally:
        highlight.cache_clear()
    assert held < 40e6, f"{len(sizes)} cells of a student's are {held / 1e6:.0f} MB held by a worker"


def _fresh_worker() -> None:
    from autograder.instructor.grading import feedback

    feedback.page_exporter.cache_clear()
    feedback.sanitised_markdown.cache_clear()


def test_a_course_cell_renders_the_same_whatever_the_page_its_metadata_or_attachments():
    """The caches are keyed by source only: nothing else a page carries may change a cell's HTML, or a
    page rendered after another student's would differ from (or show part of) the page alone."""
    from autograder import i18n
    from autograder.instructor.grading import feedback
    from tests.instructor.grading.test_feedback import RECORD, _test_cell

    course_md = "# Gradients\n\nThe course's $\\nabla f$ and ![plot](attachment:plot.png) <b>x</b>."
    course_code = "import numpy as np\nx = np.ones(3)  # the course's"
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg=="

    def page(lang: str, secret: str, odd: bool) -> str:
        md = nbformat.v4.new_markdown_cell(course_md)
        code = nbformat.v4.new_code_cell(course_code)
        if odd:  # what a student's copy of the course's cells could carry besides their source
            md.attachments = {"plot.png": {"image/png": png}}
            md.metadata.update(language="zh_CN", tags=["x"], jupyter={"source_hidden": True})
            code.metadata.update(magics_language="bash", vscode={"languageId": "html"})
        answer = nbformat.v4.new_code_cell(f"def f(x):\n    return '{secret}'")
        nb = nbformat.v4.new_notebook(cells=[md, code, answer, _test_cell()])
        nb.metadata["language"] = lang
        nb.metadata["language_info"] = {"name": "bash" if odd else "python", "pygments_lexer": "bash"}
        with i18n.language(""):
            return nbformat.writes(feedback.page_notebook(RECORD, nb, {}))

    mine, theirs = page("zh_CN", "mine", False), page("", "theirs-SECRET", True)
    _fresh_worker()
    alone = feedback.render_capped(mine)
    _fresh_worker()
    feedback.render_capped(theirs)
    with i18n.language("zh_CN"):
        after = feedback.render_capped(mine)
    assert after == alone and "SECRET" not in after
    assert "反馈" in after or "zh" in after  # the page is the Chinese one (its own header)
    # and the other way round: the odd copy renders the course's cells as the plain page does
    _fresh_worker()
    theirs_alone = feedback.render_capped(theirs)
    _fresh_worker()
    feedback.render_capped(mine)
    assert feedback.render_capped(theirs) == theirs_alone and png not in theirs_alone


# ---- d4565c1: the warm parent imports ipykernel's debugger (debugpy's pydevd) before it forks

DEBUG_PROBE = """
import json, sys, threading
import pydevd, _pydevd_bundle.pydevd_constants as constants
print(json.dumps({
    "trace": repr(sys.gettrace()), "threading_trace": repr(getattr(threading, "_trace_hook", None)),
    "hook": getattr(sys.breakpointhook, "__name__", repr(sys.breakpointhook)),
    "planted": hasattr(pydevd, "left_by_an_earlier_kernel") or hasattr(constants, "left_behind"),
    "setup": repr(pydevd.SetupHolder.setup),
    "monitoring": [sys.monitoring.get_tool(i) for i in range(6)] if hasattr(sys, "monitoring") else [],
}))
"""
DEBUG_DIRTY = """
import sys, threading
import pydevd, _pydevd_bundle.pydevd_constants as constants
def tracer(*args):
    return tracer
sys.settrace(tracer)
threading.settrace(tracer)
sys.breakpointhook = lambda *a, **k: None
pydevd.left_by_an_earlier_kernel = True
constants.left_behind = True
pydevd.SetupHolder.setup = {"client": "127.0.0.1", "port": 1}
if hasattr(sys, "monitoring"):
    sys.monitoring.use_tool_id(3, "left")
print(1)
"""


@pytest.mark.slow
@pytest.mark.two_process_suite
@pytest.mark.xdist_group("warm")
def test_debugger_state_one_kernel_sets_is_not_in_the_next_kernel_of_its_parent():
    """One T kernel turns on tracing, plants state in pydevd's modules (imported in the parent now)
    and claims a sys.monitoring tool: the next kernel forked from the same parent sees none of it,
    nor a trace function of the parent's (the parent only imported the debugger)."""
    from autograder.instructor.grading.sandbox import bwrap_problem
    from tests.instructor.grading.test_warm_kernels import run

    if bwrap_problem() is not None:
        pytest.skip(str(bwrap_problem()))
    (first, _, after), _ = run([DEBUG_PROBE, DEBUG_DIRTY, DEBUG_PROBE])
    (second,), _ = run([DEBUG_PROBE])
    assert after["planted"] and "tracer" in after["trace"], after  # the dirty cell did change its kernel
    assert second == first, (first, second)
    assert second["trace"] == "None" and not second["planted"]
    assert second["monitoring"] == first["monitoring"]
