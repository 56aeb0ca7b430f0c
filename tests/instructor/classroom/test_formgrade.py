"""`make formgrade`: LAB_ARGS honoured, Manual Grading first, maths offline, no exchange noise."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

import jinja2
import nbformat
import pytest

from autograder.instructor.authoring.notebooks import py_to_notebook
from autograder.instructor.classroom import formgrade
from autograder.instructor.grading.opengradebook import open_gradebook

from ..formgrader_server import Formgrader
from ..gradebooks import CHAPTER, autograde, make_assignment

FIXTURE = Path(__file__).parents[2] / "fixtures" / "00_demo.py"


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


def test_a_configured_exchange_is_left_alone(tmp_path, monkeypatch):
    monkeypatch.delenv("BACKPROP_HUB_EXCHANGE", raising=False)
    monkeypatch.setattr("autograder.instructor.classroom.hub.DEFAULT_EXCHANGE", str(tmp_path / "no-hub"))
    assert formgrade.configured_exchange(tmp_path) is None
    assert formgrade.choose_exchange(tmp_path) == tmp_path / "exchange", "a single machine: one here"
    monkeypatch.setenv("BACKPROP_HUB_EXCHANGE", str(tmp_path / "class"))
    assert formgrade.choose_exchange(tmp_path) == tmp_path / "class", "the class's (make hub-*)"
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\nc.Exchange.root = '/srv/class'\n")
    assert formgrade.configured_exchange(tmp_path) == "/srv/class"
    assert formgrade.choose_exchange(tmp_path) is None, "nbgrader's configuration is left alone"


def test_nothing_graded_yet(tmp_path, capsys):
    assert formgrade.main(["--out", str(tmp_path)]) == 2
    assert "run make grade" in capsys.readouterr().out


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
    if not os.environ.get("BACKPROP_HUB_EXCHANGE") and not Path("/srv/nbgrader/exchange").is_dir():
        assert (root / "exchange").is_dir(), "no exchange configured: one in grading/"
    for noise in ("Unwritable directory", "not serializable", "exchange directory"):
        assert noise not in log, f"{noise!r} in the server log:\n{log}"
    alarms = [line for line in log.splitlines() if line.startswith(("[C ", "[E "))
              and "received signal 15" not in line]  # jupyter's own word for our SIGTERM
    assert alarms == [], log
