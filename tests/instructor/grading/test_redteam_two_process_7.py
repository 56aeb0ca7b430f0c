"""Red team on this morning's changes, seventh pass: feedback pages without nbconvert's second sanitiser,
S's tracebacks shown as the learner's own, and the broker's CPU clock (issue #18).

1. ``feedback.render`` (cc44ea1) highlights code with Pygments and no bleach pass, and replaces
   HTMLExporter's BeautifulSoup pass by two substitutions (``NO_ALT``, ``FOCUSABLE``). Each attack
   below is a graded notebook as a worker (and so a student's kernel) could send it, taken through the
   coordinator's boundary (``boundary.normalise_notebook``), ``feedback.page_notebook`` and
   ``feedback.render_capped``, and the page is parsed: no script but the page's own, no event handler,
   no ``javascript:``/``data:`` link, nothing fetched from the web, no element the student wrote.
2. ``proxy.student_frames`` (3de7b55): what S reports is shown instead of T's frames. S's text can say
   anything, but only in the learner's own cell, as text: ename and evalue (what a test's verdict
   reads, ``outputs.test_message``) stay T's, and the page escapes the lines.
3. The broker's ``Turn`` clock (d65b45a, f9bd5dd), with stand-in S processes that call back into T.

Held: every feedback attack (markup, comments, CDATA, NUL and lone surrogates in code; ANSI, OSC 8
links and markup in tracebacks; quotes in image data and metadata; cell tags; ``magics_language`` and
``language_info``; text/html, text/markdown, text/latex, image/svg+xml outputs; attachments; a mermaid
diagram (the page would load mermaid from the web: nh3 drops the classes that ask for it); a
``<img `` inside a markdown title, which ``NO_ALT`` would break open if nh3 ever stopped escaping ``<``
in attribute values: pinned 0.3.8 does, and the test says so if that changes); S's forged, huge and
odd traces; a call that pauses its clock with callbacks (stopped at its limit); short calls below the
CPU probe.

BROKE (tests marked below, fixed on this branch):

- An honest call whose S calls back into T, and T calls S again (S -> T -> S), was charged the nested
  call's CPU: the outer call's clock was paused while the nested call ran, but the CPU reading at its
  deadline included it, so a call that was only waiting (a loaded machine) was stopped at its limit
  instead of getting the grace. Fixed: the paused call's CPU reading moves past what S used in the
  call T made meanwhile (read only when the paused call has run past the probe: _nested_done).
- (older than cc44ea1) A student's markdown ``![a](attachment:x.png)`` (nothing in it for the worker to
  escape) made nbconvert's markdown renderer raise InvalidNotebook: ``write_feedback`` stopped at that
  page, so no later student got one. Fixed: ``sanitised_markdown``'s renderer leaves the source as it is,
  and nh3 drops it (the page shows only images it holds).
- ``tree_cpu_seconds`` missed three ways to spin unseen, each of which looked like an S waiting for a
  core and got WALL_FACTOR times its limit instead of being stopped at it: children that exited and
  were waited for (now their ``cutime``/``cstime`` count), children a thread other than the main one
  started (now every thread's ``children`` is read), and any process past the 64th (now the tree reads
  as unknown: no grace).
- The broker read its clock before what had arrived: when its thread woke late (a loaded machine), an
  honest call whose answer was already in the pipe was stopped. Fixed: frames first, then the clock.
"""

from __future__ import annotations

import html.parser
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgpack
import nbformat
import pytest

from autograder import i18n
from autograder.instructor.grading import boundary, feedback
from autograder.instructor.grading.broker import WALL_FACTOR, Broker, tree_cpu_seconds
from autograder.instructor.grading.protocol import CONTROL, HEADER, REPLY, REQUEST, rebuild_error
from autograder.instructor.grading.proxy import student_frames
from autograder.instructor.grading.records import Record

pytestmark = [pytest.mark.xdist_group("redteam_two_process")]

RECORD = Record.from_dict({"student": "mallory", "chapter": "01_demo", "status": "graded", "reason": "",
                           "tests": {}, "answers": {}, "policy": []})
