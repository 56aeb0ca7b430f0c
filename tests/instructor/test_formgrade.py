"""`make formgrade`: LAB_ARGS honoured, Manual Grading first, maths offline, no exchange noise (formgrade.py)."""

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

import jinja2
import nbformat
import pytest

from autograder.instructor import formgrade
from autograder.instructor.notebooks import py_to_notebook
from autograder.instructor.opengradebook import open_gradebook

from .gradebooks import CHAPTER, autograde, make_assignment

FIXTURE = Path(__file__).parents[1] / "fixtures" / "00_demo.py"


def render_mathjax(tmp_path, page_script: str) -> str:
    folder = formgrade.write_templates(tmp_path)
    loader = jinja2.FileSystemLoader(str(folder / "nbconvert" / "templates" / "base"))
    macro = jinja2.Environment(loader=loader).get_template("mathjax.html.j2").module.mathjax
    return page_script + str(macro())


def test_the_mathjax_macro_is_local_on_the_formgrade_page_only(tmp_path):
    html = render_mathjax(tmp_path, "")
    assert formgrade.LOCAL_MATHJAX in html, "the formgrade page loads this server's MathJax"
    assert formgrade.CDN_MATHJAX in html, "other pages (students' feedback) keep the CDN"
    assert "typeof submission_id" in html, "the choice is made by the page that defines it"
    assert "window.MathJax = {stub: true" in html, "no MathJax at all still leaves no JS error"


def test_lab_command_defaults_and_the_callers_options_win(tmp_path):
    command = formgrade.lab_command(tmp_path, ["--no-browser", "--port", "8890"], tmp_path / "exchange")
    assert command[1] == "lab" and command[-3:] == ["--no-browser", "--port", "8890"]
    assert f"--LabApp.default_url={formgrade.MANUAL_GRADING_URL}" in command
    assert f"--Exchange.root={tmp_path / 'exchange'}" in command
    assert f"--ServerApp.root_dir={tmp_path}" in command
    assert "--ServerApp.jpserver_extensions=nbgrader.server_extensions.formgrader=True" in command
    mine = formgrade.lab_command(tmp_path, ["--LabApp.default_url=/lab", "--Exchange.root=/srv/x"],
                                 tmp_path / "exchange")
    assert not any(arg.startswith("--LabApp.default_url=/formgrader") for arg in mine)
    assert f"--Exchange.root={tmp_path / 'exchange'}" not in mine
    assert not any("Exchange.root" in arg for arg in formgrade.lab_command(tmp_path, [], None))


def test_a_configured_exchange_is_left_alone(tmp_path):
    assert formgrade.configured_exchange(tmp_path) is None
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\nc.Exchange.root = '/srv/class'\n")
    assert formgrade.configured_exchange(tmp_path) == "/srv/class"


def test_nothing_graded_yet(tmp_path, capsys):
    assert formgrade.main(["--out", str(tmp_path)]) == 2
    assert "run make grade" in capsys.readouterr().out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def course_for_the_formgrader(root: Path) -> str:
    """A gradebook with ada's submission and her notebook (with maths) where the formgrader
    looks for it; returns the id of her submitted notebook."""
    make_assignment(root)
    autograde(root, "ada", {})
    nb = py_to_notebook(FIXTURE.read_text())
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(r"The loss: $\frac{\partial L}{\partial w}$"))
    path = root / "autograded" / "ada" / CHAPTER / f"{CHAPTER}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, str(path))
    (root / "nbgrader_config.py").write_text(
        "from autograder.instructor.config import configure\n"
        f"configure(get_config(), root={str(root)!r}, source='source', release='release')\n")
    with open_gradebook(root) as gradebook:
        return gradebook.find_submission_notebook(CHAPTER, CHAPTER, "ada").id


class Formgrader:
    """`python -m autograder.instructor.formgrade` on a free port, stopped on exit."""

    def __init__(self, root: Path, log: Path, token: str = "test-token"):
        self.port, self.token, self.log = free_port(), token, log
        args = ["--out", str(root), "--no-browser", "--port", str(self.port), "--ip", "127.0.0.1",
                f"--IdentityProvider.token={token}"]
        if os.geteuid() == 0:
            args.append("--allow-root")
        env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(log.parent / "runtime"))
        self.handle = open(log, "w")
        self.process = subprocess.Popen([sys.executable, "-m", "autograder.instructor.formgrade", *args],
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


@pytest.mark.slow
def test_formgrade_serves_manual_grading_offline_and_quietly(tmp_path):
    root = tmp_path / "grading"
    submission = course_for_the_formgrader(root)
    with Formgrader(root, tmp_path / "formgrade.log") as server:
        status, landed, _ = server.get("/")
        assert status == 200 and "/formgrader/gradebook" in landed, "the browser opens on Manual Grading"
        assert server.get("/formgrader/gradebook")[0] == 200
        status, _, page = server.get(f"/formgrader/submissions/{submission}/")
        assert status == 200 and 'id="q_why"' in page, "the written answer's score box is there"
        assert '<script src="https://' not in page and "<script src='https://" not in page
        assert formgrade.LOCAL_MATHJAX in page
        assert server.get("/static/jupyter_server_mathjax/MathJax.js")[0] == 200
        status, _, page = server.get("/formgrader/manage_assignments")
        assert status == 200 and "warning-exchange" not in page and "warning-course-id" not in page
        with pytest.raises(urllib.error.HTTPError):  # the token from LAB_ARGS is the one asked for
            urllib.request.urlopen(f"http://127.0.0.1:{server.port}/api/contents", timeout=30)
        log = server.stop()
    assert (root / "exchange").is_dir(), "no exchange configured: one in grading/"
    for noise in ("Unwritable directory", "not serializable", "exchange directory"):
        assert noise not in log, f"{noise!r} in the server log:\n{log}"
    alarms = [line for line in log.splitlines() if line.startswith(("[C ", "[E "))
              and "received signal 15" not in line]  # jupyter's own word for our SIGTERM
    assert alarms == [], log
