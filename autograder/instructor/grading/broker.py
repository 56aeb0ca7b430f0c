"""The broker: outside both sandboxes, it starts S, relays frames between T and S, and keeps time.

Why a third party. T (the grading kernel) and S (the student's process) each run in their own
bubblewrap sandbox, and neither can start or stop the other: a process in T's sandbox could not
make a new user namespace for S (``--disable-userns``), and a process S started itself would share
T's uid and PID namespace. So the worker, which starts T, also runs this broker in a thread:

- T connects to a Unix socket in its run folder (bound into T only); S talks over its stdin and
  stdout pipes. S never sees T's run folder, T's scratch folder or the template.
- The broker reads only the fixed-size frame headers (``protocol.HEADER``): it never decodes what
  S sends. It forwards frames both ways and tracks whose turn it is: while a request of T is
  waiting for S, the request's time limit runs; while T serves a callback of S, it is paused.
- The limit is S's own time: a loaded machine must not fail an honest call. When a call's time
  is up but S's processes used less than ``BUSY_SHARE`` of it on the CPU (S waited for a core or
  for a frame), the call gets the difference again, up to ``WALL_FACTOR`` times the limit in all;
  a loop burns CPU and is stopped at the limit on a quiet machine, at that backstop on a loaded one.
- When the limit passes, the broker first asks S (SIGUSR1) for the output the student's code printed
  and S has not sent yet, and passes that one ``OUTPUT`` frame to T (``_last_words``).
- When the limit passes, or S exits, crashes, sends an oversized frame or answers out of turn,
  the broker kills S (its whole sandbox) and answers each of T's waiting requests with an error
  (``StudentTimeout`` "ran past N s", or ``StudentProcessLost``). T then asks for a fresh S
  (a CONTROL "restart" frame) and replays the student's cells into it.
"""

from __future__ import annotations

import os
import secrets
import select
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack

from autograder.instructor.grading.protocol import CONTROL, HEADER, OUTPUT, REPLY, REQUEST

BUSY_SHARE = 0.9  # a call whose S used at least this share of its limit on the CPU is stopped
WALL_FACTOR = 4.0  # and no call's S turn lasts more than this many times its limit
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# S's CPU time is read from /proc (about 0.15 ms) only for a call still running this long after it
# began, not for every call: most calls answer in well under a millisecond.
CPU_PROBE_AFTER = 0.2
MAX_TREE = 64  # processes read for S's CPU time, at most (an honest S starts none)
LAST_WORDS_S = 0.5  # a call stopped at its limit: how long S has to send the output it printed
# and the most it may send then (S caps each stream at Limits.output_bytes, 2 MiB unless set): a larger
# frame is not read, and T is told how long it was (redteam 11b: 256 MB held four times over otherwise)
LAST_WORDS_MAX_BYTES = 16 << 20