ATTACK = '</pre></div></div></div></div></div></body><pwn-tag title=x></pwn-tag><script>alert("pwn")</script>'


# ---- 1. feedback pages ----------------------------------------------------------------------------

class Page(html.parser.HTMLParser):
    """What a browser would make of a page: its elements, their attributes, its scripts' text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False if tag == "script" else self._in_script

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data


def graded_page(cells: list[dict], metadata: dict | None = None) -> str:
    """A worker's graded notebook (JSON text, as a kernel could shape it) through the coordinator."""
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": metadata or {}, "cells": [
        {"id": f"c{index}", "metadata": {}, **cell} for index, cell in enumerate(cells)]}
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", 1)
    text, why = boundary.normalise_notebook(json.dumps(nb), nbformat.v4.new_notebook(), 50_000_000)
    assert text is not None, why
    with i18n.language(""):
        page = feedback.page_notebook(RECORD, nbformat.reads(text, as_version=4), {})
    page_json = nbformat.writes(page)
    rendered = feedback.render_capped(page_json)
    rendered.encode("utf-8")  # the page is written as UTF-8 (write_feedback)
    return rendered


_BASELINE: list[Page] = []


def baseline() -> Page:
    if not _BASELINE:
        _BASELINE.append(Page(graded_page([{"cell_type": "code", "source": "x = 1",
                                            "outputs": [{"output_type": "stream", "name": "stdout",
                                                         "text": "1\n"}]}])))
    return _BASELINE[0]


# The template's own images: a base64 PNG or JPEG (what follows the comma is only ever that value).
DATA_IMAGE = re.compile(r"data:image/(?:png|jpeg);base64,")
URL_ATTRIBUTES = ("href", "src", "action", "formaction", "xlink:href", "srcset", "poster", "data",
                  "background")


def assert_harmless(text: str) -> Page:
    page, base = Page(text), baseline()
    assert all(script in base.scripts for script in page.scripts), (
        "a script the page does not have without the student: "
        f"{[s[:200] for s in page.scripts if s not in base.scripts]}")
    assert len(page.scripts) == len(base.scripts), "a script more than the page's own"
    own = {(tag, json.dumps(attrs, sort_keys=True)) for tag, attrs in base.tags}
    for tag, attrs in page.tags:
        assert "pwn" not in tag, f"the student's markup broke out: <{tag} {attrs}>"
        # nbconvert's page loads mermaid from the web once it has a ``.jp-Mermaid > pre.mermaid``
        assert not (tag == "pre" and "mermaid" in attrs.get("class", "").split()), f"<pre {attrs}>"
        handlers = [name for name in attrs if name.startswith("on")]
        assert not handlers, f"an event handler on <{tag}>: {attrs}"
        assert tag not in ("iframe", "object", "embed", "form", "base", "meta", "svg", "math", "style",
                           "link", "frame", "video", "audio", "source") or (tag, json.dumps(
                               attrs, sort_keys=True)) in own, f"<{tag} {attrs}> is not the page's own"
        for name in URL_ATTRIBUTES:
            value = attrs.get(name, "").strip().lower()
            if not value or (tag, json.dumps(attrs, sort_keys=True)) in own:
                continue
            assert not value.startswith(("javascript:", "vbscript:")), f"<{tag} {name}={value[:80]!r}>"
            assert not value.startswith("data:") or (tag == "img" and name == "src"
                                                    and DATA_IMAGE.match(attrs[name].strip())), (
                f"a data: URL the page did not make: <{tag} {name}={value[:80]!r}>")
            if tag != "a":
                assert not re.match(r"[a-z][a-z0-9+.-]*:|//", value) or value.startswith("data:image/"), (
                    f"<{tag} {name}={value[:80]!r}> fetches from the web")
    return page


