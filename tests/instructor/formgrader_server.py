"""`make formgrade` started for a test: a free port, a token, its log; stopped on exit."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Formgrader:
    """`python -m autograder.instructor.classroom.formgrade` on a free port, stopped on exit."""

    def __init__(self, root: Path, log: Path, token: str = "test-token"):
        self.port, self.token, self.log = free_port(), token, log
        args = ["--out", str(root), "--no-browser", "--port", str(self.port), "--ip", "127.0.0.1",
                f"--IdentityProvider.token={token}"]
        if os.geteuid() == 0:
            args.append("--allow-root")
        env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(log.parent / "runtime"))
        self.handle = open(log, "w")
        module = "autograder.instructor.classroom.formgrade"
        self.process = subprocess.Popen([sys.executable, "-m", module, *args],
                                        stdout=self.handle, stderr=subprocess.STDOUT, env=env,
                                        start_new_session=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}?token={self.token}"

    def get(self, path: str) -> tuple[int, str, str]:
        """(status, final URL, body) following redirects."""
        try:
            with urllib.request.urlopen(self.url(path), timeout=30) as response:
                return response.status, response.url, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, path, error.read().decode()

    def wait(self, limit: float = 120) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if self.get("/api/status")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"the formgrader did not start:\n{self.log.read_text()}")

    def stop(self) -> str:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.handle.close()
        return self.log.read_text()

    def __enter__(self) -> Formgrader:
        self.wait()
        return self

    def __exit__(self, *_) -> None:
        if self.process.poll() is None:
            self.stop()