def tree_cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system) of ``pid`` and every process under it, from /proc; None if unknown.

    Each process's waited-for children that exited count too (``cutime``, ``cstime``), and children
    started by any of its threads: a loop spun in short-lived children, or in one a thread started, must
    not look like an S waiting for a core. A tree of more than ``MAX_TREE`` processes is not read to
    its end: None, as unknown (the call is then stopped at its limit, with no grace)."""
    total = 0.0
    for current, stat in process_tree(pid):
        if current is None:
            return None
        try:
            fields = stat[stat.rindex(b")") + 2:].split()
            total += sum(int(field) for field in fields[11:15]) / CLOCK_TICKS
        except (ValueError, IndexError):
            if current == pid:
                return None
    return total


def process_tree(pid: int) -> Iterator[tuple[int | None, bytes]]:
    """``(pid, its /proc stat)`` of ``pid`` and every process under it (children of any of their
    threads); ``(None, b"")`` when ``pid`` cannot be read or the tree has more than ``MAX_TREE``."""
    todo, seen = [pid], 0
    while todo:
        if seen == MAX_TREE:
            yield None, b""
            return
        current = todo.pop()
        seen += 1
        try:
            with open(f"/proc/{current}/stat", "rb") as stat_file:
                stat = stat_file.read()
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            if current == pid:
                yield None, b""
                return
            continue
        yield current, stat
        for task in tasks:
            try:
                with open(f"/proc/{current}/task/{task}/children", "rb") as children:
                    todo += [int(child) for child in children.read().split()]
            except (OSError, ValueError):
                pass  # a thread that ended meanwhile


@dataclass(slots=True)
class Turn:
    """A request waiting for its answer: T's call into S (with its clock) or S's callback into T."""

    who: str  # who asked: "t" or "s"
    msgid: int
    deadline: float | None = None  # monotonic; None while paused (T serves S's callback) or unlimited
    left: float = 0.0  # seconds of the limit left when the clock paused
    limit: float = 0.0
    cpu_before: float | None = None  # S's CPU seconds when the call began; None: not known (yet)
    granted: float = 0.0  # seconds given beyond the limit (S waited for a core)
    probe_at: float | None = None  # when to read cpu_before, if the call is still running then
    # S's CPU seconds when this call began, read only for a call T makes while serving S's callback
    # and whose paused caller's CPU was read: what it uses is not the caller's (_nested_done).
    cpu_start: float | None = None

    def ran(self, now: float) -> float:
        """Seconds S has had the turn in this call, pauses not counted."""
        return self.limit + self.granted - (self.left if self.deadline is None else self.deadline - now)


class Broker:
    """Relay between T's socket and one S process at a time; ``with Broker(...) as broker:``.

    socket_path: where T connects. command: ``command(generation) -> argv`` of S.
    max_frame: the largest frame S may send (bytes). log: S's own stderr (bwrap's messages).
    """

    def __init__(self, socket_path: Path, command: Callable[[int], list[str]], *, max_frame: int,
                 log: Path, env: dict[str, str] | None = None) -> None:
        self.socket_path, self.command, self.max_frame, self.log = socket_path, command, max_frame, log
        self.env = env
        self.generation = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.stack: list[Turn] = []
        self.s_out = bytearray()  # frames for S its pipe has not taken yet
        self.dead_reason = "the student's process has not started"
        self.timeouts = 0
        self.restarts = 0
        # Its own StudentTimeout and StudentProcessLost carry it; T learns it from the answer to a
        # restart, which S never sees: an error S names so is then only S's error (redteam 10).
        self.token = secrets.token_hex(16)
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(socket_path))
        os.chmod(socket_path, 0o777)  # T's user inside its sandbox connects
        self._listener.listen(1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="student-broker", daemon=True)
        self.error: BaseException | None = None

    def __enter__(self) -> Broker:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._kill()
        self._listener.close()

    # ---- S's life
    def _start(self) -> None:
        self._kill()
        self.generation += 1
        self.restarts += 1
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(self.command(self.generation), stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, stderr=log, env=self.env or {},
                                            start_new_session=True)
        # Written as S takes them (_flush_to_s): an S that stops reading must not stop the broker's
        # loop, which keeps the call's clock and answers T's restart (redteam 11: a 32 MB answer).
        os.set_blocking(self.process.stdin.fileno(), False)  # type: ignore[union-attr]
        self.s_buffer = bytearray()
        self.dead_reason = ""

    def _kill(self) -> None:
        process, self.process = self.process, None
        self.s_out = bytearray()  # what a dead S was owed
        if process is None:
            return
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        process.kill()
        process.wait()
        for pipe in (process.stdin, process.stdout):
            try:
                pipe.close()  # type: ignore[union-attr]
            except OSError:
                pass

    def _lost(self, reason: str, timed_out: bool = False) -> None:
        """S is gone: kill what is left, answer T's waiting requests as their turn comes."""
        if self.process is not None and not timed_out:
            code = self.process.poll()
            if code is None:
                try:
                    code = self.process.wait(timeout=0.5)
                except subprocess.TimeoutExpired:
                    code = None
            if code is not None and code > 128 and code - 128 in signal.valid_signals():
                code = 128 - code  # bwrap passes on a signal's death as 128 + its number
            if code is not None and code < 0:
                try:
                    reason += f" (signal {signal.Signals(-code).name})"
                except ValueError:
                    reason += f" (signal {-code})"
            elif code:
                reason += f" (exit code {code})"
        self._kill()
        self.dead_reason = reason
        first = True
        while self.stack and self.stack[-1].who == "t":
            msgid = self.stack.pop().msgid
            kind = "StudentTimeout" if timed_out and first else "StudentProcessLost"
            self._to_t(REPLY, msgid, {"error": {"type": kind, "message": reason, "traceback": "",
                                                "token": self.token}})
            first = False

    # ---- frames
    def _to_t(self, kind: int, msgid: int, body: dict[str, Any]) -> None:
        data = msgpack.packb(body, use_bin_type=True)
        self.t.sendall(HEADER.pack(len(data), kind, msgid, 0.0) + data)

    def _run(self) -> None:
        try:
            self._listener.settimeout(1.0)
            while not self._stop.is_set():
                try:
                    self.t, _ = self._listener.accept()
                    break
                except TimeoutError:
                    continue
            else:
                return
            self._relay()
        except BaseException as error:  # reported by the worker; T sees its socket close
            self.error = error
        finally:
            self._kill()
            try:
                self.t.close()
            except AttributeError:
                pass

    def _relay(self) -> None:
        # bytearrays: a frame of many chunks is appended in linear time (bytes += copies it all)
        t_buffer = bytearray()
        self.s_buffer = bytearray()
        while not self._stop.is_set():
            watched = [self.t] + ([self.process.stdout] if self.process is not None else [])
            # S's clock runs only while a call of T's waits for it (not while T serves a callback).
            running = self.stack[-1] if self.stack and self.stack[-1].deadline is not None else None
            wake = None if running is None else min(running.deadline, running.probe_at or running.deadline)
            wait = 0.5 if wake is None else max(0.0, min(0.5, wake - time.monotonic()))
            owed = [self.process.stdin] if self.process is not None and self.s_out else []
            ready, writable, _ = select.select(watched, owed, [], wait)
            if writable:
                self._flush_to_s()
            # What arrived first: an answer S sent before its deadline counts even if this thread
            # woke late (a loaded machine); the clock is read after, for the call still waiting.
            if self.t in ready:
                chunk = self.t.recv(1 << 20)
                if not chunk:
                    return  # T is gone: the run is over
                t_buffer += chunk
                self._frames_from_t(t_buffer)
            if self.process is not None and self.process.stdout in ready:
                chunk = os.read(self.process.stdout.fileno(), 1 << 20)
                if not chunk:
                    self._lost("the student's process ended")
                    continue
                self.s_buffer += chunk
                self._frames_from_s()
            running = self.stack[-1] if self.stack and self.stack[-1].deadline is not None else None
            if running is not None and self.process is not None:
                now = time.monotonic()
                if running.probe_at is not None and now >= running.probe_at:
                    self._probe_cpu(running)
                if now >= running.deadline and not self._waited_more_than_it_ran(running):
                    self.timeouts += 1
                    self._last_words()
                    self._lost(f"ran past the {running.limit:g} s limit for one call (an infinite loop?)",
                               timed_out=True)

    def _last_words(self) -> None:
        """A call is stopped at its limit: ask S (SIGUSR1 to its processes, not to bwrap's) for what the
        student's code printed and S has not sent yet, and pass what that one OUTPUT frame holds to T,
        which shows it before the StudentTimeout. At most ``LAST_WORDS_S``; whatever else S sends then
        is dropped."""
        assert self.process is not None
        for pid, stat in process_tree(self.process.pid):
            if pid is not None and not stat[stat.find(b"(") + 1:stat.rfind(b")")].startswith(b"bwrap"):
                try:
                    os.kill(pid, signal.SIGUSR1)
                except OSError:
                    pass
        deadline = time.monotonic() + LAST_WORDS_S
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([self.process.stdout], [], [], left)[0]:
                return
            chunk = os.read(self.process.stdout.fileno(), 1 << 20)  # type: ignore[union-attr]
            if not chunk:
                return
            self.s_buffer += chunk
            while len(self.s_buffer) >= HEADER.size:
                length, kind, _, _ = HEADER.unpack_from(self.s_buffer)
                if kind == OUTPUT and length > LAST_WORDS_MAX_BYTES:
                    self._to_t(OUTPUT, 0, {"output": {"stderr": f"[{length} bytes of output before the stop: "
                                                                f"too long to show]\n"}})
                    return
                if length > self.max_frame:
                    return
                if len(self.s_buffer) < HEADER.size + length:
                    break
                frame = bytes(self.s_buffer[:HEADER.size + length])
                del self.s_buffer[:HEADER.size + length]
                if kind == OUTPUT:
                    self._pass_output(frame[HEADER.size:])
                    return

    def _pass_output(self, data: bytes) -> None:
        """S's last words, to T in a frame of the broker's own: only the strings under "stdout" and
        "stderr". S's bytes as they came could be a body T cannot read: its read raised, the
        StudentTimeout after it stayed unread, and T's stream was one answer behind for every later
        cell (redteam 11b)."""
        try:
            body = msgpack.unpackb(data, raw=False)
        except Exception:  # not msgpack, cut short, keys that are not strings: nothing to show
            return
        output = body.get("output") if type(body) is dict else None
        if type(output) is dict:
            self._to_t(OUTPUT, 0, {"output": {key: output[key] for key in ("stdout", "stderr")
                                              if type(output.get(key)) is str}})

    def _probe_cpu(self, call: Turn) -> None:
        """A call still running: read S's CPU now, and count the time it ran so far as all CPU (so
        a call is never granted more than it would be with the reading taken at its start)."""
        now = time.monotonic()
        cpu = tree_cpu_seconds(self.process.pid)  # type: ignore[union-attr]
        call.cpu_before = None if cpu is None else cpu - call.ran(now)
        call.probe_at = None

    def _waited_more_than_it_ran(self, call: Turn) -> bool:
        """At a call's deadline: if S was on the CPU for less than BUSY_SHARE of the limit, give it
        the rest again (within WALL_FACTOR x the limit) and say so; else it is stopped."""
        limit, before, granted = call.limit, call.cpu_before, call.granted
        now = tree_cpu_seconds(self.process.pid) if before is not None else None  # type: ignore[union-attr]
        if now is None or now - before >= BUSY_SHARE * limit or granted >= (WALL_FACTOR - 1) * limit:
            return False
        extra = min(max(1.0, limit - (now - before)), (WALL_FACTOR - 1) * limit - granted)
        call.deadline, call.granted = time.monotonic() + extra, granted + extra
        return True

    def _nested_done(self, call: Turn) -> None:
        """A call T made while serving S's callback has its answer: the CPU S used in it is not the
        paused caller's, whose clock did not run meanwhile (its reading at its deadline would count it,
        and stop an idle caller at its limit)."""
        if call.cpu_start is None or len(self.stack) < 2 or self.stack[-2].cpu_before is None:
            return
        now = tree_cpu_seconds(self.process.pid)  # type: ignore[union-attr]
        if now is not None:
            self.stack[-2].cpu_before += max(0.0, now - call.cpu_start)

    def _frames_from_t(self, buffer: bytearray) -> None:
        """Relay or answer each complete frame of T's at the start of ``buffer``, and remove it."""
        while len(buffer) >= HEADER.size:
            length, kind, msgid, limit = HEADER.unpack_from(buffer)
            if len(buffer) < HEADER.size + length:
                break
            frame = bytes(buffer[:HEADER.size + length])
            del buffer[:HEADER.size + length]
            if kind == CONTROL:
                body = msgpack.unpackb(frame[HEADER.size:], raw=False)  # T is trusted
                if body.get("op") == "restart":
                    self.stack.clear()
                    self._start()
                self._to_t(REPLY, msgid, {"ok": self.generation, "token": self.token})
            elif kind == REQUEST:
                if self.process is None:
                    lost = {"type": "StudentProcessLost", "message": self.dead_reason, "traceback": ""}
                    self._to_t(REPLY, msgid, {"error": {**lost, "token": self.token}})
                    continue
                now = time.monotonic()
                turn = (Turn("t", msgid, now + limit, limit, limit,
                             probe_at=now + min(CPU_PROBE_AFTER, limit / 4))
                        if limit > 0 else Turn("t", msgid))
                if self.stack and self.stack[-1].who == "s" and self.stack[-2].cpu_before is not None:
                    # S -> T -> S: what this call uses is not its paused caller's (_nested_done)
                    turn.cpu_start = tree_cpu_seconds(self.process.pid)
                self.stack.append(turn)
                self._to_s(frame)
            elif kind == REPLY:
                if self.stack and (self.stack[-1].who, self.stack[-1].msgid) == ("s", msgid):
                    self.stack.pop()
                    if self.stack and self.stack[-1].limit:  # S's turn again: its clock resumes
                        self.stack[-1].deadline = time.monotonic() + self.stack[-1].left
                if self.process is None:
                    self._lost(self.dead_reason)  # answer what T now waits for
                else:
                    self._to_s(frame)

    def _to_s(self, frame: bytes) -> None:
        self.s_out += frame
        self._flush_to_s()

    def _flush_to_s(self) -> None:
        """As much of what S is owed as its pipe takes now; the rest when select says it has room."""
        try:
            while self.s_out:
                written = os.write(self.process.stdin.fileno(), self.s_out)  # type: ignore[union-attr]
                del self.s_out[:written]
        except BlockingIOError:
            pass
        except OSError:  # BrokenPipeError: S is gone, or closed its stdin and runs on
            running = self.process is not None and self.process.poll() is None
            self._lost("the student's process closed its input (sys.stdin)" if running
                       else "the student's process ended")

    def _frames_from_s(self) -> None:
        while len(self.s_buffer) >= HEADER.size:
            length, kind, msgid, _ = HEADER.unpack_from(self.s_buffer)
            if length > self.max_frame:
                self._lost(f"the student's code sent {length} bytes at once (the limit is {self.max_frame})")
                return
            if len(self.s_buffer) < HEADER.size + length:
                return
            frame = bytes(self.s_buffer[:HEADER.size + length])
            del self.s_buffer[:HEADER.size + length]
            if kind == REPLY and self.stack and (self.stack[-1].who, self.stack[-1].msgid) == ("t", msgid):
                self._nested_done(self.stack.pop())
            elif kind == REQUEST and self.stack and self.stack[-1].who == "t":
                top = self.stack[-1]
                if top.deadline is not None:
                    top.left = max(0.0, top.deadline - time.monotonic())  # paused while T serves the callback
                    top.deadline = None
                self.stack.append(Turn("s", msgid))
            else:
                self._lost("the student's process broke the protocol (a message out of turn)")
                return
            self.t.sendall(frame)