def test_code_cell_source_of_any_bytes_stays_text():
    source = (f"s = '{ATTACK}'  # <![CDATA[ ]]> <!-- --> \x00 \ud800 \udfff \x1b[31m\n"
              f"%%html\n{ATTACK}\n<img src=x onerror=alert(1)>\n%%javascript\nalert(1)\n'''\n{ATTACK}")
    text = graded_page([{"cell_type": "code", "source": source, "metadata": {
        "magics_language": "html",
        "tags": [f'"><script>alert(1)</script>{ATTACK}', "jp-OutputArea-output", " jp-Mermaid"],
        "jupyter": {"source_hidden": f'"{ATTACK}'}, "language_info": {"name": "html"}}}],
        metadata={"language_info": {"name": "html", "pygments_lexer": "html"},
                  "kernelspec": {"name": f"{ATTACK}", "language": "html", "display_name": ATTACK},
                  "title": ATTACK,
                  "widgets": {"application/vnd.jupyter.widget-state+json": {ATTACK: ATTACK}}})
    page = assert_harmless(text)
    assert "&lt;pwn-tag" in text, "the code is shown, as text"
    assert "\ufffd" in text, "a lone surrogate is shown as U+FFFD (boundary.clean_text)"
    assert not any(tag == "img" and attrs.get("src") == "x" for tag, attrs in page.tags)


def test_outputs_of_every_kind_show_as_text_or_a_base64_image():
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script>{ATTACK}</svg>'
    outputs = [
        {"output_type": "stream", "name": "stdout", "text": f"\x1b[31m{ATTACK}\x1b[0m\x00 \ud800"},
        {"output_type": "stream", "name": "stderr",
         "text": "\x1b]8;;javascript:alert(1)\x1b\\link\x1b]8;;\x1b\\"},
        {"output_type": "error", "ename": ATTACK, "evalue": f'<img src=x onerror="alert(1)">{ATTACK}',
         "traceback": [f"\x1b[38;2;1;2;3\" onclick=\"alert(1)m{ATTACK}", "\x1b]8;;javascript:alert(1)\x07x",
                       f"\x1b[1;31m</span></pre>{ATTACK}\x1b[0m"]},
        {"output_type": "display_data", "metadata": {"image/png": {"width": '1" onload="alert(1)',
                                                                   "unconfined": True}},
         "data": {"image/png": 'iVBORw0KGgo=" onerror="alert(1)', "image/jpeg": "/9j/\" onerror='x'",
                  "image/svg+xml": svg, "text/html": ATTACK,
                  "text/markdown": f"[x](javascript:alert(1)) {ATTACK}",
                  "text/latex": f"$x$ {ATTACK}", "application/javascript": "alert(1)",
                  "application/json": {ATTACK: ATTACK}, "text/plain": ATTACK}},
        {"output_type": "execute_result", "execution_count": 1, "metadata": {},
         "data": {"text/html": f"<a href='javascript:alert(1)'>x</a>{ATTACK}", "text/plain": "<obj>"}},
    ]
    text = graded_page([{"cell_type": "code", "source": "1", "outputs": outputs}])
    page = assert_harmless(text)
    assert "&lt;pwn-tag" in text, "what the outputs said is shown, as text"
    images = [attrs for tag, attrs in page.tags if tag == "img"]  # the PNG: it comes before the JPEG
    assert len(images) == 1 and set(images[0]) <= {"alt", "src", "class"}, images
    assert images[0]["src"].endswith('" onerror="alert(1)'), "a quote in an image's data stays in its src"


