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
- When the limit passes, or S exits, crashes, sends an oversized frame or answers out of turn,
  the broker kills S (its whole sandbox) and answers each of T's waiting requests with an error
  (``StudentTimeout`` "ran past N s", or ``StudentProcessLost``). T then asks for a fresh S
  (a CONTROL "restart" frame) and replays the student's cells into it.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack

from autograder.instructor.grading.protocol import CONTROL, HEADER, REPLY, REQUEST

BUSY_SHARE = 0.9  # a call whose S used at least this share of its limit on the CPU is stopped
WALL_FACTOR = 4.0  # and no call's S turn lasts more than this many times its limit
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def tree_cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system) of ``pid`` and every process under it, from /proc; None if unknown."""
    total, todo, seen = 0.0, [pid], 0
    while todo and seen < 64:
        current = todo.pop()
        seen += 1
        try:
            with open(f"/proc/{current}/stat", "rb") as stat_file:
                stat = stat_file.read()
            fields = stat[stat.rindex(b")") + 2:].split()
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
            with open(f"/proc/{current}/task/{current}/children", "rb") as children:
                todo += [int(child) for child in children.read().split()]
        except (OSError, ValueError, IndexError):
            if current == pid:
                return None
    return total


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
        # [who asked ("t"/"s"), msgid, deadline (None while paused), seconds left, the limit,
        #  S's CPU seconds when the call began (None: unknown), seconds granted beyond the limit]
        self.stack: list[list[Any]] = []
        self.dead_reason = "the student's process has not started"
        self.timeouts = 0
        self.restarts = 0
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
        self.s_buffer = b""
        self.dead_reason = ""

    def _kill(self) -> None:
        process, self.process = self.process, None
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
        while self.stack and self.stack[-1][0] == "t":
            msgid = self.stack.pop()[1]
            kind = "StudentTimeout" if timed_out and first else "StudentProcessLost"
            self._to_t(REPLY, msgid, {"error": {"type": kind, "message": reason, "traceback": ""}})
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
        t_buffer = b""
        self.s_buffer = b""
        while not self._stop.is_set():
            watched = [self.t] + ([self.process.stdout] if self.process is not None else [])
            deadline = self.stack[-1][2] if self.stack and self.stack[-1][0] == "t" else None
            wait = 0.5 if deadline is None else max(0.0, min(0.5, deadline - time.monotonic()))
            ready, _, _ = select.select(watched, [], [], wait)
            if deadline is not None and time.monotonic() >= deadline and self.process is not None:
                if self._waited_more_than_it_ran(self.stack[-1]):
                    continue
                self.timeouts += 1
                self._lost(f"ran past the {self.stack[-1][4]:g} s limit for one call (an infinite loop?)",
                           timed_out=True)
                continue
            if self.t in ready:
                chunk = self.t.recv(1 << 20)
                if not chunk:
                    return  # T is gone: the run is over
                t_buffer += chunk
                t_buffer = self._frames_from_t(t_buffer)
            if self.process is not None and self.process.stdout in ready:
                chunk = os.read(self.process.stdout.fileno(), 1 << 20)
                if not chunk:
                    self._lost("the student's process ended")
                    continue
                self.s_buffer += chunk
                self._frames_from_s()

    def _waited_more_than_it_ran(self, call: list[Any]) -> bool:
        """At a call's deadline: if S was on the CPU for less than BUSY_SHARE of the limit, give it
        the rest again (within WALL_FACTOR x the limit) and say so; else it is stopped."""
        limit, before, granted = call[4], call[5], call[6]
        now = tree_cpu_seconds(self.process.pid) if before is not None else None  # type: ignore[union-attr]
        if now is None or now - before >= BUSY_SHARE * limit or granted >= (WALL_FACTOR - 1) * limit:
            return False
        extra = min(max(1.0, limit - (now - before)), (WALL_FACTOR - 1) * limit - granted)
        call[2], call[6] = time.monotonic() + extra, granted + extra
        return True

    def _frames_from_t(self, buffer: bytes) -> bytes:
        while len(buffer) >= HEADER.size:
            length, kind, msgid, limit = HEADER.unpack_from(buffer)
            if len(buffer) < HEADER.size + length:
                break
            frame, buffer = buffer[:HEADER.size + length], buffer[HEADER.size + length:]
            if kind == CONTROL:
                body = msgpack.unpackb(frame[HEADER.size:], raw=False)  # T is trusted
                if body.get("op") == "restart":
                    self.stack.clear()
                    self._start()
                self._to_t(REPLY, msgid, {"ok": self.generation})
            elif kind == REQUEST:
                if self.process is None:
                    self._to_t(REPLY, msgid, {"error": {"type": "StudentProcessLost",
                                                        "message": self.dead_reason, "traceback": ""}})
                    continue
                cpu = tree_cpu_seconds(self.process.pid) if limit > 0 else None
                self.stack.append(["t", msgid, time.monotonic() + limit if limit > 0 else None, limit, limit,
                                   cpu, 0.0])
                self._to_s(frame)
            elif kind == REPLY:
                if self.stack and self.stack[-1][:2] == ["s", msgid]:
                    self.stack.pop()
                    if self.stack and self.stack[-1][4]:  # S's turn again: its clock resumes
                        self.stack[-1][2] = time.monotonic() + self.stack[-1][3]
                if self.process is None:
                    self._lost(self.dead_reason)  # answer what T now waits for
                else:
                    self._to_s(frame)
        return buffer

    def _to_s(self, frame: bytes) -> None:
        try:
            self.process.stdin.write(frame)  # type: ignore[union-attr]
            self.process.stdin.flush()  # type: ignore[union-attr]
        except (BrokenPipeError, OSError):
            self._lost("the student's process ended")

    def _frames_from_s(self) -> None:
        while len(self.s_buffer) >= HEADER.size:
            length, kind, msgid, _ = HEADER.unpack_from(self.s_buffer)
            if length > self.max_frame:
                self._lost(f"the student's code sent {length} bytes at once (the limit is {self.max_frame})")
                return
            if len(self.s_buffer) < HEADER.size + length:
                return
            frame = self.s_buffer[:HEADER.size + length]
            self.s_buffer = self.s_buffer[HEADER.size + length:]
            if kind == REPLY and self.stack and self.stack[-1][:2] == ["t", msgid]:
                self.stack.pop()
            elif kind == REQUEST and self.stack and self.stack[-1][0] == "t":
                top = self.stack[-1]
                if top[2] is not None:
                    top[3] = max(0.0, top[2] - time.monotonic())  # paused while T serves the callback
                    top[2] = None
                self.stack.append(["s", msgid, None, 0.0, 0.0, None, 0.0])
            else:
                self._lost("the student's process broke the protocol (a message out of turn)")
                return
            self.t.sendall(frame)