def test_markdown_raw_cells_and_attachments_are_sanitised_and_the_substitutions_break_nothing():
    """``NO_ALT`` inserts ``alt="..."`` after any ``<img `` without one before the next ``>``: inside an
    attribute's value (a link's title) that insertion would close the value and make the rest of it
    attributes (``onmouseover``). nh3 0.3.8 writes ``<`` in attribute values as ``&lt;``, so the page
    never has ``<img `` there; if an upgrade changes that, this test fails."""
    cells = [
        {"cell_type": "markdown", "source": '[x](https://e.org "<img onmouseover=alert(1) x=") '
                                            '<a title="<img onmouseover=alert(2) ">y</a> '
                                            '<abbr title=\'<img  onfocus=alert(3) autofocus \'>z</abbr> '
                                            '<span title="<div class=&quot;jp-OutputArea-output&quot;">'
                                            's</span> '
                                            f'![<img onerror=alert(4) ](pic.png "<img ") {ATTACK} '
                                            '<img src="x.png" title="<img onerror=alert(5) "> '
                                            "[j](javascript:alert(1)) "
                                            "[d](data:text/html,<script>alert(1)</script>) "
                                            "![a](attachment:evil.svg) ![r](https://e.org/x.png) <!-- <img "
                                            "\n\n```mermaid\ngraph TD; A-->B\n```\n\n"
                                            '<div class="jp-Mermaid"><pre class="mermaid">graph</pre></div>',
         "attachments": {"evil.svg": {"image/svg+xml": '<svg onload="alert(1)"/>',
                                      "text/html": "<script>alert(1)</script>"}}},
        {"cell_type": "raw", "source": ATTACK,
         "metadata": {"format": "text/html", "raw_mimetype": "text/html"}},
    ]
    text = graded_page(cells)
    page = assert_harmless(text)
    links = [attrs.get("href", "") for tag, attrs in page.tags if tag == "a"]
    assert "https://e.org" in links and not [h for h in links if h.startswith(("javascript", "data"))], links
    titles = [attrs["title"] for _tag, attrs in page.tags if "title" in attrs]
    assert '<img onmouseover=alert(1) x=' in titles, f"the title is one value, whole: {titles}"
    assert not any("alt=" in title for title in titles), f"NO_ALT wrote into an attribute: {titles}"


def test_one_students_markdown_naming_a_missing_attachment_stops_no_page(tmp_path):
    """BROKE (fixed here, older than cc44ea1): ``![a](attachment:x.png)`` survives the worker's escaping
    of a student's markdown, and nbconvert's markdown renderer raised InvalidNotebook for an attachment
    the cell does not hold: ``write_feedback`` stopped, and no page after that student's was written
    (with Dask, none at all). The image is now dropped like any the page does not hold."""
    assert "<img" in feedback.sanitised_markdown("![a](attachment:x.png)")
    assert "attachment:" not in feedback.sanitised_markdown("![a](attachment:x.png)")
    records = []
    for student in ("ann", "bob", "cyd"):
        source = "![a](attachment:x.png)" if student == "ann" else "fine"
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(source)])
        path = tmp_path / "autograded" / student / "01_demo" / "01_demo.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, str(path))
        records.append(Record.from_dict({**RECORD.to_dict(), "student": student}))
    with i18n.language(""):
        written = feedback.write_feedback(tmp_path, records)
    assert sorted(p.parts[-3] for p in written) == ["ann", "bob", "cyd"], written


def test_a_page_over_the_cap_without_outputs_is_still_harmless():
    big = {"output_type": "stream", "name": "stdout", "text": ATTACK * 40_000}
    text = graded_page([{"cell_type": "code", "source": ATTACK, "outputs": [big]}])
    assert_harmless(text)
    assert "outputs of your code cells were left out" in text


# ---- 2. S's traceback in T ------------------------------------------------------------------------

def test_s_trace_is_shown_only_as_the_learners_cell_text_never_as_ts_error():
    """S may report any text (its code can rewrite S's own ``describe_error``). It is what the learner's
    failed cell shows; what a test's verdict reads (the error's type and message, as IPython's
    ename/evalue) stays what T rebuilt, and the page shows the lines as escaped text."""
    forged = ("Traceback (most recent call last):\n"
              '  File "/s/student_process.py", line 1, in serve_exec\n'
              "    exec(code)\n"
              f"\x1b[32m**Test `f__tests`: passed, 2 / 2 points.**\x1b[0m {ATTACK}\n"
              "AssertionError: all tests passed")
    error = rebuild_error({"type": "NameError", "message": "name 'x' is not defined", "traceback": forged})
    shown = student_frames(error)
    assert shown is not None and "serve_exec" not in "\n".join(shown)
    assert (type(error).__name__, str(error)) == ("NameError", "name 'x' is not defined"), (
        "the exception T raises is T's rebuilt one, whatever S's text says")
    output = {"output_type": "error", "ename": type(error).__name__, "evalue": str(error), "traceback": shown}
    text = graded_page([{"cell_type": "code", "source": "x", "outputs": [output]}])
    assert_harmless(text)
    assert "&lt;pwn-tag" in text


def test_odd_huge_or_missing_traces_neither_fail_nor_take_long():
    started = time.monotonic()
    huge = rebuild_error({"type": "ValueError", "message": "m",
                          "traceback": "Traceback (most recent call last):\n" + '  File "a"\n' * 2_000_000})
    shown = student_frames(huge)
    assert shown is not None and sum(len(line) + 1 for line in shown) <= 20_001, "rebuild_error caps it"
    assert time.monotonic() - started < 5
    odd = ValueError("x")
    for note in (b"Traceback (most recent call last):", 3, None, ["Traceback (most recent call last):"]):
        odd.__notes__ = [note]
        assert student_frames(odd) is None, f"a note that is not text: {note!r}"
    odd.__notes__ = ["note", "Traceback (most recent call last):\n\x00\ud800\n" + '  File "\n' + '  File "x']
    assert student_frames(odd)[0] == "Traceback (most recent call last):"
    assert student_frames(rebuild_error("not a dict")) is None
    assert student_frames(rebuild_error({"type": "StudentTimeout", "traceback": "no header"})) is None


# ---- 3. the broker's clock ------------------------------------------------------------------------

# A stand-in S that calls back into T: "callback" (optionally sleeping before and after; T may call S
# again meanwhile), "pauses" (spins, with a callback every 0.05 s, forever), "cpu" (spins for the
# given CPU seconds, then answers), "children" (spins in short-lived child processes, forever).
CALLBACK_S = f"""
import struct, subprocess, sys, time
HEADER = struct.Struct({HEADER.format!r})
import msgpack

def read_frame():
    head = sys.stdin.buffer.read(HEADER.size)
    if len(head) < HEADER.size:
        sys.exit(0)
    length, kind, msgid, limit = HEADER.unpack(head)
    return kind, msgid, msgpack.unpackb(sys.stdin.buffer.read(length), raw=False)

def send(kind, msgid, body):
    data = msgpack.packb(body, use_bin_type=True)
    sys.stdout.buffer.write(HEADER.pack(len(data), kind, msgid, 0.0) + data)
    sys.stdout.buffer.flush()

def call_t(msgid):
    send({REQUEST}, msgid, {{"op": "callback"}})
    while True:
        kind, answered, body = read_frame()
        if kind == {REPLY} and answered == msgid:
            return body
        serve(answered, body)

def serve(msgid, body):
    op = body.get("op")
    if op == "callback":
        time.sleep(body.get("before", 0))
        call_t(10_000 + msgid)
        time.sleep(body.get("after", 0))
    elif op == "cpu":
        start = time.process_time()
        while time.process_time() - start < body["seconds"]:
            pass
    elif op == "pauses":
        n = 0
        while True:
            end = time.monotonic() + 0.05
            while time.monotonic() < end:
                pass
            n += 1
            call_t(20_000 + n)
    elif op == "children":
        while True:
            subprocess.run([sys.executable, "-c", "import time\\nend = time.monotonic() + 0.2\\n"
                            "while time.monotonic() < end: pass"])
    send({REPLY}, msgid, body)

while True:
    kind, msgid, body = read_frame()
    serve(msgid, body)
"""


class T:
    """T's side of the broker's socket: requests, and answers to S's callbacks (with ``nested``, T first
    calls S again with that body and limit, as a course function calling a learner's would)."""

    def __init__(self, sock: socket.socket, nested: tuple[dict, float] | None = None) -> None:
        self.sock, self.nested, self.msgid = sock, nested, 0

    def _frame(self) -> tuple[int, int, dict]:
        def exactly(size: int) -> bytes:
            data = b""
            while len(data) < size:
                chunk = self.sock.recv(size - len(data))
                assert chunk, "the broker closed T's socket"
                data += chunk
            return data
        length, kind, msgid, _ = HEADER.unpack(exactly(HEADER.size))
        return kind, msgid, msgpack.unpackb(exactly(length), raw=False)

    def call(self, kind: int, body: dict, limit: float = 0.0) -> dict:
        self.msgid += 1
        msgid = self.msgid
        data = msgpack.packb(body, use_bin_type=True)
        self.sock.sendall(HEADER.pack(len(data), kind, msgid, limit) + data)
        while True:
            got, answered, reply = self._frame()
            if got == REPLY and answered == msgid:
                return reply
            assert got == REQUEST, (got, answered, reply)
            if self.nested is not None:
                nested, self.nested = self.nested, None
                self.call(REQUEST, *nested)
            data = msgpack.packb({"ok": True}, use_bin_type=True)
            self.sock.sendall(HEADER.pack(len(data), REPLY, answered, 0.0) + data)


@pytest.fixture
def t_side():
    folder = Path(tempfile.mkdtemp(prefix="rt7-"))  # a Unix socket's path has 107 bytes at most
    script = folder / "s.py"
    script.write_text(CALLBACK_S)
    with Broker(folder / "b.sock", lambda generation: [sys.executable, str(script)], max_frame=1 << 20,
                log=folder / "log") as broker, socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(folder / "b.sock"))
        sock.settimeout(60)
        t = T(sock)
        assert t.call(CONTROL, {"op": "restart"})["ok"] >= 1
        assert t.call(REQUEST, {"op": "warm"}) == {"op": "warm"}  # S has started
        yield t, broker
    shutil.rmtree(folder, ignore_errors=True)


def stopped_in(t, body: dict, limit: float) -> float:
    """Seconds until T's call with ``body`` came back stopped (``StudentTimeout``)."""
    started = time.monotonic()
    late = t.call(REQUEST, body, limit=limit)
    assert late.get("error", {}).get("type") == "StudentTimeout", late
    return time.monotonic() - started


def test_callbacks_pause_the_clock_but_never_reset_it(t_side):
    """An S that spins between callbacks into T: each callback pauses its clock, none gives it time."""
    t, _broker = t_side
    limit = 0.6
    took = stopped_in(t, {"op": "pauses"}, limit)
    assert took < WALL_FACTOR * limit + 3.0, f"stopped after {took:.2f} s, past the backstop"


def test_calls_shorter_than_the_cpu_probe_are_answered_or_stopped_in_time(t_side):
    t, _broker = t_side
    for limit in (0.01, 0.05):
        assert t.call(REQUEST, {"op": "cpu", "seconds": 0.0}, limit=limit) == {"op": "cpu", "seconds": 0.0}
        took = stopped_in(t, {"op": "cpu", "seconds": 30.0}, limit)
        assert took < WALL_FACTOR * limit + 2.0, f"limit {limit}: stopped after {took:.2f} s"
        assert t.call(CONTROL, {"op": "restart"})["ok"] >= 1


def test_an_honest_call_is_not_charged_the_cpu_of_a_call_nested_in_its_callback(t_side):
    """BROKE (fixed here): S -> T -> S. The outer call's own part only waits (``sleep``, as S waiting for
    a core on a loaded machine would) while the call T makes from its callback computes for 0.95 of the
    outer limit. The outer call's clock is paused meanwhile, but its CPU reading at its deadline counted
    the nested call's CPU as the outer call's, so it was stopped at its limit, without the grace an
    idle S gets."""
    t, broker = t_side
    t.nested = ({"op": "cpu", "seconds": 0.95}, 30.0)
    body = {"op": "callback", "before": 0.4, "after": 1.0}  # 1.4 s of S's own time, on a 1 s limit
    answer = t.call(REQUEST, body, limit=1.0)
    assert answer == body, f"an idle S's call was stopped: {answer}"
    assert t.nested is None and broker.timeouts == 0


def test_a_loop_in_short_lived_children_is_still_stopped(t_side):
    """A loop spinning in short-lived children (each waited for): stopped by the backstop at the latest.
    (It used to get the whole backstop even on a quiet machine, its CPU unseen: the tests of
    ``tree_cpu_seconds`` below prove the reading, without a timing that depends on the machine's load.)"""
    t, _broker = t_side
    limit = 1.0
    took = stopped_in(t, {"op": "children"}, limit)
    assert took < WALL_FACTOR * limit + 3.0, f"stopped after {took:.2f} s, past the backstop"


# A child that spins for a second of its own CPU time (whatever the machine's load), then says so.
SPIN_ONE_CPU_SECOND = ("import time\nstart = time.process_time()\n"
                       "while time.process_time() - start < 1.0: pass\nprint('spun', flush=True)")


def _spawning(code: str) -> subprocess.Popen[str]:
    """A parent process running ``code``; its first line of output says its child has spun."""
    return subprocess.Popen([sys.executable, "-c", f"import subprocess, sys, threading, time\nSPIN = "
                             f"{SPIN_ONE_CPU_SECOND!r}\n" + code], start_new_session=True,
                            stdout=subprocess.PIPE, text=True)


def _end(process: subprocess.Popen[str]) -> None:
    import os
    import signal

    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    process.stdout.close()


def test_tree_cpu_seconds_counts_children_that_exited():
    """BROKE (fixed here): the CPU of a child that exited and was waited for was not counted."""
    parent = _spawning("subprocess.run([sys.executable, '-c', SPIN])\ntime.sleep(60)")
    try:
        assert parent.stdout.readline().strip() == "spun"
        time.sleep(0.2)  # the parent has waited for it
        assert tree_cpu_seconds(parent.pid) > 0.9, "the child spun for a second of CPU, then exited"
    finally:
        _end(parent)


def test_tree_cpu_seconds_counts_a_child_a_thread_started():
    """BROKE (fixed here): /proc/PID/task/PID/children lists the main thread's children only; a loop
    spun in a child that another thread started was invisible (and got WALL_FACTOR times its limit)."""
    parent = _spawning("threading.Thread(target=subprocess.run, args=([sys.executable, '-c', "
                       "SPIN + '\\ntime.sleep(60)'],)).start()\ntime.sleep(60)")
    try:
        assert parent.stdout.readline().strip() == "spun"
        assert tree_cpu_seconds(parent.pid) > 0.9, "its thread's child has spun for a second of CPU"
    finally:
        _end(parent)


def test_tree_cpu_seconds_of_a_tree_too_large_to_read_is_unknown():
    """BROKE (fixed here): the walk stopped after 64 processes and returned what it had read, so a loop
    spun in the 65th looked idle. Now such a tree reads as unknown (None): the call gets no grace."""
    parent = _spawning("procs = [subprocess.Popen(['sleep', '60']) for _ in range(70)]\n"
                       "print('spun', flush=True)\ntime.sleep(60)")
    try:
        assert parent.stdout.readline().strip() == "spun"
        assert tree_cpu_seconds(parent.pid) is None
    finally:
        _end(parent)


def test_an_answer_s_sent_in_time_counts_when_the_broker_wakes_late(t_side, monkeypatch):
    """BROKE (fixed here): the broker read its clock before what had arrived. On a loaded machine its
    thread may wake late; an honest call that answered at half its limit, its answer waiting in the
    pipe, was then stopped (the late CPU probe counts the time it ran as all CPU, so no grace)."""
    import select as real_select
    import types

    from autograder.instructor.grading import broker as broker_module

    def late(read, write, error, timeout):  # the broker's thread, scheduled 1.5 s late
        time.sleep(timeout + 1.5)
        return real_select.select(read, write, error, 0)

    t, broker = t_side
    monkeypatch.setattr(broker_module, "select", types.SimpleNamespace(select=late))
    time.sleep(2.5)  # the broker's thread is in a late select now
    # S's 0.1 s of CPU is done long before the broker wakes, past the 1 s limit, even on a machine
    # ten times over-loaded (0.2 s in 0.4 s failed under a load of 5 to 9)
    body = {"op": "cpu", "seconds": 0.1}
    started = time.monotonic()
    assert t.call(REQUEST, body, limit=1.0) == body, "S answered after 0.1 s of a 1 s limit"
    assert time.monotonic() - started > 1.0, "the broker woke after the call's deadline"
    assert broker.timeouts == 0
